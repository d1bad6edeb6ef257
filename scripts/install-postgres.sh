#!/usr/bin/env bash
# Install the PostgreSQL server binaries (Debian package) that the `postgres` tests start.
# Idempotent: does nothing when initdb and pg_ctl already exist under /usr/lib/postgresql/*/bin.
set -euo pipefail

have_postgres() {
    for bin in /usr/lib/postgresql/*/bin; do
        if [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ]; then
            echo "PostgreSQL found in $bin"
            return 0
        fi
    done
    return 1
}

if have_postgres; then
    exit 0
fi

bash "$(dirname "$0")/apt-install.sh" postgresql

# The tests never use the package's system cluster: they start throwaway clusters of their own.
have_postgres
