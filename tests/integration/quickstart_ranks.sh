#!/usr/bin/env bash
# Quickstart with 1, 2, 3 and 4 ranks: all datasets but /runtime byte-identical; batch writes collective.
set -euo pipefail
work=$1
rm -rf "$work" && mkdir -p "$work"
job="$MANYWORLDS_SOURCE_DIR/jobs/quickstart.toml"
for ranks in 1 2 3 4; do
  "$MPIEXEC" -n "$ranks" --oversubscribe "$MANYWORLDS_EXE" run "$job" -o "$work/ranks$ranks.h5" --iterations 4 -q \
    > "$work/ranks$ranks.out"
  test -f "$work/ranks$ranks.h5" || { echo "no output for $ranks ranks"; exit 1; }
  test ! -e "$work/ranks$ranks.h5.partial" || { echo "partial file left for $ranks ranks"; exit 1; }
done
for ranks in 2 3 4; do
  # h5diff compares every value exactly (no tolerance given); exit 0 means identical.
  if ! h5diff --exclude-path /runtime "$work/ranks1.h5" "$work/ranks$ranks.h5" > "$work/diff$ranks.txt"; then
    echo "outputs of 1 and $ranks ranks differ:"; head -40 "$work/diff$ranks.txt"; exit 1
  fi
done
# The comparison must have seen real data: the batches hold 4 iterations of 8192 rows.
h5dump -H "$work/ranks1.h5" > "$work/header.txt"
grep -q 'DATASET "weight"' "$work/header.txt" || { echo "no /batches/weight in h5dump -H"; exit 1; }
/usr/bin/python3 - "$work" <<'PY'
import sys, h5py, numpy as np
work = sys.argv[1]
for ranks in (1, 2, 3, 4):
    with h5py.File(f"{work}/ranks{ranks}.h5", "r") as f:
        assert f["batches/weight"].shape == (4, 8192), f["batches/weight"].shape
        assert int(f["runtime"].attrs["ranks"]) == ranks
        collective = f["runtime/batch_writes_collective"][:]
        assert np.all(collective == 1), f"{ranks} ranks: batch writes not collective: {collective}"
print("identical across 1-4 ranks; batch writes collective")
PY
