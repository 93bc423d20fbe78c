//! The feed of any agency described by configuration (`--agency-mapping`).

use mash_alloc as _;

fn main() -> anyhow::Result<()> {
    mash_feed::cli::main_mapped()
}
