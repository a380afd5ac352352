#!/usr/bin/env bash
# with-servers.sh CMD [ARGS...]
#
# Starts a throwaway PostgreSQL 15 and MariaDB in a temp dir, runs CMD with
# MG_TEST_* variables pointing at them, stops both, removes the temp dir and
# exits with CMD's status. The integration tests (tests/it_*.c) need real
# servers with real password authentication, and this gives every run its own
# pair, so runs never share state and two can go at once.
#
# Exported to CMD:
#   MG_TEST_PG_DSN, MG_TEST_PG_PORT, MG_TEST_PG_PASSWORD
#   MG_TEST_MYSQL_DSN, MG_TEST_MYSQL_PORT, MG_TEST_MYSQL_SOCKET,
#   MG_TEST_MYSQL_PASSWORD
#   MG_TEST_REQUIRE_SERVERS=1 (a test that cannot connect fails, not skips)
# and, for the fault campaign (tests/faults), which kills and restarts them:
#   MG_TEST_PG_DATA, MG_TEST_PG_CTL, MG_TEST_PG_SOCKET_DIR (postgres: trust)
#   MG_TEST_PG_START: a script that starts the stopped postgres again
#   MG_TEST_MYSQL_PID (the first mariadbd), MG_TEST_MYSQL_PIDFILE (the
#   current one), MG_TEST_MYSQL_START: starts a killed mariadbd again
#   MG_TEST_TMPFS: the tmpfs holding both data directories, or empty
#
# MG_TEST_SERVERS_TMPFS=SIZE (e.g. 2g) puts the servers' data on a tmpfs of
# that size, so that the campaign can fill their disk; where mounting is not
# allowed, MG_TEST_TMPFS is empty and the servers use /tmp as usual.
#
# Needs root: the servers run as the postgres and mysql users that the Debian
# packages create (PostgreSQL refuses to run as root).
set -euo pipefail

# alive, wait_gone, tree, kill_tree, port_busy, reserve, as_pg, elapsed
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The full path on purpose: other things named pg_ctl may come first in PATH.
PG_BIN=/usr/lib/postgresql/15/bin
# Fixed and public: these servers live for one run, listen only on loopback,
# and tests grep their output for it to prove no password ever leaks.
MG_PW=mg_test_pw_9f3
# First ports tried; the next free one is used when one is taken (another
# run of this script, or anything else), up to PORT_TRIES ports further.
# The fault campaign (scripts/faults.sh) sets its own bases, away from the
# ports that ordinary test runs use.
PG_PORT_BASE=${MG_TEST_PG_PORT_BASE:-55432}
MY_PORT_BASE=${MG_TEST_MYSQL_PORT_BASE:-53306}
PORT_TRIES=50
# Bounds on waiting for a server, in seconds.
START_TIMEOUT=60
STOP_TIMEOUT=30

log() { printf 'with-servers: %s\n' "$*" >&2; }


if (($# == 0)); then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi
if ((EUID != 0)); then
	die "must run as root: the servers run as the postgres and mysql users"
fi
for tool in "$PG_BIN/initdb" "$PG_BIN/pg_ctl" "$PG_BIN/pg_isready" \
	"$PG_BIN/psql" mariadb-install-db mariadbd mariadb-admin mariadb; do
	command -v "$tool" >/dev/null ||
		die "'$tool' not found: run 'bash scripts/deps.sh test'"
done

root=
tmpfs=
pg_port=
my_port=
my_sock=
my_pid=
child=

# shellcheck disable=SC2317 # called from the trap
# Runs on every exit: normal, CMD failing, a failed startup (via die or
# set -e), or INT/TERM (whose traps below turn them into an exit).
cleanup()
{
	local rc=$? pid
	set +e
	# A second Ctrl-C must not cut the cleanup short and leak servers.
	trap '' INT TERM

	[[ -n $child ]] && kill_tree "$child"
	# Both servers shut down at once: MariaDB on SIGTERM (a clean
	# shutdown), PostgreSQL through pg_ctl meanwhile. A mariadbd still
	# starting ignores SIGTERM (seen: it ran on), and its data is
	# thrown away anyway, so that one is killed outright.
	if [[ -n $my_pid ]] && alive "$my_pid"; then
		if [[ -n $my_port ]]; then
			kill -TERM "$my_pid" 2>/dev/null
		else
			kill -KILL "$my_pid" 2>/dev/null
			# Reaped at once, so bash's "Killed" notice about
			# it goes to /dev/null, not to the user.
			wait "$my_pid" 2>/dev/null
		fi
	fi
	# standbys that tests made with scripts/pg-standby.sh (issue 14)
	for pid in "$root"/pg-standby.*/data/postmaster.pid; do
		[[ -f $pid ]] || continue
		as_pg /dev/null "$PG_BIN/pg_ctl" -D "${pid%/postmaster.pid}" \
			-m immediate -w -t "$STOP_TIMEOUT" stop
	done
	if [[ -n $root && -f $root/pg/data/postmaster.pid ]]; then
		# It fails also when the server is already gone (a Ctrl-C
		# reaches the postmaster too), so only a live pid is killed.
		if ! as_pg /dev/null "$PG_BIN/pg_ctl" -D "$root/pg/data" \
			-m fast -w -t "$STOP_TIMEOUT" stop; then
			pid=$(head -n 1 "$root/pg/data/postmaster.pid" 2>/dev/null)
			if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid"; then
				log "postgres did not stop; killing $pid"
				kill -KILL "$pid" 2>/dev/null
				wait_gone "$pid" 5
			fi
		fi
	fi
	if [[ -n $my_pid ]]; then
		if ! wait_gone "$my_pid" "$STOP_TIMEOUT"; then
			log "mariadbd did not stop; killing $my_pid"
			kill -KILL "$my_pid" 2>/dev/null
			wait_gone "$my_pid" 5
		fi
		wait "$my_pid" 2>/dev/null # reap it
	fi
	# A mariadbd that the fault campaign started again is not our child:
	# its pid file names it (and its name, that the pid is not reused).
	pid=$(cat "$root/mysql/mariadbd.pid" 2>/dev/null)
	if [[ $pid =~ ^[0-9]+$ && $pid != "$my_pid" ]] && alive "$pid" &&
		[[ $(cat "/proc/$pid/comm" 2>/dev/null) == mariadbd ]]; then
		kill -TERM "$pid" 2>/dev/null
		if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
			log "mariadbd did not stop; killing $pid"
			kill -KILL "$pid" 2>/dev/null
			wait_gone "$pid" 5
		fi
	fi
	if [[ -n $tmpfs ]]; then
		umount "$tmpfs" 2>/dev/null || umount -l "$tmpfs"
	fi
	if [[ -n $root ]]; then
		rm -rf "$root"
	fi
	# Quiet on success, so the test runner's summary stays the last
	# thing a run prints.
	if ((rc != 0)); then
		log "servers stopped, exit $rc"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Under /tmp, not $TMPDIR: the postgres and mysql users must reach it, and
# Unix socket paths must stay under ~100 bytes.
root=$(mktemp -d /tmp/mg-servers.XXXXXX)
if [[ -n ${MG_TEST_SERVERS_TMPFS:-} ]]; then
	if err=$(mount -t tmpfs -o "size=$MG_TEST_SERVERS_TMPFS" mg-servers \
		"$root" 2>&1); then
		tmpfs=$root
	else
		log "no tmpfs for the servers' data (${err:-mount failed})"
	fi
fi
# mktemp makes it 0700 root; the servers need to pass through it to their
# own subdirectories, which stay closed to others.
chmod 0711 "$root"
t0=$EPOCHREALTIME

start_pg()
{
	local dir=$root/pg port i logf=''
	install -d -o postgres -g postgres -m 0700 "$dir" "$dir/run"

	# --no-sync and fsync=off: the data is thrown away after the run,
	# so durability only costs time.
	as_pg "$dir/initdb.log" "$PG_BIN/initdb" -D "$dir/data" -U postgres \
		-E UTF8 --locale=C --auth=trust --no-sync ||
		die "initdb failed" "$dir/initdb.log"
	# Passwords over TCP as the tests use it; trust only for the
	# postgres superuser on our private socket, to create the role.
	cat >"$dir/data/pg_hba.conf" <<-EOF
		local all postgres trust
		local replication postgres trust
		host all all 127.0.0.1/32 scram-sha-256
	EOF
	cat >>"$dir/data/postgresql.conf" <<-EOF
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$dir/run'
		password_encryption = 'scram-sha-256'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
	EOF

	for ((i = 0; i < PORT_TRIES; i++)); do
		port=$((PG_PORT_BASE + i))
		port_busy "$port" && continue
		reserve "$port" || continue
		# A log per attempt, so a failure shows only its own lines.
		logf=$dir/postgres-$port.log
		if as_pg /dev/null "$PG_BIN/pg_ctl" -D "$dir/data" -l "$logf" \
			-o "-p $port" -w -t "$START_TIMEOUT" start; then
			pg_port=$port
			break
		fi
		# Lost a race for the port: try the next one.
		if grep -q -e 'could not bind' -e 'could not create any TCP' \
			"$logf" 2>/dev/null; then
			log "postgres: port $port taken, trying the next"
			continue
		fi
		die "postgres did not start on port $port" "$logf"
	done
	[[ -n $pg_port ]] || die "no free port for postgres from $PG_PORT_BASE"

	# pg_ctl -w waited for the socket; this also proves TCP is up.
	for ((i = 0; i < START_TIMEOUT * 10; i++)); do
		"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break
		sleep 0.1
	done
	"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$pg_port" ||
		die "postgres not ready on 127.0.0.1:$pg_port" "$logf"

	"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/run" -p "$pg_port" \
		-U postgres -d postgres \
		-c "CREATE ROLE mg_test LOGIN SUPERUSER PASSWORD '$MG_PW'" ||
		die "could not create role mg_test" "$logf"
	# What the tests will do: password auth over TCP. Through the
	# environment, so the password never shows in ps.
	PGPASSWORD=$MG_PW "$PG_BIN/psql" -X -q -At -h 127.0.0.1 \
		-p "$pg_port" -U mg_test -d postgres -c 'SELECT 1' >/dev/null ||
		die "mg_test cannot log in to postgres over TCP" "$logf"
}

start_mysql()
{
	local dir=$root/mysql port i logf='' t
	local sock=$dir/mysqld.sock
	install -d -o mysql -g mysql -m 0700 "$dir" "$dir/tmp"

	# --no-defaults everywhere: /etc/mysql/my.cnf is for the system
	# server (its socket, port and log), and ~/.my.cnf is the user's.
	mariadb-install-db --no-defaults --user=mysql --datadir="$dir/data" \
		--auth-root-authentication-method=socket --skip-test-db \
		>"$dir/install.log" 2>&1 ||
		die "mariadb-install-db failed" "$dir/install.log"

	for ((i = 0; i < PORT_TRIES; i++)); do
		port=$((MY_PORT_BASE + i))
		port_busy "$port" && continue
		reserve "$port" || continue
		logf=$dir/mariadbd-$port.log
		# --user=mysql: mariadbd refuses root unless told, and its
		# files are mysql's. skip-name-resolve: no DNS lookups on
		# connect; 'mg_test'@'127.0.0.1' matches by address. The
		# innodb settings trade durability we don't need for speed.
		# --tmpdir: not the shared /tmp, where another server's files
		# sit beside its own (seen, after a kill and restart: "Error on
		# delete of '/tmp/#sql-temptable-...MAI'", seed 20262023).
		mariadbd --no-defaults --user=mysql --datadir="$dir/data" \
			--tmpdir="$dir/tmp" \
			--socket="$sock" --port="$port" \
			--bind-address=127.0.0.1 --pid-file="$dir/mariadbd.pid" \
			--log-error="$logf" --skip-name-resolve \
			--innodb-flush-log-at-trx-commit=0 \
			--innodb-doublewrite=0 \
			</dev/null >>"$dir/mariadbd.out" 2>&1 &
		my_pid=$!
		t=$SECONDS
		while ! mariadb-admin --no-defaults --socket="$sock" -u root \
			--connect-timeout=1 ping >/dev/null 2>&1; do
			if ! alive "$my_pid"; then
				break
			fi
			if ((SECONDS - t > START_TIMEOUT)); then
				die "mariadbd not ready after ${START_TIMEOUT}s" "$logf"
			fi
			sleep 0.1
		done
		if alive "$my_pid"; then
			my_port=$port
			break
		fi
		wait "$my_pid" || true
		my_pid=
		# Lost a race for the port: try the next one.
		if grep -q -e 'Address already in use' -e 'Bind on TCP/IP' \
			"$logf" 2>/dev/null; then
			log "mariadb: port $port taken, trying the next"
			continue
		fi
		die "mariadbd exited during startup on port $port" "$logf"
	done
	[[ -n $my_port ]] || die "no free port for mariadb from $MY_PORT_BASE"

	# Both hosts: 127.0.0.1 for TCP, localhost for the socket.
	mariadb --no-defaults --socket="$sock" -u root -e "
		CREATE USER 'mg_test'@'127.0.0.1' IDENTIFIED BY '$MG_PW';
		GRANT ALL PRIVILEGES ON *.* TO 'mg_test'@'127.0.0.1'
			WITH GRANT OPTION;
		CREATE USER 'mg_test'@'localhost' IDENTIFIED BY '$MG_PW';
		GRANT ALL PRIVILEGES ON *.* TO 'mg_test'@'localhost'
			WITH GRANT OPTION;" ||
		die "could not create user mg_test" "$logf"
	MYSQL_PWD=$MG_PW mariadb --no-defaults --protocol=TCP -h 127.0.0.1 \
		-P "$my_port" -u mg_test -e 'SELECT 1' >/dev/null ||
		die "mg_test cannot log in to mariadb over TCP" "$logf"
	my_sock=$sock
}

log "starting postgres 15 and mariadb in $root"
start_pg
log "postgres ready on 127.0.0.1:$pg_port after $(elapsed "$t0")"
t1=$EPOCHREALTIME
start_mysql
log "mariadb ready on 127.0.0.1:$my_port after $(elapsed "$t1")"

export MG_TEST_REQUIRE_SERVERS=1
export MG_TEST_PG_PORT=$pg_port
export MG_TEST_PG_PASSWORD=$MG_PW
export MG_TEST_PG_DSN="postgres://mg_test:$MG_PW@127.0.0.1:$pg_port/postgres"
export MG_TEST_MYSQL_PORT=$my_port
export MG_TEST_MYSQL_SOCKET=$my_sock
export MG_TEST_MYSQL_PASSWORD=$MG_PW
export MG_TEST_MYSQL_DSN="mysql://mg_test:$MG_PW@127.0.0.1:$my_port/mysql"

# For the fault campaign: how to find, kill and start the servers again. The
# start scripts repeat the commands above; a mariadbd they start is found
# again through its pid file, by cleanup too.
export MG_TEST_PG_DATA=$root/pg/data
export MG_TEST_PG_CTL=$PG_BIN/pg_ctl
export MG_TEST_PG_SOCKET_DIR=$root/pg/run
export MG_TEST_PG_START=$root/pg/start.sh
# scripts/pg-standby.sh makes a hot standby under here when a test asks
export MG_TEST_PG_STANDBY_ROOT=$root
export MG_TEST_MYSQL_PID=$my_pid
# Killed by the campaign, it would get bash's "Killed" job notice on our
# stderr; cleanup still finds it by its pid.
disown "$my_pid"
export MG_TEST_MYSQL_PIDFILE=$root/mysql/mariadbd.pid
export MG_TEST_MYSQL_START=$root/mysql/start.sh
export MG_TEST_TMPFS=$tmpfs
{
	echo '#!/usr/bin/env bash'
	printf 'cd / && exec runuser -u postgres -- %q -D %q -l %q -o %q -w -t %q start\n' \
		"$PG_BIN/pg_ctl" "$root/pg/data" "$root/pg/postgres-$pg_port.log" \
		"-p $pg_port" "$START_TIMEOUT"
} >"$MG_TEST_PG_START"
# Extra arguments go to mariadbd (--innodb-force-recovery=1, say).
{
	echo '#!/usr/bin/env bash'
	printf 'setsid mariadbd --no-defaults --user=mysql --datadir=%q --tmpdir=%q --socket=%q --port=%q --bind-address=127.0.0.1 --pid-file=%q --log-error=%q --skip-name-resolve --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 "$@" </dev/null >>%q 2>&1 &\n' \
		"$root/mysql/data" "$root/mysql/tmp" "$my_sock" "$my_port" "$root/mysql/mariadbd.pid" \
		"$root/mysql/mariadbd-$my_port.log" "$root/mysql/mariadbd.out"
	printf 'pid=$!\nfor ((i = 0; i < %d; i++)); do\n' $((START_TIMEOUT * 10))
	printf '\tmariadb-admin --no-defaults --socket=%q -u root --connect-timeout=1 ping >/dev/null 2>&1 && exit 0\n' "$my_sock"
	printf '\tkill -0 "$pid" 2>/dev/null || break\n'
	printf '\tsleep 0.1\ndone\necho "mariadbd did not start" >&2\nexit 1\n'
} >"$MG_TEST_MYSQL_START"
chmod 0700 "$MG_TEST_PG_START" "$MG_TEST_MYSQL_START"

log "running: $*"
# In the background and waited for, because bash runs a trap only after the
# foreground command ends: a TERM to this script (a CI timeout, say) must
# stop the servers now, not whenever CMD happens to finish. <&0 keeps our
# stdin, which bash would otherwise replace with /dev/null for a background
# command.
"$@" <&0 &
child=$!
rc=0
wait "$child" || rc=$?
child=
exit "$rc"
