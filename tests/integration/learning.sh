#!/usr/bin/env bash
# Learning works: after a short training run (fixed seed) the held-out policy beats the best baseline
# by at least 5% and its own first evaluation by at least 3% (mean expected return on 48 held-out worlds).
set -euo pipefail
work=$1
rm -rf "$work" && mkdir -p "$work"
"$MPIEXEC" -n 2 --oversubscribe "$MANYWORLDS_EXE" run "$MANYWORLDS_SOURCE_DIR/tests/integration/jobs/learning.toml" \
  -o "$work/learning.h5" -q > /dev/null
/usr/bin/python3 - "$work/learning.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    evaluation = f["evaluation"]
    strategies = list(evaluation.attrs["strategies"])
    returns = evaluation["mean_return"][:]
policy_first, policy_final = returns[0, 0], returns[-1, 0]
best = max(range(1, len(strategies)), key=lambda s: returns[-1, s])
baseline = returns[-1, best]
print(f"held-out mean expected return: policy {policy_first:.2f} (first round) -> {policy_final:.2f} (final); "
      f"best baseline {strategies[best]} {baseline:.2f}")
assert policy_final >= 1.05 * baseline, f"policy {policy_final:.2f} < 1.05 x best baseline {baseline:.2f}"
assert policy_final >= 1.03 * policy_first, f"policy did not improve by 3%: {policy_first:.2f} -> {policy_final:.2f}"
PY
