#!/bin/sh
# board-fsck: a board the tools made is clean; each kind of damage made by
# hand is found and said, repaired where that is safe, and the next run
# finds only what a person must decide
. "$(dirname "$0")/lib.sh"
B=$LONGHAUL_BOARD
commit() { git -c user.name=t -c user.email=t@t commit -q --allow-empty "$@"; }
shard() { basename "$(dirname "$(ls -d "$B"/tasks/*/"$1")")"; }
claim() { task-claim "$@" >"$TRASH/claim" && sed -n 2p "$TRASH/claim"; }
hints() { (cd "$B" && find ready waiting claimed -type f | sort); }
short() { git -C "$TRASH/repo.git" rev-parse --short=12 "$1"; }
# the tools' writes, two minutes old: a hint that disagrees with a version
# written in the last minute is left to the tool between its link and its
# hint (claimed tasks keep their time: their leases run)
age() {
	for f in "$B"/tasks/*/*/*.json; do
		jq -e '.state != "claimed"' "$f" >/dev/null 2>&1 && touch -d "@$(($(date +%s) - 120))" "$f"
	done
}

board-init >/dev/null
git init -q --bare "$TRASH/repo.git"
git init -q -b main "$TRASH/work"
(cd "$TRASH/work" && commit -m start) >/dev/null
task-publish -i a -p 9 'A' >/dev/null
task-publish -i b -p 8 'B' >/dev/null
task-publish -i c 'C' >/dev/null
task-publish -i d -d c 'D' >/dev/null
task-publish -i e -p 7 'E' >/dev/null
ta=$(claim)
(cd "$TRASH/work" && commit -m 'do a' --trailer 'Longhaul-Task: a' --trailer "Longhaul-Token: $ta" &&
	git push -q "$TRASH/repo.git" main) >/dev/null 2>&1
task-update -t "$ta" -c "$(git -C "$TRASH/work" rev-parse HEAD)" -m 'did a' done a
tb=$(claim)
te=$(claim)
task-update -t "$te" -m 'no-op: it was done already' done e
A=$(shard a) C=$(shard c) D=$(shard d)

# ---- a board the tools made
expect_code 0 'a board the tools made is clean' -- board-fsck -R "$TRASH/repo.git"
echo 'board-fsck: 5 tasks, 10 versions, 2 commits on main: no problems' >"$TRASH/expected"
expect_file 'and says so in its summary' "$TRASH/expected" "$TRASH/out"
expect_code 0 'with -q it says nothing' -- board-fsck -q -R "$TRASH/work"
expect_eq 'nothing at all' '' "$(cat "$TRASH/out" "$TRASH/err")"
hints >"$TRASH/hints.clean"

# ---- the index hints: each named after the version it was made for
# (ID@VERSION, claimed/ID@TOKEN); one numbered past the version is a claim
# or a publish in flight, until it is an hour old by the server's clock
rm "$B/claimed/b@$tb" "$B/waiting/d@1"
touch "$B/claimed/a@$ta" "$B/claimed/c" "$B/waiting/ghost@3" "$B/claimed/c@2" "$B/waiting/new@1"
touch -d '2000-01-01 00:00:00 UTC' "$B/claimed/e@4" "$B/waiting/gone@1"
mkdir -p "$B/ready/work/9/$A" && touch "$B/ready/work/9/$A/a@1"
hints >"$TRASH/hints.damaged"
cp -a "$B" "$TRASH/young"
age
cat >"$TRASH/expected" <<EOF
board-fsck: ready/work/9/$A/a@1: stale hint: the task is done (X)
board-fsck: waiting/ghost@3: hint for no task (X)
board-fsck: waiting/gone@1: hint for no task (a publish that died before its link, over an hour ago) (X)
board-fsck: claimed/a@$ta: stale hint: the task is done (X)
board-fsck: claimed/c: stale hint of board format 1: the task is ready (its hint is ready/work/5/$C/c@1) (X)
board-fsck: claimed/e@4: hint for version 4, which was never written: the task is at version 3 (a claim that died before its link, over an hour ago) (X)
board-fsck: task b: claimed, but no hint claimed/b@$tb (the reaper looks only there) (X)
board-fsck: task d: waiting, but no hint waiting/d@1 (it is never promoted) (X)
board-fsck: 5 tasks, 10 versions: 8 problems, N repaired
EOF
sed 's/(X)/(not repaired: -n)/; s/N repaired/0 repaired/' "$TRASH/expected" >"$TRASH/expected.n"
sed 's/(X)/(repaired)/; s/N repaired/8 repaired/' "$TRASH/expected" >"$TRASH/expected.fix"
expect_code 3 '-n: stale and missing hints are problems left unrepaired' -- board-fsck -n
expect_file 'each said' "$TRASH/expected.n" "$TRASH/out"
hints >"$TRASH/hints"
expect_file '-n changed nothing' "$TRASH/hints.damaged" "$TRASH/hints"
expect_code 1 'all of them are repaired' -- board-fsck
expect_file 'and each said so' "$TRASH/expected.fix" "$TRASH/out"
hints >"$TRASH/hints"
expect_eq 'a claim and a publish in flight are left alone' 'claimed/c@2 waiting/new@1' \
	"$(comm -13 "$TRASH/hints.clean" "$TRASH/hints" | tr '\n' ' ' | sed 's/ $//')"
rm "$B/claimed/c@2" "$B/waiting/new@1"
hints >"$TRASH/hints"
expect_file 'the other hints are what the records want' "$TRASH/hints.clean" "$TRASH/hints"
expect_code 0 'a second run is clean' -- board-fsck -q
rm -rf "$B" && mv "$TRASH/young" "$B"
expect_code 3 'versions written in the last minute: their hints are left to the tools' -- board-fsck -q -n
grep -e 'task b:' -e @4: -e ghost -e gone "$TRASH/expected.n" >"$TRASH/expected.young"
expect_file 'but for a claimed task without its hint, and hints for no task or numbered past' \
	"$TRASH/expected.young" "$TRASH/out"
expect_code 1 'which are repaired' -- board-fsck -q
age
expect_code 1 'the others once the versions are older' -- board-fsck -q
rm "$B/claimed/c@2" "$B/waiting/new@1"
expect_code 0 'and then the board is clean' -- board-fsck -q

# ---- the records and tmp/
task-update -V 1 -e '{"priority": 6}' edit c
printf '{"format":1,"id":"c","version":2,' >"$B/tasks/$C/c/000002.json"
: >"$B/tasks/$D/d/2000000000.json"
touch -d '2000-01-01 00:00:00 UTC' "$B/tmp/host.1.old"
touch "$B/tmp/host.2.young"
cat >"$TRASH/expected" <<EOF
board-fsck: tasks/$C/c/000002.json: corrupt current record: string or '}' expected near end of file; version 3 restores version 1 (repaired)
board-fsck: tasks/$D/d/2000000000.json: not a version: the versions run from 1 to 1, and the task's next versions would run into it (not repaired)
board-fsck: ready/work/6/$C/c@2: stale hint: the task is ready (its hint is ready/work/5/$C/c@3) (repaired)
board-fsck: tmp/host.1.old: temporary file not written since 2000-01-01T00:00:00Z (repaired)
board-fsck: 5 tasks, 11 versions: 4 problems, 3 repaired
EOF
expect_code 3 'a truncated record, a stray version, an old temp file' -- board-fsck
expect_file 'each said; all but the stray repaired' "$TRASH/expected" "$TRASH/out"
expect_eq 'the damaged version is followed by a repair of it' 'repair ready 5' \
	"$(jq -r '"\(.event) \(.state) \(.priority)"' "$B/tasks/$C/c/000003.json")"
expect_eq 'the young temp file is left alone' host.2.young "$(ls "$B/tmp")"
rm "$B/tasks/$D/d/2000000000.json"
expect_code 0 'with the stray gone by hand, the board is clean' -- board-fsck -q

# ---- the branch
(cd "$TRASH/work" && git checkout -q -b side && commit -m 'f, not landed' &&
	git push -q "$TRASH/repo.git" side && git checkout -q main) >/dev/null 2>&1
task-publish -i f -p 9 'F' >/dev/null && tf=$(claim) &&
	task-update -t "$tf" -c "$(git -C "$TRASH/work" rev-parse side)" done f
task-publish -i g -p 9 'G' >/dev/null && tg=$(claim) && task-update -t "$tg" -c 0123456789abcdef done g
# h: its worker landed it and died; the lease ran out by the server's clock
task-publish -i h -p 9 'H' >/dev/null && th=$(claim -l 60)
touch -d '2000-01-01 00:00:00 UTC' "$B/tasks/$(shard h)/h/00000$th.json"
# i: landed under a claim whose lease ran out, and claimed again since
task-publish -i i -p 9 'I' >/dev/null && ti=$(claim)
(cd "$TRASH/work" &&
	commit -m 'a again' --trailer 'Longhaul-Task: a' --trailer 'Longhaul-Token: 9' &&
	commit -m 'b, not done yet' --trailer 'Longhaul-Task: b' --trailer "Longhaul-Token: $tb" &&
	commit -m 'c, then its worker died' --trailer 'Longhaul-Task: c' --trailer 'Longhaul-Token: 2' &&
	commit -m 'h' --trailer 'Longhaul-Task: h' --trailer "Longhaul-Token: $th" &&
	commit -m 'i, an old claim' --trailer 'Longhaul-Task: i' --trailer 'Longhaul-Token: 1' &&
	git push -q "$TRASH/repo.git" main) >/dev/null 2>&1
a1=$(short main~5) a2=$(short main~4) c1=$(short main~2) h1=$(short main~1) i1=$(short main)
cat >"$TRASH/expected" <<EOF
board-fsck: task a: its trailer is on 2 commits on main: $a1 (token $ta), $a2 (token 9) (not repaired)
board-fsck: task c: ready, but commit $c1 on main carries its trailer: marked done (repaired)
board-fsck: task f: done with commit $(short side), which is not on main (not repaired)
board-fsck: task g: done with commit 0123456789ab, which is not on main (nor in the repository) (not repaired)
board-fsck: task h: claimed, its lease expired, but commit $h1 on main carries its trailer: marked done (repaired)
board-fsck: task i: claimed again under token $ti, but commit $i1 on main carries its trailer (token 1): the new owner is doing it twice (not repaired)
board-fsck: 9 tasks, 22 versions, 7 commits on main: 6 problems, 2 repaired
EOF
everything() { (cd "$B" && find . -path ./clock -prune -o -print | sort | xargs ls -ld --time-style=+%s.%N | cut -c11-); }
everything >"$TRASH/before"
expect_code 3 '-n: the same problems' -- board-fsck -n -R "$TRASH/repo.git"
everything >"$TRASH/after"
expect_file '-n wrote nothing on the board but its clock' "$TRASH/before" "$TRASH/after"
expect_code 3 'the branch and the board disagree' -- board-fsck -R "$TRASH/repo.git"
expect_file 'each disagreement said' "$TRASH/expected" "$TRASH/out"
expect_eq 'c is done with the commit that landed' "done $(git -C "$TRASH/repo.git" rev-parse main~2)" \
	"$(task-show c | jq -r '"\(.state) \(.result.commit)"')"
expect_eq 'and d, which waited for c, is ready' "ready/work/5/$D/d@1" "$(hints | grep '/d@')"
grep -v -e 'task [ch]:' -e '^board-fsck: 9 tasks' "$TRASH/expected" >"$TRASH/expected.left"
echo 'board-fsck: 9 tasks, 24 versions, 7 commits on main: 4 problems, 0 repaired' >>"$TRASH/expected.left"
expect_code 3 'a second run finds only what a person must decide' -- board-fsck -R "$TRASH/repo.git"
expect_file 'those four' "$TRASH/expected.left" "$TRASH/out"
expect_code 3 'with -j' -- board-fsck -j -R "$TRASH/repo.git"
expect_eq 'one JSON object per problem' '4 false' \
	"$(jq -s '"\(length) \(map(.repaired) | any)"' -r "$TRASH/out")"

# ---- what only a person can mend: a damaged old version, a task in the
# wrong shard, a name that holds no id
cp -R "$B" "$TRASH/saved"
E=$(shard e)
printf 'garbage' >"$B/tasks/$E/e/000001.json"
mkdir -p "$B/tasks/00/x" && cp "$B/tasks/$A/a/000001.json" "$B/tasks/00/x/"
echo 'not an id!' >"$B/names/0000000000000000"
cat >"$TRASH/expected" <<EOF
board-fsck: tasks/00/x: in the wrong shard (it belongs in tasks/87/): no tool sees it (not repaired)
board-fsck: tasks/$E/e/000001.json: corrupt record: '[' or '{' expected near 'garbage' (not repaired)
board-fsck: names/0000000000000000: does not hold a task id: its title can never be published (not repaired)
EOF
expect_code 3 'a person must mend these' -- board-fsck -q
expect_file 'each said, nothing touched' "$TRASH/expected" "$TRASH/out"
rm -rf "$B" && mv "$TRASH/saved" "$B"

# ---- the names: generations HASH, HASH.2, ... of a title, only the
# highest live, no gap
old_name=$(cd "$B/names" && grep -lx f ./* | cut -c3-)
task-update -V 3 -e '{"title": "F, renamed"}' edit f
# the edit died between its write and its drop of the old name, long ago
rm "$B/names/$old_name.dropped"
touch -d '2000-01-01 00:00:00 UTC' "$B/names/$old_name" "$B/tasks/$(shard f)/f/000004.json"
expect_code 0 'a name left behind by a rename, long ago, is no problem' -- board-fsck -q
task-publish -i f2 'F' >/dev/null
expect_eq 'its title is published again, as the next generation' f2 "$(cat "$B/names/$old_name.2")"
expect_code 0 'which is clean' -- board-fsck -q
a_name=$(cd "$B/names" && grep -lx a ./* | cut -c3-)
echo zzz >"$B/names/$a_name.2"
echo f3 >"$B/names/$old_name.4"
cat >"$TRASH/expected" <<EOF
board-fsck: names/$old_name.4: not a generation: this title's run from 1 ends at 2, and no tool reads past it (not repaired)
board-fsck: names/$a_name: task a holds this title below generation 2 (task zzz): two tasks may have one title (not repaired)
EOF
expect_code 3 'a generation past a gap, and a live one below the highest' -- board-fsck -q
sort "$TRASH/expected" >"$TRASH/expected.sorted"
sort "$TRASH/out" >"$TRASH/out.sorted"
expect_file 'each said' "$TRASH/expected.sorted" "$TRASH/out.sorted"
rm "$B/names/$a_name.2" "$B/names/$old_name.4"

# ---- the usage log: reported, never repaired
mkdir "$B/usage"
printf '{"tokens":1}\n[1]\n{"tokens":' >"$B/usage/host.jsonl"
cat >"$TRASH/expected" <<EOF
board-fsck: usage/host.jsonl:2: not a JSON object (not repaired)
board-fsck: usage/host.jsonl:3: incomplete last line (not repaired)
EOF
head -n 1 "$TRASH/expected" >"$TRASH/expected.young"
expect_code 3 'a damaged usage log' -- board-fsck -q
expect_file 'line by line; a last line just written may be half way' "$TRASH/expected.young" "$TRASH/out"
touch -d '2000-01-01 00:00:00 UTC' "$B/usage/host.jsonl"
expect_code 3 'an old one' -- board-fsck -q
expect_file 'is not' "$TRASH/expected" "$TRASH/out"

# a name that is no id, with a newline in it: still one line, and removed
rm -r "$B/usage"
touch "$B/claimed/bad
name"
echo "board-fsck: claimed/bad?name: not a hint's name (repaired)" >"$TRASH/expected"
expect_code 1 'a hint that is no id' -- board-fsck -q
expect_file 'is said on one line' "$TRASH/expected" "$TRASH/out"

# an index directory gone: -n says so, and that is no system error
age
rm -r "$B/ready" "$B/names"
cat >"$TRASH/expected" <<EOF
board-fsck: ready: missing (not repaired: -n)
board-fsck: names: missing (not repaired: -n)
board-fsck: task d: ready, but no hint ready/work/5/$D/d@1 (no claimant looks for it) (not repaired: -n)
board-fsck: task f2: ready, but no hint ready/work/5/$(shard f2)/f2@1 (no claimant looks for it) (not repaired: -n)
EOF
expect_code 3 'a missing directory' -- board-fsck -q -n
expect_file 'is said, with what it costs' "$TRASH/expected" "$TRASH/out"
expect_code 1 'and made again, with its hints' -- board-fsck -q
expect_eq "the ready hints are back" "ready/work/5/$(shard f2)/f2@1 ready/work/5/$D/d@1" \
	"$(hints | grep ^ready/ | tr '\n' ' ' | sed 's/ $//')"

# a dependency done in the last minute: its dependents' promotion may be
# under way; a minute later it is a problem
mv "$B/ready/work/5/$D/d@1" "$B/waiting/d@1"
touch "$(ls -d "$B/tasks/$C/c/"* | tail -n 1)"
expect_code 0 'a dependent still waiting just after its dependency was done' -- board-fsck -q
age
echo "board-fsck: waiting/d@1: stale hint: the task is ready (its hint is ready/work/5/$D/d@1) (repaired)" \
	>"$TRASH/expected"
expect_code 1 'is one left waiting a minute later' -- board-fsck -q
expect_file 'and promoted' "$TRASH/expected" "$TRASH/out"

# a board of format 1 is used as it is; its hints (ID, no @VERSION) are
# older than any version, mended as the tools mend them
echo 'longhaul-board 1' >"$B/format"
mv "$B/ready/work/5/$D/d@1" "$B/ready/work/5/$D/d"
echo "board-fsck: ready/work/5/$D/d: stale hint of board format 1: the task is ready (its hint is ready/work/5/$D/d@1) (repaired)" \
	>"$TRASH/expected"
expect_code 1 'a board of format 1, with a hint of its format' -- board-fsck -q
expect_file 'the hint is mended' "$TRASH/expected" "$TRASH/out"
expect_code 0 'and the board is clean' -- board-fsck -q
echo 'longhaul-board 3' >"$B/format"
expect_code 5 'a board of a newer format is refused' -- board-fsck -q
echo 'longhaul-board 2' >"$B/format"

# a claim makes its hint anew, even where one of a claim that died an hour
# ago is left, so that one killed before its link leaves a young hint: in
# flight, not removed as dead
task-publish -i z -p 9 'Z' >/dev/null
touch -d '2000-01-01 00:00:00 UTC' "$B/claimed/z@2"
if cc -shared -fPIC -o "$TRASH/inject.so" "$T_DIR/fault/inject.c" -ldl 2>/dev/null; then
	LD_PRELOAD=$TRASH/inject.so LH_FAULT_CALL=link LH_FAULT_N=1 LH_FAULT_KILL=1 LH_FAULT_PATH=$B \
		task-claim >/dev/null 2>&1
	expect_eq 'a claimant killed before its link' 'ready 1' "$(task-show -f state z) $(task-show -f version z)"
	expect_eq 'has made its hint anew' yes \
		"$([ $(($(date +%s) - $(stat -c %Y "$B/claimed/z@2"))) -lt 60 ] && echo yes)"
	expect_code 0 'a claim in flight, for board-fsck' -- board-fsck -q
	expect_eq 'which leaves it' yes "$([ -e "$B/claimed/z@2" ] && echo yes)"
else
	diag 'no C compiler for the fault shim: a claimant killed before its link is not tried'
	rm "$B/claimed/z@2"
fi
expect_eq 'the next claim takes its version' 2 "$(claim)"
expect_code 0 'and the board is clean' -- board-fsck -q

# ---- bad use
expect_code 2 'an unknown option' -- board-fsck -x
expect_code 2 'a repository without the branch' -- board-fsck -R "$TRASH/repo.git" -B nope
expect_code 5 'not a board' -- board-fsck -b "$TRASH/work"
done_testing
