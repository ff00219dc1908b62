#!/bin/sh
# task-publish: records, batches, duplicates, guard rails
. "$(dirname "$0")/lib.sh"
plan 23
board-init >/dev/null

expect_code 0 'publish one task' -- task-publish -i t1 -a core -p 7 -m 2 -v 'make test' -v true 'Add a parser'
expect_eq 'prints its id' t1 "$(cat "$TRASH/out")"
task-show t1 >"$TRASH/rec"
jq -c '[.id,.version,.state,.kind,.title,.priority,.area,.verify,.max_attempts,.attempts,.parent,.deps]' "$TRASH/rec" >"$TRASH/got"
echo '["t1",1,"ready","work","Add a parser",7,"core",["make test","true"],2,0,null,[]]' >"$TRASH/want"
expect_file 'the record holds what was given' "$TRASH/want" "$TRASH/got"
expect_eq 'task-show -f: a string as it is' 'Add a parser' "$(task-show -f title t1)"
expect_eq 'a list one item a line' "$(printf 'make test\ntrue')" "$(task-show -f verify t1)"
expect_eq 'a dotted path, a missing field as nothing' '7|' "$(task-show -f priority t1)|$(task-show -f lease.token t1)"
expect_eq 'an object as JSON' '{"steps":3}' "$(task-publish -D -i t9 -j <<'EOJ' >/dev/null; task-show -f limits t9
{"title":"limited","limits":{"steps":3}}
EOJ
)"
expect_eq 'its hint is in the ready index' 1 "$(find "$LONGHAUL_BOARD/ready/work/7" -name "t1@1" | wc -l)"

printf 'line one\nline two\n' >"$TRASH/body"
expect_code 0 'body from a file' -- task-publish -i t2 -f "$TRASH/body" -P t1 -k plan 'Plan the rest'
expect_eq 'body kept' "$(cat "$TRASH/body")" "$(task-show t2 | jq -r .body)"

cat >"$TRASH/batch" <<'EOB'
{"id":"b1","title":"first of a batch","area":"core"}
{"id":"b2","title":"second, after the first","deps":["b1"]}
not json
{"id":"b3","title":"third","priority":"high"}
{"id":"b4","title":"fourth","verify":["make check"]}
EOB
task-publish -j <"$TRASH/batch" >"$TRASH/out" 2>"$TRASH/err"
expect_eq 'a batch goes on past bad lines and fails at the end' 2 $?
printf 'b1\nb2\nb4\n' >"$TRASH/want"
expect_file 'the good lines published, in order' "$TRASH/want" "$TRASH/out"
cat >"$TRASH/want" <<'EOB'
task-publish: line 3: task: invalid JSON: '[' or '{' expected near 'not'
task-publish: line 4: priority: must be an integer from 0 to 9
EOB
expect_file 'each bad line named' "$TRASH/want" "$TRASH/err"

expect_code 3 'the same title in the same area is refused' -- task-publish -a core 'Add a parser'
expect_match 'naming the task it duplicates' 'duplicate of task t1' "$TRASH/err"
expect_code 0 'the same title in another area is fine' -- task-publish -a docs 'Add a parser'

LONGHAUL_AREA=ui expect_code 3 'a confined planner cannot publish elsewhere' -- task-publish -a core 'Other area'
LONGHAUL_AREA=ui expect_code 0 '... but can below its own area' -- task-publish -a ui/menu 'Menu'

LONGHAUL_PUBLISH_MAX=2 LONGHAUL_AGENT=p1 LONGHAUL_CYCLE=c1 \
	task-publish -D -j >"$TRASH/out" 2>"$TRASH/err" <<'EOB'
{"title":"q1"}
{"title":"q2"}
{"title":"q3"}
EOB
expect_eq 'the publish quota stops the third' 2 "$(wc -l <"$TRASH/out")"
expect_match 'saying why' 'publish limit reached: 2 tasks this cycle' "$TRASH/err"

LONGHAUL_PUBLISH_MAX=1 LONGHAUL_AGENT=p2 LONGHAUL_CYCLE=c1 \
	expect_code 3 'a refused duplicate ...' -- task-publish -a core 'Add a parser'
LONGHAUL_PUBLISH_MAX=1 LONGHAUL_AGENT=p2 LONGHAUL_CYCLE=c1 \
	expect_code 0 '... costs no quota' -- task-publish 'Something new'
touch -d '2000-01-01' "$LONGHAUL_BOARD/bell"
task-publish 'Ring' >/dev/null
expect_eq 'publishing rings the bell: its mtime moves, for pollers on NFS' newer \
	"$([ "$(stat -c %Y "$LONGHAUL_BOARD/bell")" -gt 1000000000 ] && echo newer)"
