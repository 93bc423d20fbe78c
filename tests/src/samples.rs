//! Latency and count samples for the benchmarks, kept whole and sorted on
//! demand. A benchmark records at most a few million values, so exact
//! quantiles cost little, and the workspace needs no histogram crate (the
//! one it had enabled `byteorder/default`, a feature set that differed
//! between `cargo build --workspace` and `cargo run`, so `up` rebuilt half
//! the workspace after a full build).

/// Recorded values, in arrival order.
#[derive(Debug, Default, Clone)]
pub struct Samples(Vec<u64>);

impl Samples {
    pub fn record(&mut self, value: u64) {
        self.0.push(value);
    }

    pub fn merge(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    pub fn len(&self) -> u64 {
        self.0.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The smallest recorded value with at least `quantile` of the values at
    /// or below it (nearest rank); 0 when nothing was recorded.
    pub fn value_at_quantile(&self, quantile: f64) -> u64 {
        if self.0.is_empty() {
            return 0;
        }
        let mut sorted = self.0.clone();
        let rank = ((quantile.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        *sorted.select_nth_unstable(rank - 1).1
    }

    pub fn max(&self) -> u64 {
        self.0.iter().copied().max().unwrap_or(0)
    }

    pub fn mean(&self) -> f64 {
        if self.0.is_empty() { 0.0 } else { self.0.iter().map(|&v| v as f64).sum::<f64>() / self.0.len() as f64 }
    }
}

#[cfg(test)]
mod tests {
    use super::Samples;

    #[test]
    fn quantiles_are_nearest_rank() {
        let mut s = Samples::default();
        assert_eq!(s.value_at_quantile(0.5), 0);
        for v in (1..=100).rev() {
            s.record(v);
        }
        let cases = [(0.0, 1), (0.01, 1), (0.5, 50), (0.99, 99), (0.999, 100), (1.0, 100)];
        for (q, want) in cases {
            assert_eq!(s.value_at_quantile(q), want, "quantile {q}");
        }
        assert_eq!((s.max(), s.len()), (100, 100));
        assert!((s.mean() - 50.5).abs() < 1e-9);
        let mut other = Samples::default();
        other.record(1_000);
        s.merge(other);
        assert_eq!((s.max(), s.len()), (1_000, 101));
    }
}
