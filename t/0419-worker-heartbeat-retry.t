#!/bin/sh
# One failed heartbeat (an I/O error on the touch) does not end the
# heartbeats: the next is tried soon, the lease holds while the agent
# works, and the reaper (running all along) never requeues the task.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 4
board-init >/dev/null
make_project
mkdir "$TRASH/fault"
cat >"$TRASH/fault/task-update" <<SH
#!/bin/sh
case " \$* " in *" heartbeat "*)
	echo beat >>"$TRASH/beats"
	[ "\$(wc -l <"$TRASH/beats")" -ne 1 ] || { echo "task-update: tasks: Input/output error" >&2; exit 6; } ;;
esac
exec "$TOP/task-update" "\$@"
SH
chmod +x "$TRASH/fault/task-update"
# the agent works until six heartbeats went by (three leases)
cat >"$TRASH/rules.jsonl" <<JSON
{"match":{"contains":["long task"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"i=0; while [ \"\$(cat $TRASH/beats 2>/dev/null | wc -l)\" -lt 7 ] && [ \$i -lt 600 ]; do sleep 0.05; i=\$((i+1)); done; echo done >>list.txt"}}]}}
{"match":{"contains":["long task"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"worked long"}}]}}
JSON
start_mock
id=$(task-publish "long task")
( i=0; while [ $i -lt 600 ] && [ ! -e "$TRASH/stop-reaper" ]; do board-reap >>"$TRASH/reaped"; sleep 0.05; i=$((i+1)); done ) &
reaper=$!
at_exit 'touch "$TRASH/stop-reaper"'
PATH=$TRASH/fault:$PATH expect_code 0 "the worker does the task" -- \
	longhaul-worker -1 -l 3 -R "$TRASH/remote.git" -W "$TRASH/work"
touch "$TRASH/stop-reaper"
wait "$reaper"
expect_eq "it beat on after the failed heartbeat" yes "$([ "$(wc -l <"$TRASH/beats")" -ge 7 ] && echo yes)"
expect_eq "the reaper never requeued the task" "" "$(cat "$TRASH/reaped")"
expect_eq "it was claimed once and is done" "1 done" \
	"$(task-show -H "$id" | jq -r 'select(.event == "claim") | .event' | wc -l) $(task-show -f state "$id")"
