//! DNS over TCP: stream reassembly and length-prefix framing.

use std::net::IpAddr;

use dnsledger_capture::testutil::*;
use dnsledger_capture::{ChecksumStatus, Decoder, DecoderConfig, Frame, Limits, Transport};

const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;

fn client() -> IpAddr {
    "192.0.2.10".parse().unwrap()
}

fn server() -> IpAddr {
    "2001:db8::53"
        .parse::<IpAddr>()
        .map(|_| "198.51.100.53".parse().unwrap())
        .unwrap()
}

/// One test connection: client port 40000 to server port 53, ISNs chosen by the test.
struct Conn {
    c: IpAddr,
    s: IpAddr,
    cport: u16,
    cseq: u32,
    sseq: u32,
}

impl Conn {
    fn new(cseq: u32, sseq: u32) -> Conn {
        Conn {
            c: client(),
            s: server(),
            cport: 40000,
            cseq,
            sseq,
        }
    }

    fn v6(mut self) -> Conn {
        self.c = "2001:db8::10".parse().unwrap();
        self.s = "2001:db8::53".parse().unwrap();
        self
    }

    /// Client segment at client-relative offset `off` (0 = first data byte).
    fn c(&self, off: u32, flags: u8, data: &[u8]) -> Vec<u8> {
        eth_ip(&tcp_packet(
            self.c,
            self.s,
            self.cport,
            53,
            self.cseq.wrapping_add(1).wrapping_add(off),
            self.sseq.wrapping_add(1),
            flags | TCP_ACK,
            data,
        ))
    }

    /// Server segment at server-relative offset `off`, acknowledging client offset `ack`.
    fn s(&self, off: u32, ack: u32, flags: u8, data: &[u8]) -> Vec<u8> {
        eth_ip(&tcp_packet(
            self.s,
            self.c,
            53,
            self.cport,
            self.sseq.wrapping_add(1).wrapping_add(off),
            self.cseq.wrapping_add(1).wrapping_add(ack),
            flags | TCP_ACK,
            data,
        ))
    }

    fn syn(&self) -> Vec<u8> {
        eth_ip(&tcp_packet(
            self.c,
            self.s,
            self.cport,
            53,
            self.cseq,
            0,
            TCP_SYN,
            &[],
        ))
    }

    fn syn_ack(&self) -> Vec<u8> {
        eth_ip(&tcp_packet(
            self.s,
            self.c,
            53,
            self.cport,
            self.sseq,
            self.cseq.wrapping_add(1),
            TCP_SYN | TCP_ACK,
            &[],
        ))
    }
}

struct Run {
    d: Decoder,
    out: Vec<OwnedPayload>,
    ts: i64,
}

impl Run {
    fn new() -> Run {
        Run::with(Limits::default())
    }

    fn with(limits: Limits) -> Run {
        Run {
            d: Decoder::new(DecoderConfig {
                dns_ports: vec![53],
                limits,
            }),
            out: Vec::new(),
            ts: 1_000 * S,
        }
    }

    /// Feeds a frame 1 ms after the previous one; returns how many messages it emitted.
    fn feed(&mut self, frame: &[u8]) -> usize {
        self.ts += MS;
        let before = self.out.len();
        let out = &mut self.out;
        self.d.decode(
            &Frame {
                ts_nanos: self.ts,
                link_type: 1,
                data: frame,
                orig_len: frame.len() as u32,
                interface: 0,
            },
            &mut |p| out.push(OwnedPayload::from(p)),
        );
        self.out.len() - before
    }

    fn handshake(&mut self, c: &Conn) {
        self.feed(&c.syn());
        self.feed(&c.syn_ack());
    }

    fn messages(&self) -> Vec<Vec<u8>> {
        self.out.iter().map(|p| p.data.clone()).collect()
    }
}

fn q(id: u16, len: usize) -> Vec<u8> {
    dns_message(id, false, len)
}

fn r(id: u16, len: usize) -> Vec<u8> {
    dns_message(id, true, len)
}

#[test]
fn two_messages_in_one_segment_and_metadata() {
    let c = Conn::new(1000, 5000);
    let mut run = Run::new();
    run.handshake(&c);
    let (m1, m2) = (q(1, 20), q(2, 30));
    let mut data = length_prefixed(&m1);
    data.extend(length_prefixed(&m2));
    assert_eq!(run.feed(&c.c(0, TCP_PSH, &data)), 2);
    assert_eq!(run.messages(), vec![m1, m2]);
    let p = &run.out[0];
    assert_eq!(p.transport, Transport::Tcp);
    assert_eq!(p.udp_checksum, ChecksumStatus::NotChecked);
    assert_eq!(
        (p.src, p.src_port, p.dst, p.dst_port),
        (client(), 40000, server(), 53)
    );
    assert_eq!(p.ts_nanos, run.ts);
    // the response direction, three messages and a partial fourth in one segment
    let mut data = Vec::new();
    for i in 0..3 {
        data.extend(length_prefixed(&r(i, 100)));
    }
    let fourth = length_prefixed(&r(9, 50));
    data.extend_from_slice(&fourth[..10]);
    assert_eq!(run.feed(&c.s(0, 54, TCP_PSH, &data)), 3);
    assert_eq!(
        run.feed(&c.s(data.len() as u32, 54, TCP_PSH, &fourth[10..])),
        1
    );
    assert_eq!(run.out.last().unwrap().data, r(9, 50));
    assert_eq!(run.out.last().unwrap().src_port, 53);
    let s = run.d.stats();
    assert_eq!((s.tcp_messages, s.dns_payloads, s.tcp_streams), (6, 6, 2));
}

#[test]
fn reader_and_decoder_can_move_between_threads() {
    fn send<T: Send>() {}
    send::<Decoder>();
    send::<dnsledger_capture::CaptureReader>();
    send::<dnsledger_capture::DecodeStats>();
}

#[test]
fn one_message_over_three_segments_with_the_prefix_split() {
    for (cseq, v6) in [
        (1000u32, false),
        (u32::MAX - 3, false),
        (u32::MAX - 1, true),
    ] {
        let mut c = Conn::new(cseq, 7);
        if v6 {
            c = c.v6();
        }
        let mut run = Run::new();
        run.handshake(&c);
        let m = q(42, 300);
        let data = length_prefixed(&m);
        assert_eq!(run.feed(&c.c(0, 0, &data[..1])), 0); // half the prefix
        assert_eq!(run.feed(&c.c(1, 0, &data[1..100])), 0); // the rest of it, part of the body
        let t_last = run.ts + MS;
        assert_eq!(run.feed(&c.c(100, TCP_PSH, &data[100..])), 1);
        assert_eq!(run.messages(), vec![m]);
        assert_eq!(
            run.out[0].ts_nanos, t_last,
            "timestamp of the completing segment"
        );
        // the next message follows normally (sequence numbers wrapped for some ISNs)
        let m2 = q(43, 15);
        assert_eq!(
            run.feed(&c.c(data.len() as u32, 0, &length_prefixed(&m2))),
            1
        );
        assert_eq!(run.out[1].data, m2);
    }
}

#[test]
fn retransmissions_are_trimmed() {
    let c = Conn::new(1, 2);
    let mut run = Run::new();
    run.handshake(&c);
    let m1 = length_prefixed(&q(1, 40));
    let m2 = length_prefixed(&q(2, 40));
    assert_eq!(run.feed(&c.c(0, 0, &m1)), 1);
    assert_eq!(run.feed(&c.c(0, 0, &m1)), 0); // exact duplicate
                                              // a retransmission overlapping the old message and carrying the new one
    let mut both = m1[20..].to_vec();
    both.extend_from_slice(&m2);
    assert_eq!(run.feed(&c.c(20, 0, &both)), 1);
    assert_eq!(run.messages(), vec![q(1, 40), q(2, 40)]);
    let s = run.d.stats();
    assert_eq!(
        s.tcp_retransmitted_bytes,
        m1.len() as u64 + (m1.len() - 20) as u64
    );
    assert_eq!(s.tcp_messages, 2);
    // the SYN again: nothing changes
    run.feed(&c.syn());
    assert_eq!(run.feed(&c.c(0, 0, &m1)), 0);
}

#[test]
fn out_of_order_segments_are_buffered_until_the_gap_fills() {
    let c = Conn::new(100, 200);
    let mut run = Run::new();
    run.handshake(&c);
    let msgs: Vec<Vec<u8>> = (0..3).map(|i| q(i, 50 + i as usize)).collect();
    let mut stream = Vec::new();
    for m in &msgs {
        stream.extend(length_prefixed(m));
    }
    // cut into 4 segments, delivered 4, 2, 3, 1
    let cuts = [0, 30, 70, 150, stream.len()];
    let seg = |i: usize| c.c(cuts[i] as u32, 0, &stream[cuts[i]..cuts[i + 1]]);
    assert_eq!(run.feed(&seg(3)), 0);
    assert_eq!(run.feed(&seg(1)), 0);
    assert_eq!(run.feed(&seg(2)), 0);
    assert_eq!(run.feed(&seg(0)), 3);
    assert_eq!(run.messages(), msgs);
    let s = run.d.stats();
    assert_eq!(s.tcp_out_of_order_segments, 3);
    assert_eq!(s.tcp_holes, 0);
    assert_eq!(run.d.buffered_bytes(), 0);
}

#[test]
fn a_hole_acknowledged_by_the_receiver_resynchronises_at_the_next_message() {
    let c = Conn::new(10, 20);
    let mut run = Run::new();
    run.handshake(&c);
    let m: Vec<Vec<u8>> = (0..4).map(|i| length_prefixed(&q(i, 28))).collect();
    let len = m[0].len() as u32;
    assert_eq!(run.feed(&c.c(0, 0, &m[0])), 1);
    // m[1] is lost by the capture; the server acknowledges it anyway
    assert_eq!(run.feed(&c.s(0, 2 * len, 0, &[])), 0);
    assert_eq!(run.feed(&c.c(2 * len, 0, &m[2])), 1);
    assert_eq!(run.feed(&c.c(3 * len, 0, &m[3])), 1);
    assert_eq!(run.messages(), vec![q(0, 28), q(2, 28), q(3, 28)]);
    assert_eq!(run.d.stats().tcp_holes, 1);
}

#[test]
fn a_hole_that_never_fills_is_skipped_at_fin() {
    let c = Conn::new(10, 20);
    let mut run = Run::new();
    run.handshake(&c);
    let big = length_prefixed(&r(1, 500));
    let small = length_prefixed(&r(2, 30));
    // first part of the big message, then (lost) its middle, then its end + a small message
    assert_eq!(run.feed(&c.s(0, 0, 0, &big[..100])), 0);
    let mut tail = big[300..].to_vec();
    tail.extend_from_slice(&small);
    assert_eq!(run.feed(&c.s(300, 0, 0, &tail)), 0);
    // a segment that plausibly starts a message, after the hole
    let after = length_prefixed(&r(3, 40));
    let off = 300 + tail.len() as u32;
    assert_eq!(run.feed(&c.s(off, 0, 0, &after)), 0);
    assert!(run.d.buffered_bytes() > 0);
    // FIN beyond the gap: the gap is a hole; the tail segment does not start a message and is
    // skipped, the last one does.
    assert_eq!(run.feed(&c.s(off + after.len() as u32, 0, TCP_FIN, &[])), 1);
    assert_eq!(run.messages(), vec![r(3, 40)]);
    let s = run.d.stats();
    assert_eq!(s.tcp_holes, 1);
    assert_eq!(s.tcp_resync_skipped_segments, 1);
    assert_eq!(run.d.buffered_bytes(), 0);
    // late data after the FIN is ignored
    assert_eq!(run.feed(&c.s(100, 0, 0, &big[100..300])), 0);
    assert_eq!(run.d.stats().tcp_segments_after_close, 1);
}

#[test]
fn a_hole_is_skipped_when_the_stream_buffer_limit_is_reached() {
    let limits = Limits {
        max_tcp_bytes_per_stream: 1000,
        ..Limits::default()
    };
    let c = Conn::new(10, 20);
    let mut run = Run::with(limits);
    run.handshake(&c);
    // segment at offset 0 lost; then 20 whole messages of 102 bytes each arrive
    let mut emitted = 0;
    for i in 0..20u32 {
        emitted += run.feed(&c.s(50 + i * 102, 0, 0, &length_prefixed(&r(i as u16, 88))));
        assert!(run.d.buffered_bytes() <= 1000);
    }
    assert_eq!(run.d.stats().tcp_holes, 1);
    assert_eq!(emitted, 20);
    assert_eq!(run.out[0].data, r(0, 88));
}

#[test]
fn a_hole_older_than_the_timeout_is_skipped() {
    let limits = Limits {
        tcp_timeout_nanos: 5 * S,
        ..Limits::default()
    };
    let c = Conn::new(10, 20);
    let mut run = Run::with(limits);
    run.handshake(&c);
    // the first 500 bytes never come; one message a second arrives after the gap
    let mut emitted = 0;
    for i in 0..8u32 {
        emitted += run.feed(&c.s(500 + i * 22, 0, 0, &length_prefixed(&r(i as u16, 8))));
        if i < 5 {
            assert_eq!(emitted, 0, "gap still young at {i} s");
        }
        run.ts += S;
    }
    assert_eq!(emitted, 8);
    assert_eq!(run.d.stats().tcp_holes, 1);
    assert_eq!(run.d.stats().tcp_expired_partial, 0);
}

#[test]
fn no_syn_starts_mid_stream() {
    let c = Conn::new(77_777, 88_888);
    let mut run = Run::new();
    let m1 = length_prefixed(&q(5, 33));
    let m2 = length_prefixed(&r(5, 99));
    assert_eq!(run.feed(&c.c(1000, TCP_PSH, &m1)), 1);
    assert_eq!(
        run.feed(&c.s(4000, 1000 + m1.len() as u32, TCP_PSH, &m2)),
        1
    );
    assert_eq!(run.messages(), vec![q(5, 33), r(5, 99)]);
    assert_eq!(run.d.stats().tcp_midstream_starts, 2);
    // a mid-stream start in the middle of a message: skipped until a plausible start
    let c2 = Conn {
        cport: 40001,
        ..Conn::new(1, 1)
    };
    let m3 = length_prefixed(&q(6, 40));
    assert_eq!(run.feed(&c2.c(0, 0, &m3[5..])), 0);
    assert_eq!(run.feed(&c2.c(m3.len() as u32 - 5, 0, &m3)), 1);
    assert_eq!(run.d.stats().tcp_resync_skipped_segments, 1);
    // pure ACKs create no state
    let c3 = Conn {
        cport: 40002,
        ..Conn::new(1, 1)
    };
    let states = run.d.tracked_states();
    run.feed(&c3.c(0, 0, &[]));
    assert_eq!(run.d.tracked_states(), states);
}

#[test]
fn bad_length_prefix_is_counted_and_the_stream_resynchronises() {
    let c = Conn::new(1, 2);
    let mut run = Run::new();
    run.handshake(&c);
    // a zero prefix, then garbage in the same segment
    let mut seg = vec![0, 0, 1, 2, 3];
    seg.extend(length_prefixed(&q(1, 20)));
    assert_eq!(run.feed(&c.c(0, 0, &seg)), 0);
    let mut off = seg.len() as u32;
    // a prefix of 11 (shorter than a DNS header)
    let bad = [0u8, 11, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9];
    assert_eq!(run.feed(&c.c(off, 0, &bad)), 0);
    off += bad.len() as u32;
    assert_eq!(run.d.stats().tcp_bad_length_prefix, 1);
    assert_eq!(run.d.stats().tcp_resync_skipped_segments, 1);
    // the next segment starting a message is used
    assert_eq!(run.feed(&c.c(off, 0, &length_prefixed(&q(2, 20)))), 1);
    assert_eq!(run.messages(), vec![q(2, 20)]);
}

#[test]
fn rst_closes_and_a_new_syn_reopens() {
    let c = Conn::new(1, 2);
    let mut run = Run::new();
    run.handshake(&c);
    let m = length_prefixed(&q(1, 20));
    assert_eq!(run.feed(&c.c(0, 0, &m[..10])), 0);
    run.feed(&c.c(10, TCP_RST, &[]));
    assert_eq!(run.d.stats().tcp_partial_at_close, 1);
    assert_eq!(run.feed(&c.c(10, 0, &m[10..])), 0);
    assert_eq!(run.d.stats().tcp_segments_after_close, 1);
    // the same 4-tuple, a new connection
    let c2 = Conn::new(900_000, 77);
    run.handshake(&c2);
    assert_eq!(run.feed(&c2.c(0, 0, &m)), 1);
    assert_eq!(run.d.stats().tcp_streams, 4);
}

#[test]
fn closed_directions_linger_briefly() {
    let mut run = Run::new();
    let c = Conn::new(1, 2);
    run.handshake(&c);
    let m = length_prefixed(&q(1, 20));
    assert_eq!(run.feed(&c.c(0, TCP_FIN, &m)), 1);
    assert_eq!(
        run.feed(&c.s(0, m.len() as u32 + 1, TCP_FIN, &length_prefixed(&r(1, 40)))),
        1
    );
    assert_eq!(run.d.tracked_states(), 2);
    // a late retransmission is recognised as such
    assert_eq!(run.feed(&c.c(0, 0, &m)), 0);
    assert_eq!(run.d.stats().tcp_segments_after_close, 1);
    run.ts += 6 * S;
    run.feed(
        &Conn {
            cport: 1,
            ..Conn::new(0, 0)
        }
        .syn(),
    );
    assert_eq!(run.d.tracked_states(), 1);
    assert_eq!(run.d.stats().tcp_expired_partial, 0);
}

#[test]
fn idle_partial_streams_expire_and_finish_counts_leftovers() {
    let mut run = Run::new();
    let c = Conn::new(1, 2);
    run.handshake(&c);
    run.feed(&c.c(0, 0, &length_prefixed(&q(1, 20))[..7]));
    assert!(run.d.buffered_bytes() > 0);
    run.ts += 61 * S;
    let other = Conn {
        cport: 40001,
        ..Conn::new(5, 6)
    };
    run.feed(&other.syn());
    run.feed(&other.c(0, 0, &length_prefixed(&q(1, 20))[..7]));
    assert_eq!(run.d.stats().tcp_expired_partial, 1);
    assert_eq!(run.d.tracked_states(), 1); // c's server direction had no state
    run.d.finish();
    assert_eq!(run.d.stats().tcp_partial_at_finish, 1);
    assert_eq!((run.d.tracked_states(), run.d.buffered_bytes()), (0, 0));
}

#[test]
fn global_limits_are_enforced() {
    let limits = Limits {
        max_tcp_streams: 10,
        max_tcp_bytes_total: 5000,
        ..Limits::default()
    };
    let mut run = Run::with(limits);
    // 100 connections each leaving a partial message of 1000 bytes
    for i in 0..100u16 {
        let c = Conn {
            cport: 20000 + i,
            ..Conn::new(u32::from(i) * 7, 3)
        };
        run.feed(&c.syn());
        run.feed(&c.c(0, 0, &length_prefixed(&q(i, 2000))[..1000]));
        assert!(run.d.tracked_states() <= 10);
        assert!(run.d.buffered_bytes() <= 5000, "{}", run.d.buffered_bytes());
    }
    let s = run.d.stats();
    assert!(s.tcp_over_limit >= 90, "{s:?}");
    assert_eq!(s.tcp_streams, 10);
    // out-of-order data is bounded too
    let mut run = Run::with(limits);
    let c = Conn::new(1, 1);
    run.handshake(&c);
    for i in 0..50u32 {
        run.feed(&c.c(10 + i * 500, 0, &[7; 500]));
        assert!(run.d.buffered_bytes() <= 5000);
    }
    assert!(run.d.stats().tcp_over_limit > 0);
}

#[test]
fn random_segment_floods_stay_bounded() {
    let limits = Limits {
        max_tcp_streams: 64,
        max_tcp_bytes_total: 200_000,
        ..Limits::default()
    };
    let mut run = Run::with(limits);
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let v = next();
        let c = Conn {
            cport: 1000 + (v % 200) as u16,
            ..Conn::new(0, 0)
        };
        let len = (v >> 8) as usize % 1400;
        let data: Vec<u8> = (0..len).map(|i| (v >> (i % 50)) as u8).collect();
        let flags = [0, 0, 0, TCP_SYN, TCP_FIN, TCP_RST][(v >> 40) as usize % 6];
        let seq = ((v >> 16) as u32) % 100_000;
        let f = if v & 1 == 0 {
            c.c(seq, flags, &data)
        } else {
            c.s(seq, (v >> 32) as u32 % 100_000, flags, &data)
        };
        run.feed(&f);
        assert!(run.d.tracked_states() <= 64);
        assert!(run.d.buffered_bytes() <= 200_000);
    }
    run.d.finish();
    assert_eq!(run.d.buffered_bytes(), 0);
}
