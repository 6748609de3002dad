//! Row values and the merge operator: `varint time_first | varint time_last | varint count`.

use dnsledger_rrset::Seen;

/// Appends the encoding of `seen`. Times before 1970 are stored as 0: passive DNS has none.
pub fn encode(seen: &Seen, out: &mut Vec<u8>) {
    push_varint(out, seen.time_first.max(0) as u64);
    push_varint(out, seen.time_last.max(0) as u64);
    push_varint(out, seen.count);
}

pub fn encoded(seen: &Seen) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    encode(seen, &mut out);
    out
}

/// The value in `bytes`, or `None` if they are not exactly one encoded value.
pub fn decode(bytes: &[u8]) -> Option<Seen> {
    let mut rest = bytes;
    let time_first = take_varint(&mut rest)?;
    let time_last = take_varint(&mut rest)?;
    let count = take_varint(&mut rest)?;
    let in_range = |t: u64| i64::try_from(t).ok();
    rest.is_empty().then_some(Seen {
        time_first: in_range(time_first)?,
        time_last: in_range(time_last)?,
        count,
    })
}

/// Merges an existing value and operands with [`Seen::merge`]. An operand that does not
/// decode is skipped rather than poisoning the row (it cannot come from this crate).
pub fn merge<'a>(
    existing: Option<&'a [u8]>,
    operands: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<u8> {
    let mut all = existing.into_iter().chain(operands).filter_map(decode);
    let Some(mut merged) = all.next() else {
        return Vec::new();
    };
    for seen in all {
        merged.merge(&seen);
    }
    encoded(&merged)
}

fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn take_varint(bytes: &mut &[u8]) -> Option<u64> {
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

    #[test]
    fn values_round_trip() {
        for value in [
            seen(0, 0, 1),
            seen(1_700_000_000, 1_800_000_000, u64::MAX),
            seen(5, 7, 300),
        ] {
            assert_eq!(decode(&encoded(&value)), Some(value));
        }
    }

    #[test]
    fn merge_applies_min_max_sum_in_any_order() {
        let a = encoded(&seen(10, 20, 1));
        let b = encoded(&seen(5, 15, 2));
        let c = encoded(&seen(12, 30, 3));
        let forward = merge(Some(&a), [&b[..], &c[..]]);
        let backward = merge(Some(&c), [&b[..], &a[..]]);
        assert_eq!(decode(&forward), Some(seen(5, 30, 6)));
        assert_eq!(forward, backward);
        assert_eq!(merge(None, [&a[..]]), a);
    }

    #[test]
    fn damaged_bytes_do_not_decode() {
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[0x80]), None);
        assert_eq!(decode(&[1, 2, 3, 4]), None, "trailing bytes");
        assert_eq!(decode(&[0xff; 11]), None, "overlong varint");
    }
}
