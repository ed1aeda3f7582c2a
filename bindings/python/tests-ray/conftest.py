"""Ray cluster tests of libemb.ray, run by tests/run-bindings.sh with
build/venv-ray/bin/python (scripts/install-deps.sh makes it). The fixtures
and helpers are the binding tests' (../tests)."""

import importlib.util
import os
import sys

TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests")
sys.path.insert(0, TESTS)

_spec = importlib.util.spec_from_file_location("binding_conftest", os.path.join(TESTS, "conftest.py"))
_binding = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_binding)
models_dir, convert_fixture, bert_e5 = _binding.models_dir, _binding.convert_fixture, _binding.bert_e5


def pytest_configure(config):
    # Ray's own deprecation notices about its DataContext fields, not ours
    config.addinivalue_line("filterwarnings", r"ignore::DeprecationWarning:ray\..*")
