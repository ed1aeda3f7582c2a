#!/bin/sh
# The machine's peak fp32 FMA rate, bf16 and int8 dot rates and memory bandwidth
# (bench/roofline.c; docs/performance.md, "Roofline").
# Usage (from the project root): sh bench/roofline.sh [threads]
set -e
mkdir -p build/bench
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o build/bench/roofline bench/roofline.c -lpthread
./build/bench/roofline "${1:-2}"
