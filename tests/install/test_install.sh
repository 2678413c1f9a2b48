#!/usr/bin/env bash
# test_install.sh BUILD_DIR
#
# Installs the build into a temporary prefix and uses only what was
# installed, as a user of the package would:
#   - the file list, the SONAME and its symlinks, the exported symbols, a
#     self-contained libsyncclient.a, syncclient.h compiling on its own;
#   - pkg-config: a small outside program (two processes contending for one
#     Lock) built with `cc prog.c $(pkg-config --cflags --libs syncclient)`,
#     and again statically with `pkg-config --static --libs`;
#   - CMake: the same program built by a tiny project with
#     find_package(syncclient) (syncclient::syncclient and
#     syncclient::syncclient_static), plus the version check;
#   - the installed syncd (with the installed syncd.conf, as the unit runs
#     it) serves those programs and stops with status 0 on SIGTERM; the
#     example config with every key uncommented is accepted;
#   - the man pages render without warnings, name every sync_* function,
#     and `man sync_lock_acquire` finds libsyncclient(3);
#   - systemd-analyze verify accepts the installed units, whose ExecStart
#     names the installed syncd and config;
#   - reinstalling keeps an edited etc/syncd/syncd.conf; a DESTDIR install
#     with --prefix /usr puts the config in /etc and nothing outside DESTDIR.
# Environment: SYNCD_EXPECT_SYNCCTL=1 when the syncctl target exists (then
# bin/syncctl must be installed); KEEP_TMP=1 keeps the temporary directory.
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
EXPECT_SYNCCTL=${SYNCD_EXPECT_SYNCCTL:-}

TMP=$(mktemp -d /tmp/syncd-install-XXXXXX)
PREFIX=$TMP/prefix
SOCK=$TMP/s.sock
DAEMON_PID=

cleanup() {
    local rc=$?
    if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill -KILL "$DAEMON_PID" 2>/dev/null || true
    fi
    if [ $rc -ne 0 ]; then
        for f in "$TMP"/*.log; do
            [ -f "$f" ] && { echo "---- $f"; cat "$f"; }
        done
    fi
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

# Wait up to $2 tenths of a second for the command in $1 to succeed.
wait_for() {
    local i
    for ((i = 0; i < $2; i++)); do
        if eval "$1"; then return 0; fi
        sleep 0.1
    done
    return 1
}

VERSION=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")
[ -n "$VERSION" ] || fail "no CMAKE_PROJECT_VERSION in $BUILD/CMakeCache.txt"
SOVERSION=${VERSION%%.*}
# Install directories as configured (GNUInstallDirs; Debian's multiarch
# libdir when configured for /usr).
cache_var() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"; }
LIBDIR=$(cache_var CMAKE_INSTALL_LIBDIR)
LIBDIR=${LIBDIR:-lib}
UNITDIR_REL=$(cache_var SYNCD_SYSTEMD_UNITDIR)
UNITDIR_REL=${UNITDIR_REL:-lib/systemd/system}
if grep -q '^SYNCD_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt"; then
    SANITIZED=1
else
    SANITIZED=0
fi
# The installed programs must not pick anything from the build tree or from
# the environment.
unset SYNCD_SOCKET LD_LIBRARY_PATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH || true
export PKG_CONFIG_PATH=$PREFIX/$LIBDIR/pkgconfig

# ---------------------------------------------------------------------------
step "cmake --install $BUILD --prefix $PREFIX"
cmake --install "$BUILD" --prefix "$PREFIX" > "$TMP/install.log" 2>&1 \
    || fail "cmake --install failed"
MANIFEST=$BUILD/install_manifest.txt
outside=$(grep -v "^$PREFIX/" "$MANIFEST" || true)
[ -z "$outside" ] || fail "installed outside the prefix: $outside"
dups=$(sort "$MANIFEST" | uniq -d)
if [ -n "$dups" ]; then
    echo "   NOTE: installed by more than one install() rule (harmless, but"
    echo "         the rules outside install.cmake should go):"
    echo "$dups" | sed "s|^$PREFIX/|         |"
fi

step "installed files"
for f in sbin/syncd \
         "$LIBDIR/libsyncclient.so.$VERSION" "$LIBDIR/libsyncclient.so.$SOVERSION" \
         "$LIBDIR/libsyncclient.so" "$LIBDIR/libsyncclient.a" include/syncclient.h \
         "$LIBDIR/pkgconfig/syncclient.pc" \
         "$LIBDIR/cmake/syncclient/syncclientConfig.cmake" \
         "$LIBDIR/cmake/syncclient/syncclientConfigVersion.cmake" \
         "$UNITDIR_REL/syncd.service" "$UNITDIR_REL/syncd.socket" \
         etc/syncd/syncd.conf \
         share/doc/syncd/README.md share/doc/syncd/LICENSE \
         share/doc/syncd/protocol.md \
         share/doc/syncd/syncd.conf.example \
         share/man/man8/syncd.8 share/man/man1/syncctl.1 \
         share/man/man3/libsyncclient.3 share/man/man3/sync_lock_acquire.3; do
    [ -e "$PREFIX/$f" ] || fail "not installed: $f"
done
[ -x "$PREFIX/sbin/syncd" ] || fail "sbin/syncd is not executable"
if [ "$EXPECT_SYNCCTL" = 1 ]; then
    [ -x "$PREFIX/bin/syncctl" ] || fail "syncctl is built but bin/syncctl is not installed"
    "$PREFIX/bin/syncctl" --help > "$TMP/syncctl-help.txt" 2>&1 \
        || fail "installed syncctl --help failed"
else
    echo "   (no syncctl target: bin/syncctl not checked)"
fi
cmp -s "$SRC/docs/syncd.conf.example" "$PREFIX/etc/syncd/syncd.conf" \
    || fail "etc/syncd/syncd.conf is not the example config"

step "shared library: SONAME, symlinks, exported symbols"
soname=$(readelf -d "$PREFIX/$LIBDIR/libsyncclient.so.$VERSION" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libsyncclient.so.$SOVERSION" ] || fail "SONAME is '$soname'"
[ "$(readlink "$PREFIX/$LIBDIR/libsyncclient.so")" = "libsyncclient.so.$SOVERSION" ] \
    || fail "libsyncclient.so does not point at the SONAME"
[ "$(readlink "$PREFIX/$LIBDIR/libsyncclient.so.$SOVERSION")" = "libsyncclient.so.$VERSION" ] \
    || fail "libsyncclient.so.$SOVERSION does not point at the real file"
# Every public function, from the installed header.
API=$(sed -n 's/^SYNC_API .*[ *]\(sync_[a-z0-9_]*\)(.*/\1/p' "$PREFIX/include/syncclient.h" | sort -u)
[ "$(echo "$API" | wc -l)" -ge 40 ] || fail "could not read the API from syncclient.h"
exported=$(nm -D --defined-only "$PREFIX/$LIBDIR/libsyncclient.so.$VERSION" | awk '$2 == "T" {print $3}' | sort -u)
missing=$(comm -23 <(echo "$API") <(echo "$exported"))
[ -z "$missing" ] || fail "not exported by libsyncclient.so: $missing"
extra=$(comm -13 <(echo "$API") <(echo "$exported") | grep -v '^_init$\|^_fini$' || true)
[ -z "$extra" ] || fail "libsyncclient.so exports non-API symbols: $extra"
echo "   $(echo "$API" | wc -l) functions exported, nothing else"

step "static library: self-contained"
defined=$(nm --defined-only "$PREFIX/$LIBDIR/libsyncclient.a" 2>/dev/null | awk '$2 == "T" {print $3}' | sort -u)
missing=$(comm -23 <(echo "$API") <(echo "$defined"))
[ -z "$missing" ] || fail "not defined in libsyncclient.a: $missing"
# What the archive needs from elsewhere must come from libc, libpthread,
# libm, libprotobuf-c (or the sanitizer runtimes): the static link below
# proves it.

step "syncclient.h compiles on its own"
printf '#include <syncclient.h>\nint main(void) { return sync_strerror(0) == 0; }\n' > "$TMP/hdr.c"
cc -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$PREFIX/include" "$TMP/hdr.c" \
    || fail "syncclient.h does not compile as C99"
if command -v c++ > /dev/null 2>&1; then
    c++ -x c++ -Wall -Wextra -Werror -fsyntax-only -I"$PREFIX/include" "$TMP/hdr.c" \
        || fail "syncclient.h does not compile as C++"
fi

step "pkg-config"
pkg-config --validate syncclient || fail "pkg-config --validate syncclient"
[ "$(pkg-config --modversion syncclient)" = "$VERSION" ] || fail "pkg-config --modversion"
# The licence, as LICENSE and the README state it.
[ "$(pkg-config --variable=license syncclient)" = MIT ] || fail "pkg-config license"
grep -qx 'License: MIT' "$PREFIX/$LIBDIR/pkgconfig/syncclient.pc" || fail ".pc License field"
head -1 "$PREFIX/share/doc/syncd/LICENSE" | grep -qx 'MIT License' || fail "installed LICENSE"
CFLAGS_PC=$(pkg-config --cflags syncclient)
LIBS_PC=$(pkg-config --libs syncclient)
LIBS_STATIC=$(pkg-config --static --libs syncclient)
echo "   --cflags: $CFLAGS_PC"
echo "   --libs:   $LIBS_PC"
echo "   --static --libs: $LIBS_STATIC"
[[ " $CFLAGS_PC " == *" -I$PREFIX/include "* ]] || fail "--cflags lacks -I$PREFIX/include"
[[ " $LIBS_PC " == *" -L$PREFIX/$LIBDIR "* && " $LIBS_PC " == *" -lsyncclient "* ]] \
    || fail "--libs lacks -L$PREFIX/$LIBDIR -lsyncclient"
for l in -lprotobuf-c -lpthread -lm; do
    [[ " $LIBS_STATIC " == *" $l "* ]] || fail "--static --libs lacks $l"
done
# An instrumented (SYNCD_SANITIZE=ON) library needs the sanitizer runtimes
# in every program linking it, and only then.
if [ $SANITIZED = 1 ]; then
    [[ " $LIBS_PC " == *" -fsanitize=address,undefined "* ]] \
        || fail "sanitized build: --libs lacks -fsanitize=address,undefined"
elif [[ "$LIBS_PC $LIBS_STATIC $CFLAGS_PC" == *-fsanitize* ]]; then
    fail "plain build: pkg-config flags name a sanitizer"
fi

# ---------------------------------------------------------------------------
# The outside program: the parent holds a lock; a child process (its own
# connection) fails a try-acquire, then blocks until the parent releases.
cat > "$TMP/prog.c" <<'EOF'
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <syncclient.h>

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "install/lock";
    sync_client *c;
    sync_lock *l;
    int p[2], st = -1, rv;
    char b;

    if (pipe(p) != 0 || sync_connect(NULL, &c) != 0 || sync_lock_open(c, name, &l) != 0)
        return 10;
    if ((rv = sync_lock_acquire(l, true, 5.0)) != 0)
        return 11;
    printf("parent: acquired token %llu\n", (unsigned long long)sync_lock_token(l));
    fflush(stdout);
    if (fork() == 0) {              /* the inherited client is detached */
        sync_lock_close(l);
        sync_disconnect(c);
        if (sync_connect(NULL, &c) != 0 || sync_lock_open(c, name, &l) != 0)
            return 20;
        printf("child: try-acquire: %s\n", sync_errname(sync_lock_acquire(l, false, -1)));
        fflush(stdout);
        if (write(p[1], "x", 1) != 1 || (rv = sync_lock_acquire(l, true, 10.0)) != 0)
            return 21;
        printf("child: acquired token %llu, owner died %d\n",
               (unsigned long long)sync_lock_token(l), sync_lock_owner_died(l));
        rv = sync_lock_release(l);
        sync_lock_close(l);
        sync_disconnect(c);
        return rv == 0 ? 0 : 22;
    }
    if (read(p[0], &b, 1) != 1)
        return 12;
    nanosleep(&(struct timespec){0, 100000000}, NULL); /* the child now waits */
    printf("parent: releasing\n");
    fflush(stdout);
    rv = sync_lock_release(l);
    wait(&st);
    printf("parent: release: %s; child exited %d\n", sync_strerror(rv),
           WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    sync_lock_close(l);
    sync_disconnect(c);
    return st == 0 && rv == 0 ? 0 : 1;
}
EOF
EXPECTED="parent: acquired token 1
child: try-acquire: SYNC_ETIMEDOUT
parent: releasing
child: acquired token 2, owner died 0
parent: release: success; child exited 0"

# run_prog LABEL BINARY LOCKNAME: run it against the daemon, check output.
run_prog() {
    local out rc=0
    out=$(SYNCD_SOCKET=$SOCK "${@:4}" "$2" "$3" 2> "$TMP/$1.log") || rc=$?
    printf '%s\n' "$out" | sed "s/^/   $1: /"
    [ $rc -eq 0 ] || fail "$1 exited with status $rc"
    [ "$out" = "$EXPECTED" ] || fail "$1: unexpected output"
}

step "build prog.c with pkg-config --cflags --libs"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$TMP/prog.c" -o "$TMP/prog" \
    $(pkg-config --cflags --libs syncclient) || fail "cc with pkg-config flags"
# Not on the default search path: ldd finds it only with LD_LIBRARY_PATH.
deps=$(LD_LIBRARY_PATH=$PREFIX/$LIBDIR ldd "$TMP/prog")
grep -q "libsyncclient.so.$SOVERSION => $PREFIX/$LIBDIR/libsyncclient.so.$SOVERSION" <<< "$deps" \
    || fail "prog does not use the installed libsyncclient: $deps"

step "build prog.c statically with pkg-config --static --libs"
# The same flags, with the archive forced instead of the .so.
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$TMP/prog.c" -o "$TMP/prog_static" \
    $(pkg-config --cflags syncclient) ${LIBS_STATIC//-lsyncclient /-l:libsyncclient.a } \
    || fail "static link with pkg-config --static --libs"
if grep -q 'NEEDED.*libsyncclient' <<< "$(readelf -d "$TMP/prog_static")"; then
    fail "prog_static needs libsyncclient.so"
fi

step "find_package(syncclient) in a CMake project"
mkdir -p "$TMP/consumer"
cp "$TMP/prog.c" "$TMP/consumer/prog.c"
cat > "$TMP/consumer/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(consumer C)
set(CMAKE_C_STANDARD 11)
find_package(syncclient 99 QUIET)
if(syncclient_FOUND)
  message(FATAL_ERROR "find_package(syncclient 99) accepted \${syncclient_VERSION}")
endif()
find_package(syncclient $VERSION REQUIRED COMPONENTS shared static)
if(NOT syncclient_VERSION STREQUAL "$VERSION")
  message(FATAL_ERROR "syncclient_VERSION is '\${syncclient_VERSION}'")
endif()
message(STATUS "syncclient \${syncclient_VERSION} in \${syncclient_DIR}")
add_executable(prog_cmake prog.c)
target_compile_options(prog_cmake PRIVATE -Wall -Wextra -Werror)
target_link_libraries(prog_cmake PRIVATE syncclient::syncclient)
add_executable(prog_cmake_static prog.c)
target_compile_options(prog_cmake_static PRIVATE -Wall -Wextra -Werror)
target_link_libraries(prog_cmake_static PRIVATE syncclient::syncclient_static)
EOF
cmake -S "$TMP/consumer" -B "$TMP/consumer/build" -DCMAKE_PREFIX_PATH="$PREFIX" \
    > "$TMP/consumer-cmake.log" 2>&1 || fail "consumer: cmake failed"
grep "syncclient $VERSION in $PREFIX/$LIBDIR/cmake/syncclient" "$TMP/consumer-cmake.log" \
    | sed 's/^/   /' || fail "consumer found another syncclient"
cmake --build "$TMP/consumer/build" > "$TMP/consumer-build.log" 2>&1 \
    || fail "consumer: build failed"
if grep -q 'NEEDED.*libsyncclient' <<< "$(readelf -d "$TMP/consumer/build/prog_cmake_static")"; then
    fail "prog_cmake_static needs libsyncclient.so"
fi

# ---------------------------------------------------------------------------
step "start the installed syncd with the installed config"
"$PREFIX/sbin/syncd" --config "$PREFIX/etc/syncd/syncd.conf" --socket "$SOCK" \
    > "$TMP/syncd.log" 2>&1 &
DAEMON_PID=$!
wait_for 'grep -q "listening on $SOCK" "$TMP/syncd.log"' 100 \
    || fail "the installed syncd did not start"
[[ "$("$PREFIX/sbin/syncd" --version)" == "syncd $VERSION "* ]] || fail "syncd --version"

step "run the programs"
run_prog prog "$TMP/prog" install/pkg-config env LD_LIBRARY_PATH="$PREFIX/$LIBDIR"
run_prog prog_static "$TMP/prog_static" install/pkg-config-static env
# CMake's build-tree RPATH finds the installed library by itself.
run_prog prog_cmake "$TMP/consumer/build/prog_cmake" install/cmake env
run_prog prog_cmake_static "$TMP/consumer/build/prog_cmake_static" install/cmake-static env
if [ "$EXPECT_SYNCCTL" = 1 ]; then
    "$PREFIX/bin/syncctl" --socket "$SOCK" ls > "$TMP/syncctl-ls.log" 2>&1 \
        || fail "installed syncctl ls failed"
    grep -q "install/pkg-config-static" "$TMP/syncctl-ls.log" \
        || fail "installed syncctl ls does not list install/pkg-config-static"
    echo "   installed syncctl lists the programs' locks"
fi

step "stop the installed syncd"
kill -TERM "$DAEMON_PID"
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=
[ $rc -eq 0 ] || fail "syncd exited with status $rc after SIGTERM"
[ ! -e "$SOCK" ] || fail "syncd left $SOCK behind"
grep -q "syncd\[info\]: stopped" "$TMP/syncd.log" || fail "no 'stopped' in the log"

step "the example config with every key set"
# Every documented key, uncommented (socket-user/-group need accounts that
# may not exist here: root's).
sed -e 's/^# \([a-z-]* = \)/\1/' \
    -e 's/^socket-user = .*/socket-user = 0/' -e 's/^socket-group = .*/socket-group = 0/' \
    "$PREFIX/share/doc/syncd/syncd.conf.example" > "$TMP/all-keys.conf"
[ "$(grep -c '^[a-z-]* = ' "$TMP/all-keys.conf")" -ge 12 ] \
    || fail "the example config documents fewer than 12 keys"
if [ "$(id -u)" = 0 ]; then
    "$PREFIX/sbin/syncd" --config "$TMP/all-keys.conf" --socket "$TMP/all.sock" \
        > "$TMP/syncd-all-keys.log" 2>&1 &
    DAEMON_PID=$!
    wait_for 'grep -q "listening on $TMP/all.sock" "$TMP/syncd-all-keys.log"' 100 \
        || fail "syncd rejected the example config with every key set"
    kill -TERM "$DAEMON_PID"
    rc=0
    wait "$DAEMON_PID" || rc=$?
    DAEMON_PID=
    [ $rc -eq 0 ] || fail "syncd (all keys) exited with status $rc"
else
    echo "   (not root: socket-user/socket-group cannot be tried)"
fi
for f in "$TMP"/syncd*.log "$TMP"/prog*.log; do
    if grep -Eq "ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:" "$f"; then
        fail "sanitizer report in $f"
    fi
done

# ---------------------------------------------------------------------------
step "man pages"
export MANPATH=$PREFIX/share/man
for page in man8/syncd.8 man1/syncctl.1 man3/libsyncclient.3; do
    warnings=$(MANWIDTH=80 man --warnings -l "$PREFIX/share/man/$page" 2>&1 > "$TMP/page.txt")
    [ -z "$warnings" ] || fail "$page: $warnings"
    [ "$(wc -l < "$TMP/page.txt")" -gt 50 ] || fail "$page renders to almost nothing"
    lexgrog "$PREFIX/share/man/$page" > /dev/null || fail "$page: no parsable NAME section"
done
for name in syncd.8 syncctl.1 libsyncclient.3 sync_lock_acquire.3 sync_barrier_wait.3; do
    man -w "${name%.*}" > /dev/null 2>&1 || fail "man ${name%.*} not found under MANPATH"
done
MANWIDTH=80 man 3 sync_cond_wait_for > "$TMP/stub.txt" 2>/dev/null || true
grep -q "LIBSYNCCLIENT(3)" "$TMP/stub.txt" \
    || fail "man sync_cond_wait_for does not show libsyncclient(3)"
MANWIDTH=200 man -l "$PREFIX/share/man/man3/libsyncclient.3" 2>/dev/null > "$TMP/lib3.txt"
for fn in $API; do
    grep -q "$fn()" "$TMP/lib3.txt" || fail "libsyncclient(3) does not describe $fn()"
    [ -e "$PREFIX/share/man/man3/$fn.3" ] || fail "no man3/$fn.3"
done
for code in $(sed -n 's/^ *XX(\([A-Z]*\), *\([0-9]*\),.*/\1:\2/p' "$PREFIX/include/syncclient.h"); do
    grep -q "SYNC_${code%:*} (-${code#*:})" "$TMP/lib3.txt" \
        || fail "libsyncclient(3) lacks error SYNC_${code%:*} (-${code#*:})"
done
echo "   every sync_* function and error code is in libsyncclient(3)"

step "systemd units"
UNITDIR=$PREFIX/$UNITDIR_REL
grep -q "^ExecStart=$PREFIX/sbin/syncd --config $PREFIX/etc/syncd/syncd.conf --state-dir /var/lib/syncd\$" "$UNITDIR/syncd.service" \
    || fail "syncd.service ExecStart: $(grep ExecStart= "$UNITDIR/syncd.service")"
cmp -s "$SRC/systemd/syncd.socket" "$UNITDIR/syncd.socket" || fail "syncd.socket differs from the source"
if command -v systemd-analyze > /dev/null 2>&1; then
    rc=0
    systemd-analyze verify "$UNITDIR/syncd.socket" "$UNITDIR/syncd.service" \
        > "$TMP/verify.log" 2>&1 || rc=$?
    sed 's/^/   /' "$TMP/verify.log"
    [ $rc -eq 0 ] || fail "systemd-analyze verify exited $rc"
    # verify also warns without failing; the units must be clean.
    if grep -q '[^[:space:]]' "$TMP/verify.log"; then
        fail "systemd-analyze verify complained"
    fi
    echo "   systemd-analyze verify: clean"
else
    echo "   (systemd-analyze not found: units not verified)"
fi

# ---------------------------------------------------------------------------
step "reinstall keeps an edited syncd.conf"
echo "# edited by the administrator" >> "$PREFIX/etc/syncd/syncd.conf"
cmake --install "$BUILD" --prefix "$PREFIX" > "$TMP/install2.log" 2>&1 || fail "second install"
grep -q "edited by the administrator" "$PREFIX/etc/syncd/syncd.conf" \
    || fail "reinstalling overwrote etc/syncd/syncd.conf"
grep -q "Keeping: $PREFIX/etc/syncd/syncd.conf" "$TMP/install2.log" \
    || fail "the second install does not say it kept syncd.conf"

step "DESTDIR install with --prefix /usr"
DEST=$TMP/dest
had_etc_conf=0
[ -e /etc/syncd/syncd.conf ] && had_etc_conf=1
DESTDIR=$DEST cmake --install "$BUILD" --prefix /usr > "$TMP/install3.log" 2>&1 \
    || fail "DESTDIR install"
# The manifest names the final paths (without DESTDIR): each must be there.
while read -r f; do
    [ -e "$DEST$f" ] || [ -L "$DEST$f" ] || fail "DESTDIR install: $DEST$f missing"
done < "$MANIFEST"
if [ $had_etc_conf = 0 ] && [ -e /etc/syncd/syncd.conf ]; then
    fail "the DESTDIR install created the real /etc/syncd/syncd.conf"
fi
[ -f "$DEST/etc/syncd/syncd.conf" ] || fail "--prefix /usr: no $DEST/etc/syncd/syncd.conf"
grep -q '^prefix=/usr$' "$DEST/usr/$LIBDIR/pkgconfig/syncclient.pc" || fail "DESTDIR leaked into the .pc"
grep -q '^ExecStart=/usr/sbin/syncd --config /etc/syncd/syncd.conf --state-dir /var/lib/syncd$' \
    "$DEST/usr/$UNITDIR_REL/syncd.service" || fail "--prefix /usr: wrong ExecStart"
[ -x "$DEST/usr/sbin/syncd" ] || fail "DESTDIR: no usr/sbin/syncd"

echo "PASS: install"
