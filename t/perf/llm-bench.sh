#!/bin/sh
# llm-call against llm-mock, side by side with plain curl sending the same
# request: median wall time of small calls (alternating, N runs each),
# peak memory, and the parse speed of a large streamed reply.
# Run from the top of the tree after make: sh t/perf/llm-bench.sh [N]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
PATH="$top:$PATH"
n=${1:-40}
dir=$(mktemp -d)
trap 'kill "$mock" 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
LONGHAUL_STATE=$dir/state
LONGHAUL_SHARE=$top/share
export LONGHAUL_STATE LONGHAUL_SHARE
unset LONGHAUL_BOARD LONGHAUL_IN_FLIGHT LONGHAUL_BUDGET_USD LONGHAUL_BUDGET_TOKENS OPENAI_API_KEY

# 10 MB reply as 64-byte deltas: about 160,000 events
cat >"$dir/rules" <<'R'
{"match":{"model":"big"},"chunk":64,"reply":{"text":"The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. ","repeat":116000}}
{"match":{},"chunk":16,"reply":{"text":"A short answer of a few words, as a judge or planner gets."}}
R
llm-mock -r "$dir/rules" -P "$dir/port" >/dev/null &
mock=$!
i=0
while [ ! -s "$dir/port" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || { echo "llm-mock did not start" >&2; exit 1; }
	sleep 0.05
done
url=http://127.0.0.1:$(cat "$dir/port")/v1
body='{"model":"small","messages":[{"role":"user","content":"hi"}],"max_tokens":4096,"stream":true,"stream_options":{"include_usage":true}}'

ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

: >"$dir/t.llm"; : >"$dir/t.curl"
i=0
while [ $i -lt "$n" ]; do
	i=$((i + 1))
	t=$(ms); llm-call -u "$url" -m openai:small hi >/dev/null; echo $(( $(ms) - t )) >>"$dir/t.llm"
	t=$(ms); curl -sN -H 'Content-Type: application/json' -d "$body" "$url/chat/completions" >/dev/null
	echo $(( $(ms) - t )) >>"$dir/t.curl"
done
llm=$(median <"$dir/t.llm"); crl=$(median <"$dir/t.curl")

peak() {  # peak RSS in KB of a command
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f %M -o "$dir/rss" "$@" >/dev/null && cat "$dir/rss"
	else echo "?"; fi
}
bigbody=$(echo "$body" | sed 's/"small"/"big"/')
t=$(ms); llm-call -u "$url" -m openai:big hi >"$dir/big.txt"; big_llm=$(( $(ms) - t ))
t=$(ms); curl -sN -H 'Content-Type: application/json' -d "$bigbody" "$url/chat/completions" >"$dir/big.sse"; big_curl=$(( $(ms) - t ))
bytes=$(wc -c <"$dir/big.sse"); text=$(wc -c <"$dir/big.txt")
rss_small=$(peak llm-call -u "$url" -m openai:small hi)
rss_big=$(peak llm-call -u "$url" -m openai:big hi)
rss_big_j=$(peak llm-call -j -u "$url" -m openai:big hi)
rss_curl=$(peak curl -sN -H 'Content-Type: application/json' -d "$body" "$url/chat/completions")

printf '%-44s %10s %10s %7s\n' "llm-call vs curl ($n runs each, alternating)" llm-call curl ratio
printf '%-44s %8s ms %7s ms %7s\n' "small streamed reply, median wall" "$llm" "$crl" \
	"$(awk -v a="$llm" -v b="$crl" 'BEGIN {printf "%.2f", a / b}')"
printf '%-44s %8s ms %7s ms %7s\n' "10 MB streamed reply ($bytes bytes SSE)" "$big_llm" "$big_curl" \
	"$(awk -v a="$big_llm" -v b="$big_curl" 'BEGIN {printf "%.2f", a / b}')"
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f "%U %S" -o "$dir/cpu" llm-call -u "$url" -m openai:big hi >/dev/null
	printf '%-44s %8s MB/s\n' "llm-call parse speed (SSE bytes / its CPU time)" \
	    "$(awk -v b="$bytes" '{printf "%.0f", b / 1e6 / ($1 + $2)}' "$dir/cpu")"
fi
printf '%-44s %8s KB %7s KB\n' "peak RSS, small reply" "$rss_small" "$rss_curl"
printf '%-44s %8s KB\n' "peak RSS, 10 MB reply streamed to stdout" "$rss_big"
printf '%-44s %8s KB\n' "peak RSS, 10 MB reply with -j" "$rss_big_j"
[ "$text" -gt 9000000 ] || { echo "short reply: $text bytes" >&2; exit 1; }
