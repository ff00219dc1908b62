#!/bin/sh
# Many callers at once: 50 calls all logged as whole JSON lines; a
# shared in-flight limit that holds with 20 callers and gets back the
# slots of callers killed with -9.
. "$(dirname "$0")/lib.sh"
LONGHAUL_STATE=$TRASH/state
export LONGHAUL_STATE

max_active() { jq -s --arg m "$1" '[.[] | select(.model == $m) | .active] | max' "$TRASH/mock.log"; }

cat >"$TRASH/rules" <<'R'
{"match":{"model":"hang"},"delay_ms":30000,"reply":{"text":"late"}}
{"match":{"model":"slow"},"delay_ms":150,"reply":{"text":"ok $1"},"capture":"CALL-([0-9]+)"}
{"match":{},"reply":{"text":"ok $1"},"capture":"CALL-([0-9]+)"}
R
start_mock "$TRASH/rules"

plan 8
pids=
i=0
while [ $i -lt 50 ]; do
	i=$((i + 1))
	LONGHAUL_TASK=T$i llm-call -m anthropic:fast "CALL-$i" >"$TRASH/o.$i" 2>&1 &
	pids="$pids $!"
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
expect_eq "50 concurrent calls succeed" 0 "$fails"
expect_eq "50 usage lines" 50 "$(cat "$TRASH"/state/usage/*.jsonl | wc -l)"
expect_eq "all valid JSON, one per task" 50 "$(jq -r .task "$TRASH"/state/usage/*.jsonl | sort -u | wc -l)"

# 20 callers, at most 3 in flight
LONGHAUL_IN_FLIGHT=3
export LONGHAUL_IN_FLIGHT
pids=
i=0
while [ $i -lt 20 ]; do
	i=$((i + 1))
	llm-call -m openai:slow "CALL-$i" >"$TRASH/s.$i" 2>&1 &
	pids="$pids $!"
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
expect_eq "20 limited callers succeed" 0 "$fails"
m=$(max_active slow)
if [ "$m" -le 3 ] && [ "$m" -ge 2 ]; then ok "at most 3 in flight (saw $m)"; else not_ok "at most 3 in flight (saw $m)"; fi

# three callers hold every slot, then die with -9; the next caller gets in
hung=
for i in 1 2 3; do
	llm-call -m openai:hang "CALL-$i" >/dev/null 2>&1 &
	hung="$hung $!"
done
wait_for 10 '[ "$(ls "$TRASH/state/llm/inflight" | grep -c "^a\.")" -eq 3 ]'
expect_eq "three slots held" 3 "$(ls "$TRASH/state/llm/inflight" | grep -c '^a\.')"
# shellcheck disable=SC2086
kill -9 $hung
wait $hung 2>/dev/null  # reaped, as a parent would
start=$(date +%s)
expect_code 0 "a new caller gets a slot back" -- llm-call -t 10 -m openai:fast CALL-99
took=$(( $(date +%s) - start ))
[ "$took" -le 3 ] && ok "within seconds of the kills ($took s)" || not_ok "within seconds of the kills ($took s)"
