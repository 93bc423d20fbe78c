//! The MASH broker service.
fn main() -> anyhow::Result<()> {
    mash_broker::cli::main()
}
