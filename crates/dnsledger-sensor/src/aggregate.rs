//! Aggregation: one row per RRset identity and day, merged in memory until a flush.

use std::ops::Range;

use dnsledger_rrset::{
    prefetch, EncodedObservation, Fingerprint, Fingerprinter, Observation, ProbeTable, Seen, Slot,
};

/// Distinct RRsets seen since the last flush, with their merged statistics.
///
/// Bounded: once `max_rrsets` distinct RRsets are held, [`Aggregator::is_full`] says so and
/// the sensor drains it to its sink. Draining early is safe because sinks merge with the
/// same associative rule; it only makes the output hold partial rows for the same RRset.
///
/// Statistics are kept apart per UTC day (of an observation's first time), so that every
/// observation leaving the aggregator lies within one day: the store's per-day activity
/// histogram counts each one on its day.
///
/// Layout: rows are found by a keyed 128-bit fingerprint of the RRset's encoding held in
/// the row itself, next to the statistics, one cache line per row: a probe that finds its
/// RRset reads that line and nothing else (see [`dnsledger_rrset::Fingerprinter`] for why equal
/// fingerprints may be taken for equal RRsets). A caller that knows several RRsets ahead
/// fingerprints them first and prefetches their rows ([`Aggregator::prefetch`]), so that
/// their cache misses overlap. The identities, needed only for the output, are appended to
/// one buffer rather than allocated one by one: no allocation per new RRset, and a flush
/// lends them to the sink from there ([`Aggregator::drain_encoded`]).
#[derive(Debug)]
pub struct Aggregator {
    rows: ProbeTable<Row>,
    /// The encoded identities of the rows' RRsets, one after the other.
    identities: Vec<u8>,
    fingerprints: Fingerprinter,
    /// Distinct RRsets held: rows less the extra days of RRsets seen on several days.
    rrsets: usize,
    max_rrsets: usize,
}

/// An RRset's fingerprint under one aggregator's key: what [`Aggregator::prefetch`] and
/// [`Aggregator::observe_fingerprinted`] take.
#[derive(Clone, Copy, Debug)]
pub struct RRsetFingerprint(Fingerprint);

/// One RRset's statistics on one day, the day of `seen.time_first`; the rows of one RRset
/// on several days share its fingerprint and its identity.
#[derive(Clone, Debug)]
#[repr(align(64))]
struct Row {
    fingerprint: Fingerprint,
    seen: Seen,
    /// Where the RRset's encoding lies in [`Aggregator::identities`].
    identity: Range<usize>,
}

impl Slot for Row {
    const VACANT: Row = Row {
        fingerprint: Fingerprint::VACANT,
        seen: Seen {
            time_first: 0,
            time_last: 0,
            count: 0,
        },
        identity: 0..0,
    };

    fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
}

const SECONDS_PER_DAY: i64 = 86_400;

fn day_of(time: i64) -> i64 {
    time.div_euclid(SECONDS_PER_DAY)
}

impl Row {
    fn day(&self) -> i64 {
        day_of(self.seen.time_first)
    }
}

impl Aggregator {
    pub fn new(max_rrsets: usize) -> Aggregator {
        Aggregator {
            rows: ProbeTable::new(),
            identities: Vec::new(),
            fingerprints: Fingerprinter::new(),
            rrsets: 0,
            max_rrsets: max_rrsets.max(1),
        }
    }

    /// Counts one observation at `time` (seconds) of the RRset encoded in `encoded` (by
    /// [`dnsledger_rrset::RRset::encode`]); true when the RRset was not held for that day
    /// before. Never allocates but to grow its table and identity buffer.
    pub fn observe(&mut self, encoded: &[u8], time: i64) -> bool {
        let fingerprint = self.fingerprint(encoded);
        self.observe_fingerprinted(fingerprint, encoded, time)
    }

    /// The fingerprint of the RRset encoded in `encoded`, for the two calls below.
    pub fn fingerprint(&self, encoded: &[u8]) -> RRsetFingerprint {
        RRsetFingerprint(self.fingerprints.of(&[encoded]))
    }

    /// Starts loading the row `fingerprint` will be counted in, ahead of
    /// [`Aggregator::observe_fingerprinted`].
    pub fn prefetch(&self, fingerprint: RRsetFingerprint) {
        self.rows.prefetch(fingerprint.0);
    }

    /// [`Aggregator::observe`] with the fingerprint of `encoded` already computed.
    pub fn observe_fingerprinted(
        &mut self,
        fingerprint: RRsetFingerprint,
        encoded: &[u8],
        time: i64,
    ) -> bool {
        self.add(fingerprint.0, Seen::once(time), encoded)
    }

    /// Merges an already aggregated observation (from a file of them, say).
    pub fn merge(&mut self, observation: Observation) {
        let encoded = observation.rrset.encoded();
        let fingerprint = self.fingerprints.of(&[encoded]);
        self.add(fingerprint, observation.seen, encoded);
    }

    /// Merges `seen` into the row of its day, creating the row when there is none (and
    /// keeping `encoded` unless the RRset is held for another day); true when it created
    /// one.
    fn add(&mut self, fingerprint: Fingerprint, seen: Seen, encoded: &[u8]) -> bool {
        let day = day_of(seen.time_first);
        let mut other_day = None;
        let held = self.rows.find_mut(fingerprint, |row| {
            let same_day = row.day() == day;
            if !same_day {
                other_day = Some(row.identity.clone());
            }
            same_day
        });
        if let Some(row) = held {
            row.seen.merge(&seen);
            return false;
        }
        let identity = other_day.unwrap_or_else(|| {
            self.rrsets += 1;
            let start = self.identities.len();
            self.identities.extend_from_slice(encoded);
            start..self.identities.len()
        });
        self.rows.insert(Row {
            fingerprint,
            seen,
            identity,
        });
        true
    }

    pub fn is_full(&self) -> bool {
        self.rrsets >= self.max_rrsets
    }

    /// Distinct RRsets held (an RRset seen on several days counts once).
    pub fn len(&self) -> usize {
        self.rrsets
    }

    pub fn is_empty(&self) -> bool {
        self.rows.len() == 0
    }

    /// Everything held, as owned observations in identity then time order, leaving it
    /// empty: [`Aggregator::drain_encoded`] for callers that keep the rows.
    pub fn drain(&mut self) -> Vec<Observation> {
        self.drain_encoded(|rows| {
            rows.iter()
                .map(EncodedObservation::to_observation)
                .collect()
        })
    }

    /// Lends everything held to `take`, in identity then time order (so output is
    /// deterministic), and leaves it empty: the rows borrow their identities from the
    /// aggregator, so a sink that only reads them costs no allocation per row.
    ///
    /// Each row is sorted with the first 16 bytes of its identity beside it, so that most
    /// comparisons are of two integers in the array being sorted and only ties read the
    /// identities.
    pub fn drain_encoded<R>(&mut self, take: impl FnOnce(&[EncodedObservation<'_>]) -> R) -> R {
        self.rrsets = 0;
        let identities = &self.identities;
        let mut rows: Vec<([u64; 2], Range<usize>, Seen)> = self
            .rows
            .drain()
            .map(|row| ([0; 2], row.identity, row.seen))
            .collect();
        // The table's order is no order in the identity buffer: each identity is a cache
        // miss, prefetched a few rows ahead.
        for index in 0..rows.len() {
            if let Some((_, ahead, _)) = rows.get(index + IDENTITIES_PREFETCHED_AHEAD) {
                prefetch(&identities[ahead.start]);
            }
            let (prefix, identity, _) = &mut rows[index];
            *prefix = sort_prefix(&identities[identity.clone()]);
        }
        rows.sort_unstable_by(|(prefix_a, a, seen_a), (prefix_b, b, seen_b)| {
            prefix_a.cmp(prefix_b).then_with(|| {
                identities[a.clone()]
                    .cmp(&identities[b.clone()])
                    .then(seen_a.time_first.cmp(&seen_b.time_first))
            })
        });
        // No larger than the sorted rows and aligned alike: collected in place.
        let rows: Vec<EncodedObservation<'_>> = rows
            .into_iter()
            .map(|(_, identity, seen)| EncodedObservation {
                encoded: &identities[identity],
                seen,
            })
            .collect();
        let taken = take(&rows);
        drop(rows);
        self.identities.clear();
        taken
    }
}

/// How many rows ahead a flush prefetches the identities it reads.
const IDENTITIES_PREFETCHED_AHEAD: usize = 8;

/// The first 16 bytes of `bytes` (zero bytes past its end) as two big-endian integers: two
/// byte strings whose prefixes differ compare as their prefixes do.
fn sort_prefix(bytes: &[u8]) -> [u64; 2] {
    let prefix: [u8; 16] = match bytes.first_chunk() {
        Some(first) => *first,
        None => {
            let mut padded = [0u8; 16];
            padded[..bytes.len()].copy_from_slice(bytes);
            padded
        }
    };
    let value = u128::from_be_bytes(prefix);
    // Two halves rather than one u128, whose 16-byte alignment would keep the sorted rows
    // from being collected in place.
    [(value >> 64) as u64, value as u64]
}

#[cfg(test)]
mod tests {
    use super::*;
    use dnsledger_rrset::RRset;

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
        assert!(agg.observe(&encoded(&rdata), 20), "new");
        assert!(!agg.observe(&encoded(&rdata), 10), "held");
        assert!(!agg.observe(&encoded(&rdata), 30), "held");
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
    fn merged_rows_join_observed_ones_per_day() {
        let mut agg = Aggregator::new(10);
        let rdata: [&[u8]; 1] = [&[192, 0, 2, 1]];
        let bytes = encoded(&rdata);
        let rrset = RRset::from_encoded(&bytes).unwrap();
        let day = 20_000 * SECONDS_PER_DAY;
        agg.observe(&bytes, day + 50);
        let merged = |first, last, count| Observation {
            rrset: rrset.clone(),
            seen: Seen {
                time_first: first,
                time_last: last,
                count,
            },
        };
        agg.merge(merged(day + 10, day + 20, 4));
        agg.merge(merged(day - 30, day - 20, 2));
        assert_eq!(agg.len(), 1, "one RRset held");
        let rows: Vec<(RRset, Seen)> = agg.drain().into_iter().map(|o| (o.rrset, o.seen)).collect();
        assert_eq!(
            rows,
            [
                (
                    rrset.clone(),
                    Seen {
                        time_first: day - 30,
                        time_last: day - 20,
                        count: 2
                    }
                ),
                (
                    rrset,
                    Seen {
                        time_first: day + 10,
                        time_last: day + 50,
                        count: 5
                    }
                ),
            ]
        );
    }

    #[test]
    fn drain_orders_by_identity_also_past_the_sort_prefix() {
        let mut agg = Aggregator::new(100);
        let mut expected = Vec::new();
        // Owners sharing their first 16 bytes or more, and short ones.
        let owners: [&[u8]; 5] = [
            b"\x13a-long-shared-label\x01b\x00",
            b"\x13a-long-shared-label\x01a\x00",
            b"\x01z\x00",
            b"\x00",
            b"\x13a-long-shared-label\x00",
        ];
        for (time, owner) in owners.iter().enumerate() {
            for rdata in [[192, 0, 2, 9], [192, 0, 2, 1]] {
                let mut bytes = Vec::new();
                RRset::encode(&mut bytes, owner, 1, None, [&rdata[..]]);
                agg.observe(&bytes, time as i64);
                expected.push(RRset::from_encoded(&bytes).unwrap());
            }
        }
        expected.sort();
        let drained: Vec<RRset> = agg.drain().into_iter().map(|o| o.rrset).collect();
        assert_eq!(drained, expected);
    }

    #[test]
    fn lent_rows_come_in_the_order_of_owned_ones_and_leave_it_empty() {
        let fill = |agg: &mut Aggregator| {
            for (time, last) in [(5, 9), (1, 1), (3, 200), (2, 9)] {
                let rdata: [&[u8]; 1] = [&[192, 0, 2, last]];
                agg.observe(&encoded(&rdata), time);
            }
        };
        let mut agg = Aggregator::new(10);
        fill(&mut agg);
        let owned = agg.drain();
        fill(&mut agg);
        let lent: Vec<Observation> = agg.drain_encoded(|rows| {
            rows.iter()
                .map(EncodedObservation::to_observation)
                .collect()
        });
        assert_eq!(lent, owned);
        assert_eq!(owned.len(), 3);
        assert_eq!((agg.is_empty(), agg.len()), (true, 0));
        assert_eq!(agg.drain_encoded(|rows| rows.len()), 0);
    }

    #[test]
    fn days_stay_apart_so_each_observation_lies_within_one() {
        let mut agg = Aggregator::new(10);
        let rdata: [&[u8]; 1] = [&[192, 0, 2, 1]];
        let midnight = 20_000 * SECONDS_PER_DAY;
        let created: Vec<bool> = [midnight - 10, midnight + 5, midnight - 1, midnight + 7]
            .into_iter()
            .map(|time| agg.observe(&encoded(&rdata), time))
            .collect();
        assert_eq!(created, [true, true, false, false], "a row per day");
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
