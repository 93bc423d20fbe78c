//! The generator's own pseudo-random numbers. A library PRNG may change its
//! stream between versions; this one cannot, so a seed names the same
//! population on every platform for ever. Only integer arithmetic and exact
//! float comparisons are used, never `powf` or `ln`, whose last bit can
//! differ between platforms.

/// SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit counter run through a
/// strong finaliser. Small, fast, and good enough for synthetic data.
#[derive(Clone)]
pub(crate) struct Rng(u64);

/// Independent streams, so that adding draws to one part of the generator
/// never shifts the numbers another part sees.
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    Family = 1,
    Seed = 2,
    Police = 3,
    Health = 4,
    Education = 5,
    SocialCare = 6,
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// The stream for one `key` (a family) of one part of the generator.
    pub(crate) fn keyed(seed: u64, stream: Stream, key: u64) -> Self {
        Rng(mix(mix(seed ^ (stream as u64).wrapping_mul(GOLDEN)) ^ key))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2^-40 for
    /// the small `n` used here).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `low..=high`.
    pub(crate) fn between(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as u64) as i64
    }

    pub(crate) fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// True with probability `p` (values outside 0..=1 saturate).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        // 53 random bits convert to f64 exactly.
        ((self.next_u64() >> 11) as f64) < p * (1u64 << 53) as f64
    }

    /// An index drawn with the given integer weights.
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut draw = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if draw < u64::from(*w) {
                return i;
            }
            draw -= u64::from(*w);
        }
        weights.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_fixed_for_ever() {
        // Changing these values changes every generated population.
        let mut rng = Rng::keyed(42, Stream::Family, 7);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(first, [0xb22d_9c4f_9568_f550, 0xfc7c_6183_e6ad_2519, 0x4608_45f7_07e6_e7c0]);
        assert_ne!(first[0], Rng::keyed(42, Stream::Health, 7).next_u64());
        assert_ne!(first[0], Rng::keyed(43, Stream::Family, 7).next_u64());
    }

    #[test]
    fn draws_stay_in_range_and_chance_tracks_p() {
        let mut rng = Rng::keyed(1, Stream::Seed, 0);
        assert!((0..10_000).all(|_| (3..=5).contains(&rng.between(3, 5))));
        let hits = (0..100_000).filter(|_| rng.chance(0.25)).count();
        assert!((24_000..26_000).contains(&hits), "{hits}");
        assert!(!(0..1000).any(|_| rng.chance(0.0)));
        assert!((0..1000).all(|_| rng.chance(1.0)));
    }
}
