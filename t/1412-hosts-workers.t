#!/bin/sh
# Workers on two hosts (t/hosts.sh: their own hostnames, their own sshfs
# mounts of the board's directory, default caching) land through one
# ssh:// remote, taking the landing turn from each other, with a reaper
# on each host: every task is done once and on the branch once, and the
# turn's handovers between the hosts are not held up by the cache.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/ssh.sh"
. "$T_DIR/hosts.sh"
plan 6
start_hosts 2
on_host 1 board-init >/dev/null
git init -q "$TRASH/seed"
(cd "$TRASH/seed" && echo start >README && git add . && git commit -qm "the start")
git clone -q --bare "$TRASH/seed" "$HOSTS_EXPORT/remote.git"
tasks=8
: >"$TRASH/rules.jsonl"
i=1
while [ $i -le $tasks ]; do
	cat >>"$TRASH/rules.jsonl" <<JSON
{"match":{"contains":["write file $i"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo $i >f$i.txt"}}]}}
{"match":{"contains":["write file $i"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"wrote f$i.txt"}}]}}
JSON
	on_host 1 task-publish -v "grep -qx $i f$i.txt" "write file $i" >/dev/null
	i=$((i + 1))
done
start_mock
export GIT_SSH_COMMAND="$SSH_CMD"
remote=ssh://127.0.0.1$HOSTS_EXPORT/remote.git
reapers=
for h in 1 2; do
	on_host $h sh -c 'while [ ! -e "$0/stop" ]; do board-reap >/dev/null; sleep 1; done' "$TRASH" &
	reapers="$reapers $!"
done
at_exit ': >"$TRASH/stop"'
pids=
for w in 1h1 2h1 1h2 2h2; do
	h=${w#*h}
	LONGHAUL_AGENT=w$w on_host "$h" longhaul-worker -w 3 -R "$remote" -W "$TRASH/work.$w" \
		>"$TRASH/worker.$w.out" 2>"$TRASH/worker.$w.err" &
	pids="$pids $!"
done
st=
for p in $pids; do wait "$p"; st="$st$?"; done
: >"$TRASH/stop"
for p in $reapers; do wait "$p" || :; done
expect_eq "four workers on two hosts ran until the board was empty" 1111 "$st"
[ "$st" = 1111 ] || diag "$(tail -n 5 "$TRASH"/worker.*.err)"
expect_eq "every task is done" "$tasks" "$(on_host 1 task-ls -s done | wc -l)"
landed=$(for id in $(on_host 2 task-ls -j | jq -r 'select(.state == "done") | .id'); do
		git --git-dir="$HOSTS_EXPORT/remote.git" log --format='%(trailers:key=Longhaul-Task,valueonly)' main |
			grep -cx "$id"
	done | sort | uniq -c | sed 's/^ *//')
expect_eq "each task is on the branch exactly once" "$tasks 1" "$landed"
expect_eq "each task claimed once" "" \
	"$(on_host 2 task-show -H $(on_host 2 task-ls -j | jq -r .id) |
	   jq -rs 'group_by(.id)[] | select(([.[] | select(.event == "claim")] | length) != 1) | .[0].id')"
expect_eq "workers of both hosts did tasks" "longhaul-h1 longhaul-h2" \
	"$(on_host 1 task-ls -j | jq -r .owner.host | sort -u | tr '\n' ' ' | sed 's/ $//')"
expect_eq "no landing turn is left behind" "" "$(ls "$HOSTS_EXPORT/board/turns/push-main" 2>/dev/null)"
