#!/bin/sh
# The host's gate trees (land-train -t) are kept from one driver to the
# next: what a gate leaves in its tree must not change what the next
# stack's tree holds. A gate (code under test, in its sandbox) leaves an
# untracked .gitattributes asking for UTF-16 in the tree: git reads the
# attributes of a path the index does not hold from the work tree, so a
# checkout made over it writes every file it changes re-encoded, and a
# gate that looks for "bad" in them finds nothing. The driver cleans the
# tree before it checks the next stack out: the bad commit is caught.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/train.sh"
bwrap --unshare-pid --unshare-net --ro-bind / / true 2>/dev/null ||
	skip_all "bwrap cannot make namespaces here"
plan 4
board-init >/dev/null
train_project 3
train_rules '{"match":{"contains":["TRAIN-0003"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo done bad >>files/t0003.txt"}}]}}
{"match":{"contains":["TRAIN-0003","merge train"],"turn":3},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"sed -i s/bad// files/t0003.txt"}}]}}
{"match":{"turn":4},"capture":"TRAIN-([0-9]+)","reply":{"tool_calls":[{"name":"submit","arguments":{"note":"fixed files/t$1.txt"}}]}}'
start_mock
pool=$TRASH/work/train/$(uname -n | cut -d. -f1)-push-main
gate="printf '* working-tree-encoding=UTF-16\n' >.gitattributes; ! grep -rq bad files"


batch 2 1
expect_eq "two landed, the gate ran in the host's tree and left its attributes there" "0 yes" \
    "$bad $([ -e "$pool/tree/.gitattributes" ] && echo yes)"
batch 1 3
expect_eq "the next worker landed its task, fixed" 0 "$bad"
if first_parent_green '! grep -rq bad files'; then ok "no tip of main holds bad"; else
	not_ok "no tip of main holds bad"; diag "red: $(cat "$TRASH/red")"; fi
if trailers_once 3; then ok "each task done once, its commit on main once"; else
	not_ok "each task done once, its commit on main once"; diag "$(cat "$TRASH/twice")" "$(task-ls)"; fi
