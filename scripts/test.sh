#!/usr/bin/env bash
# Install what is missing, then build and run the whole test suite twice
# (a normal build and an AddressSanitizer+UBSan build), then the short
# forms of the reliability checks: the integration tests with every daemon
# under Valgrind memcheck, and each libFuzzer target for FUZZ_SECONDS
# (default 20) after replaying the saved reproducers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)
for variant in build:OFF build-asan:ON; do
  dir=${variant%%:*}; san=${variant##*:}
  echo "== $dir (SYNCD_SANITIZE=$san)"
  scripts/build.sh "$dir" -DSYNCD_SANITIZE="$san" -DSYNCD_BUILD_TESTS=ON
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 300)
done
echo "== integration tests with the daemon under valgrind memcheck"
VALGRIND_TESTS=test_int_ scripts/valgrind-tests.sh -j"$jobs"
echo "== fuzzing: each target ${FUZZ_SECONDS:-20} s"
FUZZ_SECONDS=${FUZZ_SECONDS:-20} fuzz/run.sh
echo "== all tests passed (normal, ASan/UBSan, valgrind, fuzzing)"
