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
