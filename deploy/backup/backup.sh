#!/bin/sh
# Dump the PostgreSQL database into FOLDER and keep the newest BACKUP_KEEP dumps (14).
# Usage: DATABASE_URL=postgresql://... backup.sh FOLDER
# Each dump is checked (pg_restore --list) before older ones are removed, so a failed dump
# never costs a good one. Dumps hold personal data: the folder is the campaign user's only.
set -eu
folder=${1:?usage: backup.sh FOLDER}
keep=${BACKUP_KEEP:-14}
# SQLAlchemy's driver suffix (postgresql+psycopg://) means nothing to pg_dump.
url=$(printf '%s' "${DATABASE_URL:?DATABASE_URL is not set}" | sed 's|^postgresql+[a-z0-9]*://|postgresql://|')
umask 077
mkdir -p "$folder"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
partial="$folder/.campaign-$stamp.dump.partial"
pg_dump --format=custom --no-owner --file="$partial" "$url"
pg_restore --list "$partial" >/dev/null
mv "$partial" "$folder/campaign-$stamp.dump"
# Newest first; everything after the first $keep goes.
ls -1 "$folder" | grep -E '^campaign-[0-9TZ]+\.dump$' | sort -r | tail -n +"$((keep + 1))" |
    while read -r old; do rm -f "$folder/$old"; done
echo "$folder/campaign-$stamp.dump"
