#!/bin/sh
# Build and run the kernel / forward-pass micro-benchmark (bench/bench_kernels.c)
# against lib/libemb.a. Usage (from the project root): sh bench/kernels.sh [seconds-per-case]
set -e
make lib/libemb.a >/dev/null
mkdir -p build/bench
DEPS="hdf5 openblas libutf8proc libpcre2-8 jansson"
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Iinclude -Isrc $(pkg-config --cflags $DEPS) \
    -o build/bench/bench_kernels bench/bench_kernels.c lib/libemb.a $(pkg-config --libs $DEPS) -lm -lpthread
./build/bench/bench_kernels "$@"
