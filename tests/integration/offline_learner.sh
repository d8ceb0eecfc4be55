#!/usr/bin/env bash
# The offline-learner example: trained from a small run's file alone (analysis/offline_learner.py), its policy file
# moves the run's parameters by a finite, non-zero step and is judged by `manyworlds evaluate` on the test worlds.
set -euo pipefail
work=$1
rm -rf "$work" && mkdir -p "$work"
job=$MANYWORLDS_SOURCE_DIR/jobs/quickstart.toml
"$MPIEXEC" -n 2 --oversubscribe "$MANYWORLDS_EXE" run "$job" --worlds 32 --iterations 2 -o "$work/run.h5" -q > /dev/null
/usr/bin/python3 "$MANYWORLDS_SOURCE_DIR/analysis/offline_learner.py" "$work/run.h5" -o "$work/offline.h5" --epochs 2
"$MPIEXEC" -n 2 --oversubscribe "$MANYWORLDS_EXE" evaluate --policy "$work/offline.h5" "$job" --worlds 32 \
  -o "$work/evaluation.h5" > /dev/null
/usr/bin/python3 - "$work/run.h5" "$work/offline.h5" "$work/evaluation.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as run, h5py.File(sys.argv[2], "r") as offline, h5py.File(sys.argv[3], "r") as judged:
    before = run["policy/parameters"][:]
    after = offline["policy/parameters"][:]
    strategies = [s.decode() if isinstance(s, bytes) else s for s in judged["evaluation"].attrs["strategies"]]
    score = judged["evaluation/test/mean_score"][strategies.index("policy")]
    worlds = judged["evaluation/test/score"].shape[1]
step = np.abs(after - before)
print(f"offline policy: {np.count_nonzero(step)} of {step.size} parameters moved (max {step.max():.3g}); "
      f"test score {score:.1f} on {worlds} worlds")
assert after.shape == before.shape and np.all(np.isfinite(after)), "offline parameters not finite or misshaped"
assert 0 < step.max() < 1.0, f"offline step {step.max():.3g} not in (0, 1)"
assert worlds > 0 and np.isfinite(score), f"evaluate gave no finite test score ({score}) on {worlds} worlds"
PY
