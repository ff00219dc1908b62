#!/bin/sh
# A done that fails after the push landed is not the end of it: a
# passing failure (a full disk, an I/O error) is tried again, and a
# handoff note over the board's limit is cut, not refused. Either way the
# task ends done, not claimed until its lease runs out and redone.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 8
board-init >/dev/null
make_project
# the first two dones fail as on a full disk
mkdir "$TRASH/fault"
cat >"$TRASH/fault/task-update" <<SH
#!/bin/sh
case " \$* " in *" done "*)
	n=\$(cat "$TRASH/fails" 2>/dev/null || echo 0)
	if [ "\$n" -lt 2 ]; then echo \$((n + 1)) >"$TRASH/fails"; echo "task-update: tmp: No space left on device" >&2; exit 6; fi ;;
esac
exec "$TOP/task-update" "\$@"
SH
chmod +x "$TRASH/fault/task-update"
long=$(awk 'BEGIN { s = "x"; for (i = 0; i < 40000; i++) s = s "\303\251"; print s }')
cat >"$TRASH/rules.jsonl" <<JSON
{"match":{"contains":["add four"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo four >>list.txt"}}]}}
{"match":{"contains":["add four"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended four"}}]}}
{"match":{"contains":["add five"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo five >>list.txt"}}]}}
{"match":{"contains":["add five"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"$long"}}]}}
JSON
start_mock
id=$(task-publish "add four")
PATH=$TRASH/fault:$PATH expect_code 0 "a done that fails twice on a full disk: the worker ends well" -- \
	longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work"
expect_eq "it tried again" 2 "$(cat "$TRASH/fails")"
expect_eq "the task is done with the commit on main" \
	"done $(git --git-dir="$TRASH/remote.git" rev-parse main)" \
	"$(task-show -f state "$id") $(task-show -f result.commit "$id")"

id2=$(task-publish "add five")
expect_code 0 "a note over 64 KiB: the worker ends well" -- \
	longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work"
expect_eq "the task is done with the commit on main" \
	"done $(git --git-dir="$TRASH/remote.git" rev-parse main)" \
	"$(task-show -f state "$id2") $(task-show -f result.commit "$id2")"
task-show -f result.note "$id2" >"$TRASH/note"
size=$(wc -c <"$TRASH/note")
if [ "$size" -gt 60000 ] && [ "$size" -le 65536 ]; then ok "its note is cut to the limit ($size bytes)"; else not_ok "its note is cut to the limit"; diag "$size bytes"; fi
expect_code 0 "to whole characters" -- iconv -f UTF-8 -t UTF-8 "$TRASH/note"
expect_eq "nothing claimed" "" "$(task-ls -s claimed)"
