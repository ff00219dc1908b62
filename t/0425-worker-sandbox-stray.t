#!/bin/sh
# A sandbox cut short leaves nothing running. When bwrap's first process
# is killed during its set-up (a kill -9 of it, or of the timeout or
# sandbox-run above it), its second process can be left waiting for good
# on an eventfd that nobody writes, its death signal not yet set; if it
# was past that point, the command runs on alone. Such a process has its
# cwd in the tree (sandbox-run starts bwrap there), and the worker kills
# what is left in the tree after a verification that did not pass, so
# nothing of the check goes on beside the agent or after the task.
# A bwrap in front of the real one plays the killed first process: for a
# command that names STRAY it leaves a child behind and kills itself.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
command -v bwrap >/dev/null || skip_all "bwrap is missing"
[ "${LONGHAUL_SANDBOX:-on}" != off ] || skip_all "the sandbox is off"
plan 4
board-init >/dev/null
make_project
real=$(command -v bwrap)
mkdir "$TRASH/fake"
cat >"$TRASH/fake/bwrap" <<EOF2
#!/bin/sh
case "\$*" in
*STRAY*) sleep 4242.5 & echo \$! >"$TRASH/stray.pid"; kill -9 \$\$ ;;
esac
exec "$real" "\$@"
EOF2
chmod +x "$TRASH/fake/bwrap"
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo x >x.txt"}}]}}
{"match":{},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"x"}}]}}
JSON
start_mock
running() { [ -n "$1" ] && [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
at_exit '[ ! -s "$TRASH/stray.pid" ] || kill "$(cat "$TRASH/stray.pid")" 2>/dev/null || :'

id=$(task-publish -v 'echo STRAY >/dev/null' "stray task")
PATH=$TRASH/fake:$PATH LONGHAUL_AGENT=w1 longhaul-worker -1 -f 1 -R "$TRASH/remote.git" -W "$TRASH/work" 2>"$TRASH/w1.err"
expect_code 3 "the task whose check was cut short is not landed" -- sh -c 'exit '"$?"
expect_eq "the stray was made" 1 "$([ -s "$TRASH/stray.pid" ] && echo 1)"
if wait_for 10 '! running "$(cat "$TRASH/stray.pid")"'; then ok "nothing of the cut sandbox is left running"
else not_ok "nothing of the cut sandbox is left running"; diag "$(ps -o pid,args,cwd -p "$(cat "$TRASH/stray.pid")")" "$(readlink /proc/"$(cat "$TRASH/stray.pid")"/cwd)"; fi
expect_eq "the worker says it killed it" 1 "$(grep -c 'killed what was left running' "$TRASH/w1.err" | awk '{ print ($1 > 0) }')"
