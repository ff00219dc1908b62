#!/bin/sh
# A worker killed with -9 after its push and before its done: the change
# is on the branch and the task still claimed. board-fsck leaves the live
# claim alone, and once the lease has run out marks the task done with
# the commit that landed, so that no other worker does it again.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 10
board-init >/dev/null
make_project
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["add four"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo four >> list.txt"}}]}}
{"match":{"contains":["add four"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended four"}}]}}
JSON
start_mock
id=$(task-publish -v 'grep -qx four list.txt' "add four")
# the worker dies the moment it says done
mkdir "$TRASH/shim"
cat >"$TRASH/shim/task-update" <<EOF
#!/bin/sh
for a; do [ "\$a" = done ] && kill -9 \$PPID && exit 137; done
exec "$TOP/task-update" "\$@"
EOF
chmod +x "$TRASH/shim/task-update"
PATH="$TRASH/shim:$PATH" expect_code 137 'the worker dies between its push and its done' -- \
	longhaul-worker -1 -l 600 -R "$TRASH/remote.git" -W "$TRASH/work"
landed=$(git --git-dir="$TRASH/remote.git" rev-parse main)
expect_eq 'its commit landed, the task is still claimed' "$id claimed" \
	"$(git --git-dir="$TRASH/remote.git" log -1 --format='%(trailers:key=Longhaul-Task,valueonly)' main) $(task-show -f state "$id")"

expect_code 0 'while the lease runs, that is an owner about to say done' -- \
	board-fsck -q -R "$TRASH/remote.git"
# no heartbeat for 600 s, as the file server's clock sees it
touch -d '2000-01-01 00:00:00 UTC' "$(ls -d "$LONGHAUL_BOARD"/tasks/*/"$id"/* | tail -n 1)"
board-fsck -q -n -R "$TRASH/remote.git" >"$TRASH/out"
short=$(git --git-dir="$TRASH/remote.git" rev-parse --short=12 main)
echo "board-fsck: task $id: claimed, its lease expired, but commit $short on main carries its trailer (not repaired: -n)" \
	>"$TRASH/expected"
expect_file 'once the lease ran out, fsck says so' "$TRASH/expected" "$TRASH/out"
sed 's/ (not repaired: -n)$/: marked done (repaired)/' "$TRASH/expected" >"$TRASH/expected.fix"
expect_code 1 'and marks it done' -- board-fsck -q -R "$TRASH/remote.git"
expect_file 'saying so' "$TRASH/expected.fix" "$TRASH/out"
expect_eq 'with the commit that landed' "done $landed" "$(task-show -f state "$id") $(task-show -f result "$id" | jq -r .commit)"
expect_eq 'the reaper has nothing to requeue' '' "$(board-reap)"
expect_code 1 'and no worker does it again' -- longhaul-worker -1 -w 1 -R "$TRASH/remote.git" -W "$TRASH/work"
expect_code 0 'and the board and the branch agree' -- board-fsck -q -R "$TRASH/remote.git"
