"""libemb for Python: text embeddings on the CPU, the same vectors as the C API.

    import libemb
    with libemb.Model() as m:                      # the default model
        q = m.encode(["how do plants make food?"], kind="query")
        p = m.encode(["Photosynthesis turns light into sugar."], kind="passage")
        print(libemb.cosine(q[0], p[0]))

Pure ctypes over libemb.so.1 (include/emb.h); see docs/python.md.
"""

from ._lib import LibraryNotFoundError
from .errors import DemoModelWarning, EmbError, Status
from .model import Model, convert, cosine, version
from .evaluation import compare, evaluate

__version__ = "1.0.0"
__all__ = ["Model", "EmbError", "Status", "LibraryNotFoundError", "DemoModelWarning", "convert",
           "cosine", "version", "compare", "evaluate", "__version__"]
