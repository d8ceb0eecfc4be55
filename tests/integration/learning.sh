#!/usr/bin/env bash
# Learning works: after a short training run (fixed seed, tests/integration/jobs/learning.toml) the reported policy beats
# the adaptive-pacing baseline on the test worlds by at least 3 normalised points with the paired 95% CI above 0, and
# the snapshot it reports improved on the untrained policy's validation score.
set -euo pipefail
work=$1
rm -rf "$work" && mkdir -p "$work"
"$MPIEXEC" -n 2 --oversubscribe "$MANYWORLDS_EXE" run "$MANYWORLDS_SOURCE_DIR/tests/integration/jobs/learning.toml" \
  -o "$work/learning.h5" -q > /dev/null
/usr/bin/python3 - "$work/learning.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    evaluation = f["evaluation"]
    strategies = [s.decode() if isinstance(s, bytes) else s for s in evaluation.attrs["strategies"]]
    test = evaluation["test"]
    policy = strategies.index("policy")
    difference = test["difference_to_comparison"][policy]
    low, high = test["difference_to_comparison_low"][policy], test["difference_to_comparison_high"][policy]
    score = test["mean_score"][policy]
    comparison = test.attrs["comparison"]
    validation = evaluation["validation"]
    selected = int(evaluation.attrs["selected_iteration"])
    rounds = list(validation["iteration"][:])
    untrained, chosen = validation["score"][0], validation["score"][rounds.index(selected)]
print(f"test worlds: policy score {score:.1f}, vs {comparison} {difference:+.1f} [{low:+.1f}, {high:+.1f}]; "
      f"validation score {untrained:.1f} untrained -> {chosen:.1f} at the selected iteration {selected}")
assert comparison == "adaptive_pacing", comparison
assert difference >= 3.0 and low > 0.0, f"policy vs adaptive pacing {difference:+.1f} [{low:+.1f}, {high:+.1f}]: not >= 3 with CI above 0"
assert selected > 0 and chosen > untrained, f"no improvement on validation: {untrained:.1f} -> {chosen:.1f}"
PY
