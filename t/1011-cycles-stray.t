#!/bin/sh
# The cycles of a run are read by one loader (lh-cycle.c) in llm-usage
# and board-status: only regular files with a numeric "started" are
# cycles. A FIFO among them (anybody may write the board) blocked
# llm-usage's read for ever; a record without "started" became
# board-status's cycle.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip_all "jq is missing"
command -v mkfifo >/dev/null || skip_all "mkfifo is missing"
plan 6
board-init >/dev/null
c=$LONGHAUL_BOARD/cycles
mkdir -p "$LONGHAUL_BOARD/usage" "$c"
echo '{"cycle":"0001","state":"judged","started":1700000000}' >"$c/0001.json"
mkfifo "$c/0002.json"
echo 'not JSON' >"$c/0003.json"
echo '{"cycle":"0004","state":"running"}' >"$c/0004.json"
mkdir "$c/0005.json"
cat >"$LONGHAUL_BOARD/usage/h1.jsonl" <<'EOF2'
{"time":"2023-11-14T22:13:20Z","ts":1700000000.5,"model":"m","role":"worker","task":"t1","input_tokens":100,"output_tokens":20,"cache_read_tokens":0,"cache_write_tokens":0,"cost_usd":0.001}
EOF2

expect_code 0 'llm-usage -g cycle does not block on the FIFO' -- timeout 20 llm-usage -g cycle
expect_eq 'the call is of the one cycle' '0001:1 total:1' \
	"$(jq -r '"\(if .by == "total" then "total" else .cycle end):\(.calls)"' "$TRASH/out" | paste -sd' ' -)"
expect_code 0 'board-status -j' -- timeout 20 board-status -j
expect_eq 'its cycle is the one with a start' '0001 judged 1700000000' \
	"$(jq -r '.cycle | "\(.cycle) \(.state) \(.started)"' "$TRASH/out")"
rm "$c/0001.json"
expect_code 0 'board-status -j, no cycle at all' -- timeout 20 board-status -j
expect_eq 'then there is none' null "$(jq -c .cycle "$TRASH/out")"
