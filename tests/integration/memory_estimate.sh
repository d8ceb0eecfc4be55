#!/usr/bin/env bash
# validate's memory estimate per rank is within 25% of the busiest rank's peak resident memory over the whole run
# (the final test of the held-out worlds included: ru_maxrss of the ranks, which mpirun reaps, read as
# RUSAGE_CHILDREN by a Python parent), and its "output at most" bound is at least the file's size (and at most 3
# times it), for the quickstart job on 2 ranks and the default job on 1.
set -uo pipefail
work=$1
rm -rf "$work" && mkdir -p "$work"
failures=0
# Runs its arguments and prints the largest peak RSS (MB) of the processes it reaped, their children included.
peak_of_children='
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e6)
sys.exit(code)'
check() {  # check NAME JOB RANKS ITERATIONS
  local name=$1 job=$2 ranks=$3 iterations=$4 summary estimate output_estimate measured per_iteration
  summary=$("$MANYWORLDS_EXE" validate "$job" --ranks "$ranks" --iterations "$iterations")
  estimate=$(sed -n 's/.*memory per rank about \([0-9.]*\) MB.*/\1/p' <<< "$summary")
  output_estimate=$(sed -n 's/.*output at most \([0-9.]*\) MB.*/\1/p' <<< "$summary")
  measured=$(/usr/bin/python3 -c "$peak_of_children" "$MPIEXEC" -n "$ranks" --oversubscribe "$MANYWORLDS_EXE" run "$job" \
    --iterations "$iterations" -o "$work/$name.h5" -q 2> "$work/$name.log") ||
    { cat "$work/$name.log"; echo "FAIL $name: run failed"; failures=$((failures + 1)); return; }
  output=$(stat -c %s "$work/$name.h5")
  if [[ -n $output_estimate ]] && awk -v e="$output_estimate" -v m="$output" 'BEGIN { r = e * 1e6 / m; exit !(r >= 1 && r <= 3) }'; then
    echo "ok   $name: output at most $output_estimate MB, file $output bytes"
  else
    echo "FAIL $name: output estimate '$output_estimate' MB, file $output bytes (below the file or above 3 times it)"; failures=$((failures + 1))
  fi
  per_iteration=$(/usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1])['runtime/max_rank_rss_bytes'][:].max() / 1e6)" "$work/$name.h5")
  if ! awk -v i="$per_iteration" -v m="$measured" 'BEGIN { exit !(i > 0 && i <= m) }'; then
    echo "FAIL $name: /runtime/max_rank_rss_bytes $per_iteration MB is not within the run's peak $measured MB"; failures=$((failures + 1))
  fi
  if [[ -n $estimate ]] && awk -v e="$estimate" -v m="$measured" 'BEGIN { r = e / m; exit !(r >= 0.75 && r <= 1.25) }'; then
    echo "ok   $name: estimate $estimate MB, measured peak $measured MB per rank"
  else
    echo "FAIL $name: estimate '$estimate' MB, measured peak $measured MB per rank (more than 25% apart)"; failures=$((failures + 1))
  fi
}
check quickstart "$MANYWORLDS_SOURCE_DIR/jobs/quickstart.toml" 2 2
check default "$MANYWORLDS_SOURCE_DIR/jobs/default.toml" 1 1
[[ $failures == 0 ]] || exit 1
