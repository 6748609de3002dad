//! The UDP fast path and the reader allocate nothing per frame (counting global allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Cursor;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use dnsledger_capture::testutil::{dns_message, eth_ip, udp_packet, PcapBuilder};
use dnsledger_capture::{CaptureReader, ChecksumStatus, Decoder, DecoderConfig};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn reading_and_decoding_udp_does_not_allocate_per_frame() {
    let c4: IpAddr = "192.0.2.1".parse().unwrap();
    let s4: IpAddr = "192.0.2.53".parse().unwrap();
    let c6: IpAddr = "2001:db8::1".parse().unwrap();
    let s6: IpAddr = "2001:db8::53".parse().unwrap();
    let frames = [
        eth_ip(&udp_packet(c4, s4, 33333, 53, &dns_message(1, false, 30))),
        eth_ip(&udp_packet(s4, c4, 53, 33333, &dns_message(1, true, 300))),
        eth_ip(&udp_packet(c6, s6, 33334, 53, &dns_message(2, false, 30))),
        eth_ip(&udp_packet(s6, c6, 53, 33334, &dns_message(2, true, 900))),
    ];
    let mut b = PcapBuilder::new(1, false, false);
    for i in 0..40_000 {
        b.packet(i * 1000, &frames[i as usize % frames.len()]);
    }
    let bytes = b.bytes(); // ~ 18 MiB: the reader refills its buffer many times
    let mut reader = CaptureReader::from_reader(Box::new(Cursor::new(bytes))).unwrap();
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut payloads = 0usize;
    let mut valid = 0usize;
    // warm up (expiry timers, first buffer fill)
    for _ in 0..100 {
        let f = reader.next_frame().unwrap().unwrap();
        decoder.decode(&f, &mut |_| {});
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    assert!(before > 0, "the counting allocator counts");
    while let Some(f) = reader.next_frame().unwrap() {
        decoder.decode(&f, &mut |p| {
            payloads += 1;
            valid += usize::from(p.udp_checksum == ChecksumStatus::Valid);
        });
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(payloads, 40_000 - 100);
    assert_eq!(valid, payloads / 2);
    assert_eq!(allocations, 0, "allocations while reading and decoding UDP");
}
