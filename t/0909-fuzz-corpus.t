#!/bin/sh
# Every fuzz harness over its whole corpus (t/fuzz/corpus/NAME/), the
# regression inputs of past findings (regress-*) included: no crash, no
# leak, no sanitizer report. Needs the harnesses built (make fuzzers,
# with clang); skipped otherwise, as make check needs no clang.
. "$(dirname "$0")/lib.sh"
fz=$TOP/t/fuzz
names=$(cd "$fz" && for f in *.c; do echo "${f%.c}"; done)
for n in $names; do
	[ -x "$fz/bin/$n" ] || skip_all "fuzz harnesses not built (make fuzzers)"
done

plan "$(echo "$names" | wc -l)"
for n in $names; do
	set -- "$fz/corpus/$n"/*
	if "$fz/bin/$n" -runs=0 "$@" >"$TRASH/$n.log" 2>&1; then
		ok "$n: $# inputs"
	else
		not_ok "$n: $# inputs"
		diag "$(grep -E '==[0-9]+==|SUMMARY|runtime error|Running:' "$TRASH/$n.log" | tail -n 15)"
	fi
done
