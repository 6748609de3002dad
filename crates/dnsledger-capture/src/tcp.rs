//! TCP stream reassembly for DNS over TCP (RFC 7766 framing: 2-byte length prefix).
//!
//! One state per direction, keyed by the 4-tuple. A direction starts at its SYN, or at the
//! first segment with payload if no SYN was seen (best effort: it must look like the start of
//! a message, see below). Retransmitted bytes are trimmed, segments ahead of a gap are
//! buffered (bounded) and used when the gap fills.
//!
//! A gap that never fills is a *hole*: the partial message is dropped and the stream
//! continues at the next buffered segment. A gap is known never to fill when the receiver
//! acknowledges bytes beyond it (the capture lost them, nobody will retransmit them), when the
//! direction's buffer limit is reached, when the gap is older than the TCP timeout, when
//! FIN/RST arrives, and at expiry and finish.
//!
//! After a hole, a bad length prefix (announcing fewer than 12 bytes; the rest of that
//! segment is dropped) or a start without SYN, the direction *resynchronises*: segments are
//! skipped until one plausibly starts at a message: a lone length prefix, a chain of whole
//! messages ending exactly at the segment's end, or a segment of at least 512 bytes whose
//! last message continues beyond it.
//!
//! Messages get the timestamp of the segment that supplied their last byte. Closed
//! directions linger (without buffers) for 5 s so that late retransmissions are ignored
//! instead of starting a bogus mid-stream direction; a new SYN reopens them.

use std::net::IpAddr;

use hashbrown::HashMap;

use crate::decoder::{ChecksumStatus, DnsPayload, Limits, Transport};
use crate::stats::DecodeStats;

/// TCP flag bits.
pub const FIN: u8 = 0x01;
/// SYN flag.
pub const SYN: u8 = 0x02;
/// RST flag.
pub const RST: u8 = 0x04;
/// ACK flag.
pub const ACK: u8 = 0x10;

/// Smallest DNS message (its header).
const MIN_DNS_MESSAGE: usize = 12;
/// Out-of-order segments buffered per direction (besides the byte limit).
const MAX_OOO_SEGMENTS: usize = 256;
/// Closed directions are kept (without buffers, to ignore late retransmissions) this long
/// after their last segment, or the TCP timeout if shorter.
const CLOSED_LINGER_NANOS: i64 = 5_000_000_000;
/// While resynchronising, a segment whose last message continues beyond it is accepted as a
/// message start only if it is at least this long (a full-sized segment of a large message).
const RESYNC_MIN_PARTIAL_SEGMENT: usize = 512;

/// One direction of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// Sender address.
    pub src: IpAddr,
    /// Receiver address.
    pub dst: IpAddr,
    /// Sender port.
    pub sport: u16,
    /// Receiver port.
    pub dport: u16,
}

impl FlowKey {
    fn reverse(&self) -> FlowKey {
        FlowKey {
            src: self.dst,
            dst: self.src,
            sport: self.dport,
            dport: self.sport,
        }
    }
}

/// A segment's TCP fields that matter here.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags byte.
    pub flags: u8,
    /// Payload.
    pub payload: &'a [u8],
    /// Capture time.
    pub ts: i64,
}

#[derive(Debug)]
struct Pending {
    seq: u32,
    ts: i64,
    data: Box<[u8]>,
}

#[derive(Debug, Default)]
struct Stream {
    isn: Option<u32>,
    next_seq: u32,
    /// Highest acknowledgement seen from the receiver.
    acked: Option<u32>,
    /// Bytes of an incomplete message, starting at its length prefix.
    buf: Vec<u8>,
    /// Segments beyond `next_seq`.
    ooo: Vec<Pending>,
    ooo_bytes: usize,
    /// When the current gap opened.
    gap_since: i64,
    last_ts: i64,
    /// Looking for a segment that starts a message.
    resync: bool,
    closed: bool,
}

impl Stream {
    fn mem(&self) -> usize {
        self.buf.capacity() + self.ooo_bytes
    }

    fn has_partial(&self) -> bool {
        !self.buf.is_empty() || !self.ooo.is_empty()
    }

    /// Whether the receiver acknowledged bytes we never saw (so the gap cannot fill).
    fn gap_acknowledged(&self) -> bool {
        self.acked.is_some_and(|a| seq_diff(a, self.next_seq) > 0)
    }

    fn drop_partial(&mut self) {
        self.buf = Vec::new();
        self.resync = true;
    }
}

/// Where emitted messages go, with the metadata of the current segment.
struct Sink<'e, 'f> {
    key: FlowKey,
    ts: i64,
    emit: &'e mut dyn FnMut(&DnsPayload<'_>),
    stats: &'f mut DecodeStats,
}

impl Sink<'_, '_> {
    #[inline]
    fn message(&mut self, data: &[u8]) {
        self.stats.tcp_messages += 1;
        self.stats.dns_payloads += 1;
        (self.emit)(&DnsPayload {
            ts_nanos: self.ts,
            transport: Transport::Tcp,
            src: self.key.src,
            dst: self.key.dst,
            src_port: self.key.sport,
            dst_port: self.key.dport,
            udp_checksum: ChecksumStatus::NotChecked,
            data,
        });
    }
}

/// All TCP directions being followed.
#[derive(Debug, Default)]
pub struct TcpTable {
    streams: HashMap<FlowKey, Stream>,
    bytes: usize,
}

impl TcpTable {
    /// Processes one segment of a flow with a DNS port.
    pub fn segment(
        &mut self,
        key: FlowKey,
        seg: Segment<'_>,
        limits: &Limits,
        stats: &mut DecodeStats,
        emit: &mut dyn FnMut(&DnsPayload<'_>),
    ) {
        let mut sink = Sink {
            key,
            ts: seg.ts,
            emit,
            stats,
        };
        self.own_direction(seg, limits, &mut sink);
        if seg.flags & ACK != 0 {
            sink.key = key.reverse();
            self.acknowledgement(seg, limits, &mut sink);
        }
    }

    /// The segment's own direction (`sink.key`): its flags and payload.
    fn own_direction(&mut self, seg: Segment<'_>, limits: &Limits, sink: &mut Sink<'_, '_>) {
        let syn = seg.flags & SYN != 0;
        let full = self.streams.len() >= limits.max_tcp_streams;
        let s = match self.streams.get_mut(&sink.key) {
            Some(s) => s,
            None => {
                if !syn && seg.payload.is_empty() {
                    return;
                }
                if full {
                    sink.stats.tcp_over_limit += 1;
                    return;
                }
                sink.stats.tcp_streams += 1;
                let mut s = Stream {
                    next_seq: seg.seq,
                    last_ts: seg.ts,
                    ..Stream::default()
                };
                if syn {
                    s.isn = Some(seg.seq);
                    s.next_seq = seg.seq.wrapping_add(1);
                } else {
                    sink.stats.tcp_midstream_starts += 1;
                    s.resync = true;
                }
                self.streams.entry(sink.key).or_insert(s)
            }
        };
        let before = s.mem();
        if syn && s.isn != Some(seg.seq) {
            if s.isn.is_some() || s.closed || s.has_partial() {
                // A new connection on the same 4-tuple.
                if s.has_partial() {
                    sink.stats.tcp_partial_at_close += 1;
                }
                sink.stats.tcp_streams += 1;
                *s = Stream::default();
            }
            s.isn = Some(seg.seq);
            s.next_seq = seg.seq.wrapping_add(1);
            s.resync = false;
        }
        s.last_ts = s.last_ts.max(seg.ts);
        if s.closed {
            if !seg.payload.is_empty() {
                sink.stats.tcp_segments_after_close += 1;
            }
            return;
        }
        let data_seq = if syn {
            seg.seq.wrapping_add(1)
        } else {
            seg.seq
        };
        let total = self.bytes - before;
        if !seg.payload.is_empty() {
            data(s, data_seq, seg.payload, total, limits, sink);
        }
        if !s.ooo.is_empty() && seg.ts.saturating_sub(s.gap_since) > limits.tcp_timeout_nanos {
            skip_hole(s, total, limits, sink);
        }
        if seg.flags & (FIN | RST) != 0 {
            while !s.ooo.is_empty() {
                skip_hole(s, total, limits, sink);
            }
            if !s.buf.is_empty() {
                sink.stats.tcp_partial_at_close += 1;
            }
            s.buf = Vec::new();
            s.closed = true;
        }
        self.bytes = total + s.mem();
    }

    /// Notes the receiver's acknowledgement on the reverse direction (`sink.key`); a gap there
    /// that the receiver acknowledged will never fill.
    fn acknowledgement(&mut self, seg: Segment<'_>, limits: &Limits, sink: &mut Sink<'_, '_>) {
        let Some(r) = self.streams.get_mut(&sink.key) else {
            return;
        };
        match r.acked {
            Some(a) if seq_diff(seg.ack, a) <= 0 => {}
            _ => r.acked = Some(seg.ack),
        }
        if r.ooo.is_empty() || r.closed || !r.gap_acknowledged() {
            return;
        }
        let before = r.mem();
        let total = self.bytes - before;
        skip_hole(r, total, limits, sink);
        self.bytes = total + r.mem();
    }

    /// Drops directions idle for longer than the timeout (closed ones after a shorter
    /// linger).
    pub fn expire(&mut self, now: i64, limits: &Limits, stats: &mut DecodeStats) {
        let deadline = now.saturating_sub(limits.tcp_timeout_nanos);
        let closed_deadline = now.saturating_sub(limits.tcp_timeout_nanos.min(CLOSED_LINGER_NANOS));
        let bytes = &mut self.bytes;
        self.streams.retain(|_, s| {
            let keep_after = if s.closed { closed_deadline } else { deadline };
            if s.last_ts >= keep_after {
                return true;
            }
            if s.has_partial() {
                stats.tcp_expired_partial += 1;
            }
            if !s.ooo.is_empty() {
                stats.tcp_holes += 1;
            }
            *bytes -= s.mem();
            false
        });
    }

    /// Drops everything, counting partial messages and unfilled gaps.
    pub fn finish(&mut self, stats: &mut DecodeStats) {
        for s in self.streams.values() {
            if s.has_partial() {
                stats.tcp_partial_at_finish += 1;
            }
            if !s.ooo.is_empty() {
                stats.tcp_holes += 1;
            }
        }
        self.streams = HashMap::new();
        self.bytes = 0;
    }

    /// Directions followed (closed ones included until they expire).
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Bytes buffered.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Signed distance from `b` to `a` in sequence space.
#[inline]
fn seq_diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

/// Handles payload bytes starting at sequence number `seq`. `total` is the global byte count
/// without this stream.
fn data(
    s: &mut Stream,
    seq: u32,
    payload: &[u8],
    total: usize,
    limits: &Limits,
    sink: &mut Sink<'_, '_>,
) {
    let rel = seq_diff(seq, s.next_seq);
    if rel > 0 {
        buffer_out_of_order(s, seq, payload, total, limits, sink);
        return;
    }
    let Some(new) = unseen(rel, payload, sink.stats) else {
        return;
    };
    in_order(s, new, total, limits, sink);
    drain_ready(s, total, limits, sink);
}

/// The part of in-order bytes starting `rel` (zero or less) from `next_seq` that was not seen
/// yet (`None` if all was); the bytes before it count as retransmitted.
#[inline]
fn unseen<'b>(rel: i64, bytes: &'b [u8], stats: &mut DecodeStats) -> Option<&'b [u8]> {
    let behind = rel.unsigned_abs() as usize;
    if behind >= bytes.len() {
        stats.tcp_retransmitted_bytes += bytes.len() as u64;
        return None;
    }
    stats.tcp_retransmitted_bytes += behind as u64;
    Some(&bytes[behind..])
}

/// Uses buffered segments that now start at or before `next_seq`.
fn drain_ready(s: &mut Stream, total: usize, limits: &Limits, sink: &mut Sink<'_, '_>) {
    let ts = sink.ts;
    while let Some(i) = earliest(s) {
        let rel = seq_diff(s.ooo[i].seq, s.next_seq);
        if rel > 0 {
            break;
        }
        let seg = s.ooo.swap_remove(i);
        s.ooo_bytes -= seg.data.len();
        let Some(new) = unseen(rel, &seg.data, sink.stats) else {
            continue;
        };
        sink.ts = seg.ts;
        in_order(s, new, total, limits, sink);
    }
    sink.ts = ts;
}

/// Index of the buffered segment with the lowest sequence number (relative to `next_seq`).
fn earliest(s: &Stream) -> Option<usize> {
    (0..s.ooo.len()).min_by_key(|&i| seq_diff(s.ooo[i].seq, s.next_seq))
}

fn buffer_out_of_order(
    s: &mut Stream,
    seq: u32,
    payload: &[u8],
    total: usize,
    limits: &Limits,
    sink: &mut Sink<'_, '_>,
) {
    sink.stats.tcp_out_of_order_segments += 1;
    if total + s.mem() + payload.len() > limits.max_tcp_bytes_total {
        sink.stats.tcp_over_limit += 1;
        return;
    }
    if s.ooo.is_empty() {
        s.gap_since = sink.ts;
    }
    s.ooo.push(Pending {
        seq,
        ts: sink.ts,
        data: payload.into(),
    });
    s.ooo_bytes += payload.len();
    while !s.ooo.is_empty()
        && (s.gap_acknowledged()
            || s.mem() > limits.max_tcp_bytes_per_stream
            || s.ooo.len() > MAX_OOO_SEGMENTS)
    {
        skip_hole(s, total, limits, sink);
    }
}

/// Gives up on the gap before the earliest buffered segment: drops the partial message and
/// continues there, resynchronising.
fn skip_hole(s: &mut Stream, total: usize, limits: &Limits, sink: &mut Sink<'_, '_>) {
    let Some(i) = earliest(s) else { return };
    sink.stats.tcp_holes += 1;
    s.drop_partial();
    s.next_seq = s.ooo[i].seq;
    drain_ready(s, total, limits, sink);
    if !s.ooo.is_empty() {
        s.gap_since = sink.ts;
    }
}

/// While resynchronising: whether a segment plausibly starts at a message boundary.
fn plausible_start(b: &[u8]) -> bool {
    if b.len() == 2 {
        return usize::from(u16::from_be_bytes([b[0], b[1]])) >= MIN_DNS_MESSAGE;
    }
    let mut pos = 0;
    while pos + 2 <= b.len() {
        let len = usize::from(u16::from_be_bytes([b[pos], b[pos + 1]]));
        if len < MIN_DNS_MESSAGE {
            return false;
        }
        pos += 2 + len;
    }
    pos == b.len() || (pos > b.len() && b.len() >= RESYNC_MIN_PARTIAL_SEGMENT)
}

/// Appends in-order bytes and emits every message they complete.
fn in_order(
    s: &mut Stream,
    mut bytes: &[u8],
    total: usize,
    limits: &Limits,
    sink: &mut Sink<'_, '_>,
) {
    s.next_seq = s.next_seq.wrapping_add(bytes.len() as u32);
    if s.resync {
        if !plausible_start(bytes) {
            sink.stats.tcp_resync_skipped_segments += 1;
            return;
        }
        s.resync = false;
        s.buf.clear();
    }
    if !s.buf.is_empty() {
        // Complete the length prefix, then the message.
        if s.buf.len() < 2 {
            let take = (2 - s.buf.len()).min(bytes.len());
            s.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if s.buf.len() < 2 {
                return;
            }
        }
        let want = 2 + usize::from(u16::from_be_bytes([s.buf[0], s.buf[1]]));
        if want - 2 < MIN_DNS_MESSAGE {
            sink.stats.tcp_bad_length_prefix += 1;
            s.drop_partial();
            return;
        }
        let take = (want - s.buf.len()).min(bytes.len());
        if !reserve(s, take, total, limits, sink) {
            return;
        }
        s.buf.extend_from_slice(&bytes[..take]);
        bytes = &bytes[take..];
        if s.buf.len() < want {
            return;
        }
        sink.message(&s.buf[2..]);
        s.buf = Vec::new();
    }
    // Whole messages straight from the segment, without copying.
    while bytes.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
        if len < MIN_DNS_MESSAGE {
            sink.stats.tcp_bad_length_prefix += 1;
            s.drop_partial();
            return;
        }
        if bytes.len() < 2 + len {
            break;
        }
        sink.message(&bytes[2..2 + len]);
        bytes = &bytes[2 + len..];
    }
    if !bytes.is_empty() && reserve(s, bytes.len(), total, limits, sink) {
        s.buf.extend_from_slice(bytes);
    }
}

/// Makes room for `n` more bytes in the partial-message buffer within the global limit;
/// on failure drops the partial message (the stream resynchronises).
fn reserve(
    s: &mut Stream,
    n: usize,
    total: usize,
    limits: &Limits,
    sink: &mut Sink<'_, '_>,
) -> bool {
    let needed = s.buf.len() + n;
    if needed <= s.buf.capacity() {
        return true;
    }
    if total + s.ooo_bytes + needed > limits.max_tcp_bytes_total {
        sink.stats.tcp_over_limit += 1;
        s.drop_partial();
        return false;
    }
    s.buf.reserve_exact(n);
    true
}
