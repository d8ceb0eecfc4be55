#!/usr/bin/env bash
# SLURM test: brings up a real one-node cluster, submits the slurm/ scripts, checks job states and HDF5 outputs, tears down.
#
#   tests/slurm/test_slurm.sh scripts WORKDIR       run.sbatch and array.sbatch (seed and job-file sweeps), a bad job
#   tests/slurm/test_slurm.sh preemptible WORKDIR   preemptible.sbatch: USR1, checkpoint, requeue, resume, same data
# WORKDIR (emptied first) receives the outputs and job logs; they stay there for inspection.
#
# Environment: MANYWORLDS_EXE (default: <source>/build/manyworlds); MANYWORLDS_SLURM_CLUSTER_DIR (default: a short
# folder under /tmp derived from WORKDIR, so a cluster left by a killed run is torn down by the next one);
# MANYWORLDS_SLURM_TEST_DEADLINE (default 420 s): then the test stops itself and tears down (ctest's TIMEOUT
# would SIGKILL it, and no trap survives that).
# Exit 77 (ctest: skipped) when SLURM or munge is not installed or the user is not root.
set -euo pipefail

[[ $# -eq 2 && ($1 == scripts || $1 == preemptible) ]] || {
  echo "usage: $0 scripts|preemptible WORKDIR" >&2
  exit 2
}
mode=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
source_dir=$(cd "$here/../.." && pwd -P)
exe=${MANYWORLDS_EXE:-$source_dir/build/manyworlds}
job=$source_dir/jobs/quickstart.toml
small=(--iterations 2 --worlds 16)    # a few seconds per job
poll_limit=90                         # seconds any one wait may take
# The cluster advertises more CPUs than the machine has, so Open MPI under srun does not know that it is
# oversubscribed: let idle ranks yield their core instead of spinning (changes the speed, never the results).
export OMPI_MCA_mpi_yield_when_idle=1

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
say() { echo "test_slurm[$mode]: $*"; }
now() { echo "$EPOCHREALTIME"; }
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

[[ -x $exe ]] || fail "manyworlds executable '$exe' not found: build it or set MANYWORLDS_EXE"
mkdir -p "$2"
work=$(cd "$2" && pwd -P)
[[ $work != / && $work != "${HOME:-/}" && $work != "$source_dir" ]] || fail "refusing to use $work as the (wiped) work folder"
find "$work" -mindepth 1 -delete    # a fresh start: outputs of an earlier (maybe killed) run would make runs refuse
cluster_dir=${MANYWORLDS_SLURM_CLUSTER_DIR:-/tmp/manyworlds-slurm-$(printf %s "$work" | cksum | cut -d' ' -f1)}

# ---- the cluster: torn down on every exit (pass, fail, skip, Ctrl-C, ctest's TERM) ----
t_start=$(now)
t_up=
t_tests=
watchdog=
cleanup() {
  local rc=$? t_down leftovers
  trap - EXIT INT TERM
  set +e
  [[ -n $watchdog ]] && kill -TERM "$watchdog" 2>/dev/null
  t_down=$(now)
  if ! "$here/cluster.sh" down "$cluster_dir"; then
    echo "FAIL: teardown left processes of the cluster in $cluster_dir" >&2
    rc=1
  fi
  # Independent check with ps: no daemon or step of this cluster (zombies are gone already, just not reaped).
  leftovers=$(ps -eo pid=,stat=,args= | awk -v d="$cluster_dir" 'index($0, d) && $2 !~ /^Z/ && $0 !~ /awk -v d=/')
  if [[ -n $leftovers ]]; then
    echo "FAIL: still running after teardown:" >&2
    echo "$leftovers" >&2
    rc=1
  fi
  if [[ -n $t_up ]]; then
    say "timing: bring-up ${t_up} s, tests ${t_tests:-did not finish}${t_tests:+ s}, teardown $(seconds_since "$t_down") s, total $(seconds_since "$t_start") s"
  fi
  if [[ $rc -eq 0 || $rc -eq 77 ]]; then
    # Only a folder cluster.sh made (it holds its marker file); kept after a failure: its daemons' logs tell why.
    [[ -f $cluster_dir/.manyworlds-slurm-cluster ]] && rm -rf "$cluster_dir"
    if [[ $rc -eq 0 ]]; then say "PASS"; else say "SKIPPED"; fi
  else
    say "FAILED (exit $rc; outputs and job logs in $work, cluster logs in $cluster_dir/log)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'echo "test_slurm[$mode]: stopped by SIGTERM (deadline ${deadline} s or ctest)" >&2; exit 143' TERM
deadline=${MANYWORLDS_SLURM_TEST_DEADLINE:-420}
[[ $deadline =~ ^[1-9][0-9]*$ ]] || fail "MANYWORLDS_SLURM_TEST_DEADLINE must be a positive number of seconds"
# The watchdog: TERM to this script at the deadline (the trap above then tears the cluster down). It checks every
# second that this script is still its parent and quits when it is not, so it never outlives the test.
(
  main=$$
  end=$((SECONDS + deadline))
  while ((SECONDS < end)); do
    sleep 1
    read -r _ _ _ parent _ < "/proc/$BASHPID/stat" || exit 0
    [[ $parent == "$main" ]] || exit 0
  done
  kill -TERM "$main"
) &
watchdog=$!

# ---- helpers ----

submit() {
  local out
  out=$(sbatch --parsable "$@") || fail "sbatch $* was refused"
  echo "${out%%;*}"
}

# wait_gone JOBID: polls squeue every 0.5 s until the job (all tasks of an array) has left the queue.
wait_gone() {
  local id=$1 start=$SECONDS out
  while :; do
    out=$(squeue -h -j "$id" -o '%i %T %r' 2>/dev/null) || return 0   # "Invalid job id": long gone
    [[ -z $out ]] && return 0
    ((SECONDS - start < poll_limit)) || { show_job "$id"; fail "job $id still queued after $poll_limit s: $out"; }
    sleep 0.5
  done
}

# field LINE KEY: the value of KEY=VALUE in one line of 'scontrol -o show job'.
field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<< " $1"; }

show_job() {
  local id=$1 log
  echo "---- scontrol show job $id ----" >&2
  scontrol show job "$id" >&2 || true
  for log in "$work"/*"$id"*.out; do
    [[ -f $log ]] || continue
    echo "---- $log ----" >&2
    tail -n 40 "$log" >&2
  done
}

# expect_state JOBID COUNT STATE EXITCODE: every one of the COUNT records (array tasks) ended so.
expect_state() {
  local id=$1 count=$2 state=$3 code=$4 lines line n=0
  lines=$(scontrol -o show job "$id") || fail "scontrol show job $id failed"
  while IFS= read -r line; do
    [[ -n $line ]] || continue
    n=$((n + 1))
    if [[ $(field "$line" JobState) != "$state" || $(field "$line" ExitCode) != "$code" ]]; then
      show_job "$id"
      fail "job $(field "$line" JobId) ended with JobState=$(field "$line" JobState) ExitCode=$(field "$line" ExitCode), expected $state $code"
    fi
  done <<< "$lines"
  [[ $n -eq $count ]] || { show_job "$id"; fail "job $id has $n records, expected $count"; }
}

# attr FILE PATH: the value of one scalar HDF5 attribute, read with h5dump.
attr() { h5dump -a "$2" "$1" 2>/dev/null | sed -n 's/^ *(0): "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' | head -n 1; }

# check_output FILE SEED RANKS: a complete manyworlds HDF5 file of that seed, written by that many MPI ranks.
check_output() {
  local file=$1 seed=$2 ranks=$3
  [[ -f $file ]] || fail "missing output $file"
  [[ ! -e $file.partial ]] || fail "a partial file was left: $file.partial"
  h5dump -A "$file" > "$file.attrs.txt" 2>&1 || fail "h5dump -A cannot read $file (see $file.attrs.txt)"
  [[ $(attr "$file" /format) == manyworlds ]] || fail "$file: /format is '$(attr "$file" /format)', expected 'manyworlds'"
  [[ $(attr "$file" /seed) == "$seed" ]] || fail "$file: /seed is '$(attr "$file" /seed)', expected $seed"
  [[ $(attr "$file" /runtime/ranks) == "$ranks" ]] ||
    fail "$file: /runtime/ranks is '$(attr "$file" /runtime/ranks)', expected $ranks (did srun start one MPI job?)"
}

# same_data A B: every dataset and attribute but /runtime identical (h5diff compares exactly without a tolerance).
same_data() {
  if ! h5diff --exclude-path /runtime "$1" "$2" > "$work/h5diff.txt" 2>&1; then
    head -n 30 "$work/h5diff.txt" >&2
    fail "$2 differs from $1 (h5diff --exclude-path /runtime; see $work/h5diff.txt)"
  fi
}

expect_log() {
  grep -qF -- "$2" "$1" 2>/dev/null || { echo "---- $1 ----" >&2; cat "$1" >&2 || true; fail "$1 does not say: $2"; }
}

# ---- the tests ----

test_scripts() {
  local direct=$work/direct.h5 seed j_run j_seeds j_files j_bad i
  # The reference: the same job run directly, without SLURM.
  "$exe" run "$job" "${small[@]}" -o "$direct" -q > "$work/direct.out" 2>&1 ||
    { cat "$work/direct.out" >&2; fail "the direct run failed"; }
  seed=$(attr "$direct" /seed)
  [[ $seed =~ ^[0-9]+$ ]] || fail "cannot read /seed of $direct"

  # Two job files for the job-file sweep: the quickstart job under other names and seeds.
  for i in a b; do
    sed -e "s|^name = .*|name = \"sweep_$i\"|" -e "s|^seed = .*|seed = $([[ $i == a ]] && echo 11 || echo 22)|" \
      -e "s|^priors = \"\([^\"]*\)\"|priors = \"$source_dir/jobs/\1\"|" "$job" > "$work/sweep_$i.toml"
    if ! grep -q "^name = \"sweep_$i\"" "$work/sweep_$i.toml" || ! grep -q "^priors = \"$source_dir/jobs/" "$work/sweep_$i.toml"; then
      fail "could not derive $work/sweep_$i.toml from $job (its [run] name/seed or [world] priors lines changed?)"
    fi
  done

  # The default executable is $SLURM_SUBMIT_DIR/build/manyworlds: give the submit folder one.
  mkdir -p "$work/build"
  ln -sfn "$exe" "$work/build/manyworlds"
  cd "$work"
  j_run=$(env -u MANYWORLDS_EXE sbatch --parsable --time=5 --partition=debug "$source_dir/slurm/run.sbatch" "$job" "${small[@]}") ||
    fail "sbatch refused slurm/run.sbatch"
  j_run=${j_run%%;*}
  j_seeds=$(MANYWORLDS_EXE=$exe submit "$source_dir/slurm/array.sbatch" "$job" "${small[@]}")
  j_files=$(MANYWORLDS_EXE=$exe submit --array=0-1 --ntasks=1 "$source_dir/slurm/array.sbatch" sweep_a.toml sweep_b.toml "${small[@]}")
  j_bad=$(MANYWORLDS_EXE=$exe submit "$source_dir/slurm/run.sbatch" missing.toml)
  say "submitted: run.sbatch $j_run, array.sbatch seeds $j_seeds (4 tasks), job files $j_files (2 tasks), bad job $j_bad"

  for i in "$j_run" "$j_seeds" "$j_files" "$j_bad"; do wait_gone "$i"; done

  # run.sbatch: completed, 2 ranks, the --time override applied, same data as the direct run.
  expect_state "$j_run" 1 COMPLETED 0:0
  [[ $(field "$(scontrol -o show job "$j_run")" TimeLimit) == 00:05:00 ]] || fail "sbatch --time=5 did not override the script's --time"
  check_output "$work/manyworlds-$j_run.h5" "$seed" 2
  expect_log "$work/manyworlds-$j_run.out" "run.sbatch: done: $work/manyworlds-$j_run.h5"
  same_data "$direct" "$work/manyworlds-$j_run.h5"
  say "run.sbatch: COMPLETED 0:0, valid output, identical data to the direct run"

  # array.sbatch, seed sweep: 4 tasks (the default --array=0-3), seeds base+0 .. base+3; task 0 = the direct run.
  expect_state "$j_seeds" 4 COMPLETED 0:0
  for i in 0 1 2 3; do
    check_output "$work/manyworlds-sweep-${j_seeds}_$i.h5" $((seed + i)) 2
    expect_log "$work/manyworlds-sweep-${j_seeds}_$i.out" "seed sweep: task $i of array job $j_seeds runs $job with seed $((seed + i))"
  done
  same_data "$direct" "$work/manyworlds-sweep-${j_seeds}_0.h5"
  say "array.sbatch seed sweep: 4 tasks COMPLETED 0:0, one output each with seeds $seed..$((seed + 3))"

  # array.sbatch, job-file sweep: task i ran the i-th file (its seed and name), with the --ntasks=1 override.
  expect_state "$j_files" 2 COMPLETED 0:0
  check_output "$work/manyworlds-sweep-${j_files}_0.h5" 11 1
  check_output "$work/manyworlds-sweep-${j_files}_1.h5" 22 1
  [[ $(attr "$work/manyworlds-sweep-${j_files}_1.h5" /job_name) == sweep_b ]] || fail "task 1 of $j_files did not run sweep_b.toml"
  say "array.sbatch job-file sweep: 2 tasks COMPLETED 0:0, task i ran file i, 1 rank each"

  # A missing job file: FAILED with exit code 2 and a message that names it.
  expect_state "$j_bad" 1 FAILED 2:0
  expect_log "$work/manyworlds-$j_bad.out" "run.sbatch: error: job file 'missing.toml' not found"
  say "run.sbatch with a missing job file: FAILED 2:0 with a clear message"

  # TERM to the batch shell (what scancel and the time limit send): run.sbatch turns it into a USR1 for srun, the
  # ranks write a checkpoint and exit 6, and so does the job.
  local j_term start
  j_term=$(MANYWORLDS_EXE=$exe submit "$source_dir/slurm/run.sbatch" "$job" --iterations 40 --worlds 32 -o "$work/term.h5")
  start=$SECONDS
  until [[ -f $work/term.h5.partial ]]; do
    [[ -n $(squeue -h -j "$j_term" -o %i 2>/dev/null) ]] || { show_job "$j_term"; fail "job $j_term ended before writing term.h5.partial"; }
    ((SECONDS - start < poll_limit)) || { show_job "$j_term"; fail "no term.h5.partial after $poll_limit s"; }
    sleep 0.2
  done
  scancel -b -s TERM "$j_term" || fail "scancel -b -s TERM $j_term failed"
  wait_gone "$j_term"
  expect_state "$j_term" 1 FAILED 6:0
  [[ -f $work/term.h5.checkpoint && ! -e $work/term.h5 ]] || fail "job $j_term left no checkpoint (or finished): $(ls "$work" | grep term)"
  expect_log "$work/manyworlds-$j_term.out" "run.sbatch: got SIGTERM: asking manyworlds to write a checkpoint and stop"
  expect_log "$work/manyworlds-$j_term.out" "interrupted: stopped by SIGUSR1 after iteration"
  say "run.sbatch with TERM to its shell: FAILED 6:0 after a checkpoint (TERM mapped to USR1 for srun)"
}

test_preemptible() {
  local reference=$work/reference.h5 args j output line state restarts start
  # 10 iterations of 16 worlds: long enough to be interrupted after its first checkpoint, short enough for CI.
  args=(--iterations 10 --worlds 16 --checkpoint-every 1)
  "$exe" run "$job" "${args[@]}" -o "$reference" -q > "$work/reference.out" 2>&1 ||
    { cat "$work/reference.out" >&2; fail "the uninterrupted reference run failed ('manyworlds run ... --checkpoint-every' and --resume are required)"; }

  cd "$work"
  j=$(MANYWORLDS_EXE=$exe submit "$source_dir/slurm/preemptible.sbatch" "$job" "${args[@]}")
  output=$work/manyworlds-long-$j.h5
  say "submitted preemptible.sbatch $j; waiting for its first checkpoint"

  # Preempt once the run has written a checkpoint: USR1 to the batch shell, as --signal=B:USR1@N would.
  start=$SECONDS
  until [[ -f $output.checkpoint ]]; do
    [[ -n $(squeue -h -j "$j" -o %i 2>/dev/null) ]] || { show_job "$j"; fail "job $j ended before writing $output.checkpoint"; }
    ((SECONDS - start < poll_limit)) || { show_job "$j"; fail "no checkpoint $output.checkpoint after $poll_limit s"; }
    sleep 0.2
  done
  scancel -b -s USR1 "$j" || fail "scancel -b -s USR1 $j failed"
  say "sent USR1 to the batch shell of $j"

  # The script requeues the job; SLURM holds a requeued job ~2 min (BeginTime): start it now.
  start=$SECONDS
  while :; do
    line=$(scontrol -o show job "$j") || fail "scontrol show job $j failed"
    state=$(field "$line" JobState)
    restarts=$(field "$line" Restarts)
    [[ $restarts -ge 1 && $state == PENDING ]] && break
    [[ $state == COMPLETED || $state == FAILED || $state == CANCELLED || $state == TIMEOUT ]] &&
      { show_job "$j"; fail "job $j ended ($state) instead of requeueing itself after USR1"; }
    ((SECONDS - start < poll_limit)) || { show_job "$j"; fail "job $j was not requeued within $poll_limit s (JobState=$state Restarts=$restarts)"; }
    sleep 0.5
  done
  [[ ! -e $output ]] || fail "$output already exists after the interruption: the run was not interrupted mid-way (make it longer)"
  [[ -f $output.checkpoint ]] || fail "the interrupted run left no checkpoint $output.checkpoint"
  # Released too early, the job fails at once: slurmd revokes the credentials of the requeued run (whole seconds)
  # and refuses a new one from the same second ("Job credential revoked"; that is what SLURM's hold is for).
  # So wait until the node is idle (the old run is cleaned up), then for the next second, then release it.
  start=$SECONDS
  until [[ $(sinfo -h -o %T) == idle ]]; do
    ((SECONDS - start < poll_limit)) || fail "the node did not become idle after the requeue: $(sinfo -h -o %T)"
    sleep 0.2
  done
  sleep 1.1
  scontrol update JobId="$j" StartTime=now || fail "scontrol update JobId=$j StartTime=now failed"
  say "job $j requeued (Restarts=$restarts); released it"

  wait_gone "$j"
  expect_state "$j" 1 COMPLETED 0:0
  [[ $(field "$(scontrol -o show job "$j")" Restarts) == 1 ]] || fail "job $j restarted $(field "$(scontrol -o show job "$j")" Restarts) times, expected 1"
  expect_log "$work/manyworlds-long-$j.out" "got SIGUSR1: asking manyworlds to write a checkpoint and stop"
  expect_log "$work/manyworlds-long-$j.out" "interrupted after writing $output.checkpoint: requeueing job $j"
  expect_log "$work/manyworlds-long-$j.out" "resuming from $output.checkpoint"
  expect_log "$work/manyworlds-long-$j.out" "preemptible.sbatch: done: $output"
  check_output "$output" "$(attr "$reference" /seed)" 2
  same_data "$reference" "$output"
  say "preemptible.sbatch: USR1 -> checkpoint, exit 6 -> requeue -> --resume -> COMPLETED 0:0, identical data to an uninterrupted run"
}

t0=$(now)
rc=0
"$here/cluster.sh" up "$cluster_dir" 8 || rc=$?
[[ $rc -eq 0 ]] || { [[ $rc -eq 77 ]] && exit 77; fail "could not bring up the SLURM cluster in $cluster_dir"; }
t_up=$(seconds_since "$t0")
# shellcheck source=/dev/null
source "$cluster_dir/env"
t0=$(now)
"test_$mode"
t_tests=$(seconds_since "$t0")
