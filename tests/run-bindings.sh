#!/bin/sh
# Runs the integration suites that exist: pytest (bindings/python/tests and
# tests/python) with Debian's /usr/bin/python3, and minitest
# (bindings/ruby/test). Each prints its own summary line.
set -e
export EMB_LIBRARY="${EMB_LIBDIR:-lib}/libemb.so.1"
py_dirs=""
for d in bindings/python/tests tests/python; do
    [ -d "$d" ] && py_dirs="$py_dirs $d"
done
if [ -n "$py_dirs" ]; then
    echo "=== pytest$py_dirs"
    PYTHONPATH=bindings/python /usr/bin/python3 -m pytest -q $py_dirs
fi
if [ -d bindings/ruby/test ]; then
    echo "=== minitest bindings/ruby/test"
    ruby -Ibindings/ruby/lib -Ibindings/ruby/test -e 'Dir["bindings/ruby/test/test_*.rb"].sort.each { |f| require File.expand_path(f) }'
fi
