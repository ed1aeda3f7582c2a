# frozen_string_literal: true

require_relative "emb_test_helper"

# Emb.convert(dtype: :int8): an encoder's Linear weights as int8 (format 1.2),
# vectors within cosine 0.999 of the f32 file's and the same in any batch; a
# decoder is refused with EMB_ERR_UNSUPPORTED and leaves no file.
class TestInt8 < Minitest::Test
  TEXTS = ["first text", "how do plants make food?", "naïve café über", "x"].freeze

  def cosine(a, b)
    dot = a.zip(b).sum { |x, y| x * y }
    dot / Math.sqrt(a.sum { |x| x * x } * b.sum { |y| y * y })
  end

  def test_int8_encoder_close_to_f32
    out = File.join(EmbTest.tmp, "bert-e5-int8.h5")
    Emb.convert(File.join(EmbTest::FIXTURES, "bert-e5"), out, dtype: :int8)
    want = Emb::Model.open(EmbTest.model("bert-e5")) { |m| m.encode(TEXTS, kind: :query) }
    Emb::Model.open(out) do |m|
      assert_equal "int8", m.metadata["weights_dtype"]
      got = m.encode(TEXTS, kind: :query)
      TEXTS.each_index do |i|
        c = cosine(got[i], want[i])
        assert c >= 0.999, "text #{i}: cosine int8 vs f32 #{c}"
        assert_equal got[i], m.encode([TEXTS[i]], kind: :query)[0]
      end
      refute_equal want, got
    end
  end

  def test_int8_decoder_refused
    out = File.join(EmbTest.tmp, "qwen3-int8.h5")
    err = assert_raises(Emb::Error) { Emb.convert(File.join(EmbTest::FIXTURES, "qwen3-emb"), out, dtype: "int8") }
    assert_equal Emb::EMB_ERR_UNSUPPORTED, err.status
    refute File.exist?(out)
  end
end
