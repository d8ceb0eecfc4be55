#!/usr/bin/env bash
# Quickstart with worlds stepped one by one and in lockstep (several lane counts, 1, 3 and 7 ranks): every dataset
# but /runtime identical, also when the balanced partition moves worlds between ranks mid-run (7 ranks).
set -euo pipefail
work=$1
rm -rf "$work" && mkdir -p "$work"
job="$MANYWORLDS_SOURCE_DIR/jobs/quickstart.toml"
run() {  # ranks lanes
  "$MPIEXEC" -n "$1" --oversubscribe "$MANYWORLDS_EXE" run "$job" -o "$work/r$1-l$2.h5" --iterations 3 --lanes "$2" -q \
    > "$work/r$1-l$2.out"
}
run 1 1
for case in "1 16" "1 5" "3 8" "7 4"; do
  run $case
  set -- $case
  # h5diff compares every value exactly (no tolerance given); exit 0 means identical.
  if ! h5diff --exclude-path /runtime "$work/r1-l1.h5" "$work/r$1-l$2.h5" > "$work/diff-r$1-l$2.txt"; then
    echo "outputs with 1 lane and with $2 lanes on $1 ranks differ:"; head -40 "$work/diff-r$1-l$2.txt"; exit 1
  fi
done
h5dump -H "$work/r1-l1.h5" > "$work/header.txt"
grep -q 'DATASET "advantage"' "$work/header.txt" || { echo "no /batches/advantage: nothing was compared"; exit 1; }
# The lockstep set must follow the rank's current worlds: the 7-rank run re-partitioned them mid-run.
/usr/bin/python3 - "$work/r7-l4.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert f["runtime/partition_changes"][:].sum() > 0, "the 7-rank, 4-lane run never re-partitioned its worlds"
PY
echo "identical for 1, 4, 5, 8 and 16 lanes on 1, 3 and 7 ranks (worlds re-partitioned mid-run on 7)"
