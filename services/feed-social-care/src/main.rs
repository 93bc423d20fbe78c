//! The social-care feed service.
fn main() -> anyhow::Result<()> {
    mash_feed::cli::main(std::sync::Arc::new(mash_feed_social_care::Adapter))
}
