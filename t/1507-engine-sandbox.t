#!/bin/sh
# The sandbox of an engine is agent-step's (lh-sandbox.c): the CLI's own
# shell tool, run as a planner is (the board passed with -e), cannot read
# the board, our home, a file of the user's real one (its programs in
# PATH and the CLI's installation are there), a file beside its tree or
# the key (in its parent's
# /proc/PID/environ or anyone's), nor write the board, a sibling of its
# tree, or its git directory's config and hooks (which git outside would
# run); it can still write and commit in its tree.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/engine.sh"
plan 30
board-init >/dev/null
sentinel=sk-sentinel-$$-do-not-leak
export ANTHROPIC_API_KEY=$sentinel OPENAI_API_KEY=$sentinel
export HOME="$TRASH/home"
mkdir -p "$HOME" "$TRASH/outside" "$TRASH/transcripts" && echo "$sentinel" >"$HOME/key" && echo secret >"$TRASH/outside/secret"
task-publish "a task on the board" >/dev/null
git init -q "$TRASH/repo"
(cd "$TRASH/repo" && echo x >x && git add x && git commit -qm x)
common=$TRASH/repo/.git
# the directories of PATH are shown on purpose, read-only (a program
# manager's shims can hold a passing file of its own): not looked in
prune=$(printf %s "$PATH" | tr ':' '\n' | awk -v h="$REAL_HOME/" 'index($0, h) == 1 { printf " -path %s -prune -o", $0 }')
# each check prints "NAME yes" when the forbidden thing worked
cat >"$TRASH/probe.sh" <<EOF
r() { if sh -c "\$2" >/dev/null 2>&1; then echo "\$1 yes"; else echo "\$1 no"; fi; }
r read-board 'ls "$LONGHAUL_BOARD"/tasks | grep -q .'
r read-home 'cat "$HOME/key"'
r read-real-home 'find "$REAL_HOME" -path "$engines_dir" -prune -o$prune -type f ! -perm -u+x -print | grep -q .'
r read-beside 'cat "$TRASH/outside/secret"'
r write-board 'touch "$LONGHAUL_BOARD"/forged'
r write-beside 'touch "$TRASH/outside/forged"'
r write-config 'echo "[core] hooksPath=/tmp" >>"$common/config"'
r write-hooks 'echo exit 0 >"$common/hooks/post-commit"'
r write-tree 'echo written >written.txt'
r commit 'git add written.txt && git -c user.name=e -c user.email=e@x commit -qm written'
cat /proc/\$PPID/environ >environ.parent 2>/dev/null
cat /proc/[0-9]*/environ >environ.all 2>/dev/null
:
EOF
: >"$TRASH/rules.jsonl"
for e in claude codex; do
	api=$(engine_api $e)
	cat >>"$TRASH/rules.jsonl" <<JSON
{"match":{"api":"$api","contains":["PROBE-$e"],"turn":1},"reply":{"tool_calls":$(engine_shell $e "sh probe.sh >probe.out")}}
{"match":{"api":"$api","contains":["PROBE-$e"]},"reply":{"text":"probed"}}
JSON
done
start_mock
for e in claude codex; do
	why=$(engine_skip $e)
	if [ -n "$why" ]; then
		i=0; while [ $i -lt 15 ]; do ok "# SKIP $e: $why"; i=$((i + 1)); done
		continue
	fi
	tree=$TRASH/tree-$e
	git -C "$TRASH/repo" worktree add -q -b "b-$e" "$tree"
	cp "$TRASH/probe.sh" "$tree/probe.sh"
	printf '{"id":"T-%s","title":"PROBE-%s","body":"probe"}\n' $e $e >"$TRASH/task.json"
	LONGHAUL_MODEL=$(engine_model $e) expect_code 1 "$e: the run ends in a submit" -- \
		engine-run -E $e -r planner -e LONGHAUL_BOARD -T "$TRASH/transcripts/$e.jsonl" \
		-t "$TRASH/task.json" -d "$tree"
	for check in read-board read-home read-real-home read-beside write-board write-beside write-config write-hooks; do
		expect_eq "$e: $check fails" "$check no" "$(grep "^$check " "$tree/probe.out")"
	done
	expect_eq "$e: it writes in its tree" "write-tree yes" "$(grep "^write-tree " "$tree/probe.out")"
	expect_eq "$e: and commits there" "commit yes written" \
		"$(grep "^commit " "$tree/probe.out") $(git -C "$tree" log -1 --format=%s)"
	expect_eq "$e: the key is not in its parent's environment" 0 "$(grep -ac -- "$sentinel" "$tree/environ.parent")"
	expect_eq "$e: nor in any environment it sees" 0 "$(grep -ac -- "$sentinel" "$tree/environ.all")"
	expect_eq "$e: nothing forged" "" "$(ls "$LONGHAUL_BOARD/forged" "$TRASH/outside/forged" "$common/hooks/post-commit" 2>/dev/null; grep -l hooksPath "$common/config")"
	expect_match "$e: the environments were read (the token is there)" 'API_KEY=' "$tree/environ.all"
	# what it forged, undone for the next engine
	rm -f "$LONGHAUL_BOARD/forged" "$TRASH/outside/forged" "$common/hooks/post-commit"
	git config -f "$common/config" --unset core.hooksPath 2>/dev/null || :
done
