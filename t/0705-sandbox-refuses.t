#!/bin/sh
# Where the sandbox cannot start, the tools say so in one line and
# refuse; LONGHAUL_SANDBOX=off runs the command anyway, and a value that
# is none of on, net, off is refused too.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 9
mkdir -p "$TRASH/bin" "$TRASH/wt"
# a bwrap that cannot make namespaces, as where user namespaces are off
printf '#!/bin/sh\necho "bwrap: No permissions to creating new namespace" >&2\nexit 1\n' >"$TRASH/bin/bwrap"
chmod +x "$TRASH/bin/bwrap"
PATH=$TRASH/bin:$PATH

expect_code 125 "sandbox-run refuses" -- sandbox-run -d "$TRASH/wt" touch "$TRASH/wt/ran"
expect_eq "in one line, saying why and how to opt out" \
	"sandbox-run: the sandbox cannot start here (bwrap: No permissions to creating new namespace); LONGHAUL_SANDBOX=off runs commands without it" \
	"$(cat "$TRASH/err")"
expect_eq "the command did not run" no "$(test -e "$TRASH/wt/ran" && echo yes || echo no)"
LONGHAUL_SANDBOX=off expect_code 0 "LONGHAUL_SANDBOX=off runs it" -- sandbox-run -d "$TRASH/wt" touch ran
LONGHAUL_SANDBOX=maybe expect_code 125 "LONGHAUL_SANDBOX=maybe is refused" -- sandbox-run true

cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"touch ran-by-agent"}}]}}
JSON
start_mock
echo '{"id":"S1","title":"t","body":"x"}' >"$TRASH/task.json"
expect_code 8 "agent-step refuses before any model call" -- \
	agent-step -T "$TRASH/tr.jsonl" -t "$TRASH/task.json" -d "$TRASH/wt"
expect_match "saying why" '^agent-step: the sandbox cannot start here \(bwrap: No permissions' "$TRASH/err"
expect_eq "the model was not asked" 0 "$(wc -l <"$TRASH/mock.log" 2>/dev/null || echo 0)"
expect_eq "nothing ran" no "$(test -e "$TRASH/wt/ran-by-agent" && echo yes || echo no)"
