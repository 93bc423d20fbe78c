//! The broker binary, built as part of this package so that tests can start
//! broker processes with `env!("CARGO_BIN_EXE_broker-process")` (Cargo sets
//! that only for the binaries of the package under test). It is exactly
//! `mash-broker`: the same flags, environment and `--config` file.

use mash_alloc as _;

fn main() -> anyhow::Result<()> {
    mash_broker::cli::main()
}
