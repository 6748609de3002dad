//! Decoding: link types, VLANs, IPv4/IPv6, UDP checksums, fragment reassembly, limits.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dnsledger_capture::testutil::*;
use dnsledger_capture::{
    ChecksumStatus, DecodeStats, Decoder, DecoderConfig, Frame, Limits, Transport,
};

const S: i64 = 1_000_000_000;

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn client4() -> IpAddr {
    "192.0.2.10".parse().unwrap()
}

fn server4() -> IpAddr {
    "198.51.100.53".parse().unwrap()
}

fn client6() -> IpAddr {
    "2001:db8::10".parse().unwrap()
}

fn server6() -> IpAddr {
    "2001:db8:53::53".parse().unwrap()
}

/// Feeds one frame, returns what it emitted.
fn feed(d: &mut Decoder, ts: i64, link_type: u16, data: &[u8]) -> Vec<OwnedPayload> {
    let mut out = Vec::new();
    let frame = Frame {
        ts_nanos: ts,
        link_type,
        data,
        orig_len: data.len() as u32,
        interface: 0,
    };
    d.decode(&frame, &mut |p| out.push(OwnedPayload::from(p)));
    out
}

/// Feeds frames one after the other (same time and link type), returns all they emitted.
fn feed_all<F: AsRef<[u8]>>(
    d: &mut Decoder,
    ts: i64,
    link_type: u16,
    frames: impl IntoIterator<Item = F>,
) -> Vec<OwnedPayload> {
    let mut out = Vec::new();
    for f in frames {
        out.extend(feed(d, ts, link_type, f.as_ref()));
    }
    out
}

/// Asserts that `out` is exactly one payload carrying `msg`; returns it.
#[track_caller]
fn the_message<'a>(out: &'a [OwnedPayload], msg: &[u8]) -> &'a OwnedPayload {
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].data, msg);
    &out[0]
}

fn decoder() -> Decoder {
    Decoder::new(DecoderConfig::default())
}

fn response(len: usize) -> Vec<u8> {
    dns_message(0xbeef, true, len)
}

fn only_counter(stats: &DecodeStats, name: &str) -> u64 {
    stats
        .counters()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap()
        .1
}

#[test]
fn every_link_type() {
    let msg = response(40);
    let p4 = udp_packet(server4(), client4(), 53, 40000, &msg);
    let p6 = udp_packet(server6(), client6(), 53, 40000, &msg);
    let mut frames: Vec<(u16, Vec<u8>)> = vec![
        (1, ethernet(ETHERTYPE_IPV4, &p4)),
        (1, ethernet(ETHERTYPE_IPV6, &p6)),
        (12, p4.clone()),
        (12, p6.clone()),
        (14, p4.clone()),
        (101, p4.clone()),
        (101, p6.clone()),
        (228, p4.clone()),
        (229, p6.clone()),
    ];
    // Linux cooked v1: 16-byte header, protocol last.
    for p in [&p4, &p6] {
        let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 0, 1, 0];
        sll.extend_from_slice(&ethertype_of(p).to_be_bytes());
        sll.extend_from_slice(p);
        frames.push((113, sll));
        let mut sll2 = ethertype_of(p).to_be_bytes().to_vec();
        sll2.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 0, 0, 0]);
        sll2.extend_from_slice(p);
        frames.push((276, sll2));
    }
    // BSD loopback: family 2 (IPv4) or 24/28/30 (IPv6), host byte order either way.
    for (family, p) in [(2u32, &p4), (24, &p6), (28, &p6), (30, &p6)] {
        for bytes in [family.to_le_bytes(), family.to_be_bytes()] {
            let mut f = bytes.to_vec();
            f.extend_from_slice(p);
            frames.push((0, f.clone()));
            frames.push((108, f));
        }
    }
    let mut d = decoder();
    for (i, (link, f)) in frames.iter().enumerate() {
        let out = feed(&mut d, i as i64, *link, f);
        assert_eq!(out.len(), 1, "link type {link}, frame {i}");
        assert_eq!(out[0].data, msg);
        assert_eq!(out[0].udp_checksum, ChecksumStatus::Valid);
        assert_eq!(out[0].transport, Transport::Udp);
        assert_eq!(out[0].src_port, 53);
    }
    assert_eq!(d.stats().dns_payloads, frames.len() as u64);

    // Not decoded: an unsupported link type, raw IPv4 link carrying IPv6, a loopback family
    // that is not IP, ARP, a frame too short for its header.
    assert!(feed(&mut d, 100, 127, &p4).is_empty());
    assert!(feed(&mut d, 100, 228, &p6).is_empty());
    assert!(feed(&mut d, 100, 0, &[7, 0, 0, 0, 0x45]).is_empty());
    assert!(feed(&mut d, 100, 1, &ethernet(0x0806, &[0; 28])).is_empty());
    assert!(feed(&mut d, 100, 113, &[0; 10]).is_empty());
    let s = d.stats();
    assert_eq!(s.dropped_unsupported_link_type, 1);
    assert_eq!(s.dropped_malformed_ip, 1);
    assert_eq!(s.dropped_not_ip, 2);
    assert_eq!(s.dropped_malformed_link, 1);
    assert_eq!(s.frames, frames.len() as u64 + 5);
}

#[test]
fn vlan_stacks() {
    let msg = response(30);
    let p = udp_packet(server4(), client4(), 53, 1000, &msg);
    let mut d = decoder();
    for tags in [
        vec![(0x8100, 11)],
        vec![(0x88a8, 100), (0x8100, 11)],
        vec![(0x9100, 5), (0x88a8, 6), (0x8100, 7)],
        vec![(0x8100, 1); 6],
    ] {
        let out = feed(&mut d, 1, 1, &ethernet_vlan(&tags, ETHERTYPE_IPV4, &p));
        assert_eq!(out.len(), 1, "{tags:?}");
        assert_eq!(out[0].data, msg);
    }
    // IPv6 behind a tag
    let p6 = udp_packet(server6(), client6(), 53, 1000, &msg);
    assert_eq!(
        feed(
            &mut d,
            1,
            1,
            &ethernet_vlan(&[(0x8100, 3)], ETHERTYPE_IPV6, &p6)
        )
        .len(),
        1
    );
    // a tag cut short
    let mut cut = ethernet_vlan(&[(0x8100, 3)], ETHERTYPE_IPV4, &[]);
    cut.truncate(15);
    assert!(feed(&mut d, 1, 1, &cut).is_empty());
    assert_eq!(d.stats().dropped_malformed_link, 1);
}

#[test]
fn snaplen_cut_frames_are_detected_and_dropped() {
    let p = udp_packet(server4(), client4(), 53, 1000, &response(200));
    let f = eth_ip(&p);
    let mut b = PcapBuilder::new(1, false, false);
    b.packet(1, &f)
        .packet_cut(2, &f[..100], f.len() as u32)
        .packet(3, &f);
    let r = decode_bytes(b.bytes(), DecoderConfig::default());
    assert!(r.error.is_none());
    assert_eq!(r.frames, 3);
    assert_eq!(r.payloads.len(), 2);
    assert_eq!(r.stats.dropped_snaplen_truncated, 1);
    assert_eq!(only_counter(&r.stats, "dropped_snaplen_truncated"), 1);
}

#[test]
fn ethernet_padding_is_trimmed_and_bad_lengths_are_counted() {
    let mut d = decoder();
    let msg = dns_message(1, false, 0); // 12 bytes: frame shorter than Ethernet's minimum
    let mut f = eth_ip(&udp_packet(client4(), server4(), 5000, 53, &msg));
    f.resize(60, 0xee);
    the_message(&feed(&mut d, 1, 1, &f), &msg);

    // IPv4 total length beyond the captured bytes
    let mut p = udp_packet(client4(), server4(), 5000, 53, &msg);
    p[3] += 10;
    assert!(feed(&mut d, 1, 101, &p).is_empty());
    // IHL below 5
    let mut p = udp_packet(client4(), server4(), 5000, 53, &msg);
    p[0] = 0x44;
    assert!(feed(&mut d, 1, 101, &p).is_empty());
    assert_eq!(d.stats().dropped_malformed_ip, 2);
    // UDP length larger than the IP payload; UDP header cut
    let mut p = udp_packet(client4(), server4(), 5000, 53, &msg);
    p[25] += 1;
    assert!(feed(&mut d, 1, 101, &p).is_empty());
    let p = ipv4(v4("192.0.2.1"), v4("192.0.2.2"), 17, &[0, 53, 0, 53]);
    assert!(feed(&mut d, 1, 101, &p).is_empty());
    assert_eq!(d.stats().dropped_malformed_udp, 2);
    // IPv6 payload length beyond the capture
    let mut p = udp_packet(client6(), server6(), 5000, 53, &msg);
    p[5] += 1;
    assert!(feed(&mut d, 1, 101, &p).is_empty());
    assert_eq!(d.stats().dropped_malformed_ip, 3);
    // other protocols
    assert!(feed(
        &mut d,
        1,
        101,
        &ipv4(v4("192.0.2.1"), v4("192.0.2.2"), 1, &[8, 0, 0, 0])
    )
    .is_empty());
    assert!(feed(
        &mut d,
        1,
        101,
        &ipv6(v6("::1"), v6("::2"), 58, &[128, 0, 0, 0])
    )
    .is_empty());
    assert!(feed(&mut d, 1, 101, &ipv6(v6("::1"), v6("::2"), 59, &[])).is_empty());
    assert_eq!(d.stats().dropped_other_protocol, 3);
}

#[test]
fn udp_checksums() {
    let mut d = decoder();
    let msg = response(77);
    // response over IPv4 and IPv6: valid
    for (s, c) in [(server4(), client4()), (server6(), client6())] {
        let out = feed(&mut d, 1, 101, &udp_packet(s, c, 53, 3333, &msg));
        assert_eq!(out[0].udp_checksum, ChecksumStatus::Valid);
        // one payload bit flipped: invalid, still emitted
        let mut p = udp_packet(s, c, 53, 3333, &msg);
        let last = p.len() - 1;
        p[last] ^= 0x10;
        let out = feed(&mut d, 1, 101, &p);
        assert_eq!(out[0].udp_checksum, ChecksumStatus::Invalid);
        assert_eq!(out[0].data.len(), msg.len());
    }
    assert_eq!(d.stats().udp_checksum_invalid, 2);
    // checksum 0: absent over IPv4, invalid over IPv6 (mandatory there)
    let mut p = udp_packet(server4(), client4(), 53, 3333, &msg);
    p[26] = 0;
    p[27] = 0;
    assert_eq!(
        feed(&mut d, 1, 101, &p)[0].udp_checksum,
        ChecksumStatus::Absent
    );
    let mut p = udp_packet(server6(), client6(), 53, 3333, &msg);
    p[46] = 0;
    p[47] = 0;
    assert_eq!(
        feed(&mut d, 1, 101, &p)[0].udp_checksum,
        ChecksumStatus::Invalid
    );
    assert_eq!(d.stats().udp_checksum_absent, 1);
    assert_eq!(d.stats().udp_checksum_invalid, 3);
    // queries (source port not a DNS port) are not verified, even when wrong
    let mut p = udp_packet(client4(), server4(), 3333, 53, &msg);
    p[27] ^= 1;
    assert_eq!(
        feed(&mut d, 1, 101, &p)[0].udp_checksum,
        ChecksumStatus::NotChecked
    );
    // checksum offload placeholder (captured on the sending host): the pseudo-header sum
    let mut u = udp(server4(), client4(), 53, 3333, &msg);
    let mut sum: u32 = 17 + u.len() as u32;
    for ip in [server4(), client4()] {
        let IpAddr::V4(a) = ip else { unreachable!() };
        let o = a.octets();
        sum += u32::from(u16::from_be_bytes([o[0], o[1]]))
            + u32::from(u16::from_be_bytes([o[2], o[3]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    u[6..8].copy_from_slice(&(sum as u16).to_be_bytes());
    let p = ip_packet(server4(), client4(), 17, &u);
    assert_eq!(
        feed(&mut d, 1, 101, &p)[0].udp_checksum,
        ChecksumStatus::NotChecked
    );
    assert_eq!(d.stats().udp_checksum_offloaded, 1);
    assert_eq!(d.stats().udp_checksum_invalid, 3);
}

#[test]
fn dns_ports_decide() {
    let msg = response(20);
    let mut d = decoder();
    assert!(feed(
        &mut d,
        1,
        101,
        &udp_packet(client4(), server4(), 5353, 5353, &msg)
    )
    .is_empty());
    assert!(feed(
        &mut d,
        1,
        101,
        &tcp_packet(client4(), server4(), 80, 8080, 1, 0, TCP_SYN, &[])
    )
    .is_empty());
    assert_eq!(d.stats().dropped_not_dns_port, 2);
    assert_eq!(
        feed(
            &mut d,
            1,
            101,
            &udp_packet(client4(), server4(), 40000, 53, &msg)
        )
        .len(),
        1
    );
    assert_eq!(
        feed(
            &mut d,
            1,
            101,
            &udp_packet(server4(), client4(), 53, 53, &msg)
        )
        .len(),
        1
    );
    // empty and short UDP payloads on a DNS port are still given out (the DNS parser judges)
    assert_eq!(
        feed(
            &mut d,
            1,
            101,
            &udp_packet(client4(), server4(), 4, 53, &[])
        )
        .len(),
        1
    );

    let mut d = Decoder::new(DecoderConfig {
        dns_ports: vec![5353, 853],
        limits: Limits::default(),
    });
    assert_eq!(
        feed(
            &mut d,
            1,
            101,
            &udp_packet(client4(), server4(), 5353, 5353, &msg)
        )
        .len(),
        1
    );
    assert!(feed(
        &mut d,
        1,
        101,
        &udp_packet(client4(), server4(), 40000, 53, &msg)
    )
    .is_empty());
}

/// A response large enough to need fragments, as a complete IP packet.
fn big_udp(src: IpAddr, dst: IpAddr, len: usize) -> (Vec<u8>, Vec<u8>) {
    let msg = response(len);
    (msg.clone(), udp_packet(src, dst, 53, 4444, &msg))
}

/// Fragments of `payload`, one per `(start, end)` range (the ranges may overlap), each built
/// by `fragment(offset, more fragments follow, bytes)`.
fn overlapping<const N: usize>(
    payload: &[u8],
    ranges: [(usize, usize); N],
    fragment: impl Fn(usize, bool, &[u8]) -> Vec<u8>,
) -> Vec<Vec<u8>> {
    ranges
        .iter()
        .enumerate()
        .map(|(k, &(a, b))| fragment(a, k + 1 < N, &payload[a..b]))
        .collect()
}

#[test]
fn ipv4_fragments_in_order_reverse_and_duplicated() {
    let (msg, p) = big_udp(server4(), client4(), 3000);
    let frags = fragment_ipv4(&p, 1480, 77);
    assert_eq!(frags.len(), 3);
    let mut d = decoder();
    // in order
    let out = feed_all(&mut d, S, 1, frags.iter().map(|f| eth_ip(f)));
    assert_eq!(the_message(&out, &msg).udp_checksum, ChecksumStatus::Valid);
    // reverse order, plus a duplicate of the middle one (overlap with the same bytes)
    let reordered = [&frags[2], &frags[1], &frags[1], &frags[0]];
    let out = feed_all(&mut d, 2 * S, 1, reordered.map(|f| eth_ip(f)));
    the_message(&out, &msg);
    // partly overlapping fragments carrying the same bytes
    let payload = &p[20..];
    let (s4, c4) = (v4("198.51.100.53"), v4("192.0.2.10"));
    let pieces = [(0, 1600), (800, 2400), (1600, payload.len())];
    let frags = overlapping(payload, pieces, |offset, more, part| {
        ipv4_fragment(s4, c4, 17, 78, offset, more, part)
    });
    the_message(&feed_all(&mut d, 3 * S, 101, frags), &msg);
    let s = d.stats();
    assert_eq!(s.fragments, 10);
    assert_eq!(s.fragments_reassembled, 3);
    assert!(s.fragments_overlapping >= 3);
    assert_eq!(s.fragments_conflicting, 0);
    assert_eq!(d.buffered_bytes(), 0);
    assert_eq!(d.tracked_states(), 0);
}

#[test]
fn conflicting_ipv4_fragments_discard_the_datagram() {
    let (_, p) = big_udp(server4(), client4(), 2000);
    let frags = fragment_ipv4(&p, 1000, 9);
    let mut forged = frags[1].clone();
    let n = forged.len();
    forged[n - 5] ^= 0xff; // same place, other bytes
    let mut d = decoder();
    let out = feed_all(&mut d, S, 101, [&frags[1], &forged, &frags[0], &frags[2]]);
    assert!(out.is_empty());
    assert_eq!(d.stats().fragments_conflicting, 1);
    assert_eq!(d.buffered_bytes(), 0);
}

#[test]
fn missing_fragment_expires_by_packet_time() {
    let (_, p) = big_udp(server4(), client4(), 3000);
    let frags = fragment_ipv4(&p, 1480, 5);
    let mut d = decoder();
    assert!(feed(&mut d, 10 * S, 101, &frags[0]).is_empty());
    assert!(feed(&mut d, 10 * S, 101, &frags[2]).is_empty());
    assert_eq!(d.tracked_states(), 1);
    assert!(d.buffered_bytes() > 2000);
    // 29 s later: still waiting
    feed(
        &mut d,
        39 * S,
        101,
        &udp_packet(client4(), server4(), 1, 53, &[0; 12]),
    );
    assert_eq!(d.tracked_states(), 1);
    assert_eq!(d.stats().fragments_expired, 0);
    // 31 s later: gone
    feed(
        &mut d,
        41 * S,
        101,
        &udp_packet(client4(), server4(), 1, 53, &[0; 12]),
    );
    assert_eq!(d.tracked_states(), 0);
    assert_eq!(d.buffered_bytes(), 0);
    assert_eq!(d.stats().fragments_expired, 1);
    // the late fragment alone does not complete anything
    assert!(feed(&mut d, 42 * S, 101, &frags[1]).is_empty());
    d.finish();
    assert_eq!(d.stats().fragments_incomplete_at_finish, 1);
    assert_eq!(d.tracked_states(), 0);
}

#[test]
fn ipv6_fragments_in_order_reverse_overlapping_and_missing() {
    let (msg, p) = big_udp(server6(), client6(), 4000);
    let frags = fragment_ipv6(&p, 1232, 0xdead_beef);
    assert_eq!(frags.len(), 4);
    let mut d = decoder();
    let out = feed_all(&mut d, S, 1, frags.iter().map(|f| eth_ip(f)));
    let first = the_message(&out, &msg);
    assert_eq!(first.udp_checksum, ChecksumStatus::Valid);
    assert_eq!((first.src, first.dst), (server6(), client6()));
    let reordered = frags.iter().rev().chain(std::iter::once(&frags[2]));
    the_message(&feed_all(&mut d, S, 229, reordered), &msg);
    // overlapping fragments, same bytes
    let payload = &p[40..];
    let (s6, c6) = (v6("2001:db8:53::53"), v6("2001:db8::10"));
    let pieces = [(0, 2000), (1000, 3000), (2000, payload.len())];
    let frags6 = overlapping(payload, pieces, |offset, more, part| {
        ipv6_fragment(s6, c6, 17, 3, offset, more, part)
    });
    the_message(&feed_all(&mut d, S, 229, frags6), &msg);
    // extension headers: hop-by-hop before the fragment header, destination options inside
    let mut inner = vec![17, 0, 1, 4, 0, 0, 0, 0]; // destination options, then UDP
    inner.extend_from_slice(&p[40..]);
    let cut = 1600;
    let mut f1 = vec![44, 0, 1, 4, 0, 0, 0, 0]; // hop-by-hop, next: fragment
    f1.extend_from_slice(&[60, 0, 0, 1, 0, 0, 0, 9]); // fragment header, next: dest opts
    f1.extend_from_slice(&inner[..cut]);
    let mut f2 = vec![44, 0, 1, 4, 0, 0, 0, 0];
    f2.extend_from_slice(&[60, 0]);
    f2.extend_from_slice(&(cut as u16).to_be_bytes());
    f2.extend_from_slice(&[0, 0, 0, 9]);
    f2.extend_from_slice(&inner[cut..]);
    let out = feed_all(&mut d, S, 229, [ipv6(s6, c6, 0, &f2), ipv6(s6, c6, 0, &f1)]);
    the_message(&out, &msg);
    // missing one: expires
    feed(&mut d, 2 * S, 229, &frags[0]);
    feed(&mut d, 2 * S, 229, &frags[3]);
    assert_eq!(d.tracked_states(), 1);
    feed(
        &mut d,
        40 * S,
        229,
        &udp_packet(client6(), server6(), 9, 53, &[0; 12]),
    );
    assert_eq!(d.stats().fragments_expired, 1);
    assert_eq!(d.stats().fragments_reassembled, 4);
    assert_eq!(d.tracked_states(), 0);
}

#[test]
fn fragment_limits_are_enforced() {
    let limits = Limits {
        max_fragment_datagrams: 3,
        max_fragment_bytes_total: 8000,
        max_fragment_bytes_per_datagram: 5000,
        ..Limits::default()
    };
    let mut d = Decoder::new(DecoderConfig {
        dns_ports: vec![53],
        limits,
    });
    let (_, p) = big_udp(server4(), client4(), 3000);
    // many datagrams started, none finished: at most 3 in flight, at most 8000 bytes
    for id in 0..100u16 {
        let frags = fragment_ipv4(&p, 1480, id);
        feed(&mut d, S, 101, &frags[0]);
        assert!(d.tracked_states() <= 3);
        assert!(d.buffered_bytes() <= 8000);
    }
    assert!(d.stats().fragments_over_limit >= 97);
    // a datagram larger than the per-datagram limit
    let (_, big) = big_udp(server4(), client4(), 6000);
    let frags = fragment_ipv4(&big, 1480, 999);
    for f in &frags {
        feed(&mut d, 100 * S, 101, f);
    }
    assert_eq!(d.stats().fragments_reassembled, 0);
    // invalid: zero-length and unaligned non-last fragments
    let before = d.stats().fragments_invalid;
    feed(
        &mut d,
        100 * S,
        101,
        &ipv4_fragment(v4("1.1.1.1"), v4("2.2.2.2"), 17, 1, 0, true, &[1; 13]),
    );
    feed(
        &mut d,
        100 * S,
        101,
        &ipv4_fragment(v4("1.1.1.1"), v4("2.2.2.2"), 17, 1, 8, true, &[]),
    );
    assert_eq!(d.stats().fragments_invalid, before + 2);
}
