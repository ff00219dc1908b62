#!/bin/sh
# t/1602's red stack of five, three prefixes tested at a time
# (LONGHAUL_TRAIN_PARALLEL=3): the top and the prefixes of 1 and 3 at
# once (speculation), then the prefix of 2 alone: four runs in two
# rounds, where one at a time takes three runs in three rounds.
LONGHAUL_TRAIN_PARALLEL=3 TRAIN_BISECT_RUNS=4
export LONGHAUL_TRAIN_PARALLEL TRAIN_BISECT_RUNS
exec sh "$(dirname "$0")/1602-train-bisect.t"
