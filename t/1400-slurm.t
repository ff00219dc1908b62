#!/bin/sh
# The Slurm example on a real Slurm: a controller and a node daemon for
# this host, started by the test in its own directory on free ports, run
# examples/slurm/workers.sbatch as a job array; every task is done once
# and landed once, and the array drains with the board.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
[ "$(id -u)" -eq 0 ] || skip_all "a private Slurm needs root here"
for t in slurmctld slurmd sbatch squeue; do
	command -v $t >/dev/null 2>&1 || skip_all "$t is missing (Debian: slurm-wlm)"
done
plan 7

# two free TCP ports on loopback
port() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
		! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && echo $p && return
	done
}
sl=$TRASH/slurm
mkdir -p "$sl/state" "$sl/spool" "$sl/out"
cat >"$sl/slurm.conf" <<SLURMCONF
ClusterName=lhtest$$
SlurmctldHost=localhost
SlurmctldPort=$(port)
SlurmdPort=$(port)
AuthType=auth/none
CredType=cred/none
SlurmUser=root
StateSaveLocation=$sl/state
SlurmdSpoolDir=$sl/spool
SlurmctldPidFile=$sl/slurmctld.pid
SlurmdPidFile=$sl/slurmd.pid
SlurmctldLogFile=$sl/slurmctld.log
SlurmdLogFile=$sl/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=localhost CPUs=2 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
SLURMCONF
export SLURM_CONF=$sl/slurm.conf
slurmctld -f "$SLURM_CONF" -i 2>"$sl/ctld.err"
slurmd -f "$SLURM_CONF" -N localhost 2>"$sl/d.err"
stop_slurm() {
	scancel --quiet -u root 2>/dev/null
	for f in "$sl/slurmd.pid" "$sl/slurmctld.pid"; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
}
at_exit stop_slurm
wait_for 30 'sinfo -h -o %t 2>/dev/null | grep -qx idle' &&
	ok "a controller and a node for this host are up" ||
	{ not_ok "slurm did not come up"; diag "$(cat "$sl"/*.log "$sl"/*.err)"; done_testing; exit; }

board-init >/dev/null
make_project
: >"$TRASH/rules.jsonl"
for n in 1 2 3 4 5 6; do
	cat >>"$TRASH/rules.jsonl" <<JSON
{"match":{"contains":["write file $n"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo $n >f$n.txt"}}]}}
{"match":{"contains":["write file $n"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"wrote f$n.txt"}}]}}
JSON
	task-publish -v "grep -qx $n f$n.txt" "write file $n" >/dev/null
done
start_mock

# the job array, as a user submits it (the environment goes with it)
LONGHAUL_REMOTE=$TRASH/remote.git LONGHAUL_WORKDIR=$TRASH/work LONGHAUL_IDLE=3 \
	expect_code 0 "sbatch takes the array of three workers" -- \
	sbatch --parsable --array=1-3 -o "$sl/out/w-%A_%a.out" "$TOP/examples/slurm/workers.sbatch"
job=$(cat "$TRASH/out")
wait_for 180 '[ -z "$(squeue -h -j "$job" 2>/dev/null)" ]' &&
	ok "the array drains with the board" || not_ok "the array still runs after 180 s"

# Slurm keeps a finished job's record for MinJobAge (300 s)
scontrol -o show job "$job" | grep -o 'JobState=[A-Z]* .*ExitCode=[0-9:]*' |
	sed 's/JobState=\([A-Z]*\) .*ExitCode=/\1 /' | sort | uniq -c | sed 's/^ *//' >"$TRASH/states"
expect_eq "each array task completed with exit status 0" "3 COMPLETED 0:0" "$(cat "$TRASH/states")"
task-ls -j >"$TRASH/tasks"
expect_eq "every task is done" "6 done" \
	"$(jq -rs '"\(length) \(map(.state) | unique | join(","))"' "$TRASH/tasks")"
git --git-dir="$TRASH/remote.git" log --format='%(trailers:key=Longhaul-Task,valueonly)' main |
	sed '/^$/d' | sort >"$TRASH/trailers"
jq -r .id "$TRASH/tasks" | sort >"$TRASH/ids"
expect_file "each task's commit is on main exactly once" "$TRASH/ids" "$TRASH/trailers"
# each array task did work under its own name, and ended without an error
grep -l "longhaul-worker: slurm-$job-[123]: .*: done" "$sl/out/"* >"$TRASH/workers"
expect_eq "the workers were named after the array's tasks; no error" "3 0" \
	"$(wc -l <"$TRASH/workers") $(cat "$sl/out/"* | grep -ci error)"
