# frozen_string_literal: true

require_relative "emb_test_helper"

# Vectors from the Ruby binding are the C API's, bitwise, and meet the goldens.
class TestEncode < Minitest::Test
  TEXTS = ["how do plants make food?", "Photosynthesis is the process by which green plants use sunlight.",
           "", "   \t\n  ", "before\u0000after", "Ünïcödé façade naïve café 北京 🍕", "line one\nline two"].freeze

  def f32(rows)
    rows.flatten.pack("e*")
  end

  # the real model or the demo, whichever is the default here
  def test_default_model_bitwise_equal_to_cli
    Emb::Model.open do |m|
      assert_equal File.realpath(EmbTest::DEFAULT), File.realpath(m.path) unless ENV["EMB_MODEL"]
      %i[query passage none].each do |kind|
        got = m.encode(TEXTS, kind: kind)
        assert_equal TEXTS.size, got.size
        assert(got.all? { |r| r.size == m.dim && r.all?(Float) })
        want = EmbTest.cli_f32(m.path, TEXTS, kind)
        next if f32(got) == want

        w = want.unpack("e*")
        i = got.flatten.each_index.find { |j| got.flatten[j] != w[j] }
        flunk "#{kind}: first differing float #{i}: binding #{got.flatten[i]}, CLI #{w[i]}"
      end
    end
  end

  def test_goldens
    %w[bert-e5 xlmr-me5 qwen3-emb mistral-lm].each do |name|
      path = EmbTest.model(name)
      cases = EmbTest.cases(name)
      Emb::Model.open(path) do |m|
        cases.group_by { |c| c["kind"] }.each do |kind, group|
          got = m.encode(group.map { |c| c["text"] }, kind: kind)
          group.zip(got).each do |c, v|
            diffs = v.zip(c["vector"]).map { |a, b| (a - b).abs }
            i = diffs.each_index.max_by { |j| diffs[j] }
            assert diffs[i] <= 1e-4, "#{name} #{c['text'][0, 40].inspect} (#{kind}): worst |diff| " \
                                     "#{diffs[i]} at #{i} (got #{v[i]}, want #{c['vector'][i]})"
            assert_equal c["ids"], m.tokenize(c["text"], kind: kind, truncate: true),
                         "#{name} #{c['text'][0, 40].inspect} ids"
          end
          assert_equal EmbTest.cli_f32(path, group.map { |c| c["text"] }, kind), f32(got),
                       "#{name} #{kind}: not bitwise the CLI's vectors"
        end
      end
    end
  end

  def test_single_text_batch_and_prompt
    Emb::Model.open(EmbTest.model("bert-e5")) do |m|
      batch = m.encode(TEXTS, kind: :passage)
      TEXTS.each_with_index do |t, i|
        one = m.encode(t, kind: "passage")
        assert_equal 32, one.size
        assert_equal f32(batch[i]), f32(one), "text #{i} differs alone and in a batch"
      end
      assert_equal f32(m.encode(TEXTS, kind: :query)), f32(m.encode(TEXTS, prompt: "query: "))
      assert_equal f32(m.encode(TEXTS)), f32(m.encode(TEXTS, kind: :query, prompt: ""))
      assert_equal [], m.encode([])
      nul, cut = m.encode(["before\u0000after", "before"])
      refute_equal f32(nul), f32(cut)
      # other encodings are transcoded to UTF-8
      latin1 = "café".encode(Encoding::ISO_8859_1)
      assert_equal f32(m.encode("café")), f32(m.encode(latin1))
    end
  end

  def test_truncation_and_tokenize
    Emb::Model.open(EmbTest.model("bert-e5"), threads: 1) do |m|
      assert_equal 64, m.max_tokens
      long = "word " * 500
      ids = m.tokenize(long)
      assert_operator ids.size, :>, 64
      cut = m.tokenize(long, truncate: true)
      assert_equal 64, cut.size
      assert_equal [ids.first, ids.last], [cut.first, cut.last]
      err = assert_raises(Emb::Error) { m.encode([long], truncate: false) }
      assert_equal Emb::EMB_ERR_TOO_LONG, err.status
      plain = m.tokenize("hello world", add_special: false)
      assert_equal plain, m.tokenize("hello world")[1..-2]
      assert_equal 3002, m.tokenize("a " * 3000).size # needs a second call with the reported size
    end
  end

  def test_cosine_and_cli_similarity
    Emb::Model.open do |m|
      a, b = m.encode(["a cat", "a kitten"], kind: :query)
      want = EmbTest.cli(["similarity", "--kind", "query", "a cat", "a kitten"]).strip
      assert_equal want, format("%.6f", Emb.cosine(a, b))
    end
    assert_in_delta (-2 + 1 + 12) / Math.sqrt(14 * 20.25), Emb.cosine([1, 2, 3], [-2, 0.5, 4]), 1e-6
    assert_equal 0.0, Emb.cosine([1.0, 2.0], [0.0, 0.0])
    assert_raises(ArgumentError) { Emb.cosine([1.0], [1.0, 2.0]) }
  end

  def test_metadata_and_properties
    Emb::Model.open(EmbTest.model("bert-e5")) do |m|
      meta = m.metadata
      assert_equal 32, m.dim
      assert_equal "32", meta["dim"]
      assert_equal "bert", meta["architecture"]
      assert_equal "query: ", meta["prompt.query"]
      assert_equal m.max_tokens.to_s, meta["max_tokens"]
      meta["dim"] = "x"
      assert_equal "32", m.metadata["dim"]
      assert_match(/dim=32/, m.inspect)
    end
    assert_match(/\A1\./, Emb.version)
  end
end
