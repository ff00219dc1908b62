#!/bin/sh
# The chaos test (t/0420-chaos.t: kill -9 of any process of the workers'
# trees every 1-3 s, SIGTERM to whole workers, short leases, a reaper)
# with every worker landing through the merge train: every task done
# exactly once, its commit on main exactly once, touching its own file
# alone, nothing left running, board-fsck clean. Smaller than make chaos
# (CHAOS_TASKS, default here 60) to stay near a minute.
CHAOS_LAND=train CHAOS_TASKS=${CHAOS_TASKS:-60}
export CHAOS_LAND CHAOS_TASKS
exec sh "$(dirname "$0")/0420-chaos.t"
