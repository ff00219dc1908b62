#!/bin/sh
# llm-forward on its own: only the session's token passes; the real key
# goes upstream and never comes back; the usage is read out of the
# streamed reply (Anthropic, Responses) and logged, priced; calls past
# the session's dollars or the fleet's budget are refused; it is not
# dumpable; the relay carries a connection from loopback to its socket.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip_all "jq is missing"
command -v curl >/dev/null || skip_all "curl is missing"
LONGHAUL_STATE=$TRASH/state
export LONGHAUL_STATE
sentinel=sk-sentinel-$$-secret
token=tok-$$-0123456789abcdef
cat >"$TRASH/rules" <<'R'
{"match":{},"reply":{"thinking":"hm","text":"hello","usage":{"input_tokens":1000,"output_tokens":100}}}
R
mkdir "$TRASH/dump"
llm-mock -r "$TRASH/rules" -P "$TRASH/port" -d "$TRASH/dump" -l "$TRASH/mock.log" >/dev/null 2>&1 &
at_exit "kill $!"
wait_for 10 '[ -s "$TRASH/port" ]' || { echo "Bail out! llm-mock did not start"; exit 1; }
up=http://127.0.0.1:$(cat "$TRASH/port")
plan 14

# forward PROVIDER:MODEL [options]: start it on a socket, set $fwd
forward() {
	m=$1; shift
	rm -f "$TRASH/sock" "$TRASH/ready"
	ANTHROPIC_BASE_URL=$up OPENAI_BASE_URL=$up/v1 ANTHROPIC_API_KEY=$sentinel OPENAI_API_KEY=$sentinel \
	LONGHAUL_FORWARD_TOKEN=$token llm-forward -m "$m" -s "$TRASH/sock" -L "$TRASH/session.jsonl" "$@" \
		>"$TRASH/ready" 2>"$TRASH/fwd.err" &
	fwd=$!
	at_exit "kill $fwd"
	wait_for 10 '[ -s "$TRASH/ready" ]'
}
post() { # post KEY PATH BODY: through the socket; the status, then the body in $TRASH/body
	curl -s -N --unix-socket "$TRASH/sock" -o "$TRASH/body" -w '%{http_code}' \
		-H "x-api-key: $1" -H 'content-type: application/json' -d "$3" "http://x$2"
}
forward anthropic:claude-sonnet-4-5 -D 0.008
expect_eq "it says what it serves" "ready anthropic claude-sonnet-4-5" "$(cat "$TRASH/ready")"
# (root reads any process's memory: there only a PID namespace keeps
# the sandbox out, as engine-run makes)
if [ "$(id -u)" -eq 0 ]; then ok "# SKIP as root every /proc/PID is readable"; else
	expect_eq "it is not dumpable: its environment is not ours to read" "" \
		"$(cat /proc/$fwd/environ 2>/dev/null | tr '\0' '\n' | grep -c sentinel | grep -v '^0$')"
fi
expect_eq "a wrong token: 401, and nothing upstream" "401 0" \
	"$(post wrong /v1/messages '{"model":"m","messages":[]}') $(ls "$TRASH/dump" | wc -l)"
msg='{"model":"claude-sonnet-4-5","stream":true,"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}'
expect_eq "the token: the reply streamed back" 200 "$(post "$token" '/v1/messages?beta=true' "$msg")"
expect_eq "whole, to its last event" "message_stop" "$(sed -n 's/^event: //p' "$TRASH/body" | tail -n 1)"
expect_eq "the real key went upstream, the token did not" "1 0" \
	"$(grep -lc -- "$sentinel" "$TRASH"/dump/*.head | wc -l) $(grep -l -- "$token" "$TRASH"/dump/*.head | wc -l)"
expect_eq "the key is not in the reply" 0 "$(grep -c -- "$sentinel" "$TRASH/body")"
expect_eq "usage read from the stream, priced, logged" "1000 100 0.0045 worker" \
	"$(jq -r '"\(.input_tokens) \(.output_tokens) \(.cost_usd) \(.role)"' "$TRASH"/state/usage/*.jsonl)"
post "$token" /v1/messages "$msg" >/dev/null
expect_eq "past the session's dollars: refused" "403 permission_error" \
	"$(post "$token" /v1/messages "$msg") $(jq -r .error.type "$TRASH/body")"
kill $fwd

forward openai:gpt-5
expect_eq "Responses API: streamed through" 200 \
	"$(post "$token" /v1/responses '{"model":"gpt-5","stream":true,"input":[{"role":"user","content":"hi"}]}')"
expect_eq "its usage from response.completed" "1000 100 openai gpt-5" \
	"$(tail -n 1 "$TRASH"/state/usage/*.jsonl | jq -r '"\(.input_tokens) \(.output_tokens) \(.provider) \(.model)"')"
# a client that waits for 100 Continue before its body (curl does for
# large bodies) gets it at once: without it, it would wait 300 s here
expect_eq "Expect: 100-continue is answered" 200 \
	"$(timeout 60 curl -s -N --unix-socket "$TRASH/sock" -o "$TRASH/body" -w '%{http_code}' \
		--expect100-timeout 300 -H 'Expect: 100-continue' -H "x-api-key: $token" \
		-H 'content-type: application/json' -d '{"model":"gpt-5","input":"hi"}' http://x/v1/responses)"
LONGHAUL_BUDGET_USD=0.001
export LONGHAUL_BUDGET_USD
kill $fwd
forward openai:gpt-5
expect_eq "the fleet's budget spent: refused" 403 \
	"$(post "$token" /v1/responses '{"model":"gpt-5","input":"hi"}')"
unset LONGHAUL_BUDGET_USD
kill $fwd

# the relay: a connection to 127.0.0.1:PORT inside, carried to the socket
forward anthropic:claude-sonnet-4-5
port=$(( 20000 + $$ % 20000 ))
expect_eq "the relay carries a request from loopback to the socket" 200 \
	"$(llm-forward -R "$TRASH/sock" -p $port -- sh -c "curl -s -o /dev/null -w '%{http_code}' -H 'x-api-key: $token' -d '$msg' http://127.0.0.1:$port/v1/messages")"
