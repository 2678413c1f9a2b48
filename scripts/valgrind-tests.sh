#!/usr/bin/env bash
# Run the integration tests with every test daemon under Valgrind memcheck:
# any memory error or leak in syncd makes the daemon exit 99, which fails
# the test's clean-teardown check.  A build without sanitizers is used
# (Valgrind and ASan do not mix).  VALGRIND_TESTS is the ctest regex of
# the tests to run (default: integration and conformance).  Extra
# arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
command -v valgrind >/dev/null || { apt-get install -y -qq valgrind; }
# Under Valgrind a test takes 3-6 times as long (test_int_reclaim: 34 s of
# its 60 alone, over 60 beside another): every CTest timeout x5.
scripts/build.sh build -DSYNCD_SANITIZE=OFF -DSYNCD_BUILD_TESTS=ON \
    -DSYNCD_TEST_TIMEOUT_SCALE=5
export SYNCD_TEST_DAEMON_PREFIX="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect"
cd build
ctest --output-on-failure -R "${VALGRIND_TESTS:-test_int_|test_conf_}" \
    -E 'hostile' --timeout 600 "$@"
