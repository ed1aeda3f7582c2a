"""Helper of bench/index_search.sh: writes a vectors file (docs/format.md,
"Vectors files") of N random unit vectors of the model's dim, with the
int8 and binary forms, whose model attributes (probe, path) are those of
the model given, so that `emb search --index` accepts it. Not committed
data: the script writes it under build/ (1 M x 384 is 1.5 GB + 0.4 GB).

usage: index_search.py EMB MODEL OUT.h5 N"""

import json
import subprocess
import sys

import h5py
import numpy as np


def main():
    emb, model, out, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    probe = subprocess.run([emb, "embed", "-m", model, "--format", "f32", "--jsonl"],
                           input=(json.dumps("libemb model probe") + "\n").encode(),
                           capture_output=True, check=True).stdout
    probe = np.frombuffer(probe, dtype="<f4")
    dim = probe.size
    rng = np.random.default_rng(19)
    with h5py.File(out + ".tmp", "w") as f:
        for k, v in {"emb_vectors_version": np.int32(1), "count": np.uint64(n), "dim": np.uint64(dim),
                     "model_source": "benchmark (random vectors)", "model_sha256": "0" * 64,
                     "model_dtype": "f32", "model_probe": probe, "model_path": model,
                     "kind": "passage", "prompt": "", "normalized": np.int32(1), "truncate": np.int32(1),
                     "input_sha256": "0" * 64, "libemb_version": "bench"}.items():
            f.attrs[k] = v
        f.create_dataset("ids", data=np.array([str(i + 1) for i in range(n)], dtype=object),
                         dtype=h5py.string_dtype("utf-8"))
        vec = f.create_dataset("vectors", (n, dim), dtype="<f4")
        q8 = f.create_dataset("vectors_int8", (n, dim), dtype="i1")
        qb = f.create_dataset("vectors_binary", (n, (dim + 7) // 8), dtype="u1")
        lo = np.full(dim, np.inf, np.float32)
        hi = np.full(dim, -np.inf, np.float32)
        step = 65536
        for s in range(0, n, step):  # pass 1: vectors, binary, ranges
            x = rng.standard_normal((min(step, n - s), dim), dtype=np.float32)
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            vec[s:s + len(x)] = x
            qb[s:s + len(x)] = np.packbits(x > 0, axis=-1)
            lo = np.minimum(lo, x.min(axis=0))
            hi = np.maximum(hi, x.max(axis=0))
        steps = (hi - lo) / 255
        steps = np.where(steps == 0, 1, steps)
        for s in range(0, n, step):  # pass 2: int8 codes (sentence-transformers' formula)
            x = vec[s:s + step]
            q8[s:s + len(x)] = (np.clip(np.floor((x - lo) / steps), 0, 255) - 128).astype(np.int8)
        f.create_dataset("int8_ranges", data=np.stack([lo, hi]))
    import os
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
