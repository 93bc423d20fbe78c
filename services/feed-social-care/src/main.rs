//! The social-care feed service.

use mash_alloc as _;

fn main() -> anyhow::Result<()> {
    mash_feed::cli::main(std::sync::Arc::new(mash_feed_social_care::Adapter))
}
