#!/usr/bin/env bash
# The README's first quick start: builds migrate and applies the example
# migrations to a new SQLite database, which needs no server.
#
#   bash scripts/demo.sh
set -euo pipefail

# Work from the repo root whatever the caller's cwd: migrations/ and
# demo.db are relative to it.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source-path=SCRIPTDIR/..
. scripts/deps.sh
mg_deps build

# MG_TESTS=OFF: the tests need cmocka, which only the test deps install, and
# a demo has no use for them. No build type: CMakeLists.txt then picks
# RelWithDebInfo.
cmake -S . -B build -DMG_TESTS=OFF
cmake --build build -j2

# Start from nothing, so the demo shows every migration being applied.
# SQLite may leave a journal or WAL files beside the database.
rm -f demo.db demo.db-journal demo.db-wal demo.db-shm

set -x # show each command, as a person would type it
./build/migrate -d sqlite:demo.db -m migrations up
./build/migrate -d sqlite:demo.db ledger
./build/migrate -d sqlite:demo.db -m migrations status
# 0005 deleted the invited users after backing them up: the backup, then
# the down file that restores them (and proves it), then up again
./build/migrate -d sqlite:demo.db backups
./build/migrate -d sqlite:demo.db -m migrations down
./build/migrate -d sqlite:demo.db -m migrations up
