#!/bin/sh
# Runs the integration suites that exist: pytest (bindings/python/tests and
# tests/python) with Debian's /usr/bin/python3, the Ray tests
# (bindings/python/tests-ray) with build/venv-ray's python, and minitest
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
# libemb.ray on a local 2-CPU Ray cluster: needs the venv that
# scripts/install-deps.sh makes. Without it the suite fails, unless
# EMB_OFFLINE=1 (then install-deps.sh did not install Ray: said, not run).
if [ -x build/venv-ray/bin/python ]; then
    echo "=== pytest bindings/python/tests-ray (Ray)"
    PYTHONPATH=bindings/python build/venv-ray/bin/python -m pytest -q bindings/python/tests-ray
elif [ "${EMB_OFFLINE:-0}" = 1 ]; then
    echo "=== pytest bindings/python/tests-ray: NOT RUN: EMB_OFFLINE=1 and no build/venv-ray (Ray is installed by scripts/install-deps.sh when online)"
else
    echo "=== pytest bindings/python/tests-ray: no build/venv-ray: run scripts/install-deps.sh (it installs Ray there)" >&2
    exit 1
fi
if [ -d bindings/ruby/test ]; then
    echo "=== minitest bindings/ruby/test"
    ruby -Ibindings/ruby/lib -Ibindings/ruby/test -e 'Dir["bindings/ruby/test/test_*.rb"].sort.each { |f| require File.expand_path(f) }'
fi
