//! IP fragment reassembly (IPv4 and IPv6), bounded per datagram and globally, expired by
//! packet time.
//!
//! Overlaps: a fragment repeating bytes already received with the same content is accepted
//! (counted as overlapping; the first copy is kept). Overlapping fragments that *disagree*, or
//! disagree about where the datagram ends, make the whole datagram unusable: it is discarded
//! (counted as conflicting) and its later fragments are ignored until it expires, since a
//! passive observer cannot know which version the receiver kept.

use std::net::IpAddr;

use hashbrown::HashMap;

use crate::decoder::Limits;
use crate::stats::DecodeStats;

/// At most this many fragments make up one datagram (more are counted over the limit).
pub const MAX_FRAGMENTS_PER_DATAGRAM: usize = 256;

/// Identifies the datagram a fragment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Identification field.
    pub id: u32,
    /// IPv4 protocol (0 for IPv6, whose key has no protocol).
    pub proto: u8,
}

#[derive(Debug)]
struct Pending {
    data: Vec<u8>,
    /// Received byte ranges, sorted, disjoint and not adjacent.
    ranges: Vec<(u32, u32)>,
    total: Option<u32>,
    first_ts: i64,
    /// Upper protocol, known once the fragment at offset 0 arrived.
    proto: Option<u8>,
    fragments: usize,
    conflict: bool,
}

impl Pending {
    fn is_complete(&self) -> bool {
        matches!(self.total, Some(t) if self.ranges.len() == 1 && self.ranges[0] == (0, t))
    }
}

/// One fragment to add.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<'a> {
    /// Byte offset in the datagram's payload.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
    /// Upper protocol if this fragment says (IPv4: always; IPv6: the fragment header's next
    /// header, meaningful at offset 0).
    pub proto: u8,
    /// The fragment's bytes.
    pub data: &'a [u8],
}

/// Datagrams being reassembled.
#[derive(Debug, Default)]
pub struct FragTable {
    pending: HashMap<FragKey, Pending>,
    bytes: usize,
}

impl FragTable {
    /// Adds a fragment. When it completes its datagram, the datagram's payload is moved into
    /// `out` (replacing its content) and its upper protocol is returned.
    pub fn add(
        &mut self,
        key: FragKey,
        frag: Fragment<'_>,
        ts: i64,
        limits: &Limits,
        stats: &mut DecodeStats,
        out: &mut Vec<u8>,
    ) -> Option<u8> {
        stats.fragments += 1;
        let len = frag.data.len() as u64;
        let end = u64::from(frag.offset) + len;
        if len == 0 || (frag.more && !len.is_multiple_of(8)) || end > 65_535 {
            stats.fragments_invalid += 1;
            return None;
        }
        let end = end as u32;
        if end as usize > limits.max_fragment_bytes_per_datagram {
            stats.fragments_over_limit += 1;
            return None;
        }
        if !self.pending.contains_key(&key) {
            if self.pending.len() >= limits.max_fragment_datagrams {
                stats.fragments_over_limit += 1;
                return None;
            }
            self.pending.insert(
                key,
                Pending {
                    data: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                    first_ts: ts,
                    proto: None,
                    fragments: 0,
                    conflict: false,
                },
            );
        }
        let p = self.pending.get_mut(&key)?;
        if p.conflict {
            return None;
        }
        if p.fragments >= MAX_FRAGMENTS_PER_DATAGRAM {
            stats.fragments_over_limit += 1;
            return None;
        }
        let grow = (end as usize).saturating_sub(p.data.len());
        if self.bytes + grow > limits.max_fragment_bytes_total {
            stats.fragments_over_limit += 1;
            if p.ranges.is_empty() {
                self.pending.remove(&key);
            }
            return None;
        }
        if conflicts(p, &frag, end) {
            stats.fragments_conflicting += 1;
            self.bytes -= p.data.len();
            p.conflict = true;
            p.data = Vec::new();
            p.ranges = Vec::new();
            return None;
        }
        if overlaps(&p.ranges, frag.offset, end) {
            stats.fragments_overlapping += 1;
        }
        if grow > 0 {
            p.data.resize(end as usize, 0);
            self.bytes += grow;
        }
        p.data[frag.offset as usize..end as usize].copy_from_slice(frag.data);
        insert_range(&mut p.ranges, frag.offset, end);
        p.fragments += 1;
        if !frag.more {
            p.total = Some(end);
        }
        if frag.offset == 0 {
            p.proto = Some(frag.proto);
        }
        if !p.is_complete() {
            return None;
        }
        let done = self.pending.remove(&key)?;
        self.bytes -= done.data.len();
        stats.fragments_reassembled += 1;
        let mut data = done.data;
        data.truncate(end.max(done.total.unwrap_or(0)) as usize);
        *out = data;
        done.proto
    }

    /// Drops datagrams whose first fragment is older than the timeout.
    pub fn expire(&mut self, now: i64, limits: &Limits, stats: &mut DecodeStats) {
        let deadline = now.saturating_sub(limits.fragment_timeout_nanos);
        let bytes = &mut self.bytes;
        self.pending.retain(|_, p| {
            if p.first_ts >= deadline {
                return true;
            }
            if !p.conflict {
                stats.fragments_expired += 1;
            }
            *bytes -= p.data.len();
            false
        });
    }

    /// Drops everything, counting incomplete datagrams.
    pub fn finish(&mut self, stats: &mut DecodeStats) {
        let open = self.pending.values().filter(|p| !p.conflict).count();
        stats.fragments_incomplete_at_finish += open as u64;
        self.pending = HashMap::new();
        self.bytes = 0;
    }

    /// Datagrams in flight.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Whether the fragment disagrees with what was received: different bytes where it
/// overlaps, a different end, or data beyond the known end.
fn conflicts(p: &Pending, frag: &Fragment<'_>, end: u32) -> bool {
    match p.total {
        Some(t) if end > t || (!frag.more && end != t) => return true,
        None if !frag.more && p.ranges.last().is_some_and(|&(_, e)| e > end) => return true,
        _ => {}
    }
    for &(s, e) in &p.ranges {
        let a = s.max(frag.offset);
        let b = e.min(end);
        if a < b {
            let old = &p.data[a as usize..b as usize];
            let new = &frag.data[(a - frag.offset) as usize..(b - frag.offset) as usize];
            if old != new {
                return true;
            }
        }
    }
    false
}

fn overlaps(ranges: &[(u32, u32)], start: u32, end: u32) -> bool {
    ranges.iter().any(|&(s, e)| s < end && start < e)
}

/// Inserts `[start, end)` into sorted disjoint ranges, merging overlapping and adjacent ones.
fn insert_range(ranges: &mut Vec<(u32, u32)>, start: u32, end: u32) {
    let mut s = start;
    let mut e = end;
    let mut out = Vec::with_capacity(ranges.len() + 1);
    let mut placed = false;
    for &(a, b) in ranges.iter() {
        if b < s {
            out.push((a, b));
        } else if e < a {
            if !placed {
                out.push((s, e));
                placed = true;
            }
            out.push((a, b));
        } else {
            s = s.min(a);
            e = e.max(b);
        }
    }
    if !placed {
        out.push((s, e));
    }
    *ranges = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge() {
        let mut r = Vec::new();
        insert_range(&mut r, 16, 24);
        insert_range(&mut r, 0, 8);
        assert_eq!(r, vec![(0, 8), (16, 24)]);
        insert_range(&mut r, 8, 16);
        assert_eq!(r, vec![(0, 24)]);
        insert_range(&mut r, 40, 48);
        insert_range(&mut r, 4, 44);
        assert_eq!(r, vec![(0, 48)]);
    }

    fn key() -> FragKey {
        FragKey {
            src: "192.0.2.1".parse().unwrap(),
            dst: "192.0.2.2".parse().unwrap(),
            id: 1,
            proto: 17,
        }
    }

    fn frag(offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            offset,
            more,
            proto: 17,
            data,
        }
    }

    #[test]
    fn reassembles_in_any_order_and_detects_conflicts() {
        let limits = Limits::default();
        let mut st = DecodeStats::default();
        let mut t = FragTable::default();
        let mut out = Vec::new();
        let a = [1u8; 8];
        let b = [2u8; 8];
        let c = [3u8; 3];
        assert_eq!(
            t.add(key(), frag(16, false, &c), 0, &limits, &mut st, &mut out),
            None
        );
        assert_eq!(
            t.add(key(), frag(0, true, &a), 0, &limits, &mut st, &mut out),
            None
        );
        assert_eq!(t.bytes(), 19);
        assert_eq!(
            t.add(key(), frag(8, true, &b), 0, &limits, &mut st, &mut out),
            Some(17)
        );
        assert_eq!(out, [&a[..], &b[..], &c[..]].concat());
        assert_eq!((t.len(), t.bytes()), (0, 0));
        // conflicting overlap: datagram discarded, later fragments ignored
        t.add(key(), frag(0, true, &a), 0, &limits, &mut st, &mut out);
        t.add(key(), frag(0, true, &b), 0, &limits, &mut st, &mut out);
        assert_eq!(st.fragments_conflicting, 1);
        assert_eq!(
            t.add(key(), frag(8, false, &b), 0, &limits, &mut st, &mut out),
            None
        );
        assert_eq!(t.bytes(), 0);
        t.expire(limits.fragment_timeout_nanos + 1, &limits, &mut st);
        assert_eq!((t.len(), st.fragments_expired), (0, 0));
        // invalid: non-last fragment not a multiple of 8; beyond 64 KiB
        t.add(key(), frag(0, true, &c), 0, &limits, &mut st, &mut out);
        t.add(
            key(),
            frag(65_528, false, &a),
            0,
            &limits,
            &mut st,
            &mut out,
        );
        assert_eq!(st.fragments_invalid, 2);
    }
}
