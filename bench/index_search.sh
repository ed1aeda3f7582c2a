#!/bin/sh
# Exact search over 1 M x 384 stored vectors (docs/performance.md,
# "Search over stored vectors"): builds a vectors file of random unit
# vectors under build/ (not committed; BENCH_ROWS to change the count),
# then times `emb search --index --timing` for f32, int8 and binary (with
# the default rescoring, 4 x top) at 1 and 2 threads, and this machine's
# memory read bandwidth (bench/membw.c) for the bound: a float scan reads
# rows x dim x 4 bytes per query, int8 a quarter of that, binary 1/32.
# Usage: sh bench/index_search.sh [MODEL]   (from the source tree, after make)
set -e
EMB=${EMB:-bin/emb}
MODEL=${1:-models/all-MiniLM-L6-v2.h5}
ROWS=${BENCH_ROWS:-1000000}
OUT=build/bench
FILE=$OUT/vectors-$ROWS.h5
mkdir -p $OUT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ ! -f "$FILE" ]; then
    echo "writing $FILE ($ROWS rows) ..."
    /usr/bin/python3 bench/index_search.py "$EMB" "$MODEL" "$FILE" "$ROWS"
fi
cc -O2 -march=native -pthread -o $OUT/membw bench/membw.c
echo "memory read bandwidth (GB/s, best of 5 over 1 GiB):"
$OUT/membw 1024 2 | while read t g; do echo "  $t thread(s): $g"; done
# warm the page cache (the scan then reads memory, not the disk)
cat "$FILE" > /dev/null
Q="how do plants make food"
for i in 2 3 4 5 6 7 8 9 10 11; do Q="$Q|query number $i about something"; done
for form in f32 int8 binary; do
    for t in 1 2; do
        # 11 queries: the first one also faults the mapping in; the timing
        # line gives it apart, then ms per query of the other 10 (query
        # embedding and output excluded)
        IFS='|'
        set -- $Q
        unset IFS
        EMB_NUM_THREADS=$t $EMB search -m "$MODEL" --index "$FILE" --using $form --top 10 \
            --timing "$@" 2>&1 >/dev/null | sed "s/^/  threads $t: /"
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
