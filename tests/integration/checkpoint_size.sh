#!/usr/bin/env bash
# A checkpoint costs O(state), not O(output): the bytes of the checkpoint written after iteration 10 and after
# iteration 100 of the quickstart job are equal within 10% (counted from the run's log), while the output grew.
set -uo pipefail
work=$1
rm -rf "$work" && mkdir -p "$work"
"$MANYWORLDS_EXE" run "$MANYWORLDS_SOURCE_DIR/jobs/quickstart.toml" --worlds 4 --iterations 101 --checkpoint-every 10 \
  -o "$work/long.h5" > "$work/long.stdout" 2> "$work/long.log" || { cat "$work/long.log"; echo "FAIL: the run failed"; exit 1; }
line() { grep "checkpoint written after iteration $1:" "$work/long.log"; }
bytes() { line "$1" | sed -n 's/.*(\([0-9]*\) bytes in .*/\1/p'; }
output() { line "$1" | sed -n 's/.*the output it continues: \([0-9]*\) bytes).*/\1/p'; }
b10=$(bytes 10) b100=$(bytes 100) o10=$(output 10) o100=$(output 100)
[[ -n $b10 && -n $b100 && -n $o10 && -n $o100 ]] || { echo "FAIL: no checkpoint lines after iterations 10 and 100"; grep checkpoint "$work/long.log"; exit 1; }
echo "checkpoint after iteration 10: $b10 bytes (output $o10 bytes); after iteration 100: $b100 bytes (output $o100 bytes)"
(( 10 * (b100 > b10 ? b100 - b10 : b10 - b100) <= b10 )) || { echo "FAIL: checkpoint bytes differ by more than 10%"; exit 1; }
(( o100 >= 5 * o10 )) || { echo "FAIL: the output did not grow as expected ($o10 -> $o100 bytes)"; exit 1; }
[[ -f $work/long.h5 && ! -e $work/long.h5.checkpoint && ! -e $work/long.h5.partial && ! -e $work/long.h5.reserve ]] ||
  { echo "FAIL: files left after completion: $(ls "$work")"; exit 1; }
echo "ok   checkpoint bytes flat ($b10 vs $b100) while the output grew $((o100 / o10))x"
