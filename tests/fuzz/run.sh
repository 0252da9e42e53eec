#!/usr/bin/env bash
# run.sh -- builds the libFuzzer targets (clang, -DEDUMON_FUZZ=ON) and runs each for a bounded
# time, starting from the seed corpus in tests/fuzz/corpus/<target>/.
#
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_BUILD     build directory (default <source>/build-fuzz)
#   FUZZ_TARGETS   space-separated subset (default: all)
#   FUZZ_JOBS      targets run at the same time (default 1)
#   FUZZ_KEEP_GOING=1  do not stop at the first crash: libFuzzer's fork mode keeps fuzzing for
#                  the whole time and every distinct crash is saved (slower per execution)
#
# The seed corpus is never modified: each run fuzzes a working copy in
# $FUZZ_BUILD/fuzz-corpus/<target>/ (kept between runs, so coverage accumulates), and crash
# reproducers land in $FUZZ_BUILD/fuzz-artifacts/<target>/. Prints the total executions per
# target and exits non-zero if any target crashed (the reproducer path is printed; replay it
# with `$FUZZ_BUILD/bin/<target> <file>`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_dir="$(cd "$here/../.." && pwd)"
build="${FUZZ_BUILD:-$source_dir/build-fuzz}"
seconds="${FUZZ_SECONDS:-60}"
jobs="${FUZZ_JOBS:-1}"
all_targets="fuzz_submission fuzz_catalog fuzz_period fuzz_text fuzz_config fuzz_token fuzz_school
fuzz_json_depth fuzz_csv fuzz_import"
targets="${FUZZ_TARGETS:-$all_targets}"

if ! command -v clang >/dev/null; then
    echo "run.sh: clang is needed (apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi

CC=clang cmake -S "$source_dir" -B "$build" -DEDUMON_FUZZ=ON -DEDUMON_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target $targets >/dev/null

run_one() {
    local target="$1"
    local work="$build/fuzz-corpus/$target" artifacts="$build/fuzz-artifacts/$target/"
    local log="$build/fuzz-logs/$target.log"
    mkdir -p "$work" "$artifacts" "$(dirname "$log")"
    local status=0 runs
    if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
        "$build/bin/$target" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
            -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$artifacts" "$work" "$here/corpus/$target" >"$log" 2>&1 || status=$?
        runs="$(sed -n 's/^#\([0-9]*\): .*/\1/p' "$log" | tail -1 || true)"
        local found
        found="$(find "$artifacts" -type f | wc -l)"
        if [ "$found" -gt 0 ]; then
            printf '%-18s %12s executions in %ss, %s crash reproducer(s) in %s\n' "$target" \
                "${runs:-?}" "$seconds" "$found" "$artifacts"
            local file
            for file in $(find "$artifacts" -type f | head -5); do
                printf '                   %s: %s\n' "$(basename "$file")" "$("$build/bin/$target" "$file" 2>&1 |
                    grep -a -m1 -E "invariant failed|ERROR: AddressSanitizer|runtime error" || true)"
            done
            return 1
        fi
    else
        "$build/bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$artifacts" "$work" "$here/corpus/$target" \
            >"$log" 2>&1 || status=$?
        runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)"
    fi
    if [ "$status" -ne 0 ]; then
        local crash
        crash="$(grep -o "Test unit written to .*" "$log" | tail -1 | sed 's/Test unit written to //' || true)"
        printf '%-18s CRASH after %s executions: %s\n' "$target" "${runs:-?}" "${crash:-see $log}"
        [ -n "$crash" ] || tail -3 "$log" | sed 's/^/                   /'
        grep -m1 -E "ERROR: |invariant failed|runtime error" "$log" | sed 's/^/                   /' || true
        return 1
    fi
    printf '%-18s %12s executions in %ss (corpus %s files)\n' "$target" "${runs:-?}" "$seconds" \
        "$(find "$work" -type f | wc -l)"
}

failed=0
running=0
pids=()
names=()
for target in $targets; do
    run_one "$target" 2>/dev/null & # (bash's own "Aborted" notices)
    pids+=($!)
    names+=("$target")
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait "${pids[0]}" || failed=1
        pids=("${pids[@]:1}")
        names=("${names[@]:1}")
        running=$((running - 1))
    fi
done
for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
done
exit "$failed"
