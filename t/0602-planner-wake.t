#!/bin/sh
# A planner publishes a task, sleeps until it finishes, and is woken with
# the worker's handoff note in its next session; its final report becomes
# the plan task's result. The agent is a scripted stand-in for agent-step.
. "$(dirname "$0")/lib.sh"
plan 9

git init -q --bare "$TRASH/repo.git"
git clone -q "$TRASH/repo.git" "$TRASH/src" 2>/dev/null
(cd "$TRASH/src" && echo hello >README && git add README &&
 git -c user.name=t -c user.email=t@t commit -qm init && git push -q origin HEAD:main)
board-init >/dev/null

# a stand-in for agent-step: the rule matching the transcript answers;
# turn N is the Nth step of a session
mkdir "$TRASH/fake"
cat >"$TRASH/fake/agent-step" <<'FAKE'
#!/bin/sh
while getopts r:p:d:T: o; do case $o in d) dir=$OPTARG;; T) tr=$OPTARG;; r|p) ;; *) exit 2;; esac; done
turn=$(( $(grep -c '"role":"assistant"' "$tr") + 1 ))
rule=$(jq -c --argjson turn "$turn" --rawfile t "$tr" \
	'select((.turn // $turn) == $turn and all(.contains[]?; . as $c | $t | contains($c)))' \
	"$FAKE_RULES" | head -n 1)
[ -n "$rule" ] || { echo "no rule for turn $turn" >&2; exit 3; }
if cmd=$(printf '%s' "$rule" | jq -er .bash); then
	out=$(cd "$dir" && sh -c "$cmd" 2>&1)
	jq -nc --arg c "$cmd" '{role:"assistant",command:$c}' >>"$tr"
	jq -nc --arg o "$out" '{role:"tool",content:$o}' >>"$tr"
	exit 0
fi
jq -nc '{role:"assistant",submit:true}' >>"$tr"
printf '%s' "$rule" | jq -r .submit
exit 10
FAKE
chmod +x "$TRASH/fake/agent-step"
PATH=$TRASH/fake:$PATH
FAKE_RULES=$TRASH/rules.jsonl
cat >"$FAKE_RULES" <<'EOF2'
{"turn":1,"contains":["Handoff note:\\nadded the greeting"],"bash":"task-ls -P \"$LONGHAUL_TASK\""}
{"turn":2,"contains":["Handoff note:\\nadded the greeting"],"submit":"goal met: the worker added the greeting"}
{"turn":1,"contains":["plan: greet","no tasks yet"],"bash":"task-publish -a doc -v 'grep -q hi README' 'say hi in the README'"}
{"turn":2,"submit":"published the greeting task"}
EOF2
export FAKE_RULES LONGHAUL_POLL=2

task-publish -k plan -i plan-1 'plan: greet' >/dev/null
longhaul-planner -1 -R "$TRASH/repo.git" -W "$TRASH" 2>"$TRASH/planner.err" &
planner=$!
at_exit "kill $planner"

wait_for 20 '[ "$(task-ls -P plan-1 | wc -l)" -eq 1 ]' &&
	ok 'the planner published a task under its plan' ||
	not_ok 'the planner published a task under its plan'
child=$(task-ls -P plan-1 -j | jq -r .id)
expect_eq 'in its area, with its verification' 'doc grep -q hi README' \
	"$(task-show "$child" | jq -r '.area + " " + .verify[0]')"
wait_for 20 '[ "$(task-show plan-1 | jq -r .state)" = claimed ] && grep -qs submit "$LONGHAUL_BOARD"/transcripts/0/*.plan-1.1.jsonl' &&
	ok 'the planner submitted and sleeps' || not_ok 'the planner submitted and sleeps'

# a worker does the task
claim=$(task-claim -k work)
token=$(echo "$claim" | sed -n 2p)
expect_code 0 'the worker finishes the task' -- \
	task-update -t "$token" -m 'added the greeting' done "$child"

wait_for 30 '! kill -0 $planner 2>/dev/null' &&
	ok 'the planner ended its plan task' || not_ok 'the planner ended its plan task'
wait $planner
expect_eq 'it exited 0' 0 $?
expect_eq 'the plan task is done' done "$(task-show plan-1 | jq -r .state)"
expect_match 'the handoff note reached its next session' 'added the greeting' \
	"$(ls "$LONGHAUL_BOARD"/transcripts/0/*.plan-1.2.jsonl)"
task-show plan-1 | jq -r .result.note >"$TRASH/note"
expect_match 'its report is the result of the plan task' 'goal met' "$TRASH/note"
