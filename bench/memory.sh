#!/bin/sh
# Flat memory across many consecutive encodes (issue 5, goal 7): runs
# `emb bench` on the same one-query workload with SHORT and LONG repetition
# counts and compares the peak RSS. A library that leaks or grows caches per
# call shows a higher peak after LONG calls than after SHORT ones; a flat one
# shows the same peak (page-size noise aside).
#
# usage (from the project root): sh bench/memory.sh [MODEL.h5 [SHORT [LONG]]]
#   defaults: build/bench/e5-small-v2.h5 (bench/run.sh makes it), 1000, 100000
#   EMB_BIN=bin/emb, BENCH_THREADS=2, BENCH_SEQ=16, BENCH_BATCH=1
# 100 000 e5-small queries take about 20 minutes on 2 shared cores; a tiny
# model (e.g. one converted from tests/fixtures/models/bert-e5) takes seconds.
# Exit status 1 when the LONG run's peak RSS exceeds the SHORT run's by more
# than 2 MB + 1 %.
set -e
EMB=${EMB_BIN:-bin/emb}
MODEL=${1:-build/bench/e5-small-v2.h5}
SHORT=${2:-1000}
LONG=${3:-100000}
T=${BENCH_THREADS:-2}
SEQ=${BENCH_SEQ:-16}
BATCH=${BENCH_BATCH:-1}

if [ ! -f "$MODEL" ]; then
    echo "bench/memory.sh: $MODEL not found (run sh bench/run.sh quick first, or pass a model)" >&2
    exit 2
fi
peak() {
    "$EMB" bench -m "$MODEL" --batch "$BATCH" --seq "$SEQ" --threads "$T" --reps "$1" --warmup 0 --json |
        /usr/bin/python3 -c 'import json, sys; j = json.load(sys.stdin); print(j["peak_rss_mb"], j["rss_after_open_mb"], round(j["ms_median"], 3))'
}
set -- $(peak "$SHORT")
short_peak=$1 open_rss=$2 short_ms=$3
set -- $(peak "$LONG")
long_peak=$1 long_ms=$3
echo "model $MODEL, batch $BATCH x $SEQ tokens, $T threads"
echo "RSS after open:          $open_rss MB"
echo "peak RSS, $SHORT encodes:  $short_peak MB (median $short_ms ms per call)"
echo "peak RSS, $LONG encodes: $long_peak MB (median $long_ms ms per call)"
/usr/bin/python3 - "$short_peak" "$long_peak" <<'EOF'
import sys
s, l = float(sys.argv[1]), float(sys.argv[2])
grew = l - s
ok = grew <= 2.0 + 0.01 * s
print("growth: %+.1f MB -> %s" % (grew, "flat" if ok else "NOT FLAT"))
sys.exit(0 if ok else 1)
EOF
