#!/bin/sh
# Objects an agent forges do not reach the next task. The worker's
# objects directory is writable in the sandbox (the agent's git stages
# and commits there), git reads a repository's own objects before its
# alternates and checks no hash on read. An agent writes a loose object
# under the name of a blob of the shared branch (check.sh) with content
# of its own, tries to add a pack, and leaves work that is quarantined.
# Before it makes the next tree the worker checks every loose object
# against its name and removes the forged one (before, the next task's
# verification ran on a check.sh that is not the branch's); packs are
# read-only in the sandbox.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
bwrap --unshare-pid --unshare-net --ro-bind / / true 2>/dev/null ||
	skip_all "bwrap cannot make namespaces here"
perl -MCompress::Zlib -e 1 2>/dev/null || skip_all "perl's Compress::Zlib is missing"
plan 5
board-init >/dev/null
make_project
(cd "$TRASH/seed" && echo 'grep -qx four list.txt' >check.sh && git add check.sh &&
	git commit -qm check && git push -q "$TRASH/remote.git" HEAD:main)
blob=$(git --git-dir="$TRASH/remote.git" rev-parse main:check.sh)
forge="common=\$(git rev-parse --path-format=absolute --git-common-dir)
mkdir -p \$common/objects/$(echo "$blob" | cut -c1-2)
perl -MCompress::Zlib -e 'my \$d = \"exit 0\\n\"; print compress(\"blob \" . length(\$d) . \"\\0\" . \$d)' \
	>\$common/objects/$(echo "$blob" | cut -c1-2)/$(echo "$blob" | cut -c3-) && echo FORGED
echo unlanded >junk.txt
: >\$common/objects/pack/pack-0000000000000000000000000000000000000000.idx || echo PACK-REFUSED"
{
jq -cn --arg c "$forge" '{match: {contains: ["forging task"], turn: 1}, reply: {tool_calls: [{name: "bash", arguments: {command: $c}}]}}'
jq -cn '{match: {contains: ["forging task"]}, reply: {tool_calls: [{name: "submit", arguments: {note: "x"}}]}}'
jq -cn '{match: {contains: ["next task"], turn: 1}, reply: {tool_calls: [{name: "bash", arguments: {command: "cat check.sh"}}]}}'
jq -cn '{match: {contains: ["next task"]}, reply: {tool_calls: [{name: "submit", arguments: {note: "y"}}]}}'
} >"$TRASH/rules.jsonl"
start_mock
echo '{"title":"forging task","priority":9,"max_attempts":1,"verify":["false"]}' | task-publish -j >/dev/null
next=$(echo '{"title":"next task","priority":1,"max_attempts":1,"verify":["sh check.sh"]}' | task-publish -j)
LONGHAUL_AGENT=w expect_code 1 'the worker works both and stops' -- \
	longhaul-worker -f 0 -w 1 -R "$TRASH/remote.git" -W "$TRASH/work"
cp "$TRASH/err" "$TRASH/w.err"
tr=$(ls "$TRASH"/work/transcripts/"$next".*.jsonl)
jq -r 'select(.type == "tool") | .content' "$tr" >"$TRASH/seen"
expect_match "the next task's tree holds the branch's check.sh" \
	'^grep -qx four list.txt$' "$TRASH/seen"
expect_eq "so its verification fails and it lands nothing" \
	failed "$(task-show "$next" | jq -r .state)"
expect_match "the worker says it removed the forged object" 'removed 1 objects .* whose contents were not their names' "$TRASH/w.err"
first=$(ls "$TRASH"/work/transcripts/*.jsonl | grep -v "/$next\.")
jq -r 'select(.type == "tool") | .content' "$first" >"$TRASH/seen1"
expect_match "the agent cannot add a pack" 'PACK-REFUSED' "$TRASH/seen1"
