#!/usr/bin/env bash
# Scaling harness: a job on 1 and 2 ranks (phases, serial part), two 1-rank copies at once (the machine's ceiling),
# more ranks oversubscribed (bytes and memory only), a 1,000,000-row batch write beside dd, then the report and
# projections of benchmarks/scaling_report.py.
# Usage: benchmarks/scaling.sh [JOB.toml] [ITERATIONS] [MAX_RANKS]   (defaults: jobs/default.toml, 6, 4)
# Environment: MANYWORLDS_EXE (default build/manyworlds), WRITE_ROWS (rows of the write test, 0 skips it;
# default 1000000), REPEATS (timed repetitions, default 3), KEEP=DIR (keep the outputs there), REPORT_ARGS (e.g. "--latency 2e-6 --bandwidth 12e9").
# The model and its assumptions: docs/scaling.md. Run it alone on the machine: other load distorts every figure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
job=$(realpath "${1:-$root/jobs/default.toml}")
iterations=${2:-6}
max_ranks=${3:-4}
exe=${MANYWORLDS_EXE:-$root/build/manyworlds}
write_rows=${WRITE_ROWS:-1000000}
if [[ -n ${KEEP:-} ]]; then
  work=$KEEP
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
run() {  # ranks, job, output, iterations
  mpirun -n "$1" --oversubscribe "$exe" run "$2" --iterations "$4" -o "$3" --force -q > /dev/null
}

# The test evaluation after the last iteration is in no figure: 64 test worlds keep it short. A relative
# priors path is made absolute, as the copy lives elsewhere.
sed -e "s#^test_worlds = .*#test_worlds = 64#" -e "s#^priors = \"\([^/]\)#priors = \"$(dirname "$job")/\1#" \
  "$job" > "$work/$(basename "$job")"
job=$work/$(basename "$job")

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Timings repeat (REPEATS, default 3; the report takes medians): a VM's wall clock varies by tens of per cent
# from one run to the next. Each repetition: 1 rank, 2 ranks, and the machine's own ceiling for two ranks —
# two independent 1-rank copies at once, unbound (each mpirun would otherwise bind its rank to core 0),
# sharing the cores, caches and memory bandwidth as two ranks do.
for ((rep = 1; rep <= ${REPEATS:-3}; rep++)); do
  suffix=$([[ $rep -eq 1 ]] && echo "" || echo "_rep$rep")
  run 1 "$job" "$work/r1$suffix.h5" "$iterations"
  run 2 "$job" "$work/r2$suffix.h5" "$iterations"
  mpirun -n 1 --bind-to none "$exe" run "$job" --iterations "$iterations" -o "$work/copy_a$suffix.h5" --force -q > /dev/null &
  copy_a=$!
  mpirun -n 1 --bind-to none "$exe" run "$job" --iterations "$iterations" -o "$work/copy_b$suffix.h5" --force -q > /dev/null
  wait "$copy_a"
done
for ((ranks = 4; ranks <= max_ranks; ranks *= 2)); do
  run "$ranks" "$job" "$work/r$ranks.h5" "$iterations"
done

# The write beside dd, in REPEATS interleaved pairs (the report takes medians): on a VM dd's own rate
# varies by half from one run to the next. The job: quickstart with a batch of WRITE_ROWS rows; one epoch
# of 65536-row minibatches keeps the update short (it does not change what is written).
sed -e "s#^priors = .*#priors = \"$root/jobs/priors/default.toml\"#" -e "s#^batch_size = .*#batch_size = $write_rows#" \
  -e "s#^minibatch_size = .*#minibatch_size = 65536#" -e "s#^epochs = .*#epochs = 1#" \
  "$root/jobs/quickstart.toml" > "$work/write.toml"
dd_rate() {  # dd_rate NAME BLOCKS [FLAG]: writes BLOCKS x 4 MiB to $work/NAME.bin, removes it, appends dd's bytes/s to $work/NAME.txt
  dd if=/dev/zero of="$work/$1.bin" bs=4M count="$2" ${3:+"$3"} 2> "$work/dd.err"
  rm -f "$work/$1.bin"
  awk '/copied/ { print $1 / $(NF - 3) }' "$work/dd.err" >> "$work/$1.txt"
}
rm -f "$work/dd.txt" "$work/dd_cached.txt" "$work/dd_reused.txt"
for ((rep = 1; rep <= ${REPEATS:-3}; rep++)); do
  dd_rate dd 256 oflag=direct
  # ... and through the page cache into new pages, as the output file is written (no fsync).
  dd_rate dd_cached 64
  # ... and at once into the pages that rm just freed. Where a VM's host backs guest memory only on
  # first touch and takes freed memory back, this is many times the rate above (docs/scaling.md).
  dd_rate dd_reused 64
  suffix=$([[ $rep -eq 1 ]] && echo "" || echo "_rep$rep")
  if [[ $write_rows -gt 0 ]]; then run 2 "$work/write.toml" "$work/write$suffix.h5" 3; fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
# shellcheck disable=SC2086
/usr/bin/python3 "$root/benchmarks/scaling_report.py" "$work" ${REPORT_ARGS:-}
