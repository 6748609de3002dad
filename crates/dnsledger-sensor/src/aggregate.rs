//! Aggregation: one row per RRset identity, merged in memory until a flush.

use dnsledger_rrset::{Observation, RRset, Seen};
use hashbrown::HashMap;

/// Distinct RRsets seen since the last flush, with their merged statistics.
///
/// Bounded: once `max_rrsets` distinct RRsets are held, [`Aggregator::is_full`] says so and
/// the sensor drains it to its sink. Draining early is safe because sinks merge with the
/// same associative rule; it only makes the output hold partial rows for the same RRset.
///
/// Statistics are kept apart per UTC day (of an observation's first time), so that every
/// observation leaving the aggregator lies within one day: the store's per-day activity
/// histogram counts each one on its day.
#[derive(Debug)]
pub struct Aggregator {
    rows: HashMap<RRset, Days>,
    max_rrsets: usize,
}

/// One RRset's statistics per day; nearly always a single day, held without allocating.
#[derive(Debug)]
enum Days {
    One(i64, Seen),
    Many(Vec<(i64, Seen)>),
}

const SECONDS_PER_DAY: i64 = 86_400;

impl Days {
    fn new(seen: Seen) -> Days {
        Days::One(seen.time_first.div_euclid(SECONDS_PER_DAY), seen)
    }

    fn add(&mut self, seen: &Seen) {
        let day = seen.time_first.div_euclid(SECONDS_PER_DAY);
        match self {
            Days::One(held_day, held) if *held_day == day => held.merge(seen),
            Days::One(held_day, held) => *self = Days::Many(vec![(*held_day, *held), (day, *seen)]),
            Days::Many(days) => match days.iter_mut().find(|(held_day, _)| *held_day == day) {
                Some((_, held)) => held.merge(seen),
                None => days.push((day, *seen)),
            },
        }
    }

    fn into_observations(self, rrset: RRset, out: &mut Vec<Observation>) {
        match self {
            Days::One(_, seen) => out.push(Observation { rrset, seen }),
            Days::Many(days) => out.extend(days.into_iter().map(|(_, seen)| Observation {
                rrset: rrset.clone(),
                seen,
            })),
        }
    }
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
            Some(days) => days.add(&Seen::once(time)),
            None => {
                self.rows.insert(
                    RRset::from_encoded_trusted(encoded),
                    Days::new(Seen::once(time)),
                );
            }
        }
    }

    /// Merges an already aggregated observation (from a file of them, say).
    pub fn merge(&mut self, observation: Observation) {
        match self.rows.get_mut(observation.rrset.encoded()) {
            Some(days) => days.add(&observation.seen),
            None => {
                self.rows
                    .insert(observation.rrset, Days::new(observation.seen));
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

    /// Everything held, in identity then time order (so output is deterministic), leaving
    /// it empty.
    pub fn drain(&mut self) -> Vec<Observation> {
        let mut out = Vec::with_capacity(self.rows.len());
        for (rrset, days) in self.rows.drain() {
            days.into_observations(rrset, &mut out);
        }
        out.sort_unstable_by(|a, b| {
            a.rrset
                .cmp(&b.rrset)
                .then(a.seen.time_first.cmp(&b.seen.time_first))
        });
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

    #[test]
    fn days_stay_apart_so_each_observation_lies_within_one() {
        let mut agg = Aggregator::new(10);
        let rdata: [&[u8]; 1] = [&[192, 0, 2, 1]];
        let midnight = 20_000 * SECONDS_PER_DAY;
        for time in [midnight - 10, midnight + 5, midnight - 1, midnight + 7] {
            agg.observe(&encoded(&rdata), time);
        }
        assert_eq!(agg.len(), 1, "one RRset held");
        let rows = agg.drain();
        let seen: Vec<Seen> = rows.iter().map(|row| row.seen).collect();
        assert_eq!(
            seen,
            [
                Seen {
                    time_first: midnight - 10,
                    time_last: midnight - 1,
                    count: 2
                },
                Seen {
                    time_first: midnight + 5,
                    time_last: midnight + 7,
                    count: 2
                },
            ]
        );
    }
}
