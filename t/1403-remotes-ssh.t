#!/bin/sh
# Workers landing through real git transports, and started on "hosts"
# reached by ssh: an sshd and a git daemon on loopback, started by the
# test. Through ssh:// and git:// remotes every task is done and landed
# once; examples/parallel/workers.sh runs workers over ssh on two logins
# of this host and drains a board, four workers of four names.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/ssh.sh"
plan 9
start_sshd
board-init >/dev/null
make_project
: >"$TRASH/rules.jsonl"
for n in 1 2 3 4 5 6 7 8; do
	cat >>"$TRASH/rules.jsonl" <<JSON
{"match":{"contains":["write file $n"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo $n >f$n.txt"}}]}}
{"match":{"contains":["write file $n"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"wrote f$n.txt"}}]}}
JSON
done
start_mock
publish() { for n in "$@"; do task-publish -v "grep -qx $n f$n.txt" "write file $n" >/dev/null; done; }
# landed IDS...: each task done, its trailer on main exactly once
landed() {
	for id in $(task-ls -j | jq -r 'select(.state == "done") | .id'); do
		git --git-dir="$TRASH/remote.git" log --format='%(trailers:key=Longhaul-Task,valueonly)' main |
			grep -cx "$id"
	done | sort | uniq -c | sed 's/^ *//'
}

publish 1 2
export GIT_SSH_COMMAND="$SSH_CMD"
LONGHAUL_AGENT=ssh expect_code 1 "workers land through an ssh:// remote until the board is empty" -- \
	longhaul-worker -w 1 -R "ssh://127.0.0.1$TRASH/remote.git" -W "$TRASH/work"
expect_eq "both tasks are done, each on main once" "2 1" "$(landed)"

# a daemon that does not answer (its port taken between free_port and
# its bind) is started again on another port; a worker is never pointed
# at a remote that refuses, where it would release and claim for ever
at_exit 'kill "$(cat "$TRASH/gitd.pid")" 2>/dev/null'
gitd=
for try in 1 2 3; do
	gport=$(free_port)
	git daemon --listen=127.0.0.1 --port="$gport" --base-path="$TRASH" --export-all \
		--enable=receive-pack --reuseaddr --detach --pid-file="$TRASH/gitd.pid" "$TRASH" 2>>"$TRASH/gitd.err" || :
	if wait_for 20 'git ls-remote "git://127.0.0.1:$gport/remote.git" >/dev/null 2>&1'; then gitd=yes; break; fi
	kill "$(cat "$TRASH/gitd.pid" 2>/dev/null)" 2>/dev/null || :
done
publish 3 4
if [ -n "$gitd" ]; then
	LONGHAUL_AGENT=gitd expect_code 1 "and through a git:// remote (git daemon)" -- \
		longhaul-worker -w 1 -R "git://127.0.0.1:$gport/remote.git" -W "$TRASH/work"
else
	not_ok "and through a git:// remote (git daemon)"; diag "the git daemon does not answer: $(tail -n 1 "$TRASH/gitd.err")"
	LONGHAUL_AGENT=gitd longhaul-worker -w 1 -R "$TRASH/remote.git" -W "$TRASH/work" >/dev/null 2>&1 || :
fi
expect_eq "four tasks done, each on main once" "4 1" "$(landed)"

# two "hosts": two logins of this one, reached by ssh through parallel;
# four workers for three tasks, so one at least lands nothing
publish 5 6 7
if command -v parallel >/dev/null 2>&1; then
	PARALLEL_SSH=$SSH_CMD LONGHAUL_REMOTE=$TRASH/remote.git LONGHAUL_WORKDIR=$TRASH/pwork \
	LONGHAUL_IDLE=2 expect_code 0 "examples/parallel/workers.sh: two workers on each of two logins" -- \
		"$TOP/examples/parallel/workers.sh" 2 127.0.0.1 localhost
	expect_eq "seven tasks done, each on main once" "7 1" "$(landed)"
	# four workers started under four names: each that took its name made
	# WORKDIR/NAME, and a second of a name would have been refused (exit
	# 4, counted by workers.sh's status above); a worker may land no task
	# when the others drained the board first, so landings are not counted
	expect_eq "by four workers of four names" "4" \
		"$(cd "$TRASH/pwork" && ls -d *-par-[0-9]* | sort -u | wc -l | tr -d ' ')"
	expect_eq "each started over ssh: sshd saw the logins" yes \
		"$(grep -q 'Accepted publickey' "$TRASH/ssh/sshd.log" && echo yes)"
	expect_eq "nothing is left claimed" "" "$(task-ls -s claimed)"
else
	for i in 1 2 3 4 5; do ok "# SKIP GNU parallel is missing"; done
fi
