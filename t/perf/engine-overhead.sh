#!/bin/sh
# The worker's cost per task with each engine, side by side: agent-step,
# then each agent CLI that mk/engines installed (engine-run: bwrap,
# llm-forward, the CLI's own start and its event stream). The scripted
# model answers every call at once and the agent runs no command, so
# what is left is everything but the model's delay and the agent's
# commands. Each row: one worker loop over N tasks (claim, worktree, the
# engine, commit, push, done), then the engine alone, once per task.
# Run from the top of the tree after make: sh t/perf/engine-overhead.sh [N]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
real_home=$HOME
engines=${LONGHAUL_ENGINES_DIR:-${XDG_CACHE_HOME:-$real_home/.cache}/longhaul/engines}/node_modules/.bin
PATH="$top:$top/bin:$PATH:$engines"
n=${1:-10}
dir=$(mktemp -d)
trap 'kill "$mock" 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
mock=
export LONGHAUL_SHARE=$top/share LONGHAUL_FSYNC=0 HOME=$dir GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid
unset LONGHAUL_AGENT OPENAI_API_KEY ANTHROPIC_API_KEY LONGHAUL_BUDGET_USD LONGHAUL_BUDGET_TOKENS
cat >"$dir/rules" <<'R'
{"match":{"api":"openai"},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"nothing to do"}}]}}
{"match":{},"reply":{"text":"nothing to do"}}
R
llm-mock -r "$dir/rules" -P "$dir/port" >/dev/null &
mock=$!
i=0
while [ ! -s "$dir/port" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || { echo "llm-mock did not start" >&2; exit 1; }
	sleep 0.05
done
export OPENAI_BASE_URL=http://127.0.0.1:$(cat "$dir/port")/v1 ANTHROPIC_BASE_URL=http://127.0.0.1:$(cat "$dir/port")
git init -q -b main "$dir/seed"
(cd "$dir/seed" && seq 1 1000 >numbers && git add . && git commit -qm start)
echo '{"id":"x","title":"x","body":"x"}' >"$dir/task.json"

printf '%-12s %10s %10s %10s %10s %10s %10s\n' "per task" "worker" "" "engine" "" "worker" ""
printf '%-12s %10s %10s %10s %10s %10s %10s\n' "($n tasks)" "wall s" "CPU s" "wall s" "CPU s" "wall s" "CPU s"
printf '%-12s %21s %21s %21s\n' "" "everything" "alone" "the rest"
for e in agent-step claude codex; do
	case $e in
	agent-step) model=openai:mock ;;
	claude) model=anthropic:claude-sonnet-4-5 ;;
	codex) model=openai:gpt-5-codex ;;
	esac
	if [ $e != agent-step ] && ! command -v $e >/dev/null 2>&1; then
		printf '%-12s not installed (sh mk/engines)\n' $e
		continue
	fi
	export LONGHAUL_BOARD=$dir/board.$e LONGHAUL_STATE=$dir/state.$e LONGHAUL_MODEL=$model
	board-init >/dev/null
	rm -rf "$dir/remote.git" "$dir/work"
	git clone -q --bare "$dir/seed" "$dir/remote.git"
	i=0
	while [ $i -lt "$n" ]; do i=$((i + 1)); task-publish -D "task $i" >/dev/null; done
	LONGHAUL_WORKER_ENGINE=$e /usr/bin/time -f '%e %U %S' -o "$dir/time" \
		longhaul-worker -w 1 -R "$dir/remote.git" -W "$dir/work" 2>"$dir/err" || :
	read -r wall user sys <<EOT
$(tail -1 "$dir/time")
EOT
	done=$(task-ls -s done | wc -l)
	[ "$done" -eq "$n" ] || { echo "$e: only $done of $n tasks done" >&2; tail "$dir/err" >&2; exit 1; }
	git clone -q "$dir/seed" "$dir/tree.$e"
	if [ $e = agent-step ]; then run='agent-step -A -T "$2/$3.t$i.jsonl" -t "$2/task.json" -d "$2/tree.$3"'
	else run='engine-run -E "$3" -A -T "$2/$3.t$i.jsonl" -t "$2/task.json" -d "$2/tree.$3"'; fi
	/usr/bin/time -f '%e %U %S' -o "$dir/time2" sh -c '
		i=0; while [ $i -lt "$1" ]; do i=$((i + 1))
			'"$run"' >/dev/null || :
		done' sh "$n" "$dir" "$e"
	read -r awall auser asys <<EOT
$(tail -1 "$dir/time2")
EOT
	# (CPU only for agent-step: an engine's sandbox is killed once its
	# final event is read, so its processes are never reaped and their
	# CPU reaches no one's rusage)
	awk -v e="$e" -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v aw="$awall" -v au="$auser" -v as="$asys" 'BEGIN {
		if (e == "agent-step")
			printf "%-12s %10.3f %10.3f %10.3f %10.3f %10.3f %10.3f\n", e, (w - 1) / n, (u + s) / n,
			    aw / n, (au + as) / n, (w - 1 - aw) / n, (u + s - au - as) / n
		else
			printf "%-12s %10.3f %10s %10.3f %10s %10.3f %10s\n", e, (w - 1) / n, "-",
			    aw / n, "-", (w - 1 - aw) / n, "-" }'
done
echo "(worker wall minus the 1 s it waited for more work at the end; load: $(cut -d' ' -f1-3 /proc/loadavg))"
