#!/usr/bin/env bash
# Installs (Debian packages) and starts the servers the test suite runs against, and
# exports the URLs the tests read. Sourced by .ci/run; also handy on a developer machine:
#   source .ci/services.sh
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=()
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
command -v mariadbd >/dev/null || need+=(mariadb-server)
command -v python3 >/dev/null || need+=(python3)
command -v script >/dev/null || need+=(bsdutils)
if [ ${#need[@]} -gt 0 ]; then
  echo "== apt-get install ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== PostgreSQL"
pg_version=$(ls /etc/postgresql | sort -n | tail -1)
pg_ctlcluster "$pg_version" main start 2>/dev/null || pg_ctlcluster "$pg_version" main status >/dev/null
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='orrery'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"CREATE ROLE orrery LOGIN SUPERUSER PASSWORD 'orrery'\""
export ORRERY_TEST_POSTGRES=postgres://orrery:orrery@127.0.0.1:5432/postgres

echo "== MariaDB"
mkdir -p /run/mysqld && chown mysql /run/mysqld
if ! mariadb-admin ping >/dev/null 2>&1; then
  start-stop-daemon --start --background --chuid mysql --exec /usr/sbin/mariadbd -- \
    --socket=/run/mysqld/mysqld.sock --port=3306 --bind-address=127.0.0.1
  for _ in $(seq 60); do mariadb-admin ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
mariadb -e "CREATE USER IF NOT EXISTS 'orrery'@'127.0.0.1' IDENTIFIED BY 'orrery';
  CREATE USER IF NOT EXISTS 'orrery'@'localhost' IDENTIFIED BY 'orrery';
  GRANT ALL ON *.* TO 'orrery'@'127.0.0.1'; GRANT ALL ON *.* TO 'orrery'@'localhost'; FLUSH PRIVILEGES;"
export ORRERY_TEST_MYSQL=mysql://orrery:orrery@127.0.0.1:3306/
