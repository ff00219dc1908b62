#!/bin/sh
# longhaul-run's pre-flight: before the first call it checks each role's
# model, key, price and server, the remote and the board; each failure is
# one line naming the role or the object, the exit status is 2, and not a
# single model call was made.
. "$(dirname "$0")/lib.sh"
for t in llm-call llm-mock judge longhaul-worker; do
	command -v $t >/dev/null || skip_all "$t is not built"
done

export HOME="$TRASH" GIT_CONFIG_NOSYSTEM=1 TMPDIR="$TRASH"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
git init -q --bare "$TRASH/repo.git"
git init -q -b main "$TRASH/src"
(cd "$TRASH/src" && echo x >f && git add . && git commit -qm init && git push -q ../repo.git HEAD:main)
echo '{"match":{},"reply":{"text":"no"}}' >"$TRASH/rules.jsonl"
start_mock
unset ANTHROPIC_BASE_URL
export OPENAI_API_KEY=sk-test LONGHAUL_POLL=1 LONGHAUL_GRACE=10
export LONGHAUL_PLANNER_MODEL=openai:gpt-4.1 LONGHAUL_WORKER_MODEL=openai:gpt-4.1-mini
export LONGHAUL_JUDGE_MODEL=anthropic:claude-sonnet-4-5
run() { longhaul-run -R "$TRASH/repo.git" -G goal -g true -n 1 -j 1 -c 1 -W "$TRASH/work" "$@"; }
calls() { grep -c . "$TRASH/mock.log"; }

# the README's own mix of providers with one key only
expect_code 2 'a role without its key: exit 2' -- run
expect_match 'one line, naming the role and the variable' \
	'^longhaul-run: pre-flight: judge: no API key for anthropic:claude-sonnet-4-5: set ANTHROPIC_API_KEY' "$TRASH/err"
expect_match 'the roles that are fine are said too' '^longhaul-run: pre-flight: planner: openai:gpt-4.1 at .*: ok$' "$TRASH/err"
expect_match 'and nothing was spent' 'pre-flight failed: nothing was spent' "$TRASH/err"
expect_eq 'no model call' 0 "$(calls)"
expect_eq 'no cycle started' '' "$(ls "$LONGHAUL_BOARD/cycles" 2>/dev/null)"

# no key at all, real servers: every role says so at once
saved=$OPENAI_BASE_URL
unset OPENAI_BASE_URL OPENAI_API_KEY
expect_code 2 'no key at all: exit 2 at once' -- run
expect_eq 'one line per role' 3 "$(grep -c 'pre-flight: .*: no API key' "$TRASH/err")"
export OPENAI_BASE_URL=$saved OPENAI_API_KEY=sk-test

export LONGHAUL_JUDGE_MODEL=openai:gpt-4.1
# a server that does not answer
OPENAI_BASE_URL=http://127.0.0.1:1/v1 expect_code 2 'a server that does not answer: exit 2' -- run
expect_match 'said with the role' '^longhaul-run: pre-flight: planner: openai:gpt-4.1 at http://127.0.0.1:1/v1: the server does not answer' "$TRASH/err"

# a model without a price under a USD budget
LONGHAUL_WORKER_MODEL=openai:my-local-model expect_code 2 'an unpriced model under a USD budget: exit 2' -- run -u 1
expect_match 'the model is named' '^longhaul-run: pre-flight: worker: openai:my-local-model: no price' "$TRASH/err"
expect_eq 'still no model call' 0 "$(calls)"

# a remote that is a working repository with the branch checked out
expect_code 2 'a non-bare remote with main checked out: exit 2' -- \
	longhaul-run -R "$TRASH/src" -G goal -n 1 -j 1 -c 1 -W "$TRASH/work"
expect_match 'saying why and what to do' "pre-flight: $TRASH/src: not a bare repository, and main is checked out there.*git clone --bare" "$TRASH/err"
expect_code 2 'no repository at all: exit 2' -- \
	longhaul-run -R "$TRASH/nothing.git" -G goal -n 1 -j 1 -c 1 -W "$TRASH/work"
expect_match "with git's own message" "pre-flight: $TRASH/nothing.git: cannot push: .*does not appear to be a git repository" "$TRASH/err"
expect_code 2 'no such branch: exit 2' -- run -B nosuch
expect_match 'naming the branch' "pre-flight: $TRASH/repo.git: no branch nosuch" "$TRASH/err"

# the default board, .longhaul, in the git work tree one runs from
expect_code 2 'run from inside a work tree, with the default board' -- \
	sh -c 'cd "$1/src" && unset LONGHAUL_BOARD && exec longhaul-run -R "$1/nothing.git" -G goal -W "$1/work"' sh "$TRASH"
expect_match 'a warning says the board is in the tree' "^longhaul-run: warning: the board $TRASH/src/.longhaul is inside the git work tree $TRASH/src and not ignored" "$TRASH/err"
echo .longhaul/ >"$TRASH/src/.gitignore"
expect_code 2 'the same, with .longhaul/ ignored' -- \
	sh -c 'cd "$1/src" && unset LONGHAUL_BOARD && exec longhaul-run -R "$1/nothing.git" -G goal -W "$1/work"' sh "$TRASH"
expect_eq 'no warning' 0 "$(grep -c warning "$TRASH/err")"
expect_eq 'no model call in all of this' 0 "$(calls)"
done_testing
