#!/usr/bin/env bash
# The project's test command: bash scripts/test.sh
#
# Installs what is missing, builds the Debug configuration (CMakeLists.txt
# adds ASan and UBSan to it) in build-test/, then runs every test, unit and
# integration, with ctest against a fresh PostgreSQL and MariaDB from
# scripts/with-servers.sh; then builds the Debian package (a Release build in
# build-release/) and checks it with tests/package.sh. Exits non-zero on any
# failure. CI runs exactly this (.ci/run), on a machine that may have nothing
# installed.
set -euo pipefail

# Work from the repo root whatever the caller's cwd: the paths below are
# relative to it.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source-path=SCRIPTDIR/..
. scripts/deps.sh
mg_deps build test package

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug
cmake --build build-test -j2

# LeakSanitizer works as root on these machines (checked: a leaking test
# program is reported and fails), so leaks fail the tests too. Set here, not
# in CMake, so a developer's own ASAN_OPTIONS, appended after ours, wins.
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
# A UBSan report without a stack is hard to act on.
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

# --no-tests=error: a build that produced no tests has not passed anything.
# -j2 matches the 2 cores; integration tests make their own schema or
# database, so they may run side by side.
# with-cluster.sh adds a 3-node Galera cluster and pgbouncer (issue 12) for
# the tests labelled "cluster": about 17 s more before the tests start.
rc=0
bash scripts/with-servers.sh bash scripts/with-cluster.sh \
	ctest --test-dir build-test --output-on-failure --no-tests=error -j2 |
	tee build-test/ctest.log || rc=$?

# Its own step, not a ctest test: it makes a second, Release build (about 40 s
# here), which would compete with the integration tests under ctest -j2. It
# runs even when ctest failed, so that one run reports every failure.
pkg_failed=0
bash tests/package.sh || { pkg_failed=1; rc=$((rc == 0 ? 1 : rc)); }

# One closing line for both steps, counted from ctest's own summary ("N% tests
# passed, F tests failed out of T") plus the package test.
read -r failed total < <(sed -n \
	's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\1 \2/p' \
	build-test/ctest.log | tail -n 1) || true
if [[ -n ${total:-} ]]; then
	echo "summary: $((total - failed + 1 - pkg_failed)) passed," \
		"$((failed + pkg_failed)) failed"
fi
exit "$rc"
