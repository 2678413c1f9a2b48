#!/usr/bin/env bash
# fuzz/run.sh: build the libFuzzer targets with clang into build-fuzz/ and
# run each for a bounded time.  Exits non-zero on any finding (crash, leak,
# timeout, sanitizer report, broken invariant) and when a saved reproducer
# in fuzz/regressions/ still fails.
#
#   fuzz/run.sh                      every target, 60 s each
#   FUZZ_SECONDS=600 fuzz/run.sh fuzz_dispatch
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default 60)
#   FUZZ_BUILD_DIR  build dir (default <repo>/build-fuzz)
#   FUZZ_ARGS       extra libFuzzer flags, e.g. "-fork=4" or "-runs=1000"
#
# Long run (hours, all cores, one target), from the repo root once this
# script has built everything:
#   build-fuzz/fuzz/fuzz_dispatch -fork=$(nproc) -max_total_time=28800 \
#     -timeout=10 -artifact_prefix=build-fuzz/artifacts/fuzz_dispatch- \
#     build-fuzz/corpus/fuzz_dispatch fuzz/corpus/fuzz_dispatch
#
# Findings land in build-fuzz/artifacts/<target>-crash-*, -leak-*,
# -timeout-*; see fuzz/README.md for turning one into a regression test.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
SECS=${FUZZ_SECONDS:-60}
ALL_TARGETS="fuzz_frame fuzz_dispatch fuzz_client_reply fuzz_syncctl_output fuzz_http_answer"
TARGETS=${*:-$ALL_TARGETS}
# The libraries get coverage and sanitizers; fuzz/CMakeLists.txt adds
# -fsanitize=fuzzer (libFuzzer's main) to the fuzz executables only.
# -O1 without -DNDEBUG: the daemon's own assert()s stay armed.
SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

for t in $TARGETS; do
    case " $ALL_TARGETS " in
    *" $t "*) ;;
    *) echo "run.sh: unknown target '$t' (have: $ALL_TARGETS)" >&2; exit 2 ;;
    esac
done

CC=clang cmake -S "$ROOT" -B "$BUILD" -DSYNCD_FUZZ=ON -DSYNCD_BUILD_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DCMAKE_C_FLAGS="$SAN" >/dev/null
# shellcheck disable=SC2086
cmake --build "$BUILD" -j"$(nproc)" --target $TARGETS make_corpus

# Seeds: the committed ones (fuzz/corpus) and a fresh set from the current
# encoders; the working corpus (first dir: where new inputs are saved)
# lives in the build dir.
"$BUILD/fuzz/make_corpus" "$BUILD/seeds"
mkdir -p "$BUILD/artifacts" "$BUILD/logs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
summary=""
for t in $TARGETS; do
    corpus="$BUILD/corpus/$t"
    log="$BUILD/logs/$t.log"
    mkdir -p "$corpus" "$BUILD/seeds/$t"

    # Saved reproducers must pass before anything else.
    for r in "$ROOT"/fuzz/regressions/"$t"-*; do
        [ -e "$r" ] || continue
        rlog="$BUILD/logs/$(basename "$r").log"
        if ! "$BUILD/fuzz/$t" -timeout=10 -runs=1 "$r" >"$rlog" 2>&1; then
            echo "run.sh: $t: regression $(basename "$r") still fails" \
                 "(log: $rlog)" >&2
            status=1
        fi
    done

    extra=()
    case $t in
    fuzz_frame | fuzz_client_reply | fuzz_syncctl_output | fuzz_http_answer) extra=(-use_value_profile=1) ;;
    esac
    echo "run.sh: fuzzing $t for ${SECS}s (log: $log)"
    # shellcheck disable=SC2086
    if "$BUILD/fuzz/$t" -max_total_time="$SECS" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$BUILD/artifacts/$t-" "${extra[@]}" ${FUZZ_ARGS:-} \
        "$corpus" "$ROOT/fuzz/corpus/$t" "$BUILD/seeds/$t" >"$log" 2>&1; then
        result=ok
    else
        result="FAILED (see $log and $BUILD/artifacts/)"
        status=1
        grep -E "ERROR: |runtime error:|invariant violated|SUMMARY:" "$log" |
            head -5 >&2 || true
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    # -fork=N prints no stat:: lines; its progress lines start "#<execs>:".
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
    summary+=$(printf '%-18s %s: %s execs (%s/s), %s' "$t" "$result" \
        "${execs:-?}" "${rate:-?}" "${cov:-?}")$'\n'
done

printf '\n%s' "$summary"
exit $status
