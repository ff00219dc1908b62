#!/bin/sh
# Faults injected by llm-mock: what is retried, how long llm-call waits
# (measured from the server's log), exit statuses and partial replies.
. "$(dirname "$0")/lib.sh"
LONGHAUL_STATE=$TRASH/state
export LONGHAUL_STATE

# requests seen for a model, and the pauses between them (ms)
requests() { jq -s --arg m "$1" '[.[] | select(.model == $m)] | length' "$TRASH/mock.log"; }
pauses() {
	jq -s -r --arg m "$1" '[.[] | select(.model == $m)] | sort_by(.start) as $r
		| [range(1; $r | length) | (($r[.].start - $r[. - 1].end) * 1000 | floor)] | join(" ")' "$TRASH/mock.log"
}
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

cat >"$TRASH/rules" <<'R'
{"match":{"model":"r429"},"fault":"429","retry_after":0.4,"times":1}
{"match":{"model":"r500"},"fault":"500","times":2}
{"match":{"model":"r529"},"fault":529,"times":1}
{"match":{"model":"r400"},"fault":"400"}
{"match":{"model":"quota"},"fault":"quota"}
{"match":{"model":"always500"},"fault":"503"}
{"match":{"model":"slow"},"fault":"slow_first_byte","fault_ms":4000,"times":1}
{"match":{"model":"stall"},"fault":"stall","fault_ms":5000}
{"match":{"model":"cut"},"fault":"cut"}
{"match":{"model":"err200"},"fault":"error_after_200","times":2}
{"match":{"model":"malformed"},"fault":"malformed","times":2}
{"match":{},"chunk":5,"reply":{"text":"aaaa bbbb cccc dddd "}}
R
start_mock "$TRASH/rules"

plan 28
expect_code 0 "429 then success" -- llm-call -j -m openai:r429 hi
expect_eq "two attempts" 2 "$(jq .attempts "$TRASH/out")"
p=$(pauses r429)
if between "$p" 380 1500; then ok "waited retry-after-ms (${p} ms)"; else not_ok "waited retry-after-ms (${p} ms)"; fi
test -s "$TRASH/state/llm/cooldown" && ok "429 left a shared cool-down" || not_ok "429 left a shared cool-down"

expect_code 0 "500 twice then success" -- llm-call -j -m openai:r500 hi
expect_eq "three requests" 3 "$(requests r500)"
set -- $(pauses r500)
if between "$1" 0 600 && between "$2" 0 1100; then ok "backoff with jitter under 0.5 s, 1 s ($*)"; else not_ok "backoff under 0.5 s, 1 s ($*)"; fi

expect_code 0 "529 overloaded, Anthropic" -- llm-call -m anthropic:r529 hi
expect_eq "529 retried once" 2 "$(requests r529)"

expect_code 3 "400 is permanent" -- llm-call -m openai:r400 hi
expect_eq "400 not retried" 1 "$(requests r400)"
expect_code 3 "a spend-limit 429 is permanent" -- llm-call -m anthropic:quota hi
expect_eq "spend limit not retried" 1 "$(requests quota)"

expect_code 1 "always 503: temporary failure after -a 3" -- llm-call -a 3 -m openai:always500 hi
expect_eq "three attempts" 3 "$(requests always500)"

expect_code 0 "slow first byte: idle timeout, retried" -- llm-call -i 1 -j -m openai:slow hi
expect_eq "slow: two attempts" 2 "$(jq .attempts "$TRASH/out")"

expect_code 4 "stalled stream: incomplete" -- llm-call -i 1 -m anthropic:stall hi
printf 'aaaa bbbb cccc d\n' >"$TRASH/want"
expect_file "stall: the partial text was printed" "$TRASH/want" "$TRASH/out"
expect_eq "stall: not retried" 1 "$(requests stall)"

expect_code 4 "cut stream: incomplete" -- llm-call -j -m openai:cut hi
expect_eq "cut: partial text flagged incomplete" '"aaaa bbbb cccc d" true' "$(jq -c '(.text|tojson) + " " + (.incomplete|tostring)' "$TRASH/out" | jq -r .)"

expect_code 0 "error after 200, both formats, retried" -- sh -c 'llm-call -m openai:err200 hi && llm-call -j -m anthropic:err200 hi'
expect_eq "error after 200: four requests" 4 "$(requests err200)"

expect_code 0 "malformed JSON, streamed and not, retried" -- sh -c 'llm-call -m openai:malformed hi && llm-call -N -m anthropic:malformed hi'
expect_eq "malformed: four requests" 4 "$(requests malformed)"

start=$(date +%s)
expect_code 1 "deadline -t 1 ends the retries" -- llm-call -t 1 -a 100 -m openai:always500 hi
[ $(( $(date +%s) - start )) -le 3 ] && ok "deadline kept" || not_ok "deadline kept"
