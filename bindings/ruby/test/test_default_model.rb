# frozen_string_literal: true

require_relative "emb_test_helper"
require "minitest/mock"

# Model.open's default model (no path, no $EMB_MODEL) in a temporary prefix
# and source tree: the real all-MiniLM-L6-v2.h5 beats the demo wordnet-mini.h5
# wherever each is (<prefix>/share/emb, then the source tree's models/); the
# demo fallback warns once per file, naming it and why; $EMB_MODEL never
# warns. The fixture bert-e5 (dim 32, unlike either real file) stands in for
# both names.
class TestDefaultModel < Minitest::Test
  def setup
    @dir = Dir.mktmpdir("default-model", EmbTest.tmp)
    @prefix = File.join(@dir, "prefix")
    @source = File.join(@dir, "source")
    FileUtils.mkdir_p([File.join(@prefix, "lib"), File.join(@prefix, "share", "emb"), File.join(@source, "models")])
    @library = File.join(@prefix, "lib", "libemb.so.1")
    FileUtils.cp(File.join(EmbTest::ROOT, "lib", "libemb.so.1"), @library)
    @saved = ENV.delete("EMB_MODEL")
  end

  def teardown
    @saved ? ENV["EMB_MODEL"] = @saved : ENV.delete("EMB_MODEL")
  end

  # copy the fixture to each of files (relative to the test's directory)
  def place(*files)
    files.each { |f| FileUtils.cp(EmbTest.model("bert-e5"), File.join(@dir, f)) }
  end

  # Model.open(library:) with this test's source tree instead of the real
  # one; returns [the model's path, what it wrote to stderr]
  def open_default
    dirs = Emb::Native.default_model_dirs(Emb::Native.load(@library), source_root: @source)
    assert_equal [File.join(@prefix, "share", "emb"), File.join(@source, "models")], dirs
    path = nil
    _out, err = capture_io do
      Emb::Native.stub(:default_model_dirs, dirs) do
        Emb::Model.open(library: @library) do |m|
          assert_equal 32, m.dim
          path = m.path
        end
      end
    end
    [path, err]
  end

  def assert_picks_quietly(want)
    path, err = open_default
    assert_equal File.join(@dir, want), path
    assert_equal "", err
  end

  def test_real_model_beats_demo_in_one_dir
    place("prefix/share/emb/wordnet-mini.h5", "prefix/share/emb/all-MiniLM-L6-v2.h5")
    assert_picks_quietly("prefix/share/emb/all-MiniLM-L6-v2.h5")
  end

  def test_real_model_anywhere_beats_demo
    place("prefix/share/emb/wordnet-mini.h5", "source/models/all-MiniLM-L6-v2.h5")
    assert_picks_quietly("source/models/all-MiniLM-L6-v2.h5")
  end

  def test_installed_before_source
    place("prefix/share/emb/all-MiniLM-L6-v2.h5", "source/models/all-MiniLM-L6-v2.h5",
          "source/models/wordnet-mini.h5")
    assert_picks_quietly("prefix/share/emb/all-MiniLM-L6-v2.h5")
  end

  def test_demo_fallback_warns_why_once
    place("source/models/wordnet-mini.h5")
    demo = File.join(@source, "models", "wordnet-mini.h5")
    path, err = open_default
    assert_equal demo, path
    assert_equal "emb: using the demo model wordnet-mini (#{demo}): no real model found " \
                 "(all-MiniLM-L6-v2.h5 not in #{@prefix}/share/emb, #{@source}/models); " \
                 "run 'make models' to fetch one, or pass a path\n", err
    assert_equal [demo, ""], open_default
  end

  def test_emb_model_is_quiet
    place("prefix/share/emb/wordnet-mini.h5")
    ENV["EMB_MODEL"] = EmbTest.model("bert-e5")
    assert_equal [EmbTest.model("bert-e5"), nil],
                 Emb::Native.default_model_path(Emb::Native.load(@library), source_root: @source)
    path, err = open_default
    assert_equal EmbTest.model("bert-e5"), path
    assert_equal "", err
  end

  def test_no_default_model
    e = assert_raises(Emb::Error) { open_default }
    assert_equal Emb::EMB_ERR_IO, e.status
    assert_includes e.message, "all-MiniLM-L6-v2.h5 or wordnet-mini.h5 not in #{@prefix}/share/emb, #{@source}/models"
  end
end
