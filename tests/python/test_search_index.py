"""`emb search --index VECTORS.h5` over vectors files written here with h5py
in the layout of docs/format.md ("Vectors files"), from `emb embed --format
f32` of a tiny fixture model: the top k equals a numpy brute force, ids,
texts and JSON lines are printed, int8 / binary candidates rescored give the
exact float top k, the model check refuses another model, and hostile files
(missing datasets, wrong shapes, truncation, newer versions) are refused
with a message and never crash."""

import json
import os
import shutil
import subprocess

import h5py
import numpy as np
import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EMB = os.path.abspath(os.environ.get("EMB_BIN") or os.path.join(ROOT, "bin", "emb"))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "models")
PROBE = "libemb model probe"

TEXTS = [
    "Photosynthesis turns sunlight into chemical energy.",
    "The stock market fell sharply on Monday.",
    "Plants need water and light to grow.",
    "A recipe for tomato soup with basil.",
    "Neural networks learn from examples.",
    "The train to Paris leaves at noon.",
    "Chlorophyll absorbs red and blue light.",
    "Interest rates rose again this year.",
    "Tabs\tand\nnewlines in a text.",
    "Ünïcödé café 北京",
    "Gradient descent minimises a loss.",
    "Photosynthesis turns sunlight into chemical energy.",  # a duplicate: a tie
] + ["filler passage number %d about topic %d" % (i, i % 7) for i in range(60)]
QUERIES = ["how do plants make food?", "machine learning", "finance news"]


def run(args, stdin=b"", ok=True):
    proc = subprocess.run([EMB] + args, input=stdin, capture_output=True)
    assert proc.returncode >= 0, "crashed: %s" % proc.stderr.decode()
    if ok:
        assert proc.returncode == 0, proc.stderr.decode()
    return proc


def embed(model, texts, kind):
    out = run(["embed", "-m", model, "--kind", kind, "--format", "f32", "--jsonl"],
              "".join(json.dumps(t) + "\n" for t in texts).encode()).stdout
    return np.frombuffer(out, dtype="<f4").reshape(len(texts), -1)


def quantize_int8(x, ranges):
    """sentence-transformers' quantize_embeddings(precision="int8", ranges=...)."""
    starts = ranges[0, :]
    steps = (ranges[1, :] - starts) / 255
    steps = np.where(steps == 0, 1, steps)
    return (np.clip(np.floor((x - starts) / steps), 0, 255) - 128).astype(np.int8)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("search_index")
    models = {}
    for name in ("bert-e5", "bge-cls", "gte-en"):
        path = str(tmp / (name + ".h5"))
        run(["convert", os.path.join(FIXTURES, name), path])
        models[name] = path
    models["bert-e5-bf16"] = str(tmp / "bert-e5-bf16.h5")
    run(["convert", os.path.join(FIXTURES, "bert-e5"), models["bert-e5-bf16"], "--dtype", "bf16"])
    vecs = embed(models["bert-e5"], TEXTS, "passage")
    probe = embed(models["bert-e5"], [PROBE], "none")[0]
    return {"tmp": tmp, "models": models, "vecs": vecs, "probe": probe}


def write_index(env, name, vecs=None, texts=True, int8=True, binary=True, version=1,
                model_path=None, drop=(), chunked=False, shapes=None, attrs=None):
    vecs = env["vecs"] if vecs is None else vecs
    n, dim = vecs.shape
    path = str(env["tmp"] / name)
    shapes = shapes or {}
    with h5py.File(path, "w") as f:
        a = {
            "emb_vectors_version": np.int32(version), "count": np.uint64(n), "dim": np.uint64(dim),
            "model_source": "bert-e5", "model_sha256": "ab" * 32, "model_dtype": "f32",
            "model_probe": env["probe"].astype(np.float32),
            "model_path": model_path if model_path is not None else "/nonexistent/model.h5",
            "kind": "passage", "prompt": "passage: ", "normalized": np.int32(1),
            "truncate": np.int32(1), "input_sha256": "cd" * 32, "libemb_version": "1.0.0",
        }
        a.update(attrs or {})
        for k, v in a.items():
            if k not in drop:
                f.attrs[k] = v
        str_t = h5py.string_dtype("utf-8")
        if "ids" not in drop:
            f.create_dataset("ids", data=np.array(["doc-%d" % i for i in range(n)], dtype=object),
                             dtype=str_t)
        if texts and "texts" not in drop:
            f.create_dataset("texts", data=np.array(TEXTS[:n], dtype=object), dtype=str_t)
        if "vectors" not in drop:
            v = shapes.get("vectors", vecs.astype(np.float32))
            f.create_dataset("vectors", data=v, chunks=(7, dim) if chunked else None)
        if int8:
            ranges = np.stack([vecs.min(axis=0), vecs.max(axis=0)]).astype(np.float32)
            f.create_dataset("vectors_int8", data=shapes.get("vectors_int8", quantize_int8(vecs, ranges)))
            f.create_dataset("int8_ranges", data=ranges)
        if binary:
            f.create_dataset("vectors_binary", data=shapes.get("vectors_binary", np.packbits(vecs > 0, axis=-1)))
    return path


def brute(vecs, q, k):
    s = vecs.astype(np.float64) @ q.astype(np.float64)
    order = sorted(range(len(s)), key=lambda i: (-s[i], i))
    return order[:k], s


def parse_tsv(out):
    blocks = out.decode().split("\n\n")
    return [[line.split("\t") for line in b.strip("\n").split("\n") if line] for b in blocks]


def test_f32_top_k_equals_brute_force(env):
    path = write_index(env, "f32.h5")
    qv = embed(env["models"]["bert-e5"], QUERIES, "query")
    out = run(["search", "-m", env["models"]["bert-e5"], "--index", path, "--top", "5"] + QUERIES).stdout
    blocks = parse_tsv(out)
    assert len(blocks) == len(QUERIES)
    for qi, rows in enumerate(blocks):
        want, s = brute(env["vecs"], qv[qi], 5)
        got = [int(r[1].split("-")[1]) for r in rows]
        assert got == want, (QUERIES[qi], got, want)
        for r, i in zip(rows, want):
            assert abs(float(r[0]) - s[i]) < 1e-4
            assert r[2] == TEXTS[i].replace("\t", " ").replace("\n", " ")


def test_ties_lower_row_first(env):
    path = write_index(env, "ties.h5")
    # the query is text 0 itself, stored twice (rows 0 and 11): equal scores
    out = run(["search", "-m", env["models"]["bert-e5"], "--index", path, "--top", "2", "--jsonl",
               TEXTS[0]]).stdout
    rows = [json.loads(l) for l in out.decode().splitlines()]
    assert rows[0]["score"] == rows[1]["score"]
    assert [r["id"] for r in rows] == ["doc-0", "doc-11"]


def test_jsonl_and_no_texts(env):
    path = write_index(env, "notext.h5", texts=False)
    qv = embed(env["models"]["bert-e5"], QUERIES[:1], "query")
    out = run(["search", "-m", env["models"]["bert-e5"], "--index", path, "--top", "3", "--jsonl",
               QUERIES[0]]).stdout
    rows = [json.loads(l) for l in out.decode().splitlines()]
    want, s = brute(env["vecs"], qv[0], 3)
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert [r["id"] for r in rows] == ["doc-%d" % i for i in want]
    assert all(r["query"] == QUERIES[0] and r["text"] is None for r in rows)
    assert all(abs(r["score"] - s[i]) < 1e-6 for r, i in zip(rows, want))
    tsv = run(["search", "-m", env["models"]["bert-e5"], "--index", path, "--top", "3", QUERIES[0]]).stdout
    assert all(len(line.split("\t")) == 2 for line in tsv.decode().splitlines())


def test_empty_index(env):
    path = write_index(env, "empty.h5", vecs=env["vecs"][:0], texts=False, int8=False, binary=False)
    for form in ("f32",):
        p = run(["search", "-m", env["models"]["bert-e5"], "--index", path, "--using", form, "q"])
        assert p.stdout == b""


def test_top_larger_than_count(env):
    vecs = env["vecs"][:4]
    path = write_index(env, "small.h5", vecs=vecs)
    out = run(["search", "-m", env["models"]["bert-e5"], "--index", path, "--top", "50", "x"]).stdout
    assert len(out.decode().splitlines()) == 4


@pytest.mark.parametrize("form", ["int8", "binary"])
def test_compact_rescored_is_exact_when_n_covers(env, form):
    path = write_index(env, "compact.h5")
    qv = embed(env["models"]["bert-e5"], QUERIES, "query")
    n = len(TEXTS)
    f32 = run(["search", "-m", env["models"]["bert-e5"], "--index", path, "--top", "6"] + QUERIES).stdout
    got = run(["search", "-m", env["models"]["bert-e5"], "--index", path, "--top", "6", "--using",
               form, "--rescore", str(n)] + QUERIES).stdout
    assert got == f32
    for qi, rows in enumerate(parse_tsv(got)):
        want, _ = brute(env["vecs"], qv[qi], 6)
        assert [int(r[1].split("-")[1]) for r in rows] == want


@pytest.mark.parametrize("form", ["int8", "binary"])
def test_compact_candidates_as_numpy(env, form):
    """With N < count the candidates are the compact form's top N (the query
    quantized as sentence-transformers does), rescored by float."""
    path = write_index(env, "compact_n.h5")
    vecs = env["vecs"]
    qv = embed(env["models"]["bert-e5"], QUERIES, "query")
    ranges = np.stack([vecs.min(axis=0), vecs.max(axis=0)]).astype(np.float32)
    for qi, q in enumerate(qv):
        if form == "int8":
            c = quantize_int8(vecs, ranges).astype(np.int64) @ quantize_int8(q[None, :], ranges)[0].astype(np.int64)
            key = [(-int(c[i]), i) for i in range(len(c))]
        else:
            bits = np.unpackbits(np.packbits(vecs > 0, axis=-1), axis=-1)
            qb = np.unpackbits(np.packbits(q > 0))
            d = (bits != qb).sum(axis=1)
            key = [(int(d[i]), i) for i in range(len(d))]
        cand = [i for _, i in sorted(key)[:10]]
        s = vecs[cand].astype(np.float64) @ q.astype(np.float64)
        want = [cand[j] for j in sorted(range(len(cand)), key=lambda j: (-s[j], cand[j]))][:3]
        out = run(["search", "-m", env["models"]["bert-e5"], "--index", path, "--top", "3", "--using",
                   form, "--rescore", "10", "--jsonl", QUERIES[qi]]).stdout
        got = [int(json.loads(l)["id"].split("-")[1]) for l in out.decode().splitlines()]
        assert got == want, (form, QUERIES[qi], got, want)


def test_chunked_vectors_read_not_mapped(env):
    a = run(["search", "-m", env["models"]["bert-e5"], "--index", write_index(env, "plain.h5"),
             "--top", "4"] + QUERIES).stdout
    b = run(["search", "-m", env["models"]["bert-e5"], "--index",
             write_index(env, "chunked.h5", chunked=True), "--top", "4"] + QUERIES).stdout
    assert a == b


def test_model_path_is_the_default_model(env):
    path = write_index(env, "withpath.h5", model_path=env["models"]["bert-e5"])
    a = run(["search", "--index", path, "--top", "3", QUERIES[0]]).stdout
    b = run(["search", "-m", env["models"]["bert-e5"], "--index", path, "--top", "3", QUERIES[0]]).stdout
    assert a == b


def test_threads_do_not_change_results(env):
    path = write_index(env, "threads.h5")
    outs = []
    for t in ("1", "2", "3"):
        e = dict(os.environ, EMB_NUM_THREADS=t)
        p = subprocess.run([EMB, "search", "-m", env["models"]["bert-e5"], "--index", path, "--top",
                            "7"] + QUERIES, capture_output=True, env=e)
        assert p.returncode == 0, p.stderr.decode()
        outs.append(p.stdout)
    assert outs[0] == outs[1] == outs[2]


def refused(args, *needles):
    p = run(args, ok=False)
    assert p.returncode != 0
    err = p.stderr.decode()
    for n in needles:
        assert n in err, err
    return err


def test_refuses_another_model(env):
    path = write_index(env, "other.h5")
    m = env["models"]["gte-en"]  # the same dim (32): the probe tells them apart
    refused(["search", "-m", m, "--index", path, "q"], "bert-e5", "ab" * 32, m, "probe cosine")
    m = env["models"]["bge-cls"]  # 48 dims
    refused(["search", "-m", m, "--index", path, "q"], "bert-e5", "ab" * 32, m, "32-dim", "48")


def test_sibling_model_passes_with_a_note(env):
    path = write_index(env, "sibling.h5")
    m = env["models"]["bert-e5-bf16"]
    p = run(["search", "-m", m, "--index", path, "--top", "3", QUERIES[0]])
    assert "not bitwise the index's" in p.stderr.decode()
    assert len(p.stdout.decode().splitlines()) == 3
    p = run(["search", "-m", env["models"]["bert-e5"], "--index", path, "--top", "3", QUERIES[0]])
    assert p.stderr == b""


def test_refuses_dim_mismatch(env):
    vecs = np.concatenate([env["vecs"], env["vecs"][:, :4]], axis=1)
    e = dict(env, probe=np.concatenate([env["probe"], env["probe"][:4]]))
    path = write_index(e, "dim.h5", vecs=vecs, int8=False, binary=False)
    refused(["search", "-m", env["models"]["bert-e5"], "--index", path, "q"], "36-dim", "gives 32",
            "bert-e5")


def test_refuses_missing_form_and_newer_version(env):
    path = write_index(env, "noq.h5", int8=False, binary=False)
    refused(["search", "-m", env["models"]["bert-e5"], "--index", path, "--using", "int8", "q"],
            "vectors_int8")
    refused(["search", "-m", env["models"]["bert-e5"], "--index", path, "--using", "binary", "q"],
            "vectors_binary")
    path = write_index(env, "v2.h5", version=2)
    refused(["search", "-m", env["models"]["bert-e5"], "--index", path, "q"], "emb_vectors_version 2")


def test_refuses_files_that_are_not_vectors_files(env):
    m = env["models"]["bert-e5"]
    refused(["search", "-m", m, "--index", m, "q"], "not a vectors file")
    txt = str(env["tmp"] / "plain.txt")
    with open(txt, "w") as f:
        f.write("hello\n")
    refused(["search", "-m", m, "--index", txt, "q"], "not an HDF5 file")
    refused(["search", "-m", m, "--index", str(env["tmp"] / "missing.h5"), "q"], "missing.h5")


@pytest.mark.parametrize("drop,needle", [
    ("vectors", "no dataset vectors"), ("ids", "ids"), ("model_probe", "model_probe"),
    ("count", "count"), ("model_sha256", "model_sha256"),
])
def test_hostile_missing_parts(env, drop, needle):
    path = write_index(env, "drop_%s.h5" % drop, drop=(drop,))
    refused(["search", "-m", env["models"]["bert-e5"], "--index", path, "q"], needle)


@pytest.mark.parametrize("name,bad", [
    ("vectors", lambda v: v[:, :-1].astype(np.float32)),
    ("vectors", lambda v: v.astype(np.float64)),
    ("vectors", lambda v: v[:-1].astype(np.float32)),
    ("vectors_int8", lambda v: np.zeros((v.shape[0], v.shape[1]), np.uint8)),
    ("vectors_binary", lambda v: np.zeros((v.shape[0], 3), np.uint8)),
])
def test_hostile_shapes(env, name, bad):
    path = write_index(env, "shape.h5", shapes={name: bad(env["vecs"])})
    form = {"vectors": "f32", "vectors_int8": "int8", "vectors_binary": "binary"}[name]
    refused(["search", "-m", env["models"]["bert-e5"], "--index", path, "--using", form, "q"], name)


def test_hostile_count_and_texts(env):
    path = write_index(env, "count.h5", attrs={"count": np.uint64(len(TEXTS) + 5)})
    refused(["search", "-m", env["models"]["bert-e5"], "--index", path, "q"], str(len(TEXTS) + 5))
    path = write_index(env, "count0.h5", attrs={"dim": np.uint64(0)})
    refused(["search", "-m", env["models"]["bert-e5"], "--index", path, "q"], "dim")


def test_truncated_file(env):
    src = write_index(env, "whole.h5")
    size = os.path.getsize(src)
    for cut in (size // 3, size // 2, size - 100, 64):
        path = str(env["tmp"] / ("cut%d.h5" % cut))
        shutil.copyfile(src, path)
        os.truncate(path, cut)
        refused(["search", "-m", env["models"]["bert-e5"], "--index", path, "--using", "int8", "q"],
                path)


def test_stdin_mode_unchanged(env):
    m = env["models"]["bert-e5"]
    out = run(["search", "-m", m, "--top", "2", "plants"], b"Plants grow.\nStocks fell.\n").stdout
    assert len(out.decode().splitlines()) == 2
    p = run(["search", "-m", m, "--using", "int8", "plants"], b"x\n", ok=False)
    assert p.returncode == 2


def test_timing_on_stderr(env):
    path = write_index(env, "timing.h5")
    p = run(["search", "-m", env["models"]["bert-e5"], "--index", path, "--timing", "--using", "int8",
             "--top", "2"] + QUERIES)
    err = p.stderr.decode()
    assert "3 queries (int8, rescore 8)" in err and "first query" in err and "ms per query" in err
    assert len(p.stdout.decode().strip().split("\n\n")) == 3
