//! Link layers: from a frame of a given LINKTYPE to the IP packet inside.

/// LINKTYPE_NULL: BSD loopback, 4-byte address family in the capturing host's byte order.
pub const LINKTYPE_NULL: u16 = 0;
/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u16 = 1;
/// LINKTYPE_PPP (RFC 1661, optionally with HDLC-like `ff 03` framing).
pub const LINKTYPE_PPP: u16 = 9;
/// DLT 12: raw IP on most systems.
pub const LINKTYPE_RAW_12: u16 = 12;
/// DLT 14: raw IP on some BSDs.
pub const LINKTYPE_RAW_14: u16 = 14;
/// LINKTYPE_PPP_HDLC.
pub const LINKTYPE_PPP_HDLC: u16 = 50;
/// LINKTYPE_RAW: raw IPv4 or IPv6, the version nibble decides.
pub const LINKTYPE_RAW: u16 = 101;
/// LINKTYPE_C_HDLC (Cisco HDLC).
pub const LINKTYPE_C_HDLC: u16 = 104;
/// LINKTYPE_LOOP: OpenBSD loopback, address family in network byte order.
pub const LINKTYPE_LOOP: u16 = 108;
/// LINKTYPE_LINUX_SLL: Linux "cooked" capture v1.
pub const LINKTYPE_LINUX_SLL: u16 = 113;
/// LINKTYPE_IPV4: raw IPv4 only.
pub const LINKTYPE_IPV4: u16 = 228;
/// LINKTYPE_IPV6: raw IPv6 only.
pub const LINKTYPE_IPV6: u16 = 229;
/// LINKTYPE_LINUX_SLL2: Linux "cooked" capture v2.
pub const LINKTYPE_LINUX_SLL2: u16 = 276;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_QINQ_OLD2: u16 = 0x9200;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MC: u16 = 0x8848;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;

/// At most this many VLAN tags or MPLS labels are walked.
const MAX_STACK: usize = 8;

/// An IP packet found in a frame (the bytes from its IP header to the end of the frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network<'a> {
    /// An IPv4 packet.
    V4(&'a [u8]),
    /// An IPv6 packet.
    V6(&'a [u8]),
}

/// Why no IP packet came out of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// The link type is not decoded by this crate.
    Unsupported,
    /// The frame is too short for its link header(s).
    Malformed,
    /// The link layer carries something else than IP.
    NotIp,
    /// Raw IP whose version nibble is not 4/6 or contradicts the link type.
    BadIpVersion,
}

/// Finds the IP packet in a frame.
#[inline]
pub fn decode(link_type: u16, data: &[u8]) -> Result<Network<'_>, LinkError> {
    match link_type {
        LINKTYPE_ETHERNET => {
            if data.len() < 14 {
                return Err(LinkError::Malformed);
            }
            ethertype_payload(be16(data, 12), data, 14)
        }
        LINKTYPE_RAW | LINKTYPE_RAW_12 | LINKTYPE_RAW_14 => by_version(data),
        LINKTYPE_IPV4 => match by_version(data)? {
            n @ Network::V4(_) => Ok(n),
            Network::V6(_) => Err(LinkError::BadIpVersion),
        },
        LINKTYPE_IPV6 => match by_version(data)? {
            n @ Network::V6(_) => Ok(n),
            Network::V4(_) => Err(LinkError::BadIpVersion),
        },
        LINKTYPE_LINUX_SLL => {
            if data.len() < 16 {
                return Err(LinkError::Malformed);
            }
            ethertype_payload(be16(data, 14), data, 16)
        }
        LINKTYPE_LINUX_SLL2 => {
            if data.len() < 20 {
                return Err(LinkError::Malformed);
            }
            ethertype_payload(be16(data, 0), data, 20)
        }
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            if data.len() < 4 {
                return Err(LinkError::Malformed);
            }
            let f = [data[0], data[1], data[2], data[3]];
            let family = |v: u32| u32::from_le_bytes(f) == v || u32::from_be_bytes(f) == v;
            if family(2) {
                Ok(Network::V4(&data[4..]))
            } else if family(24) || family(28) || family(30) {
                Ok(Network::V6(&data[4..]))
            } else {
                Err(LinkError::NotIp)
            }
        }
        LINKTYPE_PPP | LINKTYPE_PPP_HDLC => {
            let off = if data.starts_with(&[0xff, 0x03]) {
                2
            } else {
                0
            };
            if data.len() < off + 2 {
                return Err(LinkError::Malformed);
            }
            ppp_payload(be16(data, off), &data[off + 2..])
        }
        LINKTYPE_C_HDLC => {
            if data.len() < 4 {
                return Err(LinkError::Malformed);
            }
            ethertype_payload(be16(data, 2), data, 4)
        }
        _ => Err(LinkError::Unsupported),
    }
}

#[inline]
fn be16(d: &[u8], o: usize) -> u16 {
    u16::from_be_bytes([d[o], d[o + 1]])
}

/// Decides by the IP version nibble.
#[inline]
fn by_version(data: &[u8]) -> Result<Network<'_>, LinkError> {
    match data.first().map(|b| b >> 4) {
        Some(4) => Ok(Network::V4(data)),
        Some(6) => Ok(Network::V6(data)),
        Some(_) => Err(LinkError::BadIpVersion),
        None => Err(LinkError::Malformed),
    }
}

/// Follows an EtherType (through VLAN tags, PPPoE and MPLS) at `data[off..]`.
#[inline]
fn ethertype_payload(mut et: u16, data: &[u8], mut off: usize) -> Result<Network<'_>, LinkError> {
    let mut depth = 0;
    loop {
        match et {
            ETHERTYPE_IPV4 => return Ok(Network::V4(&data[off..])),
            ETHERTYPE_IPV6 => return Ok(Network::V6(&data[off..])),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD | ETHERTYPE_QINQ_OLD2 => {
                depth += 1;
                if depth > MAX_STACK || data.len() < off + 4 {
                    return Err(LinkError::Malformed);
                }
                et = be16(data, off + 2);
                off += 4;
            }
            ETHERTYPE_PPPOE_SESSION => {
                if data.len() < off + 8 {
                    return Err(LinkError::Malformed);
                }
                return ppp_payload(be16(data, off + 6), &data[off + 8..]);
            }
            ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => return mpls_payload(&data[off..]),
            _ => return Err(LinkError::NotIp),
        }
    }
}

fn ppp_payload(proto: u16, data: &[u8]) -> Result<Network<'_>, LinkError> {
    match proto {
        0x0021 => Ok(Network::V4(data)),
        0x0057 => Ok(Network::V6(data)),
        _ => Err(LinkError::NotIp),
    }
}

fn mpls_payload(data: &[u8]) -> Result<Network<'_>, LinkError> {
    let mut off = 0;
    for _ in 0..MAX_STACK {
        if data.len() < off + 4 {
            return Err(LinkError::Malformed);
        }
        let bottom = data[off + 2] & 1 == 1;
        off += 4;
        if bottom {
            return by_version(&data[off..]).map_err(|e| match e {
                LinkError::BadIpVersion => LinkError::NotIp,
                e => e,
            });
        }
    }
    Err(LinkError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(types: &[u16], payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        for (i, t) in types.iter().enumerate() {
            f.extend_from_slice(&t.to_be_bytes());
            if i + 1 < types.len() {
                f.extend_from_slice(&[0x00, 0x0b]); // TCI
            }
        }
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn ethernet_vlan_stacks() {
        let ip = [0x45u8, 0, 0, 20];
        let f = eth(&[0x8100, 0x0800], &ip);
        assert_eq!(decode(1, &f), Ok(Network::V4(&ip[..])));
        let f = eth(&[0x88a8, 0x8100, 0x9100, 0x86dd], &[0x60]);
        assert_eq!(decode(1, &f), Ok(Network::V6(&[0x60][..])));
        let f = eth(&[0x0806], &[1, 2]);
        assert_eq!(decode(1, &f), Err(LinkError::NotIp));
        let f = eth(&[0x8100; 10], &[]);
        assert_eq!(decode(1, &f), Err(LinkError::Malformed));
        assert_eq!(decode(1, &[0; 13]), Err(LinkError::Malformed));
        let mut cut = eth(&[0x8100, 0x0800], &[]);
        cut.truncate(15);
        assert_eq!(decode(1, &cut), Err(LinkError::Malformed));
    }

    #[test]
    fn loopback_families_both_orders() {
        for fam in [2u32, 24, 28, 30] {
            for bytes in [fam.to_le_bytes(), fam.to_be_bytes()] {
                let mut f = bytes.to_vec();
                f.push(0x45);
                let n = decode(0, &f).unwrap();
                let n108 = decode(108, &f).unwrap();
                assert_eq!(n, n108);
                assert_eq!(matches!(n, Network::V4(_)), fam == 2);
            }
        }
        assert_eq!(decode(0, &[7, 0, 0, 0, 0x45]), Err(LinkError::NotIp));
        assert_eq!(decode(0, &[2, 0]), Err(LinkError::Malformed));
    }

    #[test]
    fn raw_and_cooked() {
        assert!(matches!(decode(101, &[0x45]), Ok(Network::V4(_))));
        assert!(matches!(decode(12, &[0x60]), Ok(Network::V6(_))));
        assert!(matches!(decode(14, &[0x45]), Ok(Network::V4(_))));
        assert_eq!(decode(101, &[0x55]), Err(LinkError::BadIpVersion));
        assert_eq!(decode(228, &[0x60]), Err(LinkError::BadIpVersion));
        assert_eq!(decode(229, &[0x45]), Err(LinkError::BadIpVersion));
        assert!(matches!(decode(229, &[0x60]), Ok(Network::V6(_))));
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x86, 0xdd, 0x60]);
        assert_eq!(decode(113, &sll), Ok(Network::V6(&[0x60][..])));
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.push(0x45);
        assert_eq!(decode(276, &sll2), Ok(Network::V4(&[0x45][..])));
        assert_eq!(decode(147, &sll2), Err(LinkError::Unsupported));
        assert_eq!(
            decode(9, &[0xff, 0x03, 0x00, 0x21, 0x45]),
            Ok(Network::V4(&[0x45][..]))
        );
        assert_eq!(
            decode(1, &eth(&[0x8847], &[0, 0, 1, 64, 0x60])),
            Ok(Network::V6(&[0x60][..]))
        );
    }
}
