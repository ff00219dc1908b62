#!/bin/sh
# t/1602's red stack of five, bisected three prefixes at a time
# (LONGHAUL_TRAIN_PARALLEL=3): the stack, then one round of three (the
# prefixes of 1, 2 and 3) finds the culprit, the third, at once.
LONGHAUL_TRAIN_PARALLEL=3 TRAIN_BISECT_RUNS=4
export LONGHAUL_TRAIN_PARALLEL TRAIN_BISECT_RUNS
exec sh "$(dirname "$0")/1602-train-bisect.t"
