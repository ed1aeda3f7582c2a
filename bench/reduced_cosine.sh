#!/bin/sh
# Issue 5, goal 6 on full-size random models: the cosine between each text's
# fp32 vector and its reduced-precision vector, over the passages and
# queries of examples/ (the worst is printed; the goal is >= 0.999): bf16
# compute (`emb embed --compute bf16`) on each model, and the int8 file
# (`emb convert --dtype int8`) where one sits beside it as NAME-int8.h5.
# The models are the ones bench/run.sh generates in build/bench/.
# Usage (from the project root): sh bench/reduced_cosine.sh [MODEL.h5 ...]
set -e
EMB=${EMB_BIN:-bin/emb}
PY=/usr/bin/python3
DIR=${BENCH_DIR:-build/bench}
[ $# -gt 0 ] || set -- "$DIR/e5-small-v2.h5" "$DIR/e5-base-v2.h5" "$DIR/qwen3-embedding-0.6b-bf16.h5"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
{ cat examples/passages.txt; $PY -c '
import json, sys
for f in ("examples/beir-mini/corpus.jsonl", "examples/beir-mini/queries.jsonl"):
    for line in open(f):
        print(json.loads(line)["text"].replace("\n", " "))
'; } > "$TMP/texts.txt"

# compare LABEL A B: the cosines between the vectors in files A and B
compare() {
    $PY - "$1" "$2" "$3" <<'PYEOF'
import json, sys
import numpy as np
a = np.array([json.loads(l) for l in open(sys.argv[2])], dtype=np.float64)
b = np.array([json.loads(l) for l in open(sys.argv[3])], dtype=np.float64)
cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
print("%s: %d texts, cosine to fp32 worst %.6f, median %.6f" % (sys.argv[1], len(cos), cos.min(), np.median(cos)))
PYEOF
}

for m in "$@"; do
    [ -f "$m" ] || { echo "missing $m (run sh bench/run.sh first)" >&2; exit 1; }
    "$EMB" embed -m "$m" < "$TMP/texts.txt" > "$TMP/f32.txt"
    "$EMB" embed -m "$m" --compute bf16 < "$TMP/texts.txt" > "$TMP/bf16.txt"
    compare "$m, bf16 compute" "$TMP/f32.txt" "$TMP/bf16.txt"
    i8="${m%.h5}-int8.h5"
    if [ -f "$i8" ]; then
        "$EMB" embed -m "$i8" < "$TMP/texts.txt" > "$TMP/int8.txt"
        compare "$i8" "$TMP/f32.txt" "$TMP/int8.txt"
    fi
done
