#!/bin/sh
# The lease runs out while a slow push is under way (heartbeats fail, the
# reaper requeues the task, another worker claims it), and the push lands
# anyway: the late worker must not call the task done, and the next
# claimant finds the change on the branch and marks the task done with
# that commit instead of landing it a second time. (No hook refuses the
# late push here, as with a remote given as a URL.)
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 7
board-init >/dev/null
make_project
# the first push waits for a word from the test
cat >"$TRASH/remote.git/hooks/pre-receive" <<SH
#!/bin/sh
[ ! -e "$TRASH/blocked" ] || exit 0
touch "$TRASH/blocked" "$TRASH/in-push"
i=0; while [ ! -e "$TRASH/go" ] && [ \$i -lt 400 ]; do sleep 0.05; i=\$((i+1)); done
SH
chmod +x "$TRASH/remote.git/hooks/pre-receive"
# heartbeats fail (as on an I/O error) while hb-fail exists
mkdir "$TRASH/fault"
cat >"$TRASH/fault/task-update" <<SH
#!/bin/sh
case " \$* " in *" heartbeat "*) [ ! -e "$TRASH/hb-fail" ] || exit 6 ;; esac
exec "$TOP/task-update" "\$@"
SH
chmod +x "$TRASH/fault/task-update"
wait_a="if [ \$LONGHAUL_AGENT = wb ]; then i=0; while [ ! -e $TRASH/a-done ] && [ \$i -lt 400 ]; do sleep 0.05; i=\$((i+1)); done; fi"
cat >"$TRASH/rules.jsonl" <<JSON
{"match":{"contains":["the task"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo \"by \$LONGHAUL_AGENT\" >>list.txt; $wait_a"}}]}}
{"match":{"contains":["the task"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended a line"}}]}}
JSON
start_mock
id=$(task-publish -m 5 "the task")
PATH=$TRASH/fault:$PATH LONGHAUL_AGENT=wa \
	longhaul-worker -1 -l 2 -R "$TRASH/remote.git" -W "$TRASH/work" 2>"$TRASH/a.err" &
a=$!
wait_for 30 '[ -e "$TRASH/in-push" ]' || diag "the push did not start"
touch "$TRASH/hb-fail"
wait_for 30 '[ -n "$(board-reap)" ]' || diag "the lease did not run out"
LONGHAUL_AGENT=wb longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work" 2>"$TRASH/b.err" &
b=$!
wait_for 30 '[ "$(task-show -f owner.agent "$id")" = wb ]' || diag "wb did not claim the task"
touch "$TRASH/go"
wait "$a"
expect_eq "the late worker reports a failure" 3 "$?"
landed=$(git --git-dir="$TRASH/remote.git" rev-parse main)
if grep -q ": done," "$TRASH/a.err"; then not_ok "it does not say done"; diag "$(cat "$TRASH/a.err")"; else ok "it does not say done"; fi
# (it says so in one of two ways: its push returned and the done was
# refused, or the push seemed to fail, landed after it -- a receive-pack
# goes on without its client -- and the worker found it on the branch
# when it gave the task back; a loaded machine makes either happen)
expect_match "it says the task is landed but not marked done by it" \
	"landed as $landed, but the lease was lost|its change is on main, but the board would not take its done" "$TRASH/a.err"
touch "$TRASH/a-done"
wait "$b"
expect_eq "the next claimant ends well" 0 "$?"
expect_eq "the task is done, with the commit that landed" "done $landed" \
	"$(task-show -f state "$id") $(task-show -f result.commit "$id")"
git --git-dir="$TRASH/remote.git" log --format=%B main >"$TRASH/log"
expect_eq "the task is on main once" 1 "$(grep -c "^Longhaul-Task: $id\$" "$TRASH/log")"
expect_eq "with the late worker's change alone" "by wa" "$(remote_show main:list.txt | grep '^by')"
