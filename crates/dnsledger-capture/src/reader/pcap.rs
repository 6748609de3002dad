//! Classic pcap: 24-byte global header, then 16-byte record headers (24 bytes in the
//! "modified" Kuznetzov format) each followed by the captured bytes.

use super::input::Input;
use super::{RawRecord, MAX_PACKET_LEN};
use crate::error::CaptureError;

/// Microseconds, file in writer's byte order.
pub(crate) const MAGIC_USEC: u32 = 0xa1b2_c3d4;
/// Nanoseconds.
pub(crate) const MAGIC_NSEC: u32 = 0xa1b2_3c4d;
/// Kuznetzov's patched libpcap: microseconds, 8 more bytes per record header.
pub(crate) const MAGIC_MODIFIED: u32 = 0xa1b2_cd34;

const GLOBAL_HEADER_LEN: usize = 24;

/// Whether these first four bytes start a pcap file.
pub(crate) fn is_pcap_magic(m: [u8; 4]) -> bool {
    let le = u32::from_le_bytes(m);
    let be = u32::from_be_bytes(m);
    [MAGIC_USEC, MAGIC_NSEC, MAGIC_MODIFIED]
        .iter()
        .any(|&x| x == le || x == be)
}

/// State of a pcap file after its global header.
#[derive(Debug)]
pub(crate) struct PcapState {
    big_endian: bool,
    nanos: bool,
    record_header_len: usize,
    link_type: u16,
}

impl PcapState {
    /// Reads the global header.
    pub(crate) fn open(input: &mut Input) -> Result<PcapState, CaptureError> {
        if !input.fill(GLOBAL_HEADER_LEN) {
            return Err(input.incomplete("pcap global header", GLOBAL_HEADER_LEN as u64));
        }
        let h = &input.bytes()[..GLOBAL_HEADER_LEN];
        let m = [h[0], h[1], h[2], h[3]];
        let (big_endian, magic) =
            if [MAGIC_USEC, MAGIC_NSEC, MAGIC_MODIFIED].contains(&u32::from_le_bytes(m)) {
                (false, u32::from_le_bytes(m))
            } else {
                (true, u32::from_be_bytes(m))
            };
        let rd = |o: usize| read_u32(h, o, big_endian);
        // Upper bits of the link-type field carry FCS information; the type is the low 16.
        let link_type = (rd(20) & 0xffff) as u16;
        let state = PcapState {
            big_endian,
            nanos: magic == MAGIC_NSEC,
            record_header_len: if magic == MAGIC_MODIFIED { 24 } else { 16 },
            link_type,
        };
        input.consume(GLOBAL_HEADER_LEN);
        Ok(state)
    }

    /// Reads the next record; `Ok(None)` at a clean end.
    pub(crate) fn next(&mut self, input: &mut Input) -> Result<Option<RawRecord>, CaptureError> {
        let hl = self.record_header_len;
        if !input.fill(hl) {
            if input.available() == 0 {
                return match input.take_error() {
                    Some(e) => Err(e),
                    None => Ok(None),
                };
            }
            return Err(input.incomplete("pcap record header", hl as u64));
        }
        let h = input.bytes();
        let sec = read_u32(h, 0, self.big_endian);
        let frac = read_u32(h, 4, self.big_endian);
        let caplen = read_u32(h, 8, self.big_endian);
        let orig_len = read_u32(h, 12, self.big_endian);
        if caplen as usize > MAX_PACKET_LEN {
            return Err(CaptureError::Corrupt {
                offset: input.offset(),
                reason: format!(
                    "pcap record claims {caplen} captured bytes (limit {MAX_PACKET_LEN})"
                ),
            });
        }
        let total = hl + caplen as usize;
        if !input.fill(total) {
            return Err(input.incomplete("pcap record", total as u64));
        }
        let frac_nanos = if self.nanos {
            i64::from(frac)
        } else {
            i64::from(frac) * 1000
        };
        let rec = RawRecord {
            ts_nanos: i64::from(sec) * 1_000_000_000 + frac_nanos,
            link_type: self.link_type,
            data_start: hl,
            data_len: caplen as usize,
            orig_len,
            interface: 0,
            consumed: total,
        };
        Ok(Some(rec))
    }
}

#[inline]
pub(crate) fn read_u32(b: &[u8], o: usize, big_endian: bool) -> u32 {
    let a = [b[o], b[o + 1], b[o + 2], b[o + 3]];
    if big_endian {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

#[inline]
pub(crate) fn read_u16(b: &[u8], o: usize, big_endian: bool) -> u16 {
    let a = [b[o], b[o + 1]];
    if big_endian {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}
