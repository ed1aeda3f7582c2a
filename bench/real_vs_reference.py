#!/usr/bin/env python3
"""libemb against its reference stack (sentence-transformers over PyTorch) on a
real checkpoint, on real text through each one's tokenizer, in one run.

Run with the Python that has torch + sentence-transformers (the pyenv
`python3` first on PATH, see scripts/make_real_goldens.py); libemb is reached
through its own ctypes binding (bindings/python), so both run in this process
with the same number of threads (torch.set_num_threads and emb's n_threads).

    python3 bench/real_vs_reference.py [--model all-MiniLM-L6-v2] [--threads 2] [--rounds 3]

Workloads, interleaved over --rounds rounds (best round reported):
  passages   32 passages of tests/fixtures/real/texts.jsonl and
             examples/beir-mini/corpus.jsonl in one call (texts/s, tokens/s)
  query      one short query at a time (ms per query, median of 50)
Rows: sentence-transformers fp32, libemb fp32 (models/<name>.h5), libemb int8
(models/<name>-int8.h5), and the cosine of each libemb row's vectors to
sentence-transformers' on the passages.
"""
import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("EMB_LIBRARY", os.path.join(ROOT, "lib", "libemb.so.1"))


def texts():
    out = []
    with open(os.path.join(ROOT, "examples", "beir-mini", "corpus.jsonl"), encoding="utf-8") as f:
        out += [json.loads(line)["text"] for line in f if line.strip()]
    with open(os.path.join(ROOT, "tests", "fixtures", "real", "texts.jsonl"), encoding="utf-8") as f:
        out += [json.loads(line)["text"] for line in f if line.strip()]
    out = [t for t in out if t.strip()]
    return (out * 4)[:32]


def timed(fn, reps):
    best = None
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()

    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer
    import libemb

    torch.set_num_threads(a.threads)
    st = SentenceTransformer(os.path.join(ROOT, "models", a.model), device="cpu")
    f32 = libemb.Model(os.path.join(ROOT, "models", a.model + ".h5"), threads=a.threads)
    i8 = libemb.Model(os.path.join(ROOT, "models", a.model + "-int8.h5"), threads=a.threads)
    passages = texts()
    query = "how do plants make their food"
    n_tok = sum(len(st.tokenize([t])["input_ids"][0]) for t in passages)

    rows = {
        "sentence-transformers fp32 (torch %s)" % torch.__version__:
            (lambda: st.encode(passages, batch_size=32), lambda: st.encode([query])),
        "libemb fp32": (lambda: f32.encode(passages), lambda: f32.encode([query])),
        "libemb int8": (lambda: i8.encode(passages), lambda: i8.encode([query])),
    }
    best = {k: [None, None] for k in rows}
    for _ in range(a.rounds):
        for name, (batch, one) in rows.items():
            batch(), one()  # warm up
            b = timed(batch, 3)
            qs = []
            for _ in range(50):
                t0 = time.perf_counter()
                one()
                qs.append(time.perf_counter() - t0)
            q = statistics.median(qs)
            best[name][0] = b if best[name][0] is None else min(best[name][0], b)
            best[name][1] = q if best[name][1] is None else min(best[name][1], q)

    ref = np.asarray(st.encode(passages, batch_size=32))
    print("%s, %d threads, %d passages (%d tokens), best of %d rounds"
          % (a.model, a.threads, len(passages), n_tok, a.rounds))
    print("| runtime | passages texts/s | tokens/s | one query, ms | worst cosine to sentence-transformers |")
    print("|---|---|---|---|---|")
    for name, (b, q) in best.items():
        if name.startswith("libemb"):
            m = f32 if "fp32" in name else i8
            v = np.asarray(m.encode(passages))
            cos = (v * ref).sum(1) / np.linalg.norm(v, axis=1) / np.linalg.norm(ref, axis=1)
            c = "%.6f" % cos.min()
        else:
            c = "(reference)"
        print("| %s | %.1f | %.0f | %.2f | %s |" % (name, len(passages) / b, n_tok / b, q * 1e3, c))


if __name__ == "__main__":
    main()
