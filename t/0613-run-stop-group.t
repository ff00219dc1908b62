#!/bin/sh
# longhaul-run stops its agents by signalling each one's whole session
# (process group), not only its leader: a process that an agent started
# in its group gets the SIGTERM too. (dash's kill takes no "--" after
# -TERM: the runner, a /bin/sh script, once signalled only the leaders.)
. "$(dirname "$0")/lib.sh"
for t in llm-call llm-mock; do
	command -v $t >/dev/null || skip_all "$t is not built"
done
plan 4

export HOME="$TRASH" GIT_CONFIG_NOSYSTEM=1 TMPDIR="$TRASH"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
git init -q --bare "$TRASH/repo.git"
git init -q "$TRASH/src"
(cd "$TRASH/src" && echo one >list.txt && git add . &&
 git commit -qm init && git push -q ../repo.git HEAD:main)
echo '{"match":{},"reply":{"text":"ok"}}' >"$TRASH/rules.jsonl"
start_mock
export LONGHAUL_MODEL=openai:mock OPENAI_API_KEY=test LONGHAUL_POLL=1 LONGHAUL_GRACE=5

# a worker that starts a member of its own group, which says a second
# after it gets SIGTERM (the runner gives the rest of a session the grace
# too, not a KILL the moment its leader is gone); the leader itself
# exits at once on SIGTERM
mkdir "$TRASH/bin"
cat >"$TRASH/bin/longhaul-worker" <<SH
#!/bin/sh
sh -c 'trap "sleep 1; echo member >>$TRASH/termed; exit 0" TERM; echo \$\$ >$TRASH/member.tmp
  mv $TRASH/member.tmp $TRASH/member; while :; do sleep 0.1; done' &
trap 'echo leader >>$TRASH/termed; exit 0' TERM
while :; do sleep 0.1; done
SH
chmod +x "$TRASH/bin/longhaul-worker"
PATH=$TRASH/bin:$PATH
at_exit '[ ! -s "$TRASH/member" ] || kill -9 "$(cat "$TRASH/member")"'

longhaul-run -R "$TRASH/repo.git" -G 'a goal' -n 0 -j 1 -c 1 -W "$TRASH/work" \
	>"$TRASH/run.out" 2>"$TRASH/run.err" &
runner=$!
at_exit "kill $runner"
wait_for 60 '[ -s "$TRASH/member" ]' && ok 'the worker started its group member' ||
	{ not_ok 'the worker started its group member'; diag "$(cat "$TRASH/run.err")"; }
kill -TERM $runner
wait $runner
expect_eq 'SIGTERM stops the run with 143' 143 $?
wait_for 10 'grep -qx leader "$TRASH/termed"' && ok 'the leader got SIGTERM' || not_ok 'the leader got SIGTERM'
wait_for 10 'grep -qx member "$TRASH/termed"' && ok 'so did the member of its group' ||
	{ not_ok 'so did the member of its group'; diag "$(cat "$TRASH/termed" 2>/dev/null)"; }
