#!/usr/bin/env bash
# The backup and restore procedure of docs/operations.md, run end to end on
# the five separate processes of up.sh: record data, back every database up
# while the services run, record more, stop, restore, start, and check that
# exactly the backed-up state is back (the enquiry opens, the check finds the
# feed's record, the disclosure log verifies with the backed-up entry count).
#
# Usage: backup-restore-check.sh [sqlite|postgres]   (default sqlite)
# postgres uses MASH_LOCAL_POSTGRES, by default the test server
# postgres://postgres@127.0.0.1:5432/test.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

backend="${1:-sqlite}"
work="$(mktemp -d)"
export MASH_LOCAL_DIR="$work/state" MASH_ENDPOINTS="$work/state/endpoints.json"
if [[ "$backend" == postgres ]]; then
    export MASH_LOCAL_POSTGRES="${MASH_LOCAL_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
    export PGOPTIONS='--client-min-messages=warning'
fi
drop_schemas() {
    [[ "$backend" == postgres ]] || return 0
    for service in "${services[@]}"; do
        psql -q "$MASH_LOCAL_POSTGRES" -c "DROP SCHEMA IF EXISTS mash_local_${service//-/_} CASCADE"
    done
}
drop_schemas
cleanup() { "$here/down.sh" >/dev/null 2>&1 || true; drop_schemas; rm -rf "$work"; }
trap cleanup EXIT

mashctl() { "$bin_dir/mashctl" "$@"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
entries() { mashctl --as ian-ig log verify | sed -n 's/^intact: \([0-9]*\) entries.*/\1/p'; }
open_enquiry() {
    mashctl --as rita-researcher enquiry open --level 3 --purpose "Police notification: domestic incident" \
        --subject "child:given=$1,family=Lee,dob=2016-04-12,nhs=$2" | awk '/^enquiry /{print $2}'
}
push_record() {
    printf '{"record_id":"%s","version":1,"given_name":"%s","family_name":"Lee","date_of_birth":"2016-04-12","nhs_number":"%s","incident_ref":"%s","category":"police/domestic-abuse","role":"child-present","occurred_on":"2026-09-14","summary":"Domestic incident","location":"12 Example Road","officer_in_case":"PC 123"}\n' \
        "$1" "$2" "$3" "$1" >"$work/extract.jsonl"
    mashctl --as agency-police push --agency police "$work/extract.jsonl" >/dev/null
}

"$here/up.sh" >/dev/null
echo "1. state before the backup: one record, one enquiry, one check"
push_record P-1 Amy 4010232137
kept="$(open_enquiry Amy 4010232137)"
mashctl --as rita-researcher check "$kept" | grep -q 'WYP\|P-1' || fail "the check before the backup found nothing"
before="$(entries)"

echo "2. back up every database while the services run"
mkdir -p "$work/backup"
for service in "${services[@]}"; do
    if [[ "$backend" == sqlite ]]; then
        # The online backup API (sqlite3's .backup): a consistent copy while writers run.
        sqlite3 "$MASH_LOCAL_DIR/$service.db" ".backup '$work/backup/$service.db'"
    else
        pg_dump --format=custom --schema="mash_local_${service//-/_}" --file="$work/backup/$service.dump" "$MASH_LOCAL_POSTGRES"
    fi
done

echo "3. state after the backup, which the restore must undo"
push_record P-2 Bea 9434765919
lost="$(open_enquiry Bea 9434765919)"
mashctl --as rita-researcher check "$lost" >/dev/null
after="$(entries)"
(( after > before )) || fail "the second check added no log entries ($before then $after)"

echo "4. stop, restore, start"
"$here/down.sh" >/dev/null
for service in "${services[@]}"; do
    if [[ "$backend" == sqlite ]]; then
        # The WAL and shared-memory files belong to the old database: remove them too.
        rm -f "$MASH_LOCAL_DIR/$service.db" "$MASH_LOCAL_DIR/$service.db-wal" "$MASH_LOCAL_DIR/$service.db-shm"
        cp "$work/backup/$service.db" "$MASH_LOCAL_DIR/$service.db"
    else
        schema="mash_local_${service//-/_}"
        psql -q "$MASH_LOCAL_POSTGRES" -c "DROP SCHEMA $schema CASCADE"
        pg_restore --exit-on-error --dbname="$MASH_LOCAL_POSTGRES" "$work/backup/$service.dump"
    fi
done
"$here/up.sh" >/dev/null

echo "5. exactly the backed-up state is back"
restored="$(entries)"
[[ "$restored" == "$before" ]] || fail "the log has $restored entries after the restore; $before were backed up"
mashctl --as rita-researcher enquiry show "$kept" | grep -q Amy || fail "the backed-up enquiry does not open"
if mashctl --as rita-researcher enquiry show "$lost" >/dev/null 2>&1; then
    fail "an enquiry opened after the backup survived the restore"
fi
mashctl --as rita-researcher check "$kept" | grep -q 'WYP\|P-1' || fail "the restored feed no longer finds the record"
echo "backup and restore ($backend): ok ($before log entries backed up, $after before the restore, $restored after it, chain and checkpoints verified)"
