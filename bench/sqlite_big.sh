#!/usr/bin/env bash
# One big data file on SQLite against the sqlite3 shell (issue 7).
#
#   bash bench/sqlite_big.sh   (or: bash bench/run.sh; needs no server)
#
# A file of SIZE_MB megabytes (default 50; the issue's case is 300 MB, and
# the ratio does not depend on the size once the run is linear) holding a
# CREATE TABLE and ~100-byte INSERT statements. The baseline is the sqlite3
# shell reading the same file in one transaction (BEGIN; .read; COMMIT),
# each on a fresh database. Median of three runs each; prints the ratio
# (the target is at most 1.5x) and exits 0 whatever it is.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SIZE_MB=${SIZE_MB:-50}
BIN=${MG_BIN:-build/migrate}
[ -x "$BIN" ] || { cmake -S . -B build -DMG_TESTS=OFF >/dev/null &&
	cmake --build build -j2 >/dev/null; }
command -v bc >/dev/null || { echo "bench needs bc" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "bench needs sqlite3" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/m"
awk -v bytes=$((SIZE_MB * 1024 * 1024)) 'BEGIN {
	print "CREATE TABLE d (id INTEGER PRIMARY KEY, name TEXT, payload TEXT);"
	for (i = 1; n < bytes; i++) {
		s = sprintf("INSERT INTO d VALUES (%d, %cname %d%c, %cpayload " \
			"payload payload payload payload %d%c);", i, 39, i, 39,
			39, i, 39)
		print s
		n += length(s) + 1
	}
}' >"$work/m/0001_data.up.sql"
echo "DROP TABLE d;" >"$work/m/0001_data.down.sql"

now() { date +%s.%N; }
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }

s=() m=()
for _ in 1 2 3; do
	rm -f "$work/a.db" "$work/b.db"
	t0=$(now)
	sqlite3 "$work/a.db" "BEGIN" ".read $work/m/0001_data.up.sql" "COMMIT"
	s+=("$(echo "$(now) - $t0" | bc)")
	t0=$(now)
	"$BIN" -d "sqlite:$work/b.db" -m "$work/m" up >/dev/null 2>&1
	m+=("$(echo "$(now) - $t0" | bc)")
done
sm=$(median3 "${s[@]}")
mm=$(median3 "${m[@]}")
printf 'sqlite-big %d MB  sqlite3 %6.3f s   migrate %6.3f s   ratio %.2fx\n' \
	"$SIZE_MB" "$sm" "$mm" "$(echo "$mm / $sm" | bc -l)"
