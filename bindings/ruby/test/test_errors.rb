# frozen_string_literal: true

require_relative "emb_test_helper"

# Failures are Emb::Error with the library's status and message; nothing crashes.
class TestErrors < Minitest::Test
  def test_missing_file
    err = assert_raises(Emb::Error) { Emb::Model.open(File.join(EmbTest.tmp, "nope.h5")) }
    assert_equal 3, err.status
    assert_equal Emb::EMB_ERR_IO, err.status
    assert_equal :EMB_ERR_IO, err.status_name
    assert_includes err.detail, "nope.h5"
    assert_includes err.message, "EMB_ERR_IO"
  end

  def test_invalid_model_files
    bad = File.join(EmbTest.tmp, "bad.h5")
    ["", "not an HDF5 file\n" * 100, "\x89HDF\r\n\x1a\n".b + ("\0" * 600)].each do |content|
      File.binwrite(bad, content)
      err = assert_raises(Emb::Error) { Emb::Model.open(bad) }
      assert_includes [Emb::EMB_ERR_FORMAT, Emb::EMB_ERR_IO], err.status
    end
    data = File.binread(EmbTest.model("bert-e5"))
    File.binwrite(bad, data[0, data.bytesize / 2])
    err = assert_raises(Emb::Error) { Emb::Model.open(bad) }
    assert_includes [Emb::EMB_ERR_FORMAT, Emb::EMB_ERR_IO], err.status
  end

  def test_closed_model_raises
    m = Emb::Model.open(EmbTest.model("bert-e5"))
    m.close
    assert m.closed?
    [-> { m.encode(["x"]) }, -> { m.tokenize("x") }, -> { m.dim }, -> { m.metadata }].each do |call|
      err = assert_raises(Emb::Error) { call.call }
      assert_equal Emb::EMB_ERR_INVALID_ARGUMENT, err.status
      assert_includes err.detail, "closed"
    end
    m.close # idempotent
    kept = nil
    Emb::Model.open(EmbTest.model("bert-e5")) { |mm| kept = mm }
    assert kept.closed?
  end

  def test_block_value_and_close_on_exception
    assert_equal 32, Emb::Model.open(EmbTest.model("bert-e5"), &:dim)
    kept = nil
    assert_raises(RuntimeError) do
      Emb::Model.open(EmbTest.model("bert-e5")) do |m|
        kept = m
        raise "boom"
      end
    end
    assert kept.closed?
  end

  def test_bad_arguments
    Emb::Model.open(EmbTest.model("bert-e5")) do |m|
      assert_raises(ArgumentError) { m.encode(["x"], kind: :document) }
      assert_raises(TypeError) { m.encode([1]) }
      err = assert_raises(Emb::Error) { m.encode(["ok", "\xC3\x28".b]) }
      assert_equal Emb::EMB_ERR_INVALID_UTF8, err.status
      assert_match(/\Atext 1/, err.detail)
      err = assert_raises(Emb::Error) { m.tokenize("\xFF".b) }
      assert_equal :EMB_ERR_INVALID_UTF8, err.status_name
      err = assert_raises(Emb::Error) { m.encode(["x"], prompt: "\xFF".b) }
      assert_equal Emb::EMB_ERR_INVALID_UTF8, err.status
      assert_equal 1, m.encode(["still works"]).size
    end
    err = assert_raises(Emb::Error) { Emb::Model.open(EmbTest.model("bert-e5"), threads: -1) }
    assert_equal Emb::EMB_ERR_INVALID_ARGUMENT, err.status
  end

  def test_tokenizer_only_and_convert_errors
    tok = File.join(EmbTest.tmp, "tok.h5")
    Emb.convert(File.join(EmbTest::FIXTURES, "bert-e5"), tok, tokenizer_only: true)
    Emb::Model.open(tok) do |m|
      assert_equal 0, m.dim
      assert_equal 101, m.tokenize("hello")[0]
      err = assert_raises(Emb::Error) { m.encode(["hello"]) }
      assert_equal Emb::EMB_ERR_NO_WEIGHTS, err.status
    end
    out = File.join(EmbTest.tmp, "never.h5")
    err = assert_raises(Emb::Error) { Emb.convert(File.join(EmbTest.tmp, "no-such-dir"), out) }
    assert_equal Emb::EMB_ERR_IO, err.status
    err = assert_raises(Emb::Error) { Emb.convert(File.join(EmbTest::FIXTURES, "bert-e5"), out, pooling: "median") }
    assert_equal Emb::EMB_ERR_INVALID_ARGUMENT, err.status
    refute File.exist?(out)
    assert_raises(ArgumentError) { Emb.convert(File.join(EmbTest::FIXTURES, "bert-e5"), out, dtype: :f8) }
  end

  # strip: true makes the file str.strip() prompt + text (sentence-transformers
  # up to 5.3); the default uses it as is (5.4 and later)
  def test_convert_strip
    src = File.join(EmbTest::FIXTURES, "roberta-st")
    as_is = Emb.convert(src, File.join(EmbTest.tmp, "as-is.h5"))
    stripped = Emb.convert(src, File.join(EmbTest.tmp, "stripped.h5"), strip: true)
    text = " hi there\t"
    Emb::Model.open(as_is) do |a|
      Emb::Model.open(stripped) do |s|
        assert_equal "false", a.metadata["strip"]
        assert_equal "true", s.metadata["strip"]
        assert_equal s.encode(["hi there"]).first, s.encode([text]).first
        refute_equal a.encode([text]).first, s.encode([text]).first
      end
    end
  end

  def test_unknown_status
    err = Emb::Error.new(99, "future")
    assert_equal :EMB_STATUS_99, err.status_name
  end

  def test_library_lookup
    assert_raises(Emb::LibraryNotFound) { Emb::Model.open(library: File.join(EmbTest.tmp, "libemb.so.1")) }
    lib = File.join(EmbTest::ROOT, "lib", "libemb.so.1")
    assert_equal [["library: argument", lib]], Emb::Native.candidates(lib)
    unless ENV["EMB_MODEL"]
      Emb::Model.open(library: lib) { |m| assert_equal File.realpath(EmbTest::DEFAULT), File.realpath(m.path) }
    end
    ruby = File.join(RbConfig::CONFIG["bindir"], RbConfig::CONFIG["ruby_install_name"])
    libdir = File.join(EmbTest::ROOT, "bindings", "ruby", "lib")
    env = { "EMB_LIBRARY" => File.join(EmbTest.tmp, "missing.so.1") }
    _out, err, status = Open3.capture3(env, ruby, "-I", libdir, "-e", 'require "emb"; Emb::Model.open', chdir: "/")
    refute status.success?
    assert_includes err, "EMB_LIBRARY"
    # without the environment: the source tree's library and default model,
    # the real one when `make models` made it (dim 384), else the demo (256), saying so
    env = { "EMB_LIBRARY" => nil, "EMB_MODEL" => nil }
    out, err, status = Open3.capture3(env, ruby, "-I", libdir, "-e",
                                      'require "emb"; Emb::Model.open { |m| puts m.path, m.dim }', chdir: "/")
    assert status.success?, err
    path, dim = out.split("\n")
    demo = EmbTest::DEFAULT == EmbTest::BUILTIN
    assert_equal File.realpath(EmbTest::DEFAULT), File.realpath(path)
    assert_equal demo ? "256" : "384", dim
    assert_equal demo, err.include?("emb: using the demo model wordnet-mini ("), err
  end

  def test_emb_model_environment_and_installed_layout
    prefix = File.join(EmbTest.tmp, "prefix")
    FileUtils.mkdir_p([File.join(prefix, "lib"), File.join(prefix, "share", "emb")])
    FileUtils.cp(File.join(EmbTest::ROOT, "lib", "libemb.so.1"), File.join(prefix, "lib", "libemb.so.1"))
    # the installed real model beats any demo (dim 32 tells the fixture apart)
    %w[wordnet-mini.h5 all-MiniLM-L6-v2.h5].each do |name|
      FileUtils.cp(EmbTest.model("bert-e5"), File.join(prefix, "share", "emb", name))
    end
    saved = ENV.delete("EMB_MODEL")
    begin
      Emb::Model.open(library: File.join(prefix, "lib", "libemb.so.1")) do |m|
        assert_equal 32, m.dim
        assert_equal File.join(prefix, "share", "emb", "all-MiniLM-L6-v2.h5"), m.path
      end
      ENV["EMB_MODEL"] = EmbTest.model("bert-e5")
      Emb::Model.open { |m| assert_equal 32, m.dim }
    ensure
      saved ? ENV["EMB_MODEL"] = saved : ENV.delete("EMB_MODEL")
    end
  end
end
