"""Finding and loading libemb.so.1 with ctypes, and the C declarations.

Only include/emb.h is used. Every function is loaded from a ctypes.CDLL, so
the GIL is released for the duration of each call: threads that encode on
one shared model run in parallel.
"""

import ctypes
import ctypes.util
import os
import threading

# the source tree: bindings/python/libemb/_lib.py -> ../../..
_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.normpath(os.path.join(_PKG_DIR, "..", "..", ".."))
SONAME = "libemb.so.1"


class LibraryNotFoundError(OSError):
    """libemb.so.1 could not be found or loaded (the message lists where it was looked for)."""


# ------------------------------------------------------------ C declarations

class EmbText(ctypes.Structure):
    # data is a plain address so that many texts can point into one buffer
    _fields_ = [("data", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class OpenOptions(ctypes.Structure):
    # emb_open_options; `compute` is an emb_compute (a C enum: int-sized)
    _fields_ = [("struct_size", ctypes.c_size_t),
                ("n_threads", ctypes.c_int),
                ("compute", ctypes.c_int)]


class EncodeOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t),
                ("kind", ctypes.c_int),
                ("prompt", ctypes.c_void_p),
                ("prompt_len", ctypes.c_size_t),
                ("truncate", ctypes.c_int)]


class TokenizeOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t),
                ("add_special", ctypes.c_int),
                ("apply_prompt", ctypes.c_int),
                ("kind", ctypes.c_int),
                ("truncate", ctypes.c_int)]


class ConvertOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t),
                ("dtype", ctypes.c_int),
                ("tokenizer_only", ctypes.c_int),
                ("pooling", ctypes.c_char_p),
                ("normalize", ctypes.c_int),
                ("template_", ctypes.c_char_p),
                ("prompt_query", ctypes.c_char_p),
                ("prompt_passage", ctypes.c_char_p),
                ("prompt_none", ctypes.c_char_p),
                ("attention", ctypes.c_int),
                ("append_eos", ctypes.c_int),
                ("calibration", ctypes.c_char_p),
                ("strip", ctypes.c_int)]


_P = ctypes.POINTER
_c_model_p = ctypes.c_void_p

# name: (restype, argtypes)
_PROTOTYPES = {
    "emb_version": (ctypes.c_char_p, []),
    "emb_status_string": (ctypes.c_char_p, [ctypes.c_int]),
    "emb_last_error": (ctypes.c_char_p, []),
    "emb_open_options_init_size": (None, [ctypes.c_void_p, ctypes.c_size_t]),
    "emb_encode_options_init_size": (None, [ctypes.c_void_p, ctypes.c_size_t]),
    "emb_tokenize_options_init_size": (None, [ctypes.c_void_p, ctypes.c_size_t]),
    "emb_convert_options_init_size": (None, [ctypes.c_void_p, ctypes.c_size_t]),
    "emb_model_open": (ctypes.c_int, [ctypes.c_char_p, _P(OpenOptions), _P(_c_model_p)]),
    "emb_model_close": (None, [_c_model_p]),
    "emb_model_dim": (ctypes.c_size_t, [_c_model_p]),
    "emb_model_max_tokens": (ctypes.c_size_t, [_c_model_p]),
    "emb_model_meta": (ctypes.c_char_p, [_c_model_p, ctypes.c_char_p]),
    "emb_model_meta_count": (ctypes.c_size_t, [_c_model_p]),
    "emb_model_meta_key": (ctypes.c_char_p, [_c_model_p, ctypes.c_size_t]),
    "emb_encode": (ctypes.c_int, [_c_model_p, _P(EmbText), ctypes.c_size_t,
                                  _P(EncodeOptions), _P(ctypes.c_float)]),
    "emb_encode_tokens": (ctypes.c_int, [_c_model_p, _P(_P(ctypes.c_int32)), _P(ctypes.c_size_t),
                                         ctypes.c_size_t, _P(ctypes.c_float)]),
    "emb_cosine": (ctypes.c_int, [_P(ctypes.c_float), _P(ctypes.c_float), ctypes.c_size_t,
                                  _P(ctypes.c_float)]),
    "emb_tokenize": (ctypes.c_int, [_c_model_p, ctypes.c_void_p, ctypes.c_size_t,
                                    _P(TokenizeOptions), _P(ctypes.c_int32), ctypes.c_size_t,
                                    _P(ctypes.c_size_t)]),
    "emb_convert": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_char_p, _P(ConvertOptions)]),
}


class Library:
    """One loaded libemb with its functions declared; `path` is the file it came from."""

    def __init__(self, cdll, path):
        self.cdll = cdll
        self.path = path
        for name, (restype, argtypes) in _PROTOTYPES.items():
            fn = getattr(cdll, name)
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)

    def options(self, cls, init_name):
        """An option struct filled with the library's defaults by its
        *_init_size(), told this binding's struct size: the library writes
        only that many bytes and keeps its own defaults for any fields beyond
        them (docs/api.md)."""
        opts = cls()
        getattr(self, init_name + "_size")(ctypes.byref(opts), ctypes.sizeof(cls))
        return opts

    def last_error(self):
        msg = self.emb_last_error()
        return msg.decode("utf-8", "replace") if msg else ""

    def status_string(self, status):
        return self.emb_status_string(int(status)).decode("utf-8", "replace")


# ------------------------------------------------------------------ loading

def _loaded_path(cdll):
    """The file a loaded library came from (dladdr on one of its symbols), or None."""

    class DlInfo(ctypes.Structure):
        _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                    ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]

    try:
        libc = ctypes.CDLL(None)
        dladdr = libc.dladdr
    except (OSError, AttributeError):
        try:
            dladdr = ctypes.CDLL("libdl.so.2").dladdr
        except (OSError, AttributeError):
            return None
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(DlInfo)]
    dladdr.restype = ctypes.c_int
    info = DlInfo()
    addr = ctypes.cast(cdll.emb_version, ctypes.c_void_p).value
    if not dladdr(addr, ctypes.byref(info)) or not info.dli_fname:
        return None
    return os.path.abspath(os.fsdecode(info.dli_fname))


def candidates(library=None):
    """The library lookup order, as (where, path-or-name) pairs."""
    if library is not None:
        return [("library= argument", os.fspath(library))]
    env = os.environ.get("EMB_LIBRARY")
    if env:
        return [("EMB_LIBRARY", env)]
    out = []
    out.append(("source tree", os.path.join(SOURCE_ROOT, "lib", SONAME)))
    found = ctypes.util.find_library("emb")
    if found:
        out.append(("system (find_library)", found))
    out.append(("system loader", SONAME))
    return out


_cache = {}
_cache_lock = threading.Lock()


def load(library=None):
    """Load libemb following the lookup order: `library` (a path), $EMB_LIBRARY,
    the source tree's lib/libemb.so.1, then the system loader. Cached per path."""
    tried = []
    for where, name in candidates(library):
        if os.sep in name:
            name = os.path.abspath(name)
            if not os.path.exists(name):
                tried.append("%s: %s (no such file)" % (where, name))
                continue
        with _cache_lock:
            lib = _cache.get(name)
            if lib is not None:
                return lib
            try:
                cdll = ctypes.CDLL(name)
            except OSError as e:
                tried.append("%s: %s (%s)" % (where, name, e))
                continue
            try:
                path = _loaded_path(cdll) or name
                lib = Library(cdll, path)
            except AttributeError as e:
                tried.append("%s: %s (not libemb: %s)" % (where, name, e))
                continue
            _cache[name] = lib
            return lib
    raise LibraryNotFoundError("libemb: cannot load %s; tried: %s" % (SONAME, "; ".join(tried)))


# The default model files, best first: the real model that `make models`
# fetches, then the demo model that `make` always builds (the last entry).
# Each is looked for in every directory of default_model_dirs() before the
# next name is tried, so a real model anywhere beats the demo (as the CLI).
DEFAULT_MODELS = ("all-MiniLM-L6-v2.h5", "wordnet-mini.h5")


def default_model_dirs(lib, source_root=None):
    """Where the default models are looked for: <prefix>/share/emb next to the
    loaded library (<prefix>/lib/libemb.so.1), then the source tree's models/
    (`source_root`, default SOURCE_ROOT)."""
    dirs = []
    if lib.path and os.sep in lib.path:
        dirs.append(os.path.normpath(os.path.join(os.path.dirname(lib.path), "..", "share", "emb")))
    dirs.append(os.path.join(source_root or SOURCE_ROOT, "models"))
    return dirs


def default_model_path(lib, source_root=None):
    """Where Model(path=None) looks: $EMB_MODEL, then each of DEFAULT_MODELS
    in each of default_model_dirs(). Returns (path, why): why is None when
    path is $EMB_MODEL or the real model; when path is the demo model, or
    None (nothing found), why says which files were not found where."""
    env = os.environ.get("EMB_MODEL")
    if env:
        return env, None
    dirs = default_model_dirs(lib, source_root)
    for i, name in enumerate(DEFAULT_MODELS):
        for d in dirs:
            path = os.path.join(d, name)
            if os.path.exists(path):
                return path, (_not_in(DEFAULT_MODELS[:i], dirs) if i else None)
    return None, _not_in(DEFAULT_MODELS, dirs)


def _not_in(names, dirs):
    return "%s not in %s" % (" or ".join(names), ", ".join(dirs))
