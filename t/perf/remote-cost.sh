#!/bin/sh
# What a URL remote costs per landing, against a remote in the file
# system (whose objects the worker borrows and whose branch it reads in
# place): one worker does N tasks (the scripted model submits at once,
# one verification command) with the shared repository given as a path,
# as a file:// URL and as a git:// URL (git daemon on loopback), side by
# side in one run. Prints wall and CPU seconds per task and, for git://,
# the fetches (upload-pack) and pushes (receive-pack) per task from the
# daemon's log: a landing should cost at most a fetch and a push.
# Run from the top of the tree after make: sh t/perf/remote-cost.sh [N]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
PATH="$top:$top/bin:$PATH"
n=${1:-20}
dir=$(mktemp -d)
mock= gitd=
trap 'kill $mock $gitd 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
export LONGHAUL_SHARE=$top/share LONGHAUL_FSYNC=0 HOME=$dir GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid
unset LONGHAUL_AGENT OPENAI_API_KEY ANTHROPIC_API_KEY LONGHAUL_BUDGET_USD LONGHAUL_BUDGET_TOKENS
git init -q -b main "$dir/seed"
(cd "$dir/seed" && seq 1 1000 >numbers && git add . && git commit -qm start)
echo '{"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"nothing to do"}}]}}' >"$dir/rules"
llm-mock -r "$dir/rules" -P "$dir/port" >/dev/null &
mock=$!
i=0
until [ -s "$dir/port" ]; do i=$((i + 1)); [ $i -lt 200 ] || exit 1; sleep 0.05; done
export LONGHAUL_MODEL=openai:mock OPENAI_BASE_URL=http://127.0.0.1:$(cat "$dir/port")/v1
port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
git daemon --listen=127.0.0.1 --port="$port" --base-path="$dir" --export-all \
	--enable=receive-pack --reuseaddr --verbose 2>"$dir/gitd.log" &
gitd=$!

# one WAY REMOTE: a fresh board and shared repository, N tasks, one worker
one() {
	rm -rf "$dir/board" "$dir/work" "$dir/$1.git"
	git clone -q --bare "$dir/seed" "$dir/$1.git"
	export LONGHAUL_BOARD=$dir/board
	board-init >/dev/null
	i=0
	while [ $i -lt "$n" ]; do i=$((i + 1)); task-publish -D -v 'test -s numbers' "task $i" >/dev/null; done
	: >"$dir/gitd.log"
	/usr/bin/time -f '%e %U %S' -o "$dir/time" \
		longhaul-worker -w 1 -R "$2" -W "$dir/work" 2>"$dir/err" || :
	[ "$(task-ls -s done | wc -l)" -eq "$n" ] || { echo "$1: not every task done" >&2; cat "$dir/err" >&2; exit 1; }
	read -r wall user sys <<EOT
$(tail -n 1 "$dir/time")
EOT
	fetches=$(grep -c 'Request upload-pack' "$dir/gitd.log" || :)
	pushes=$(grep -c 'Request receive-pack' "$dir/gitd.log" || :)
	awk -v w="$1" -v n="$n" -v wall="$wall" -v cpu="$(echo "$user + $sys" | bc)" -v f="$fetches" -v p="$pushes" \
	    'BEGIN { printf "%-8s %8.3f %8.3f %8s %8s\n", w, wall / n, cpu / n,
	        w == "git" ? sprintf("%.2f", f / n) : "-", w == "git" ? sprintf("%.2f", p / n) : "-" }'
}
i=0
until git ls-remote "git://127.0.0.1:$port/seed/.git" >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "git daemon does not answer" >&2; exit 1; }; sleep 0.1
done
echo "remote-cost: $n tasks a way, one worker; seconds per task"
printf '%-8s %8s %8s %8s %8s\n' way wall cpu fetches pushes
one path "$dir/path.git"
one file "file://$dir/file.git"
one git "git://127.0.0.1:$port/git.git"
