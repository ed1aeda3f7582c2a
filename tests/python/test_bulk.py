"""`emb embed --input FILE --out VECTORS.h5` (src/cli/bulk*.c): the vectors
file layout of docs/format.md read with h5py, the three input formats, the
vectors equal to `emb embed --format f32` bitwise whatever the batch size,
resume after kill -9 / torn records / SIGINT bitwise identical to an
uninterrupted run, refusals that leave files untouched, the quantizations
against sentence-transformers' formula, and bad input."""

import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import time

import h5py
import numpy as np
import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EMB = os.path.abspath(os.environ.get("EMB_BIN") or os.path.join(ROOT, "bin", "emb"))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "models")
GOLDEN = os.path.join(ROOT, "tests", "fixtures", "bulk", "quantize.json")
WORDS = ["river", "engine", "garden", "theory", "market", "protein", "window", "signal",
         "winter", "language", "planet", "bridge", "memory", "violin", "harbor", "circuit"]


def texts(n=300):
    """As scripts/make_quantize_goldens.py."""
    return [f"{WORDS[i % 16]} {WORDS[(i * 7) % 16]} number {i} and {WORDS[(i * 3 + 5) % 16]}"
            for i in range(n)]


def run(args, stdin=None, check=None):
    p = subprocess.run([EMB] + args, input=stdin, capture_output=True)
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stderr.decode())
    return p


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    out = {}
    for name in ("bert-e5", "bert-noprompt"):
        path = str(d / f"{name}.h5")
        run(["convert", os.path.join(FIXTURES, name), path], check=0)
        out[name] = path
    return out


def f32_vectors(model, lines, kind="none"):
    """`emb embed --format f32` of the texts, as an (n, dim) float32 array."""
    out = run(["embed", "-m", model, "--kind", kind, "--format", "f32", "--jsonl"],
              "".join(json.dumps(t) + "\n" for t in lines).encode(), check=0).stdout
    return np.frombuffer(out, dtype="<f4").reshape(len(lines), -1)


def assert_bitwise(got, want, label):
    """Equal bytes; else name the worst element (index, got, expected)."""
    got, want = np.asarray(got, dtype=np.float32), np.asarray(want, dtype=np.float32)
    assert got.shape == want.shape, (label, got.shape, want.shape)
    if got.tobytes() != want.tobytes():
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        i = np.unravel_index(int(np.argmax(diff)), diff.shape)
        raise AssertionError(f"{label}: worst at {i}: got {got[i]!r}, expected {want[i]!r}")


def assert_same_file(path, ref):
    """Byte-identical vectors files; else say where they first differ (ids,
    then the worst vector element, then the first byte)."""
    a, b = read_bytes(path), read_bytes(ref)
    if a == b:
        return
    with h5py.File(path, "r") as f, h5py.File(ref, "r") as g:
        assert list(f["ids"].asstr()[:]) == list(g["ids"].asstr()[:]), "ids differ"
        assert_bitwise(f["vectors"][:], g["vectors"][:], f"{path} vectors")
    first = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    raise AssertionError(f"{path} differs from {ref} from byte {first} (sizes {len(a)}, {len(b)})")


def write(path, data):
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return str(path)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def journal_records(path, dim):
    """Intact records of a journal, parsed as docs/format.md describes it."""
    data = read_bytes(path)
    assert data[:8] == b"EMBJRNL1"
    (n,) = struct.unpack_from("<I", data, 8)
    pos = 12 + n + 8
    recs = 0
    while pos + 4 <= len(data):
        (body,) = struct.unpack_from("<I", data, pos)
        if pos + 4 + body + 8 > len(data):
            break
        pos += 4 + body + 8
        recs += 1
    return recs


def test_layout_and_attributes(models, tmp_path):
    model = models["bert-e5"]
    lines = ["hello world", "", "second line", "third one here", ""]
    inp = write(tmp_path / "in.txt", "\n".join(lines) + "\n")
    out = str(tmp_path / "v.h5")
    p = run(["embed", "-m", model, "--kind", "passage", "--input", inp, "--out", out], check=0)
    summary = p.stderr.decode().strip().splitlines()[-1]
    assert "3 texts" in summary and "tokens" in summary and "texts/s" in summary and "tokens/s" in summary
    assert not os.path.exists(out + ".partial")
    with h5py.File(out, "r") as f:
        a = f.attrs
        assert a["emb_vectors_version"] == 1 and a["emb_vectors_version"].dtype == np.int32
        assert a["count"] == 3 and a["count"].dtype == np.uint64
        assert a["dim"] == 32 and a["dim"].dtype == np.uint64
        assert a["model_sha256"] == hashlib.sha256(read_bytes(model)).hexdigest()
        assert a["input_sha256"] == hashlib.sha256(read_bytes(inp)).hexdigest()
        assert a["kind"] == "passage" and a["prompt"] == "passage: "
        assert a["model_path"] == model and a["model_dtype"] == "f32"
        assert isinstance(a["model_source"], str) and a["model_source"]
        assert a["normalized"] == 1 and a["truncate"] == 1
        version = run(["version"], check=0).stdout.decode()  # "emb 1.0.0 (libemb 1.0.0)"
        assert f"(libemb {a['libemb_version']})" in version
        probe = f32_vectors(model, ["libemb model probe"])[0]
        assert a["model_probe"].dtype == np.float32
        assert_bitwise(a["model_probe"], probe, "model_probe")
        assert list(f["ids"].asstr()[:]) == ["1", "3", "4"]
        assert list(f["texts"].asstr()[:]) == ["hello world", "second line", "third one here"]
        v = f["vectors"]
        assert v.dtype == np.float32 and v.shape == (3, 32)
        assert v.chunks is None and v.compression is None and v.id.get_offset() is not None
        want = f32_vectors(model, ["hello world", "second line", "third one here"], "passage")
        assert_bitwise(v[:], want, "vectors")
        assert "vectors_int8" not in f and "vectors_binary" not in f


def test_formats_and_fields(models, tmp_path):
    model = models["bert-e5"]
    recs = [{"doc": 42, "body": "first text"}, {"doc": "abc", "body": "second\ntext"},
            {"doc": 1.5, "body": "third text", "other": 1}]
    jl = write(tmp_path / "c.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    out = str(tmp_path / "j.h5")
    run(["embed", "-m", model, "--input", jl, "--out", out, "--id-field", "doc", "--text-field", "body",
         "--no-text"], check=0)
    want = f32_vectors(model, [r["body"] for r in recs])
    with h5py.File(out, "r") as f:
        assert list(f["ids"].asstr()[:]) == ["42", "abc", "1.5"]
        assert "texts" not in f
        assert_bitwise(f["vectors"][:], want, "jsonl vectors")
    # TSV: id<TAB>text; the text keeps later tabs
    tsv = write(tmp_path / "c.tsv", "a1\tfirst text\nb2\tsecond\twith tab\n")
    out = str(tmp_path / "t.h5")
    run(["embed", "-m", model, "--input", tsv, "--out", out], check=0)
    with h5py.File(out, "r") as f:
        assert list(f["ids"].asstr()[:]) == ["a1", "b2"]
        assert list(f["texts"].asstr()[:]) == ["first text", "second\twith tab"]
        assert_bitwise(f["vectors"][:], f32_vectors(model, ["first text", "second\twith tab"]), "tsv vectors")
    # --format-in overrides the extension; stdin with "-"
    out = str(tmp_path / "s.h5")
    run(["embed", "-m", model, "--input", "-", "--format-in", "tsv", "--out", out], stdin=read_bytes(tsv), check=0)
    with h5py.File(out, "r") as f:
        assert list(f["ids"].asstr()[:]) == ["a1", "b2"]


def test_independent_of_batch_and_deterministic(models, tmp_path):
    model = models["bert-e5"]
    lines = texts(120)
    inp = write(tmp_path / "in.txt", "\n".join(lines) + "\n")
    outs = []
    for i, batch in enumerate(["1", "7", "64", "64"]):
        out = str(tmp_path / f"b{i}.h5")
        run(["embed", "-m", model, "--input", inp, "--out", out, "--batch", batch], check=0)
        outs.append(out)
    with h5py.File(outs[0], "r") as f:
        assert_bitwise(f["vectors"][:], f32_vectors(model, lines), "batch 1 vectors")
    for o in outs[1:]:
        assert_same_file(o, outs[0])  # same bytes: no timestamps, no batch dependence
    other = str(tmp_path / "query.h5")  # the comparison itself can fail
    run(["embed", "-m", model, "--kind", "query", "--input", inp, "--out", other], check=0)
    with pytest.raises(AssertionError, match="vectors: worst at"):
        assert_same_file(other, outs[0])


def feed_and_kill(model, out, lines, upto, sig, batch="1"):
    """Run with stdin a pipe, feed `upto` lines, wait until the journal holds
    them all, then send `sig`; returns the process."""
    p = subprocess.Popen([EMB, "embed", "-m", model, "--input", "-", "--out", out, "--batch", batch],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(("\n".join(lines[:upto]) + "\n").encode() if upto else b"")
    p.stdin.flush()
    deadline = time.time() + 30
    while time.time() < deadline:
        if os.path.exists(out + ".partial") and journal_records(out + ".partial", 32) >= upto:
            break
        time.sleep(0.01)
    else:
        p.kill()
        raise AssertionError("the journal did not grow")
    p.send_signal(sig)
    p.wait(timeout=30)  # stdin still open: the input has not ended
    p.stdin.close()
    err = p.stderr.read().decode()
    p.stderr.close()
    return p, err


def test_kill9_resume_bitwise(models, tmp_path):
    model = models["bert-e5"]
    lines = texts(40)
    data = ("\n".join(lines) + "\n").encode()
    ref = str(tmp_path / "ref.h5")
    run(["embed", "-m", model, "--input", "-", "--out", ref, "--batch", "1"], stdin=data, check=0)
    out = str(tmp_path / "v.h5")
    # killed with 0, 3, then (resumed) 11 records; then a torn record
    for upto in (0, 3, 11):
        p, _ = feed_and_kill(model, out, lines, upto, signal.SIGKILL)
        assert p.returncode == -signal.SIGKILL
        assert not os.path.exists(out)
        assert journal_records(out + ".partial", 32) >= upto
    before = journal_records(out + ".partial", 32)
    size = os.path.getsize(out + ".partial")
    os.truncate(out + ".partial", size - 5)  # a record cut in the middle
    assert journal_records(out + ".partial", 32) == before - 1
    p = run(["embed", "-m", model, "--input", "-", "--out", out, "--batch", "5"], stdin=data, check=0)
    err = p.stderr.decode()
    assert "torn record" in err and f"{before - 1} texts done" in err
    assert_same_file(out, ref)
    assert not os.path.exists(out + ".partial")


def test_sigint_leaves_resumable_journal(models, tmp_path):
    model = models["bert-e5"]
    lines = texts(30)
    data = ("\n".join(lines) + "\n").encode()
    ref = str(tmp_path / "ref.h5")
    run(["embed", "-m", model, "--input", "-", "--out", ref], stdin=data, check=0)
    out = str(tmp_path / "v.h5")
    p, err = feed_and_kill(model, out, lines, 6, signal.SIGINT)
    assert p.returncode == 130, err
    assert "interrupted" in err and "rerun the same command" in err
    assert not os.path.exists(out) and journal_records(out + ".partial", 32) == 6
    run(["embed", "-m", model, "--input", "-", "--out", out], stdin=data, check=0)
    assert_same_file(out, ref)


def test_refusals_keep_files(models, tmp_path):
    model, other = models["bert-e5"], models["bert-noprompt"]
    lines = texts(20)
    data = ("\n".join(lines) + "\n").encode()
    out = str(tmp_path / "v.h5")
    feed_and_kill(model, out, lines, 4, signal.SIGKILL)
    journal = read_bytes(out + ".partial")
    changed = data.replace(b"number 2 ", b"number two ")
    cases = [(["-m", other], data, "model_sha256"), (["-m", model, "--kind", "query"], data, "kind"),
             (["-m", model, "--no-text"], data, "texts"), (["-m", model], changed, "line 3")]
    for args, stdin, named in cases:
        p = run(["embed"] + args + ["--input", "-", "--out", out], stdin=stdin, check=1)
        assert named in p.stderr.decode(), p.stderr.decode()
        assert read_bytes(out + ".partial") == journal and not os.path.exists(out)
    # a shorter input than the journal holds
    p = run(["embed", "-m", model, "--input", "-", "--out", out], stdin=("\n".join(lines[:2]) + "\n").encode(), check=1)
    assert "ends after 2 records but the journal holds 4" in p.stderr.decode()
    assert read_bytes(out + ".partial") == journal
    # finish; the complete file: same job -> complete, exit 0; another -> refused, untouched
    run(["embed", "-m", model, "--input", "-", "--out", out], stdin=data, check=0)
    done = read_bytes(out)
    p = run(["embed", "-m", model, "--input", "-", "--out", out], stdin=data, check=0)
    assert "is complete (20 texts)" in p.stderr.decode()
    for args, stdin, named in cases[:3] + [(["-m", model], changed, "different input")]:
        p = run(["embed"] + args + ["--input", "-", "--out", out], stdin=stdin, check=1)
        assert named in p.stderr.decode() and "not overwritten" in p.stderr.decode()
        assert read_bytes(out) == done
    # killed between the rename and the journal's removal: the rerun cleans up
    with open(out + ".partial", "wb") as f:
        f.write(journal)
    p = run(["embed", "-m", model, "--input", "-", "--out", out], stdin=data, check=0)
    assert "removed" in p.stderr.decode() and not os.path.exists(out + ".partial")
    assert read_bytes(out) == done
    # not a vectors file: never overwritten
    bogus = write(tmp_path / "bogus.h5", b"not hdf5")
    p = run(["embed", "-m", model, "--input", "-", "--out", bogus], stdin=data, check=1)
    assert "not overwritten" in p.stderr.decode() and read_bytes(bogus) == b"not hdf5"


def st_int8(x, ranges):
    """sentence-transformers' quantize_embeddings(precision="int8") in float32."""
    x = x.astype(np.float32)
    starts = ranges[0].astype(np.float32)
    steps = (ranges[1].astype(np.float32) - starts) / np.float32(255)
    steps = np.where(steps == 0, np.float32(1), steps).astype(np.float32)
    q = np.clip(np.floor((x - starts) / steps), 0, 255)
    return (q - 128).astype(np.int8)


def test_quantize_matches_sentence_transformers(models, tmp_path):
    with open(GOLDEN) as f:
        g = json.load(f)
    gv = np.frombuffer(bytes.fromhex(g["vectors_f32_hex"]), dtype="<f4").reshape(g["shape"])
    granges = np.vstack((gv.min(axis=0), gv.max(axis=0)))
    # this statement of the formula is sentence-transformers' (goldens from the real library)
    assert np.array_equal(st_int8(gv, granges), np.array(g["int8"], dtype=np.int8))
    assert np.array_equal(np.packbits(gv > 0, axis=-1), np.array(g["ubinary"], dtype=np.uint8))
    model = models["bert-e5"]
    lines = texts(300)
    inp = write(tmp_path / "in.txt", "\n".join(lines) + "\n")
    out = str(tmp_path / "q.h5")
    run(["embed", "-m", model, "--input", inp, "--out", out, "--quantize", "int8,binary",
         "--batch", "13"], check=0)
    with h5py.File(out, "r") as f:
        v = f["vectors"][:]
        ranges = f["int8_ranges"][:]
        assert ranges.dtype == np.float32 and ranges.shape == (2, 32)
        assert np.array_equal(ranges, np.vstack((v.min(axis=0), v.max(axis=0))))
        q = f["vectors_int8"]
        assert q.dtype == np.int8 and q.chunks is None
        want = st_int8(v, ranges)
        bad = np.argwhere(q[:] != want)
        assert bad.size == 0, f"int8 differs at {bad[0]}: got {q[:][tuple(bad[0])]}, want {want[tuple(bad[0])]}"
        b = f["vectors_binary"]
        assert b.dtype == np.uint8 and b.shape == (300, 4)
        assert np.array_equal(b[:], np.packbits(v > 0, axis=-1))
        assert len(np.unique(q[:])) > 100  # a real spread, not a constant


@pytest.mark.parametrize("name,data,message", [
    ("bad.txt", b"fine\n\xff\xfe broken\n", "line 2: invalid UTF-8"),
    ("bad.jsonl", b'{"id": 1, "text": "ok"}\n{"id": 2, "text": \n', "line 2:"),
    ("bad2.jsonl", b'{"id": 1, "text": "ok"}\n{"id": 2, "body": "x"}\n', 'line 2: no "text" field'),
    ("bad3.jsonl", b'{"id": 1, "text": ""}\n', "line 1: empty text"),
    ("bad4.jsonl", b'{"id": [1], "text": "x"}\n', 'line 1: "id" must be a string or a number'),
    ("bad.tsv", b"a\tok\nno tab here\n", "line 2: no tab"),
    ("bad2.tsv", b"a\t\n", "line 1: empty text"),
])
def test_bad_input(models, tmp_path, name, data, message):
    inp = write(tmp_path / name, data)
    out = str(tmp_path / "v.h5")
    p = run(["embed", "-m", models["bert-e5"], "--input", inp, "--out", out, "--batch", "1"], check=1)
    assert message in p.stderr.decode(), p.stderr.decode()
    assert not os.path.exists(out)


def test_bad_output_and_usage(models, tmp_path):
    model = models["bert-e5"]
    inp = write(tmp_path / "in.txt", "a text\n")
    write(tmp_path / "file", "x")
    out = str(tmp_path / "file" / "v.h5")  # a directory that is a file: not writable, even by root
    p = run(["embed", "-m", model, "--input", inp, "--out", out], check=1)
    assert "cannot create" in p.stderr.decode() and "Not a directory" in p.stderr.decode()
    assert run(["embed", "-m", model, "--out", str(tmp_path / "x.h5")]).returncode == 2
    assert run(["embed", "-m", model, "--input", inp]).returncode == 2
    p = run(["embed", "-m", model, "--input", inp, "--out", str(tmp_path / "y.h5"), "--quantize", "int4"])
    assert p.returncode == 2 and "--quantize" in p.stderr.decode()
    p = run(["embed", "-m", model, "--input", inp, "--out", str(tmp_path / "y.h5"), "--format-in", "csv"])
    assert p.returncode == 2
    assert run(["embed", "-m", model, "--input", str(tmp_path / "missing"), "--out", str(tmp_path / "z.h5")]).returncode == 1
    assert not os.path.exists(tmp_path / "z.h5") and not os.path.exists(tmp_path / "z.h5.partial")


def test_progress_on_a_terminal(models, tmp_path):
    import pty
    lines = texts(50)
    inp = write(tmp_path / "in.txt", "\n".join(lines) + "\n")
    out = str(tmp_path / "v.h5")
    master, slave = pty.openpty()
    p = subprocess.Popen([EMB, "embed", "-m", models["bert-e5"], "--input", inp, "--out", out,
                          "--batch", "5"], stderr=slave, stdout=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the other side closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert p.wait(timeout=30) == 0
    text = b"".join(chunks).decode()
    assert "\remb embed: 5 texts" in text and "texts/s" in text and "ETA" in text
    assert "emb embed: 50 texts (0 from the journal)" in text
    # not a terminal: the summary only
    p = run(["embed", "-m", models["bert-e5"], "--input", inp, "--out", str(tmp_path / "w.h5")], check=0)
    assert "\r" not in p.stderr.decode() and p.stderr.decode().count("\n") == 1


def test_emb_search_reads_the_file(models, tmp_path):
    """The parts meet: `emb search --index` over what `emb embed --out` wrote
    (model from the file's model_path, all three scans)."""
    lines = texts(60)
    inp = write(tmp_path / "in.txt", "\n".join(lines) + "\n")
    out = str(tmp_path / "v.h5")
    run(["embed", "-m", models["bert-e5"], "--kind", "passage", "--input", inp, "--out", out,
         "--quantize", "int8,binary"], check=0)
    q = f32_vectors(models["bert-e5"], [lines[17]], "query")[0]
    with h5py.File(out, "r") as f:
        best = int(np.argmax(f["vectors"][:] @ q))  # the file is normalized: dot = cosine
    for using in ("f32", "int8", "binary"):
        p = run(["search", "--index", out, "--top", "1", "--using", using, "--rescore", "60",
                 "--jsonl", lines[17]], check=0)
        hit = json.loads(p.stdout.decode().splitlines()[0])
        assert hit["id"] == str(best + 1) and hit["text"] == lines[best], (using, hit)
