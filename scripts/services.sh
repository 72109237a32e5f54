#!/usr/bin/env bash
# Start or stop private MariaDB and Redis servers for tests: loopback only, data in DIR,
# free ports picked at start, every server tracked by its own pidfile.
#
#   scripts/services.sh start DIR   # prints the env lines (DATABASE_URL, REDIS_URL) to DIR/env
#   scripts/services.sh stop DIR
set -euo pipefail

cmd=${1:?usage: services.sh start|stop DIR}
dir=${2:?usage: services.sh start|stop DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for() {  # wait_for SECONDS COMMAND...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then return 1; fi
    sleep 0.2
  done
}

wait_for_alive() {  # wait_for_alive SECONDS PID COMMAND...: as wait_for, giving up when PID exits
  local deadline=$((SECONDS + $1)) pid=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.2
  done
}

stop_pidfile() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

start() {
  local db_port redis_port
  db_port=${TEDXPAY_DB_PORT:-$(free_port)}
  redis_port=${TEDXPAY_REDIS_PORT:-$(free_port)}

  if [ ! -d "$dir/mariadb" ]; then
    mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$dir/mariadb" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/mariadb-install.log" 2>&1
  fi
  # A free port can be taken by someone else between picking and binding (several suites
  # on one machine): then MariaDB exits with "Address already in use", and we try another.
  local attempt
  for attempt in 1 2 3; do
    : >"$dir/mariadb-error.log"
    mariadbd --no-defaults --user="$(id -un)" --datadir="$dir/mariadb" --socket="$dir/mysqld.sock" \
      --port="$db_port" --bind-address=127.0.0.1 --pid-file="$dir/mysqld.pid" \
      --log-error="$dir/mariadb-error.log" --character-set-server=utf8mb4 \
      --collation-server=utf8mb4_unicode_ci --innodb-buffer-pool-size=256M \
      --innodb-flush-log-at-trx-commit=2 --max-connections=300 >/dev/null 2>&1 &
    local mariadb_pid=$!
    if wait_for_alive 60 "$mariadb_pid" mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -uroot ping; then
      break
    fi
    if [ -z "${TEDXPAY_DB_PORT:-}" ] && [ "$attempt" -lt 3 ] && grep -q "Address already in use" "$dir/mariadb-error.log"; then
      db_port=$(free_port)
      continue
    fi
    echo "MariaDB did not start; its log:" >&2; tail -30 "$dir/mariadb-error.log" >&2; exit 1
  done
  # The test user may create any database: pytest-django makes test_<name>, and each
  # developer or helper may use a name of its own on a shared instance.
  mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot <<'SQL'
CREATE DATABASE IF NOT EXISTS tedxpay CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'tedxpay'@'127.0.0.1' IDENTIFIED BY 'tedxpay';
CREATE USER IF NOT EXISTS 'tedxpay'@'localhost' IDENTIFIED BY 'tedxpay';
GRANT ALL PRIVILEGES ON *.* TO 'tedxpay'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'tedxpay'@'localhost';
FLUSH PRIVILEGES;
SQL

  # Time zone tables, as Django's MySQL notes ask of a server with USE_TZ: its date
  # lookups and Trunc functions use CONVERT_TZ, which returns NULL without them. Our code
  # avoids those where it can; the test server is set up like a correct production one
  # (docs/operations.md). Loaded once per data folder.
  if [ "$(mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot -N -e 'SELECT COUNT(*) FROM mysql.time_zone_name')" = 0 ]; then
    mariadb-tzinfo-to-sql /usr/share/zoneinfo 2>/dev/null | mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot mysql
  fi

  for attempt in 1 2 3; do
    : >"$dir/redis.log"
    redis-server --bind 127.0.0.1 --port "$redis_port" --daemonize yes --pidfile "$dir/redis.pid" \
      --dir "$dir" --save '' --appendonly no --logfile "$dir/redis.log"
    if wait_for 20 redis-cli -p "$redis_port" ping; then
      break
    fi
    if [ -z "${TEDXPAY_REDIS_PORT:-}" ] && [ "$attempt" -lt 3 ] && grep -q "Address already in use" "$dir/redis.log"; then
      redis_port=$(free_port)
      continue
    fi
    echo "Redis did not start; its log:" >&2; tail -30 "$dir/redis.log" >&2; exit 1
  done

  cat >"$dir/env" <<ENV
DATABASE_URL=mysql://tedxpay:tedxpay@127.0.0.1:$db_port/tedxpay
REDIS_URL=redis://127.0.0.1:$redis_port/0
ENV
  echo "MariaDB on 127.0.0.1:$db_port, Redis on 127.0.0.1:$redis_port (data in $dir)"
}

case "$cmd" in
  start) start ;;
  stop)
    stop_pidfile "$dir/redis.pid"
    stop_pidfile "$dir/mysqld.pid"
    ;;
  *) echo "usage: services.sh start|stop DIR" >&2; exit 2 ;;
esac
