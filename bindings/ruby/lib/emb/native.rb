# frozen_string_literal: true

require "ffi"

module Emb
  # Finding and loading libemb.so.1, and the C declarations of include/emb.h.
  # Calls that do work (open, encode, tokenize, convert) are declared
  # blocking, so Ruby releases the GVL during them and threads run in parallel.
  module Native
    SONAME = "libemb.so.1"
    # bindings/ruby/lib/emb/native.rb -> the source tree's root
    SOURCE_ROOT = File.expand_path("../../../..", __dir__)
    # The default model files, best first: the real model that `make models`
    # fetches, then the demo model that `make` always builds (the last entry).
    # Each is looked for in every directory of default_model_dirs before the
    # next name is tried, so a real model anywhere beats the demo (as the CLI).
    DEFAULT_MODELS = %w[all-MiniLM-L6-v2.h5 wordnet-mini.h5].freeze

    class EmbText < FFI::Struct
      layout :data, :pointer, :len, :size_t
    end

    # emb_open_options; :compute is an emb_compute (a C enum: int-sized)
    class OpenOptions < FFI::Struct
      layout :struct_size, :size_t, :n_threads, :int, :compute, :int
    end

    class EncodeOptions < FFI::Struct
      layout :struct_size, :size_t, :kind, :int, :prompt, :pointer, :prompt_len, :size_t,
             :truncate, :int
    end

    class TokenizeOptions < FFI::Struct
      layout :struct_size, :size_t, :add_special, :int, :apply_prompt, :int, :kind, :int,
             :truncate, :int
    end

    class ConvertOptions < FFI::Struct
      layout :struct_size, :size_t, :dtype, :int, :tokenizer_only, :int, :pooling, :pointer,
             :normalize, :int, :template_, :pointer, :prompt_query, :pointer,
             :prompt_passage, :pointer, :prompt_none, :pointer, :attention, :int,
             :append_eos, :int, :calibration, :pointer, :strip, :int
    end

    # name => [argument types, return type, blocking]
    PROTOTYPES = {
      emb_version: [[], :string, false],
      emb_status_string: [[:int], :string, false],
      emb_last_error: [[], :string, false],
      emb_open_options_init_size: [%i[pointer size_t], :void, false],
      emb_encode_options_init_size: [%i[pointer size_t], :void, false],
      emb_tokenize_options_init_size: [%i[pointer size_t], :void, false],
      emb_convert_options_init_size: [%i[pointer size_t], :void, false],
      emb_model_open: [%i[string pointer pointer], :int, true],
      emb_model_close: [[:pointer], :void, false],
      emb_model_dim: [[:pointer], :size_t, false],
      emb_model_max_tokens: [[:pointer], :size_t, false],
      emb_model_meta: [%i[pointer string], :pointer, false],
      emb_model_meta_count: [[:pointer], :size_t, false],
      emb_model_meta_key: [%i[pointer size_t], :pointer, false],
      emb_encode: [%i[pointer pointer size_t pointer pointer], :int, true],
      emb_encode_tokens: [%i[pointer pointer pointer size_t pointer], :int, true],
      emb_cosine: [%i[pointer pointer size_t pointer], :int, false],
      emb_tokenize: [%i[pointer pointer size_t pointer pointer size_t pointer], :int, true],
      emb_convert: [%i[string string pointer], :int, true]
    }.freeze

    # One loaded libemb; #path is the file it came from.
    class Library
      attr_reader :path

      def initialize(dl, path)
        @path = path
        @fns = PROTOTYPES.to_h do |name, (args, ret, blocking)|
          sym = dl.find_function(name.to_s) or raise LibraryNotFound, "#{path}: no symbol #{name} (not libemb)"
          [name, FFI::Function.new(ret, args, sym, blocking: blocking)]
        end
      end

      def call(name, *args)
        @fns.fetch(name).call(*args)
      end

      def last_error
        call(:emb_last_error).to_s.dup.force_encoding(Encoding::UTF_8)
      end

      # Raise Emb::Error unless status is EMB_OK.
      def check(status)
        return if status.zero?

        raise Error.new(status, last_error, call(:emb_status_string, status))
      end

      # An option struct filled with the library's defaults. *_init() writes
      # into a generous scratch buffer (the library may be newer and its struct
      # larger); the fields this binding knows are copied out and struct_size
      # is set to the binding's size, so the library keeps its defaults for
      # fields beyond it (docs/api.md).
      def options(klass, init)
        # *_init_size writes only klass.size bytes: safe with any library version
        opts = klass.new
        call(:"#{init}_size", opts.pointer, klass.size)
        opts
      end
    end

    # dladdr, to learn which file the system loader picked
    module Dl
      extend FFI::Library
      ffi_lib FFI::Library::LIBC
      class Info < FFI::Struct
        layout :dli_fname, :string, :dli_fbase, :pointer, :dli_sname, :string, :dli_saddr, :pointer
      end
      begin
        attach_function :dladdr, %i[pointer pointer], :int
      rescue FFI::NotFoundError
        nil
      end
    end

    @cache = {}
    @lock = Mutex.new

    class << self
      # The lookup order, as [where, path-or-name] pairs: library: argument,
      # $EMB_LIBRARY, the source tree's lib/libemb.so.1, the system loader.
      def candidates(library = nil)
        return [["library: argument", library.to_s]] if library
        env = ENV["EMB_LIBRARY"]
        return [["EMB_LIBRARY", env]] if env && !env.empty?

        [["source tree", File.join(SOURCE_ROOT, "lib", SONAME)], ["system loader", SONAME]]
      end

      # Load libemb (cached per path); raises Emb::LibraryNotFound.
      def load(library = nil)
        tried = []
        candidates(library).each do |where, name|
          if name.include?("/")
            name = File.expand_path(name)
            unless File.exist?(name)
              tried << "#{where}: #{name} (no such file)"
              next
            end
          end
          @lock.synchronize do
            return @cache[name] if @cache[name]

            begin
              dl = FFI::DynamicLibrary.open(name, FFI::DynamicLibrary::RTLD_LAZY | FFI::DynamicLibrary::RTLD_LOCAL)
              return @cache[name] = Library.new(dl, loaded_path(dl) || name)
            rescue LoadError, LibraryNotFound => e
              tried << "#{where}: #{name} (#{e.message})"
            end
          end
        end
        raise LibraryNotFound, "libemb: cannot load #{SONAME}; tried: #{tried.join('; ')}"
      end

      # Where the default models are looked for: <prefix>/share/emb next to
      # the loaded library (<prefix>/lib/libemb.so.1), then the source tree's
      # models/.
      def default_model_dirs(lib, source_root: SOURCE_ROOT)
        dirs = []
        dirs << File.expand_path("../share/emb", File.dirname(lib.path)) if lib.path.include?("/")
        dirs << File.join(source_root, "models")
      end

      # Where Model.open(nil) looks: $EMB_MODEL, then each of DEFAULT_MODELS
      # in each of default_model_dirs. Returns [path, why]: why is nil when
      # path is $EMB_MODEL or the real model; when path is the demo model, or
      # nil (nothing found), why says which files were not found where.
      def default_model_path(lib, source_root: SOURCE_ROOT)
        env = ENV["EMB_MODEL"]
        return [env, nil] if env && !env.empty?

        dirs = default_model_dirs(lib, source_root: source_root)
        DEFAULT_MODELS.each_with_index do |name, i|
          dirs.each do |dir|
            path = File.join(dir, name)
            return [path, i.zero? ? nil : not_in(DEFAULT_MODELS.first(i), dirs)] if File.exist?(path)
          end
        end
        [nil, not_in(DEFAULT_MODELS, dirs)]
      end

      private

      def not_in(names, dirs)
        "#{names.join(' or ')} not in #{dirs.join(', ')}"
      end

      def loaded_path(dl)
        return nil unless Dl.respond_to?(:dladdr)

        info = Dl::Info.new
        sym = dl.find_function("emb_version")
        return nil if sym.nil? || Dl.dladdr(sym, info).zero? || info[:dli_fname].nil?

        File.expand_path(info[:dli_fname])
      end
    end
  end
end
