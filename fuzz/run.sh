#!/bin/sh
# Build the libFuzzer harnesses (fuzz/fuzz_*.c) with clang against the
# library compiled with clang, ASan, UBSan and coverage instrumentation (into
# build/fuzz/), generate their seed corpora from tests/fixtures, and run each
# for SECONDS seconds, one after the other. Used by `make fuzz FUZZ_SECONDS=N`
# and fuzz/ci.sh; see docs/security.md, "Fuzzing".
#
#   sh fuzz/run.sh [SECONDS] [harness ...]     (default: 60, all harnesses)
#
# FUZZ_SEED=N fixes libFuzzer's random seed (0, the default, picks one), so a
# short run explores the same inputs every time (what `make check` does).
#
# Exits non-zero at the first harness that finds a crash, leak, timeout or
# broken invariant; the input is left in build/fuzz/artifacts/.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECONDS_EACH=${1:-60}
[ $# -gt 0 ] && shift
B=build/fuzz
DEPS="hdf5 openblas libutf8proc libpcre2-8 jansson"
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang is needed (Debian: apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi

CFLAGS="-std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -Wall -Wextra \
 -fno-sanitize-recover=undefined -DFUZZ_ROOT=\"$ROOT\" -Iinclude -Isrc -Ifuzz \
 $(pkg-config --cflags $DEPS)"
LIBS="$B/lib/libemb.a $(pkg-config --libs $DEPS) -lm -lpthread"
HARNESSES=${*:-$(cd fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}

# FUZZ_NO_BUILD=1: run the harnesses and seeds already in build/fuzz/
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    mkdir -p $B
    make --no-print-directory OUT=$B CC=clang SANITIZE=1 CFLAGS=-fsanitize=fuzzer-no-link \
        $B/lib/libemb.a >$B/build.log 2>&1 || { cat $B/build.log >&2; exit 2; }
    for h in $HARNESSES; do
        # shellcheck disable=SC2086
        # the server harness includes src/cli/serve.c and needs its other
        # parts and the CLI helpers
        extra_src=
        extra_libs=
        if [ "$h" = serve ]; then
            extra_src="src/cli/common.c src/cli/serve_queue.c src/cli/serve_json.c"
            extra_libs=$(pkg-config --libs libmicrohttpd)
        fi
        clang $CFLAGS -fsanitize=fuzzer,address,undefined -o $B/fuzz_$h fuzz/fuzz_$h.c \
            $extra_src $LIBS $extra_libs
    done
    # seeds (regenerated every run; small, never committed)
    rm -rf $B/seeds
    mkdir -p $B/seeds
    /usr/bin/python3 fuzz/seeds.py $B/seeds
    # shellcheck disable=SC2086
    clang $CFLAGS -fsanitize=address,undefined -o $B/make_seeds fuzz/make_seeds.c $LIBS
    ASAN_OPTIONS=detect_leaks=1 $B/make_seeds $B/seeds
fi
mkdir -p $B/artifacts
# HDF5-internal leaks on corrupt files are not libemb's (fuzz/lsan.supp)
export LSAN_OPTIONS="suppressions=$ROOT/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

for h in $HARNESSES; do
    mkdir -p $B/corpus/$h
    seeds=$B/seeds/$h
    [ -d "$seeds" ] || seeds=
    dict=
    [ -f fuzz/$h.dict ] && dict=-dict=fuzz/$h.dict
    # HDF5 sizes some of its own allocations from the file (tens of GB for a
    # corrupt one) and copes with malloc returning NULL: for the model-file
    # harness a failed huge allocation is a NULL return, not a finding (the
    # RSS limit still stops real memory growth). docs/security.md explains.
    extra=
    asan=${ASAN_OPTIONS:-}
    if [ "$h" = model_file ]; then
        extra=-malloc_limit_mb=1048576
        asan="allocator_may_return_null=1${asan:+:$asan}"
    fi
    echo "fuzz: $h for ${SECONDS_EACH}s"
    # corpus/ keeps what earlier runs found; seeds/ and fuzz/regress/<h>/ are read-only inputs
    regress=
    [ -d fuzz/regress/$h ] && regress=fuzz/regress/$h
    # shellcheck disable=SC2086
    ASAN_OPTIONS=$asan $B/fuzz_$h -max_total_time="$SECONDS_EACH" -timeout=20 -seed="${FUZZ_SEED:-0}" \
        -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1 $dict $extra \
        -artifact_prefix=$B/artifacts/$h- $B/corpus/$h $seeds $regress \
        2>$B/fuzz_$h.log || {
        tail -n 60 $B/fuzz_$h.log >&2
        echo "fuzz: $h FAILED (artifact in $B/artifacts/, log $B/fuzz_$h.log)" >&2
        exit 1
    }
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' $B/fuzz_$h.log | tr '\n' ' '
    echo
done
