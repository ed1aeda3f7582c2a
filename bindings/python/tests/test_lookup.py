"""Library and model lookup order."""

import os
import shutil
import subprocess
import sys
import warnings

import pytest

import libemb
from libemb import _lib
from embtest import BUILTIN, DEFAULT, ROOT

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
    # the real model when `make models` made it (dim 384), else the demo (256), saying so
    assert os.path.samefile(model_path, DEFAULT)
    assert dim == ("256" if DEFAULT == BUILTIN else "384")
    assert ("DemoModelWarning" in proc.stderr) == (DEFAULT == BUILTIN), proc.stderr


def test_emb_library_environment_comes_first(tmp_path):
    proc = run_py("import libemb; libemb.Model()", {"EMB_LIBRARY": str(tmp_path / "missing.so.1")})
    assert proc.returncode != 0
    assert "LibraryNotFoundError" in proc.stderr and "EMB_LIBRARY" in proc.stderr


def test_explicit_library_comes_first():
    lib = os.path.join(ROOT, "lib", "libemb.so.1")
    assert _lib.candidates(lib)[0] == ("library= argument", lib)
    with libemb.Model(library=lib) as m:
        assert os.path.samefile(m.path, DEFAULT)


def test_emb_model_environment(bert_e5, monkeypatch):
    monkeypatch.setenv("EMB_MODEL", bert_e5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", libemb.DemoModelWarning)  # the user's choice: no warning
        with libemb.Model() as m:
            assert m.dim == 32 and m.path == bert_e5


@pytest.fixture
def layout(tmp_path, bert_e5, monkeypatch):
    """layout(*files) -> (library, prefix, source): <prefix>/lib/libemb.so.1 (a
    copy) and a source tree standing in for this one, with the fixture bert-e5
    (dim 32, unlike the demo's 256) copied to each of `files` (relative to
    tmp_path: "prefix/share/emb/NAME" or "source/models/NAME")."""
    prefix, source = tmp_path / "prefix", tmp_path / "source"
    for d in (prefix / "lib", prefix / "share" / "emb", source / "models"):
        d.mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, "lib", "libemb.so.1"), prefix / "lib" / "libemb.so.1")
    monkeypatch.setattr(_lib, "SOURCE_ROOT", str(source))
    monkeypatch.delenv("EMB_MODEL", raising=False)

    def make(*files):
        for f in files:
            shutil.copy(bert_e5, tmp_path / f)
        return str(prefix / "lib" / "libemb.so.1"), prefix, source
    return make


def open_quietly(library):
    """Model(library=...).path, failing on a DemoModelWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", libemb.DemoModelWarning)
        with libemb.Model(library=library) as m:
            assert m.dim == 32
            return m.path


def test_installed_layout(layout):
    # <prefix>/lib/libemb.so.1 finds <prefix>/share/emb/: the real model before the demo
    lib, prefix, _ = layout("prefix/share/emb/wordnet-mini.h5", "prefix/share/emb/all-MiniLM-L6-v2.h5")
    assert open_quietly(lib) == str(prefix / "share" / "emb" / "all-MiniLM-L6-v2.h5")


def test_real_model_anywhere_beats_the_demo(layout):
    lib, _, source = layout("prefix/share/emb/wordnet-mini.h5", "source/models/all-MiniLM-L6-v2.h5")
    assert open_quietly(lib) == str(source / "models" / "all-MiniLM-L6-v2.h5")


def test_installed_before_source(layout):
    lib, prefix, _ = layout("prefix/share/emb/all-MiniLM-L6-v2.h5", "source/models/all-MiniLM-L6-v2.h5")
    assert open_quietly(lib) == str(prefix / "share" / "emb" / "all-MiniLM-L6-v2.h5")


def test_demo_fallback_warns_why(layout):
    lib, prefix, source = layout("prefix/share/emb/wordnet-mini.h5")
    demo = str(prefix / "share" / "emb" / "wordnet-mini.h5")
    with pytest.warns(libemb.DemoModelWarning) as record:
        with libemb.Model(library=lib) as m:
            assert m.path == demo and m.dim == 32
    assert len(record) == 1
    assert str(record[0].message) == (
        "libemb: using the demo model wordnet-mini (%s): no real model found (all-MiniLM-L6-v2.h5 "
        "not in %s, %s); run 'make models' to fetch one, or pass a path"
        % (demo, prefix / "share" / "emb", source / "models"))
    assert record[0].filename == __file__  # points at the Model() call


def test_no_default_model(layout):
    lib, prefix, source = layout()
    with pytest.raises(libemb.EmbError) as e:
        libemb.Model(library=lib)
    assert e.value.status == libemb.Status.EMB_ERR_IO
    assert "all-MiniLM-L6-v2.h5 or wordnet-mini.h5 not in %s, %s" % (
        prefix / "share" / "emb", source / "models") in str(e.value)
