#!/usr/bin/env bash
# events -> calibrate -> validate through the CLI: a fitted priors file a job can use; refusals keep their exit codes.
set -uo pipefail
work=$1
rm -rf "$work" && mkdir -p "$work"
source_priors="$MANYWORLDS_SOURCE_DIR/jobs/priors/default.toml"
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

printf '[run]\nname = "cal"\nseed = 3\nworlds = 200\n[world]\npriors = "%s"\nhorizon_days = 2\n' "$source_priors" > "$work/job.toml"
"$MANYWORLDS_EXE" events "$work/job.toml" -o "$work/events.csv" > /dev/null || fail "events exit $?"
rows=$(($(wc -l < "$work/events.csv") - 1))
(( rows > 100000 )) || fail "events wrote only $rows rows"
"$MANYWORLDS_EXE" calibrate "$work/events.csv" -o "$work/fitted.toml" --base "$source_priors" > "$work/calibrate.out" \
  || fail "calibrate exit $?"
grep -q '^format = "manyworlds-priors"' "$work/fitted.toml" || fail "fitted priors lack the format line"
printf '[run]\nname = "fitted"\nworlds = 8\n[world]\npriors = "fitted.toml"\n' > "$work/use.toml"
"$MANYWORLDS_EXE" validate "$work/use.toml" --ranks 2 | grep -q "job is valid" || fail "a job on the fitted priors does not validate"
"$MANYWORLDS_EXE" calibrate "$work/events.csv" -o "$work/fitted.toml" --base "$source_priors" 2> "$work/exists.err"
[[ $? == 4 ]] && grep -q "^error: .*fitted.toml exists" "$work/exists.err" || fail "existing output: not refused with 4"
printf 'world,episode\n0,0\n' > "$work/bad.csv"
"$MANYWORLDS_EXE" calibrate "$work/bad.csv" -o "$work/other.toml" --base "$source_priors" 2> "$work/bad.err"
[[ $? == 3 && ! -e "$work/other.toml" ]] && grep -q "^error: .*bad.csv" "$work/bad.err" || fail "bad CSV: not refused with 3"
[[ $failures == 0 ]] && echo "ok   events ($rows rows) -> calibrate -> validate; refusals 4 and 3" || exit 1
