# frozen_string_literal: true

require_relative "emb_test_helper"

# encode releases the GVL: Ruby threads encode concurrently on one model with
# the same bits as one thread.
class TestThreads < Minitest::Test
  TEXTS = Array.new(40) { |i| "text number #{i} about plants, sunlight and water" }.freeze

  def test_two_threads_concurrently
    Emb::Model.open(EmbTest.model("bert-e5"), threads: 1) do |m|
      want = m.encode(TEXTS, kind: :passage).flatten.pack("e*")
      threads = Array.new(2) { Thread.new { Array.new(5) { m.encode(TEXTS, kind: :passage).flatten.pack("e*") } } }
      threads.map(&:value).each_with_index do |runs, t|
        runs.each_with_index { |got, r| assert_equal want, got, "thread #{t} run #{r} differs" }
      end
    end
  end

  def test_thread_count_does_not_change_bits
    one = Emb::Model.open(EmbTest.model("bert-e5"), threads: 1) { |m| m.encode(TEXTS) }
    two = Emb::Model.open(EmbTest.model("bert-e5"), threads: 2) { |m| m.encode(TEXTS) }
    assert_equal one.flatten.pack("e*"), two.flatten.pack("e*")
  end

  def test_close_waits_for_calls_in_flight
    m = Emb::Model.open(EmbTest.model("bert-e5"))
    started = Queue.new
    worker = Thread.new do
      started << true
      20.times.map do
        m.encode(TEXTS).size
      rescue Emb::Error => e
        raise unless e.detail.include?("closed")

        break
      end
    end
    started.pop
    m.close
    worker.join
    assert m.closed?
  end
end
