//! What the match-quality benchmarks share: estimating a feed's weights from
//! its own data ([`train`]), the in-memory blocking index ([`index`]) and reading the FEBRL data sets ([`febrl`]).

pub mod febrl;
pub mod index;
pub mod train;
