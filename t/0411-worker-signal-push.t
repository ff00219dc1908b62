#!/bin/sh
# SIGTERM while git push runs, to the worker alone or to its whole
# process group (as longhaul-run stops its agents): the push runs to its
# end, the worker records what became of it (done, since it landed) and
# exits 130. The task is not given back, so nobody lands it again.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 8
board-init >/dev/null
make_project
# a remote whose pushes wait for a word from the test
cat >"$TRASH/remote.git/hooks/pre-receive" <<SH
#!/bin/sh
touch "$TRASH/in-push"
i=0; while [ ! -e "$TRASH/go" ] && [ \$i -lt 400 ]; do sleep 0.05; i=\$((i+1)); done
SH
chmod +x "$TRASH/remote.git/hooks/pre-receive"
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["task"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo \"$LONGHAUL_TASK by $LONGHAUL_AGENT\" >>list.txt"}}]}}
{"match":{"contains":["task"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended a line"}}]}}
JSON
start_mock
trailers() { git --git-dir="$TRASH/remote.git" log --format=%B main | grep -c "^Longhaul-Task: $1\$"; }

# run_case NAME WHO: a worker of that name does a task; SIGTERM reaches
# WHO (worker or group) while its push waits in the remote's hook
run_case() {
	rm -f "$TRASH/in-push" "$TRASH/go"
	id=$(task-publish "$1 task")
	LONGHAUL_AGENT=$1 setsid longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work" 2>"$TRASH/$1.err" &
	w=$!
	wait_for 30 '[ -e "$TRASH/in-push" ]' || diag "the push did not start"
	if [ "$2" = group ]; then kill -TERM -"$w"; else kill -TERM "$w"; fi
	touch "$TRASH/go"
	wait "$w"
	expect_eq "$1: SIGTERM to the $2 during the push: exit 130" 130 "$?"
	expect_eq "$1: the push landed, the task is done with its commit" \
		"done $(git --git-dir="$TRASH/remote.git" rev-parse main)" \
		"$(task-show -f state "$id") $(task-show -f result.commit "$id")"
}
run_case alone worker
run_case grouped group
touch "$TRASH/go"
expect_code 1 "another worker finds nothing to redo" -- \
	env LONGHAUL_AGENT=other longhaul-worker -1 -w 1 -R "$TRASH/remote.git" -W "$TRASH/work"
for t in $(task-ls -j | jq -r .id); do
	expect_eq "task $t is on main once" 1 "$(trailers "$t")"
done
expect_eq "nothing claimed" "" "$(task-ls -s claimed)"
