#!/bin/sh
# A red stack is bisected: of five queued commits the third breaks the
# gate; the train finds it (one run on the whole stack, two to bisect),
# lands the two before it with one push (those after it land in the
# next round, restacked without it), and sends the culprit back to its
# agent with the gate's output as a failed verification; fixed, it
# lands. No tip of main is ever red.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/train.sh"
plan 10
export LONGHAUL_SANDBOX=off
board-init >/dev/null
train_project 5
train_rules '{"match":{"contains":["TRAIN-0003"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo done bad >>files/t0003.txt"}}]}}
{"match":{"contains":["TRAIN-0003","merge train","done bad"],"turn":3},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"sed -i s/bad// files/t0003.txt"}}]}}
{"match":{"turn":4},"capture":"TRAIN-([0-9]+)","reply":{"tool_calls":[{"name":"submit","arguments":{"note":"fixed files/t$1.txt"}}]}}'
start_mock
gate="echo run >>'$TRASH/gate.log'; if grep -r bad files; then echo the gate found bad; exit 1; fi"
cat >"$TRASH/remote.git/hooks/post-receive" <<SH
#!/bin/sh
while read -r old new ref; do
	echo "\$old \$new \$ref" >>"$TRASH/updates"
	[ "\$ref" != refs/heads/main ] || echo push >>"$TRASH/gate.log"
done
SH
chmod +x "$TRASH/remote.git/hooks/post-receive"
before=$(git --git-dir="$TRASH/remote.git" rev-parse main)
hold_turn
# queued in this order: 1 2 3 (the culprit) 4 5
queue_up 2 1 -g "$gate"
queue_up 1 3 -g "$gate"
queue_up 2 4 -g "$gate"
release_turn
wait_workers
expect_eq "every worker landed its task" 0 "$bad"
culprit=$(task-ls | awk '/TRAIN-0003/ { print $1 }')
jq -r 'select(.type == "user" and .feedback) | .content' "$TRASH/work/transcripts/$culprit".*.jsonl >"$TRASH/fb"
expect_match "the culprit's agent was told the train's gate failed" 'merge train' "$TRASH/fb"
expect_match "with the gate's output" '^files/t0003.txt:done bad$' "$TRASH/fb"
others=$(for f in "$TRASH"/work/transcripts/*.jsonl; do case $f in */"$culprit".*) ;; *) jq -r 'select(.feedback) | .content' "$f" ;; esac; done)
expect_eq "no other agent was told anything" "" "$others"
first=$(grep ' refs/heads/main$' "$TRASH/updates" | head -n 1)
set -- $first
expect_eq "the first landing was on the old tip" "$before" "$1"
git --git-dir="$TRASH/remote.git" log --format='%(trailers:key=Longhaul-Task,valueonly)' "$1..$2" | grep . >"$TRASH/first"
expect_eq "it brought the two before the culprit" "TRAIN-0001 TRAIN-0002" \
    "$(for t in $(cat "$TRASH/first"); do task-show -f title "$t"; done | sed 's/.* //' | sort | paste -sd' ' -)"
expect_eq "the fixed culprit landed last, after the four others" "$culprit" \
    "$(git --git-dir="$TRASH/remote.git" show -s --format='%(trailers:key=Longhaul-Task,valueonly)' main | head -n 1)"
# (t/1608 runs this with LONGHAUL_TRAIN_PARALLEL=3: three prefixes at
# once, so one round of three to bisect)
runs=${TRAIN_BISECT_RUNS:-3}
expect_eq "before the first landing the gate ran $runs times: the stack, then to bisect" "$runs" \
    "$(sed '/^push$/,$d' "$TRASH/gate.log" | grep -c .)"
if trailers_once 5; then ok "each task done once, its commit on main once"; else
	not_ok "each task done once, its commit on main once"; diag "$(cat "$TRASH/twice")" "$(task-ls)"; fi
if first_parent_green '! grep -rq bad files'; then ok "no tip of main was ever red"
else not_ok "no tip of main was ever red"; diag "$(cat "$TRASH/red")"; fi
