//! Row values and the merge operator:
//! `varint time_first | varint time_last | varint count | [activity]`.
//!
//! The activity is a per-day (UTC) histogram of the row's observation counts, bounded in
//! size: it holds at most [`MAX_BUCKETS`] buckets between the row's first and last day, so
//! a row whose span is longer uses buckets of 2, 4, 8... days (the smallest power of two
//! that fits), aligned on multiples of that width since the epoch. The width depends on
//! the merged span only, and coarsening aligned buckets is exact, so merging in any order
//! or grouping gives the same bytes. Values written before format version 2 have no
//! activity; a row merged from both kinds counts only its newer observations in it.

use dnsledger_rrset::Seen;

/// The most buckets an activity holds: 128 days at daily resolution.
pub const MAX_BUCKETS: u32 = 128;
/// Seconds in one day-sized bucket (level 0).
pub const DAY: i64 = 86_400;

/// A per-day histogram of observation counts, sparse: only buckets with a count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activity {
    /// Buckets are `2^level` days wide.
    level: u8,
    /// `(bucket index, count)`, ascending by index; index = day since the epoch >> level.
    buckets: Vec<(u32, u64)>,
}

impl Activity {
    /// The width of one bucket in seconds.
    pub fn bucket_seconds(&self) -> i64 {
        DAY << self.level
    }

    /// Each bucket with a count, as (its first second since the epoch, count), ascending.
    pub fn buckets(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        let width = self.bucket_seconds();
        self.buckets
            .iter()
            .map(move |&(index, count)| (i64::from(index) * width, count))
    }

    /// The sum of the bucket counts.
    pub fn total(&self) -> u64 {
        self.buckets
            .iter()
            .fold(0u64, |sum, &(_, count)| sum.saturating_add(count))
    }

    /// The activity of `seen` taken as one observation batch: its whole count on the day
    /// of its first time. Sensors cut their aggregation at UTC midnight, so their batches
    /// lie within one day; an imported aggregate spanning days is counted on its first.
    fn of(seen: &Seen) -> Activity {
        let first_day = day_of(seen.time_first);
        let level = level_for(first_day, day_of(seen.time_last));
        let buckets = match seen.count {
            0 => Vec::new(),
            count => vec![(first_day >> level, count)],
        };
        Activity { level, buckets }
    }

    /// The sum of buckets `(level, index at that level, count)`, coarsened to the level
    /// that the span `seen` needs.
    fn sum(seen: &Seen, parts: &[(u8, u32, u64)]) -> Activity {
        let level = level_for(day_of(seen.time_first), day_of(seen.time_last));
        let mut buckets: Vec<(u32, u64)> = parts
            .iter()
            .map(|&(part_level, index, count)| (index >> level.saturating_sub(part_level), count))
            .collect();
        buckets.sort_unstable_by_key(|&(index, _)| index);
        buckets.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0;
            if same {
                earlier.1 = earlier.1.saturating_add(later.1);
            }
            same
        });
        Activity { level, buckets }
    }

    fn encode(&self, seen: &Seen, out: &mut Vec<u8>) {
        out.push(self.level);
        push_varint(out, self.buckets.len() as u64);
        let mut previous = u64::from(day_of(seen.time_first) >> self.level);
        for &(index, count) in &self.buckets {
            push_varint(out, u64::from(index) - previous);
            push_varint(out, count);
            previous = u64::from(index);
        }
    }

    /// Reads an activity for `seen` and checks it: the level its span needs, at most
    /// [`MAX_BUCKETS`] ascending buckets within the span, no empty bucket.
    fn decode(seen: &Seen, bytes: &mut &[u8]) -> Option<Activity> {
        let mut buckets = Vec::new();
        let level = Activity::walk(seen, bytes, |_, index, count| buckets.push((index, count)))?;
        Some(Activity { level, buckets })
    }

    /// Reads an activity for `seen` as [`Activity::decode`] does, handing each bucket
    /// (level, index, count) to `each` instead of keeping it; returns the level, or `None`
    /// when the activity is not valid (some buckets may have been handed over by then).
    fn walk(seen: &Seen, bytes: &mut &[u8], mut each: impl FnMut(u8, u32, u64)) -> Option<u8> {
        let (&level, rest) = bytes.split_first()?;
        *bytes = rest;
        let (first_day, last_day) = (day_of(seen.time_first), day_of(seen.time_last));
        if level != level_for(first_day, last_day) {
            return None;
        }
        let n = take_varint(bytes)?;
        if n > u64::from(MAX_BUCKETS) {
            return None;
        }
        let (low, high) = (first_day >> level, last_day >> level);
        let mut index = u64::from(low);
        for position in 0..n {
            let gap = take_varint(bytes)?;
            if position > 0 && gap == 0 {
                return None;
            }
            index = index.checked_add(gap)?;
            let count = take_varint(bytes)?;
            if index > u64::from(high) || count == 0 {
                return None;
            }
            each(level, index as u32, count);
        }
        Some(level)
    }
}

/// The day since the epoch of `time` (times before 1970 count as 1970).
fn day_of(time: i64) -> u32 {
    u32::try_from(time.max(0) / DAY).unwrap_or(u32::MAX)
}

/// The smallest level whose buckets cover `first..=last` (days) in at most [`MAX_BUCKETS`].
fn level_for(first_day: u32, last_day: u32) -> u8 {
    (0u8..32)
        .find(|&level| (last_day >> level) - (first_day >> level) < MAX_BUCKETS)
        .unwrap_or(31)
}

/// A decoded row value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub seen: Seen,
    /// `None` for values written before format version 2.
    pub activity: Option<Activity>,
}

/// The value of one observation batch: its times and count, and its activity.
pub fn encoded(seen: &Seen) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    encode_seen(seen, &mut out);
    out
}

/// [`encoded`], appended to `out`.
pub fn encode_seen(seen: &Seen, out: &mut Vec<u8>) {
    let value = Value {
        seen: clamped(seen),
        activity: Some(Activity::of(seen)),
    };
    encode(&value, out);
}

/// Times before 1970 are stored as 0: passive DNS has none.
fn clamped(seen: &Seen) -> Seen {
    Seen {
        time_first: seen.time_first.max(0),
        time_last: seen.time_last.max(0),
        count: seen.count,
    }
}

/// `value` in the stored encoding (rows in transit between a shard and a router).
pub fn to_bytes(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    encode(value, &mut out);
    out
}

fn encode(value: &Value, out: &mut Vec<u8>) {
    let seen = &value.seen;
    push_varint(out, seen.time_first as u64);
    push_varint(out, seen.time_last as u64);
    push_varint(out, seen.count);
    if let Some(activity) = &value.activity {
        activity.encode(seen, out);
    }
}

/// The times and count in `bytes`, without reading the activity (the hot path of scans
/// that do not show it); `None` if they do not decode.
pub fn decode_seen(bytes: &[u8]) -> Option<Seen> {
    take_seen(&mut &bytes[..])
}

/// The whole value in `bytes`, or `None` if they are not exactly one valid value.
pub fn decode(bytes: &[u8]) -> Option<Value> {
    let mut rest = bytes;
    let seen = take_seen(&mut rest)?;
    let activity = match rest.is_empty() {
        true => None,
        false => Some(Activity::decode(&seen, &mut rest)?),
    };
    rest.is_empty().then_some(Value { seen, activity })
}

fn take_seen(bytes: &mut &[u8]) -> Option<Seen> {
    let in_range = |t: u64| i64::try_from(t).ok();
    let time_first = in_range(take_varint(bytes)?)?;
    let time_last = in_range(take_varint(bytes)?)?;
    let count = take_varint(bytes)?;
    (time_first <= time_last).then_some(Seen {
        time_first,
        time_last,
        count,
    })
}

/// Merges an existing value and operands: [`Seen::merge`] for the times and count, the sum
/// of the activities at the level of the merged span. An operand that does not decode is
/// skipped rather than poisoning the row (it cannot come from this crate).
///
/// Called for every group of equal keys in a write and by RocksDB's merge operator, so it
/// reads each operand in place: one buffer gathers the buckets, none is built per operand.
pub fn merge<'a>(
    existing: Option<&'a [u8]>,
    operands: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<u8> {
    let mut merged: Option<Seen> = None;
    let mut with_activity = false;
    let mut buckets: Vec<(u8, u32, u64)> = Vec::new();
    for bytes in existing.into_iter().chain(operands) {
        let mut rest = bytes;
        let Some(seen) = take_seen(&mut rest) else {
            continue;
        };
        if !rest.is_empty() {
            let kept = buckets.len();
            let walked = Activity::walk(&seen, &mut rest, |level, index, count| {
                buckets.push((level, index, count));
            });
            if walked.is_none() || !rest.is_empty() {
                buckets.truncate(kept);
                continue;
            }
            with_activity = true;
        }
        match &mut merged {
            Some(merged) => merged.merge(&seen),
            None => merged = Some(seen),
        }
    }
    let Some(seen) = merged else {
        return Vec::new();
    };
    let activity = with_activity.then(|| Activity::sum(&seen, &buckets));
    let mut out = Vec::with_capacity(24);
    encode(&Value { seen, activity }, &mut out);
    out
}

pub(crate) fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub(crate) fn take_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
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

    fn buckets(bytes: &[u8]) -> Vec<(i64, u64)> {
        decode(bytes).unwrap().activity.unwrap().buckets().collect()
    }

    /// A version-1 value: times and count only.
    fn v1(value: Seen) -> Vec<u8> {
        let mut out = Vec::new();
        encode(
            &Value {
                seen: value,
                activity: None,
            },
            &mut out,
        );
        out
    }

    #[test]
    fn values_round_trip() {
        for value in [
            seen(0, 0, 1),
            seen(1_700_000_000, 1_800_000_000, u64::MAX),
            seen(5, 7, 300),
        ] {
            assert_eq!(decode(&encoded(&value)).unwrap().seen, value);
            assert_eq!(decode_seen(&encoded(&value)), Some(value));
        }
        let never = seen(5, 7, 0);
        assert_eq!(
            decode(&encoded(&never)).unwrap().activity.unwrap().total(),
            0
        );
    }

    #[test]
    fn merge_applies_min_max_sum_in_any_order() {
        let a = encoded(&seen(10, 20, 1));
        let b = encoded(&seen(5, 15, 2));
        let c = encoded(&seen(12, 30, 3));
        let forward = merge(Some(&a), [&b[..], &c[..]]);
        let backward = merge(Some(&c), [&b[..], &a[..]]);
        assert_eq!(decode(&forward).unwrap().seen, seen(5, 30, 6));
        assert_eq!(forward, backward);
        assert_eq!(merge(None, [&a[..]]), a);
    }

    #[test]
    fn activity_counts_each_batch_on_its_day() {
        let day = |d: i64| d * DAY;
        let merged = merge(
            None,
            [
                &encoded(&seen(day(100) + 5, day(100) + 9, 2))[..],
                &encoded(&seen(day(102) + 1, day(102) + 1, 1))[..],
                &encoded(&seen(day(100) + 50, day(100) + 60, 4))[..],
            ],
        );
        assert_eq!(buckets(&merged), [(day(100), 6), (day(102), 1)]);
        assert_eq!(
            decode(&merged).unwrap().activity.unwrap().bucket_seconds(),
            DAY
        );
    }

    #[test]
    fn a_long_span_coarsens_to_aligned_buckets_whatever_the_order() {
        let day = |d: i64| d * DAY;
        let parts: Vec<Vec<u8>> = (0..300)
            .map(|d| encoded(&seen(day(1000 + d), day(1000 + d), 1)))
            .collect();
        let forward = merge(None, parts.iter().map(Vec::as_slice));
        let backward = merge(None, parts.iter().rev().map(Vec::as_slice));
        // Pairs merged first, then the pairs: another grouping of the same operands.
        let pairs: Vec<Vec<u8>> = parts
            .chunks(2)
            .map(|pair| merge(None, pair.iter().map(Vec::as_slice)))
            .collect();
        let grouped = merge(None, pairs.iter().rev().map(Vec::as_slice));
        assert_eq!(forward, backward);
        assert_eq!(forward, grouped);
        let activity = decode(&forward).unwrap().activity.unwrap();
        assert_eq!(
            activity.bucket_seconds(),
            4 * DAY,
            "300 days need 4-day buckets"
        );
        assert_eq!(activity.total(), 300);
        assert!(activity.buckets().count() <= MAX_BUCKETS as usize);
        assert!(activity.buckets().all(|(start, _)| start % (4 * DAY) == 0));
    }

    #[test]
    fn version_1_values_still_merge_and_their_counts_stay_out_of_the_activity() {
        let old = v1(seen(10, 20, 5));
        assert_eq!(decode(&old).unwrap().activity, None);
        let merged = merge(Some(&old), [&encoded(&seen(30, 40, 2))[..]]);
        let value = decode(&merged).unwrap();
        assert_eq!(value.seen, seen(10, 40, 7));
        assert_eq!(value.activity.unwrap().total(), 2);
        assert_eq!(merge(Some(&old), [&old[..]]), v1(seen(10, 20, 10)));
    }

    #[test]
    fn damaged_bytes_do_not_decode() {
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[0x80]), None);
        assert_eq!(decode(&[0xff; 11]), None, "overlong varint");
        assert_eq!(decode(&[2, 1, 1]), None, "first after last");
        let good = encoded(&seen(DAY, DAY, 3));
        assert!(decode(&good).is_some());
        // The activity's last bytes: level, bucket count, gap, count.
        let at = |from_end: usize| good.len() - from_end;
        let mut wrong_level = good.clone();
        wrong_level[at(4)] = 1;
        assert_eq!(decode(&wrong_level), None);
        let mut outside_span = good.clone();
        outside_span[at(2)] = 9;
        assert_eq!(decode(&outside_span), None);
        let mut empty_bucket = good.clone();
        *empty_bucket.last_mut().unwrap() = 0;
        assert_eq!(decode(&empty_bucket), None);
        let mut trailing = good;
        trailing.push(0);
        assert_eq!(decode(&trailing), None);
    }
}
