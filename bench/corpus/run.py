#!/usr/bin/env python3
"""The seed's workload, real (issue 19, item 4; the measurement of item 1).

Indexes the python3.11-doc corpus (bench/corpus/make_corpus.py) with the
default real model and its int8 file, and encodes the same texts with
sentence-transformers, on the same number of threads; then checks that bulk
throughput on the text is within 10 % of `emb bench` on the same token ids.

Run with the Python that has torch and sentence-transformers (the pyenv
`python3` first on PATH; numpy is the only other import), from a built tree:

    python3 bench/corpus/run.py [--threads 2] [--limit N] [--skip-st] [--rounds 1]

or `make bench-corpus`. Needs `apt-get install python3.11-doc` (the corpus is
made on first use with Debian's /usr/bin/python3; not part of CI). A full run
takes about 45 to 60 minutes on an idle 2-core machine (estimated from the CPU
times of smoke runs: the 1.67 M tokens go four times through libemb, once
through PyTorch). Everything generated goes to
build/corpus/ (never committed).

Rows, each a separate process timed from outside (wall clock with
time.perf_counter around the process, peak RSS from os.wait4's rusage of that
child alone):
  libemb f32 / int8  `emb embed -m MODEL --input CORPUS --out V.h5` when the
                     binary has the bulk command, else `emb embed --jsonl
                     --format f32 < CORPUS > V.f32` (stdin to a raw file);
                     EMB_NUM_THREADS=threads
  emb bench f32/int8 `emb bench -m MODEL --input CORPUS --jsonl --reps 1
                     --warmup 0 --json --threads T`: the same token ids,
                     encode only (32 a call, as emb embed)
  sentence-transformers  SentenceTransformer(models/all-MiniLM-L6-v2,
                     device="cpu") with torch.set_num_threads(T),
                     encode(texts, batch_size=32); the process's wall and the
                     encode() call alone
Checks: the worst cosine between sentence-transformers' and libemb f32's
vectors on 200 texts spread over the corpus must be >= 0.9999 (equal work);
the int8 file's worst cosine is reported. Bulk tokens/s over the process's
wall against emb bench's tokens/s: ratio >= 0.90 passes item 1's "within
10 %" (the bulk command's own summary rate, which leaves out its fixed costs
at start and end, is shown too) (each process's CPU time is printed beside it: on a loaded machine the
wall clock mostly measures the neighbours). The load average is recorded before each row; when it is above 0.5 the
numbers are marked as taken under load.

Output: a table on stdout (paste into docs/performance.md) and the rows as
JSON lines in build/corpus/results.jsonl.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "build", "corpus")
CORPUS = os.path.join(OUT, "python3.11-doc.jsonl")
MODEL_DIR = os.path.join(ROOT, "models", "all-MiniLM-L6-v2")
MODELS = {"f32": MODEL_DIR + ".h5", "int8": MODEL_DIR + "-int8.h5"}
SAMPLE = 200
ST_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_child(argv, env=None, stdin=None, stdout=None):
    """Run argv to completion: (exit status, wall s, peak RSS MiB, stderr text,
    CPU s = user + system of that child)."""
    e = dict(os.environ)
    e.update(env or {})
    errpath = os.path.join(OUT, "child.stderr")
    with open(errpath, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, env=e, stdin=stdin, stdout=stdout, stderr=err, cwd=ROOT)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    with open(errpath, encoding="utf-8", errors="replace") as f:
        text = f.read()
    return p.returncode, wall, ru.ru_maxrss / 1024.0, text, ru.ru_utime + ru.ru_stime


def check(rc, what, stderr):
    if rc != 0:
        sys.exit("bench/corpus/run.py: %s failed (exit %d):\n%s" % (what, rc, stderr[-2000:]))


def texts_of(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def sample_indices(n):
    return sorted({i * n // SAMPLE for i in range(min(SAMPLE, n))})


# ------------------------------------------------------------ the corpus

def make_corpus(limit):
    if not os.path.exists(CORPUS):
        log("making the corpus (bench/corpus/make_corpus.py, Debian python3) ...")
        r = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "corpus",
                                                              "make_corpus.py"), "--out", CORPUS],
                           capture_output=True, text=True)
        check(r.returncode, "make_corpus.py", r.stdout + r.stderr)
    r = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Version}", "python3.11-doc"],
                       capture_output=True, text=True)
    package = r.stdout.strip() or "python3.11-doc (not installed?)"
    path = CORPUS
    if limit:
        path = os.path.join(OUT, "smoke-%d.jsonl" % limit)
        with open(CORPUS, encoding="utf-8") as f, open(path, "w", encoding="utf-8") as g:
            for i, line in enumerate(f):
                if i >= limit:
                    break
                g.write(line)
    import hashlib
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return path, package, digest


def token_stats(path, emb_lib):
    """Per-text token counts as libemb f32 encodes them (specials, truncation
    to max_tokens) and before truncation, through the Python binding."""
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    os.environ.setdefault("EMB_LIBRARY", emb_lib)
    import libemb
    texts = texts_of(path)
    with libemb.Model(MODELS["f32"], threads=1) as m:
        full = [len(m.tokenize(t)) for t in texts]
        cap = m.max_tokens
    enc = sorted(min(n, cap) for n in full)
    p95 = enc[min(len(enc) - 1, int(round(0.95 * (len(enc) - 1))))]
    return {"texts": len(texts), "tokens": sum(enc), "mean": statistics.fmean(enc),
            "median": statistics.median(enc), "p95": p95, "min": enc[0], "max": enc[-1],
            "truncated": sum(n > cap for n in full), "max_tokens": cap,
            "chars_mean": statistics.fmean(len(t) for t in texts)}


# ------------------------------------------------------------ the rows

def bulk_mode(emb):
    """'out' when this emb has `embed --input --out` (the bulk command),
    with the extra arguments it needs for JSONL, else 'stdout'."""
    probe = os.path.join(OUT, "probe.jsonl")
    with open(probe, "w", encoding="utf-8") as f:
        f.write('{"id": "p#1", "text": "probe"}\n')
    for extra in (["--format-in", "jsonl"], []):
        h5 = os.path.join(OUT, "probe.h5")
        for p in (h5, h5 + ".partial"):
            if os.path.exists(p):
                os.remove(p)
        r = subprocess.run([emb, "embed", "-m", MODELS["f32"], "--input", probe, "--out", h5]
                           + extra, capture_output=True, text=True, cwd=ROOT)
        if r.returncode == 0 and os.path.exists(h5):
            os.remove(h5)
            return "out", extra
    return "stdout", []


def run_bulk(emb, dtype, corpus, threads, mode, extra):
    env = {"EMB_NUM_THREADS": str(threads)}
    if mode == "out":
        out = os.path.join(OUT, "vectors-%s.h5" % dtype)
        for p in (out, out + ".partial"):
            if os.path.exists(p):
                os.remove(p)
        argv = [emb, "embed", "-m", MODELS[dtype], "--input", corpus, "--out", out] + extra
        rc, wall, rss, err, cpu = run_child(argv, env=env)
    else:
        out = os.path.join(OUT, "vectors-%s.f32" % dtype)
        argv = [emb, "embed", "-m", MODELS[dtype], "--jsonl", "--format", "f32"]
        with open(corpus, "rb") as fin, open(out, "wb") as fout:
            rc, wall, rss, err, cpu = run_child(argv, env=env, stdin=fin, stdout=fout)
    check(rc, " ".join(argv), err)
    m = re.search(r"(\d+) tokens", err)
    # the bulk command's summary: "... N tokens, S s, X texts/s, Y tokens/s -> OUT"
    summ = re.search(r"([\d.]+) s, [\d.]+ texts/s, (\d+) tokens/s", err)
    return {"summary_s": float(summ.group(1)) if summ else None,
            "summary_tokens_per_s": float(summ.group(2)) if summ else None,"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": rss, "out": out, "command": " ".join(
        os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in argv),
        "reported_tokens": int(m.group(1)) if m else None, "summary": err.strip()[-300:]}


def run_bench(emb, dtype, corpus, threads):
    argv = [emb, "bench", "-m", MODELS[dtype], "--input", corpus, "--jsonl", "--threads",
            str(threads), "--reps", "1", "--warmup", "0", "--json"]
    outpath = os.path.join(OUT, "bench-%s.json" % dtype)
    with open(outpath, "wb") as fout:
        rc, wall, rss, err, cpu = run_child(argv, stdout=fout)
    check(rc, " ".join(argv), err)
    with open(outpath, encoding="utf-8") as f:
        j = json.load(f)
    j["process_wall_s"] = wall
    j["process_cpu_s"] = cpu
    return j


def st_worker(a):
    """The sentence-transformers row, in its own process (see main)."""
    t0 = time.perf_counter()
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(a.threads)
    st = SentenceTransformer(MODEL_DIR, device="cpu")
    texts = texts_of(a.corpus)
    t1 = time.perf_counter()
    vec = st.encode(texts, batch_size=32, show_progress_bar=False, convert_to_numpy=True)
    t2 = time.perf_counter()
    idx = sample_indices(len(texts))
    np.save(a.st_sample, vec[idx].astype(np.float32))
    # after the timing: the tokens it ran (attention mask, truncation included)
    tokens = 0
    for i in range(0, len(texts), 256):
        tokens += int(st.tokenize(texts[i:i + 256])["attention_mask"].sum())
    json.dump({"encode_s": t2 - t1, "setup_s": t1 - t0, "tokens": tokens,
               "torch": torch.__version__, "threads": torch.get_num_threads(),
               "sentence_transformers": __import__("sentence_transformers").__version__,
               "max_seq_length": st.max_seq_length}, sys.stdout)


def run_st(corpus, threads):
    sample = os.path.join(OUT, "st-sample.npy")
    argv = [sys.executable, os.path.abspath(__file__), "--st-worker", "--corpus", corpus,
            "--threads", str(threads), "--st-sample", sample]
    outpath = os.path.join(OUT, "st.json")
    with open(outpath, "wb") as fout:
        rc, wall, rss, err, cpu = run_child(argv, env=ST_ENV, stdout=fout)
    check(rc, "sentence-transformers worker", err)
    with open(outpath, encoding="utf-8") as f:
        j = json.load(f)
    j.update({"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": rss, "sample": sample})
    return j


# ------------------------------------------------------------ the checks

def stored_rows(h5path, idx):
    """Rows idx of the vectors file's `vectors` dataset, through h5py in this
    Python or else Debian's (python3-h5py; scripts/install-deps.sh); None
    when neither has it."""
    import numpy as np
    try:
        import h5py
        with h5py.File(h5path, "r") as f:
            return f["vectors"][idx, :]
    except ImportError:
        pass
    npy = h5path + ".sample.npy"
    code = ("import sys, h5py, numpy\n"
            "f = h5py.File(sys.argv[1], 'r')\n"
            "numpy.save(sys.argv[2], f['vectors'][[int(i) for i in sys.argv[3:]], :])\n")
    r = subprocess.run(["/usr/bin/python3", "-c", code, h5path, npy] + [str(i) for i in idx],
                       capture_output=True, text=True)
    if r.returncode != 0:
        log("cannot read %s with h5py: %s" % (h5path, r.stderr.strip()[-300:]))
        return None
    return np.load(npy)


def agreement(corpus, rows, emb_lib):
    """Worst cosine of each libemb row to sentence-transformers on the sample
    texts; for the raw-f32 runs also that the run's own vectors of those texts
    are bitwise the binding's (the library's determinism: batch, position)."""
    import numpy as np
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    os.environ.setdefault("EMB_LIBRARY", emb_lib)
    import libemb
    texts = texts_of(corpus)
    idx = sample_indices(len(texts))
    ref = np.load(rows["st"]["sample"]).astype(np.float64)
    out = {}
    for dtype in ("f32", "int8"):
        with libemb.Model(MODELS[dtype], threads=2) as m:
            v = m.encode([texts[i] for i in idx]).astype(np.float64)
        cos = (v * ref).sum(1) / (np.linalg.norm(v, axis=1) * np.linalg.norm(ref, axis=1))
        w = int(np.argmin(cos))
        res = {"worst_cosine": float(cos[w]), "worst_id_index": idx[w], "mean_cosine": float(cos.mean())}
        run_out = rows["bulk_" + dtype]["out"]
        if run_out.endswith(".f32"):
            allv = np.fromfile(run_out, dtype=np.float32).reshape(len(texts), -1)
            res["run_bitwise_binding"] = bool(np.array_equal(allv[idx], v.astype(np.float32)))
        else:
            got = stored_rows(run_out, idx)
            res["run_bitwise_binding"] = (None if got is None else
                                          bool(np.array_equal(got, v.astype(np.float32))))
        out[dtype] = res
    return out


# ------------------------------------------------------------ report

def fmt_wall(s):
    return "%d min %02d s" % (s // 60, round(s % 60)) if s >= 60 else "%.1f s" % s


def report(info, stats, rows, agree, loads):
    tokens, n = stats["tokens"], stats["texts"]
    under_load = max(loads.values()) > 0.5
    print("corpus: %s, %d paragraphs, sha256 %s" % (info["package"], n, info["sha256"]))
    print("tokens (all-MiniLM-L6-v2 tokenizer, specials, truncated to %d): total %d, mean %.1f, "
          "median %g, p95 %d, max %d; %d texts truncated; %.0f characters a text on average"
          % (stats["max_tokens"], tokens, stats["mean"], stats["median"], stats["p95"],
             stats["max"], stats["truncated"], stats["chars_mean"]))
    print("threads %d; bulk command: %s; load average before each row: %s%s" % (
        info["threads"], info["mode"], ", ".join("%s %.2f" % kv for kv in loads.items()),
        " -- NOT IDLE: smoke numbers only" if under_load else ""))
    print()
    print("| runtime | wall | tokens/s | texts/s | peak RSS | CPU time (user + sys) |")
    print("|---|---|---|---|---|---|")
    for key, label in (("bulk_f32", "libemb f32 (`emb embed`, all-MiniLM-L6-v2.h5)"),
                       ("bulk_int8", "libemb int8 (`emb embed`, all-MiniLM-L6-v2-int8.h5)"),
                       ("st", "sentence-transformers %s fp32 (torch %s), `encode`, batch 32"
                        % (info["st_version"], rows["st"]["torch"]) if "st" in rows else "")):
        if key not in rows:
            continue
        r = rows[key]
        w = r["wall_s"]
        extra = " (encode() alone %s)" % fmt_wall(r["encode_s"]) if key == "st" else ""
        print("| %s | %s%s | %.0f | %.1f | %.0f MB | %s |" % (
            label, fmt_wall(w), extra, tokens / w, n / w, r["peak_rss_mb"], fmt_wall(r["cpu_s"])))
    print()
    print("| model file | `emb bench --input` tokens/s (encode only) | bulk tokens/s (whole process) "
          "| bulk / bench | within 10 % | CPU s: bench process / bulk process "
          "| bulk tokens/s by its summary line |")
    print("|---|---|---|---|---|---|---|")
    verdict = {}
    for dtype in ("f32", "int8"):
        b, r = rows["bench_" + dtype], rows["bulk_" + dtype]
        ratio = (tokens / r["wall_s"]) / b["tokens_per_s"]
        verdict[dtype] = ratio >= 0.90
        summ = r.get("summary_tokens_per_s")
        print("| %s | %.0f | %.0f | %.3f | %s | %.1f / %.1f | %s |" % (
            dtype, b["tokens_per_s"], tokens / r["wall_s"], ratio, "yes" if ratio >= 0.90 else "NO",
            b["process_cpu_s"], r["cpu_s"],
            "%.0f (%.3f of bench)" % (summ, summ / b["tokens_per_s"]) if summ else "–"))
        if b["tokens"] != tokens:
            print("  note: emb bench counted %d tokens, the binding %d" % (b["tokens"], tokens))
    if "st" in rows and rows["st"]["tokens"] != tokens:
        print("note: sentence-transformers ran %d tokens, libemb %d" % (rows["st"]["tokens"], tokens))
    if agree:
        print()
        for dtype, a in agree.items():
            print("%s vs sentence-transformers on %d sample texts: worst cosine %.6f (text %d), "
                  "mean %.7f; run's vectors bitwise the binding's: %s"
                  % (dtype, min(SAMPLE, n), a["worst_cosine"], a["worst_id_index"],
                     a["mean_cosine"], a["run_bitwise_binding"]))
    ok = all(verdict.values()) and (not agree or agree["f32"]["worst_cosine"] >= 0.9999)
    return ok, under_load


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0,
                    help="smoke run: only the first N paragraphs (0 = all)")
    ap.add_argument("--skip-st", action="store_true", help="leave out sentence-transformers")
    ap.add_argument("--emb", default=os.path.join(ROOT, "bin", "emb"))
    ap.add_argument("--st-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--corpus", help=argparse.SUPPRESS)
    ap.add_argument("--st-sample", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.st_worker:
        return st_worker(a)

    os.makedirs(OUT, exist_ok=True)
    emb_lib = os.path.join(ROOT, "lib", "libemb.so.1")
    for p in (a.emb, emb_lib, MODELS["f32"], MODELS["int8"], MODEL_DIR):
        if not os.path.exists(p):
            sys.exit("bench/corpus/run.py: %s missing (make; make models)" % p)
    corpus, package, digest = make_corpus(a.limit)
    log("corpus %s (%s)" % (corpus, package))
    stats = token_stats(corpus, emb_lib)
    log("tokens: %d in %d texts" % (stats["tokens"], stats["texts"]))
    mode, extra = bulk_mode(a.emb)
    info = {"package": package, "sha256": digest, "threads": a.threads, "mode": mode,
            "limit": a.limit, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "st_version": ""}
    rows, loads = {}, {}
    steps = [("bench_f32", lambda: run_bench(a.emb, "f32", corpus, a.threads)),
             ("bulk_f32", lambda: run_bulk(a.emb, "f32", corpus, a.threads, mode, extra)),
             ("bench_int8", lambda: run_bench(a.emb, "int8", corpus, a.threads)),
             ("bulk_int8", lambda: run_bulk(a.emb, "int8", corpus, a.threads, mode, extra))]
    if not a.skip_st:
        steps.append(("st", lambda: run_st(corpus, a.threads)))
    for key, fn in steps:
        loads[key] = os.getloadavg()[0]
        log("%s (load %.2f) ..." % (key, loads[key]))
        rows[key] = fn()
        log("  %.1f s" % rows[key].get("wall_s", rows[key].get("process_wall_s", 0.0)))
    agree = None
    if "st" in rows:
        info["st_version"] = rows["st"]["sentence_transformers"]
        agree = agreement(corpus, rows, emb_lib)
    ok, under_load = report(info, stats, rows, agree, loads)
    with open(os.path.join(OUT, "results.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps({"info": info, "tokens": stats, "rows": rows, "agreement": agree,
                            "load": loads, "under_load": under_load, "pass": ok}) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
