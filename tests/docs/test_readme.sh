#!/usr/bin/env bash
# test_readme.sh SOURCE_DIR BUILD_DIR
#
# What the README promises a new user, checked against the tree:
#   - its first command block is exactly scripts/demo.sh and scripts/test.sh;
#   - scripts/demo.sh (run into a fresh build directory, SYNCD_DEMO_EXIT=1)
#     builds only what the demo needs, with the tests off, and the demo runs;
#   - every build-tree path in "Where everything is in the build tree"
#     exists in BUILD_DIR (a full build);
#   - the README and docs/ speak of the repository alone: no path of this
#     machine outside it (/work, /root, /home, ../shared);
#   - one rule for the config file, written the same in README, syncd(8)
#     and the example config.
set -euo pipefail
SRC=$(cd "${1:?usage: $0 SOURCE_DIR BUILD_DIR}" && pwd)
BUILD=$(cd "${2:?usage: $0 SOURCE_DIR BUILD_DIR}" && pwd)
TMP=$(mktemp -d /tmp/syncd-readme-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "the first command block"
first=$(awk '/^```sh$/ {inblock=1; next} inblock && /^```$/ {exit} inblock {print $1}' \
        "$SRC/README.md")
[ "$first" = "$(printf 'scripts/demo.sh\nscripts/test.sh')" ] ||
    fail "README's first block is not scripts/demo.sh, scripts/test.sh: $first"

step "scripts/demo.sh builds only what the demo needs"
BUILD_DIR="$TMP/b" SYNCD_DEMO_EXIT=1 SYNCD_SOCKET="$TMP/demo.sock" \
    "$SRC/scripts/demo.sh" > "$TMP/demo.out" 2>&1 ||
    { cat "$TMP/demo.out"; fail "scripts/demo.sh exited $?"; }
grep -q '^demo done\.$' "$TMP/demo.out" || { cat "$TMP/demo.out"; fail "no 'demo done.'"; }
grep -q '^SYNCD_BUILD_TESTS:BOOL=OFF$' "$TMP/b/CMakeCache.txt" || fail "tests not off"
for f in daemon/syncd client/syncd-demo client/syncctl/syncctl; do
    [ -x "$TMP/b/$f" ] || fail "demo build lacks $f"
done
[ ! -e "$TMP/b/tests" ] || fail "demo build configured the tests"
[ ! -e "$TMP/b/bench/syncbench" ] || fail "demo build built the benchmark"
if find "$TMP/b" -name '_syncd*.so' | grep -q .; then
    fail "demo build built the Python package"
fi

step "every build-tree path the README gives exists"
n=0
# A sanitized build has no Python package (CPython is not built with ASan).
no_python=0
grep -q '^SYNCD_SANITIZE:BOOL=ON$' "$BUILD/CMakeCache.txt" && no_python=1
while IFS= read -r path; do
    if [ "$no_python" = 1 ] && [ "${path#build/python/}" != "$path" ]; then
        n=$((n + 1)) # named, just not built here
        continue
    fi
    # shellcheck disable=SC2086 # globs are meant to expand
    set -- $BUILD/${path#build/}
    [ -e "$1" ] || fail "README names $path, not in the build tree"
    n=$((n + 1))
done < <(grep '^| `build/' "$SRC/README.md" | grep -o '`build/[^`]*`' | tr -d '`')
[ "$n" -ge 8 ] || fail "only $n build-tree paths found in the README's table"

step "no path outside the repository"
if grep -nE '/work/|/root/|/home/|\.\./shared' "$SRC/README.md" "$SRC"/docs/*.md \
        "$SRC"/docs/man/* "$SRC/bench/README.md" "$SRC/fuzz/README.md"; then
    fail "the lines above name a path outside the repository"
fi

step "one config-file rule"
for f in README.md docs/man/syncd.8 docs/syncd.conf.example; do
    grep -q 'SYSCONFDIR/syncd/syncd.conf' "$SRC/$f" || fail "$f lacks the rule"
    grep -q '/usr/local/etc/syncd/syncd.conf' "$SRC/$f" || fail "$f lacks the default"
done
echo "== README checks passed"
