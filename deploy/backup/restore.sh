#!/bin/sh
# Restore a dump made by backup.sh into the (empty or existing) database at DATABASE_URL.
# Usage: DATABASE_URL=postgresql://... restore.sh DUMP
# Stop the app servers and workers first; afterwards run `flask db upgrade` (a dump from an
# older release is brought up to date) and start them again. README, "Backups".
set -eu
dump=${1:?usage: restore.sh DUMP}
url=$(printf '%s' "${DATABASE_URL:?DATABASE_URL is not set}" | sed 's|^postgresql+[a-z0-9]*://|postgresql://|')
pg_restore --list "$dump" >/dev/null
pg_restore --clean --if-exists --no-owner --exit-on-error --single-transaction --dbname="$url" "$dump"
