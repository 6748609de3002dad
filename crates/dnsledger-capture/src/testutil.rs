//! Builders for synthetic captures, for tests (this crate's, and other crates' with the
//! `testutil` feature): pcap and pcapng bytes, gzip, Ethernet (with VLAN tags), IPv4/IPv6
//! (with fragmentation), UDP and TCP with correct checksums, and a helper that runs the
//! reader and decoder over bytes or a file and collects owned payloads.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use crate::checksum;
use crate::decoder::{ChecksumStatus, Decoder, DecoderConfig, DnsPayload, Transport};
use crate::error::CaptureError;
use crate::reader::CaptureReader;
use crate::stats::DecodeStats;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// TCP flags.
pub const TCP_FIN: u8 = 0x01;
/// SYN.
pub const TCP_SYN: u8 = 0x02;
/// RST.
pub const TCP_RST: u8 = 0x04;
/// PSH.
pub const TCP_PSH: u8 = 0x08;
/// ACK.
pub const TCP_ACK: u8 = 0x10;

/// A DNS-looking message: 12-byte header with `id` (QR bit set if `response`), then
/// `body_len` filler bytes derived from `id`.
pub fn dns_message(id: u16, response: bool, body_len: usize) -> Vec<u8> {
    let mut m = Vec::with_capacity(12 + body_len);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[
        if response { 0x81 } else { 0x01 },
        0x00,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
    ]);
    m.extend((0..body_len).map(|i| (i as u16).wrapping_mul(31).wrapping_add(id) as u8));
    m
}

/// `msg` with its 2-byte TCP length prefix.
pub fn length_prefixed(msg: &[u8]) -> Vec<u8> {
    let mut v = (msg.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(msg);
    v
}

/// An Ethernet II frame (fixed MAC addresses).
pub fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    ethernet_vlan(&[], ethertype, payload)
}

/// An Ethernet frame with stacked tags: each `(tpid, vid)`, outermost first (tpid 0x8100,
/// 0x88a8, 0x9100).
pub fn ethernet_vlan(tags: &[(u16, u16)], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02];
    for &(tpid, vid) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The EtherType for a packet built by [`ip_packet`] (by its version nibble).
pub fn ethertype_of(packet: &[u8]) -> u16 {
    if packet.first().map(|b| b >> 4) == Some(6) {
        ETHERTYPE_IPV6
    } else {
        ETHERTYPE_IPV4
    }
}

/// An IPv4 packet (header checksum correct).
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_fragment(src, dst, proto, 0x1234, 0, false, payload)
}

/// An IPv4 packet with identification `id`, fragment offset (bytes, multiple of 8) and MF.
pub fn ipv4_fragment(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    id: u16,
    offset: usize,
    more: bool,
    payload: &[u8],
) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let frag = ((offset / 8) as u16 & 0x1fff) | if more { 0x2000 } else { 0 };
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let c = checksum::ipv4_header(&p);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// An IPv6 packet; `payload` starts with whatever `next` says (extension headers included).
pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next, 64]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

/// An IPv6 fragment: fragment header (next header `next`, offset in bytes, M flag, `id`)
/// followed by `data`.
pub fn ipv6_fragment(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next: u8,
    id: u32,
    offset: usize,
    more: bool,
    data: &[u8],
) -> Vec<u8> {
    let field = (offset as u16 & 0xfff8) | u16::from(more);
    let mut fh = vec![next, 0];
    fh.extend_from_slice(&field.to_be_bytes());
    fh.extend_from_slice(&id.to_be_bytes());
    fh.extend_from_slice(data);
    ipv6(src, dst, 44, &fh)
}

/// An IP packet of the addresses' family carrying `payload` as protocol `proto`.
///
/// # Panics
/// If the address families differ.
pub fn ip_packet(src: IpAddr, dst: IpAddr, proto: u8, payload: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ipv4(s, d, proto, payload),
        (IpAddr::V6(s), IpAddr::V6(d)) => ipv6(s, d, proto, payload),
        _ => panic!("mixed address families"),
    }
}

/// A UDP header and payload with a correct checksum.
pub fn udp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    with_checksum(src, dst, 17, u, 6, payload)
}

/// A TCP header (20 bytes, window 65535) and payload with a correct checksum.
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    with_checksum(src, dst, 6, t, 16, payload)
}

/// A UDP or TCP `header` (its checksum field, at byte `checksum_at`, zero) followed by
/// `payload`, with the checksum of protocol `proto` filled in.
fn with_checksum(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    mut header: Vec<u8>,
    checksum_at: usize,
    payload: &[u8],
) -> Vec<u8> {
    header.extend_from_slice(payload);
    let c = checksum::compute(&src, &dst, proto, &header);
    header[checksum_at..checksum_at + 2].copy_from_slice(&c.to_be_bytes());
    header
}

/// An IP packet carrying a UDP datagram.
pub fn udp_packet(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    ip_packet(src, dst, 17, &udp(src, dst, sport, dport, payload))
}

/// An IP packet carrying a TCP segment.
#[allow(clippy::too_many_arguments)]
pub fn tcp_packet(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    ip_packet(
        src,
        dst,
        6,
        &tcp(src, dst, sport, dport, seq, ack, flags, payload),
    )
}

/// An Ethernet frame around an IP packet.
pub fn eth_ip(packet: &[u8]) -> Vec<u8> {
    ethernet(ethertype_of(packet), packet)
}

/// Splits an unfragmented IPv4 packet (20-byte header) into fragments carrying at most
/// `chunk` payload bytes each (rounded down to a multiple of 8), identification `id`.
pub fn fragment_ipv4(packet: &[u8], chunk: usize, id: u16) -> Vec<Vec<u8>> {
    let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
    fragment_pieces(&packet[20..], chunk)
        .map(|(offset, more, part)| ipv4_fragment(src, dst, packet[9], id, offset, more, part))
        .collect()
}

/// Splits an IPv6 packet without extension headers into fragments of at most `chunk`
/// payload bytes each (rounded down to a multiple of 8), identification `id`.
pub fn fragment_ipv6(packet: &[u8], chunk: usize, id: u32) -> Vec<Vec<u8>> {
    let mut s = [0u8; 16];
    s.copy_from_slice(&packet[8..24]);
    let mut d = [0u8; 16];
    d.copy_from_slice(&packet[24..40]);
    let (src, dst) = (Ipv6Addr::from(s), Ipv6Addr::from(d));
    fragment_pieces(&packet[40..], chunk)
        .map(|(offset, more, part)| ipv6_fragment(src, dst, packet[6], id, offset, more, part))
        .collect()
}

/// `payload` cut into fragments of at most `chunk` bytes (rounded down to a multiple of 8,
/// at least 8): each one's offset, whether more follow, and its bytes.
fn fragment_pieces(payload: &[u8], chunk: usize) -> impl Iterator<Item = (usize, bool, &[u8])> {
    let chunk = (chunk / 8).max(1) * 8;
    let n = payload.len().div_ceil(chunk);
    payload
        .chunks(chunk)
        .enumerate()
        .map(move |(i, part)| (i * chunk, i + 1 < n, part))
}

/// Builds a classic pcap file.
#[derive(Debug, Clone)]
pub struct PcapBuilder {
    bytes: Vec<u8>,
    big_endian: bool,
    nanos: bool,
}

impl PcapBuilder {
    /// Global header for `link_type`, in either byte order, micro- or nanosecond magic.
    pub fn new(link_type: u32, big_endian: bool, nanos: bool) -> PcapBuilder {
        let mut b = PcapBuilder {
            bytes: Vec::new(),
            big_endian,
            nanos,
        };
        let magic = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        b.u32(magic);
        b.u16(2);
        b.u16(4);
        b.u32(0);
        b.u32(0);
        b.u32(262_144);
        b.u32(link_type);
        b
    }

    fn u32(&mut self, v: u32) {
        let a = byte_order(v.to_be_bytes(), self.big_endian);
        self.bytes.extend_from_slice(&a);
    }

    fn u16(&mut self, v: u16) {
        let a = byte_order(v.to_be_bytes(), self.big_endian);
        self.bytes.extend_from_slice(&a);
    }

    /// A complete packet.
    pub fn packet(&mut self, ts_nanos: i64, data: &[u8]) -> &mut PcapBuilder {
        self.packet_cut(ts_nanos, data, data.len() as u32)
    }

    /// A packet whose wire length was `orig_len` (snaplen cut if larger than `data`).
    pub fn packet_cut(&mut self, ts_nanos: i64, data: &[u8], orig_len: u32) -> &mut PcapBuilder {
        let sec = (ts_nanos / 1_000_000_000) as u32;
        let sub = (ts_nanos % 1_000_000_000) as u32;
        self.u32(sec);
        self.u32(if self.nanos { sub } else { sub / 1000 });
        self.u32(data.len() as u32);
        self.u32(orig_len);
        self.bytes.extend_from_slice(data);
        self
    }

    /// The file so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }
}

/// Builds a pcapng file, block by block.
#[derive(Debug, Clone)]
pub struct PcapNgBuilder {
    bytes: Vec<u8>,
    big_endian: bool,
}

impl PcapNgBuilder {
    /// Starts with a Section Header Block (section length -1) in the given byte order.
    pub fn new(big_endian: bool) -> PcapNgBuilder {
        let mut b = PcapNgBuilder {
            bytes: Vec::new(),
            big_endian,
        };
        b.section(big_endian);
        b
    }

    fn u32v(&self, v: u32) -> [u8; 4] {
        byte_order(v.to_be_bytes(), self.big_endian)
    }

    fn u16v(&self, v: u16) -> [u8; 2] {
        byte_order(v.to_be_bytes(), self.big_endian)
    }

    /// Any block: type, body (padded to 4 bytes here), lengths added.
    pub fn block(&mut self, block_type: u32, body: &[u8]) -> &mut PcapNgBuilder {
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        let t = self.u32v(block_type);
        let l = self.u32v(total);
        self.bytes.extend_from_slice(&t);
        self.bytes.extend_from_slice(&l);
        self.bytes.extend_from_slice(body);
        self.bytes.resize(self.bytes.len() + padded - body.len(), 0);
        self.bytes.extend_from_slice(&l);
        self
    }

    /// A new section (Section Header Block), possibly in another byte order; interfaces
    /// restart at 0.
    pub fn section(&mut self, big_endian: bool) -> &mut PcapNgBuilder {
        self.big_endian = big_endian;
        let mut body = self.u32v(0x1a2b_3c4d).to_vec();
        body.extend_from_slice(&self.u16v(1));
        body.extend_from_slice(&self.u16v(0));
        body.extend_from_slice(&[0xff; 8]);
        self.block(0x0a0d_0d0a, &body)
    }

    /// An Interface Description Block with optional `if_tsresol` and `if_tsoffset`.
    pub fn interface(
        &mut self,
        link_type: u16,
        snaplen: u32,
        tsresol: Option<u8>,
        tsoffset_secs: Option<i64>,
    ) -> &mut PcapNgBuilder {
        let mut body = self.u16v(link_type).to_vec();
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&self.u32v(snaplen));
        if let Some(r) = tsresol {
            body.extend_from_slice(&self.u16v(9));
            body.extend_from_slice(&self.u16v(1));
            body.extend_from_slice(&[r, 0, 0, 0]);
        }
        if let Some(o) = tsoffset_secs {
            body.extend_from_slice(&self.u16v(14));
            body.extend_from_slice(&self.u16v(8));
            body.extend_from_slice(&byte_order(o.to_be_bytes(), self.big_endian));
        }
        if tsresol.is_some() || tsoffset_secs.is_some() {
            body.extend_from_slice(&[0, 0, 0, 0]);
        }
        self.block(1, &body)
    }

    /// An Enhanced Packet Block; `ts_units` in the interface's resolution.
    pub fn epb(
        &mut self,
        interface: u32,
        ts_units: u64,
        data: &[u8],
        orig_len: u32,
    ) -> &mut PcapNgBuilder {
        let interface = self.u32v(interface);
        self.packet_block(6, &interface, ts_units, data, orig_len)
    }

    /// An obsolete Packet Block.
    pub fn pb(
        &mut self,
        interface: u16,
        ts_units: u64,
        data: &[u8],
        orig_len: u32,
    ) -> &mut PcapNgBuilder {
        let mut interface_and_drops = self.u16v(interface).to_vec();
        interface_and_drops.extend_from_slice(&self.u16v(0));
        self.packet_block(2, &interface_and_drops, ts_units, data, orig_len)
    }

    /// A packet block: `head` (the interface field(s)), timestamp, captured and original
    /// length, data.
    fn packet_block(
        &mut self,
        block_type: u32,
        head: &[u8],
        ts_units: u64,
        data: &[u8],
        orig_len: u32,
    ) -> &mut PcapNgBuilder {
        let mut body = head.to_vec();
        body.extend_from_slice(&self.u32v((ts_units >> 32) as u32));
        body.extend_from_slice(&self.u32v(ts_units as u32));
        body.extend_from_slice(&self.u32v(data.len() as u32));
        body.extend_from_slice(&self.u32v(orig_len));
        body.extend_from_slice(data);
        self.block(block_type, &body)
    }

    /// A Simple Packet Block (interface 0).
    pub fn spb(&mut self, data: &[u8], orig_len: u32) -> &mut PcapNgBuilder {
        let mut body = self.u32v(orig_len).to_vec();
        body.extend_from_slice(data);
        self.block(3, &body)
    }

    /// The file so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }
}

/// `be` (a number's big-endian bytes) in big- or little-endian order.
fn byte_order<const N: usize>(mut be: [u8; N], big_endian: bool) -> [u8; N] {
    if !big_endian {
        be.reverse();
    }
    be
}

/// Gzip-compresses bytes.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("writing to a Vec");
    e.finish().expect("writing to a Vec")
}

/// An owned copy of a [`DnsPayload`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnedPayload {
    /// Capture time.
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
    /// Checksum verdict.
    pub udp_checksum: ChecksumStatus,
    /// The message.
    pub data: Vec<u8>,
}

impl From<&DnsPayload<'_>> for OwnedPayload {
    fn from(p: &DnsPayload<'_>) -> OwnedPayload {
        OwnedPayload {
            ts_nanos: p.ts_nanos,
            transport: p.transport,
            src: p.src,
            dst: p.dst,
            src_port: p.src_port,
            dst_port: p.dst_port,
            udp_checksum: p.udp_checksum,
            data: p.data.to_vec(),
        }
    }
}

/// What [`decode_bytes`] / [`decode_path`] found.
#[derive(Debug)]
pub struct Decoded {
    /// Frames the reader returned.
    pub frames: u64,
    /// Payloads emitted, in order.
    pub payloads: Vec<OwnedPayload>,
    /// Decoder counters after `finish`.
    pub stats: DecodeStats,
    /// The error that ended reading, if any (opening errors included).
    pub error: Option<CaptureError>,
}

/// Runs reader and decoder over capture bytes.
pub fn decode_bytes(bytes: Vec<u8>, config: DecoderConfig) -> Decoded {
    decode_reader(
        CaptureReader::from_reader(Box::new(std::io::Cursor::new(bytes))),
        config,
    )
}

/// Runs reader and decoder over a capture file.
pub fn decode_path(path: &Path, config: DecoderConfig) -> Decoded {
    decode_reader(CaptureReader::open(path), config)
}

fn decode_reader(reader: Result<CaptureReader, CaptureError>, config: DecoderConfig) -> Decoded {
    let mut out = Decoded {
        frames: 0,
        payloads: Vec::new(),
        stats: DecodeStats::default(),
        error: None,
    };
    let mut reader = match reader {
        Ok(r) => r,
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    let mut decoder = Decoder::new(config);
    let payloads = &mut out.payloads;
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                out.frames += 1;
                decoder.decode(&frame, &mut |p| payloads.push(OwnedPayload::from(p)));
            }
            Ok(None) => break,
            Err(e) => {
                out.error = Some(e);
                break;
            }
        }
    }
    decoder.finish();
    out.stats = decoder.stats().clone();
    out
}
