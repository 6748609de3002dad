//! A streaming writer of classic pcap files (little-endian, microsecond timestamps).
//!
//! The capture crate's `testutil::PcapBuilder` keeps the whole file in memory and copies it
//! out; a benchmark capture is hundreds of megabytes, so packets go straight to the file.

use std::io::{self, Write};

use dnsledger_capture::link::LINKTYPE_ETHERNET;

const MAGIC_MICROSECONDS: u32 = 0xa1b2_c3d4;
const SNAPLEN: u32 = 262_144;
const GLOBAL_HEADER_LEN: u64 = 24;
const RECORD_HEADER_LEN: u64 = 16;

pub struct PcapWriter<W: Write> {
    out: W,
    packets: u64,
    bytes: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header of an Ethernet capture.
    pub fn new(mut out: W) -> io::Result<PcapWriter<W>> {
        let mut header = Vec::with_capacity(GLOBAL_HEADER_LEN as usize);
        header.extend_from_slice(&MAGIC_MICROSECONDS.to_le_bytes());
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&[0; 8]); // timezone offset and accuracy, always 0
        header.extend_from_slice(&SNAPLEN.to_le_bytes());
        header.extend_from_slice(&u32::from(LINKTYPE_ETHERNET).to_le_bytes());
        out.write_all(&header)?;
        Ok(PcapWriter {
            out,
            packets: 0,
            bytes: GLOBAL_HEADER_LEN,
        })
    }

    /// One whole frame captured at `ts_nanos` (rounded down to the microsecond).
    pub fn packet(&mut self, ts_nanos: i64, frame: &[u8]) -> io::Result<()> {
        let seconds = ts_nanos.div_euclid(1_000_000_000) as u32;
        let micros = (ts_nanos.rem_euclid(1_000_000_000) / 1000) as u32;
        let len = frame.len() as u32;
        let mut header = [0u8; RECORD_HEADER_LEN as usize];
        for (slot, value) in header.chunks_exact_mut(4).zip([seconds, micros, len, len]) {
            slot.copy_from_slice(&value.to_le_bytes());
        }
        self.out.write_all(&header)?;
        self.out.write_all(frame)?;
        self.packets += 1;
        self.bytes += RECORD_HEADER_LEN + u64::from(len);
        Ok(())
    }

    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// File size so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dnsledger_capture::testutil::{decode_bytes, dns_message, eth_ip, udp_packet};
    use dnsledger_capture::DecoderConfig;

    #[test]
    fn the_capture_reader_reads_what_it_writes() {
        let (c, s) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let frame = eth_ip(&udp_packet(c, s, 4000, 53, &dns_message(9, false, 20)));
        let mut pcap = PcapWriter::new(Vec::new()).unwrap();
        pcap.packet(1_700_000_000_123_456_789, &frame).unwrap();
        assert_eq!(pcap.bytes(), 24 + 16 + frame.len() as u64);
        let bytes = pcap.finish().unwrap();
        let decoded = decode_bytes(bytes, DecoderConfig::default());
        assert!(decoded.error.is_none());
        assert_eq!(decoded.payloads.len(), 1);
        assert_eq!(decoded.payloads[0].ts_nanos, 1_700_000_000_123_456_000);
    }
}
