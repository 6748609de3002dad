use crate::RRset;

/// When and how often an RRset was observed.
///
/// Times are integer seconds since the Unix epoch, as DNSDB and COF carry them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Seen {
    pub time_first: i64,
    pub time_last: i64,
    pub count: u64,
}

impl Seen {
    /// One observation at `time`.
    pub fn once(time: i64) -> Seen {
        Seen {
            time_first: time,
            time_last: time,
            count: 1,
        }
    }

    /// The one merge rule of passive DNS: min first, max last, sum of counts.
    ///
    /// Associative and commutative, so observations may be merged in any order and grouping
    /// (per response, per flush, per sensor, in the store) and still give the same row.
    pub fn merge(&mut self, other: &Seen) {
        self.time_first = self.time_first.min(other.time_first);
        self.time_last = self.time_last.max(other.time_last);
        self.count = self.count.saturating_add(other.count);
    }
}

/// An aggregated RRset observation: identity plus statistics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    pub rrset: RRset,
    pub seen: Seen,
}

/// An aggregated observation whose RRset is lent by the aggregator that made it: the
/// encoding (by [`RRset::encode`], in this process, under [`RRset`]'s invariants) and the
/// statistics. What a sensor hands a sink at a flush, without a copy per row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodedObservation<'a> {
    pub encoded: &'a [u8],
    pub seen: Seen,
}

impl EncodedObservation<'_> {
    /// An owned observation, the RRset copied out of the borrowed encoding.
    pub fn to_observation(&self) -> Observation {
        Observation {
            rrset: RRset::from_encoded_trusted(self.encoded),
            seen: self.seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(first: i64, last: i64, count: u64) -> Seen {
        Seen {
            time_first: first,
            time_last: last,
            count,
        }
    }

    fn merged(mut a: Seen, b: Seen) -> Seen {
        a.merge(&b);
        a
    }

    #[test]
    fn merge_takes_min_first_max_last_and_sums_counts() {
        assert_eq!(merged(seen(10, 20, 2), seen(5, 15, 3)), seen(5, 20, 5));
    }

    #[test]
    fn merge_is_associative_and_commutative() {
        let parts = [
            seen(7, 9, 1),
            seen(3, 30, 4),
            seen(12, 12, 2),
            seen(1, 2, 8),
        ];
        let forward = parts.iter().skip(1).fold(parts[0], |a, b| merged(a, *b));
        let backward = parts
            .iter()
            .rev()
            .skip(1)
            .fold(parts[3], |a, b| merged(a, *b));
        let grouped = merged(merged(parts[0], parts[2]), merged(parts[3], parts[1]));
        assert_eq!(forward, seen(1, 30, 15));
        assert_eq!(backward, forward);
        assert_eq!(grouped, forward);
    }

    #[test]
    fn merge_saturates_instead_of_overflowing() {
        assert_eq!(merged(seen(1, 1, u64::MAX), seen(1, 1, 5)).count, u64::MAX);
    }
}
