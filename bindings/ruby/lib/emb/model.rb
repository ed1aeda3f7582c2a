# frozen_string_literal: true

module Emb
  KINDS = { nil => 0, "none" => 0, "query" => 1, "passage" => 2 }.freeze
  DTYPES = { nil => 0, "auto" => 0, "f32" => 1, "f16" => 2, "bf16" => 3, "int8" => 4 }.freeze
  # emb_compute: EMB_COMPUTE_F32, EMB_COMPUTE_BF16
  COMPUTES = { nil => 0, "f32" => 0, "bf16" => 1 }.freeze

  class << self
    # Cosine similarity of two vectors (emb_cosine: double precision over the
    # float32 values); 0.0 when either is all zeros.
    def cosine(a, b, library: nil)
      raise ArgumentError, "cosine: vectors of different lengths (#{a.size} and #{b.size})" if a.size != b.size
      raise ArgumentError, "cosine: empty vectors" if a.empty?

      lib = Native.load(library)
      pa = FFI::MemoryPointer.new(:float, a.size).write_array_of_float(a.map { |x| Float(x) })
      pb = FFI::MemoryPointer.new(:float, b.size).write_array_of_float(b.map { |x| Float(x) })
      out = FFI::MemoryPointer.new(:float)
      lib.check(lib.call(:emb_cosine, pa, pb, a.size, out))
      out.read_float
    end

    # Convert a Hugging Face model folder into one libemb model file
    # (emb_convert). Returns out. Options as in docs/ruby.md; nil keeps what the
    # folder says. A failed conversion leaves no file and raises Emb::Error.
    def convert(hf_dir, out, dtype: nil, tokenizer_only: false, pooling: nil, normalize: nil,
                template: nil, prompt_query: nil, prompt_passage: nil, prompt_none: nil,
                attention: nil, append_eos: nil, strip: nil, library: nil)
      lib = Native.load(library)
      key = dtype&.to_s&.downcase
      raise ArgumentError, "dtype must be nil, :auto, :f32, :f16, :bf16 or :int8, not #{dtype.inspect}" unless DTYPES.key?(key)
      unless [nil, "causal", "bidirectional"].include?(attention&.to_s)
        raise ArgumentError, "attention must be nil, :causal or :bidirectional, not #{attention.inspect}"
      end

      opts = lib.options(Native::ConvertOptions, :emb_convert_options_init)
      keep = [] # C strings alive until the call returns
      cstr = lambda do |s|
        return FFI::Pointer::NULL if s.nil?

        keep << FFI::MemoryPointer.from_string(Emb.utf8(s))
        keep.last
      end
      opts[:dtype] = DTYPES[key]
      opts[:tokenizer_only] = tokenizer_only ? 1 : 0
      opts[:pooling] = cstr.call(pooling&.to_s)
      opts[:normalize] = normalize ? 1 : 0 unless normalize.nil?
      opts[:template_] = cstr.call(template)
      opts[:prompt_query] = cstr.call(prompt_query)
      opts[:prompt_passage] = cstr.call(prompt_passage)
      opts[:prompt_none] = cstr.call(prompt_none)
      opts[:attention] = attention.to_s == "bidirectional" ? 1 : 0 unless attention.nil?
      opts[:append_eos] = append_eos ? 1 : 0 unless append_eos.nil?
      opts[:strip] = strip ? 1 : 0 unless strip.nil?
      lib.check(lib.call(:emb_convert, hf_dir.to_s, out.to_s, opts.pointer))
      out
    end

    # The loaded library's version string (emb_version).
    def version(library: nil)
      Native.load(library).call(:emb_version)
    end

    # UTF-8 bytes of a text (a binary String); strings in other encodings are
    # transcoded, invalid bytes are passed on for the library to refuse.
    def utf8(text)
      raise TypeError, "text must be a String, not #{text.class}" unless text.is_a?(String)

      enc = text.encoding
      if [Encoding::UTF_8, Encoding::BINARY, Encoding::US_ASCII].include?(enc)
        text.b
      else
        text.encode(Encoding::UTF_8).b
      end
    end

    # One id sequence as [int32 buffer, count]. Ids that do not fit an int32
    # cannot be in any vocabulary: Emb::Error, as the library reports them.
    def int32_ids(seq, index)
      raise TypeError, "sequence #{index} must be an Array of Integers, not #{seq.class}" unless seq.is_a?(Array)

      seq.each_with_index do |v, k|
        raise TypeError, "sequence #{index}: id at #{k} must be an Integer, not #{v.class}" unless v.is_a?(Integer)
        next if v.between?(-(2**31), (2**31) - 1)

        raise Error.new(EMB_ERR_INVALID_ARGUMENT, "sequence #{index}: id #{v} at #{k} is outside the vocabulary")
      end
      buf = FFI::MemoryPointer.new(:int32, [seq.size, 1].max)
      buf.write_array_of_int32(seq) unless seq.empty?
      [buf, seq.size]
    end

    def compute_value(compute)
      key = compute.is_a?(String) || compute.is_a?(Symbol) ? compute.to_s.downcase : compute
      raise ArgumentError, "compute must be :f32 or :bf16, not #{compute.inspect}" unless COMPUTES.key?(key)

      COMPUTES[key]
    end

    def kind_value(kind)
      key = kind&.to_s&.downcase
      raise ArgumentError, "kind must be :query, :passage, :none or nil, not #{kind.inspect}" unless KINDS.key?(key)

      KINDS[key]
    end
  end

  # An opened libemb model file (emb_model_open). One model may be shared by
  # any number of threads; #close waits for calls in flight.
  class Model
    # path: the model file; compute: "f32" or "bf16", as opened
    attr_reader :path, :compute

    # Open a model; with a block, yield it and close it afterwards (returning
    # the block's value), else return it.
    #   path     the .h5 file; nil: $EMB_MODEL, then the real model
    #            all-MiniLM-L6-v2.h5 (made by `make models`), then the demo
    #            model wordnet-mini.h5, each looked for in <prefix>/share/emb/
    #            next to the library and then in the source tree's models/.
    #            Falling back to the demo warns (Kernel#warn, once per file)
    #            saying why
    #   threads  worker threads for encode (0: $EMB_NUM_THREADS or the CPU count)
    #   library  path of libemb.so.1 (default: $EMB_LIBRARY, the source
    #            tree's lib/, the system loader)
    #   compute  precision of the Linear layers: "f32"/:f32 (the default) or
    #            "bf16"/:bf16 (bf16 products, fp32 accumulation: vectors
    #            within cosine 0.999 of f32's, faster; needs a CPU with
    #            AVX512_BF16, else Emb::Error EMB_ERR_UNSUPPORTED); any other
    #            value: ArgumentError
    def self.open(path = nil, threads: 0, library: nil, compute: "f32")
      model = new(path, threads: threads, library: library, compute: compute)
      return model unless block_given?

      begin
        yield model
      ensure
        model.close
      end
    end

    def initialize(path = nil, threads: 0, library: nil, compute: "f32")
      compute_value = Emb.compute_value(compute)
      @lib = Native.load(library)
      if path.nil?
        path, why = Native.default_model_path(@lib)
        if path.nil?
          raise Error.new(EMB_ERR_IO, "no model given and no default model found (set EMB_MODEL): #{why}")
        end

        self.class.send(:warn_demo, path, why) if why
      end
      @path = path.to_s
      opts = @lib.options(Native::OpenOptions, :emb_open_options_init)
      opts[:n_threads] = Integer(threads)
      opts[:compute] = compute_value
      @compute = compute_value == COMPUTES["bf16"] ? "bf16" : "f32"
      out = FFI::MemoryPointer.new(:pointer)
      @lib.check(@lib.call(:emb_model_open, @path, opts.pointer, out))
      handle = out.read_pointer
      @holder = [handle]
      @lock = Mutex.new
      @idle = ConditionVariable.new
      @active = 0
      ObjectSpace.define_finalizer(self, self.class.send(:finalizer, @holder, @lib))
      # the handle is immutable: read what never changes once
      @dim = @lib.call(:emb_model_dim, handle)
      @max_tokens = @lib.call(:emb_model_max_tokens, handle)
      @metadata = read_metadata(handle).freeze
    end

    def self.finalizer(holder, lib)
      proc do
        handle = holder[0]
        holder[0] = nil
        lib.call(:emb_model_close, handle) if handle
      end
    end
    private_class_method :finalizer

    @demo_warned = {}
    @demo_warned_lock = Mutex.new

    # Say on stderr, once per process and file, that the default model is the
    # demo at path and why (Kernel#warn: silenced by ruby -W0).
    def self.warn_demo(path, why)
      first = @demo_warned_lock.synchronize { !@demo_warned[path] && (@demo_warned[path] = true) }
      return unless first

      warn "emb: using the demo model #{File.basename(path, '.h5')} (#{path}): no real model found " \
           "(#{why}); run 'make models' to fetch one, or pass a path"
    end
    private_class_method :warn_demo

    # Release the model (waits for encode/tokenize calls in flight). Idempotent.
    def close
      handle = @lock.synchronize do
        h = @holder[0]
        @holder[0] = nil
        @idle.wait(@lock) while h && @active.positive?
        h
      end
      @lib.call(:emb_model_close, handle) if handle
      nil
    end

    def closed?
      @holder[0].nil?
    end

    # Floats per vector (0 for a tokenizer-only model file).
    def dim
      require_open
      @dim
    end

    # Maximum tokens per input, specials included (0: no limit).
    def max_tokens
      require_open
      @max_tokens
    end

    # The model's metadata (emb_model_meta_*): a Hash of String => String.
    def metadata
      require_open
      @metadata.dup
    end

    def inspect
      "#<Emb::Model #{@path.inspect} #{closed? ? 'closed' : "dim=#{@dim}"}>"
    end

    # Embed texts (emb_encode): an Array of Float arrays, one per text (a
    # single String gives one Float array), bitwise the library's float32.
    #   kind      :query, :passage or nil/:none: the model's prompt to put first
    #   prompt    a String replacing the model's prompt ("" = none)
    #   truncate  true: cut to max_tokens; false: Emb::Error EMB_ERR_TOO_LONG
    def encode(texts, kind: nil, prompt: nil, truncate: true)
      single = texts.is_a?(String)
      items = (single ? [texts] : texts.to_a).map { |t| Emb.utf8(t) }
      opts = @lib.options(Native::EncodeOptions, :emb_encode_options_init)
      opts[:kind] = Emb.kind_value(kind)
      opts[:truncate] = truncate ? 1 : 0
      unless prompt.nil?
        pbytes = Emb.utf8(prompt)
        pbuf = FFI::MemoryPointer.new(:uint8, pbytes.bytesize + 1).put_bytes(0, pbytes)
        opts[:prompt] = pbuf
        opts[:prompt_len] = pbytes.bytesize
      end
      n = items.size
      blob = items.join
      buf = FFI::MemoryPointer.new(:uint8, blob.bytesize + 1)
      buf.put_bytes(0, blob)
      arr = FFI::MemoryPointer.new(Native::EmbText, [n, 1].max)
      offset = 0
      items.each_with_index do |s, i|
        t = Native::EmbText.new(arr + (i * Native::EmbText.size))
        t[:data] = buf + offset
        t[:len] = s.bytesize
        offset += s.bytesize
      end
      flat = with_handle do |handle|
        # at least one float, so a tokenizer-only model reaches EMB_ERR_NO_WEIGHTS
        out = FFI::MemoryPointer.new(:float, [n * @dim, 1].max)
        @lib.check(@lib.call(:emb_encode, handle, arr, n, opts.pointer, out))
        out.read_array_of_float(n * @dim)
      end
      rows = @dim.zero? ? Array.new(n) { [] } : flat.each_slice(@dim).to_a
      single ? rows[0] : rows
    end

    # Embed pre-tokenized sequences (emb_encode_tokens): an Array of Integer
    # Arrays in, one Float array per sequence out (a single flat Array of
    # Integers gives one Float array). The ids are used exactly as given: no
    # prompt, no special tokens, no truncation; what tokenize(text, kind: k)
    # returns gives bitwise encode([text], kind: k). An empty sequence, an id
    # outside the vocabulary (EMB_ERR_INVALID_ARGUMENT) or a sequence longer
    # than max_tokens (EMB_ERR_TOO_LONG) raises Emb::Error.
    def encode_tokens(sequences)
      raise TypeError, "sequences must be an Array of Integer arrays, not #{sequences.class}" unless sequences.respond_to?(:to_a)

      seqs = sequences.to_a
      single = !seqs.empty? && seqs[0].is_a?(Integer)
      seqs = [seqs] if single
      n = seqs.size
      bufs = seqs.each_with_index.map { |s, i| Emb.int32_ids(s, i) }
      ptrs = FFI::MemoryPointer.new(:pointer, [n, 1].max)
      lens = FFI::MemoryPointer.new(:size_t, [n, 1].max)
      bufs.each_with_index do |(buf, count), i|
        ptrs.put_pointer(i * FFI::Pointer.size, buf)
        lens.put(:size_t, i * FFI.type_size(:size_t), count)
      end
      flat = with_handle do |handle|
        out = FFI::MemoryPointer.new(:float, [n * @dim, 1].max)
        @lib.check(@lib.call(:emb_encode_tokens, handle, ptrs, lens, n, out))
        out.read_array_of_float(n * @dim)
      end
      rows = @dim.zero? ? Array.new(n) { [] } : flat.each_slice(@dim).to_a
      single ? rows[0] : rows
    end

    # Token ids of one text (emb_tokenize), an Array of Integers.
    #   add_special  the post-processor's specials ([CLS] ... [SEP])
    #   kind         nil: the text as given; :query/:passage/:none: first build
    #                the input exactly as encode does (prompt, strip)
    #   truncate     cut to max_tokens
    def tokenize(text, add_special: true, kind: nil, truncate: false)
      data = Emb.utf8(text)
      opts = @lib.options(Native::TokenizeOptions, :emb_tokenize_options_init)
      opts[:add_special] = add_special ? 1 : 0
      unless kind.nil?
        opts[:apply_prompt] = 1
        opts[:kind] = Emb.kind_value(kind)
      end
      opts[:truncate] = truncate ? 1 : 0
      buf = FFI::MemoryPointer.new(:uint8, data.bytesize + 1).put_bytes(0, data)
      n_ids = FFI::MemoryPointer.new(:size_t)
      cap = data.bytesize + 64
      with_handle do |handle|
        loop do
          ids = FFI::MemoryPointer.new(:int32, cap)
          st = @lib.call(:emb_tokenize, handle, buf, data.bytesize, opts.pointer, ids, cap, n_ids)
          n = n_ids.read(:size_t)
          if st == EMB_ERR_BUFFER_TOO_SMALL && n > cap
            cap = n # the library reports the count it needs
            next
          end
          @lib.check(st)
          break ids.read_array_of_int32(n)
        end
      end
    end

    private

    def require_open
      raise Error.new(EMB_ERR_INVALID_ARGUMENT, "the model is closed") if closed?
    end

    def with_handle
      handle = @lock.synchronize do
        raise Error.new(EMB_ERR_INVALID_ARGUMENT, "the model is closed") if @holder[0].nil?

        @active += 1
        @holder[0]
      end
      begin
        yield handle
      ensure
        @lock.synchronize do
          @active -= 1
          @idle.broadcast if @active.zero?
        end
      end
    end

    def read_metadata(handle)
      meta = {}
      @lib.call(:emb_model_meta_count, handle).times do |i|
        kp = @lib.call(:emb_model_meta_key, handle, i)
        next if kp.null?

        key = kp.read_string.force_encoding(Encoding::UTF_8)
        vp = @lib.call(:emb_model_meta, handle, key)
        meta[key] = vp.null? ? nil : vp.read_string.force_encoding(Encoding::UTF_8)
      end
      meta
    end
  end
end
