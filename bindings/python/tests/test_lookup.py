"""Library and model lookup order."""

import os
import shutil
import subprocess
import sys

import libemb
from libemb import _lib
from embtest import BUILTIN, ROOT

PY = sys.executable


def run_py(code, env_changes):
    env = dict(os.environ)
    for k, v in env_changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    env["PYTHONPATH"] = os.path.join(ROOT, "bindings", "python")
    proc = subprocess.run([PY, "-c", code], env=env, capture_output=True, text=True, cwd="/")
    return proc


def test_source_tree_library_and_model_without_environment():
    proc = run_py("import libemb; m = libemb.Model(); print(m._lib.path); print(m.path); print(m.dim)",
                  {"EMB_LIBRARY": None, "EMB_MODEL": None})
    assert proc.returncode == 0, proc.stderr
    lib_path, model_path, dim = proc.stdout.split("\n")[:3]
    assert os.path.samefile(lib_path, os.path.join(ROOT, "lib", "libemb.so.1"))
    assert os.path.samefile(model_path, BUILTIN)
    assert dim == "256"


def test_emb_library_environment_comes_first(tmp_path):
    proc = run_py("import libemb; libemb.Model()", {"EMB_LIBRARY": str(tmp_path / "missing.so.1")})
    assert proc.returncode != 0
    assert "LibraryNotFoundError" in proc.stderr and "EMB_LIBRARY" in proc.stderr


def test_explicit_library_comes_first():
    lib = os.path.join(ROOT, "lib", "libemb.so.1")
    assert _lib.candidates(lib)[0] == ("library= argument", lib)
    with libemb.Model(library=lib) as m:
        assert m.dim == 256


def test_emb_model_environment(bert_e5, monkeypatch):
    monkeypatch.setenv("EMB_MODEL", bert_e5)
    with libemb.Model() as m:
        assert m.dim == 32 and m.path == bert_e5


def test_installed_layout(tmp_path, bert_e5, monkeypatch):
    # <prefix>/lib/libemb.so.1 finds <prefix>/share/emb/wordnet-mini.h5
    prefix = tmp_path / "prefix"
    (prefix / "lib").mkdir(parents=True)
    (prefix / "share" / "emb").mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, "lib", "libemb.so.1"), prefix / "lib" / "libemb.so.1")
    shutil.copy(bert_e5, prefix / "share" / "emb" / "wordnet-mini.h5")  # dim 32 tells them apart
    monkeypatch.delenv("EMB_MODEL", raising=False)
    with libemb.Model(library=str(prefix / "lib" / "libemb.so.1")) as m:
        assert m.dim == 32
        assert os.path.samefile(m.path, prefix / "share" / "emb" / "wordnet-mini.h5")
