"""Model, cosine and convert: thin wrappers over include/emb.h."""

import ctypes
import os
import threading
import warnings

from . import _lib
from .errors import DemoModelWarning, EmbError, Status

try:
    import numpy as _np
except ImportError:  # the binding works without NumPy: lists of floats then
    _np = None

_KINDS = {None: 0, "none": 0, "query": 1, "passage": 2}
_DTYPES = {None: 0, "auto": 0, "f32": 1, "f16": 2, "bf16": 3, "int8": 4}
_COMPUTES = {None: 0, "f32": 0, "bf16": 1}  # emb_compute: EMB_COMPUTE_F32, EMB_COMPUTE_BF16


def _kind_value(kind):
    key = kind.lower() if isinstance(kind, str) else kind
    if key not in _KINDS:
        raise ValueError("kind must be 'query', 'passage', 'none' or None, not %r" % (kind,))
    return _KINDS[key]


def _compute_value(compute):
    key = compute.lower() if isinstance(compute, str) else compute
    if key not in _COMPUTES:
        raise ValueError("compute must be 'f32' or 'bf16', not %r" % (compute,))
    return _COMPUTES[key]


def _utf8(text, what="text"):
    """str -> UTF-8 bytes (lone surrogates pass through, so that the library
    refuses them with EMB_ERR_INVALID_UTF8); bytes-like objects are used as given."""
    if isinstance(text, str):
        return text.encode("utf-8", "surrogatepass")
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text)
    raise TypeError("%s must be str or bytes, not %s" % (what, type(text).__name__))


_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1


def _is_int(x):
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return True
    return _np is not None and isinstance(x, _np.integer)


def _int32_ids(seq, index):
    """One id sequence -> (buffer kept alive, int32 pointer, count). Ids that
    do not fit an int32 cannot be in any vocabulary: EmbError, as the library
    reports ids outside the vocabulary."""
    if isinstance(seq, (str, bytes, bytearray)) or _is_int(seq):
        raise TypeError("sequence %d must be a sequence of ints, not %s" % (index, type(seq).__name__))
    items = seq if (_np is not None and isinstance(seq, _np.ndarray)) else list(seq)
    if _np is not None and isinstance(items, _np.ndarray):
        if items.ndim != 1 or not (items.dtype.kind in "iu" or items.size == 0):
            raise TypeError("sequence %d must be a 1-D array of ints (got dtype %s, %d-D)"
                            % (index, items.dtype, items.ndim))
        values = items.tolist()
    else:
        values = items
    for k, v in enumerate(values):
        if not _is_int(v):
            raise TypeError("sequence %d: id at %d must be an int, not %s" % (index, k, type(v).__name__))
        if not _INT32_MIN <= int(v) <= _INT32_MAX:
            raise EmbError(Status.EMB_ERR_INVALID_ARGUMENT,
                           "sequence %d: id %d at %d is outside the vocabulary" % (index, int(v), k))
    n = len(values)
    buf = (ctypes.c_int32 * max(n, 1))(*[int(v) for v in values])
    return buf, ctypes.cast(buf, ctypes.POINTER(ctypes.c_int32)), n


def _check(lib, status):
    if status != Status.EMB_OK:
        raise EmbError(status, lib.last_error(), lib.status_string(status))


def _address(data):
    """Address of a bytes object's buffer (kept alive by the caller)."""
    return ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value


class Model:
    """An opened libemb model file (emb_model_open).

    Model(path=None, threads=0, library=None, compute="f32")
      path     the .h5 model file; None: $EMB_MODEL, then the real model
               all-MiniLM-L6-v2.h5 (made by `make models`), then the demo
               model wordnet-mini.h5, each looked for in <prefix>/share/emb/
               next to the library and then in the source tree's models/.
               Falling back to the demo warns (DemoModelWarning) saying why
      threads  worker threads for encode (0: $EMB_NUM_THREADS or the CPU
               affinity mask)
      compute  precision of the Linear layers: "f32" (the default; None too) or
               "bf16" (bf16 products, fp32 accumulation: vectors within
               cosine 0.999 of f32's, faster; needs a CPU with AVX512_BF16,
               else EmbError with status EMB_ERR_UNSUPPORTED). Any other
               value: ValueError
      library  path of libemb.so.1 (default: $EMB_LIBRARY, the source tree's
               lib/, the system loader)

    One Model may be shared by any number of threads; calls run without the
    GIL. close() (or leaving a `with` block) waits for calls in flight.
    """

    def __init__(self, path=None, threads=0, library=None, compute="f32"):
        self._handle = None
        self._cond = threading.Condition()
        self._active = 0
        compute_value = _compute_value(compute)
        self._lib = _lib.load(library)
        if path is None:
            path, why = _lib.default_model_path(self._lib)
            if path is None:
                raise EmbError(Status.EMB_ERR_IO,
                               "no model given and no default model found (set EMB_MODEL): " + why)
            if why is not None:
                name = os.path.splitext(os.path.basename(path))[0]
                warnings.warn("libemb: using the demo model %s (%s): no real model found (%s); run "
                              "'make models' to fetch one, or pass a path" % (name, path, why),
                              DemoModelWarning, stacklevel=2)
        self.path = os.fsdecode(path)
        opts = self._lib.options(_lib.OpenOptions, "emb_open_options_init")
        opts.n_threads = int(threads)
        opts.compute = compute_value
        self.compute = "bf16" if compute_value == _COMPUTES["bf16"] else "f32"
        handle = ctypes.c_void_p()
        _check(self._lib, self._lib.emb_model_open(os.fsencode(path), ctypes.byref(opts),
                                                   ctypes.byref(handle)))
        self._handle = handle
        # the handle is immutable: read what never changes once
        self._dim = int(self._lib.emb_model_dim(handle))
        self._max_tokens = int(self._lib.emb_model_max_tokens(handle))
        meta = {}
        for i in range(self._lib.emb_model_meta_count(handle)):
            key = self._lib.emb_model_meta_key(handle, i)
            if key is None:
                continue
            value = self._lib.emb_model_meta(handle, key)
            meta[key.decode("utf-8", "replace")] = (value.decode("utf-8", "replace")
                                                    if value is not None else None)
        self._meta = meta

    # ------------------------------------------------------------ lifetime

    def close(self):
        """Release the model (waits for encode/tokenize calls in flight). Idempotent."""
        with self._cond:
            handle = self._handle
            if handle is None:
                return
            self._handle = None
            self._cond.wait_for(lambda: self._active == 0)
        self._lib.emb_model_close(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            if getattr(self, "_handle", None) is not None and self._active == 0:
                self._lib.emb_model_close(self._handle)
                self._handle = None
        except Exception:  # interpreter shutdown
            pass

    @property
    def closed(self):
        return self._handle is None

    def _acquire(self):
        with self._cond:
            if self._handle is None:
                raise EmbError(Status.EMB_ERR_INVALID_ARGUMENT, "the model is closed")
            self._active += 1
            return self._handle

    def _release(self):
        with self._cond:
            self._active -= 1
            if self._active == 0:
                self._cond.notify_all()

    def _require_open(self):
        if self._handle is None:
            raise EmbError(Status.EMB_ERR_INVALID_ARGUMENT, "the model is closed")

    def __repr__(self):
        state = "closed" if self.closed else "dim=%d" % self._dim
        return "<libemb.Model %r %s>" % (self.path, state)

    # ---------------------------------------------------------- properties

    @property
    def dim(self):
        """Floats per vector (0 for a tokenizer-only model file)."""
        self._require_open()
        return self._dim

    @property
    def max_tokens(self):
        """Maximum tokens per input, specials included (0: no limit)."""
        self._require_open()
        return self._max_tokens

    @property
    def metadata(self):
        """The model's metadata (emb_model_meta_*) as a dict of strings."""
        self._require_open()
        return dict(self._meta)

    # -------------------------------------------------------------- encode

    def encode(self, texts, kind=None, prompt=None, truncate=True):
        """Embed texts (emb_encode).

        texts     a list (any iterable) of str or UTF-8 bytes; a single str or
                  bytes gives one vector instead of a matrix
        kind      "query", "passage" or None/"none": which of the model's
                  prompts is put in front of each text
        prompt    str: replaces the model's prompt for every text (a task
                  instruction); "" means no prompt
        truncate  True: cut inputs to max_tokens as sentence-transformers
                  does; False: a longer input raises EmbError(EMB_ERR_TOO_LONG)

        Returns a float32 NumPy array of shape (len(texts), dim) when NumPy is
        installed, else a list of lists of floats; bitwise what emb_encode gives.
        """
        single = isinstance(texts, (str, bytes, bytearray, memoryview))
        items = [_utf8(texts)] if single else [_utf8(t) for t in texts]
        opts = self._lib.options(_lib.EncodeOptions, "emb_encode_options_init")
        opts.kind = _kind_value(kind)
        opts.truncate = 1 if truncate else 0
        prompt_bytes = None
        if prompt is not None:
            prompt_bytes = _utf8(prompt, "prompt")
            opts.prompt = _address(prompt_bytes)
            opts.prompt_len = len(prompt_bytes)

        n = len(items)
        blob = b"".join(items)
        base = _address(blob)
        arr = (_lib.EmbText * max(n, 1))()
        offset = 0
        for i, item in enumerate(items):
            arr[i].data = base + offset
            arr[i].len = len(item)
            offset += len(item)

        handle = self._acquire()
        try:
            dim = self._dim
            # at least one float, so that a tokenizer-only model reaches the
            # library's EMB_ERR_NO_WEIGHTS rather than a NULL-buffer error
            if _np is not None:
                out = _np.empty((n, dim), dtype=_np.float32)
                buf = out if out.size else _np.empty(1, dtype=_np.float32)
                ptr = buf.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            else:
                buf = (ctypes.c_float * max(n * dim, 1))()
                ptr = ctypes.cast(buf, ctypes.POINTER(ctypes.c_float))
            status = self._lib.emb_encode(handle, arr, n, ctypes.byref(opts), ptr)
            if status != Status.EMB_OK:
                _check(self._lib, status)
        finally:
            self._release()
        del blob, prompt_bytes  # kept alive until here on purpose
        if _np is None:
            out = [buf[i * dim:(i + 1) * dim] for i in range(n)]
        return out[0] if single else out

    def encode_tokens(self, sequences):
        """Embed pre-tokenized sequences (emb_encode_tokens).

        sequences  a list (any iterable) of id sequences (lists, tuples or
                   NumPy arrays of ints); a single flat sequence of ints gives
                   one vector instead of a matrix

        The ids are used exactly as given: no prompt, no special tokens, no
        truncation. What tokenize(text, kind=...) returns (specials included)
        gives bitwise encode([text], kind=...). An empty sequence, an id
        outside the vocabulary or a sequence longer than max_tokens raises
        EmbError (EMB_ERR_INVALID_ARGUMENT, EMB_ERR_TOO_LONG). Returns what
        encode() returns: float32 array of shape (len(sequences), dim), or
        lists of floats without NumPy.
        """
        if _np is not None and isinstance(sequences, _np.ndarray) and sequences.ndim == 1:
            seqs, single = [sequences], True
        else:
            seqs = list(sequences)
            single = bool(seqs) and _is_int(seqs[0])
            if single:
                seqs = [seqs]
        n = len(seqs)
        arrays = [_int32_ids(s, i) for i, s in enumerate(seqs)]
        ptrs = (ctypes.POINTER(ctypes.c_int32) * max(n, 1))()
        lens = (ctypes.c_size_t * max(n, 1))()
        for i, (keep, ptr, count) in enumerate(arrays):
            ptrs[i] = ptr
            lens[i] = count
        handle = self._acquire()
        try:
            dim = self._dim
            if _np is not None:
                out = _np.empty((n, dim), dtype=_np.float32)
                buf = out if out.size else _np.empty(1, dtype=_np.float32)
                ptr = buf.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            else:
                buf = (ctypes.c_float * max(n * dim, 1))()
                ptr = ctypes.cast(buf, ctypes.POINTER(ctypes.c_float))
            status = self._lib.emb_encode_tokens(handle, ptrs, lens, n, ptr)
            if status != Status.EMB_OK:
                _check(self._lib, status)
        finally:
            self._release()
        del arrays  # the id buffers are kept alive until here on purpose
        if _np is None:
            out = [buf[i * dim:(i + 1) * dim] for i in range(n)]
        return out[0] if single else out

    # ------------------------------------------------------------ tokenize

    def tokenize(self, text, add_special=True, kind=None, truncate=False):
        """Token ids of one text (emb_tokenize), a list of ints.

        add_special  the post-processor's special tokens ([CLS] ... [SEP])
        kind         None: the text as given; "query"/"passage"/"none": first
                     build the input exactly as encode() does (prompt, strip)
        truncate     cut to max_tokens
        """
        data = _utf8(text)
        opts = self._lib.options(_lib.TokenizeOptions, "emb_tokenize_options_init")
        opts.add_special = 1 if add_special else 0
        if kind is not None:
            opts.apply_prompt = 1
            opts.kind = _kind_value(kind)
        opts.truncate = 1 if truncate else 0
        n_ids = ctypes.c_size_t(0)
        cap = len(data) + 64
        handle = self._acquire()
        try:
            while True:
                ids = (ctypes.c_int32 * cap)()
                status = self._lib.emb_tokenize(handle, _address(data), len(data),
                                                ctypes.byref(opts), ids, cap, ctypes.byref(n_ids))
                if status == Status.EMB_ERR_BUFFER_TOO_SMALL and n_ids.value > cap:
                    cap = n_ids.value  # the library reports the count it needs
                    continue
                _check(self._lib, status)
                break
        finally:
            self._release()
        return list(ids[:n_ids.value])


# ------------------------------------------------------------- functions

def _floats(v):
    if _np is not None:
        a = _np.ascontiguousarray(v, dtype=_np.float32)
        if a.ndim != 1:
            raise ValueError("cosine: expected a 1-D vector, got shape %s" % (a.shape,))
        return a, a.size, a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    a = (ctypes.c_float * len(v))(*v)
    return a, len(v), ctypes.cast(a, ctypes.POINTER(ctypes.c_float))


def cosine(a, b, library=None):
    """Cosine similarity of two vectors (emb_cosine, computed in double
    precision over the float32 values); 0.0 when either is all zeros."""
    lib = _lib.load(library)
    keep_a, na, pa = _floats(a)
    keep_b, nb, pb = _floats(b)
    if na != nb:
        raise ValueError("cosine: vectors of different lengths (%d and %d)" % (na, nb))
    out = ctypes.c_float()
    _check(lib, lib.emb_cosine(pa, pb, na, ctypes.byref(out)))
    del keep_a, keep_b
    return float(out.value)


def convert(hf_dir, out, dtype=None, tokenizer_only=False, pooling=None, normalize=None,
            template=None, prompt_query=None, prompt_passage=None, prompt_none=None,
            attention=None, append_eos=None, strip=None, library=None):
    """Convert a Hugging Face model folder into one libemb model file (emb_convert).

    dtype           None/"auto" (keep the checkpoint's), "f32", "f16", "bf16",
                    "int8" (Linear weights int8 with per-row scales; run in
                    int8 compute whatever `compute` says at open)
    tokenizer_only  write only the tokenizer
    pooling         None (from the folder), "mean", "cls", "lasttoken", "lasttoken-logits"
    normalize       None (from the folder), True or False
    template        an input template with one "{text}", e.g. "[INST] {text} [/INST]"
    prompt_query, prompt_passage, prompt_none
                    None (from the folder) or the prompt for that kind ("" = none)
    attention       None (decoders: as the reference, causal or gemma3_text's
                    use_bidirectional_attention), "causal" or "bidirectional"
    append_eos      None (as the tokenizer's post-processor does), False (drop
                    what it appends after the text), True (keep it, or append
                    the folder's eos_token)
    strip           None or False (the input as is, as sentence-transformers 5.4
                    and later), True (Python str.strip() of prompt + text, as
                    up to 5.3; refused with a template)

    Returns `out`. A failed conversion leaves no output file and raises EmbError.
    """
    lib = _lib.load(library)
    key = dtype.lower() if isinstance(dtype, str) else dtype
    if key not in _DTYPES:
        raise ValueError("dtype must be None, 'auto', 'f32', 'f16', 'bf16' or 'int8', not %r" % (dtype,))
    if attention not in (None, "causal", "bidirectional"):
        raise ValueError("attention must be None, 'causal' or 'bidirectional', not %r" % (attention,))
    opts = lib.options(_lib.ConvertOptions, "emb_convert_options_init")
    opts.dtype = _DTYPES[key]
    opts.tokenizer_only = 1 if tokenizer_only else 0
    opts.pooling = pooling.encode("utf-8") if pooling is not None else None
    if normalize is not None:
        opts.normalize = 1 if normalize else 0
    opts.template_ = _utf8(template, "template") if template is not None else None
    opts.prompt_query = _utf8(prompt_query, "prompt_query") if prompt_query is not None else None
    opts.prompt_passage = (_utf8(prompt_passage, "prompt_passage")
                           if prompt_passage is not None else None)
    opts.prompt_none = _utf8(prompt_none, "prompt_none") if prompt_none is not None else None
    if attention is not None:
        opts.attention = 1 if attention == "bidirectional" else 0
    if append_eos is not None:
        opts.append_eos = 1 if append_eos else 0
    if strip is not None:
        opts.strip = 1 if strip else 0
    _check(lib, lib.emb_convert(os.fsencode(hf_dir), os.fsencode(out), ctypes.byref(opts)))
    return out


def version(library=None):
    """The loaded library's version string (emb_version)."""
    return _lib.load(library).emb_version().decode("ascii")
