#!/bin/sh
# Installs the Debian 12 packages libemb needs to build and test.
# Uses sudo when not run as root.
set -e
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
PKGS="gcc g++ make pkg-config binutils libopenblas-dev libhdf5-dev libcmocka-dev \
libutf8proc-dev libpcre2-dev libjansson-dev libmicrohttpd-dev libsqlite3-dev sqlite3 \
python3 python3-pytest python3-numpy ruby ruby-ffi ruby-minitest curl \
clang libclang-rt-14-dev"
missing=
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
