#!/usr/bin/env python3
"""Throughput of libemb.ray on this node next to `emb embed` (docs/scale.md).

    build/venv-ray/bin/python bench/ray_scale.py [-m models/all-MiniLM-L6-v2.h5] [-n 4000]

The texts: the first N paragraphs (40..1500 characters, whitespace joined) of
the plain-text files under /usr/share/doc (READMEs, copyright files: real
English prose and licence text that every Debian system ships). Prints
texts/s and tokens/s (tokens as the model sees them, truncated, specials
included) of: `emb embed --format f32` single process (all CPUs), and Ray
map_batches on a local cluster of every CPU as 1 worker x all CPUs and as
one worker per CPU; Ray's startup apart. Checks the vectors are bitwise equal.
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def paragraphs(n):
    out = []
    for d, _, files in sorted(os.walk("/usr/share/doc")):
        for name in sorted(files):
            path = os.path.join(d, name)
            if os.path.islink(path) or not (name.startswith(("README", "copyright"))):
                continue
            opener = gzip.open if name.endswith(".gz") else open
            try:
                with opener(path, "rt", encoding="utf-8") as f:
                    text = f.read()
            except (UnicodeDecodeError, OSError):
                continue
            for para in text.split("\n\n"):
                p = " ".join(para.split())
                if 40 <= len(p) <= 1500 and p not in out:
                    out.append(p)
                    if len(out) == n:
                        return out
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-m", "--model", default=os.path.join(ROOT, "models", "all-MiniLM-L6-v2.h5"))
    ap.add_argument("-n", type=int, default=4000)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    os.environ.setdefault("EMB_LIBRARY", os.path.join(ROOT, "lib", "libemb.so.1"))
    import libemb
    import libemb.ray

    texts = paragraphs(args.n)
    cpus = len(os.sched_getaffinity(0))
    with libemb.Model(args.model, threads=1) as m:
        tokens = sum(len(m.tokenize(t, truncate=True)) for t in texts)
    print("texts: %d paragraphs from /usr/share/doc, %d tokens (%.1f per text), %d CPUs, load %s"
          % (len(texts), tokens, tokens / len(texts), cpus, os.getloadavg()))

    stdin = "".join(json.dumps(t) + "\n" for t in texts).encode()
    t0 = time.monotonic()
    raw = subprocess.run([os.path.join(ROOT, "bin", "emb"), "embed", "-m", args.model, "--format",
                          "f32", "--jsonl"], input=stdin, capture_output=True, check=True).stdout
    s = time.monotonic() - t0
    want = np.frombuffer(raw, dtype="<f4").reshape(len(texts), -1)
    print("emb embed, 1 process, %d threads: %.2f s, %.1f texts/s, %.0f tokens/s (model load included)"
          % (cpus, s, len(texts) / s, tokens / s))

    import ray
    import ray.data
    t0 = time.monotonic()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             runtime_env={"env_vars": {"EMB_LIBRARY": os.environ["EMB_LIBRARY"],
                                       "PYTHONPATH": os.path.join(ROOT, "bindings", "python")}})
    print("ray.init (local cluster, %d CPUs): %.2f s" % (cpus, time.monotonic() - t0))
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    ids = ["%d" % i for i in range(len(texts))]
    for workers, per in ((1, cpus), (cpus, 1)):
        ds = ray.data.from_items([{"id": i, "text": t} for i, t in zip(ids, texts)],
                                 override_num_blocks=4 * cpus).materialize()
        t0 = time.monotonic()
        out = libemb.ray.embed_dataset(ds, args.model, workers=workers, cpus_per_worker=per,
                                       batch_size=args.batch_size).materialize()
        s = time.monotonic() - t0
        table = ray.data.Dataset.to_arrow_refs(out)
        import pyarrow as pa
        t = pa.concat_tables(ray.get(table))
        got = t.column("embedding").combine_chunks().values.to_numpy().reshape(len(texts), -1)
        same = t.column("id").to_pylist() == ids and got.tobytes() == want.tobytes()
        print("ray map_batches, %d worker(s) x %d CPU(s), batch %d: %.2f s, %.1f texts/s, %.0f "
              "tokens/s (actor start and model open included); bitwise = emb embed: %s"
              % (workers, per, args.batch_size, s, len(texts) / s, tokens / s, same))
    ray.shutdown()


if __name__ == "__main__":
    main()
