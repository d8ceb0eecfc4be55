#!/usr/bin/env bash
# The scaling harness end to end on the quickstart job (2 repetitions, 2 iterations, up to 2 ranks, a 65,536-row
# write): it runs, keeps every repetition, and its report prints every section (timings themselves are not judged).
set -euo pipefail
out=$1
rm -rf "$out"
mkdir -p "$out"
KEEP="$out/work" REPEATS=2 WRITE_ROWS=65536 "$MANYWORLDS_SOURCE_DIR/benchmarks/scaling.sh" \
  "$MANYWORLDS_SOURCE_DIR/jobs/quickstart.toml" 2 2 > "$out/report.txt"
cat "$out/report.txt"

fail() { echo "FAIL: $1" >&2; exit 1; }
for file in r1.h5 r1_rep2.h5 r2.h5 r2_rep2.h5 copy_a.h5 copy_b_rep2.h5 write.h5 write_rep2.h5; do
  [[ -f $out/work/$file ]] || fail "the harness kept no $file"
done
expect() { grep -Eq "$1" "$out/report.txt" || fail "the report has no line matching: $1"; }
expect '128 worlds, batch 8192, .* medians over 2 runs'
expect '^simulate +[0-9.]+ +[0-9.]+% +[0-9.]+ +[0-9.]+%'
expect '^measured strong scaling 1 -> 2 ranks: speedup [0-9.]+, efficiency [0-9.]+%'
expect '^machine ceiling: two independent 1-rank copies at once take [0-9.]+ s and [0-9.]+ s per iteration \(medians of 2\)'
expect '^ +64 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+% +[0-9.]+ +[0-9.]+$'
expect '^LPT w/o IO: '
expect '^ +256 more ranks than the job.s 128 worlds'
expect '^ +2 +[0-9]+ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$'
expect '^batch writing \(65536 rows, 2 ranks, batch_deflate (on|off)\): [0-9]+ MB of row data in [0-9.]+ s \(median of 2\)'
expect 'dd oflag=direct [0-9]+ MB/s \(median of [0-9]+ [0-9]+\); ratio [0-9]+%$'
expect '^  dd through the page cache into new pages .*: [0-9]+ MB/s \(median of [0-9]+ [0-9]+\); ratio [0-9]+%$'
expect '^  dd through the page cache into pages just freed .*: [0-9]+ MB/s \(median of [0-9]+ [0-9]+\); ratio [0-9]+%$'
echo "scaling harness: every section reported"
