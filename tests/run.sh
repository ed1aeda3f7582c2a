#!/bin/sh
# Runs each cmocka test program given as argument from the project root,
# prints cmocka's output and, at the end, one "N passed, N failed" line
# counting test programs. Exit status 1 if any program failed.
# EMB_VALGRIND=1 runs each program under valgrind memcheck.
passed=0
failed=0
failed_names=""
for t in "$@"; do
    echo "=== $t"
    if [ "${EMB_VALGRIND:-0}" = 1 ]; then
        valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$t"
    else
        "$t"
    fi
    rc=$?
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failed_names="$failed_names $t"
    fi
done
echo
[ -n "$failed_names" ] && echo "failed programs:$failed_names"
echo "programs: $passed passed, $failed failed"
[ $failed -eq 0 ]
