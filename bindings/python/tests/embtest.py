"""Helpers of the Python binding's tests: project paths, the CLI, the goldens."""

import json
import os
import subprocess

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "models")
BUILTIN = os.path.join(ROOT, "models", "wordnet-mini.h5")
# the default model without $EMB_MODEL: the real one when `make models` made it
REAL = os.path.join(ROOT, "models", "all-MiniLM-L6-v2.h5")
DEFAULT = REAL if os.path.exists(REAL) else BUILTIN

# conversion overrides a plain LM folder needs (see its golden/README.md)
CONVERT_OPTIONS = {
    "mistral-lm": dict(pooling="lasttoken-logits", template="[INST] {text} [/INST]", normalize=False),
}
# goldens made from (prompt + text).strip(), as sentence-transformers up to 5.3
# (tests/fixtures/models/README.md): converted with strip, as tests/test_golden.c
for _name in ("xlmr-me5", "mistral-e5", "qwen2-gte", "qwen3-emb", "qwen3-emb-bf16"):
    CONVERT_OPTIONS[_name] = dict(strip=True)


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


# texts for the scale-out tests (libemb.ray): short and long (truncated at the
# fixture's 64 tokens), Unicode, one with a newline and one with U+0000
SCALE_TEXTS = (["passage %d: plants turn sunlight, water and carbon dioxide into sugar" % i
                for i in range(20)]
               + ["Größe, café, naïve — ünïcödé %d ✓" % i for i in range(5)]
               + ["a long passage " + "about the water cycle and clouds " * (8 + i) for i in range(6)]
               + ["two\nlines", "nul\x00inside", "x", "Photosynthesis."]
               + ["the heart pumps blood %d" % i for i in range(12)])
SCALE_IDS = ["doc-%04d" % (7 * i + 3) for i in range(len(SCALE_TEXTS))]


def reference_vectors(model_path, texts, kind=None):
    """The single-process reference: `emb embed --format f32` as a (n, dim) float32 array."""
    import numpy as np
    raw = cli_embed_f32(model_path, texts, kind=kind)
    return np.frombuffer(raw, dtype="<f4").reshape(len(texts), -1)
