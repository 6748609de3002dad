//! The fixed 12-byte message header (RFC 1035 section 4.1.1).

use crate::WireError;

/// Length of the DNS message header in bytes.
pub const HEADER_LEN: usize = 12;

/// The message header, unpacked into plain fields.
///
/// `Default` is an all-zero header (a query with id 0), handy for [`crate::MessageBuilder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Header {
    /// Transaction id.
    pub id: u16,
    /// Query (false) or response (true).
    pub qr: bool,
    /// Operation code (4 bits), see [`crate::opcode`].
    pub opcode: u8,
    /// Authoritative answer.
    pub aa: bool,
    /// Truncated.
    pub tc: bool,
    /// Recursion desired.
    pub rd: bool,
    /// Recursion available.
    pub ra: bool,
    /// Authentic data (RFC 4035).
    pub ad: bool,
    /// Checking disabled (RFC 4035).
    pub cd: bool,
    /// Response code, the 4 header bits only (EDNS extended bits live in OPT), see [`crate::rcode`].
    pub rcode: u8,
    /// Number of questions.
    pub qdcount: u16,
    /// Number of answer records.
    pub ancount: u16,
    /// Number of authority records.
    pub nscount: u16,
    /// Number of additional records.
    pub arcount: u16,
}

impl Header {
    /// Reads the header from the first 12 bytes of `buf`.
    pub fn parse(buf: &[u8]) -> Result<Header, WireError> {
        let b: &[u8; HEADER_LEN] = buf
            .get(..HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(WireError::Truncated)?;
        let [id0, id1, f0, f1, qd0, qd1, an0, an1, ns0, ns1, ar0, ar1] = *b;
        Ok(Header {
            id: u16::from_be_bytes([id0, id1]),
            qr: f0 & 0x80 != 0,
            opcode: (f0 >> 3) & 0x0f,
            aa: f0 & 0x04 != 0,
            tc: f0 & 0x02 != 0,
            rd: f0 & 0x01 != 0,
            ra: f1 & 0x80 != 0,
            // bit 0x40 is the reserved Z bit: ignored, as every resolver does.
            ad: f1 & 0x20 != 0,
            cd: f1 & 0x10 != 0,
            rcode: f1 & 0x0f,
            qdcount: u16::from_be_bytes([qd0, qd1]),
            ancount: u16::from_be_bytes([an0, an1]),
            nscount: u16::from_be_bytes([ns0, ns1]),
            arcount: u16::from_be_bytes([ar0, ar1]),
        })
    }

    /// The 12-byte wire form (fields wider than their wire bits are masked).
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let f0 = (u8::from(self.qr) << 7)
            | ((self.opcode & 0x0f) << 3)
            | (u8::from(self.aa) << 2)
            | (u8::from(self.tc) << 1)
            | u8::from(self.rd);
        let f1 = (u8::from(self.ra) << 7)
            | (u8::from(self.ad) << 5)
            | (u8::from(self.cd) << 4)
            | (self.rcode & 0x0f);
        let [id0, id1] = self.id.to_be_bytes();
        let [qd0, qd1] = self.qdcount.to_be_bytes();
        let [an0, an1] = self.ancount.to_be_bytes();
        let [ns0, ns1] = self.nscount.to_be_bytes();
        let [ar0, ar1] = self.arcount.to_be_bytes();
        [id0, id1, f0, f1, qd0, qd1, an0, an1, ns0, ns1, ar0, ar1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_all_flags() {
        let h = Header {
            id: 0xbeef,
            qr: true,
            opcode: 5,
            aa: true,
            tc: false,
            rd: true,
            ra: false,
            ad: true,
            cd: true,
            rcode: 3,
            qdcount: 1,
            ancount: 2,
            nscount: 3,
            arcount: 4,
        };
        assert_eq!(Header::parse(&h.to_bytes()), Ok(h));
    }

    #[test]
    fn known_bytes() {
        let b = [0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 1, 0, 0];
        let h = Header::parse(&b).unwrap();
        assert_eq!(h.id, 0x1234);
        assert!(h.qr && h.rd && h.ra && !h.aa && !h.tc && !h.ad && !h.cd);
        assert_eq!((h.opcode, h.rcode, h.qdcount, h.nscount), (0, 3, 1, 1));
    }

    #[test]
    fn short_header_is_truncated() {
        for n in 0..HEADER_LEN {
            assert_eq!(Header::parse(&[0u8; 12][..n]), Err(WireError::Truncated));
        }
    }
}
