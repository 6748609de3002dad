//! Micro check of reader + decoder throughput on synthetic UDP DNS traffic (one core).
//!
//! `cargo run --release -p dnsledger-capture --features testutil --example decode_throughput [frames]`

use std::io::Cursor;
use std::net::IpAddr;
use std::time::Instant;

use dnsledger_capture::testutil::{dns_message, eth_ip, udp_packet, PcapBuilder};
use dnsledger_capture::{CaptureReader, Decoder, DecoderConfig};

fn main() {
    let n: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3_000_000);
    let c: IpAddr = "192.0.2.1".parse().unwrap();
    let s: IpAddr = "192.0.2.53".parse().unwrap();
    let frames = [
        eth_ip(&udp_packet(c, s, 33333, 53, &dns_message(1, false, 28))),
        eth_ip(&udp_packet(s, c, 53, 33333, &dns_message(1, true, 120))),
    ];
    let mut b = PcapBuilder::new(1, false, false);
    for i in 0..n {
        b.packet(i * 400, &frames[i as usize % 2]);
    }
    let bytes = b.bytes();
    let size = bytes.len();
    let start = Instant::now();
    let mut reader = CaptureReader::from_reader(Box::new(Cursor::new(bytes))).unwrap();
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut total = 0usize;
    while let Some(f) = reader.next_frame().unwrap() {
        decoder.decode(&f, &mut |p| total += p.data.len());
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} frames, {:.1} MiB, {total} payload bytes in {secs:.3} s: {:.2} Mpps, {:.0} MiB/s",
        size as f64 / (1 << 20) as f64,
        n as f64 / secs / 1e6,
        size as f64 / secs / (1 << 20) as f64
    );
}
