#!/usr/bin/env bash
# Bytes moved between ranks per iteration do not grow with the experiences: the same jobs with 1 and
# 2 episodes per iteration (twice the experiences, the same batch) move the same bytes, within the
# few percent by which the exact gradient sums' digit windows vary with the data. The KL stop is off
# (target_kl = 0): the epochs it runs depend on the data, and each epoch moves the update's bytes again.
set -euo pipefail
work=$1
rm -rf "$work" && mkdir -p "$work"
priors="$MANYWORLDS_SOURCE_DIR/jobs/priors/default.toml"
for job in "$MANYWORLDS_SOURCE_DIR/jobs/quickstart.toml" "$MANYWORLDS_SOURCE_DIR/tests/integration/jobs/per_world.toml"; do
  stem=$(basename "$job" .toml)
  for episodes in 1 2; do
    sed -e "s#^priors = .*#priors = \"$priors\"#" -e "s#^episodes_per_iteration = .*#episodes_per_iteration = $episodes#" \
      -e "s#^target_kl = .*#target_kl = 0#" "$job" > "$work/$stem-$episodes.toml"
    grep -q "^episodes_per_iteration = $episodes" "$work/$stem-$episodes.toml" \
      || sed -i "s#^\[run\]#[run]\nepisodes_per_iteration = $episodes#" "$work/$stem-$episodes.toml"
    "$MPIEXEC" -n 3 --oversubscribe "$MANYWORLDS_EXE" run "$work/$stem-$episodes.toml" -o "$work/$stem-$episodes.h5" \
      --iterations 2 -q > /dev/null
  done
done
/usr/bin/python3 - "$work" <<'PY'
import sys, h5py, numpy as np
work = sys.argv[1]
for stem in ("quickstart", "per_world"):
    figures = {}
    for episodes in (1, 2):
        with h5py.File(f"{work}/{stem}-{episodes}.h5", "r") as f:
            assert int(f.attrs["episodes_per_iteration"]) == episodes
            figures[episodes] = (f["metrics/decisions"][:].sum(), f["runtime/bytes_moved"][:].mean(),
                                 f["runtime/max_rank_bytes_moved"][:].mean())
    (d1, b1, m1), (d2, b2, m2) = figures[1], figures[2]
    print(f"{stem}: {d1:.0f} -> {d2:.0f} experiences; bytes moved per iteration {b1:.0f} -> {b2:.0f} "
          f"(largest rank {m1:.0f} -> {m2:.0f})")
    assert d2 > 1.8 * d1, "the second run must hold about twice the experiences"
    assert 0.9 * b1 <= b2 <= 1.1 * b1, f"{stem}: bytes moved grew with the experiences: {b1:.0f} -> {b2:.0f}"
    assert 0.9 * m1 <= m2 <= 1.1 * m1, f"{stem}: a rank's bytes grew with the experiences: {m1:.0f} -> {m2:.0f}"
PY
