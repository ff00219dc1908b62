#!/bin/sh
# llm-usage -T: the same sums as the JSON lines, as a table by role,
# model, task, cycle and hour; the derived groups hour and cycle.
. "$(dirname "$0")/lib.sh"
plan 5

board-init >/dev/null
mkdir -p "$LONGHAUL_BOARD/usage" "$LONGHAUL_BOARD/cycles"
echo '{"cycle":"0001","started":1700000000}' >"$LONGHAUL_BOARD/cycles/0001.json"
echo '{"cycle":"0002","started":1700003600}' >"$LONGHAUL_BOARD/cycles/0002.json"
cat >"$LONGHAUL_BOARD/usage/h1.jsonl" <<'EOF2'
{"time":"2023-11-14T21:59:00Z","ts":1699999140,"model":"gpt-4.1","role":"planner","task":null,"input_tokens":10,"output_tokens":1,"cache_read_tokens":0,"cache_write_tokens":0,"cost_usd":0.0001}
{"time":"2023-11-14T22:13:20Z","ts":1700000000.5,"model":"gpt-4o-mini","role":"worker","task":"t1","input_tokens":100,"output_tokens":20,"cache_read_tokens":0,"cache_write_tokens":0,"cost_usd":0.001}
{"time":"2023-11-14T23:13:21Z","ts":1700003601,"model":"gpt-4o","role":"planner","task":"p\u001b[2J","input_tokens":1000,"output_tokens":200,"cache_read_tokens":5,"cache_write_tokens":7,"cost_usd":0.01}
EOF2

expect_code 0 'llm-usage -T exits 0' -- llm-usage -T
cat >"$TRASH/want" <<'EOF2'
BY     VALUE                          CALLS       INPUT     OUTPUT   CACHE_RD   CACHE_WR        USD
role   planner                            2        1010        201          5          7     0.0101
role   worker                             1         100         20          0          0     0.0010
model  gpt-4.1                            1          10          1          0          0     0.0001
model  gpt-4o                             1        1000        200          5          7     0.0100
model  gpt-4o-mini                        1         100         20          0          0     0.0010
task   p?[2J                              1        1000        200          5          7     0.0100
task   t1                                 1         100         20          0          0     0.0010
task   null                               1          10          1          0          0     0.0001
cycle  0001                               1         100         20          0          0     0.0010
cycle  0002                               1        1000        200          5          7     0.0100
cycle  null                               1          10          1          0          0     0.0001
hour   2023-11-14T21                      1          10          1          0          0     0.0001
hour   2023-11-14T22                      1         100         20          0          0     0.0010
hour   2023-11-14T23                      1        1000        200          5          7     0.0100
total                                     3        1110        221          5          7     0.0111
EOF2
expect_file 'the table, by role, model, task, cycle and hour, then the total' "$TRASH/want" "$TRASH/out"

expect_code 0 'llm-usage -g cycle exits 0' -- llm-usage -g cycle
expect_eq 'the cycle of a call is the last one started before it' '0001:1 0002:1 null:1 total:3' \
	"$(jq -r '"\(if .by == "total" then "total" else .cycle end):\(.calls)"' "$TRASH/out" | paste -sd' ' -)"
llm-usage -T -g role >"$TRASH/t" 2>&1
llm-usage -g role >"$TRASH/j" 2>&1
expect_eq 'the table and the JSON lines agree' \
	"$(jq -r '"\(.role // "") \(.calls) \(.cost_usd * 10000 | round)"' "$TRASH/j" | sed 's/^ /total /' | paste -sd' ' -)" \
	"$(awk 'NR > 1 { v = ($1 == "total") ? "" : $2; print ($1 == "total" ? "total" : v), ($1 == "total" ? $2 : $3), int(($NF * 10000) + 0.5) }' "$TRASH/t" | paste -sd' ' -)"
