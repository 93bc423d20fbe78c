//! The feed of any agency described by configuration (`--agency-mapping`).
fn main() -> anyhow::Result<()> {
    mash_feed::cli::main_mapped()
}
