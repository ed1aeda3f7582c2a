"""convert(dtype="int8"): encoder files whose Linear weights are int8 (format
1.2) give vectors within cosine 0.999 of the f32 file's, the same bits in any
batch and through `emb embed`; a decoder is refused with EMB_ERR_UNSUPPORTED
and leaves no file; an unknown dtype is a ValueError."""

import json
import os

import numpy as np
import pytest

import libemb
from embtest import FIXTURES, run_cli

TEXTS = ["first text", "how do plants make food?",
         "the quick brown fox jumps over the lazy dog " * 12,  # truncated
         "naïve café über", "日本語のテキスト", "x"]


def cosines(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.parametrize("name", ["bert-e5", "bge-cls", "xlmr-me5"])
def test_int8_encoders_close_to_f32(tmp_path, name):
    folder = os.path.join(FIXTURES, name)
    f32 = libemb.convert(folder, str(tmp_path / "f32.h5"))
    i8 = libemb.convert(folder, str(tmp_path / "int8.h5"), dtype="INT8")
    assert os.path.getsize(i8) < os.path.getsize(f32)
    with libemb.Model(f32) as m:
        want = m.encode(TEXTS, kind="query")
    with libemb.Model(i8) as m:
        assert m.metadata["weights_dtype"] == "int8"
        assert m.metadata["format_version"] == "1.2"
        got = m.encode(TEXTS, kind="query")
        alone = np.vstack([m.encode([t], kind="query") for t in TEXTS])
    cos = cosines(got, want)
    worst = int(np.argmin(cos))
    assert cos[worst] >= 0.999, "%s: text %d %r: cosine int8 vs f32 %.6f" % (
        name, worst, TEXTS[worst][:40], cos[worst])
    assert not np.array_equal(got, want)  # it is another computation
    assert got.tobytes() == alone.tobytes()
    stdin = "".join(json.dumps(t) + "\n" for t in TEXTS).encode()
    cli = np.frombuffer(run_cli(["embed", "-m", i8, "--jsonl", "--format", "f32",
                                 "--kind", "query"], stdin), dtype="<f4")
    diff = np.flatnonzero(cli.view(np.uint32) != got.reshape(-1).view(np.uint32))
    assert diff.size == 0, "first difference at %d: cli %r, binding %r" % (
        diff[0], cli[diff[0]], got.reshape(-1)[diff[0]])


def test_int8_decoder_refused(tmp_path):
    out = tmp_path / "q3-int8.h5"
    with pytest.raises(libemb.EmbError) as e:
        libemb.convert(os.path.join(FIXTURES, "qwen3-emb"), str(out), dtype="int8")
    assert e.value.status == libemb.Status.EMB_ERR_UNSUPPORTED
    assert "--dtype int8 is for encoders" in e.value.message
    assert not out.exists()
    with pytest.raises(ValueError, match="'int8'"):
        libemb.convert(os.path.join(FIXTURES, "bert-e5"), str(out), dtype="int4")
