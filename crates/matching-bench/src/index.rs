//! The feed's blocking index, in memory: each record under each of its keys.
//! A real feed keys the same map by HMAC blind indexes; the lookups are the same.

use std::collections::HashMap;

use mash_matching::{BlockingKey, MatchRecord, blocking_keys, query_keys};

pub struct FeedIndex {
    by_key: HashMap<BlockingKey, Vec<u32>>,
}

impl FeedIndex {
    /// Indexes records by their position in `records`.
    pub fn build<'a>(records: impl IntoIterator<Item = &'a MatchRecord>) -> Self {
        let mut by_key: HashMap<BlockingKey, Vec<u32>> = HashMap::new();
        for (position, record) in records.into_iter().enumerate() {
            for key in blocking_keys(record) {
                by_key.entry(key).or_default().push(position as u32);
            }
        }
        Self { by_key }
    }

    pub fn keys(&self) -> usize {
        self.by_key.len()
    }

    /// Positions of the records sharing at least one key with `query`'s
    /// [`query_keys`], each once, in order.
    pub fn candidates(&self, query: &MatchRecord, out: &mut Vec<u32>) {
        out.clear();
        for key in query_keys(query) {
            if let Some(positions) = self.by_key.get(&key) {
                out.extend_from_slice(positions);
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}
