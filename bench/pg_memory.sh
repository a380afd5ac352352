#!/usr/bin/env bash
# Peak memory of one big data file on PostgreSQL (issue 7).
#
#   bash scripts/with-servers.sh bash bench/pg_memory.sh   (or bench/run.sh)
#
# A file of SIZE_MB megabytes (default 100; the issue's case is 300 MB: the
# ratio only falls as the file grows, since the fixed part, the binary and
# libpq, weighs less) of a CREATE TABLE and ~100-byte INSERT statements,
# applied to a fresh database. Prints migrate's peak RSS (/usr/bin/time -v)
# divided by the file's size: 4.0x before issue 7, target at most 1.5x. The
# parts: the file's text, kept from discovery for the runner (1x); about
# 12 MB of binary and libraries; queries of 1 MB, each held by us and twice
# by libpq; the statements of one 1 MB window of the static check. Exits 0
# whatever the ratio.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

: "${MG_TEST_PG_DSN:?run under scripts/with-servers.sh}"
SIZE_MB=${SIZE_MB:-100}
BIN=${MG_BIN:-build/migrate}
[ -x "$BIN" ] || { cmake -S . -B build -DMG_TESTS=OFF >/dev/null &&
	cmake --build build -j2 >/dev/null; }
command -v bc >/dev/null || { echo "bench needs bc" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d)
db="mg_mem_$$"
cleanup() {
	psql -X -q "$MG_TEST_PG_DSN" -c "DROP DATABASE IF EXISTS $db" \
		>/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/m"
awk -v bytes=$((SIZE_MB * 1024 * 1024)) 'BEGIN {
	print "CREATE TABLE d (id bigint PRIMARY KEY, name text, payload text);"
	for (i = 1; n < bytes; i++) {
		s = sprintf("INSERT INTO d VALUES (%d, %cname %d%c, %cpayload " \
			"payload payload payload payload %d%c);", i, 39, i, 39,
			39, i, 39)
		print s
		n += length(s) + 1
	}
}' >"$work/m/0001_data.up.sql"
echo "DROP TABLE d;" >"$work/m/0001_data.down.sql"
size=$(stat -c %s "$work/m/0001_data.up.sql")

psql -X -q "$MG_TEST_PG_DSN" -c "CREATE DATABASE $db"
/usr/bin/time -o "$work/t" -f '%M %e' \
	"$BIN" -d "${MG_TEST_PG_DSN%/*}/$db" -m "$work/m" up >/dev/null 2>&1
read -r rss secs <"$work/t"
printf 'pg-memory %d MB file  %6.2f s   peak RSS %d MB   ratio %.2fx of the file\n' \
	"$((size / 1048576))" "$secs" "$((rss / 1024))" \
	"$(echo "$rss * 1024 / $size" | bc -l)"
