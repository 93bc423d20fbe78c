#!/usr/bin/env bash
# Stops what up.sh started: SIGTERM to each service (the broker first, so no
# check is in flight when its feeds go), then waits for it to exit. A service
# still running after 15 s is killed, and the script fails.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

status=0
for ((i = ${#services[@]} - 1; i >= 0; i--)); do
    service="${services[i]}"
    pidfile="$state/pids/$service.pid"
    [[ -f "$pidfile" ]] || continue
    pid="$(cat "$pidfile")"
    if alive "$pid" && kill -TERM "$pid" 2>/dev/null; then
        for _ in $(seq 150); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            echo "$service (pid $pid) ignored SIGTERM for 15 s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
            status=1
        else
            echo "$service stopped"
        fi
    fi
    rm -f "$pidfile"
done
exit "$status"
