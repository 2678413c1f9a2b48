#!/usr/bin/env bash
# Install what is missing, then build and run the whole test suite twice:
# a normal build and an AddressSanitizer+UBSan build.
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
echo "== all tests passed (normal and ASan/UBSan builds)"
