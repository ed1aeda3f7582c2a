"""Shared fixtures: paths of the project, the CLI, and fixture models
converted once per session into a temporary directory."""

import json
import os
import subprocess

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "models")
BUILTIN = os.path.join(ROOT, "models", "wordnet-mini.h5")

# conversion overrides a plain LM folder needs (see its golden/README.md)
CONVERT_OPTIONS = {
    "mistral-lm": dict(pooling="lasttoken-logits", template="[INST] {text} [/INST]", normalize=False),
}


def emb_bin():
    path = os.environ.get("EMB_BIN") or os.path.join(ROOT, "bin", "emb")
    return os.path.abspath(path)


def run_cli(args, stdin=b""):
    """Run bin/emb with args; returns stdout bytes (fails the test on a non-zero exit)."""
    proc = subprocess.run([emb_bin()] + args, input=stdin, capture_output=True)
    assert proc.returncode == 0, "emb %s failed: %s" % (" ".join(args), proc.stderr.decode())
    return proc.stdout


def cli_embed_f32(model_path, texts, kind=None, prompt=None):
    """Vectors from `emb embed --format f32 --jsonl` (texts may hold newlines and U+0000)."""
    args = ["embed", "-m", model_path, "--format", "f32", "--jsonl"]
    if kind is not None:
        args += ["--kind", kind]
    if prompt is not None:
        args += ["--prompt", prompt]
    stdin = "".join(json.dumps(t) + "\n" for t in texts).encode()
    return run_cli(args, stdin)


def load_cases(name):
    with open(os.path.join(FIXTURES, name, "golden", "cases.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


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
