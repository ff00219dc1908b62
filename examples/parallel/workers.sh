#!/bin/sh
# longhaul workers on many hosts with GNU parallel over ssh:
#
#   export LONGHAUL_BOARD=/shared/board LONGHAUL_REMOTE=/shared/project.git
#   examples/parallel/workers.sh 4 host1 host2 host3    # 4 workers on each
#
# Every host sees the board and the repository at the same paths (NFS)
# and has the tools in the same PATH (passed along). Each worker is named
# after its host and its slot, so that a worker started again on a host
# comes back as itself. No two workers of one run share a name, whatever
# the hosts are called (two logins of one host, images all named alike):
# parallel's slot {%} is unique among the jobs running at a time, across
# all logins, and there are as many jobs as slots. A worker of a name
# that already runs on the board (a second run of this script) is
# refused, exit 4, and counted below. A worker ends when no task came
# for LONGHAUL_IDLE seconds (600); the script ends when all have, with
# status 0 when every worker ended well and else the number of those that
# did not (parallel's count). PARALLEL_SSH, or ~/.ssh/config, says how to reach the hosts.
#
# The longhaul settings of this shell (the board, the models, base URLs,
# LONGHAUL_KEY_COMMAND) go along; API keys do not, since parallel passes
# variables on the remote command line, where every user of the host can
# read them: give each host its key in its own environment, or a key
# command (llm-call(1)).
set -eu
[ $# -ge 2 ] || { echo "usage: workers.sh workers-per-host host..." >&2; exit 2; }
per_host=$1
shift
: "${LONGHAUL_BOARD:?set LONGHAUL_BOARD to the board (on a filesystem every host mounts)}"
: "${LONGHAUL_REMOTE:?set LONGHAUL_REMOTE to the shared repository}"
: "${LONGHAUL_IDLE:=600}" "${LONGHAUL_BRANCH:=main}"
: "${LONGHAUL_WORKDIR:=/tmp/longhaul-work}"
export LONGHAUL_BOARD LONGHAUL_REMOTE LONGHAUL_IDLE LONGHAUL_BRANCH LONGHAUL_WORKDIR
logins=$(printf '%s,' "$@")
# every LONGHAUL_ and *_BASE_URL variable that is set, but no key
envs=
for v in $(env | sed -n 's/^\(LONGHAUL_[A-Z_]*\|[A-Z]*_BASE_URL\)=.*/\1/p'); do
	envs="$envs --env $v"
done
# one job a worker: per_host slots on every host; exit 1 of a worker is
# "no task came for LONGHAUL_IDLE seconds", its normal end
seq "$((per_host * $#))" |
parallel --jobs "$per_host" --sshlogin "${logins%,}" --line-buffer --tag \
    --env PATH $envs \
    'LONGHAUL_AGENT=$(hostname)-par-{%} longhaul-worker -R "$LONGHAUL_REMOTE" -B "$LONGHAUL_BRANCH" -W "$LONGHAUL_WORKDIR" -w "$LONGHAUL_IDLE"; st=$?; [ $st -ne 1 ] || st=0; exit $st'
