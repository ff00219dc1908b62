#!/bin/sh
# The pre-receive hook and the train's queue refs: a queue ref passes
# only when its commit names that task and token and the token is the
# task's claim; any other ref under refs/longhaul/ is refused; pushing a
# queue ref never moves a branch. land-train refuses bad operands.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/train.sh"
plan 9
board-init >/dev/null
train_project 2
train_tasks 2
{ read -r id; read -r token; } <<EOF2
$(task-claim -k work)
EOF2
git clone -q "$TRASH/remote.git" "$TRASH/clone"
# commit_for ID TOKEN: a commit in the clone with the worker's trailers
commit_for() {
	(cd "$TRASH/clone" && git checkout -q -f --detach origin/main && echo x >>files/t0001.txt &&
	 git commit -qam "a change

Longhaul-Task: $1
Longhaul-Token: $2" && git rev-parse HEAD)
}
push() { git -C "$TRASH/clone" push -q origin "$1" 2>"$TRASH/push.err"; }
main=$(git --git-dir="$TRASH/remote.git" rev-parse main)
c=$(commit_for "$id" "$token")
expect_code 0 "a queue ref of the task under its token passes" -- push "$c:refs/longhaul/queue/$id-$token"
expect_eq "and main did not move" "$main" "$(git --git-dir="$TRASH/remote.git" rev-parse main)"
expect_code 1 "one under a token that is not the claim is refused" -- push "$(commit_for "$id" $((token + 1))):refs/longhaul/queue/$id-$((token + 1))"
expect_code 1 "one whose commit names another task is refused" -- push "+$(commit_for other-task "$token"):refs/longhaul/queue/$id-$token"
expect_match "saying why" "names other-task $token, not task $id" "$TRASH/push.err"
expect_code 1 "another ref under refs/longhaul/ is refused" -- push "$c:refs/longhaul/elsewhere"
expect_code 0 "a queue ref may be deleted" -- push ":refs/longhaul/queue/$id-$token"
expect_code 2 "land-train refuses a bad task id, exit 2" -- land-train -r "$TRASH/clone" land ../x 1 "$c"
expect_eq "in one line, and nothing is queued" "land-train: ../x: task id may not start with '.' or '-'|0" \
    "$(cat "$TRASH/err")|$(ls "$LONGHAUL_BOARD/train/push-main/queue" 2>/dev/null | wc -l)"
