//! The MASH broker service.

use mash_alloc as _;

fn main() -> anyhow::Result<()> {
    mash_broker::cli::main()
}
