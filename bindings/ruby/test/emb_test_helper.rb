# frozen_string_literal: true

# Shared by the Ruby binding's tests: project paths, the CLI, converted
# fixture models (once per process, in a temporary directory).
require "minitest/autorun"
require "json"
require "open3"
require "tmpdir"
require "fileutils"
require "emb"

module EmbTest
  ROOT = File.expand_path("../../..", __dir__)
  FIXTURES = File.join(ROOT, "tests", "fixtures", "models")
  BUILTIN = File.join(ROOT, "models", "wordnet-mini.h5")
  # the default model without $EMB_MODEL: the real one when `make models` made it
  REAL = File.join(ROOT, "models", "all-MiniLM-L6-v2.h5")
  DEFAULT = File.exist?(REAL) ? REAL : BUILTIN
  EMB = File.expand_path(ENV["EMB_BIN"] || File.join(ROOT, "bin", "emb"))
  # goldens made from (prompt + text).strip(), as sentence-transformers up to 5.3
  # (tests/fixtures/models/README.md): converted with strip, as tests/test_golden.c
  CONVERT_OPTIONS = {
    "mistral-lm" => { pooling: "lasttoken-logits", template: "[INST] {text} [/INST]", normalize: false },
    **%w[xlmr-me5 mistral-e5 qwen2-gte qwen3-emb qwen3-emb-bf16].to_h { |n| [n, { strip: true }] }
  }.freeze

  @tmp = Dir.mktmpdir("emb-ruby-test")
  Minitest.after_run { FileUtils.rm_rf(@tmp) }
  @models = {}
  @lock = Mutex.new

  class << self
    attr_reader :tmp

    # Path of the fixture folder `name` converted with Emb.convert.
    def model(name)
      @lock.synchronize do
        @models[name] ||= Emb.convert(File.join(FIXTURES, name), File.join(@tmp, "#{name}.h5"),
                                      **CONVERT_OPTIONS.fetch(name, {}))
      end
    end

    def cases(name)
      File.readlines(File.join(FIXTURES, name, "golden", "cases.jsonl"), chomp: true)
          .reject(&:empty?).map { |l| JSON.parse(l) }
    end

    # stdout of bin/emb (fails on a non-zero exit)
    def cli(args, stdin = "")
      out, err, status = Open3.capture3(EMB, *args, stdin_data: stdin, binmode: true)
      raise "emb #{args.join(' ')} failed: #{err}" unless status.success?

      out
    end

    # raw little-endian float32 bytes from `emb embed --format f32 --jsonl`
    def cli_f32(model, texts, kind)
      cli(["embed", "-m", model, "--kind", kind.to_s, "--format", "f32", "--jsonl"],
          texts.map { |t| JSON.generate(t) + "\n" }.join)
    end
  end
end
