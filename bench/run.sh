#!/usr/bin/env bash
# All benchmarks, against servers started for the purpose:
#   bash bench/run.sh
# Builds a release binary first; prints ratios measured in the same run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/deps.sh
mg_deps build test
command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
cmake -S . -B build -DMG_TESTS=OFF >/dev/null
cmake --build build -j2 >/dev/null
exec bash scripts/with-servers.sh bash -c \
	'PGPASSWORD=$MG_TEST_PG_PASSWORD bash bench/apply.sh &&
	 PGPASSWORD=$MG_TEST_PG_PASSWORD bash bench/fingerprint.sh'
