# frozen_string_literal: true

require_relative "emb_test_helper"

# Emb::Model.new/open(compute: "bf16"): bf16 Linear layers (EMB_COMPUTE_BF16),
# within cosine 0.999 of the f32 vectors, the same bits as
# `emb embed --compute bf16`; ArgumentError for an unknown value;
# EMB_ERR_UNSUPPORTED on a CPU without AVX512_BF16. Nothing is skipped: each
# test asserts what applies to this CPU.
class TestCompute < Minitest::Test
  TEXTS = ["first text", "how do plants make food?",
           "the quick brown fox jumps over the lazy dog " * 12, # truncated
           "naïve café über", "日本語のテキスト", "x"].freeze
  FIXTURE_NAMES = Dir.children(EmbTest::FIXTURES).select { |n| File.directory?(File.join(EmbTest::FIXTURES, n)) }.sort

  # What the kernel reports (/proc/cpuinfo flags), independent of libemb's cpuid check.
  def self.cpu_has_avx512_bf16?
    line = File.foreach("/proc/cpuinfo").find { |l| l.start_with?("flags") }
    !line.nil? && line.split(":", 2)[1].split.include?("avx512_bf16")
  rescue SystemCallError
    false
  end

  # A bf16 model where the CPU has AVX512_BF16; else assert the documented
  # failure and return nil.
  def open_bf16(path, compute = "bf16")
    return Emb::Model.new(path, compute: compute) if self.class.cpu_has_avx512_bf16?

    e = assert_raises(Emb::Error) { Emb::Model.new(path, compute: compute) }
    assert_equal Emb::EMB_ERR_UNSUPPORTED, e.status
    assert_includes e.detail, "AVX512_BF16"
    nil
  end

  def cosine(a, b)
    dot = a.zip(b).sum { |x, y| x * y }
    dot / Math.sqrt(a.sum { |x| x * x } * b.sum { |y| y * y })
  end

  def test_open_options_layout_matches_the_library
    lib = Emb::Native.load
    buf = FFI::MemoryPointer.new(:uint8, 256)
    buf.put_bytes(0, "\xAB".b * 256)
    lib.call(:emb_open_options_init_size, buf, 256)
    # the library records min(given, its sizeof): its struct's size
    assert_equal Emb::Native::OpenOptions.size, buf.get(:size_t, 0)
    opts = Emb::Native::OpenOptions.new(buf)
    assert_equal 0, opts[:n_threads]
    assert_equal 0, opts[:compute]
    assert_equal FFI.type_size(:size_t) + FFI.type_size(:int), Emb::Native::OpenOptions.offset_of(:compute)
  end

  def test_unknown_compute_is_argument_error
    path = EmbTest.model("bert-e5")
    ["fp8", "f16", "", "bf16 ", 1, :fp8].each do |bad|
      e = assert_raises(ArgumentError, "compute: #{bad.inspect}") { Emb::Model.new(path, compute: bad) }
      assert_includes e.message, "compute must be :f32 or :bf16"
    end
  end

  def test_default_is_f32
    path = EmbTest.model("bert-e5")
    want = Emb::Model.open(path) { |m| [m.compute, m.encode(TEXTS).flatten.pack("e*")] }
    got = Emb::Model.open(path, compute: :f32) { |m| [m.compute, m.encode(TEXTS).flatten.pack("e*")] }
    assert_equal "f32", want[0]
    assert_equal want, got
  end

  def test_bf16_within_cosine_0999_of_f32_on_every_fixture
    FIXTURE_NAMES.each do |name|
      path = EmbTest.model(name)
      bf16 = open_bf16(path)
      next if bf16.nil?

      begin
        assert_equal "bf16", bf16.compute
        got = bf16.encode(TEXTS)
      ensure
        bf16.close
      end
      want = Emb::Model.open(path) { |m| m.encode(TEXTS) }
      refute_equal want.flatten.pack("e*"), got.flatten.pack("e*"), "#{name}: compute: bf16 gave the f32 vectors"
      TEXTS.each_index do |i|
        c = cosine(got[i], want[i])
        assert c >= 0.999, "#{name}: text #{i} #{TEXTS[i][0, 40].inspect}: cosine bf16 vs f32 #{c}"
      end
    end
  end

  def test_bf16_same_bits_as_cli
    path = EmbTest.model("bert-e5")
    m = open_bf16(path, :bf16)
    if m.nil?
      _out, err, status = Open3.capture3(EmbTest::EMB, "embed", "-m", path, "--compute", "bf16", stdin_data: "x\n")
      assert_equal 1, status.exitstatus
      assert_includes err, "EMB_ERR_UNSUPPORTED"
      return
    end
    got = begin
      m.encode(TEXTS, kind: :query).flatten.pack("e*")
    ensure
      m.close
    end
    cli = EmbTest.cli(["embed", "-m", path, "--kind", "query", "--format", "f32", "--jsonl", "--compute", "bf16"],
                      TEXTS.map { |t| JSON.generate(t) + "\n" }.join)
    assert_equal cli.b, got.b
  end
end
