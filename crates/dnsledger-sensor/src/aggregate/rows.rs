//! The aggregator's rows: open addressing with linear probing over one array.
//!
//! Why not a general hash table: the slot where a fingerprint's probe starts is known as
//! soon as the fingerprint is, so the aggregator can prefetch it while it encodes the
//! response's other RRsets ([`RowTable::prefetch`]); and the rows of one RRset on several
//! days, which share a fingerprint, are found in one walk of the same run of slots.

use std::ops::Range;

use dnsledger_rrset::{prefetch, Seen};

use crate::fingerprint::Fingerprint;

/// One RRset's statistics on one day, the day of `seen.time_first`.
#[derive(Clone, Debug)]
#[repr(align(64))]
pub(super) struct Row {
    pub(super) fingerprint: Fingerprint,
    pub(super) seen: Seen,
    /// Where the RRset's encoding lies in the aggregator's identity buffer (shared by its
    /// days). Never empty in a held row: an empty range marks a vacant slot.
    pub(super) identity: Range<usize>,
}

pub(super) const SECONDS_PER_DAY: i64 = 86_400;

pub(super) fn day_of(time: i64) -> i64 {
    time.div_euclid(SECONDS_PER_DAY)
}

impl Row {
    const VACANT: Row = Row {
        fingerprint: Fingerprint::ZERO,
        seen: Seen {
            time_first: 0,
            time_last: 0,
            count: 0,
        },
        identity: 0..0,
    };

    fn is_vacant(&self) -> bool {
        self.identity.is_empty()
    }

    fn day(&self) -> i64 {
        day_of(self.seen.time_first)
    }
}

/// What [`RowTable::merge`] found for a fingerprint and day.
pub(super) enum Found {
    /// The row of that day, merged into.
    Merged,
    /// No row of that day; the RRset's identity if a row of another day holds it.
    Absent { identity: Option<Range<usize>> },
}

/// Rows by (fingerprint, day); at most three quarters of the slots are taken, so a probe
/// walks a short run of neighbouring slots (which the hardware prefetches after the first).
#[derive(Debug)]
pub(super) struct RowTable {
    /// A power of two of slots.
    slots: Vec<Row>,
    len: usize,
}

const INITIAL_SLOTS: usize = 1024;

impl RowTable {
    pub(super) fn new() -> RowTable {
        RowTable {
            slots: vec![Row::VACANT; INITIAL_SLOTS],
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn home(&self, fingerprint: Fingerprint) -> usize {
        fingerprint.table_hash() as usize & (self.slots.len() - 1)
    }

    /// Starts loading the slot where the probe for `fingerprint` begins.
    pub(super) fn prefetch(&self, fingerprint: Fingerprint) {
        prefetch(&self.slots[self.home(fingerprint)]);
    }

    /// Merges `seen` into the row of `fingerprint` on `seen`'s day, if there is one.
    pub(super) fn merge(&mut self, fingerprint: Fingerprint, seen: &Seen) -> Found {
        let day = day_of(seen.time_first);
        let mask = self.slots.len() - 1;
        let mut at = self.home(fingerprint);
        let mut identity = None;
        loop {
            let row = &mut self.slots[at];
            if row.is_vacant() {
                return Found::Absent { identity };
            }
            if row.fingerprint == fingerprint {
                if row.day() == day {
                    row.seen.merge(seen);
                    return Found::Merged;
                }
                identity = Some(row.identity.clone());
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds a row that [`RowTable::merge`] found absent.
    pub(super) fn insert(&mut self, row: Row) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        self.place(row);
        self.len += 1;
    }

    fn place(&mut self, row: Row) {
        let mask = self.slots.len() - 1;
        let mut at = self.home(row.fingerprint);
        while !self.slots[at].is_vacant() {
            at = (at + 1) & mask;
        }
        self.slots[at] = row;
    }

    fn grow(&mut self) {
        let doubled = vec![Row::VACANT; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        for row in old.into_iter().filter(|row| !row.is_vacant()) {
            self.place(row);
        }
    }

    /// Takes every row out, leaving the table empty with its slots.
    pub(super) fn drain(&mut self) -> impl Iterator<Item = Row> + '_ {
        self.len = 0;
        self.slots
            .iter_mut()
            .filter(|row| !row.is_vacant())
            .map(|row| std::mem::replace(row, Row::VACANT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::Fingerprinter;

    fn row(fingerprint: Fingerprint, time: i64, identity: Range<usize>) -> Row {
        Row {
            fingerprint,
            seen: Seen::once(time),
            identity,
        }
    }

    #[test]
    fn rows_are_found_by_fingerprint_and_day_through_growth_and_drained_once() {
        let fingerprints = Fingerprinter::new();
        let mut table = RowTable::new();
        let keys: Vec<Fingerprint> = (0..5_000u32)
            .map(|key| fingerprints.of(&[&key.to_be_bytes()]))
            .collect();
        for (index, &fingerprint) in keys.iter().enumerate() {
            assert!(matches!(
                table.merge(fingerprint, &Seen::once(10)),
                Found::Absent { identity: None }
            ));
            table.insert(row(fingerprint, 10, index..index + 1));
        }
        assert_eq!(table.len(), keys.len());
        assert!(table.slots.len() * 3 >= keys.len() * 4, "grown past 3/4");
        for &fingerprint in &keys {
            assert!(matches!(
                table.merge(fingerprint, &Seen::once(20)),
                Found::Merged
            ));
            let next_day = Seen::once(20 + SECONDS_PER_DAY);
            let Found::Absent { identity: Some(_) } = table.merge(fingerprint, &next_day) else {
                panic!("the other day's row shares its identity");
            };
        }
        let mut drained: Vec<Row> = table.drain().collect();
        drained.sort_by_key(|row| row.identity.start);
        assert_eq!(drained.len(), keys.len());
        for (index, row) in drained.iter().enumerate() {
            assert_eq!(row.identity, index..index + 1);
            assert_eq!((row.seen.count, row.seen.time_last), (2, 20));
        }
        assert_eq!(table.len(), 0);
        assert_eq!(table.drain().count(), 0, "drained rows are gone");
    }
}
