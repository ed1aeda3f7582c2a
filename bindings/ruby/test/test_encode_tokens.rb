# frozen_string_literal: true

require_relative "emb_test_helper"

# Emb::Model#encode_tokens (emb_encode_tokens): ids from #tokenize give
# #encode's vectors, bitwise.
class TestEncodeTokens < Minitest::Test
  TEXTS = ["how do plants make food?", "Photosynthesis is the process by which green plants use sunlight.",
           "", "Ünïcödé façade naïve café 北京 🍕", (["a long text that the model has to cut"] * 40).join(" ")].freeze

  def f32(rows)
    rows.flatten.pack("e*")
  end

  def test_ids_from_tokenize_give_encode_bitwise
    [EmbTest::BUILTIN, EmbTest.model("bert-e5")].each do |path|
      Emb::Model.open(path) do |m|
        %i[none query passage].each do |kind|
          ids = TEXTS.map { |t| m.tokenize(t, kind: kind, truncate: true) }
          got = m.encode_tokens(ids)
          want = m.encode(TEXTS, kind: kind)
          assert_equal TEXTS.size, got.size
          assert(f32(got) == f32(want), "#{path} #{kind}: encode_tokens differs from encode")
          one = m.encode_tokens(ids[1])
          assert_equal f32(want[1]), f32(one), "a flat Array gives one vector"
        end
      end
    end
  end

  def test_prompt_is_not_added
    Emb::Model.open(EmbTest.model("bert-e5")) do |m|
      plain = m.tokenize("how do plants make food?")
      refute_equal plain, m.tokenize("how do plants make food?", kind: :query)
      assert_equal f32(m.encode(["how do plants make food?"], prompt: "")), f32(m.encode_tokens([plain]))
    end
  end

  def test_errors
    Emb::Model.open do |m|
      vocab = Integer(m.metadata["vocab_size"])
      ok = m.tokenize("plants")
      [[[ok, []], Emb::EMB_ERR_INVALID_ARGUMENT, "empty"],
       [[ok + [vocab + 5]], Emb::EMB_ERR_INVALID_ARGUMENT, "vocabulary"],
       [[[-1] + ok], Emb::EMB_ERR_INVALID_ARGUMENT, "vocabulary"],
       [[[2**40]], Emb::EMB_ERR_INVALID_ARGUMENT, "vocabulary"],
       [[m.tokenize(TEXTS[-1])], Emb::EMB_ERR_TOO_LONG, "tokens"]].each do |seqs, status, word|
        e = assert_raises(Emb::Error) { m.encode_tokens(seqs) }
        assert_equal status, e.status, e.message
        assert_includes e.detail, word
      end
      [["101 102"], [[1.5]], [["1"]]].each do |bad|
        assert_raises(TypeError) { m.encode_tokens(bad) }
      end
      assert_equal [], m.encode_tokens([])
      m.close
      e = assert_raises(Emb::Error) { m.encode_tokens([ok]) }
      assert_includes e.detail, "closed"
    end
  end
end
