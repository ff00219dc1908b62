#!/bin/sh
# longhaul-report on a board of known content, opened in headless
# Chromium: no console errors, every task on the page, the numbers of
# task-ls and llm-usage, the charts drawn, agents' text shown as text,
# and a screenshot. Chromium is installed by mk/deps chromium when it is
# missing; the test skips only when that cannot be done.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip_all 'jq is not installed'
if ! command -v chromium >/dev/null 2>&1; then
	sh "$TOP/mk/deps" chromium >"$TRASH/deps.out" 2>&1 ||
		skip_all "chromium cannot be installed: $(tail -n 1 "$TRASH/deps.out")"
fi
[ -f /usr/share/javascript/chart.js/chart.min.js ] || [ -n "${LONGHAUL_CHARTJS:-}" ] ||
	sh "$TOP/mk/deps" >/dev/null 2>&1 || skip_all 'Chart.js (libjs-chart.js) cannot be installed'
plan 18

unset LONGHAUL_BUDGET_USD LONGHAUL_REMOTE LONGHAUL_BRANCH
export LONGHAUL_WORKDIR="$TRASH/work" GIT_CONFIG_NOSYSTEM=1 HOME="$TRASH"
git config --global user.name t && git config --global user.email t@t.invalid
board-init >/dev/null
b=$LONGHAUL_BOARD
claim() { LONGHAUL_AGENT=$1 task-claim -k "$2" | tail -n 1; }

# a planner plans two tasks; A fails once and is done on its second
# claim, after a round of feedback; B is done; C fails for good; D waits
p=$(task-publish -k plan "plan the parser")
tp=$(claim planner-1 plan)
a=$(task-publish -P "$p" -a src "write the lexer")
ta=$(claim w-1 work)
task-update -t "$ta" -r "make failed" fail "$a" >/dev/null
ta2=$(claim w-2 work)
bb=$(task-publish -P "$p" -a src '<img src=x onerror=alert(1)> hostile title')
tb=$(claim w-1 work)
c=$(task-publish -m 1 -a doc "write the manual")
tc=$(claim w-3 work)
task-update -t "$tc" -r "the model gave up" fail "$c" >/dev/null
d=$(task-publish -d "$c" "print it")

git init -q --bare "$TRASH/repo.git"
git init -q -b main "$TRASH/seed"
(cd "$TRASH/seed" && git commit -q --allow-empty -m start &&
 echo lex >lex.c && git add lex.c && git commit -q -m "write the lexer" -m "Longhaul-Task: $a" &&
 echo x >b.c && git add b.c && git commit -q -m "the second" -m "Longhaul-Task: $bb" &&
 git push -q "$TRASH/repo.git" main)
ca=$(git -C "$TRASH/seed" rev-parse HEAD~1) cb=$(git -C "$TRASH/seed" rev-parse HEAD)
task-update -t "$ta2" -c "$ca" -m "the lexer is in lex.c" done "$a" >/dev/null
task-update -t "$tb" -c "$cb" -m "done" done "$bb" >/dev/null
task-update -t "$tp" -m "planned the lexer and a second task" done "$p" >/dev/null

now=$(date +%s)
mkdir -p "$TRASH/work/transcripts" "$b/cycles" "$b/verdicts" "$b/usage"
cat >"$TRASH/work/transcripts/$a.$ta2.jsonl" <<JSONL
{"type":"system","content":"You are a worker.","time":$((now - 50))}
{"type":"user","content":"write the lexer","task":"$a","time":$((now - 50))}
{"type":"assistant","content":"","action":{"tool":"bash","command":"cc -c lex.c"},"step":1,"cost_usd":0.001,"usage":{"input_tokens":100,"output_tokens":10},"time":$((now - 45))}
{"type":"tool","content":"ok","exit":0,"time":$((now - 44))}
{"type":"assistant","content":"","action":{"tool":"submit","note":"done"},"step":2,"time":$((now - 40))}
{"type":"user","content":"make failed: fix it","feedback":true,"time":$((now - 30))}
{"type":"assistant","content":"","action":{"tool":"submit","note":"fixed"},"step":3,"time":$((now - 20))}
JSONL
echo "{\"cycle\":\"0001\",\"state\":\"judged\",\"started\":$((now - 120)),\"ended\":$((now - 5)),\"end\":\"drained\",\"start_commit\":\"$ca\"}" >"$b/cycles/0001.json"
echo "{\"cycle\":\"0001\",\"decision\":\"stop\",\"goal_met\":true,\"gate\":\"pass\",\"commit\":\"$cb\",\"reasons\":\"all green\",\"facts\":{\"gate\":{\"status\":\"pass\",\"commands\":[{\"command\":\"make test\",\"exit\":0,\"timed_out\":false,\"seconds\":1.5,\"tail\":\"ALL 12 TESTS PASSED\"}]}}}" >"$b/verdicts/0001.json"
u() { echo "{\"time\":\"x\",\"ts\":$((now - $1)),\"host\":\"h1\",\"pid\":1,\"provider\":\"openai\",\"model\":\"$2\",\"role\":\"$3\",\"task\":\"$4\",\"agent\":\"a\",\"input_tokens\":$5,\"output_tokens\":$6,\"cache_read_tokens\":0,\"cache_write_tokens\":0,\"cost_usd\":$7,\"outcome\":\"ok\"}"; }
{ u 100 gpt-4.1 planner "$p" 2000 300 0.0123
  u 60 gpt-4o-mini worker "$a" 1000 100 0.00045
  u 30 gpt-4o-mini worker "$bb" 500 50 0.000225
  u 10 gpt-4.1 judge "" 100 10 0.0011
} >"$b/usage/h1.jsonl"

expect_code 0 'longhaul-report exits 0' -- longhaul-report -W "$TRASH/work" -R "$TRASH/repo.git" -u 0.05 -o "$TRASH/report.html"
expect_eq 'it prints the path of the report' "$TRASH/report.html" "$(cat "$TRASH/out")"
# self-contained: nothing loaded from outside the file, and the agents'
# text only inside the data
if grep -Eiq '<(script|img|link|iframe)[^>]* (src|href)=' "$TRASH/report.html"; then
	not_ok 'one self-contained file'; diag "$(grep -Eio '<(script|img|link|iframe)[^>]* (src|href)=[^>]*' "$TRASH/report.html" | head -3)"
else ok 'one self-contained file'; fi

chrome() { chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
	--user-data-dir="$TRASH/chrome" --enable-logging=stderr --v=0 --virtual-time-budget=10000 "$@"; }
chrome --dump-dom "file://$TRASH/report.html" >"$TRASH/dom.html" 2>"$TRASH/chrome.err" </dev/null
expect_match 'the page ran to its end, without errors' '<body data-errors="0" data-rendered="yes">' "$TRASH/dom.html"
expect_eq 'the body is marked once' 1 "$(grep -o '<body[^>]*>' "$TRASH/dom.html" | wc -l)"
if grep -E 'CONSOLE|Uncaught' "$TRASH/chrome.err" | grep -Eiq 'error|uncaught'; then
	not_ok 'no console errors'; diag "$(grep -E 'CONSOLE|Uncaught' "$TRASH/chrome.err" | head -5)"
else ok 'no console errors'; fi

task-ls -j >"$TRASH/tasks"
jq -r .id "$TRASH/tasks" | sort >"$TRASH/want-ids"
grep -o 'data-task="[^"]*"' "$TRASH/dom.html" | sed 's/data-task="//; s/"$//' | sort >"$TRASH/got-ids"
expect_file 'every task of the board is on the page' "$TRASH/want-ids" "$TRASH/got-ids"
want=$(jq -rs 'group_by(.shown_state) | map("\(.[0].shown_state)=\(length)") | join(" ")' "$TRASH/tasks")
got=$(for s in claimed done failed ready waiting; do
	n=$(grep -o "id=\"count-$s\" data-value=\"[0-9]*\"" "$TRASH/dom.html" | sed 's/.*data-value="//; s/"//')
	[ "${n:-0}" -eq 0 ] || printf '%s=%s ' "$s" "$n"
done | sed 's/ $//')
expect_eq 'the counts by state are those of task-ls' "$want" "$got"

llm-usage -g role >"$TRASH/usage"
want=$(jq -r 'select(.by == "total") | "\(.calls) \(.input_tokens + .output_tokens) \(.cost_usd * 1e6 | round)"' "$TRASH/usage")
got=$(grep -o 'id="usage-total"[^>]*' "$TRASH/dom.html" | sed 's/.*data-calls="\([0-9]*\)" data-tokens="\([0-9]*\)" data-cost="\([0-9.]*\)".*/\1 \2 \3/' |
	awk '{ printf "%s %s %d\n", $1, $2, $3 * 1e6 + 0.5 }')
expect_eq 'calls, tokens and dollars are those of llm-usage' "$want" "$got"
want=$(jq -r 'select(.by == "role") | "\(.role):\(.calls):\(.cost_usd * 1e6 | round)"' "$TRASH/usage" | paste -sd' ' -)
got=$(grep -o 'data-by="role" data-key="[^"]*" data-calls="[0-9]*" data-cost="[0-9.]*"' "$TRASH/dom.html" |
	sed 's/data-by="role" data-key="\([^"]*\)" data-calls="\([0-9]*\)" data-cost="\([0-9.]*\)"/\1 \2 \3/' |
	awk '{ printf "%s:%s:%d\n", $1, $2, $3 * 1e6 + 0.5 }' | paste -sd' ' -)
expect_eq 'by role as llm-usage -g role' "$want" "$got"

grep -o '<canvas[^>]*>' "$TRASH/dom.html" >"$TRASH/canvases"
drawn=$(sed -n 's/.*data-pixels="\([0-9]*\)".*/\1/p' "$TRASH/canvases" | awk '$1 > 2000' | wc -l)
expect_eq 'four charts, each drawn (pixels on its canvas)' '4 4' "$(wc -l <"$TRASH/canvases") $drawn"
expect_eq 'the timeline: a bar per claim by its end, the requeue and the feedback round' \
	'done:3,failed:1,requeued:1,released:0,cancelled:0,still claimed:0,feedback round:1' \
	"$(grep -o '<canvas id="chart-timeline"[^>]*>' "$TRASH/dom.html" | sed -n 's/.*data-series="\([^"]*\)".*/\1/p')"
if grep -q '<img src=x' "$TRASH/dom.html"; then not_ok "an agent's title is text, not markup"
else expect_match "an agent's title is text, not markup" '&lt;img src=x onerror=alert\(1\)&gt; hostile title' "$TRASH/dom.html"; fi
expect_match 'the verdict and the gate output are shown' 'ALL 12 TESTS PASSED' "$TRASH/dom.html"

chrome --window-size=1280,2000 --screenshot="$TRASH/report.png" "file://$TRASH/report.html" >/dev/null 2>&1 </dev/null
if [ "$(head -c 8 "$TRASH/report.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
    [ "$(wc -c <"$TRASH/report.png")" -gt 20000 ]; then
	ok "a screenshot: $TRASH/report.png (T_KEEP=1 keeps it)"
else not_ok 'a screenshot'; fi

# the records are the truth, and a task's versions the run from 000001: a
# stray file past a gap is no version; boards of format 1 and 2 are read
vb=$(ls "$b"/tasks/*/"$bb" | grep -c '^[0-9]*\.json$')
jq -c '.state = "failed" | .version = 2000000000' "$(ls -d "$b"/tasks/*/"$bb")/$(printf %06d "$vb").json" \
	>"$(ls -d "$b"/tasks/*/"$bb")/2000000000.json"
data() { sed -n 's,^<script type="application/json" id="report-data">,,p' "$1"; }
longhaul-report -W "$TRASH/work" -o "$TRASH/stray.html" >/dev/null 2>&1
expect_eq 'a stray version file is no version of its task' "done $vb" \
	"$(data "$TRASH/stray.html" | jq -r --arg t "$bb" '.tasks[] | select(.id == $t) | "\(.state) \(.history | length)"')"
echo 'longhaul-board 1' >"$b/format"
expect_code 0 'a board of format 1 is read' -- longhaul-report -W "$TRASH/work" -o "$TRASH/one.html"
echo 'longhaul-board 3' >"$b/format"
expect_code 5 'a board of a later format is refused' -- longhaul-report -W "$TRASH/work" -o "$TRASH/three.html"
