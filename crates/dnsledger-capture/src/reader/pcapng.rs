//! pcapng: sections (SHB, either byte order), interfaces (IDB with `if_tsresol` and
//! `if_tsoffset`), packets (EPB, SPB, obsolete PB); every other block is skipped unread.

use super::input::Input;
use super::pcap::{read_u16, read_u32};
use super::{RawRecord, MAX_PACKET_LEN};
use crate::error::CaptureError;

/// The first four bytes of every pcapng file (the SHB block type, a palindrome).
pub(crate) const SHB_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

const BT_SHB: u32 = 0x0a0d_0d0a;
const BT_IDB: u32 = 1;
const BT_PB: u32 = 2;
const BT_SPB: u32 = 3;
const BT_EPB: u32 = 6;

const OPT_ENDOFOPT: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// Blocks that are parsed (rather than skipped) must fit in this many bytes.
const MAX_BUFFERED_BLOCK: usize = 4 << 20;
/// Interfaces per section.
const MAX_INTERFACES: usize = 1 << 16;

#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: u16,
    snaplen: u32,
    tsresol: u8,
    tsoffset_secs: i64,
    global_id: u32,
}

/// Reading state of a pcapng stream.
#[derive(Debug, Default)]
pub(crate) struct PcapNgState {
    big_endian: bool,
    in_section: bool,
    interfaces: Vec<Interface>,
    next_global_interface: u32,
    last_ts: i64,
}

/// Converts a pcapng timestamp (in units of `if_tsresol`) plus `if_tsoffset` seconds to
/// nanoseconds since the epoch, for any resolution, without overflow (saturating at the i64
/// limits, which are beyond the year 2262).
pub(crate) fn ts_to_nanos(units: u64, tsresol: u8, offset_secs: i64) -> i64 {
    let n = u32::from(tsresol & 0x7f);
    let nanos: i128 = if tsresol & 0x80 == 0 {
        if n <= 9 {
            i128::from(units) * 10i128.pow(9 - n)
        } else if n - 9 <= 38 {
            i128::from(units) / 10i128.pow(n - 9)
        } else {
            0
        }
    } else {
        let scaled = u128::from(units) * 1_000_000_000u128; // < 2^94
        if n >= 128 {
            0
        } else {
            (scaled >> n) as i128
        }
    };
    let total = nanos + i128::from(offset_secs) * 1_000_000_000;
    total.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

fn corrupt(offset: u64, reason: impl Into<String>) -> CaptureError {
    CaptureError::Corrupt {
        offset,
        reason: reason.into(),
    }
}

impl PcapNgState {
    pub(crate) fn new() -> PcapNgState {
        PcapNgState::default()
    }

    /// Reads blocks until the next packet; `Ok(None)` at a clean end.
    pub(crate) fn next(&mut self, input: &mut Input) -> Result<Option<RawRecord>, CaptureError> {
        loop {
            if !input.fill(8) {
                if input.available() == 0 {
                    return match input.take_error() {
                        Some(e) => Err(e),
                        None => Ok(None),
                    };
                }
                return Err(input.incomplete("pcapng block header", 8));
            }
            let offset = input.offset();
            if input.bytes()[..4] == SHB_MAGIC {
                if !input.fill(12) {
                    return Err(input.incomplete("pcapng section header", 12));
                }
                match input.bytes()[8..12] {
                    [0x1a, 0x2b, 0x3c, 0x4d] => self.big_endian = true,
                    [0x4d, 0x3c, 0x2b, 0x1a] => self.big_endian = false,
                    _ => {
                        return Err(corrupt(
                            offset,
                            "pcapng section header: bad byte-order magic",
                        ))
                    }
                }
            } else if !self.in_section {
                return Err(corrupt(
                    offset,
                    "pcapng block before the first section header",
                ));
            }
            let be = self.big_endian;
            let h = input.bytes();
            let btype = read_u32(h, 0, be);
            let blen = read_u32(h, 4, be) as usize;
            if blen < 12 || !blen.is_multiple_of(4) {
                return Err(corrupt(
                    offset,
                    format!("pcapng block of type {btype:#x} has impossible length {blen}"),
                ));
            }
            if !matches!(btype, BT_SHB | BT_IDB | BT_EPB | BT_SPB | BT_PB) {
                if !input.skip(blen as u64) {
                    return Err(skip_error(input, offset, blen));
                }
                continue;
            }
            if blen > MAX_BUFFERED_BLOCK {
                return Err(corrupt(
                    offset,
                    format!("pcapng block of type {btype:#x} claims {blen} bytes"),
                ));
            }
            if !input.fill(blen) {
                return Err(input.incomplete("pcapng block", blen as u64));
            }
            let b = &input.bytes()[..blen];
            if read_u32(b, blen - 4, be) as usize != blen {
                return Err(corrupt(
                    offset,
                    "pcapng block: trailing length differs from leading length",
                ));
            }
            match btype {
                BT_SHB => {
                    self.section_header(b, offset)?;
                    input.consume(blen);
                }
                BT_IDB => {
                    self.interface_description(b, offset)?;
                    input.consume(blen);
                }
                _ => return self.packet(b, btype, offset).map(Some),
            }
        }
    }

    fn section_header(&mut self, b: &[u8], offset: u64) -> Result<(), CaptureError> {
        if b.len() < 28 {
            return Err(corrupt(offset, "pcapng section header too short"));
        }
        let major = read_u16(b, 12, self.big_endian);
        if major != 1 {
            return Err(corrupt(
                offset,
                format!("pcapng major version {major} is not supported"),
            ));
        }
        self.in_section = true;
        self.interfaces.clear();
        Ok(())
    }

    fn interface_description(&mut self, b: &[u8], offset: u64) -> Result<(), CaptureError> {
        let be = self.big_endian;
        if b.len() < 20 {
            return Err(corrupt(offset, "pcapng interface description too short"));
        }
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(corrupt(offset, "pcapng section has too many interfaces"));
        }
        let mut iface = Interface {
            link_type: read_u16(b, 8, be),
            snaplen: read_u32(b, 12, be),
            tsresol: 6,
            tsoffset_secs: 0,
            global_id: self.next_global_interface,
        };
        let end = b.len() - 4;
        let mut o = 16;
        while o + 4 <= end {
            let code = read_u16(b, o, be);
            let len = usize::from(read_u16(b, o + 2, be));
            let v = o + 4;
            if v + len > end || code == OPT_ENDOFOPT {
                break;
            }
            match code {
                OPT_IF_TSRESOL if len >= 1 => iface.tsresol = b[v],
                OPT_IF_TSOFFSET if len >= 8 => {
                    let first = u64::from(read_u32(b, v, be));
                    let second = u64::from(read_u32(b, v + 4, be));
                    let value = if be {
                        (first << 32) | second
                    } else {
                        (second << 32) | first
                    };
                    iface.tsoffset_secs = value as i64;
                }
                _ => {}
            }
            o = v + len.next_multiple_of(4);
        }
        self.next_global_interface = self.next_global_interface.wrapping_add(1);
        self.interfaces.push(iface);
        Ok(())
    }

    fn interface(&self, id: u32, offset: u64) -> Result<Interface, CaptureError> {
        self.interfaces.get(id as usize).copied().ok_or_else(|| {
            corrupt(
                offset,
                format!("pcapng packet refers to undeclared interface {id}"),
            )
        })
    }

    fn packet(&mut self, b: &[u8], btype: u32, offset: u64) -> Result<RawRecord, CaptureError> {
        let be = self.big_endian;
        let blen = b.len();
        let (iface, ts_units, data_start, caplen, orig_len) = if btype == BT_SPB {
            if blen < 16 {
                return Err(corrupt(offset, "pcapng simple packet block too short"));
            }
            let iface = self.interface(0, offset)?;
            let orig_len = read_u32(b, 8, be);
            let mut caplen = (blen - 16).min(orig_len as usize);
            if iface.snaplen != 0 {
                caplen = caplen.min(iface.snaplen as usize);
            }
            (iface, None, 12, caplen, orig_len)
        } else {
            if blen < 32 {
                return Err(corrupt(offset, "pcapng packet block too short"));
            }
            let id = if btype == BT_PB {
                u32::from(read_u16(b, 8, be))
            } else {
                read_u32(b, 8, be)
            };
            let iface = self.interface(id, offset)?;
            let ts = (u64::from(read_u32(b, 12, be)) << 32) | u64::from(read_u32(b, 16, be));
            let caplen = read_u32(b, 20, be) as usize;
            let orig_len = read_u32(b, 24, be);
            if caplen > MAX_PACKET_LEN || 28 + caplen > blen - 4 {
                return Err(corrupt(
                    offset,
                    format!(
                        "pcapng packet block claims {caplen} captured bytes in a {blen}-byte block"
                    ),
                ));
            }
            (iface, Some(ts), 28, caplen, orig_len)
        };
        let ts_nanos = match ts_units {
            Some(u) => {
                let t = ts_to_nanos(u, iface.tsresol, iface.tsoffset_secs);
                self.last_ts = t;
                t
            }
            None => self.last_ts,
        };
        Ok(RawRecord {
            ts_nanos,
            link_type: iface.link_type,
            data_start,
            data_len: caplen,
            orig_len,
            interface: iface.global_id,
            consumed: blen,
        })
    }
}

fn skip_error(input: &mut Input, offset: u64, blen: usize) -> CaptureError {
    match input.incomplete("pcapng block", blen as u64) {
        CaptureError::Truncated { what, needed, .. } => CaptureError::Truncated {
            offset,
            what,
            needed,
            available: input.offset() - offset,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::ts_to_nanos;

    #[test]
    fn timestamps_any_resolution() {
        assert_eq!(ts_to_nanos(1_500_000, 6, 0), 1_500_000_000);
        assert_eq!(ts_to_nanos(7, 9, 0), 7);
        assert_eq!(ts_to_nanos(1234, 3, 10), 10_000_000_000 + 1_234_000_000);
        assert_eq!(ts_to_nanos(123_456_789_012, 12, 0), 123_456_789);
        assert_eq!(ts_to_nanos(1 << 20, 0x80 | 20, 0), 1_000_000_000);
        assert_eq!(ts_to_nanos(3, 0x80 | 1, 0), 1_500_000_000);
        assert_eq!(ts_to_nanos(u64::MAX, 0, 0), i64::MAX);
        assert_eq!(ts_to_nanos(u64::MAX, 127, 0), 0);
        assert_eq!(ts_to_nanos(u64::MAX, 0xff, 0), 0);
        assert_eq!(ts_to_nanos(5, 0, -3), 2_000_000_000);
        assert_eq!(ts_to_nanos(0, 6, i64::MIN), i64::MIN);
    }
}
