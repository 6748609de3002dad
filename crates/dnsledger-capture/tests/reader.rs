//! Capture reading: formats, byte orders, timestamps, gzip, truncation and corruption.

use std::io::Cursor;

use dnsledger_capture::testutil::{gzip, PcapBuilder, PcapNgBuilder};
use dnsledger_capture::{CaptureError, CaptureFormat, CaptureReader, FormatKind, MAX_PACKET_LEN};

/// (ts_nanos, link_type, data, orig_len, interface) of every frame, and the final error.
type Frames = Vec<(i64, u16, Vec<u8>, u32, u32)>;

fn open(bytes: Vec<u8>) -> Result<CaptureReader, CaptureError> {
    CaptureReader::from_reader(Box::new(Cursor::new(bytes)))
}

fn read_all(bytes: Vec<u8>) -> (Frames, Option<CaptureError>) {
    let mut r = open(bytes).expect("opens");
    let mut out = Vec::new();
    loop {
        match r.next_frame() {
            Ok(Some(f)) => out.push((
                f.ts_nanos,
                f.link_type,
                f.data.to_vec(),
                f.orig_len,
                f.interface,
            )),
            Ok(None) => return (out, None),
            Err(e) => {
                // After an error the reader is finished.
                assert!(matches!(r.next_frame(), Ok(None)));
                assert!(matches!(r.next_frame(), Ok(None)));
                return (out, Some(e));
            }
        }
    }
}

fn packet(i: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| i.wrapping_mul(7).wrapping_add(j as u8))
        .collect()
}

#[test]
fn pcap_every_magic_and_byte_order() {
    for big_endian in [false, true] {
        for nanos in [false, true] {
            let mut b = PcapBuilder::new(1, big_endian, nanos);
            b.packet(1_700_000_000_123_456_789, &packet(1, 60));
            b.packet(4_000_000_000_000_000_999, &packet(2, 1));
            b.packet_cut(5, &packet(3, 100), 1500);
            let r = open(b.bytes()).unwrap();
            assert_eq!(
                r.format(),
                CaptureFormat {
                    kind: FormatKind::Pcap,
                    gzip: false
                }
            );
            let (frames, err) = read_all(b.bytes());
            assert!(err.is_none(), "{err:?}");
            assert_eq!(frames.len(), 3);
            let sub = if nanos { 789 } else { 0 };
            assert_eq!(frames[0].0, 1_700_000_000_123_456_000 + sub);
            assert_eq!(
                frames[1].0,
                4_000_000_000_000_000_000 + if nanos { 999 } else { 0 }
            );
            assert_eq!(frames[2].0, 5 * u64::from(nanos) as i64);
            assert_eq!(frames[0].1, 1);
            assert_eq!(frames[0].2, packet(1, 60));
            assert_eq!(frames[1].2, packet(2, 1));
            assert_eq!((frames[2].2.len(), frames[2].3), (100, 1500));
            assert!(frames.iter().all(|f| f.4 == 0));
        }
    }
}

#[test]
fn pcap_modified_format_has_longer_record_headers() {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2_cd34u32.to_le_bytes());
    f.extend_from_slice(&[
        2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0, 0, 0,
    ]);
    for i in 0..2u8 {
        for v in [10u32, 20, 3, 3, 0, 0] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        f.extend_from_slice(&[i, i, i]);
    }
    let (frames, err) = read_all(f);
    assert!(err.is_none());
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1], (10_000_020_000, 101, vec![1, 1, 1], 3, 0));
}

#[test]
fn pcapng_interfaces_with_their_own_link_types_and_resolutions() {
    for big_endian in [false, true] {
        let mut b = PcapNgBuilder::new(big_endian);
        b.interface(1, 0, None, None) // microseconds
            .interface(101, 65535, Some(9), Some(100)) // nanoseconds, +100 s
            .interface(229, 0, Some(0x80 | 20), None) // 2^-20 s
            .interface(228, 0, Some(3), Some(-10)); // milliseconds, -10 s
        b.epb(0, 1_700_000_000_000_001, &packet(0, 20), 20)
            .epb(1, 1_700_000_000_123_456_789, &packet(1, 30), 30)
            .epb(2, 3 << 19, &packet(2, 40), 40)
            .epb(3, 20_500, &packet(3, 41), 41);
        let (frames, err) = read_all(b.bytes());
        assert!(err.is_none(), "{err:?}");
        assert_eq!(frames.len(), 4);
        assert_eq!(
            (frames[0].0, frames[0].1, frames[0].4),
            (1_700_000_000_000_001_000, 1, 0)
        );
        assert_eq!(
            (frames[1].0, frames[1].1, frames[1].4),
            (1_700_000_100_123_456_789, 101, 1)
        );
        assert_eq!(
            (frames[2].0, frames[2].1, frames[2].4),
            (1_500_000_000, 229, 2)
        );
        assert_eq!(
            (frames[3].0, frames[3].1, frames[3].4),
            (10_500_000_000, 228, 3)
        );
        assert_eq!(frames[3].2, packet(3, 41)); // odd length: padding not included
        let r = open(b.bytes()).unwrap();
        assert_eq!(r.format().kind, FormatKind::PcapNg);
        assert_eq!(r.format().to_string(), "pcapng");
    }
}

#[test]
fn pcapng_simple_and_obsolete_packet_blocks_and_unknown_blocks() {
    for big_endian in [false, true] {
        let mut b = PcapNgBuilder::new(big_endian);
        b.block(0x0bad_cafe, &[1, 2, 3, 4, 5]); // unknown, before any interface
        b.interface(1, 64, None, None);
        b.epb(0, 7_000_000, &packet(1, 10), 10);
        b.block(4, &[0; 16]); // name resolution block
        b.spb(&packet(2, 50), 50); // fits the snaplen
        b.spb(&packet(3, 64), 1500); // cut by the snaplen: caplen = 64
        b.block(5, &[0; 20]); // interface statistics block
        b.pb(0, 9_000_000, &packet(4, 33), 99);
        let (frames, err) = read_all(b.bytes());
        assert!(err.is_none(), "{err:?}");
        assert_eq!(frames.len(), 4);
        assert_eq!(frames[0].0, 7_000_000_000);
        // SPB: no timestamp of its own, gets the previous packet's.
        assert_eq!(frames[1], (7_000_000_000, 1, packet(2, 50), 50, 0));
        assert_eq!(frames[2], (7_000_000_000, 1, packet(3, 64), 1500, 0));
        assert_eq!(frames[3], (9_000_000_000, 1, packet(4, 33), 99, 0));
    }
}

#[test]
fn pcapng_several_sections_in_different_byte_orders() {
    let mut b = PcapNgBuilder::new(false);
    b.interface(1, 0, None, None).epb(0, 1, &packet(1, 14), 14);
    b.section(true);
    b.interface(113, 0, Some(9), None)
        .interface(276, 0, None, None)
        .epb(1, 2, &packet(2, 20), 20)
        .epb(0, 3, &packet(3, 16), 16);
    b.section(false);
    b.interface(0, 0, None, None).epb(0, 4, &packet(4, 8), 8);
    let (frames, err) = read_all(b.bytes());
    assert!(err.is_none(), "{err:?}");
    let summary: Vec<(i64, u16, u32)> = frames.iter().map(|f| (f.0, f.1, f.4)).collect();
    // Interfaces are numbered across the whole file, in IDB order.
    assert_eq!(
        summary,
        vec![(1000, 1, 0), (2000, 276, 2), (3, 113, 1), (4000, 0, 3)]
    );
}

#[test]
fn gzip_is_detected_from_the_content() {
    let mut p = PcapBuilder::new(1, false, false);
    for i in 0..50 {
        p.packet(i * 1000, &packet(i as u8, 100));
    }
    let mut n = PcapNgBuilder::new(true);
    n.interface(1, 0, None, None);
    for i in 0..50 {
        n.epb(0, i, &packet(i as u8, 100), 100);
    }
    for (plain, kind) in [
        (p.bytes(), FormatKind::Pcap),
        (n.bytes(), FormatKind::PcapNg),
    ] {
        let z = gzip(&plain);
        let mut r = open(z.clone()).unwrap();
        assert_eq!(r.format(), CaptureFormat { kind, gzip: true });
        assert!(r.format().to_string().ends_with("+gzip"));
        let mut count = 0;
        while let Some(f) = r.next_frame().unwrap() {
            assert_eq!(f.data, &packet(count as u8, 100)[..]);
            count += 1;
        }
        assert_eq!(count, 50);
        assert_eq!(r.bytes_read(), z.len() as u64);
        // Two gzip members back to back are one stream.
        let half = plain.len() / 2;
        let mut two = gzip(&plain[..half]);
        two.extend_from_slice(&gzip(&plain[half..]));
        let (frames, err) = read_all(two);
        assert!(err.is_none());
        assert_eq!(frames.len(), 50);
    }
}

#[test]
fn truncated_files_return_every_complete_record_then_one_error() {
    let mut b = PcapBuilder::new(1, false, false);
    for i in 0..5 {
        b.packet(i, &packet(i as u8, 100));
    }
    let full = b.bytes();
    let record = 16 + 100;
    // cut inside the 4th record's data, then inside its header
    for cut in [24 + 3 * record + 50, 24 + 3 * record + 7] {
        let (frames, err) = read_all(full[..cut].to_vec());
        assert_eq!(frames.len(), 3);
        match err {
            Some(CaptureError::Truncated {
                offset, available, ..
            }) => {
                assert_eq!(offset, (24 + 3 * record) as u64);
                assert_eq!(available, (cut - 24 - 3 * record) as u64);
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
    }
    // cut inside the global header
    assert!(matches!(
        open(full[..10].to_vec()),
        Err(CaptureError::Truncated { offset: 0, .. })
    ));

    let mut n = PcapNgBuilder::new(false);
    n.interface(1, 0, None, None);
    for i in 0..4 {
        n.epb(0, i, &packet(i as u8, 100), 100);
    }
    let png = n.bytes();
    let (frames, err) = read_all(png[..png.len() - 10].to_vec());
    assert_eq!(frames.len(), 3);
    assert!(
        matches!(err, Some(CaptureError::Truncated { .. })),
        "{err:?}"
    );

    // gzip cut in the middle: complete records first, then an error
    let mut big = PcapBuilder::new(1, false, false);
    for i in 0..2000u32 {
        big.packet(i64::from(i), &packet(i as u8, 200));
    }
    let z = gzip(&big.bytes());
    let (frames, err) = read_all(z[..z.len() / 2].to_vec());
    assert!(frames.len() > 10 && frames.len() < 2000, "{}", frames.len());
    assert!(
        matches!(
            err,
            Some(CaptureError::Io { .. } | CaptureError::Truncated { .. })
        ),
        "{err:?}"
    );
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.2, packet(i as u8, 200));
    }
}

#[test]
fn corrupt_headers_end_the_file_with_a_typed_error() {
    // pcap record claiming more than the record limit
    let mut b = PcapBuilder::new(1, false, false);
    b.packet(1, &packet(1, 10));
    let mut f = b.bytes();
    for v in [0u32, 0, MAX_PACKET_LEN as u32 + 1, 100] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(&[0; 64]);
    let (frames, err) = read_all(f);
    assert_eq!(frames.len(), 1);
    assert!(
        matches!(err, Some(CaptureError::Corrupt { offset: 50, .. })),
        "{err:?}"
    );

    // the largest allowed record is fine
    let mut b = PcapBuilder::new(1, true, true);
    b.packet(1, &vec![7; MAX_PACKET_LEN]);
    let (frames, err) = read_all(b.bytes());
    assert!(err.is_none());
    assert_eq!(frames[0].2.len(), MAX_PACKET_LEN);

    // pcapng: block length not a multiple of 4
    let mut n = PcapNgBuilder::new(false);
    n.interface(1, 0, None, None).epb(0, 1, &packet(1, 8), 8);
    let good = n.bytes();
    let mut bad = good.clone();
    bad.extend_from_slice(&6u32.to_le_bytes());
    bad.extend_from_slice(&13u32.to_le_bytes());
    bad.extend_from_slice(&[0; 20]);
    let (frames, err) = read_all(bad);
    assert_eq!(frames.len(), 1);
    assert!(matches!(err, Some(CaptureError::Corrupt { .. })), "{err:?}");

    // pcapng: packet on an undeclared interface
    let mut n2 = PcapNgBuilder::new(true);
    n2.interface(1, 0, None, None).epb(3, 1, &packet(1, 8), 8);
    let (frames, err) = read_all(n2.bytes());
    assert!(frames.is_empty());
    assert!(matches!(err, Some(CaptureError::Corrupt { .. })), "{err:?}");

    // pcapng: trailing length differs from the leading one
    let mut bad = good.clone();
    let l = bad.len();
    bad[l - 4] ^= 4;
    let (frames, err) = read_all(bad);
    assert!(frames.is_empty());
    assert!(matches!(err, Some(CaptureError::Corrupt { .. })), "{err:?}");

    // pcapng: captured length beyond the block
    let mut n3 = PcapNgBuilder::new(false);
    n3.interface(1, 0, None, None);
    let mut body = vec![0u8; 20];
    body[12..16].copy_from_slice(&500u32.to_le_bytes());
    n3.block(6, &body);
    let (_, err) = read_all(n3.bytes());
    assert!(matches!(err, Some(CaptureError::Corrupt { .. })), "{err:?}");
}

#[test]
fn unknown_content_is_rejected_clearly() {
    for bytes in [
        b"GET / HTTP/1.1\r\n".to_vec(),
        Vec::new(),
        vec![0xa1],
        gzip(b"just some text, not a capture"),
    ] {
        match open(bytes.clone()) {
            Err(CaptureError::UnknownFormat { magic }) => assert!(magic.len() <= 4),
            other => panic!("{bytes:?}: expected UnknownFormat, got {other:?}"),
        }
    }
    let e = open(b"\x1f\x8bnot really gzip".to_vec()).unwrap_err();
    assert!(
        matches!(
            e,
            CaptureError::Io { .. } | CaptureError::UnknownFormat { .. }
        ),
        "{e:?}"
    );
    let e = CaptureReader::open(std::path::Path::new("/nonexistent/capture.pcap")).unwrap_err();
    assert!(matches!(e, CaptureError::Open { .. }));
    assert!(e.to_string().contains("/nonexistent/capture.pcap"));
}

#[test]
fn large_files_stream_through_the_buffer() {
    // ~6 MiB: many buffer refills and compactions, records straddling buffer ends.
    let mut b = PcapBuilder::new(1, false, true);
    let sizes = [1usize, 60, 1500, 9000, 65_535, 3, 200_000];
    let mut expected = Vec::new();
    let mut i = 0u32;
    while expected.iter().sum::<usize>() < 6 << 20 {
        let len = sizes[i as usize % sizes.len()];
        b.packet(i64::from(i), &packet(i as u8, len));
        expected.push(len);
        i += 1;
    }
    let bytes = b.bytes();
    let total = bytes.len() as u64;
    let mut r = open(bytes).unwrap();
    let mut n = 0;
    while let Some(f) = r.next_frame().unwrap() {
        assert_eq!(f.data.len(), expected[n]);
        assert_eq!(f.data, &packet(n as u8, expected[n])[..]);
        assert_eq!(f.ts_nanos, n as i64);
        n += 1;
    }
    assert_eq!(n, expected.len());
    assert_eq!(r.bytes_read(), total);
}

/// Deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn mutated_captures_never_panic_and_always_terminate() {
    use dnsledger_capture::testutil::{eth_ip, length_prefixed, tcp_packet, udp_packet};
    use dnsledger_capture::{Decoder, DecoderConfig};

    let a: std::net::IpAddr = "192.0.2.1".parse().unwrap();
    let b: std::net::IpAddr = "2001:db8::53".parse().unwrap();
    let c: std::net::IpAddr = "2001:db8::1".parse().unwrap();
    let frames = [
        eth_ip(&udp_packet(
            a,
            "192.0.2.53".parse().unwrap(),
            1234,
            53,
            &[1; 40],
        )),
        eth_ip(&udp_packet(b, c, 53, 5555, &[2; 300])),
        eth_ip(&tcp_packet(
            c,
            b,
            999,
            53,
            5,
            0,
            0x18,
            &length_prefixed(&[3; 20]),
        )),
    ];
    let mut p = PcapBuilder::new(1, false, false);
    let mut n = PcapNgBuilder::new(false);
    n.interface(1, 0, None, None);
    for (i, f) in frames.iter().enumerate() {
        p.packet(i as i64 * 1000, f);
        n.epb(0, i as u64, f, f.len() as u32);
    }
    let seeds = [p.bytes(), n.bytes(), gzip(&p.bytes())];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut opened = 0;
    for round in 0..3000 {
        let mut data = seeds[round % seeds.len()].clone();
        for _ in 0..1 + rng.below(8) {
            if data.is_empty() {
                break;
            }
            match rng.below(4) {
                0 => {
                    let i = rng.below(data.len());
                    data[i] = rng.next() as u8;
                }
                1 => {
                    let i = rng.below(data.len());
                    data[i] ^= 1 << rng.below(8);
                }
                2 => data.truncate(rng.below(data.len() + 1)),
                _ => {
                    let i = rng.below(data.len());
                    let v = [0xff, 0x00, 0x7f, 0x80][rng.below(4)];
                    data[i..].iter_mut().take(4).for_each(|b| *b = v);
                }
            }
        }
        let Ok(mut r) = open(data) else { continue };
        opened += 1;
        let mut d = Decoder::new(DecoderConfig::default());
        let mut steps = 0;
        while let Ok(Some(f)) = r.next_frame() {
            d.decode(&f, &mut |_| {});
            steps += 1;
            assert!(steps < 100, "no progress");
        }
        d.finish();
    }
    assert!(opened > 1000, "{opened}");
}
