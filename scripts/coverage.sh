#!/usr/bin/env bash
# coverage.sh [unit|all] [FILE...]
#
# Line coverage (gcov) of the library's files by the tests: builds with
# --coverage in build-cov/, runs the unit tests (unit) or the whole suite
# with real servers (all, the default), and prints gcov's "Lines
# executed" for each FILE (default: migrator/runner.c checks/check.c).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

which=${1:-all}
shift || true
files=("$@")
((${#files[@]})) || files=(migrator/runner.c checks/check.c)

cmake -S . -B build-cov -DCMAKE_BUILD_TYPE=Debug \
	-DCMAKE_C_FLAGS=--coverage -DCMAKE_EXE_LINKER_FLAGS=--coverage >/dev/null
cmake --build build-cov -j2 >/dev/null
find build-cov -name '*.gcda' -delete
if [[ $which == unit ]]; then
	ctest --test-dir build-cov -L unit >/dev/null
else
	bash scripts/with-servers.sh ctest --test-dir build-cov -j2 >/dev/null
fi
for f in "${files[@]}"; do
	obj=$(find build-cov/CMakeFiles/mglib.dir -path "*/$f.o" | head -n1)
	[[ -n $obj ]] || { echo "$f: not in the library" >&2; exit 1; }
	printf '%s: ' "$f"
	gcov -n -o "$obj" "$f" | sed -n 's/^Lines executed://p' | head -n1
done
