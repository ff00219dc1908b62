#!/bin/sh
# A worker's git commands share one ssh connection to an ssh:// remote
# (ControlMaster, set up where the worker makes its repository): two
# tasks landed, each a fetch at claim time, a fetch and a push to land,
# cost one login to the test's sshd instead of six. The socket is in the
# worker's own directory, which an agent's sandbox does not show; a
# ControlMaster=no of the user's wins; a work directory too long for a
# socket's path lands all the same, without sharing.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/ssh.sh"
plan 10
start_sshd
board-init >/dev/null
make_project
: >"$TRASH/rules.jsonl"
for n in 1 2 3 4 5 6; do
	cat >>"$TRASH/rules.jsonl" <<JSON
{"match":{"contains":["write file $n"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo $n >f$n.txt"}}]}}
{"match":{"contains":["write file $n"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"wrote f$n.txt"}}]}}
JSON
done
start_mock
publish() { for n in "$@"; do task-publish -v "grep -qx $n f$n.txt" "write file $n" >/dev/null; done; }
logins() { grep -c 'Accepted publickey' "$TRASH/ssh/sshd.log" || :; }
# a socket's path has at most 107 bytes, and this tree may be deep: the
# work directory of the sharing worker is a short one
work=$(mktemp -d /tmp/lh-1404.XXXXXX)
at_exit 'for s in "$work"/*/ssh/* "$TRASH"/*/*/ssh/*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x 2>/dev/null; done; rm -rf "$work"'
url=ssh://127.0.0.1:$SSH_PORT$TRASH/remote.git
export GIT_SSH_COMMAND="$SSH_CMD"

publish 1 2
before=$(logins)
LONGHAUL_AGENT=shared expect_code 1 "a worker lands two tasks through an ssh:// remote" -- \
	longhaul-worker -w 1 -R "$url" -W "$work"
expect_eq "both are on main" "f1.txt f2.txt" \
	"$(git --git-dir="$TRASH/remote.git" ls-tree --name-only main | grep '^f' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "through one ssh login (two fetches and a push a task)" 1 $(( $(logins) - before ))
sock=$(git --git-dir="$work/shared/repo.git" config core.sshCommand | sed -n 's/.*-o ControlPath=\([^ ]*\).*/\1/p')
expect_eq "the connection's socket is in the worker's own directory, for its owner alone" "$work/shared/ssh/ drwx------" \
	"$(dirname "$sock")/ $(ls -ld "$work/shared/ssh" | cut -c1-10)"
expect_eq "the shared connection ended with the worker" "" "$([ ! -S "$sock" ] || echo "$sock is there")"
sock=$(basename "$sock")
# what an agent's commands see: the sandbox, from the worker's tree
expect_code 1 "an agent's sandbox does not show the socket" -- \
	sandbox-run -d "$work/shared/tree" sh -c "test -e '$work/shared/ssh/$sock' || ls '$work/shared' 2>/dev/null | grep -qx ssh"

publish 3
before=$(logins)
GIT_SSH_COMMAND="$SSH_CMD -o ControlMaster=no" LONGHAUL_AGENT=unshared expect_code 1 \
	"with the user's ControlMaster=no, a worker lands through ssh all the same" -- \
	longhaul-worker -w 1 -R "$url" -W "$work"
expect_eq "one login a git command: the user's option wins" 3 $(( $(logins) - before ))

# a work directory whose socket path would pass 107 bytes: no sharing,
# and no "ControlPath too long" either (ssh would refuse to run)
publish 4
deep=$TRASH/$(printf 'd%.0s' $(seq 1 60))
LONGHAUL_AGENT=deep expect_code 1 "a worker in a deep directory lands through ssh" -- \
	longhaul-worker -w 1 -R "$url" -W "$deep"
expect_eq "without a shared connection" "" "$(ls "$deep/deep/ssh" 2>/dev/null)"
