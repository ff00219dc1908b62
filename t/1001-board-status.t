#!/bin/sh
# board-status on a board of known content: two live agents (one running a
# command, one waiting for the model, whose heartbeat is late), a ready
# task nobody claims while a worker lives, a failure, a landing, spend
# against the budgets, a cool-down, quarantined work; the screen and -j
# compared with what they must say, cold and from the cache.
. "$(dirname "$0")/lib.sh"
plan 18

export XDG_CACHE_HOME="$TRASH/cache" LONGHAUL_WORKDIR="$TRASH/work"
unset LONGHAUL_BUDGET_USD LONGHAUL_BUDGET_TOKENS LONGHAUL_REMOTE LONGHAUL_BRANCH NO_COLOR
board-init >/dev/null
b=$LONGHAUL_BOARD
now=$(date +%s)
ago() { touch -d "@$(( now - $1 ))" "$2"; }
cur() { ls -d "$b"/tasks/*/"$1"/* | tail -n 1; }
claim() { LONGHAUL_AGENT=$1 task-claim -k work -l "$2" | tail -n 1; }

a=$(task-publish -a src/a "write the parser")
ta=$(claim w-1 7200)
bb=$(task-publish -a src/b "write the printer")
tb=$(claim w-2 600)
# a title may hold no control character (task-publish refuses one), a
# reason may: what the failed task says reaches the terminal made safe
c=$(task-publish -m 1 -a src/b "break the build")
tc=$(claim w-3 600)
task-update -t "$tc" -r "$(printf 'the tests \033[31mdo not build')" fail "$c" >/dev/null
d=$(task-publish -a src/a "land early")
td=$(claim w-3 600)
task-update -t "$td" -c deadbeef -m "landed" done "$d" >/dev/null
e=$(task-publish -a src/b -d "$bb" "print after the printer")
f=$(task-publish -a src/a "nobody claims this")
ago 3660 "$(cur "$a")"; ago 10815 "$(cur "$bb")"; ago 150 "$(cur "$d")"; ago 10815 "$(cur "$f")"

# transcripts: w-1 runs make test in step 2; w-2 waits for the model after step 3
mkdir -p "$TRASH/work/transcripts" "$TRASH/work/quarantine/$bb.20261201-000000.42"
cat >"$TRASH/work/transcripts/$a.$ta.jsonl" <<JSONL
{"type":"system","content":"You are a worker.","time":$now}
{"type":"user","content":"the task","task":"$a","time":$now}
{"type":"assistant","content":"","action":{"tool":"bash","command":"ls"},"step":1,"time":$now}
{"type":"tool","content":"Makefile","exit":0,"time":$now}
{"type":"assistant","content":"","action":{"tool":"bash","command":"make test"},"step":2,"time":$now}
{"type":"run","pgid":42,"run":"x","time":$now}
JSONL
cat >"$TRASH/work/transcripts/$bb.$tb.jsonl" <<JSONL
{"type":"system","content":"You are a worker.","time":$now}
{"type":"assistant","content":"","action":{"tool":"bash","command":"cat x.c"},"step":3,"time":$now}
{"type":"tool","content":"int x;","exit":0,"time":$now}
JSONL
# a live worker, one call in flight, a cool-down of two hours
mkdir -p "$b/turns/worker-w-1" "$b/llm/inflight" "$b/cycles" "$b/usage"
: >"$b/turns/worker-w-1/a.${now}000000.h.1.r"
: >"$b/llm/inflight/a.${now}000000.h.1.r"
echo "$(( now + 7230 )).000" >"$b/llm/cooldown"
echo "{\"cycle\":\"0001\",\"state\":\"running\",\"started\":$(( now - 14400 )),\"usd_at_start\":0.0100,\"tokens_at_start\":2300}" \
	>"$b/cycles/0001.json"
u() { echo "{\"time\":\"x\",\"ts\":$(( now - $1 )),\"host\":\"h1\",\"pid\":1,\"provider\":\"openai\",\"model\":\"$2\",\"role\":\"$3\",\"task\":$4,\"agent\":\"a\",\"input_tokens\":$5,\"output_tokens\":$6,\"cache_read_tokens\":0,\"cache_write_tokens\":0,\"cost_usd\":$7,\"outcome\":\"ok\"}"; }
{ u 20000 gpt-4.1 planner '"plan-0001"' 2000 300 0.0100
  u 3000 gpt-4o-mini worker "\"$a\"" 1000 100 0.0012
  u 2000 gpt-4o-mini worker "\"$bb\"" 500 50 0.0006
  u 1000 gpt-4.1 judge null 100 10 0.0010
} >"$b/usage/h1.jsonl"

host=$(hostname | cut -d. -f1)
[ ${#host} -le 12 ] || host="$(printf %s "$host" | cut -c1-11)~"
H=$(printf '%-12s' "$host")
cat >"$TRASH/expected" <<EOF2
TASKS    ready 1  waiting 1  claimed 2  done 1  failed 1
  ready queue 1, the oldest ready for 3h00m
  AREA                       ready waiting claimed    done  failed
  src/a                          1       0       1       1       0
  src/b                          0       1       1       0       1
AGENTS   2 live
  ROLE    HOST         AGENT          TASK                     STEP   BEAT   TOKENS      USD  NOW
  worker  $H w-2            $bb     3  3h00m      550   0.0006  waiting for the model
          write the printer
  worker  $H w-1            $a     2  1h01m     1100   0.0012  \$ make test
          write the parser
SPEND    run \$0.0128 of \$0.05 (26%), 4060 tokens, 4 calls; cycle \$0.0028 of \$0.02 (14%), 1760 tokens
  by role: judge \$0.0010 (1 calls) planner \$0.0100 (1 calls) worker \$0.0018 (2 calls)
  by model: gpt-4.1 \$0.0110 (2 calls) gpt-4o-mini \$0.0018 (2 calls)
  the cycle by role: judge \$0.0010 (1 calls) worker \$0.0018 (2 calls)
  the cycle by model: gpt-4.1 \$0.0010 (1 calls) gpt-4o-mini \$0.0018 (2 calls)
  calls in flight 1 (0 waiting for a slot); cool-down after a 429: 2h00m more
LANDING  per minute, the last first: 0 0 1 0 0 0 0 0 0 0
  queue on main: 0 landing, 0 waiting; last landing: 2m ago
ATTENTION
  stall: 1 ready tasks unclaimed for longer than the lease (2h00m), the oldest 3h00m, while 1 workers live
  stall: w-2 on $bb: no heartbeat for 3h00m (lease 10m)
  failed: $c break the build: the tests ?[31mdo not build
  quarantined: $TRASH/work/quarantine/$bb.20261201-000000.42
EOF2

expect_code 0 'board-status exits 0' -- board-status -u 0.05 -U 0.02
head -n 1 "$TRASH/out" >"$TRASH/first"
expect_match 'the first line names the board and the cycle' "^board $b  [0-9T:Z-]+  cycle 0001 \\(running\\)\$" "$TRASH/first"
sed 1d "$TRASH/out" >"$TRASH/screen"
expect_file 'the screen says what the board holds' "$TRASH/expected" "$TRASH/screen"
expect_eq 'nothing on stderr' '' "$(cat "$TRASH/err")"
[ -n "$(ls "$XDG_CACHE_HOME/longhaul/")" ] && ok 'the cache is in the user directory' || not_ok 'no cache written'

# the same from the cache: nothing read again but what changed
board-status -u 0.05 -U 0.02 >"$TRASH/out2" 2>&1
sed 1d "$TRASH/out2" >"$TRASH/screen2"
expect_file 'from the cache, the same screen' "$TRASH/expected" "$TRASH/screen2"

expect_code 0 'board-status -j exits 0' -- board-status -j -u 0.05 -U 0.02
jq -c '[.tasks, .ready_queue.depth, [.agents[] | [.agent, .task, .step, .doing, .tokens, .cost_usd, .role]],
	.spend.cost_usd, .spend.budget_usd, .cycle_spend.cost_usd, (.by_role | map_values(.calls)),
	(.cycle_spend.by_model | map_values(.calls)),
	.llm.in_flight, (.llm.cooldown_s > 7000), .landing.per_minute, [.stalls[].kind],
	[.failed[] | [.task, .reason]], (.quarantined | length)]' "$TRASH/out" >"$TRASH/got.json"
cat >"$TRASH/want.json" <<EOF2
[{"ready":1,"waiting":1,"claimed":2,"done":1,"failed":1},1,[["w-2","$bb",3,"waiting for the model",550,0.0006,"worker"],["w-1","$a",2,"\$ make test",1100,0.0012,"worker"]],0.0128,0.05,0.0028,{"judge":1,"planner":1,"worker":2},{"gpt-4.1":1,"gpt-4o-mini":2},1,true,[0,0,1,0,0,0,0,0,0,0],["ready-unclaimed","no-heartbeat"],[["$c","the tests ?[31mdo not build"]],1]
EOF2
expect_file '-j holds the same facts' "$TRASH/want.json" "$TRASH/got.json"
expect_eq '-j prints one line per refresh' 1 "$(wc -l <"$TRASH/out")"

# a change after the cache: A is done, and it lands
task-update -t "$ta" -c cafe -m ok done "$a" >/dev/null
board-status -j >"$TRASH/out3"
expect_eq 'a task that changed is read again' '1 2 1' \
	"$(jq -r '"\(.tasks.ready) \(.tasks.done) \(.agents | length)"' "$TRASH/out3")"

# a landing queue that does not move: one in it for hours, nothing landed
mkdir -p "$b/turns/push-main"
: >"$b/turns/push-main/a.$(( now - 10800 ))000000.h.1.r"
: >"$b/turns/push-main/w.$(( now - 10000 ))000000.h.2.r"
ago 10800 "$(cur "$a")"; ago 10800 "$(cur "$d")"
rm -rf "$XDG_CACHE_HOME"
board-status -j >"$TRASH/out4"
expect_eq 'a landing queue that does not move is a stall' 'landing-stuck 2' \
	"$(jq -r '.stalls[] | select(.kind == "landing-stuck") | "\(.kind) \(.queue)"' "$TRASH/out4")"

# what an agent may leave: a FIFO for a transcript or a usage log must
# not block the screen
rm -f "$TRASH/work/transcripts/$bb.$tb.jsonl"
mkfifo "$TRASH/work/transcripts/$bb.$tb.jsonl" "$b/usage/fifo.jsonl"
expect_code 0 'a FIFO on the board or among the transcripts does not block it' -- \
	timeout 20 board-status -j
expect_eq 'and that agent shows no transcript' 'null' \
	"$(jq -r --arg t "$bb" '.agents[] | select(.task == $t) | .doing' "$TRASH/out")"

# the tip of the branch, from the shared repository
git init -q --bare "$TRASH/repo.git"
git init -q -b main "$TRASH/seed"
(cd "$TRASH/seed" && git -c user.name=t -c user.email=t@t.invalid commit -q --allow-empty -m 'the tip' &&
 git push -q "$TRASH/repo.git" main)
board-status -R "$TRASH/repo.git" >"$TRASH/out5" 2>&1
expect_match 'with -R, the tip of the branch' "^  tip $(git -C "$TRASH/seed" rev-parse --short HEAD), [0-9]+[sm] ago: the tip\$" "$TRASH/out5"

# a transcript at rest: a stall, unless the agent submitted and waits
g=$(task-publish -p 9 -a src/a "rest a while")
tg=$(claim w-4 7200)
tr=$TRASH/work/transcripts/$g.$tg.jsonl
echo "{\"type\":\"assistant\",\"content\":\"\",\"action\":{\"tool\":\"submit\",\"note\":\"ok\"},\"step\":5,\"time\":$now}" >"$tr"
ago 10800 "$tr"
board-status -j >"$TRASH/out6"
expect_eq 'a submitted agent whose transcript rests is no stall' '' \
	"$(jq -r --arg t "$g" '.stalls[] | select(.task == $t) | .kind' "$TRASH/out6")"
echo "{\"type\":\"tool\",\"content\":\"x\",\"exit\":0,\"time\":$now}" >>"$tr"
ago 10800 "$tr"
board-status -j >"$TRASH/out6"
expect_eq 'one that waits for nothing is' 'no-progress' \
	"$(jq -r --arg t "$g" '.stalls[] | select(.task == $t) | .kind' "$TRASH/out6")"

# a failer killed after its link, before it failed the dependents: the
# waiting task is shown as a stall until board-reap fails it too
y=$(task-publish -p 9 -m 1 -a src/c "fail for good")
x=$(task-publish -a src/c -d "$y" "after the failure")
ty=$(claim w-5 600)
vy=$(cur "$y")
jq -jc '.version += 1 | .state = "failed" | .event = "fail" | .owner = null | .lease = null |
	.reason = "killed before its dependents"' "$vy" >"$(dirname "$vy")/$(printf %06d "$((ty + 1))").json"
board-status -j >"$TRASH/out7"
expect_eq 'a task waiting on a failed dependency is a stall' "dependency-failed $x $y" \
	"$(jq -r '.stalls[] | select(.kind == "dependency-failed") | "\(.kind) \(.task) \(.dependency)"' "$TRASH/out7")"
board-reap >/dev/null 2>&1 || :
board-status -j >"$TRASH/out7"
expect_eq 'and no more once board-reap has failed it' "failed dependency $y failed" \
	"$(jq -r --arg t "$x" '(.stalls[] | select(.kind == "dependency-failed") | "stall"), (.failed[] | select(.task == $t) | "failed \(.reason)")' "$TRASH/out7")"
