#!/bin/sh
# The speed issue's workloads (docs/performance.md), run by `make bench`:
# full-size random-weight e5-small-v2, e5-base-v2 (f32, and int8 files
# converted from them) and
# Qwen3-Embedding-0.6B (bf16) are generated into build/bench/ when missing
# (bench/make_model.py) and converted with `emb convert`; then `emb bench`
# runs each workload on synthetic token ids (no tokenizer time) and a table
# is printed, with the JSON lines kept in build/bench/results.jsonl.
#
# usage (from the project root): sh bench/run.sh [quick]
#   quick                 e5-small only (about half a minute)
#   EMB_BIN=bin/emb       the emb program
#   BENCH_DIR=build/bench where models and results go
#   BENCH_THREADS=2       threads (the issue's numbers are 2 threads)
#   BENCH_REPS=5          timed repetitions of each batch workload (queries run
#                         4x as many; Qwen3 runs fewer, see below)
#   BENCH_QWEN=1          0 skips the Qwen3-0.6B rows (slow: minutes)
#
# The mixed-length batch is 32 lengths evenly spread over 16..256
# (16 + round(240·i/31), i = 0..31; 4352 tokens, as the issue's mixed set),
# given in the interleaved order i·13 mod 32 so that a sorted input is not
# handed to the library for free.
set -e
EMB=${EMB_BIN:-bin/emb}
PY=/usr/bin/python3
DIR=${BENCH_DIR:-build/bench}
T=${BENCH_THREADS:-2}
R=${BENCH_REPS:-5}
QWEN=${BENCH_QWEN:-1}
MIXED=16,117,217,70,171,24,124,225,78,179,31,132,233,86,186,39,140,241,93,194,47,148,248,101,202,55,155,256,109,210,62,163
[ "$1" = quick ] && QWEN=0
RESULTS=$DIR/results.jsonl

mkdir -p "$DIR"
: > "$RESULTS"

# model NAME CONFIG DTYPE: make and convert the model once
model() {
    if [ ! -f "$DIR/$1.h5" ]; then
        echo "generating $DIR/$1 ($2, $3 weights)" >&2
        $PY bench/make_model.py "$2" "$DIR/$1" --dtype "$3" >&2
        "$EMB" convert "$DIR/$1" "$DIR/$1.h5" >&2
    fi
}

# model_int8 NAME SRC: SRC's generated folder converted with --dtype int8
model_int8() {
    if [ ! -f "$DIR/$1.h5" ]; then
        echo "converting $DIR/$2 to int8" >&2
        "$EMB" convert "$DIR/$2" "$DIR/$1.h5" --dtype int8 >&2
    fi
}

# run LABEL MODEL ARGS...: one `emb bench --json` line, labelled
run() {
    label=$1
    m=$2
    shift 2
    echo "running: $label" >&2
    out=$("$EMB" bench -m "$DIR/$m.h5" --threads "$T" --json --peak "$@")
    printf '{"workload": "%s", "result": %s}\n' "$label" "$out" >> "$RESULTS"
}

model e5-small-v2 e5-small-v2 f32
run "e5-small, 32 x 128" e5-small-v2 --batch 32 --seq 128 --reps "$R"
run "e5-small, 32 mixed 16..256" e5-small-v2 --lengths $MIXED --reps "$R"
run "e5-small, one 16-token query" e5-small-v2 --batch 1 --seq 16 --reps $((R * 4)) --warmup 3
# reduced precision (goal 6): bf16 compute on the f32 file, and on a bf16 file
# (half the bytes to stream: what a latency-bound query needs)
run "e5-small, 32 x 128, bf16 compute" e5-small-v2 --batch 32 --seq 128 --reps "$R" --compute bf16
run "e5-small, 32 mixed, bf16 compute" e5-small-v2 --lengths $MIXED --reps "$R" --compute bf16
model e5-small-v2-bf16 e5-small-v2 bf16
run "e5-small bf16 file, one 16-token query, bf16 compute" e5-small-v2-bf16 --batch 1 --seq 16 --reps $((R * 4)) --warmup 3 --compute bf16
# int8 weights (convert time; the Linear layers run int8 compute)
model_int8 e5-small-v2-int8 e5-small-v2
run "e5-small int8 file, 32 x 128" e5-small-v2-int8 --batch 32 --seq 128 --reps "$R"
run "e5-small int8 file, 32 mixed 16..256" e5-small-v2-int8 --lengths $MIXED --reps "$R"
run "e5-small int8 file, one 16-token query" e5-small-v2-int8 --batch 1 --seq 16 --reps $((R * 4)) --warmup 3
if [ "$1" != quick ]; then
    model e5-base-v2 e5-base-v2 f32
    run "e5-base, 32 x 128" e5-base-v2 --batch 32 --seq 128 --reps "$R"
    run "e5-base, 32 mixed 16..256" e5-base-v2 --lengths $MIXED --reps "$R"
    run "e5-base, one 16-token query" e5-base-v2 --batch 1 --seq 16 --reps $((R * 4)) --warmup 3
    run "e5-base, 32 x 128, bf16 compute" e5-base-v2 --batch 32 --seq 128 --reps "$R" --compute bf16
    model e5-base-v2-bf16 e5-base-v2 bf16
    run "e5-base bf16 file, one 16-token query, bf16 compute" e5-base-v2-bf16 --batch 1 --seq 16 --reps $((R * 4)) --warmup 3 --compute bf16
    model_int8 e5-base-v2-int8 e5-base-v2
    run "e5-base int8 file, 32 x 128" e5-base-v2-int8 --batch 32 --seq 128 --reps "$R"
    run "e5-base int8 file, 32 mixed 16..256" e5-base-v2-int8 --lengths $MIXED --reps "$R"
    run "e5-base int8 file, one 16-token query" e5-base-v2-int8 --batch 1 --seq 16 --reps $((R * 4)) --warmup 3
fi
if [ "$QWEN" = 1 ]; then
    model qwen3-embedding-0.6b-bf16 qwen3-embedding-0.6b bf16
    run "Qwen3-0.6B bf16, 8 x 128" qwen3-embedding-0.6b-bf16 --batch 8 --seq 128 --reps 2
    run "Qwen3-0.6B bf16, one 16-token query" qwen3-embedding-0.6b-bf16 --batch 1 --seq 16 --reps 5 --warmup 1
    run "Qwen3-0.6B bf16, 8 x 128, bf16 compute" qwen3-embedding-0.6b-bf16 --batch 8 --seq 128 --reps 2 --compute bf16
    run "Qwen3-0.6B bf16, one 16-token query, bf16 compute" qwen3-embedding-0.6b-bf16 --batch 1 --seq 16 --reps 5 --warmup 1 --compute bf16
    run "Qwen3-0.6B bf16, 8 x 512 (memory)" qwen3-embedding-0.6b-bf16 --batch 8 --seq 512 --reps 1 --warmup 0
fi

$PY - "$RESULTS" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| workload | tokens | ms/batch median (min) | tokens/s | GFLOP/s | peak GEMM own / BLAS | open ms | peak RSS MB (file MB) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    j = r["result"]
    p = j.get("peak_gflops") or {}
    print("| %s | %d | %.1f (%.1f) | %.0f | %.1f | %.0f / %.0f | %.0f | %.0f (%.0f) |" % (
        r["workload"], j["tokens"], j["ms_median"], j["ms_min"], j["tokens_per_s"], j["gflops"],
        p.get("own", 0), p.get("blas", 0), j["open_ms"], j["peak_rss_mb"], j["model_file_mb"]))
print("\n%d threads; weights: %s" % (rows[0]["result"]["threads"],
      ", ".join(sorted({"%s %s" % (r["result"]["architecture"], r["result"]["weights_dtype"]) for r in rows}))))
EOF
