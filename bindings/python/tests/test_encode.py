"""Vectors from the binding are the C API's, bitwise, and meet the goldens."""

import os

import numpy as np
import pytest

import libemb
import libemb.model
from embtest import DEFAULT, cli_embed_f32, load_cases, run_cli

TEXTS = [
    "how do plants make food?",
    "Photosynthesis is the process by which green plants use sunlight.",
    "",
    "   \t\n  ",
    "before\x00after",
    "Ünïcödé façade naïve café 北京 🍕",
    "line one\nline two",
]


def worst(got, want):
    diff = np.abs(np.asarray(got, dtype=np.float64) - np.asarray(want, dtype=np.float64))
    i = int(np.argmax(diff))
    return float(diff.flat[i]), i


@pytest.mark.parametrize("kind", [None, "query", "passage"])
def test_default_model_bitwise_equal_to_cli(kind):
    # the real model or the demo, whichever is the default here
    with libemb.Model() as m:
        assert os.path.samefile(m.path, DEFAULT) or "EMB_MODEL" in os.environ
        got = m.encode(TEXTS, kind=kind)
        dim = m.dim
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), dim)
    want = cli_embed_f32(m.path, TEXTS, kind=kind or "none")
    assert len(want) == got.nbytes
    if got.tobytes() != want:
        w = np.frombuffer(want, dtype=np.float32).reshape(got.shape)
        idx = np.argwhere(got != w)[0]
        pytest.fail("first differing element %s: binding %r, CLI %r" % (tuple(idx), got[tuple(idx)], w[tuple(idx)]))


def test_prompt_override_bitwise_equal_to_cli(bert_e5):
    with libemb.Model(bert_e5) as m:
        got = m.encode(TEXTS, prompt="Represent this: ")
        assert got.tobytes() == cli_embed_f32(bert_e5, TEXTS, prompt="Represent this: ")
        # the model's query prompt given by hand is the query kind
        assert m.encode(TEXTS, prompt="query: ").tobytes() == m.encode(TEXTS, kind="query").tobytes()
        # an empty prompt replaces the model's prompt by nothing
        assert m.encode(TEXTS, kind="query", prompt="").tobytes() == m.encode(TEXTS, kind="none").tobytes()


@pytest.mark.parametrize("name", ["bert-e5", "bert-e5-f16", "bge-cls", "xlmr-me5", "mistral-e5",
                                  "qwen2-gte", "qwen3-emb", "qwen3-emb-bf16", "mistral-lm"])
def test_goldens(convert_fixture, name):
    path = convert_fixture(name)
    cases = load_cases(name)
    with libemb.Model(path) as m:
        for kind in sorted({c["kind"] for c in cases}):
            group = [c for c in cases if c["kind"] == kind]
            got = m.encode([c["text"] for c in group], kind=kind)
            for c, v in zip(group, got):
                err, i = worst(v, c["vector"])
                assert err <= 1e-4, "%s %r (%s): worst |diff| %.3g at index %d (got %r, want %r)" % (
                    name, c["text"][:40], kind, err, i, float(v[i]), c["vector"][i])
                assert m.tokenize(c["text"], kind=kind, truncate=True) == c["ids"], "%s %r ids" % (name, c["text"][:40])
            # and bitwise what the C CLI gives for the same file
            assert got.tobytes() == cli_embed_f32(path, [c["text"] for c in group], kind=kind)


def test_nul_is_part_of_the_text(bert_e5):
    with libemb.Model(bert_e5) as m:
        a, b, c = m.encode(["before\x00after", "before", b"before\x00after"])
    assert a.tobytes() != b.tobytes()
    assert a.tobytes() == c.tobytes()  # bytes are used as UTF-8 as given


def test_batch_equals_single_and_single_text_gives_a_vector(bert_e5):
    with libemb.Model(bert_e5) as m:
        batch = m.encode(TEXTS, kind="passage")
        for i, t in enumerate(TEXTS):
            one = m.encode(t, kind="passage")
            assert one.shape == (m.dim,)
            assert one.tobytes() == batch[i].tobytes(), "text %d differs alone and in a batch" % i
        assert m.encode(x for x in TEXTS[:2]).shape == (2, m.dim)  # any iterable
        empty = m.encode([])
        assert empty.shape == (0, m.dim) and empty.dtype == np.float32


def test_lists_without_numpy(bert_e5, monkeypatch):
    with libemb.Model(bert_e5) as m:
        arr = m.encode(TEXTS, kind="query")
        monkeypatch.setattr(libemb.model, "_np", None)
        rows = m.encode(TEXTS, kind="query")
        one = m.encode(TEXTS[0], kind="query")
        cos = libemb.cosine(rows[0], rows[1])
    assert isinstance(rows, list) and all(isinstance(r, list) for r in rows)
    assert all(isinstance(x, float) for x in rows[0])
    assert np.asarray(rows, dtype=np.float32).tobytes() == arr.tobytes()
    assert one == rows[0]
    monkeypatch.undo()
    assert cos == libemb.cosine(arr[0], arr[1])


def test_truncation(bert_e5):
    long_text = "word " * 500
    with libemb.Model(bert_e5) as m:
        assert m.max_tokens == 64
        ids = m.tokenize(long_text)
        assert len(ids) > 64
        cut = m.tokenize(long_text, truncate=True)
        assert len(cut) == 64 and cut[0] == ids[0] and cut[-1] == ids[-1]  # [CLS] ... [SEP] kept
        v = m.encode([long_text])
        assert np.all(np.isfinite(v))
        with pytest.raises(libemb.EmbError) as e:
            m.encode([long_text], truncate=False)
        assert e.value.status == libemb.Status.EMB_ERR_TOO_LONG


def test_tokenize_options(bert_e5):
    with libemb.Model(bert_e5) as m:
        with_specials = m.tokenize("hello world")
        without = m.tokenize("hello world", add_special=False)
        assert with_specials[1:-1] == without and len(with_specials) == len(without) + 2
        query = m.tokenize("hello world", kind="query")
        assert query[-len(without) - 1:-1] == without and len(query) > len(with_specials)
        # a text long enough to need the second call with the reported size
        long_ids = m.tokenize("a " * 3000)
        assert len(long_ids) == 3002


def test_cosine():
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    b = np.array([-2.0, 0.5, 4.0], dtype=np.float32)
    want = float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))
    assert abs(libemb.cosine(a, b) - want) < 1e-6
    assert abs(libemb.cosine([1.0, 2.0, 3.0], [-2.0, 0.5, 4.0]) - want) < 1e-6
    assert libemb.cosine(a, np.zeros(3)) == 0.0
    assert abs(libemb.cosine(a, a) - 1.0) < 1e-6
    with pytest.raises(ValueError):
        libemb.cosine(a, np.zeros(4))


def test_similarity_matches_cli():
    out = run_cli(["similarity", "--kind", "query", "a cat", "a kitten"]).decode().strip()
    with libemb.Model() as m:
        v = m.encode(["a cat", "a kitten"], kind="query")
    assert "%.6f" % libemb.cosine(v[0], v[1]) == out


def test_properties_and_metadata(bert_e5):
    with libemb.Model(bert_e5, threads=1) as m:
        meta = m.metadata
        assert m.dim == 32 and meta["dim"] == "32"
        assert meta["architecture"] == "bert"
        assert meta["pooling"] == "mean" and meta["normalize"] == "true"
        assert meta["prompt.query"] == "query: " and meta["prompt.passage"] == "passage: "
        assert meta["max_tokens"] == str(m.max_tokens)
        meta["dim"] = "changed"
        assert m.metadata["dim"] == "32"  # a copy
        assert repr(m).startswith("<libemb.Model")
    assert libemb.version() == libemb.__version__ or libemb.version().startswith("1.")


def test_example_search_matches_cli():
    import subprocess
    import sys
    from embtest import ROOT
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    try:
        import python_search
    finally:
        sys.path.pop(0)
    q = "How do plants make food?"
    with libemb.Model() as m:
        got = python_search.search(m, q, python_search.PASSAGES, top=3)
    cli = run_cli(["search", "--top", "3", q], ("\n".join(python_search.PASSAGES) + "\n").encode())
    want = [line.split("\t", 1) for line in cli.decode().splitlines()]
    assert [p for _, p in got] == [p for _, p in want]
    assert ["%.4f" % s for s, _ in got] == [s for s, _ in want]
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python_search.py"), q],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python")))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1] == "%.4f\t%s" % got[0]
