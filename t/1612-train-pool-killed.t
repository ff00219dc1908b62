#!/bin/sh
# A driver killed with -9 while it holds the host's pool (land-train -t)
# leaves git's lock files in the pool's repository: killed in a fetch,
# refs/remotes/origin/main.lock; killed in the worktree add of a gate
# tree, the registration locked ("initializing") and HEAD.lock. They are
# nobody's (the pool is one process's at a time, and what an earlier
# driver left running is killed first): the next driver removes them,
# and lands everything once. The kills are real: a reference-transaction
# hook in the pool's repository kills the driver's whole process group
# while git holds the lock.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/train.sh"
plan 8
export LONGHAUL_SANDBOX=off
board-init >/dev/null
train_project 7
train_rules
start_mock
pool=$TRASH/work/train/$(uname -n | cut -d. -f1)-push-main
gate="! grep -rq bad files"


batch 1 1
expect_eq "the first landed, through the host's pool" "0 yes" "$bad $([ -d "$pool/repo.git/worktrees" ] && echo yes)"

# once, when $TRASH/kill-at names the ref git is about to update: the
# process groups of the land-train above and of the hook killed with -9
# (the fetch that reads the tip back after a push moves
# refs/remotes/origin/main; a gate tree's worktree add sets its HEAD)
mkdir "$TRASH/hooks" "$TRASH/bin"
sed "s|@TRASH@|$TRASH|g" >"$TRASH/hooks/reference-transaction" <<'SH'
#!/bin/sh
[ "$1" = prepared ] && [ -s @TRASH@/kill-at ] || exit 0
grep -q " $(cat @TRASH@/kill-at)\$" || exit 0
rm -f @TRASH@/kill-at
p=$$
while [ "$p" -gt 1 ] && [ "$(cat /proc/$p/comm)" != land-train ]; do p=$(awk '{print $4}' /proc/$p/stat); done
[ "$(cat /proc/$p/comm)" = land-train ] || exit 0
tr '\0' '\n' </proc/$p/environ | sed -n 's/^LONGHAUL_AGENT=//p' >@TRASH@/killed
kill -9 -$(awk '{print $5}' /proc/$p/stat) -$(awk '{print $5}' /proc/$$/stat)
SH
chmod +x "$TRASH/hooks/reference-transaction"
# the workers run git without hooks: in the pool, this git has that one
printf '#!/bin/sh\ncase "$*" in *%s*) exec %s -c core.hooksPath=%s "$@" ;; esac\nexec %s "$@"\n' \
    "$pool" "$(command -v git)" "$TRASH/hooks" "$(command -v git)" >"$TRASH/bin/git"
chmod +x "$TRASH/bin/git"
PATH=$TRASH/bin:$PATH

echo refs/remotes/origin/main >"$TRASH/kill-at"
batch 3 2
dead=$(cat "$TRASH/killed")
expect_eq "killed in the fetch: the two others landed" "1 $dead" "$bad $(cat "$TRASH/killed")"
restart_dead "$dead"
expect_eq "and the dead one's task, its name again" 4 "$(task-ls -s done | grep -c .)"

rm -rf "$pool/tree"
echo HEAD >"$TRASH/kill-at"
batch 3 5
dead=$(cat "$TRASH/killed")
expect_eq "killed in the worktree add of the gate tree: the two others landed" "1 $dead" "$bad $(cat "$TRASH/killed")"
restart_dead "$dead"
expect_eq "and the dead one's task" 7 "$(task-ls -s done | grep -c .)"
expect_eq "no lock of git is left in the pool's repository" "" \
    "$(find "$pool/repo.git" -path "$pool/repo.git/objects" -prune -o \( -name '*.lock' -o -name locked \) -print)"
expect_eq "nothing stays queued" 0 "$(queued)"
if trailers_once 7; then ok "each task done once, its commit on main once"; else
	not_ok "each task done once, its commit on main once"; diag "$(cat "$TRASH/twice")" "$(task-ls)"; fi
