"""The SQLite extension (sqlite/emb_sqlite.c, lib/libemb_sqlite.so) through
Python's sqlite3 module and the sqlite3 CLI: blobs are the C API's vectors
bitwise, goldens hold, bad input is an SQL error."""

import json
import os
import shutil
import sqlite3
import struct
import subprocess
import threading

import numpy as np
import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LIBDIR = os.path.dirname(os.path.abspath(os.environ.get("EMB_LIBRARY") or os.path.join(ROOT, "lib", "libemb.so.1")))
EXTENSION = os.path.join(LIBDIR, "libemb_sqlite")
EMB = os.path.abspath(os.environ.get("EMB_BIN") or os.path.join(ROOT, "bin", "emb"))
BUILTIN = os.path.join(ROOT, "models", "wordnet-mini.h5")
BERT_E5 = os.path.join(ROOT, "tests", "fixtures", "models", "bert-e5")

TEXTS = ["how do plants make food?", "Photosynthesis uses sunlight.", "", "   \t\n  ",
         "before\x00after", "Ünïcödé façade naïve café 北京 🍕"]


def cli(args, stdin=b""):
    proc = subprocess.run([EMB] + args, input=stdin, capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def cli_vectors(model, texts, kind):
    """Raw little-endian float32 vectors from `emb embed --format f32`, one bytes per text."""
    out = cli(["embed", "-m", model, "--kind", kind, "--format", "f32", "--jsonl"],
              "".join(json.dumps(t) + "\n" for t in texts).encode())
    size = len(out) // len(texts)
    return [out[i * size:(i + 1) * size] for i in range(len(texts))]


def connect(*models):
    db = sqlite3.connect(":memory:")
    db.enable_load_extension(True)
    db.load_extension(EXTENSION)
    for name, path in models:
        db.execute("SELECT emb_model(?, ?)", (name, path))
    return db


@pytest.fixture(scope="module")
def bert_e5(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("sqlite-models") / "bert-e5.h5")
    cli(["convert", BERT_E5, out])
    return out


@pytest.mark.parametrize("kind", ["query", "passage", "none"])
def test_blobs_are_the_c_api_vectors_bitwise(kind):
    db = connect(("mini", BUILTIN))
    want = cli_vectors(BUILTIN, TEXTS, kind)
    for text, w in zip(TEXTS, want):
        (blob,) = db.execute("SELECT emb_embed('mini', ?, ?)", (text, kind)).fetchone()
        assert isinstance(blob, bytes) and len(blob) == 256 * 4
        if blob != w:
            a, b = np.frombuffer(blob, "<f4"), np.frombuffer(w, "<f4")
            i = int(np.argmax(a != b))
            pytest.fail("%r (%s): first difference at %d: sqlite %r, CLI %r" % (text, kind, i, a[i], b[i]))
    db.close()


def test_default_kind_is_none_and_blob_text_is_utf8():
    db = connect(("mini", BUILTIN))
    a = db.execute("SELECT emb_embed('mini', 'a violin')").fetchone()[0]
    b = db.execute("SELECT emb_embed('mini', 'a violin', NULL)").fetchone()[0]
    c = db.execute("SELECT emb_embed('mini', 'a violin', 'none')").fetchone()[0]
    d = db.execute("SELECT emb_embed('mini', CAST('a violin' AS BLOB), 'none')").fetchone()[0]
    q = db.execute("SELECT emb_embed('mini', 'a violin', 'query')").fetchone()[0]
    assert a == b == c == d and a != q
    # the kind names are the CLI's and the server's (include/emb_names.h):
    # "document" is "passage"
    p = db.execute("SELECT emb_embed('mini', 'a violin', 'passage')").fetchone()[0]
    doc = db.execute("SELECT emb_embed('mini', 'a violin', 'document')").fetchone()[0]
    assert p == doc
    # a NUL inside the text is part of it
    nul = db.execute("SELECT emb_embed('mini', ?)", ("before\x00after",)).fetchone()[0]
    cut = db.execute("SELECT emb_embed('mini', 'before')").fetchone()[0]
    assert nul != cut


def test_goldens(bert_e5):
    db = connect(("e5", bert_e5))
    with open(os.path.join(BERT_E5, "golden", "cases.jsonl"), encoding="utf-8") as f:
        cases = [json.loads(line) for line in f if line.strip()]
    for c in cases:
        (blob,) = db.execute("SELECT emb_embed('e5', ?, ?)", (c["text"], c["kind"])).fetchone()
        got = np.frombuffer(blob, "<f4").astype(np.float64)
        diff = np.abs(got - np.array(c["vector"]))
        i = int(np.argmax(diff))
        assert diff[i] <= 1e-4, "%r (%s): worst |diff| %.3g at %d (got %r, want %r)" % (
            c["text"][:40], c["kind"], diff[i], i, got[i], c["vector"][i])
    assert db.execute("SELECT emb_dim('e5')").fetchone()[0] == 32


def test_cosine():
    db = connect(("mini", BUILTIN))
    a, b = (db.execute("SELECT emb_embed('mini', ?, 'query')", (t,)).fetchone()[0] for t in ("a cat", "a kitten"))
    (cos,) = db.execute("SELECT emb_cosine(?, ?)", (a, b)).fetchone()
    assert "%.6f" % cos == cli(["similarity", "-m", BUILTIN, "--kind", "query", "a cat",
                                "a kitten"]).decode().strip()
    va, vb = np.frombuffer(a, "<f4").astype(np.float64), np.frombuffer(b, "<f4").astype(np.float64)
    assert abs(cos - va @ vb / np.linalg.norm(va) / np.linalg.norm(vb)) < 1e-6
    assert db.execute("SELECT emb_cosine(?, ?)", (a, a)).fetchone()[0] == pytest.approx(1.0, abs=1e-6)
    # hand-made vectors, unaligned in memory or not
    u = struct.pack("<3f", 1.0, 2.0, 3.0)
    v = struct.pack("<3f", -2.0, 0.5, 4.0)
    want = (1 * -2 + 2 * 0.5 + 3 * 4) / (14 ** 0.5 * 20.25 ** 0.5)
    assert db.execute("SELECT emb_cosine(?, ?)", (u, v)).fetchone()[0] == pytest.approx(want, abs=1e-6)
    assert db.execute("SELECT emb_cosine(substr(CAST(x'00' || ? AS BLOB), 2), ?)", (u, v)).fetchone()[0] == pytest.approx(want, abs=1e-6)
    assert db.execute("SELECT emb_cosine(?, zeroblob(12))", (u,)).fetchone()[0] == 0.0
    assert db.execute("SELECT emb_cosine(NULL, ?)", (u,)).fetchone()[0] is None


@pytest.mark.parametrize("sql, args, message", [
    ("SELECT emb_embed('nope', 'x')", (), "no model named 'nope'"),
    ("SELECT emb_dim('nope')", (), "no model named 'nope'"),
    ("SELECT emb_embed(42, 'x')", (), "model name must be TEXT"),
    ("SELECT emb_embed('mini', NULL)", (), "text is NULL"),
    ("SELECT emb_embed('mini', 'x', 'Query')", (), "unknown kind 'Query'"),
    ("SELECT emb_embed('mini', 'x', 1)", (), "kind must be"),
    ("SELECT emb_embed('mini', ?)", (b"\xff\xfe",), "EMB_ERR_INVALID_UTF8"),
    ("SELECT emb_cosine(x'0000803f', x'0000803f00000000')", (), "different lengths"),
    ("SELECT emb_cosine(x'000080', x'000080')", (), "multiple of 4"),
    ("SELECT emb_cosine(x'', x'')", (), "not a non-empty"),
    ("SELECT emb_cosine('text', 'text')", (), "expected two BLOBs"),
    ("SELECT emb_model('x', '/nonexistent/model.h5')", (), "EMB_ERR_IO"),
    ("SELECT emb_model('x', ?)", (BERT_E5,), "emb_model: EMB_ERR_"),  # a folder, not a model file
    ("SELECT emb_model('', 'models/wordnet-mini.h5')", (), "must not be empty"),
    ("SELECT emb_model('x', NULL)", (), "expected emb_model(name TEXT, path TEXT"),
    ("SELECT emb_model('x', 'models/wordnet-mini.h5', -1)", (), "threads must be between"),
    ("SELECT emb_model('x', 'models/wordnet-mini.h5', 1025)", (), "out of range 0..1024"),
])
def test_bad_input_is_an_sql_error(sql, args, message):
    db = connect(("mini", BUILTIN))
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute(sql, args).fetchall()
    assert message in str(e.value)
    # the connection still works
    assert db.execute("SELECT emb_dim('mini')").fetchone()[0] == 256


def test_invalid_model_file(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not a model\n" * 100)
    db = connect()
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute("SELECT emb_model('bad', ?)", (str(bad),))
    assert "EMB_ERR_FORMAT" in str(e.value)


def mapped(path):
    with open("/proc/self/maps") as f:
        return any(line.rstrip().endswith(path) for line in f)


def test_reregistering_replaces_and_close_releases(bert_e5, tmp_path):
    first = str(tmp_path / "first-model.h5")
    second = str(tmp_path / "second-model.h5")
    shutil.copy(bert_e5, first)
    shutil.copy(BUILTIN, second)
    db = connect()
    assert db.execute("SELECT emb_model('m', ?)", (first,)).fetchone()[0] == 32
    assert db.execute("SELECT emb_dim('m')").fetchone()[0] == 32
    assert mapped(first)
    assert db.execute("SELECT emb_model('m', ?, 1)", (second,)).fetchone()[0] == 256
    assert db.execute("SELECT emb_dim('m')").fetchone()[0] == 256
    assert len(db.execute("SELECT emb_embed('m', 'x')").fetchone()[0]) == 1024
    assert not mapped(first), "the replaced model was not closed"
    assert mapped(second)
    db.close()
    assert not mapped(second), "the model was not closed with the connection"


def test_models_are_per_connection():
    a = connect(("mini", BUILTIN))
    b = connect()
    assert a.execute("SELECT emb_dim('mini')").fetchone()[0] == 256
    with pytest.raises(sqlite3.OperationalError):
        b.execute("SELECT emb_dim('mini')")


def test_sql_load_extension_and_version():
    db = sqlite3.connect(":memory:")
    db.enable_load_extension(True)
    db.execute("SELECT load_extension(?)", (EXTENSION,))
    assert db.execute("SELECT emb_version()").fetchone()[0].startswith("1.")
    db.execute("SELECT emb_model('m', ?)", (BUILTIN,))
    # from SQL, a second load cannot replace functions while its own
    # statement runs: a clear error, and the loaded functions keep working
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute("SELECT load_extension(?)", (EXTENSION,))
    assert "cannot register functions" in str(e.value)
    assert db.execute("SELECT emb_dim('m')").fetchone()[0] == 256
    # through the C API it re-registers them with a fresh, empty registry
    db.load_extension(EXTENSION)
    with pytest.raises(sqlite3.OperationalError):
        db.execute("SELECT emb_dim('m')")
    db.execute("SELECT emb_model('m', ?)", (BUILTIN,))
    assert db.execute("SELECT emb_dim('m')").fetchone()[0] == 256


def test_emb_model_is_not_allowed_in_triggers():
    db = connect(("mini", BUILTIN))
    db.execute("CREATE TABLE t(x)")
    db.execute("CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT emb_model('evil', '/etc/passwd'); END")
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute("INSERT INTO t VALUES (1)")
    assert "unsafe use of emb_model" in str(e.value)


def test_query_vector_is_computed_once_per_statement():
    db = connect(("mini", BUILTIN))
    db.execute("CREATE TABLE p(id INTEGER PRIMARY KEY, e BLOB)")
    plan = db.execute("EXPLAIN SELECT emb_cosine(e, emb_embed('mini', 'q', 'query')) FROM p").fetchall()
    ops = [(row[1], str(row[5])) for row in plan]  # opcode, p4
    once = [i for i, (op, _) in enumerate(ops) if op == "Once"]
    embed = [i for i, (op, p4) in enumerate(ops) if op.startswith("Function") and "emb_embed" in p4]
    assert once and embed and once[0] < embed[0], ops


def test_two_connections_in_two_threads():
    want = connect(("mini", BUILTIN)).execute(
        "SELECT emb_embed('mini', 'a violin is played with a bow', 'passage')").fetchone()[0]
    results, errors = [], []

    def work():
        try:
            db = sqlite3.connect(":memory:")
            db.enable_load_extension(True)
            db.load_extension(EXTENSION)
            db.execute("SELECT emb_model('mini', ?)", (BUILTIN,))
            for _ in range(10):
                results.append(db.execute(
                    "SELECT emb_embed('mini', 'a violin is played with a bow', 'passage')").fetchone()[0])
            db.close()
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 20 and all(r == want for r in results)


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 CLI is not installed")
def test_hybrid_example_with_the_cli():
    env = dict(os.environ)
    proc = subprocess.run(["sqlite3"], stdin=open(os.path.join(ROOT, "examples", "sqlite_hybrid.sql"), "rb"),
                          capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    sem = lines[lines.index("-- semantic") + 1:lines.index("-- hybrid")]
    hyb = lines[lines.index("-- hybrid") + 1:]
    assert "model dim: 256" in lines
    # the semantic ranking is the CLI's `emb search` with the same model
    passages = [json.loads(json.dumps(line.split("|", 1)[1])) for line in sem]
    cli_out = cli(["search", "-m", BUILTIN, "--top", "3", "How do plants make food?"],
                  open(os.path.join(ROOT, "examples", "passages.txt"), "rb").read()).decode()
    assert [line.replace("|", "\t", 1) for line in sem] == cli_out.splitlines()
    assert passages[0].startswith("Photosynthesis")
    # hybrid: the top result matches both the question and the keywords
    score, sem_rank, kw_rank, text = hyb[0].split("|", 3)
    assert text.startswith("Photosynthesis") and sem_rank == "1" and kw_rank == "1"
    assert float(score) == pytest.approx(2 / 61, abs=1e-4)
    assert len(hyb) == 3
