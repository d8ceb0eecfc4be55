#!/usr/bin/env bash
# Faults of the machine: missing, read-only or full folders, an output path that is a folder, too little memory,
# a disk that fills mid-run, signals before the first iteration and to mpirun. Each ends with one clear line, its
# exit code, no MPI_ABORT banner, nothing left behind (or exactly what a resume needs), earlier files unchanged.
# Needs root for the tmpfs mounts (exit 77, skipped, otherwise).
set -uo pipefail
work=$1
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root to mount small tmpfs file systems"; exit 77; }
mounts=()
cleanup() { for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done; }
trap cleanup EXIT
for m in "$work"/*/; do umount "$m" 2>/dev/null; done
rm -rf "$work" && mkdir -p "$work/out"
out_dir=$work/out   # where refused runs would write: it must stay empty
job="$MANYWORLDS_SOURCE_DIR/jobs/quickstart.toml"
small=(--iterations 4 --worlds 16 -q)
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
mount_tmpfs() {  # mount_tmpfs FOLDER SIZE [OPTIONS]
  mkdir -p "$1" && mount -t tmpfs -o "size=$2${3:+,$3}" tmpfs "$1" || { echo "SKIP: cannot mount tmpfs"; exit 77; }
  mounts+=("$1")
}
listing() { find "$1" -mindepth 1 -printf '%P %s\n' 2>/dev/null | sort | md5sum; }

# expect NAME CODE PATTERN FOLDER COMMAND...: exit code, exactly one "error:" line matching PATTERN, no MPI_ABORT
# banner, and FOLDER (where the output would go) exactly as it was before (names, sizes and contents).
expect() {
  local name=$1 code=$2 pattern=$3 folder=$4; shift 4
  local before; before=$(listing "$folder"; cat "$folder"/* 2>/dev/null | md5sum)
  "$@" > "$work/$name.stdout" 2> "$work/$name.stderr"
  local got=$? problems=""
  [[ $got == "$code" ]] || problems+=" exit $got (want $code);"
  [[ $(grep -c '^error:' "$work/$name.stderr") == 1 ]] || problems+=" $(grep -c '^error:' "$work/$name.stderr") error lines;"
  grep -Eq "^error: .*$pattern" "$work/$name.stderr" || problems+=" message does not match /$pattern/;"
  ! grep -q "MPI_ABORT" "$work/$name.stderr" || problems+=" MPI_ABORT banner;"
  [[ $(listing "$folder"; cat "$folder"/* 2>/dev/null | md5sum) == "$before" ]] || problems+=" $folder changed: $(ls -A "$folder");"
  if [[ -n $problems ]]; then fail "$name:$problems"; sed 's/^/    /' "$work/$name.stderr"; else echo "ok   $name: $(grep '^error:' "$work/$name.stderr")"; fi
}
run1() { "$MANYWORLDS_EXE" run "$job" "${small[@]}" "$@"; }
run2() { "$MPIEXEC" -n 2 --oversubscribe "$MANYWORLDS_EXE" run "$job" "${small[@]}" "$@"; }

"$MANYWORLDS_EXE" run "$job" "${small[@]}" -o "$work/reference.h5" || { echo "reference run failed"; exit 1; }

# Missing folder (run and validate alike), an output path that is a folder (also with --force).
expect missing_folder 3 "the folder .*/nowhere does not exist" "$out_dir" run2 -o "$work/nowhere/out.h5"
printf '[run]\nworlds = 4\noutput = "%s/nowhere/out.h5"\n[world]\npriors = "%s/jobs/priors/default.toml"\n' \
  "$work" "$MANYWORLDS_SOURCE_DIR" > "$work/nowhere.toml"
expect validate_missing_folder 3 "the folder .*/nowhere does not exist" "$out_dir" "$MANYWORLDS_EXE" validate "$work/nowhere.toml" --ranks 2
mkdir -p "$out_dir/folder.h5"
expect output_is_folder 3 "output .*/folder.h5 is a folder; pass a file path" "$out_dir" run2 -o "$out_dir/folder.h5" --force

# Read-only folder, a new output and --force over an old one (which stays as it was).
mount_tmpfs "$work/ro" 8m
printf 'old output' > "$work/ro/old.h5"
mount -o remount,ro "$work/ro"
expect read_only_new 5 "output folder .*/ro is not writable .*Read-only file system" "$work/ro" run2 -o "$work/ro/new.h5"
expect read_only_force 5 "output folder .*/ro is not writable .*Read-only file system" "$work/ro" run2 -o "$work/ro/old.h5" --force

# A 2 MiB file system: too small for the output; refused before anything is created.
mount_tmpfs "$work/tiny" 2m
expect full_disk 5 "output folder .*/tiny has .* free.*, the run needs about" "$work/tiny" run2 -o "$work/tiny/out.h5"

# Memory: below the estimate under ulimit -v, SLURM's --mem-per-cpu; a batch the job cannot fill.
expect ulimit_v 5 "each rank needs about .* the address-space limit \(ulimit -v\) leaves" "$out_dir" \
  bash -c 'ulimit -v 400000 && exec "$0" run "$1" -o "$2" -q' "$MANYWORLDS_EXE" "$MANYWORLDS_SOURCE_DIR/jobs/default.toml" "$out_dir/mem.h5"
expect slurm_mem 5 "only .* is available .*SLURM_MEM_PER_CPU" "$out_dir" env SLURM_MEM_PER_CPU=20 "$MANYWORLDS_EXE" run "$job" "${small[@]}" -o "$out_dir/mem.h5"
printf '[run]\nworlds = 16\n[world]\npriors = "%s/jobs/priors/default.toml"\nhorizon_days = 1.0\n[sampling]\nmode = "without_replacement"\nbatch_size = 400000\n' \
  "$MANYWORLDS_SOURCE_DIR" > "$work/big_batch.toml"
expect batch_too_large 3 "'sampling.batch_size' = 400000 exceeds the about [0-9]+ experiences" "$out_dir" \
  "$MANYWORLDS_EXE" run "$work/big_batch.toml" -o "$out_dir/batch.h5" -q
expect validate_batch_too_large 3 "'sampling.batch_size' = 400000 exceeds" "$out_dir" "$MANYWORLDS_EXE" validate "$work/big_batch.toml" --ranks 1

# The disk fills after the first checkpoint (a filler file takes the rest): the run fails on every rank with one
# line, keeps OUTPUT.partial and the checkpoint it can continue from, removes its temporary files; once space is
# free again, --resume ends with the uninterrupted data.
# A rank that failed inside a collective HDF5 call (parallel HDF5 allocates chunks when a dataset grows)
# once left the other waiting in HDF5's barrier: the run is killed after 180 s (it takes ~10 s) and reported.
mount_tmpfs "$work/fill" 64m
out="$work/fill/out.h5"
timeout -k 10 180 "$MPIEXEC" -n 2 --oversubscribe "$MANYWORLDS_EXE" run "$job" "${small[@]}" -o "$out" --checkpoint-every 1 \
  > "$work/fill.stdout" 2> "$work/fill.stderr" &
launcher=$!
while [[ ! -e $out.checkpoint ]] && kill -0 "$launcher" 2>/dev/null; do sleep 0.02; done
dd if=/dev/zero of="$work/fill/filler" bs=64k status=none 2>/dev/null
wait "$launcher"
code=$?
if [[ $code == 1 ]] && [[ $(grep -c '^error:' "$work/fill.stderr") == 1 ]] && grep -q "^error: .*kept .*out.h5.partial and .*out.h5.checkpoint" "$work/fill.stderr" \
   && ! grep -q MPI_ABORT "$work/fill.stderr" && [[ -e $out.partial && -e $out.checkpoint && ! -e $out.checkpoint.tmp && ! -e $out.reserve && ! -e $out ]]; then
  rm "$work/fill/filler"
  if run2 -o "$out" --resume > /dev/null 2>&1 && h5diff --exclude-path /runtime "$work/reference.h5" "$out" > /dev/null; then
    echo "ok   disk_fills: $(grep '^error:' "$work/fill.stderr" | cut -c1-160)...; resumed to identical data"
  else
    fail "disk_fills: resume failed or differs"
  fi
else
  [[ $code == 124 || $code == 137 ]] && fail "disk_fills: HUNG (killed by timeout after 180 s)"
  fail "disk_fills: exit $code; files: $(ls -A "$work/fill")"; cat "$work/fill.stderr"
fi

# A signal 0.1 s after the start (a long job, still setting up): exit 6, one line, nothing written. The handlers
# come first in the program's own code; the dynamic loader before it (0.05-0.15 s on a loaded 2-core machine) is
# not covered, so the signal waits, if need be, until /proc says SIGTERM is caught (SigCgt bit 15).
mkdir -p "$work/early"
"$MANYWORLDS_EXE" run "$MANYWORLDS_SOURCE_DIR/jobs/default.toml" -o "$work/early/out.h5" -q > /dev/null 2> "$work/early.stderr" &
pid=$!
sleep 0.1
for _ in $(seq 1 500); do
  mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
  [[ -n $mask ]] && (( (16#$mask >> 14) & 1 )) && break
  sleep 0.01
done
kill -TERM "$pid"
wait "$pid"
code=$?
if [[ $code == 6 ]] && [[ $(grep -c . "$work/early.stderr") == 1 ]] \
   && grep -q "^interrupted: stopped by SIGTERM before the first iteration: nothing was written" "$work/early.stderr" \
   && [[ -z $(ls -A "$work/early") ]]; then
  echo "ok   early_signal: $(cat "$work/early.stderr")"
else
  fail "early_signal: exit $code, files: $(ls -A "$work/early")"; cat "$work/early.stderr"
fi

# Signals to mpirun: SIGUSR1 is forwarded to the ranks, which checkpoint and exit 6, and so does mpirun. SIGTERM is
# Open MPI's "terminate the job": mpirun exits 1 whatever the ranks do (README: send USR1 to mpirun instead).
for signal in USR1 TERM; do
  out="$work/mpirun_$signal.h5"
  "$MPIEXEC" -n 2 --oversubscribe "$MANYWORLDS_EXE" run "$job" --iterations 6 -o "$out" -q > /dev/null 2> "$work/mpirun_$signal.stderr" &
  launcher=$!
  while [[ ! -e $out.partial ]] && kill -0 "$launcher" 2>/dev/null; do sleep 0.02; done
  kill "-$signal" "$launcher"
  wait "$launcher"
  code=$?
  if [[ $signal == USR1 && $code == 6 && -e $out.checkpoint ]] && grep -q "^interrupted: stopped by SIGUSR1 after iteration" "$work/mpirun_$signal.stderr"; then
    echo "ok   mpirun_USR1: mpirun exit 6, $(grep '^interrupted:' "$work/mpirun_$signal.stderr" | cut -c1-60)..."
  elif [[ $signal == TERM && $code == 1 ]]; then
    echo "ok   mpirun_TERM: mpirun exit 1 (Open MPI's code for a job it was told to terminate)"
  else
    fail "mpirun_$signal: exit $code"; cat "$work/mpirun_$signal.stderr"
  fi
done

[[ $failures == 0 ]] || { echo "$failures case(s) failed"; exit 1; }
echo "all machine-fault cases passed"
