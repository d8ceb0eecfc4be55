#!/usr/bin/env bash
# Bad input gets one clear error line naming file and key, the documented exit code, and no output.
set -uo pipefail
work=$1
rm -rf "$work" && mkdir -p "$work"
priors="$MANYWORLDS_SOURCE_DIR/jobs/priors/default.toml"
failures=0

# expect NAME EXIT_CODE MESSAGE_REGEX COMMAND...: runs the command, checks exit code, the single
# stderr line and that no output file (or partial file) appeared.
expect() {
  local name=$1 code=$2 pattern=$3; shift 3
  rm -f "$work/out.h5" "$work/out.h5.partial"
  "$@" > "$work/$name.stdout" 2> "$work/$name.stderr"
  local got=$?
  local lines; lines=$(grep -c . "$work/$name.stderr")
  local problems=""
  [[ $got == "$code" ]] || problems+=" exit $got (want $code);"
  grep -Eq "^error: .*$pattern" "$work/$name.stderr" || problems+=" message does not match /$pattern/;"
  [[ $lines == 1 ]] || problems+=" $lines stderr lines (want 1);"
  [[ ! -e "$work/out.h5" && ! -e "$work/out.h5.partial" ]] || problems+=" output written;"
  if [[ -n $problems ]]; then
    echo "FAIL $name:$problems"; sed 's/^/    /' "$work/$name.stderr"; failures=$((failures + 1))
  else
    echo "ok   $name: $(cat "$work/$name.stderr")"
  fi
}

job() {  # job NAME: writes a job file with the given extra TOML lines (stdin) into $work/NAME.toml
  cat > "$work/$1.toml"
}

run() { "$MANYWORLDS_EXE" run "$@" -o "$work/out.h5" -q; }

printf '[run]\nname = "x"\nworldz = 4\n[world]\npriors = "%s"\n' "$priors" | job unknown_key
expect unknown_key 3 "unknown_key.toml:3: 'run.worldz' is not a valid key; did you mean 'run.worlds'\?" run "$work/unknown_key.toml"

printf '[run]\nworlds = "many"\n[world]\npriors = "%s"\n' "$priors" | job wrong_type
expect wrong_type 3 "wrong_type.toml:2: 'run.worlds' must be an integer, found a string" run "$work/wrong_type.toml"

printf '[run]\nworlds = 4\n[world]\npriors = "%s"\n[sampling]\nalpha = -1\n' "$priors" | job out_of_range
expect out_of_range 3 "out_of_range.toml:6: 'sampling.alpha' = -1 is out of range" run "$work/out_of_range.toml"

printf '[run]\nworlds = 4\n[world]\npriors = "%s"\n[sampling]\nmode = "importance"\n' "$priors" | job bad_mode
expect bad_mode 3 "'sampling.mode' = 'importance' is not one of 'proportional', 'stratified', 'without_replacement'" run "$work/bad_mode.toml"

printf '[run]\nworlds = 4\n[world\npriors = "x"\n' | job syntax
expect syntax 3 "syntax.toml:3: TOML syntax error" run "$work/syntax.toml"

sed 's/^probability = 0.28$/probability = 0.38/' "$priors" > "$work/bad_priors.toml"
printf '[run]\nworlds = 4\n[world]\npriors = "bad_priors.toml"\n' | job bad_sum
expect bad_sum 3 "bad_priors.toml:[0-9]+: 'world_types' values sum to 1.1.*must sum to 1" run "$work/bad_sum.toml"

printf '[run]\nworlds = 4\n[world]\npriors = "missing.toml"\n' | job missing_priors
expect missing_priors 3 "missing.toml: cannot open the file" run "$work/missing_priors.toml"

printf '[run]\nworlds = 4\n[world]\npriors = "%s"\n[sampling.events]\nkeywords = ["sos"]\n' "$priors" | job bad_keyword
expect bad_keyword 3 "'sampling.events.keywords' names 'sos', which is not a tag" run "$work/bad_keyword.toml"

printf '[run]\nworlds = 4\n[world]\npriors = "%s"\n[sampling]\nbatch_size = 64\n[ppo]\nminibatch_size = 128\n' "$priors" | job minibatch
expect minibatch 3 "'ppo.minibatch_size' \(128\) is larger than 'sampling.batch_size' \(64\)" run "$work/minibatch.toml"

expect bad_option 2 "--worlds: must be a positive whole number, got '-3' \(see manyworlds run --help\)" "$MANYWORLDS_EXE" run "$MANYWORLDS_SOURCE_DIR/jobs/quickstart.toml" --worlds -3
expect missing_job 2 "job is required \(see manyworlds auctiongym --help\)" "$MANYWORLDS_EXE" auctiongym -o "$work/out.h5"
expect unknown_command 2 "'fit' is not a command of manyworlds; the commands are run, validate, evaluate, auctiongym, calibrate, events" \
  "$MANYWORLDS_EXE" fit "$MANYWORLDS_SOURCE_DIR/jobs/quickstart.toml" -o "$work/out.h5"
expect unknown_command_help 2 "'fit' is not a command of manyworlds" "$MANYWORLDS_EXE" fit --help

# More ranks than worlds: every rank agrees, exit 5, rank 0 prints one line (mpirun's notice follows it).
printf '[run]\nworlds = 2\n[world]\npriors = "%s"\n' "$priors" | job few_worlds
rm -f "$work/out.h5"
"$MPIEXEC" -n 3 --oversubscribe "$MANYWORLDS_EXE" run "$work/few_worlds.toml" -o "$work/out.h5" -q \
  > "$work/few_worlds.stdout" 2> "$work/few_worlds.stderr"
code=$?
if [[ $code == 5 ]] && grep -q "^error: 3 ranks but only 2 worlds" "$work/few_worlds.stderr" \
   && [[ $(grep -c "^error:" "$work/few_worlds.stderr") == 1 ]] && [[ ! -e "$work/out.h5" ]]; then
  echo "ok   few_worlds: $(grep '^error:' "$work/few_worlds.stderr")"
else
  echo "FAIL few_worlds: exit $code"; cat "$work/few_worlds.stderr"; failures=$((failures + 1))
fi

# An existing output is refused without --force and left untouched.
printf 'precious' > "$work/out.h5"
"$MANYWORLDS_EXE" run "$MANYWORLDS_SOURCE_DIR/jobs/quickstart.toml" -o "$work/out.h5" -q 2> "$work/exists.stderr"
code=$?
if [[ $code == 4 ]] && grep -q "^error: output .*out.h5 exists; pass --force" "$work/exists.stderr" \
   && [[ $(cat "$work/out.h5") == precious ]] && [[ ! -e "$work/out.h5.partial" ]]; then
  echo "ok   output_exists: $(cat "$work/exists.stderr")"
else
  echo "FAIL output_exists: exit $code"; cat "$work/exists.stderr"; failures=$((failures + 1))
fi

[[ $failures == 0 ]] || { echo "$failures case(s) failed"; exit 1; }
