#!/usr/bin/env bash
# Checkpoint/resume: SIGKILL at several points or SIGUSR1, resume on another rank count, identical data;
# foreign, truncated and mismatched checkpoints refused without touching anything.
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

# Case 4: refusals. A foreign file, a truncated checkpoint and another seed's checkpoint; nothing changes.
out="$work/refuse.h5"
"$MPIEXEC" -n 2 --oversubscribe "$MANYWORLDS_EXE" run "$job" "${common[@]}" -o "$out" --checkpoint-every 2 > /dev/null 2>&1 &
launcher=$!
wait_for "$out.checkpoint" 120
kill_run "$out" 9
wait "$launcher" 2>/dev/null
cp "$out.checkpoint" "$work/good.checkpoint"
refuse() {  # refuse NAME PATTERN [extra args]: resume must fail with exit 3 and leave the checkpoint as it was
  local name=$1 pattern=$2; shift 2
  local before; before=$(md5sum < "$out.checkpoint")
  "$MANYWORLDS_EXE" run "$job" "${common[@]}" -o "$out" --resume "$@" > /dev/null 2> "$work/$name.stderr"
  local code=$?
  if [[ $code == 3 ]] && grep -Eq "^error: .*$pattern" "$work/$name.stderr" && [[ $(md5sum < "$out.checkpoint") == "$before" ]] \
     && [[ ! -e $out ]]; then
    echo "ok   $name refused: $(head -1 "$work/$name.stderr")"
  else
    fail "$name: exit $code"; cat "$work/$name.stderr"
  fi
}
echo "not an hdf5 file" > "$out.checkpoint"
refuse foreign_checkpoint "refuse.h5.checkpoint: not an HDF5 file"
head -c $(( $(stat -c %s "$work/good.checkpoint") / 2 )) "$work/good.checkpoint" > "$out.checkpoint"
refuse truncated_checkpoint "refuse.h5.checkpoint.*(truncated|open)"
cp "$work/good.checkpoint" "$out.checkpoint"
refuse other_seed "written for another job, priors or seed" --seed 99
cp "$work/reference.h5" "$out.checkpoint"
refuse output_as_checkpoint "not a manyworlds checkpoint"

[[ $failures == 0 ]] || { echo "$failures case(s) failed"; exit 1; }
