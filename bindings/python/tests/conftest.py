"""Session fixtures: fixture models converted once into a temporary directory."""

import os

import pytest

from embtest import CONVERT_OPTIONS, FIXTURES


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


_converted = {}


@pytest.fixture(scope="session")
def convert_fixture(models_dir):
    """convert_fixture("bert-e5") -> path of the converted .h5 (libemb.convert, once per session)."""
    import libemb

    def convert(name):
        if name not in _converted:
            out = str(models_dir / (name + ".h5"))
            libemb.convert(os.path.join(FIXTURES, name), out, **CONVERT_OPTIONS.get(name, {}))
            _converted[name] = out
        return _converted[name]
    return convert


@pytest.fixture(scope="session")
def bert_e5(convert_fixture):
    return convert_fixture("bert-e5")
