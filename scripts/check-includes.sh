#!/bin/sh
# check-includes.sh [SRC_DIR] — the layering rules of docs/design.md, checked
# on every #include "..." under SRC_DIR (default: src):
#   1. a file of one folder includes another folder's header only through
#      that folder's door, <folder>/<folder>.h (api/api.h, format/format.h,
#      kernels/kernels.h, ...); private headers (model/model_internal.h,
#      kernels/kernels_isa.h, format/h5io.h, format/policy.h, ...) stay
#      inside their folder;
#   2. only api/ (and convert/ itself) includes convert/: the runtime path
#      (format/, model/, tokenizer/, kernels/, runtime/) never reaches the
#      converter, and format/ in particular does not.
# Exceptions: none today; list one here as "file include" with its reason.
# Prints each violation as file:line: include: rule; exits 1 if any.
set -u
root=${1:-src}
if [ ! -d "$root" ]; then
    echo "check-includes: $root: not a directory" >&2
    exit 2
fi
EXCEPTIONS=""
status=0
for f in $(find "$root" -mindepth 2 -name '*.[ch]' | sort); do
    rel=${f#"$root"/}
    folder=${rel%%/*}
    # lines as NUMBER:#include "path"
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | while IFS= read -r line; do
        num=${line%%:*}
        inc=$(printf '%s\n' "$line" | sed 's/^[^"]*"\([^"]*\)".*/\1/')
        case $inc in
        */*) ;;
        *) continue ;; # same folder, or the public emb.h
        esac
        target=${inc%%/*}
        case " $EXCEPTIONS " in *" $rel:$inc "*) continue ;; esac
        if [ "$target" = convert ] && [ "$folder" != convert ] && [ "$folder" != api ]; then
            echo "$rel:$num: \"$inc\": only api/ may include convert/ (the runtime does not link the converter)"
            continue
        fi
        if [ "$target" != "$folder" ] && [ "$inc" != "$target/$target.h" ]; then
            echo "$rel:$num: \"$inc\": another folder's private header (use its door $target/$target.h)"
        fi
    done
done > "${TMPDIR:-/tmp}/check-includes.$$"
if [ -s "${TMPDIR:-/tmp}/check-includes.$$" ]; then
    cat "${TMPDIR:-/tmp}/check-includes.$$"
    status=1
fi
rm -f "${TMPDIR:-/tmp}/check-includes.$$"
exit $status
