#!/usr/bin/env bash
# Checkpoint/resume: SIGKILL at several points or SIGUSR1, resume on another rank count, identical data;
# foreign, truncated, damaged, out-of-range and mismatched checkpoints refused without touching anything.
set -uo pipefail
work=$1
rm -rf "$work" && mkdir -p "$work"
job="$MANYWORLDS_SOURCE_DIR/jobs/quickstart.toml"
common=(--iterations 6 --worlds 48 -q)
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

"$MANYWORLDS_EXE" run "$job" "${common[@]}" -o "$work/reference.h5" > /dev/null || { echo "reference run failed"; exit 1; }

# wait_for FILE SECONDS: polls until FILE exists.
wait_for() {
  local deadline=$((SECONDS + $2))
  while [[ ! -e $1 ]]; do
    (( SECONDS < deadline )) || return 1
    sleep 0.05
  done
}

# kill_run OUTPUT SIGNAL: signals every rank of the run writing OUTPUT (and its mpirun).
kill_run() { pkill "-$2" -f "manyworlds run .*-o $1" || true; }

# Case 1-2: SIGKILL right after the first checkpoint appears, and a while after the second.
for point in first second; do
  out="$work/kill_$point.h5"
  "$MPIEXEC" -n 2 --oversubscribe "$MANYWORLDS_EXE" run "$job" "${common[@]}" -o "$out" --checkpoint-every 2 \
    > /dev/null 2>&1 &
  launcher=$!
  wait_for "$out.checkpoint" 120 || { fail "kill_$point: no checkpoint appeared"; kill_run "$out" 9; continue; }
  if [[ $point == second ]]; then
    first_id=$(stat -c %Y%i "$out.checkpoint")
    deadline=$((SECONDS + 120))
    while [[ $(stat -c %Y%i "$out.checkpoint" 2>/dev/null) == "$first_id" ]] && (( SECONDS < deadline )); do sleep 0.05; done
    sleep 0.3
  fi
  kill_run "$out" 9
  wait "$launcher" 2>/dev/null
  [[ ! -e $out ]] || { fail "kill_$point: final output exists after SIGKILL"; continue; }
  "$MPIEXEC" -n 3 --oversubscribe "$MANYWORLDS_EXE" run "$job" "${common[@]}" -o "$out" --resume > /dev/null \
    || { fail "kill_$point: resume on 3 ranks failed"; continue; }
  h5diff --exclude-path /runtime "$work/reference.h5" "$out" > "$work/diff_$point.txt" \
    && echo "ok   SIGKILL after the $point checkpoint, resumed on 3 ranks: identical" \
    || { fail "kill_$point: resumed output differs"; head -20 "$work/diff_$point.txt"; }
  [[ ! -e $out.checkpoint && ! -e $out.partial ]] || fail "kill_$point: checkpoint or partial left after completion"
done

# Case 3: SIGUSR1 makes every rank stop at the iteration boundary with a checkpoint and exit code 6.
out="$work/usr1.h5"
"$MPIEXEC" -n 2 --oversubscribe "$MANYWORLDS_EXE" run "$job" "${common[@]}" -o "$out" > "$work/usr1.stdout" 2> "$work/usr1.stderr" &
launcher=$!
# Every rank installs its handlers before the collective creation of OUT.partial, so signalling as soon
# as that file exists always lands before the run can finish.
wait_for "$out.partial" 60
kill_run "$out" USR1
wait "$launcher"
code=$?
if [[ $code == 6 && -e $out.checkpoint ]] && grep -q "^interrupted: stopped by SIGUSR1 after iteration" "$work/usr1.stderr"; then
  "$MANYWORLDS_EXE" run "$job" "${common[@]}" -o "$out" --resume > /dev/null \
    && h5diff --exclude-path /runtime "$work/reference.h5" "$out" > /dev/null \
    && echo "ok   SIGUSR1: exit 6, checkpoint, resumed on 1 rank: identical" \
    || fail "usr1: resumed output differs or resume failed"
else
  fail "usr1: exit $code"; cat "$work/usr1.stderr"
fi

# Case 4: refusals. Foreign, truncated, damaged (bytes flipped at 2%, 50%, 97%), out-of-range and
# mismatched checkpoints, and a damaged or missing OUTPUT.partial: exit 3, one line, nothing changes.
out="$work/refuse.h5"
"$MPIEXEC" -n 2 --oversubscribe "$MANYWORLDS_EXE" run "$job" "${common[@]}" -o "$out" --checkpoint-every 2 > /dev/null 2>&1 &
launcher=$!
wait_for "$out.checkpoint" 120
kill_run "$out" 9
wait "$launcher" 2>/dev/null
cp "$out.checkpoint" "$work/good.checkpoint"
cp "$out.partial" "$work/good.partial"
refuse() {  # refuse NAME PATTERN [extra args]: resume must fail with exit 3 and leave checkpoint and partial as they were
  local name=$1 pattern=$2; shift 2
  local before; before=$(cat "$out.checkpoint" "$out.partial" 2>/dev/null | md5sum)
  "$MANYWORLDS_EXE" run "$job" "${common[@]}" -o "$out" --resume "$@" > /dev/null 2> "$work/$name.stderr"
  local code=$?
  if [[ $code == 3 ]] && grep -Eq "^error: .*$pattern" "$work/$name.stderr" && [[ $(grep -c . "$work/$name.stderr") == 1 ]] \
     && [[ $(cat "$out.checkpoint" "$out.partial" 2>/dev/null | md5sum) == "$before" ]] && [[ ! -e $out ]]; then
    echo "ok   $name refused: $(head -1 "$work/$name.stderr")"
  else
    fail "$name: exit $code"; cat "$work/$name.stderr"
  fi
  cp "$work/good.checkpoint" "$out.checkpoint"
  cp "$work/good.partial" "$out.partial"
}
# edit FIELD-ASSIGNMENT: changes the checkpoint with h5py and seals it again with a correct checksum
# (the header format of docs/output-format.md), so that only the range checks can find the change.
edit() {
  /usr/bin/python3 - "$out.checkpoint" "$1" <<'PY'
import sys, h5py, numpy as np
path, change = sys.argv[1], sys.argv[2]
with h5py.File(path, "r+") as f:
    exec(change, {"f": f, "np": np})
data = bytearray(open(path, "rb").read())
start = data.index(b"fnv1a64 ") + 8
data[start:start + 16] = b"0" * 16
h = 14695981039346656037
for b in data:
    h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
data[start:start + 16] = b"%016x" % h
open(path, "wb").write(data)
PY
}
echo "not an hdf5 file" > "$out.checkpoint"
refuse foreign_checkpoint "refuse.h5.checkpoint: not a manyworlds checkpoint"
head -c $(( $(stat -c %s "$work/good.checkpoint") / 2 )) "$work/good.checkpoint" > "$out.checkpoint"
refuse truncated_checkpoint "refuse.h5.checkpoint: damaged \(checksum"
size=$(stat -c %s "$work/good.checkpoint")
for percent in 2 50 97; do
  printf '%64s' '' | tr ' ' '\377' | dd of="$out.checkpoint" bs=1 seek=$((size * percent / 100)) conv=notrunc status=none
  refuse "flipped_at_${percent}_percent" "refuse.h5.checkpoint: damaged \(checksum"
done
edit 'f.attrs["next_iteration"] = -3'
refuse negative_iteration "next_iteration = -3 is outside \[1, 5\]"
edit 'f.attrs["next_iteration"] = 999'
refuse iteration_beyond_job "next_iteration = 999 is outside \[1, 5\]"
edit 'f.attrs["next_iteration"] = 1'
refuse iteration_behind_output "vouches for 2 rows of .* after 1 iterations"
edit 'p = f["learner/policy_parameters"]; v = p[...]; v[7] = np.nan; p[...] = v'
refuse nan_parameters "field 'policy_parameters' holds nan at index 7"
edit 'm = f["learner/adam_second_moment"]; v = m[...]; v[0] = -1; m[...] = v'
refuse negative_second_moment "field 'adam_second_moment' holds -1 at index 0, below the minimum 0"
edit 'del f["learner/adam_step"]'
refuse missing_field "field 'adam_step' is missing"
refuse other_seed "written for another job, priors or seed" --seed 99
cp "$work/reference.h5" "$out.checkpoint"
refuse output_as_checkpoint "not a manyworlds checkpoint"
# The output prefix the checkpoint vouches for: damaged (a row of /metrics changed) or missing.
/usr/bin/python3 -c "import h5py,sys; f=h5py.File(sys.argv[1],'r+'); d=f['metrics/reward']; d[0]=d[0]+1" "$out.partial"
refuse damaged_partial "refuse.h5.partial: the first 2 rows of /metrics/reward differ"
rm "$out.partial"
refuse missing_partial "refuse.h5.partial: missing, but .*refuse.h5.checkpoint continues"
# After all refusals the intact pair still resumes to the uninterrupted bytes.
"$MANYWORLDS_EXE" run "$job" "${common[@]}" -o "$out" --resume > /dev/null 2>&1 \
  && h5diff --exclude-path /runtime "$work/reference.h5" "$out" > /dev/null \
  && echo "ok   the intact checkpoint still resumes to identical data" || fail "resume after the refusals failed or differs"

# --resume without a checkpoint starts anew, says so (even with -q), and ends with the same data.
out="$work/fresh.h5"
if "$MANYWORLDS_EXE" run "$job" "${common[@]}" -o "$out" --resume > /dev/null 2> "$work/fresh.stderr" \
   && grep -q "^note: no checkpoint .*fresh.h5.checkpoint to resume from: starting anew" "$work/fresh.stderr" \
   && h5diff --exclude-path /runtime "$work/reference.h5" "$out" > /dev/null; then
  echo "ok   --resume without a checkpoint: $(cat "$work/fresh.stderr")"
else
  fail "resume without a checkpoint"; cat "$work/fresh.stderr"
fi

[[ $failures == 0 ]] || { echo "$failures case(s) failed"; exit 1; }
