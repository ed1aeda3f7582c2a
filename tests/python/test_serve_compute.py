"""`emb serve --compute bf16` (docs/server.md): the server's model opened with
EMB_COMPUTE_BF16 answers with the vectors `emb embed --compute bf16` gives
(bitwise), within cosine 0.999 of the f32 ones; on a CPU without AVX512_BF16
it does not start (status 1, EMB_ERR_UNSUPPORTED). Nothing is skipped: each
test asserts what applies to this CPU. Helpers from test_serve.py.
"""
import base64
import subprocess

import numpy as np
import pytest

from test_serve import (EMB, FIXTURE, TIMEOUT, WORDS, Server, assert_bitwise, jsonl, ref_token_ids,
                        ref_vectors, run, vectors)

TEXTS = ["how do plants make food?", "naïve café über", "", " ".join(WORDS * 20), "a\u0000b",
         "Second TEXT, with punctuation!"]


def cpu_has_avx512_bf16():
    """What the kernel reports (/proc/cpuinfo flags), independent of libemb's cpuid check."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return "avx512_bf16" in line.split(":", 1)[1].split()
    except OSError:
        pass
    return False


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    out = tmp_path_factory.mktemp("serve-compute") / "bert-e5.h5"
    run(["convert", str(FIXTURE), str(out)])
    return str(out)


def bf16_ref(model, texts, kind=None):
    """`emb embed --compute bf16 --format f32`, [n, dim] float32."""
    args = ["embed", "-m", model, "--jsonl", "--format", "f32", "--compute", "bf16"]
    if kind:
        args += ["--kind", kind]
    return np.frombuffer(run(args, jsonl(texts)), dtype="<f4").reshape(len(texts), -1)


def cosines(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_bf16_server(model, tmp_path):
    if not cpu_has_avx512_bf16():
        p = subprocess.run([str(EMB), "serve", "-m", model, "--port", "0", "--compute", "bf16"],
                           capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        assert p.returncode == 1 and p.stdout == b"", p.stderr
        assert b"EMB_ERR_UNSUPPORTED" in p.stderr and b"AVX512_BF16" in p.stderr
        return
    s = Server(model, "--compute", "bf16", tmp=tmp_path)
    try:
        f32 = ref_vectors(model, TEXTS, kind="query")
        want = bf16_ref(model, TEXTS, kind="query")
        got = vectors(s.embed({"input": TEXTS, "kind": "query"}))
        assert_bitwise(got, want, "bf16 server vs emb embed --compute bf16")
        assert got.tobytes() != f32.tobytes(), "--compute bf16 gave the f32 vectors: not applied"
        cos = cosines(got, f32)
        worst = int(np.argmin(cos))
        assert cos[worst] >= 0.999, f"text {worst} {TEXTS[worst][:40]!r}: cosine bf16 vs f32 {cos[worst]:.6f}"
        # one text per request, base64: the same bits (a vector does not depend on its batch)
        for i, t in enumerate(TEXTS):
            resp = s.embed({"input": t, "kind": "query", "encoding_format": "base64"})
            one = np.frombuffer(base64.b64decode(resp["data"][0]["embedding"]), dtype="<f4")
            assert_bitwise(one[None], want[i:i + 1], f"text {i} alone")
        # token-id input runs through the same bf16 model
        ids = ref_token_ids(model, TEXTS, "query")
        assert_bitwise(vectors(s.embed({"input": ids})), want, "token ids on the bf16 server")
    finally:
        code = s.stop()
    assert code == 0, f"exit status {code}; stderr: {s.stderr()}"


def test_bad_compute_is_usage_error(model):
    p = subprocess.run([str(EMB), "serve", "-m", model, "--port", "0", "--compute", "fp8"],
                       capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert p.returncode == 2 and p.stdout == b""
    assert b"--compute must be f32 or bf16 (got 'fp8')" in p.stderr
