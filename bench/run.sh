#!/usr/bin/env bash
# All benchmarks, against servers started for the purpose:
#   bash bench/run.sh
# Builds a release binary first; prints ratios measured in the same run.
# The issue 7 set (sqlite_big, sqlite_many, pg_memory, status) takes about
# four minutes on 2 cores, fleet.sh (issue 12) about two more; each script
# says what it compares with.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/deps.sh
mg_deps build test
command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
cmake -S . -B build -DMG_TESTS=OFF >/dev/null
cmake --build build -j2 >/dev/null
exec bash scripts/with-servers.sh bash -c \
	'export PGPASSWORD=$MG_TEST_PG_PASSWORD
	 bash bench/apply.sh &&
	 bash bench/fingerprint.sh &&
	 bash bench/sqlite_big.sh &&
	 bash bench/sqlite_many.sh &&
	 bash bench/pg_memory.sh &&
	 bash bench/status.sh &&
	 bash bench/fleet.sh'
