"""Model.encode_tokens (emb_encode_tokens): ids from tokenize() give encode()'s vectors, bitwise."""

import numpy as np
import pytest

import libemb
from embtest import BUILTIN

TEXTS = [
    "how do plants make food?",
    "Photosynthesis is the process by which green plants use sunlight.",
    "",
    "Ünïcödé façade naïve café 北京 🍕",
    " ".join(["a long text that the model has to cut"] * 40),
]


def first_difference(got, want):
    idx = np.argwhere(got != want)[0]
    return "first differing element %s: %r vs %r" % (tuple(idx), got[tuple(idx)], want[tuple(idx)])


@pytest.mark.parametrize("name", ["builtin", "bert-e5", "qwen3-emb"])
@pytest.mark.parametrize("kind", ["none", "query", "passage"])
def test_ids_from_tokenize_give_encode_bitwise(convert_fixture, name, kind):
    path = BUILTIN if name == "builtin" else convert_fixture(name)
    with libemb.Model(path) as m:
        ids = [m.tokenize(t, kind=kind, truncate=True) for t in TEXTS]
        got = m.encode_tokens(ids)
        want = m.encode(TEXTS, kind=kind)
        assert got.dtype == np.float32 and got.shape == want.shape
        assert got.tobytes() == want.tobytes(), first_difference(got, want)
        # numpy arrays and tuples work as sequences; one flat sequence gives one vector
        assert m.encode_tokens([np.asarray(ids[0], dtype=np.int64), tuple(ids[1])]).tobytes() == want[:2].tobytes()
        one = m.encode_tokens(ids[1])
        assert one.shape == (m.dim,) and one.tobytes() == want[1].tobytes()


def test_prompt_is_not_added(convert_fixture):
    # bert-e5 has "query: " as its query prompt: the ids are used as given
    with libemb.Model(convert_fixture("bert-e5")) as m:
        plain = m.tokenize("how do plants make food?")
        assert m.tokenize("how do plants make food?", kind="query") != plain
        assert m.encode_tokens([plain]).tobytes() == m.encode(["how do plants make food?"], prompt="").tobytes()
        assert m.encode_tokens([plain]).tobytes() != m.encode(["how do plants make food?"], kind="query").tobytes()


def test_errors():
    with libemb.Model(BUILTIN) as m:
        vocab = int(m.metadata["vocab_size"])
        ok = m.tokenize("plants")
        cases = [
            ([ok, []], libemb.Status.EMB_ERR_INVALID_ARGUMENT, "empty"),
            ([ok + [vocab + 5]], libemb.Status.EMB_ERR_INVALID_ARGUMENT, "vocabulary"),
            ([[-1] + ok], libemb.Status.EMB_ERR_INVALID_ARGUMENT, "vocabulary"),
            ([[1 << 40]], libemb.Status.EMB_ERR_INVALID_ARGUMENT, "vocabulary"),
            ([m.tokenize(TEXTS[-1])], libemb.Status.EMB_ERR_TOO_LONG, "tokens"),
        ]
        for seqs, status, word in cases:
            with pytest.raises(libemb.EmbError) as e:
                m.encode_tokens(seqs)
            assert e.value.status == status and word in e.value.message, (seqs, e.value)
        assert len(m.tokenize(TEXTS[-1])) > m.max_tokens
        for bad in (["101 102"], [[1.5]], [[True]], 7):
            with pytest.raises(TypeError):
                m.encode_tokens(bad)
        assert m.encode_tokens([]).shape == (0, m.dim)
    with pytest.raises(libemb.EmbError) as e:
        m.encode_tokens([ok])
    assert "closed" in e.value.message
