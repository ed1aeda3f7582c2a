"""libemb.compare / libemb.evaluate: the CLI's `--json` numbers, from Python.

The vectors are bitwise the CLI's, and the Python cosines bitwise
emb_cosine's, so every metric must equal the CLI's JSON (to 1e-9: the JSON
carries 6 decimals and compare/evaluate round as it does; unrounded values
within half a unit of the 6th decimal). Plus hand-worked cases for the
definitions of docs/evaluate.md.
"""

import json
import math
import os
import warnings

import numpy as np
import pytest

import libemb
import libemb.evaluation as ev
import libemb.model
from embtest import BUILTIN, ROOT, run_cli

PAIRS = os.path.join(ROOT, "examples", "pairs.tsv")
BEIR = os.path.join(ROOT, "examples", "beir-mini")
THROUGHPUT = {"encode_seconds", "texts_per_second", "tokens_per_second"}


@pytest.fixture(scope="module")
def cls_model(models_dir):
    """The built-in model converted with CLS pooling: near-identical vectors, many close scores."""
    out = str(models_dir / "wordnet-mini-cls.h5")
    if not os.path.exists(out):
        libemb.convert(os.path.join(ROOT, "models", "wordnet-mini"), out, pooling="cls")
    return out


@pytest.fixture(params=["numpy", "plain"])
def mode(request, monkeypatch):
    """Run a test with NumPy and again with the plain-Python code path."""
    if request.param == "plain":
        monkeypatch.setattr(ev, "_np", None)
        monkeypatch.setattr(libemb.model, "_np", None)  # encode() returns lists of floats
    return request.param


def assert_same(got, want, what, unrounded=False):
    assert set(got) == set(want), "%s: keys %s vs the CLI's %s" % (what, sorted(got), sorted(want))
    tol = 5e-7 + 1e-12 if unrounded else 1e-9
    for key, w in want.items():
        if key in THROUGHPUT:
            assert isinstance(got[key], float) and got[key] >= 0, (what, key, got[key])
        elif isinstance(w, float):
            assert abs(got[key] - w) <= tol, "%s: %s = %r, CLI %r" % (what, key, got[key], w)
        else:
            assert got[key] == w, "%s: %s = %r, CLI %r" % (what, key, got[key], w)


# ------------------------------------------------------------------ compare

def test_compare_equals_cli(cls_model, mode):
    want = json.loads(run_cli(["compare", "-m", BUILTIN, "-m", cls_model, "--pairs", PAIRS, "--json"]))
    got = libemb.compare([BUILTIN, cls_model], PAIRS)
    assert list(got) == list(want) and got["pairs_file"] == PAIRS and got["pairs"] == 30
    assert len(got["models"]) == 2
    for g, w in zip(got["models"], want["models"]):
        assert list(g) == list(w)  # the same keys in the same order
        assert_same(g, w, "compare %s (%s)" % (w["model"], mode))
    # the CLS model ties and misorders some answers: the ranking metrics are not trivially 1
    assert want["models"][1]["mrr"] < 1 and want["models"][1]["accuracy_at_1"] < 1
    raw = libemb.compare([BUILTIN, cls_model], PAIRS, digits=None)
    for g, w in zip(raw["models"], want["models"]):
        assert_same(g, w, "compare unrounded %s (%s)" % (w["model"], mode), unrounded=True)


def test_compare_in_memory_and_model_objects(cls_model):
    with open(PAIRS, encoding="utf-8") as f:
        pairs = [tuple(line.rstrip("\n").split("\t")) for line in f]
    from_file = libemb.compare(cls_model, PAIRS, digits=None)
    with libemb.Model(cls_model) as m:
        in_memory = libemb.compare([m], pairs, batch=7, digits=None)
        assert not m.closed  # a Model passed in stays open
    assert in_memory["pairs_file"] is None and in_memory["pairs"] == 30
    for key, value in from_file["models"][0].items():
        if key not in THROUGHPUT:
            assert in_memory["models"][0][key] == value, key  # bitwise the same numbers


def test_python_cosines_are_emb_cosine_bitwise(cls_model, mode):
    with libemb.Model(cls_model) as m:
        q = m.encode(["how do plants make food", "what is a volcano", ""], kind="query")
        d = m.encode(["Green plants make sugar.", "Lava and ash.", "a b c", ""], kind="passage")
    got = ev._tolist(ev._cosine_rows(q, d))
    assert isinstance(q, list) == (mode == "plain")
    want = [[libemb.cosine(a, b) for b in d] for a in q]
    assert got == want


def test_compare_duplicate_answers_warn_and_count_as_misses(tmp_path):
    path = tmp_path / "dup.tsv"
    path.write_text("what is a violin\tA string instrument.\nwhat is a cello\tA string instrument.\n"
                    "what is bread\tBaked flour and water.\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="lines 1 and 2 have the same answer"):
        got = libemb.compare(BUILTIN, str(path), digits=None)["models"][0]
    # questions 1 and 2 tie with the other's identical answer: rank 2 each
    assert got["accuracy_at_1"] <= 1 / 3 + 1e-15
    assert got["mrr"] <= (0.5 + 0.5 + 1) / 3 + 1e-15
    want = json.loads(run_cli(["compare", "-m", BUILTIN, "--pairs", str(path), "--json"]))
    with pytest.warns(UserWarning):
        assert_same(libemb.compare(BUILTIN, str(path))["models"][0], want["models"][0], "duplicates")


@pytest.mark.parametrize("content,why", [
    ("a\tb\n\nc\td\n", ":2: blank line"),
    ("a\tb\nno tab here\n", ":2: no TAB"),
    ("a\tb\tc\nd\te\n", ":1: more than one TAB"),
    ("\tb\nc\td\n", ":1: empty question"),
    ("a\t\nc\td\n", ":1: empty answer"),
    ("a\x00x\tb\nc\td\n", ":1: contains a NUL byte"),
    ("a\tb\n", "need at least 2 pairs (found 1)"),
])
def test_compare_bad_pairs_file(tmp_path, content, why):
    path = tmp_path / "bad.tsv"
    path.write_bytes(content.encode())
    with pytest.raises(ValueError, match=why.replace("(", r"\(").replace(")", r"\)")):
        libemb.compare(BUILTIN, str(path))


def test_pair_metrics_by_hand():
    # rows: questions, columns: answers
    S = [[0.9, 0.9, 0.1],   # a tie with answer 2: rank 2 (pessimistic)
         [0.2, 0.8, 0.3],   # own answer strictly first: rank 1
         [0.7, 0.6, 0.5]]   # two answers ahead: rank 3
    got = ev._pair_metrics(S)
    assert got["mean_cos_relevant"] == pytest.approx((0.9 + 0.8 + 0.5) / 3, abs=1e-15)
    assert got["mean_cos_irrelevant"] == pytest.approx((0.9 + 0.1 + 0.2 + 0.3 + 0.7 + 0.6) / 6, abs=1e-15)
    assert got["margin"] == pytest.approx(got["mean_cos_relevant"] - got["mean_cos_irrelevant"], abs=1e-15)
    assert got["accuracy_at_1"] == pytest.approx(1 / 3, abs=1e-15)
    assert got["mrr"] == pytest.approx((1 / 2 + 1 + 1 / 3) / 3, abs=1e-15)


class FakeModel:
    """A model whose vectors are given by hand (2-D), for end-to-end hand-worked cases."""

    def __init__(self, vectors):
        self.vectors = vectors
        self.path = "fake"
        self.dim = 2
        self.calls = []

    def encode(self, texts, kind=None):
        self.calls.append((kind, list(texts)))
        return np.array([self.vectors[t] for t in texts], dtype=np.float32).reshape(-1, 2)

    def tokenize(self, text, kind=None, truncate=False):
        return [0] * (len(text.split()) + 2)


def test_compare_by_hand_with_fake_vectors(mode):
    m = FakeModel({"q1": [1, 0], "q2": [0, 1], "a1": [1, 0], "a2": [1, 0]})
    got = libemb.compare(m, [("q1", "a1"), ("q2", "a2")], digits=None)["models"][0]
    # S = [[1, 1], [0, 0]]: q1 ties a1 with a2 (rank 2), q2's own answer scores 0 = a1 (rank 2)
    assert (got["mean_cos_relevant"], got["mean_cos_irrelevant"]) == (0.5, 0.5)
    assert (got["accuracy_at_1"], got["mrr"], got["margin"]) == (0.0, 0.5, 0.0)
    assert (got["model"], got["dim"], got["bytes_per_vector"], got["texts"], got["tokens"]) == ("fake", 2, 8, 4, 12)
    assert m.calls[0] == ("query", ["q1"])  # the untimed warm-up
    assert [c[0] for c in m.calls[1:]] == ["query", "passage"]


# ----------------------------------------------------------------- evaluate

def beir_args(folder=BEIR):
    return [os.path.join(folder, "corpus.jsonl"), os.path.join(folder, "queries.jsonl"),
            os.path.join(folder, "qrels", "test.tsv")]


def cli_eval(model, folder=BEIR, *extra):
    c, q, r = beir_args(folder)
    return json.loads(run_cli(["eval", "-m", model, "--corpus", c, "--queries", q, "--qrels", r,
                               "--json", *extra]))


@pytest.mark.parametrize("which", ["builtin", "cls"])
def test_evaluate_equals_cli_on_beir_mini(cls_model, which, mode):
    model = BUILTIN if which == "builtin" else cls_model
    want = cli_eval(model)
    got = libemb.evaluate(model, *beir_args())
    assert list(got) == list(want)
    assert_same(got, want, "eval %s (%s)" % (which, mode))
    assert want["queries_unjudged_skipped"] == 1  # q10 has no judgments
    assert_same(libemb.evaluate(model, *beir_args(), digits=None), want, "eval unrounded", unrounded=True)


def write_edge_set(folder):
    """beir-mini plus every rule of docs/evaluate.md: identical texts (ties broken
    by id descending, "e9" before "e2" before "e10"), the title + text strip
    rule (null title, Unicode spaces), a document whose id is a query's id,
    a query whose grades are all 0, a judged document missing from the
    corpus, a repeated judgment (the last line counts), an unjudged query."""
    os.makedirs(os.path.join(folder, "qrels"), exist_ok=True)
    with open(os.path.join(BEIR, "corpus.jsonl"), encoding="utf-8") as f:
        corpus = [json.loads(line) for line in f]
    same = "A violin is a string instrument played with a bow."
    corpus += [
        {"_id": "e9", "title": "Bow", "text": same},
        {"_id": "e2", "title": None, "text": "Bow " + same},
        {"_id": "e10", "title": "\u3000Bow", "text": same + " \u2003\n"},
        {"_id": "q3", "title": "Volcano", "text": "What comes out of an erupting volcano: lava."},
        {"_id": 77, "text": "An integer id, taken as its decimal text."},
    ]
    with open(os.path.join(folder, "corpus.jsonl"), "w", encoding="utf-8") as f:
        f.writelines(json.dumps(d) + "\n" for d in corpus)
    with open(os.path.join(BEIR, "queries.jsonl"), encoding="utf-8") as f:
        queries = [json.loads(line) for line in f]
    queries += [{"_id": "q11", "text": "which instrument has a bow"},
                {"_id": "q12", "text": "nothing relevant here"}]
    with open(os.path.join(folder, "queries.jsonl"), "w", encoding="utf-8") as f:
        f.writelines(json.dumps(q) + "\n" for q in queries)
    with open(os.path.join(BEIR, "qrels", "test.tsv"), encoding="utf-8") as f:
        qrels = f.read()
    qrels += ("q11\te10\t2\nq11\te9\t0\nq11\te2\t1\nq11\td01\t3\nq11\tmissing-doc\t1\n"
              "q12\td05\t0\nq12\td06\t-1\nq3\td03\t1\nq3\td03\t0\r\nq9\t77\t1\n")
    with open(os.path.join(folder, "qrels", "test.tsv"), "w", encoding="utf-8") as f:
        f.write(qrels)


@pytest.mark.parametrize("extra", [[], ["--keep-identical-ids"], ["--top", "3"], ["--top", "1"]])
def test_evaluate_equals_cli_on_edge_cases(tmp_path, cls_model, extra, mode):
    folder = str(tmp_path / "edge")
    write_edge_set(folder)
    for model in (BUILTIN, cls_model):
        want = cli_eval(model, folder, *extra)
        kwargs = {"keep_identical_ids": "--keep-identical-ids" in extra}
        if "--top" in extra:
            kwargs["top"] = int(extra[1])
        got = libemb.evaluate(model, *beir_args(folder), **kwargs)
        assert_same(got, want, "edge set %s %s (%s)" % (model, extra, mode))
        assert want["queries_without_relevant"] == 1 and want["judged_docs_missing_from_corpus"] == 1
        assert want["queries_unjudged_skipped"] == 1 and want["queries_evaluated"] == 11


def test_evaluate_in_memory_equals_files(tmp_path, cls_model):
    folder = str(tmp_path / "edge")
    write_edge_set(folder)
    c, q, r = beir_args(folder)
    with open(c, encoding="utf-8") as f:
        corpus = {str(d["_id"]): {"title": d.get("title"), "text": d["text"]} for d in map(json.loads, f)}
    with open(q, encoding="utf-8") as f:
        queries = [json.loads(line) for line in f]
    qrels = {}
    with open(r, encoding="utf-8") as f:
        next(f)
        for line in f:
            qid, did, grade = line.rstrip("\r\n").split("\t")
            qrels.setdefault(qid, {})[did] = int(grade)
    from_files = libemb.evaluate(cls_model, c, q, r, digits=None)
    with libemb.Model(cls_model) as m:
        in_memory = libemb.evaluate(m, corpus, queries, qrels, digits=None)
    for key, value in from_files.items():
        if key not in THROUGHPUT:
            assert in_memory[key] == value, key


def test_title_text_rule_and_identical_ids_by_hand(mode):
    # one query "q" = [1, 0]; documents: two with the same embedded text
    # through the strip rule, and one whose id is the query's id
    vectors = {"q": [1, 0], "T x": [1, 0], "far": [0, 1], "near": [3, 1]}
    m = FakeModel(vectors)
    corpus = {"b": {"title": "T", "text": "x"},          # "T x"
              "a": {"title": None, "text": "  T x\u3000"},  # "T x" after strip: ties with b
              "q": {"title": "", "text": "near"},        # the query's own id
              "c": {"title": "", "text": "far"}}
    qrels = {"q": {"a": 1, "b": 2, "q": 3, "zz": 1}}    # zz is not in the corpus
    got = libemb.evaluate(m, corpus, {"q": "q"}, qrels, digits=None)
    assert [c for c in m.calls if c[0] == "passage"][0][1] == ["T x", "T x", "near", "far"]
    # ranking without "q": b (score 1, id "b" > "a"), a (1), c (0)
    dcg = 2 / math.log2(2) + 1 / math.log2(3)
    idcg = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4) + 1 / math.log2(5)
    assert got["ndcg_at_10"] == pytest.approx(dcg / idcg, abs=1e-15)
    assert got["recall_at_10"] == got["recall_at_100"] == 0.5  # 2 of 4 relevant (q excluded, zz missing)
    assert got["mrr_at_10"] == 1.0
    assert got["judged_docs_missing_from_corpus"] == 1 and got["corpus_docs"] == 4
    # keeping identical ids: "q" (cos 3/sqrt(10)) is ranked between the ties and c
    kept = libemb.evaluate(m, corpus, {"q": "q"}, qrels, keep_identical_ids=True, digits=None)
    dcg_kept = 2 / math.log2(2) + 1 / math.log2(3) + 3 / math.log2(4)
    assert kept["ndcg_at_10"] == pytest.approx(dcg_kept / idcg, abs=1e-15)
    assert kept["recall_at_10"] == 0.75


def test_query_metrics_by_hand():
    # ranked grades [0, 2, 1, 0]; judged grades 2, 1, 3 (the 3 is missing from the corpus) and 0
    ndcg, r10, r100, mrr = ev._query_metrics([0, 2, 1, 0], [2, 1, 3, 0])
    assert ndcg == pytest.approx((2 / math.log2(3) + 1 / math.log2(4)) /
                                 (3 + 2 / math.log2(3) + 1 / math.log2(4)), abs=1e-15)
    assert (r10, r100, mrr) == (2 / 3, 2 / 3, 0.5)
    # a relevant document at rank 11: in recall@100 only; nothing in the top 10
    assert ev._query_metrics([0] * 10 + [1], [1]) == (0.0, 0.0, 1.0, 0.0)
    # all grades <= 0: every metric 0
    assert ev._query_metrics([0, 0], [0, -1]) == (0.0, 0.0, 0.0, 0.0)
    # linear gain: grade 2 at rank 1 alone scores 1
    assert ev._query_metrics([2], [2]) == (1.0, 1.0, 1.0, 1.0)


def test_rank_ties_by_id_descending(mode):
    ids = [b"d10", b"d2", b"d9", b"e", b"d1"]
    scores = [0.5, 0.5, 0.5, float("nan"), 0.7]
    id_order = None  # the plain path sorts the ids itself
    if mode == "numpy":
        desc = sorted(range(len(ids)), key=lambda i: ids[i], reverse=True)
        id_order = np.empty(len(ids), dtype=np.int64)
        id_order[desc] = np.arange(len(ids))
    got = ev._rank(ids, scores, 10, None, id_order)
    assert [ids[i] for i in got] == [b"d1", b"d9", b"d2", b"d10", b"e"]  # NaN is -1: last
    assert [ids[i] for i in ev._rank(ids, scores, 2, 2, id_order)] == [b"d1", b"d2"]


@pytest.mark.parametrize("which,content,why", [
    ("corpus", '{"_id": "d1", "text": "x"}\n\n', "corpus.jsonl:2: blank line"),
    ("corpus", '{"_id": "d1", "text": "x"}\n{"_id": "d1", "text": "y"}\n',
     "corpus.jsonl:2: duplicate \"_id\" 'd1' \\(first on line 1\\)"),
    ("corpus", '{"_id": "d1", "title": 3, "text": "x"}\n', '"title" must be a string'),
    ("corpus", '{"_id": "", "text": "x"}\n', 'missing or empty "_id"'),
    ("corpus", '{"_id": "d1"}\n', 'missing "text"'),
    ("corpus", '[1]\n', "expected a JSON object"),
    ("corpus", '{"_id": "d\\u0000", "text": "x"}\n', 'contains U\\+0000'),
    ("corpus", '{"_id": "d1", "text": "\\ud800"}\n', "not valid JSON"),
    ("queries", '{"_id": "q1", "text": NaN}\n', "queries.jsonl:1: not valid JSON"),
    ("qrels", "h\nq1\td1\n", "test.tsv:2: expected query-id<TAB>corpus-id<TAB>score"),
    ("qrels", "h\nq1\td1\t1.5\n", "test.tsv:2: the score must be an integer"),
    ("qrels", "h\nq1\t\t1\n", "empty query-id or corpus-id"),
    ("qrels", "h\nnope\td1\t1\n", "query id 'nope' is not in the queries file"),
    ("qrels", "query-id\tcorpus-id\tscore\n", "no judgments after the header line"),
])
def test_evaluate_bad_files(tmp_path, which, content, why):
    folder = tmp_path / "bad"
    (folder / "qrels").mkdir(parents=True)
    files = {"corpus": '{"_id": "d1", "title": "t", "text": "x"}\n',
             "queries": '{"_id": "q1", "text": "y"}\n', "qrels": "query-id\tcorpus-id\tscore\nq1\td1\t1\n"}
    files[which] = content
    (folder / "corpus.jsonl").write_text(files["corpus"], encoding="utf-8")
    (folder / "queries.jsonl").write_text(files["queries"], encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text(files["qrels"], encoding="utf-8")
    with pytest.raises(ValueError, match=why):
        libemb.evaluate(BUILTIN, *beir_args(str(folder)))
    # the CLI refuses the same files
    c, q, r = beir_args(str(folder))
    import subprocess
    from embtest import emb_bin
    proc = subprocess.run([emb_bin(), "eval", "-m", BUILTIN, "--corpus", c, "--queries", q, "--qrels", r],
                          capture_output=True)
    assert proc.returncode != 0, proc.stdout


def test_evaluate_header_that_looks_like_data_warns(tmp_path):
    folder = tmp_path / "hdr"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n{"_id": "d2", "text": "y"}\n')
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "x"}\n')
    (folder / "qrels" / "test.tsv").write_text("q1\td2\t1\nq1\td1\t1\n")
    with pytest.warns(UserWarning, match="looks like a judgment"):
        got = libemb.evaluate(BUILTIN, *beir_args(str(folder)), digits=None)
    assert got["queries_evaluated"] == 1 and got["recall_at_10"] == 1.0  # only d1 is judged


def test_bad_arguments():
    with pytest.raises(ValueError):
        libemb.compare(BUILTIN, PAIRS, batch=0)
    with pytest.raises(ValueError):
        libemb.evaluate(BUILTIN, *beir_args(), top=0)
    with pytest.raises(ValueError, match="not in the queries"):
        libemb.evaluate(BUILTIN, {"d": {"text": "x"}}, {"q": "y"}, {"other": {"d": 1}})
    with pytest.raises(ValueError, match="no judgments"):
        libemb.evaluate(BUILTIN, {"d": {"text": "x"}}, {"q": "y"}, {"q": {}})
    with pytest.raises(ValueError, match="grade must be an integer"):
        libemb.evaluate(BUILTIN, {"d": {"text": "x"}}, {"q": "y"}, {"q": {"d": "1"}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="at least 2 pairs"):
            libemb.compare(BUILTIN, [("only", "one")])
