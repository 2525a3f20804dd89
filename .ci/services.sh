#!/usr/bin/env bash
# Start PostgreSQL, MariaDB and Redis when they are down, and create what the tests use.
# Those KVHOST_SKIP names are left alone.
set -euo pipefail
. "$(dirname "$0")/../scripts/skipping.sh"

wait_for() { # NAME CMD...
    local name=$1; shift
    for _ in $(seq 1 60); do
        if "$@" >/dev/null 2>&1; then echo "$name is up"; return 0; fi
        sleep 1
    done
    echo "$name did not come up" >&2
    return 1
}

start_postgres() {
    if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
        echo "starting PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
    fi
    wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432
    psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
        || psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE test"
}

start_mariadb() {
    if ! mysqladmin -h 127.0.0.1 -P 3306 -uroot status >/dev/null 2>&1; then
        echo "starting MariaDB"
        start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    fi
    wait_for MariaDB mysqladmin -h 127.0.0.1 -P 3306 -uroot status
    mysql -h 127.0.0.1 -P 3306 -uroot -e "CREATE DATABASE IF NOT EXISTS test"
}

start_redis() {
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        if ! command -v redis-server >/dev/null; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
        fi
        echo "starting Redis (no persistence, as these machines run it)"
        mkdir -p /var/lib/redis /var/log/redis
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
            --dir /var/lib/redis --logfile /var/log/redis/ci.log
    fi
    wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping
}

skipping postgres || start_postgres
skipping mysql || start_mariadb
skipping redis || start_redis
