#!/bin/sh
# The include check (scripts/check-includes.sh) passes on src/ and catches
# each kind of violation injected into a temporary copy of it.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
check="$here/scripts/check-includes.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-includes-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0

expect() { # expect WANT_RC WANT_TEXT DESCRIPTION: run the check on $tmp/src
    out=$(sh "$check" "$tmp/src" 2>&1)
    rc=$?
    if [ "$rc" -ne "$1" ] || ! printf '%s\n' "$out" | grep -qF -- "$2"; then
        echo "FAIL: $3: exit $rc (want $1), output:"
        printf '%s\n' "$out"
        fails=$((fails + 1))
    else
        echo "ok: $3"
    fi
}

fresh() { rm -rf "$tmp/src" && cp -R "$here/src" "$tmp/src"; }

fresh
expect 0 "" "src/ as it is passes"

fresh
printf '#include "model/model_internal.h"\n' >> "$tmp/src/api/diag.c"
expect 1 "api/diag.c:" "another folder's private header (model/model_internal.h from api/)"

fresh
printf '#include "kernels/kernels_isa.h"\n' >> "$tmp/src/model/bert.c"
expect 1 "kernels/kernels_isa.h\": another folder's private header" "kernels_isa.h outside kernels/"

fresh
printf '#include "convert/convert.h"\n' >> "$tmp/src/format/format.h"
expect 1 "format/format.h:" "format/ including convert/'s door"

fresh
printf '#include "convert/hf_tokenizer.h"\n' >> "$tmp/src/model/model.c"
expect 1 "only api/ may include convert/" "model/ including a convert/ header"

fresh
printf '#  include "format/h5io.h"\n' >> "$tmp/src/api/model.c"
expect 1 "format/h5io.h" "an indented #  include"

fresh
printf '#include "kernels/kernels_isa.h"\n' >> "$tmp/src/kernels/gemm.c"
printf '#include "format/format.h"\n' >> "$tmp/src/convert/json.c"
expect 0 "" "a folder's own private header, and convert/ using format/'s door"

[ "$fails" -eq 0 ] || exit 1
