//! Aggregation: one row per RRset identity, merged in memory until a flush.

use dnsledger_rrset::{Observation, RRset, Seen};
use hashbrown::HashMap;

/// Distinct RRsets seen since the last flush, with their merged statistics.
///
/// Bounded: once `max_rrsets` distinct RRsets are held, [`Aggregator::is_full`] says so and
/// the sensor drains it to its sink. Draining early is safe because sinks merge with the
/// same associative rule; it only makes the output hold partial rows for the same RRset.
#[derive(Debug)]
pub struct Aggregator {
    rows: HashMap<RRset, Seen>,
    max_rrsets: usize,
}

impl Aggregator {
    pub fn new(max_rrsets: usize) -> Aggregator {
        Aggregator {
            rows: HashMap::new(),
            max_rrsets: max_rrsets.max(1),
        }
    }

    /// Counts one observation at `time` (seconds) of the RRset encoded in `encoded` (by
    /// [`RRset::encode`]). Allocates only for an RRset not already held.
    pub fn observe(&mut self, encoded: &[u8], time: i64) {
        match self.rows.get_mut(encoded) {
            Some(seen) => seen.merge(&Seen::once(time)),
            None => {
                self.rows
                    .insert(RRset::from_encoded_trusted(encoded), Seen::once(time));
            }
        }
    }

    /// Merges an already aggregated observation (from a file of them, say).
    pub fn merge(&mut self, observation: Observation) {
        match self.rows.get_mut(observation.rrset.encoded()) {
            Some(seen) => seen.merge(&observation.seen),
            None => {
                self.rows.insert(observation.rrset, observation.seen);
            }
        }
    }

    pub fn is_full(&self) -> bool {
        self.rows.len() >= self.max_rrsets
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Everything held, in identity order (so output is deterministic), leaving it empty.
    pub fn drain(&mut self) -> Vec<Observation> {
        let mut out: Vec<Observation> = self
            .rows
            .drain()
            .map(|(rrset, seen)| Observation { rrset, seen })
            .collect();
        out.sort_unstable_by(|a, b| a.rrset.cmp(&b.rrset));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(rdata: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        let owner = b"\x03www\x07example\x03com\x00";
        RRset::encode(
            &mut out,
            owner,
            1,
            Some(b"\x07example\x03com\x00"),
            rdata.iter().copied(),
        );
        out
    }

    #[test]
    fn the_same_rrset_merges_into_one_row() {
        let mut agg = Aggregator::new(10);
        let rdata: [&[u8]; 1] = [&[192, 0, 2, 1]];
        agg.observe(&encoded(&rdata), 20);
        agg.observe(&encoded(&rdata), 10);
        agg.observe(&encoded(&rdata), 30);
        let rows = agg.drain();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].seen,
            Seen {
                time_first: 10,
                time_last: 30,
                count: 3
            }
        );
        assert!(agg.is_empty());
    }

    #[test]
    fn a_different_rdata_set_is_another_row_and_fills_the_bound() {
        let mut agg = Aggregator::new(2);
        let one: [&[u8]; 1] = [&[192, 0, 2, 1]];
        let two: [&[u8]; 2] = [&[192, 0, 2, 1], &[192, 0, 2, 2]];
        agg.observe(&encoded(&one), 1);
        assert!(!agg.is_full());
        agg.observe(&encoded(&two), 1);
        assert!(agg.is_full());
        assert_eq!(agg.drain().len(), 2);
    }
}
