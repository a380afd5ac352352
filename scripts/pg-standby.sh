#!/usr/bin/env bash
# A PostgreSQL hot standby of the test server that scripts/with-servers.sh
# started, for the tests that need a read-only target (issue 14): a
# streaming replica made with pg_basebackup -R on loopback. Only the tests
# that ask for one pay for it.
#
#   pg-standby.sh start DIR   copies the primary into DIR (created, empty),
#                             starts it on a free port, prints the port
#   pg-standby.sh stop DIR    stops it and removes DIR
#
# Needs root and the environment of with-servers.sh (MG_TEST_PG_PORT,
# MG_TEST_PG_SOCKET_DIR). with-servers.sh stops a standby left running
# under its own temp dir; one elsewhere is the caller's to stop.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
PORT_BASE=57432
PORT_TRIES=50
START_TIMEOUT=60

# port_busy, reserve, as_pg
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

die() { printf 'pg-standby: error: %s\n' "$1" >&2; exit 1; }

(($# == 2)) || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
dir=$2

case $1 in
start)
	[[ -n ${MG_TEST_PG_PORT:-} && -n ${MG_TEST_PG_SOCKET_DIR:-} ]] ||
		die "run under scripts/with-servers.sh"
	install -d -o postgres -g postgres -m 0700 "$dir"
	# -X stream: the WAL the copy needs comes with it; -R writes
	# primary_conninfo and standby.signal; -c fast: no wait for a
	# checkpoint
	as_pg "$dir/basebackup.log" "$PG_BIN/pg_basebackup" \
		-h "$MG_TEST_PG_SOCKET_DIR" -p "$MG_TEST_PG_PORT" -U postgres \
		-D "$dir/data" -R -X stream -c fast --no-sync ||
		die "pg_basebackup failed: $(tail -n 5 "$dir/basebackup.log")"
	for ((i = 0; i < PORT_TRIES; i++)); do
		port=$((PORT_BASE + i))
		port_busy "$port" && continue
		# held while the standby runs (it inherits the lock), as
		# with-servers.sh holds its servers' ports
		reserve "$port" || continue
		cat >>"$dir/data/postgresql.conf" <<-CONF
			port = $port
			unix_socket_directories = '$dir'
			hot_standby = on
		CONF
		if as_pg /dev/null "$PG_BIN/pg_ctl" -D "$dir/data" \
			-l "$dir/log" -w -t "$START_TIMEOUT" start; then
			echo "$port"
			exit 0
		fi
		grep -q 'could not bind' "$dir/log" 2>/dev/null ||
			die "the standby did not start: $(tail -n 5 "$dir/log")"
		# lost a race for the port: the next one
		sed -i '/^port = /d; /^unix_socket_directories = /d; /^hot_standby = /d' \
			"$dir/data/postgresql.conf"
	done
	die "no free port from $PORT_BASE"
	;;
stop)
	if [[ -f $dir/data/postmaster.pid ]]; then
		as_pg /dev/null "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate \
			-w stop || true
	fi
	rm -rf "$dir"
	;;
*)
	echo "usage: $0 start|stop DIR" >&2
	exit 2
	;;
esac
