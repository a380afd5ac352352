#!/usr/bin/env bash
# tls-mariadb.sh start | stop DIR
#
# A throwaway MariaDB that speaks TLS, for it_trust.c: `start` makes a
# self-signed certificate (CN localhost, SAN IP 127.0.0.1) with openssl,
# starts mariadbd with it on a free loopback port, creates the user
# tls:tls_pw_5e1 and the database app, and prints "PORT DIR" (DIR holds
# cert.pem, to pass as ssl-ca). `stop DIR` ends that server and removes
# DIR. Needs root (the server runs as mysql, as in with-servers.sh); exits
# 77 when that or a tool is missing, so the test can skip.
set -euo pipefail

case ${1:-} in
start)
	[[ $(id -u) -eq 0 ]] || exit 77
	for tool in openssl mariadbd mariadb-install-db mariadb-admin mariadb; do
		command -v "$tool" >/dev/null || exit 77
	done
	id mysql >/dev/null 2>&1 || exit 77
	dir=$(mktemp -d /tmp/mg-tls.XXXXXX)
	chown mysql:mysql "$dir"
	chmod 0755 "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 \
		-subj /CN=localhost \
		-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		-keyout "$dir/key.pem" -out "$dir/cert.pem" \
		>"$dir/openssl.log" 2>&1
	chown mysql:mysql "$dir/key.pem" "$dir/cert.pem"
	chmod 0644 "$dir/cert.pem"
	install -d -o mysql -g mysql -m 0700 "$dir/data" "$dir/tmp"
	# a tmpdir of its own: /tmp is shared with other servers
	mariadb-install-db --no-defaults --user=mysql --datadir="$dir/data" \
		--tmpdir="$dir/tmp" \
		--auth-root-authentication-method=socket --skip-test-db \
		>"$dir/install.log" 2>&1
	sock=$dir/mysqld.sock
	for port in $(seq 54306 54356); do
		(: >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
		mariadbd --no-defaults --user=mysql --datadir="$dir/data" \
			--tmpdir="$dir/tmp" --socket="$sock" --port="$port" \
			--bind-address=127.0.0.1 --pid-file="$dir/mariadbd.pid" \
			--log-error="$dir/mariadbd.log" --skip-name-resolve \
			--ssl-cert="$dir/cert.pem" --ssl-key="$dir/key.pem" \
			--innodb-flush-log-at-trx-commit=0 \
			</dev/null >/dev/null 2>&1 &
		pid=$!
		for _ in $(seq 300); do
			mariadb-admin --no-defaults --socket="$sock" -u root \
				--connect-timeout=1 ping >/dev/null 2>&1 && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			mariadb --no-defaults --socket="$sock" -u root -e "
				CREATE USER 'tls'@'127.0.0.1'
					IDENTIFIED BY 'tls_pw_5e1';
				GRANT ALL PRIVILEGES ON *.* TO 'tls'@'127.0.0.1';
				CREATE DATABASE app;"
			echo "$port $dir"
			exit 0
		fi
	done
	echo "tls-mariadb: no server started; see $dir" >&2
	exit 1
	;;
stop)
	dir=${2:?usage: tls-mariadb.sh stop DIR}
	[[ $dir == /tmp/mg-tls.* ]] || exit 2
	if [[ -f $dir/mariadbd.pid ]]; then
		pid=$(cat "$dir/mariadbd.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 300); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -rf "$dir"
	;;
*)
	echo "usage: tls-mariadb.sh start | stop DIR" >&2
	exit 2
	;;
esac
