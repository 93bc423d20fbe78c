# Shared by up.sh, down.sh and backup-restore-check.sh: where things are.
# MASH_LOCAL_DIR: the state directory (certificates, keys, databases, logs,
# pids); MASH_LOCAL_BIN: a directory of already built binaries (then nothing
# is built).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
state="${MASH_LOCAL_DIR:-$repo/target/mash-local}"
bin_dir="${MASH_LOCAL_BIN:-${CARGO_TARGET_DIR:-$repo/target}/debug}"
# Feeds first, so that the broker's first checks find them up.
services=(feed-police feed-health feed-education feed-social-care broker)
base_port=7400

# Whether process $1 is alive. `kill -0` alone also succeeds for a zombie: a
# service killed (e.g. by kill -9 or the OOM killer) whose parent has not
# reaped it yet, which must count as stopped so that up.sh starts it again.
alive() {
    local status
    kill -0 "$1" 2>/dev/null || return 1
    status="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
    [[ -n "$status" && "$status" != Z* ]]
}
