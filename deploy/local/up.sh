#!/usr/bin/env bash
# Starts the broker and the four feeds as five separate processes on this
# machine, each with its own config file (config/*.toml), certificate, key
# ring and SQLite database, and waits until each is serving. down.sh stops
# them. Unlike `mashctl up`, nothing runs in-process and no demo data is
# loaded.
#
# MASH_LOCAL_POSTGRES=postgres://… puts each service in its own schema of
# that PostgreSQL database instead (mash_local_broker, mash_local_feed_police,
# …), given to it in its environment, which overrides its config file.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ -z "${MASH_LOCAL_BIN:-}" ]]; then
    (cd "$repo" && cargo build --quiet -p mash-broker -p mash-feed-police -p mash-feed-health \
        -p mash-feed-education -p mash-feed-social-care -p mashctl)
fi
mkdir -p "$state/logs" "$state/pids"
# Development certificates and keys; kept if they already exist.
"$bin_dir/mashctl" pki --out "$state" --base-port "$base_port" >/dev/null

database_env() {
    local service="$1" variable=MASH_FEED_DATABASE_URL schema="mash_local_${1//-/_}"
    [[ "$service" == broker ]] && variable=MASH_BROKER_DATABASE_URL
    [[ -n "${MASH_LOCAL_POSTGRES:-}" ]] || return 0
    PGOPTIONS='--client-min-messages=warning' psql -q "$MASH_LOCAL_POSTGRES" -c "CREATE SCHEMA IF NOT EXISTS $schema"
    local separator='?'
    [[ "$MASH_LOCAL_POSTGRES" == *\?* ]] && separator='&'
    echo "$variable=${MASH_LOCAL_POSTGRES}${separator}options=-c%20search_path%3D$schema"
}

running() { [[ -f "$state/pids/$1.pid" ]] && alive "$(cat "$state/pids/$1.pid")"; }

# Each service's log is appended to, so that a restart keeps what the last
# run said (why it died, say); readiness is read only from this run's part.
declare -A log_start
this_run() { tail -c "+$((${log_start[$1]:-0} + 1))" "$state/logs/$1.log" 2>/dev/null; }

for service in "${services[@]}"; do
    if running "$service"; then
        echo "$service already running (pid $(cat "$state/pids/$service.pid"))"
        continue
    fi
    database="$(database_env "$service")"
    log_start[$service]="$(stat -c %s "$state/logs/$service.log" 2>/dev/null || echo 0)"
    # Relative paths in the config files are relative to the state directory.
    # The policy directory comes from the environment, which overrides the file.
    (
        cd "$state"
        export MASH_POLICY_DIR="$repo/policy" MASH_LOG="${MASH_LOG:-info}"
        [[ -z "$database" ]] || export "$database"
        exec "$bin_dir/mash-$service" --config "$here/config/$service.toml"
    ) >>"$state/logs/$service.log" 2>&1 &
    echo $! >"$state/pids/$service.pid"
done

# A service prints "health on …" once its database is migrated and both its
# ports are bound.
for service in "${services[@]}"; do
    for _ in $(seq 300); do
        this_run "$service" | grep -q '^health on ' && break
        if ! running "$service"; then
            echo "$service failed to start; its log ($state/logs/$service.log):" >&2
            this_run "$service" | tail -n 20 >&2
            "$here/down.sh" >&2
            exit 1
        fi
        sleep 0.1
    done
    this_run "$service" | grep -q '^health on ' || { echo "$service did not start in 30 s" >&2; "$here/down.sh" >&2; exit 1; }
    printf '%-17s pid %-7s %s\n' "$service" "$(cat "$state/pids/$service.pid")" \
        "$(this_run "$service" | grep -h '^listening on \|^health on ' | tr '\n' ' ')"
done
echo "ready: MASH_ENDPOINTS=$state/endpoints.json mashctl …; stop with $here/down.sh"
