//! From frames to DNS payloads: link layer, IPv4/IPv6 (+ defragmentation), UDP/TCP (+ stream
//! reassembly and DNS length-prefix framing).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::checksum;
use crate::fragment::{FragKey, FragTable, Fragment};
use crate::ip::{self, PROTO_TCP, PROTO_UDP};
use crate::link::{self, LinkError, Network};
use crate::reader::Frame;
use crate::stats::DecodeStats;
use crate::tcp::{FlowKey, Segment, TcpTable};

/// State is expired at most this often (in packet time).
const EXPIRE_INTERVAL_NANOS: i64 = 1_000_000_000;
const PROTO_ICMPV6: u8 = 58;
const PROTO_ESP: u8 = 50;
const PROTO_NO_NEXT: u8 = 59;

/// Memory and time bounds of the decoder's state. `Default` gives the documented values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Incomplete datagrams are dropped this long (packet time) after their first fragment.
    /// Default 30 s.
    pub fragment_timeout_nanos: i64,
    /// Largest reassembled payload accepted. Default 65,535 + 120 (headers).
    pub max_fragment_bytes_per_datagram: usize,
    /// Bytes held by all incomplete datagrams together. Default 64 MiB.
    pub max_fragment_bytes_total: usize,
    /// Incomplete datagrams in flight. Default 10,000.
    pub max_fragment_datagrams: usize,
    /// A TCP direction idle this long (packet time) is dropped; a gap older than this is a
    /// hole. Default 60 s.
    pub tcp_timeout_nanos: i64,
    /// Bytes buffered per TCP direction (partial message plus out-of-order segments).
    /// Default 2 × 65,537.
    pub max_tcp_bytes_per_stream: usize,
    /// Bytes buffered by all TCP directions together. Default 256 MiB.
    pub max_tcp_bytes_total: usize,
    /// TCP directions followed at once. Default 100,000.
    pub max_tcp_streams: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            fragment_timeout_nanos: 30_000_000_000,
            max_fragment_bytes_per_datagram: 65_535 + 120,
            max_fragment_bytes_total: 64 << 20,
            max_fragment_datagrams: 10_000,
            tcp_timeout_nanos: 60_000_000_000,
            max_tcp_bytes_per_stream: 2 * 65_537,
            max_tcp_bytes_total: 256 << 20,
            max_tcp_streams: 100_000,
        }
    }
}

/// What the decoder looks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecoderConfig {
    /// UDP/TCP ports that mark DNS traffic (on either side). Default `[53]`.
    pub dns_ports: Vec<u16>,
    /// State bounds.
    pub limits: Limits,
}

impl Default for DecoderConfig {
    fn default() -> DecoderConfig {
        DecoderConfig {
            dns_ports: vec![53],
            limits: Limits::default(),
        }
    }
}

/// The transport a DNS message came over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: one datagram is one message.
    Udp,
    /// TCP: a message taken from the stream by its 2-byte length prefix.
    Tcp,
}

/// The UDP checksum verdict of a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChecksumStatus {
    /// The checksum is present and correct.
    Valid,
    /// The checksum is wrong (or 0 over IPv6, where it is mandatory).
    Invalid,
    /// IPv4 UDP without a checksum (0).
    Absent,
    /// Not verified: TCP; a UDP datagram whose source port is not a DNS port (queries are not
    /// verified, to save time); or a datagram captured on its sending host before checksum
    /// offload filled the field in (it holds just the pseudo-header sum; counted in
    /// `udp_checksum_offloaded`), as on loopback captures.
    NotChecked,
}

/// One whole DNS message with its transport metadata. `data` borrows the frame (UDP) or the
/// decoder's buffers (reassembled fragments, TCP): copy what you keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsPayload<'a> {
    /// Capture time; for TCP and fragments, of the segment that completed the message.
    pub ts_nanos: i64,
    /// UDP or TCP.
    pub transport: Transport,
    /// Sender.
    pub src: IpAddr,
    /// Receiver.
    pub dst: IpAddr,
    /// Sender port.
    pub src_port: u16,
    /// Receiver port.
    pub dst_port: u16,
    /// UDP checksum verdict (`NotChecked` for TCP).
    pub udp_checksum: ChecksumStatus,
    /// The DNS message (without the TCP length prefix). For UDP this is the datagram's
    /// payload as is, which may be shorter than a DNS header.
    pub data: &'a [u8],
}

/// Turns frames into DNS payloads: link layer, IPv4/IPv6 (+ defragmentation), UDP/TCP
/// (+ TCP stream reassembly and DNS length-prefix framing). One decoder per capture (or per
/// thread, merging [`DecodeStats`] afterwards); state is bounded by [`Limits`] and expired by
/// packet time.
pub struct Decoder {
    limits: Limits,
    dns_ports: Box<[u64; 1024]>,
    stats: DecodeStats,
    frags: FragTable,
    tcp: TcpTable,
    frag_out: Vec<u8>,
    now: i64,
    next_expire: i64,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("limits", &self.limits)
            .field("fragment_datagrams", &self.frags.len())
            .field("tcp_directions", &self.tcp.len())
            .field("buffered_bytes", &self.buffered_bytes())
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// A decoder with empty state.
    pub fn new(config: DecoderConfig) -> Decoder {
        let mut dns_ports = Box::new([0u64; 1024]);
        for p in &config.dns_ports {
            dns_ports[usize::from(*p) / 64] |= 1 << (p % 64);
        }
        Decoder {
            limits: config.limits,
            dns_ports,
            stats: DecodeStats::default(),
            frags: FragTable::default(),
            tcp: TcpTable::default(),
            frag_out: Vec::new(),
            now: i64::MIN,
            next_expire: i64::MIN,
        }
    }

    /// Decodes one frame; calls `emit` for every complete DNS message it yields (zero or more:
    /// a TCP segment may complete several). Never fails: problems are counted in
    /// [`Decoder::stats`].
    pub fn decode(&mut self, frame: &Frame<'_>, emit: &mut dyn FnMut(&DnsPayload<'_>)) {
        self.stats.frames += 1;
        self.stats.bytes += frame.data.len() as u64;
        if (frame.data.len() as u64) < u64::from(frame.orig_len) {
            self.stats.dropped_snaplen_truncated += 1;
            return;
        }
        let ts = frame.ts_nanos;
        if ts > self.now {
            self.now = ts;
            if ts >= self.next_expire {
                self.expire(ts);
            }
        }
        match link::decode(frame.link_type, frame.data) {
            Ok(Network::V4(p)) => self.ipv4(p, ts, emit),
            Ok(Network::V6(p)) => self.ipv6(p, ts, emit),
            Err(LinkError::Unsupported) => self.stats.dropped_unsupported_link_type += 1,
            Err(LinkError::Malformed) => self.stats.dropped_malformed_link += 1,
            Err(LinkError::NotIp) => self.stats.dropped_not_ip += 1,
            Err(LinkError::BadIpVersion) => self.stats.dropped_malformed_ip += 1,
        }
    }

    /// Expires fragment and TCP state older than the timeouts, by packet time (also done
    /// automatically from `decode`, once per second of packet time).
    pub fn expire(&mut self, now_nanos: i64) {
        self.next_expire = now_nanos.saturating_add(EXPIRE_INTERVAL_NANOS);
        self.frags.expire(now_nanos, &self.limits, &mut self.stats);
        self.tcp.expire(now_nanos, &self.limits, &mut self.stats);
    }

    /// At the end of the input: counts what is left (incomplete datagrams, partial TCP
    /// messages and unfilled gaps) and frees it.
    pub fn finish(&mut self) {
        self.frags.finish(&mut self.stats);
        self.tcp.finish(&mut self.stats);
        self.frag_out = Vec::new();
    }

    /// The counters.
    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }

    /// Bytes currently held for fragment and TCP reassembly.
    pub fn buffered_bytes(&self) -> usize {
        self.frags.bytes() + self.tcp.bytes()
    }

    /// Incomplete datagrams plus TCP directions currently tracked.
    pub fn tracked_states(&self) -> usize {
        self.frags.len() + self.tcp.len()
    }

    #[inline]
    fn is_dns_port(&self, port: u16) -> bool {
        self.dns_ports[usize::from(port) / 64] & (1 << (port % 64)) != 0
    }

    /// Whether a UDP/TCP packet between these ports is DNS traffic (either port is a DNS
    /// port): `Some(source port is a DNS port)`, or `None` after counting the drop.
    #[inline]
    fn dns_flow(&mut self, sport: u16, dport: u16) -> Option<bool> {
        let src_is_dns = self.is_dns_port(sport);
        if !src_is_dns && !self.is_dns_port(dport) {
            self.stats.dropped_not_dns_port += 1;
            return None;
        }
        Some(src_is_dns)
    }

    #[inline]
    fn ipv4(&mut self, p: &[u8], ts: i64, emit: &mut dyn FnMut(&DnsPayload<'_>)) {
        self.stats.ipv4 += 1;
        let Some(h) = ip::parse_ipv4(p) else {
            self.stats.dropped_malformed_ip += 1;
            return;
        };
        let src = IpAddr::V4(Ipv4Addr::from(h.src));
        let dst = IpAddr::V4(Ipv4Addr::from(h.dst));
        if !h.is_fragment() {
            self.transport(h.proto, src, dst, h.payload, ts, emit);
            return;
        }
        if h.proto != PROTO_UDP && h.proto != PROTO_TCP {
            self.stats.dropped_other_protocol += 1;
            return;
        }
        let key = FragKey {
            src,
            dst,
            id: u32::from(h.id),
            proto: h.proto,
        };
        let frag = Fragment {
            offset: h.frag_offset,
            more: h.more_fragments,
            proto: h.proto,
            data: h.payload,
        };
        self.defragment(key, frag, ts, |d, proto, datagram| {
            d.transport(proto, src, dst, datagram, ts, emit)
        });
    }

    #[inline]
    fn ipv6(&mut self, p: &[u8], ts: i64, emit: &mut dyn FnMut(&DnsPayload<'_>)) {
        self.stats.ipv6 += 1;
        let Some(h) = ip::parse_ipv6(p) else {
            self.stats.dropped_malformed_ip += 1;
            return;
        };
        let src = IpAddr::V6(Ipv6Addr::from(h.src));
        let dst = IpAddr::V6(Ipv6Addr::from(h.dst));
        let Some(f) = h.fragment else {
            self.transport(h.next, src, dst, h.payload, ts, emit);
            return;
        };
        if matches!(h.next, PROTO_ICMPV6 | PROTO_ESP | PROTO_NO_NEXT) {
            self.stats.dropped_other_protocol += 1;
            return;
        }
        let key = FragKey {
            src,
            dst,
            id: f.id,
            proto: 0,
        };
        let frag = Fragment {
            offset: f.offset,
            more: f.more,
            proto: h.next,
            data: h.payload,
        };
        self.defragment(
            key,
            frag,
            ts,
            |d, next, datagram| match ip::walk_extensions(next, datagram, false) {
                Some((proto, None, rest)) => d.transport(proto, src, dst, rest, ts, emit),
                _ => d.stats.dropped_malformed_ip += 1,
            },
        );
    }

    /// Adds a fragment to its datagram; when that completes it, calls `complete` with the
    /// datagram's protocol (IPv6: the next header of the fragment header) and bytes. The
    /// reassembly buffer is reused from datagram to datagram.
    #[inline]
    fn defragment(
        &mut self,
        key: FragKey,
        frag: Fragment<'_>,
        ts: i64,
        complete: impl FnOnce(&mut Decoder, u8, &[u8]),
    ) {
        let mut out = std::mem::take(&mut self.frag_out);
        if let Some(proto) = self
            .frags
            .add(key, frag, ts, &self.limits, &mut self.stats, &mut out)
        {
            complete(self, proto, &out);
        }
        self.frag_out = out;
    }

    #[inline]
    fn transport(
        &mut self,
        proto: u8,
        src: IpAddr,
        dst: IpAddr,
        l4: &[u8],
        ts: i64,
        emit: &mut dyn FnMut(&DnsPayload<'_>),
    ) {
        match proto {
            PROTO_UDP => self.udp(src, dst, l4, ts, emit),
            PROTO_TCP => self.tcp(src, dst, l4, ts, emit),
            _ => self.stats.dropped_other_protocol += 1,
        }
    }

    #[inline]
    fn udp(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        l4: &[u8],
        ts: i64,
        emit: &mut dyn FnMut(&DnsPayload<'_>),
    ) {
        self.stats.udp += 1;
        let Some(h) = l4_header(l4, 8, |udp| {
            usize::from(u16::from_be_bytes([udp[4], udp[5]]))
        }) else {
            self.stats.dropped_malformed_udp += 1;
            return;
        };
        let Some(src_is_dns) = self.dns_flow(h.sport, h.dport) else {
            return;
        };
        let seg = &l4[..h.len];
        let udp_checksum = if !src_is_dns {
            ChecksumStatus::NotChecked
        } else if seg[6] == 0 && seg[7] == 0 {
            if src.is_ipv4() {
                self.stats.udp_checksum_absent += 1;
                ChecksumStatus::Absent
            } else {
                self.stats.udp_checksum_invalid += 1;
                ChecksumStatus::Invalid
            }
        } else if checksum::verify(&src, &dst, PROTO_UDP, seg) {
            ChecksumStatus::Valid
        } else if checksum::is_offload_placeholder(&src, &dst, PROTO_UDP, seg) {
            self.stats.udp_checksum_offloaded += 1;
            ChecksumStatus::NotChecked
        } else {
            self.stats.udp_checksum_invalid += 1;
            ChecksumStatus::Invalid
        };
        self.stats.dns_payloads += 1;
        emit(&DnsPayload {
            ts_nanos: ts,
            transport: Transport::Udp,
            src,
            dst,
            src_port: h.sport,
            dst_port: h.dport,
            udp_checksum,
            data: &seg[8..],
        });
    }

    #[inline]
    fn tcp(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        l4: &[u8],
        ts: i64,
        emit: &mut dyn FnMut(&DnsPayload<'_>),
    ) {
        self.stats.tcp += 1;
        let Some(h) = l4_header(l4, 20, |tcp| usize::from(tcp[12] >> 4) * 4) else {
            self.stats.dropped_malformed_tcp += 1;
            return;
        };
        if self.dns_flow(h.sport, h.dport).is_none() {
            return;
        }
        let key = FlowKey {
            src,
            dst,
            sport: h.sport,
            dport: h.dport,
        };
        let seg = Segment {
            seq: u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]),
            ack: u32::from_be_bytes([l4[8], l4[9], l4[10], l4[11]]),
            flags: l4[13],
            payload: &l4[h.len..],
            ts,
        };
        self.tcp
            .segment(key, seg, &self.limits, &mut self.stats, emit);
    }
}

/// The ports of a UDP or TCP header and the length its own field declares (UDP: the
/// datagram, TCP: the header, by data offset).
struct L4Header {
    sport: u16,
    dport: u16,
    len: usize,
}

/// Reads the start both UDP and TCP headers share: `None` (malformed) when `l4` is shorter
/// than the fixed header (`min` bytes) or the declared length is below `min` or past the
/// end of `l4`.
#[inline]
fn l4_header(l4: &[u8], min: usize, declared_len: impl FnOnce(&[u8]) -> usize) -> Option<L4Header> {
    if l4.len() < min {
        return None;
    }
    let len = declared_len(l4);
    if len < min || len > l4.len() {
        return None;
    }
    Some(L4Header {
        sport: u16::from_be_bytes([l4[0], l4[1]]),
        dport: u16::from_be_bytes([l4[2], l4[3]]),
        len,
    })
}
