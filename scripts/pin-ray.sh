#!/bin/sh
# Regenerates scripts/ray-requirements.txt: the exact versions and SHA-256
# hashes of `ray[data]` and of what it needs beyond Debian 12's Python
# packages, resolved by pip for Debian's /usr/bin/python3 (3.11, x86_64).
# NumPy stays Debian's (so h5py and the binding's tests see the same one);
# pyarrow is held at the newest release that still runs with NumPy 1.x.
# Usage: sh scripts/pin-ray.sh [RAY_VERSION]   (needs the network)
set -e
cd "$(dirname "$0")/.."
ray_version="${1:-2.60.0}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 -m venv --system-site-packages "$tmp/venv"
numpy_version=$(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)')
printf 'numpy==%s\npyarrow==25.0.1\n' "$numpy_version" > "$tmp/constraints.txt"
"$tmp/venv/bin/pip" install -q --dry-run --report "$tmp/report.json" \
    -c "$tmp/constraints.txt" "ray[data]==$ray_version"
"$tmp/venv/bin/python" - "$tmp/report.json" "$ray_version" > scripts/ray-requirements.txt <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print("# ray[data]==%s for Debian 12's /usr/bin/python3 (x86_64), made by scripts/pin-ray.sh;" % sys.argv[2])
print("# installed by scripts/install-deps.sh into build/venv-ray with --require-hashes.")
# only what Debian's packages (numpy, pyyaml, attrs, ...) do not already satisfy
for item in sorted(report["install"], key=lambda i: i["metadata"]["name"].lower()):
    name = item["metadata"]["name"]
    sha = item["download_info"]["archive_info"]["hashes"]["sha256"]
    print("%s==%s \\\n    --hash=sha256:%s" % (name, item["metadata"]["version"], sha))
PY
echo "pin-ray: wrote scripts/ray-requirements.txt (ray $ray_version)" >&2
