#!/bin/sh
# every system call a board tool makes may fail (a full disk, an I/O
# error): for a publish, a claim, a heartbeat, a done and a reap, fail
# each call in turn until the tool runs through, and check what it says
# (one line per error, tool: object: reason), its status (6 and nothing
# changed, or 0 and the change made; never 1), that nothing is half
# visible, that the board is consistent after, and that a retry works
. "$(dirname "$0")/lib.sh"
cc -shared -fPIC -o "$TRASH/inject.so" "$T_DIR/fault/inject.c" -ldl 2>"$TRASH/cc.err" ||
	skip_all 'no C compiler for the fault shim'
LONGHAUL_FSYNC=1
export LONGHAUL_FSYNC

# templates, one board per operation
mk() { board-init -b "$TRASH/tpl.$1" >/dev/null; }
mk publish
mk claim; task-publish -b "$TRASH/tpl.claim" -i c 'Claim me' >/dev/null
for op in heartbeat done reap; do
	mk $op
	task-publish -b "$TRASH/tpl.$op" -i t 'Work' >/dev/null
	task-claim -b "$TRASH/tpl.$op" -l 5 >/dev/null
	# the lease ran out long ago, by the file server's clock
	touch -d '@'$(( $(date +%s) - 100 )) "$TRASH/tpl.$op"/tasks/*/t/000002.json
done
task-publish -b "$TRASH/tpl.reap" -i w -d t 'Waits' >/dev/null

run_op() { # op board
	case $1 in
	publish) task-publish -b "$2" -i pub -a area 'Published' ;;
	claim) task-claim -b "$2" ;;
	heartbeat) task-update -b "$2" -t 2 heartbeat t ;;
	done) task-update -b "$2" -t 2 -m 'note' done t ;;
	reap) board-reap -b "$2" ;;
	esac
}
tool_of() { case $1 in publish) echo task-publish;; claim) echo task-claim;;
	heartbeat|done) echo task-update;; reap) echo board-reap;; esac; }
# the change the operation makes, as it shows
effect() { # op board
	case $1 in
	publish) task-show -b "$2" pub | jq -r '[.state, .version, .area] | @tsv' ;;
	claim) task-show -b "$2" c | jq -r '[.state, .version] | @tsv' ;;
	heartbeat) [ $(( $(date +%s) - $(stat -c %Y "$2"/tasks/*/t/000002.json) )) -lt 50 ] && echo fresh ;;
	done) task-show -b "$2" t | jq -r '[.state, .version, .result.note] | @tsv' ;;
	reap) task-show -b "$2" t | jq -r '[.state, .version, .event] | @tsv' ;;
	esac 2>/dev/null
}
records() { find "$1/tasks" -type f | sort | xargs -r md5sum | sed "s|$1||"; }
# consistent: only version files under tasks/, each whole JSON, and every
# task findable: claimed ones by claimed/ID@TOKEN, ready ones by a hint
# made for their version or an older one; and board-fsck -n finds nothing
# (what a failed tool leaves is a write in flight, never a problem)
consistent() { # board
	board-fsck -n -q -b "$1" >"$TRASH/fsck" 2>&1 ||
		{ echo "board-fsck -n exits $?: $(cat "$TRASH/fsck")"; return; }
	stray=$(find "$1/tasks" -type f ! -name '[0-9][0-9][0-9][0-9][0-9][0-9].json')
	[ -z "$stray" ] || { echo "stray files: $stray"; return; }
	for f in $(find "$1/tasks" -type f); do
		jq -e . "$f" >/dev/null 2>&1 || { echo "not whole JSON: $f"; return; }
	done
	task-ls -b "$1" -j | jq -r '[.id, .state, .version, (.lease.token // 0)] | @tsv' |
	while read -r id state v tok; do
		case $state in
		claimed) [ -e "$1/claimed/$id@$tok" ] || echo "claimed $id without claimed/$id@$tok" ;;
		ready)
			found=
			for h in $(find "$1/ready" "$1/waiting" "$1/claimed" -name "$id@*"); do
				[ "${h##*@}" -le "$v" ] && found=1
			done
			[ -n "$found" ] || echo "ready $id (version $v) without a hint" ;;
		esac
	done
}

fails= runs=0
for op in publish claim heartbeat done reap; do
	tool=$(tool_of $op)
	want=$(cp -a "$TRASH/tpl.$op" "$TRASH/want" && run_op $op "$TRASH/want" >/dev/null 2>&1 && effect $op "$TRASH/want")
	rm -rf "$TRASH/want"
	for call in write fsync link rename unlink utimensat mkdir open; do
		# the tools' paths do not depend on which error it is: a full
		# disk where writing can give it, an I/O error where reading can
		case $call in open|fsync) errs='EIO' ;; *) errs='ENOSPC' ;; esac
		for errname in $errs; do
			n=1
			while [ $n -lt 100 ]; do
				b=$TRASH/b
				rm -rf "$b" "$TRASH/hit" && cp -a "$TRASH/tpl.$op" "$b"
				before=$(records "$b")
				LD_PRELOAD=$TRASH/inject.so LH_FAULT_CALL=$call LH_FAULT_N=$n \
					LH_FAULT_ERRNO=$errname LH_FAULT_PATH=$b LH_FAULT_HIT=$TRASH/hit \
					run_op $op "$b" >"$TRASH/out" 2>"$TRASH/err"
				rc=$?
				[ -e "$TRASH/hit" ] || break
				runs=$((runs + 1))
				what="$op, $call $n fails with $errname:"
				[ "$errname" = EIO ] && reason='Input/output error' || reason='No space left on device'
				if grep -qv "^$tool: .*: " "$TRASH/err"; then
					fails="$fails
$what a message not of the form '$tool: object: reason': $(cat "$TRASH/err")"
				fi
				case $rc in
				6)
					grep -q "^$tool: .*: $reason" "$TRASH/err" ||
						fails="$fails
$what exit 6 without the reason: $(cat "$TRASH/err")"
					[ "$(records "$b")" = "$before" ] ||
						fails="$fails
$what exit 6, yet the records changed" ;;
				0)
					[ "$(effect $op "$b")" = "$want" ] ||
						fails="$fails
$what exit 0, yet not done: $(effect $op "$b")" ;;
				*)
					fails="$fails
$what exit $rc: $(cat "$TRASH/err")" ;;
				esac
				c=$(consistent "$b")
				[ -z "$c" ] || fails="$fails
$what inconsistent after: $c"
				if [ $rc -ne 0 ]; then
					run_op $op "$b" >/dev/null 2>"$TRASH/err2"
					r2=$?
					[ $r2 -eq 0 ] && [ "$(effect $op "$b")" = "$want" ] ||
						fails="$fails
$what the retry exits $r2: $(cat "$TRASH/err2")"
				fi
				n=$((n + 1))
			done
		done
	done
done
plan 5
expect_eq 'every fault handled as documented' '' "$fails"
expect_eq 'and there were many' yes "$([ $runs -gt 60 ] && echo yes)"
diag "$runs runs, each with one call failing"

# a waiting claimant whose write fails stops with 6, it does not spin
rm -rf "$TRASH/b" && cp -a "$TRASH/tpl.claim" "$TRASH/b"
expect_code 6 'task-claim -w with a full disk exits 6' -- env LD_PRELOAD="$TRASH/inject.so" \
	LH_FAULT_CALL=write LH_FAULT_N=1 LH_FAULT_PATH="$TRASH/b" timeout 20 task-claim -b "$TRASH/b" -w 0
expect_match 'saying so in one line' "^task-claim: $TRASH/b/tasks/[0-9a-f]*/c/000002.json: writing $TRASH/b/tmp/[^:]*: No space left on device$" "$TRASH/err"

# the readers: a failed open is a system error (6), never "corrupt" (5)
# or "no such task" (4)
bad= reads=0
B=$TRASH/tpl.done
for cmd in "task-show -b $B -H t" "task-ls -b $B -j" "task-show -b $B -f state t"; do
	n=1
	while [ $n -lt 50 ]; do
		rm -f "$TRASH/hit"
		LD_PRELOAD=$TRASH/inject.so LH_FAULT_CALL=open LH_FAULT_N=$n LH_FAULT_ERRNO=EIO \
			LH_FAULT_PATH="$TRASH/tpl.done" LH_FAULT_HIT="$TRASH/hit" \
			$cmd >/dev/null 2>"$TRASH/err"
		rc=$?
		[ -e "$TRASH/hit" ] || break
		reads=$((reads + 1))
		[ $rc -eq 6 ] && grep -q ': Input/output error$' "$TRASH/err" ||
			bad="$bad
$cmd, open $n fails: exit $rc: $(cat "$TRASH/err")"
		n=$((n + 1))
	done
done
expect_eq 'task-show and task-ls exit 6 when a read fails' '' "$bad$([ $reads -ge 6 ] || echo "only $reads runs")"
diag "$reads runs of a reader with one open failing"
