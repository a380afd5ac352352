#!/usr/bin/env bash
# Many small migrations on SQLite against the sqlite3 shell (issue 7).
#
#   bash bench/sqlite_many.sh   (or: bash bench/run.sh; needs no server)
#
# COUNT files (default 2000, the issue's case) of one CREATE TABLE each.
# The baseline is the sqlite3 shell running the same files, a transaction
# each (BEGIN; .read file; COMMIT), in one session. Each on a fresh
# database file on disk, so both pay SQLite's fsyncs per commit. Prints
# the median of RUNS runs (default 3) of wall time and the user CPU time
# of that run: CPU is what grew with the square of COUNT before the fix
# (each file re-read the whole ledger and re-planned everything). Target:
# at most 1.5x the shell, 1.1x as a goal. Exits 0 whatever the ratio.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

COUNT=${COUNT:-2000}
RUNS=${RUNS:-3}
BIN=$(realpath "${MG_BIN:-build/migrate}")
[ -x "$BIN" ] || { echo "build first: cmake --build build" >&2; exit 1; }
command -v bc >/dev/null || { echo "bench needs bc" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "bench needs sqlite3" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/m"
for ((i = 1; i <= COUNT; i++)); do
	v=$(printf '%05d' "$i")
	echo "CREATE TABLE t_$i (id INTEGER PRIMARY KEY, name TEXT);" \
		>"$work/m/${v}_t.up.sql"
	echo "DROP TABLE t_$i;" >"$work/m/${v}_t.down.sql"
done
for f in "$work"/m/*.up.sql; do
	printf 'BEGIN;\n.read %s\nCOMMIT;\n' "$f"
done >"$work/shell.sql"

median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }

s=() m=()
for ((k = 0; k < RUNS; k++)); do
	rm -f "$work/a.db" "$work/b.db"
	/usr/bin/time -o "$work/t" -f '%e %U' \
		sqlite3 -bail "$work/a.db" <"$work/shell.sql" >/dev/null
	s+=("$(tr ' ' '/' <"$work/t")")
	/usr/bin/time -o "$work/t" -f '%e %U' \
		"$BIN" -d "sqlite:$work/b.db" -m "$work/m" up >/dev/null 2>&1
	m+=("$(tr ' ' '/' <"$work/t")")
done
# "wall/user" pairs sort by wall time
sm=$(median "${s[@]}")
mm=$(median "${m[@]}")
printf 'sqlite-many %d files  sqlite3 %6.2f s (%.2f s cpu)   migrate %6.2f s (%.2f s cpu)   ratio %.2fx\n' \
	"$COUNT" "${sm%/*}" "${sm#*/}" "${mm%/*}" "${mm#*/}" \
	"$(echo "${mm%/*} / ${sm%/*}" | bc -l)"
