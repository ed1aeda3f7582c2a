#!/bin/sh
# CI's short fuzz run: every harness for FUZZ_CI_SECONDS (default 30) seconds
# on the seeds generated from tests/fixtures, after building them (about
# 2 minutes). 8 harnesses: about 4 minutes in all. Installs clang if it is missing
# (Debian 12: clang and libclang-rt-14-dev, the libFuzzer and sanitizer
# runtimes, which clang only recommends), so .ci/run needs one line.
set -eu
cd "$(dirname "$0")/.."
probe() {
    printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' |
        clang -fsanitize=fuzzer,address,undefined -x c - -o /dev/null >/dev/null 2>&1
}
if ! command -v clang >/dev/null 2>&1 || ! probe; then
    SUDO=
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev
fi
FUZZ_SEED=${FUZZ_SEED:-1} exec sh fuzz/run.sh "${FUZZ_CI_SECONDS:-30}"
