#!/usr/bin/env bash
# Scaling harness: runs a job with 1..N ranks and reports time, throughput, bytes moved and memory per rank count.
# Usage: benchmarks/scaling.sh [JOB.toml] [MAX_RANKS] [ITERATIONS]   (defaults: jobs/default.toml, cores, 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
job=${1:-$root/jobs/default.toml}
max_ranks=${2:-$(nproc)}
iterations=${3:-3}
exe=${MANYWORLDS_EXE:-$root/build/manyworlds}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
echo "job $job, $iterations iterations, machine: $(nproc) cores"
for ((ranks = 1; ranks <= max_ranks; ranks *= 2)); do
  mpirun -n "$ranks" --oversubscribe "$exe" run "$job" --iterations "$iterations" -o "$work/r$ranks.h5" -q > /dev/null
done
/usr/bin/python3 - "$work" "$max_ranks" <<'PY'
import sys, h5py, numpy as np
work, max_ranks = sys.argv[1], int(sys.argv[2])
print(f"{'ranks':>5} {'s/iter':>8} {'simulate s':>10} {'sample s':>9} {'update s':>9} {'write s':>8} "
      f"{'decisions/s':>12} {'per rank':>10} {'bytes moved/iter':>16} {'peak MB/rank':>12}")
ranks = 1
reference = None
while ranks <= max_ranks:
    with h5py.File(f"{work}/r{ranks}.h5", "r") as f:
        r, m = f["runtime"], f["metrics"]
        last = slice(1, None) if r["iteration_seconds"].shape[0] > 1 else slice(None)  # skip the warm-up iteration
        mean = lambda name: float(np.mean(r[name][last]))
        rate = float(np.sum(m["decisions"][last]) / np.sum(r["simulate_seconds"][last]))
        print(f"{ranks:>5} {mean('iteration_seconds'):>8.3f} {mean('simulate_seconds'):>10.3f} "
              f"{mean('sample_seconds'):>9.4f} {mean('update_seconds'):>9.3f} {mean('write_seconds'):>8.3f} "
              f"{rate:>12.0f} {rate / ranks:>10.0f} {mean('bytes_moved'):>16.0f} "
              f"{float(np.max(r['max_rank_rss_bytes'])) / 1e6:>12.1f}")
        if reference is None:
            reference = f["metrics/reward"][:]
        elif not np.array_equal(reference, f["metrics/reward"][:]):
            print(f"warning: {ranks} ranks produced different metrics than 1 rank")
    ranks *= 2
PY
