# t/lib.sh: a small TAP library for longhaul's tests, sourced by t/*.t.
# Each test file runs in its own throwaway directory $TRASH with the built
# tools first in PATH and a fresh board in $LONGHAUL_BOARD.
set -u
T_DIR=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$T_DIR/.." && pwd)
PATH="$TOP:$TOP/bin:$PATH"
TRASH="$T_DIR/trash.$(basename "$0" .t).$$"
rm -rf "$TRASH" && mkdir -p "$TRASH"
trap 't_cleanup' EXIT
LONGHAUL_BOARD="$TRASH/board"
LONGHAUL_SHARE="$TOP/share"
LONGHAUL_FSYNC=${LONGHAUL_FSYNC:-0}
# git must never climb from a test's directory into longhaul's own checkout
GIT_CEILING_DIRECTORIES=$T_DIR
export PATH TRASH TOP LONGHAUL_BOARD LONGHAUL_SHARE LONGHAUL_FSYNC GIT_CEILING_DIRECTORIES
# the user's own model config must not reach the tests
XDG_CONFIG_HOME=$TRASH/.config
export XDG_CONFIG_HOME
unset LONGHAUL_CONFIG LONGHAUL_BUDGET_USD LONGHAUL_BUDGET_TOKENS LONGHAUL_MODEL LONGHAUL_PLANNER_MODEL LONGHAUL_WORKER_MODEL LONGHAUL_JUDGE_MODEL
unset LONGHAUL_AGENT OPENAI_API_KEY ANTHROPIC_API_KEY OPENAI_BASE_URL ANTHROPIC_BASE_URL
t_n=0
t_failed=0
t_cleanups=

t_cleanup() {
	st=$?
	eval "$t_cleanups" 2>/dev/null || :
	[ "$t_failed" -eq 0 ] && [ -z "${T_KEEP:-}" ] && rm -rf "$TRASH"
	exit $st
}
# at_exit 'command': run at the end, even when a test dies
at_exit() { t_cleanups="$t_cleanups $1;"; }

plan() { echo "1..$1"; }
ok() { t_n=$((t_n + 1)); echo "ok $t_n - $1"; }
# a description ending in "# TODO why" is a TAP todo: shown, not a failure
not_ok() {
	t_n=$((t_n + 1))
	case $1 in *'# TODO'*) ;; *) t_failed=$((t_failed + 1));; esac
	echo "not ok $t_n - $1"
	# (a failure and what is said after it go to stderr too, which
	# prove shows without -v: a CI log then says why)
	case $1 in *'# TODO'*) ;; *) echo "not ok $t_n - $1" >&2 ;; esac
}
diag() {
	printf '%s\n' "$@" | sed 's/^/# /' >"$TRASH/.diag"
	cat "$TRASH/.diag"
	[ "$t_failed" -eq 0 ] || cat "$TRASH/.diag" >&2
}
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
done_testing() { echo "1..$t_n"; [ "$t_failed" -eq 0 ]; }

# expect_code N name -- cmd args: run cmd, pass when it exits N
expect_code() {
	want=$1 name=$2; shift 3
	"$@" >"$TRASH/out" 2>"$TRASH/err"
	got=$?
	if [ "$got" -eq "$want" ]; then ok "$name"; else
		not_ok "$name"
		diag "expected exit $want, got $got: $*" "stdout:" "$(head -c 2000 "$TRASH/out")" "stderr:" "$(head -c 2000 "$TRASH/err")"
	fi
}
# expect_file name expected actual: whole-file comparison
expect_file() {
	if cmp -s "$2" "$3"; then ok "$1"; else not_ok "$1"; diag "$(diff -u "$2" "$3" | head -40)"; fi
}
# expect_eq name expected actual
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "expected: $2" "got:      $3"; fi
}
# expect_match name regex file
expect_match() {
	if grep -Eq -- "$2" "$3"; then ok "$1"; else not_ok "$1"; diag "no line of $3 matches: $2" "$(head -c 2000 "$3")"; fi
}
# wait_for SECONDS 'shell condition': poll a condition with a bound, no fixed sleep
wait_for() {
	limit=$1; shift
	end=$(( $(date +%s) + limit ))
	while ! eval "$1"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# start_mock [RULES]: serve RULES (default $TRASH/rules.jsonl) with llm-mock
# on a free port of 127.0.0.1, logging to $TRASH/mock.log; point both
# providers' base URLs at it; stop it at the end
start_mock() {
	rm -f "$TRASH/port"
	llm-mock -r "${1:-$TRASH/rules.jsonl}" -P "$TRASH/port" -l "$TRASH/mock.log" \
		>/dev/null 2>"$TRASH/mock.err" &
	MOCKPID=$!
	at_exit stop_mock
	wait_for 10 '[ -s "$TRASH/port" ]' || { echo "Bail out! llm-mock did not start"; exit 1; }
	OPENAI_BASE_URL=http://127.0.0.1:$(cat "$TRASH/port")/v1
	ANTHROPIC_BASE_URL=http://127.0.0.1:$(cat "$TRASH/port")
	export OPENAI_BASE_URL ANTHROPIC_BASE_URL
}
stop_mock() { kill "$MOCKPID" 2>/dev/null; }
