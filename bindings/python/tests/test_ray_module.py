"""libemb.ray without Ray (Debian's Python has none): it imports, an Embedder
works on a batch called directly, pickles as a path, sizes its threads from the
affinity mask; nothing else in the binding imports Ray. The Ray cluster tests
are bindings/python/tests-ray (run with build/venv-ray's python)."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import libemb
import libemb.ray
from embtest import ROOT, SCALE_IDS, SCALE_TEXTS, reference_vectors

PYTHONPATH = os.path.join(ROOT, "bindings", "python")


def run_python(code):
    env = dict(os.environ, PYTHONPATH=PYTHONPATH)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_imports_without_ray_and_the_binding_never_imports_it():
    out = run_python("import sys, libemb, libemb.model, libemb.evaluation\n"
                     "print('ray' in sys.modules)\n"
                     "import libemb.ray\n"
                     "print('ray' in sys.modules)\n")
    assert out.split() == ["False", "False"]


def test_embedder_called_on_a_numpy_batch_equals_emb_embed(bert_e5):
    want = reference_vectors(bert_e5, SCALE_TEXTS, kind="passage")
    e = libemb.ray.Embedder(bert_e5, kind="passage", threads=1)
    batch = {"id": np.array(SCALE_IDS, dtype=object), "text": np.array(SCALE_TEXTS, dtype=object)}
    out = e(batch)
    assert list(out) == ["id", "text", "embedding"]
    assert out["id"] is batch["id"]
    got = out["embedding"]
    assert got.dtype == np.float32 and got.shape == want.shape
    worst = np.abs(got - want).max()
    assert got.tobytes() == want.tobytes(), "worst element differs by %g" % worst
    e.close()


def test_numpy_unicode_array_and_bytes_texts(bert_e5):
    want = reference_vectors(bert_e5, SCALE_TEXTS[:5], kind="query")
    e = libemb.ray.Embedder(bert_e5, kind="query", text_column="body", out_column="v")
    got = e({"body": np.array(SCALE_TEXTS[:5])})["v"]          # dtype '<U..'
    assert got.tobytes() == want.tobytes()
    got = e({"body": [t.encode() for t in SCALE_TEXTS[:5]]})["v"]
    assert got.tobytes() == want.tobytes()
    assert e({"body": np.array([], dtype=object)})["v"].shape == (0, e.dim)


def test_pickles_as_a_path_and_opens_again_where_it_lands(bert_e5):
    e = libemb.ray.Embedder(bert_e5, kind="passage", threads=1)
    assert e.opened == 1 and e.threads == 1
    blob = pickle.dumps(e)
    assert b"c_void_p" not in blob and len(blob) < 1000
    copy = pickle.loads(blob)
    assert copy._model is None and copy.opened == 0 and copy.model_path == bert_e5
    out = copy({"text": np.array(SCALE_TEXTS, dtype=object)})["embedding"]
    assert copy.opened == 1
    assert out.tobytes() == e({"text": SCALE_TEXTS})["embedding"].tobytes()
    copy({"text": ["again"]})
    assert copy.opened == 1, "the model is opened once per process"


def test_threads_default_to_the_affinity_mask_outside_ray(bert_e5):
    assert libemb.ray.worker_cpus() == len(os.sched_getaffinity(0))
    assert libemb.ray.Embedder(bert_e5).threads == len(os.sched_getaffinity(0))
    out = run_python("import os, libemb.ray\n"
                     "os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})\n"
                     "print(libemb.ray.worker_cpus(), libemb.ray.Embedder(%r).threads)\n" % bert_e5)
    assert out.split() == ["1", "1"]
    assert libemb.ray.Embedder(bert_e5, threads=3).threads == 3


def test_bad_arguments_and_batches(bert_e5):
    with pytest.raises(TypeError, match="handle cannot cross processes"):
        libemb.ray.Embedder(libemb.Model(bert_e5))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads must be None or an int >= 1"):
            libemb.ray.Embedder(bert_e5, threads=bad)
    with pytest.raises(libemb.EmbError):
        libemb.ray.Embedder(os.path.join(ROOT, "no-such-model.h5"))
    with pytest.raises(ValueError, match="kind must be"):
        libemb.ray.Embedder(bert_e5, kind="document")
    e = libemb.ray.Embedder(bert_e5)
    with pytest.raises(KeyError, match=r"no column 'text' in the batch \(columns: id, body\)"):
        e({"id": np.arange(2), "body": np.array(["a", "b"])})
    with pytest.raises(TypeError, match="column 'text' row 1: a text must be str or bytes, not NoneType"):
        e({"text": np.array(["a", None], dtype=object)})
    with pytest.raises(TypeError, match="a batch must be a dict of arrays, a pyarrow.Table or a "
                                        "pandas.DataFrame, not list"):
        e([{"text": "a"}])
