#!/bin/sh
# board-reap -R and board-fsck -R read the repository they are given,
# whatever the caller's environment says: run from a git hook, GIT_DIR,
# GIT_INDEX_FILE and GIT_OBJECT_DIRECTORY name the hook's repository, and
# git would read that one instead (lh-git.c leaves them out).
. "$(dirname "$0")/lib.sh"
command -v git >/dev/null || skip_all "git is missing"
command -v jq >/dev/null || skip_all "jq is missing"
plan 6
export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@example.invalid
export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@example.invalid
export GIT_CONFIG_NOSYSTEM=1 HOME="$TRASH"
board-init >/dev/null
a=$(task-publish -i a -m 1 'landed a')
task-claim -l 1 >/dev/null
git init -q -b main "$TRASH/work"
(cd "$TRASH/work" && git commit -q --allow-empty -m "landed a" -m "Longhaul-Task: $a" &&
	git clone -q --bare . "$TRASH/repo.git")
ca=$(git -C "$TRASH/repo.git" rev-parse main)
# the hook's own repository, which has no such branch nor commit
git init -q --bare "$TRASH/hook.git"
hook_env() {
	GIT_DIR="$TRASH/hook.git" GIT_OBJECT_DIRECTORY="$TRASH/hook.git/objects" \
	GIT_INDEX_FILE="$TRASH/hook.git/index" GIT_WORK_TREE="$TRASH" "$@"
}
wait_for 30 '[ "$(board-reap -n | wc -l)" -eq 1 ]' || { echo "Bail out! the lease did not expire"; exit 1; }

expect_code 0 "board-reap -R, from a hook's environment" -- hook_env board-reap -R "$TRASH/repo.git"
expect_eq "prints the task" "$a" "$(cat "$TRASH/out")"
expect_eq "the task is done with the commit of the repository given" "done $ca" \
	"$(task-show "$a" | jq -r '"\(.state) \(.result.commit)"')"
expect_code 0 "board-fsck -R, from a hook's environment: clean" -- hook_env board-fsck -R "$TRASH/repo.git"
expect_eq "it read the branch" "board-fsck: 1 task, 1 commit on main: no problems" \
	"$(sed 's/, [0-9]* versions//' "$TRASH/out")"
expect_code 2 "a branch the repository given lacks is still missing" -- \
	hook_env board-fsck -R "$TRASH/repo.git" -B nope
