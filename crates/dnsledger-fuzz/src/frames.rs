//! Target `decoder_frames`: the bytes are a sequence of frames without a capture file around
//! them, so that mutations land in IP, UDP and TCP headers instead of pcap record headers.
//!
//! Input format, one record after another to the end of the input:
//!
//! ```text
//! selector: u8 | length: u16, big-endian | data: [u8; length]
//! ```
//!
//! A last record shorter than its length takes what is left. The selector's bits 0-3 pick
//! the link type (`LINK_TYPES[bits % 14]`), bits 4-6 how far the packet clock advances
//! before the frame (`CLOCK_STEPS`: 0 to an hour, so fragment, TCP, pairing and flush
//! timeouts all fire), bit 7 marks the frame as cut by the snaplen (one byte longer on the
//! wire than captured).

use dnsledger_capture::link::{
    LINKTYPE_C_HDLC, LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2, LINKTYPE_LOOP, LINKTYPE_NULL, LINKTYPE_PPP, LINKTYPE_PPP_HDLC,
    LINKTYPE_RAW, LINKTYPE_RAW_12, LINKTYPE_RAW_14,
};
use dnsledger_capture::Frame;

use crate::input::take_record;
use crate::pipeline::Pipeline;

/// Every link type the decoder supports, plus one it does not. Selector values 14 and 15
/// wrap around to raw IP and Ethernet, the two that reach IP soonest.
const LINK_TYPES: [u16; 14] = [
    LINKTYPE_RAW,
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_LOOP,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_PPP,
    LINKTYPE_PPP_HDLC,
    LINKTYPE_C_HDLC,
    LINKTYPE_RAW_12,
    LINKTYPE_RAW_14,
    UNSUPPORTED_LINK_TYPE,
];

const UNSUPPORTED_LINK_TYPE: u16 = 0xffff;

/// Clock advances, in nanoseconds, chosen by selector bits 4-6.
const CLOCK_STEPS: [i64; 8] = [
    0,
    1_000,
    1_000_000,
    100_000_000,
    1_000_000_000,
    5_000_000_000,
    61_000_000_000,
    3_600_000_000_000,
];

/// The step [`encode_frame`] uses: 1 ms, realistic spacing that fires no timeout.
const ENCODE_STEP: u8 = 2;

const SNAPLEN_CUT: u8 = 0x80;

/// Packet time of the first frame (2023-11-14): realistic, far from overflow.
const START_NANOS: i64 = 1_700_000_000 * 1_000_000_000;

/// Decodes `data` as frames (see the module documentation) through decoder and sensor.
pub fn decoder_frames(data: &[u8]) {
    let mut pipeline = Pipeline::new();
    let mut clock = START_NANOS;
    for (selector, bytes) in (Records { rest: data }) {
        clock = clock.saturating_add(CLOCK_STEPS[usize::from(selector >> 4) & 0x07]);
        let cut = u32::from(selector & SNAPLEN_CUT != 0);
        let frame = Frame {
            ts_nanos: clock,
            link_type: LINK_TYPES[usize::from(selector & 0x0f) % LINK_TYPES.len()],
            data: bytes,
            orig_len: bytes.len() as u32 + cut, // at most u16::MAX + 1
            interface: 0,
        };
        pipeline.frame(&frame);
    }
    pipeline.finish();
}

/// Appends one frame in the input format of [`decoder_frames`], 1 ms after the previous
/// one, for building seeds from real captures. Returns false (and appends nothing) if the
/// link type is not one the format can select or the frame is longer than 65,535 bytes.
pub fn encode_frame(link_type: u16, data: &[u8], out: &mut Vec<u8>) -> bool {
    let Some(index) = LINK_TYPES.iter().position(|&t| t == link_type) else {
        return false;
    };
    let Ok(len) = u16::try_from(data.len()) else {
        return false;
    };
    out.push(index as u8 | ENCODE_STEP << 4); // index < 14
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    true
}

/// The records of the input format.
struct Records<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Records<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&selector, after_selector) = self.rest.split_first()?;
        let (bytes, rest) = take_record(after_selector)?;
        self.rest = rest;
        Some((selector, bytes))
    }
}
