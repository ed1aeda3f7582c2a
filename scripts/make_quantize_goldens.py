#!/usr/bin/env python3
"""Goldens for `emb embed --quantize` (tests/python/test_bulk.py): sentence-
transformers' quantize_embeddings over real vectors. Run once with the Python
that has sentence-transformers (not Debian's):

    python3 scripts/make_quantize_goldens.py

It encodes 300 texts with the fixture model tests/fixtures/models/bert-e5
(sentence-transformers, fp32), quantizes them with quantize_embeddings
(precision "int8", calibrated on the vectors themselves, and "ubinary"), and
writes tests/fixtures/bulk/quantize.json: the vectors as float32 hex and both
outputs. The test checks its own NumPy statement of the formula against
these, then the file `emb embed` writes against that formula."""
import json
import os

import numpy as np
from sentence_transformers import SentenceTransformer
from sentence_transformers.util.quantization import quantize_embeddings

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
WORDS = ["river", "engine", "garden", "theory", "market", "protein", "window", "signal",
         "winter", "language", "planet", "bridge", "memory", "violin", "harbor", "circuit"]


def texts(n=300):
    """The same deterministic texts the test embeds."""
    return [f"{WORDS[i % 16]} {WORDS[(i * 7) % 16]} number {i} and {WORDS[(i * 3 + 5) % 16]}"
            for i in range(n)]


def main():
    model = SentenceTransformer(os.path.join(ROOT, "tests", "fixtures", "models", "bert-e5"),
                                device="cpu")
    vecs = model.encode(texts(), convert_to_numpy=True).astype(np.float32)
    int8 = quantize_embeddings(vecs, precision="int8")
    ubin = quantize_embeddings(vecs, precision="ubinary")
    out = {
        "shape": list(vecs.shape),
        "vectors_f32_hex": vecs.astype("<f4").tobytes().hex(),
        "int8": int8.astype(int).tolist(),
        "ubinary": ubin.astype(int).tolist(),
    }
    path = os.path.join(ROOT, "tests", "fixtures", "bulk", "quantize.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(path, vecs.shape)


if __name__ == "__main__":
    main()
