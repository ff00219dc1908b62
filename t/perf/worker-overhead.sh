#!/bin/sh
# The worker's own cost per task, outside model time and the agent's
# commands: claim, worktree, commit, rebase, push, done. The scripted
# model answers every call at once with submit, so a task is one quick
# model call and the rest is the worker. Also the memory of an idle
# worker waiting for a task (the shell plus task-claim -w). Each task has
# one verification command, which the worker runs in the sandbox
# (sandbox-run), as agent-step does the agent's: LONGHAUL_SANDBOX=off
# measures the same without it.
# Run from the top of the tree after make: sh t/perf/worker-overhead.sh [N]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
PATH="$top:$top/bin:$PATH"
n=${1:-20}
dir=$(mktemp -d)
trap 'kill "$mock" "$idle" 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
mock= idle=
export LONGHAUL_BOARD=$dir/board LONGHAUL_SHARE=$top/share LONGHAUL_FSYNC=0
export LONGHAUL_STATE=$dir/state HOME=$dir GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid
unset LONGHAUL_AGENT OPENAI_API_KEY ANTHROPIC_API_KEY LONGHAUL_BUDGET_USD LONGHAUL_BUDGET_TOKENS
board-init >/dev/null
git init -q -b main "$dir/seed"
(cd "$dir/seed" && seq 1 1000 >numbers && git add . && git commit -qm start)
git clone -q --bare "$dir/seed" "$dir/remote.git"
echo '{"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"nothing to do"}}]}}' >"$dir/rules"
llm-mock -r "$dir/rules" -P "$dir/port" >/dev/null &
mock=$!
i=0
while [ ! -s "$dir/port" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || { echo "llm-mock did not start" >&2; exit 1; }
	sleep 0.05
done
export LONGHAUL_MODEL=openai:mock OPENAI_BASE_URL=http://127.0.0.1:$(cat "$dir/port")/v1

i=0
while [ $i -lt "$n" ]; do i=$((i + 1)); task-publish -D -v 'test -s numbers' "task $i" >/dev/null; done
# one worker loop does them all, then finds nothing within a second
/usr/bin/time -f '%e %U %S' -o "$dir/time" \
	longhaul-worker -w 1 -R "$dir/remote.git" -W "$dir/work" 2>"$dir/err" || :
read -r wall user sys <<EOT
$(tail -1 "$dir/time")
EOT
done=$(task-ls -s done | wc -l)
[ "$done" -eq "$n" ] || { echo "only $done of $n tasks done" >&2; cat "$dir/err" >&2; exit 1; }

# the model's part: one agent-step (one model call) per task, alone
echo '{"id":"x","title":"x","body":"x"}' >"$dir/task.json"
/usr/bin/time -f '%e %U %S' -o "$dir/time2" sh -c '
	i=0; while [ $i -lt "$1" ]; do i=$((i + 1))
		agent-step -T "$2/t$i.jsonl" -t "$2/task.json" -d "$2" >/dev/null || :
	done' sh "$n" "$dir"
read -r awall auser asys <<EOT
$(tail -1 "$dir/time2")
EOT

# an idle worker: the shell and task-claim -w, waiting
longhaul-worker -R "$dir/remote.git" -W "$dir/work" 2>/dev/null &
idle=$!
i=0
until ps -o comm= --ppid "$idle" | grep -q task-claim; do
	i=$((i + 1)); [ $i -lt 200 ] || { echo "the idle worker did not wait" >&2; exit 1; }
	sleep 0.05
done
rss=$(ps -o rss= -p "$idle" --ppid "$idle" | awk '{ s += $1 } END { print s }')
procs=$(ps -o pid= -p "$idle" --ppid "$idle" | wc -l)
kill "$idle"; wait "$idle" 2>/dev/null || :
idle=

awk -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v aw="$awall" -v au="$auser" \
    -v as="$asys" -v rss="$rss" -v procs="$procs" 'BEGIN {
	printf "%-44s %10s %10s\n", "per task (" n " tasks, 1 worker)", "wall s", "CPU s"
	printf "%-44s %10.3f %10.3f\n", "worker, everything", (w - 1) / n, (u + s) / n
	printf "%-44s %10.3f %10.3f\n", "of which agent-step + mock", aw / n, (au + as) / n
	printf "%-44s %10.3f %10.3f\n", "worker overhead (the difference)", (w - 1 - aw) / n, (u + s - au - as) / n
	printf "%-44s %10.1f MB (%d processes)\n", "idle waiting worker, RSS", rss / 1024, procs
}'
echo "(sandbox ${LONGHAUL_SANDBOX:-on}; worker wall minus the 1 s it waited for more work at the end; load: $(cut -d' ' -f1-3 /proc/loadavg))"
