#!/usr/bin/env bash
# The evaluation protocol: training, validation and test worlds are disjoint, and no choice reads the
# test worlds: changing only evaluation.test_seed changes the test results and nothing else.
set -euo pipefail
work=$1
rm -rf "$work" && mkdir -p "$work"
job="$MANYWORLDS_SOURCE_DIR/jobs/quickstart.toml"
sed -e "s|^priors = .*|priors = \"$MANYWORLDS_SOURCE_DIR/jobs/priors/default.toml\"|" "$job" > "$work/a.toml"
sed -e 's|^\[evaluation\]|[evaluation]\ntest_seed = 424242|' "$work/a.toml" > "$work/b.toml"
for variant in a b; do
  "$MPIEXEC" -n 2 --oversubscribe "$MANYWORLDS_EXE" run "$work/$variant.toml" -o "$work/$variant.h5" \
    --iterations 4 -q > "$work/$variant.out"
done
# Everything the run chose or learned is identical: batches, metrics, policy, validation rounds, world parameters.
for path in /batches /metrics /policy /evaluation/validation /worlds /validation_worlds; do
  if ! h5diff "$work/a.h5" "$work/b.h5" "$path" "$path" > "$work/diff.txt"; then
    echo "$path differs when only the test seed changes:"; head -20 "$work/diff.txt"; exit 1
  fi
done
/usr/bin/python3 - "$work" <<'PY'
import sys, h5py, numpy as np
work = sys.argv[1]
with h5py.File(f"{work}/a.h5", "r") as a, h5py.File(f"{work}/b.h5", "r") as b:
    assert a["policy"].attrs["selected_iteration"] == b["policy"].attrs["selected_iteration"]
    # The test worlds and their results do change.
    assert not np.array_equal(a["test_worlds/parameters/agent_daily_budget"][:], b["test_worlds/parameters/agent_daily_budget"][:])
    assert not np.array_equal(a["evaluation/test/score"][:], b["evaluation/test/score"][:])
    training = a["worlds/parameters/id"][:]
    validation = a["validation_worlds/parameters/id"][:]
    test = a["test_worlds/parameters/id"][:]
    assert training.max() < 2**31 <= validation.min() and validation.max() < 3 * 2**30 <= test.min(), (training, validation, test)
    for ids in (training, validation, test):
        assert len(np.unique(ids)) == len(ids)
    # Different worlds, not only different ids: no validation or test world repeats a training world's parameters.
    budgets = set(a["worlds/parameters/agent_daily_budget"][:].tolist())
    assert not budgets & set(a["validation_worlds/parameters/agent_daily_budget"][:].tolist())
    assert not budgets & set(a["test_worlds/parameters/agent_daily_budget"][:].tolist())
print("training, validation and test worlds disjoint; the test seed changes only the test results")
PY
