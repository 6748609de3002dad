//! IPv4 and IPv6 headers (with the IPv6 extension-header chain).

/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;

const V6_HOP_BY_HOP: u8 = 0;
const V6_ROUTING: u8 = 43;
const V6_FRAGMENT: u8 = 44;
const V6_AH: u8 = 51;
const V6_DEST_OPTS: u8 = 60;
const V6_MOBILITY: u8 = 135;
const V6_HIP: u8 = 139;
const V6_SHIM6: u8 = 140;

/// At most this many IPv6 extension headers are walked.
const MAX_EXTENSION_HEADERS: usize = 16;

/// A parsed IPv4 header.
#[derive(Debug, Clone, Copy)]
pub struct Ipv4<'a> {
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// Protocol of the payload.
    pub proto: u8,
    /// Identification (for fragments).
    pub id: u16,
    /// Fragment offset in bytes.
    pub frag_offset: u32,
    /// More-fragments flag.
    pub more_fragments: bool,
    /// The payload, trimmed to the header's total length (link padding removed).
    pub payload: &'a [u8],
}

impl Ipv4<'_> {
    /// Whether this packet is a fragment (of a larger datagram).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.more_fragments || self.frag_offset != 0
    }
}

/// Parses an IPv4 header. `None` if malformed (version, header length, total length beyond
/// the captured bytes). A total length of 0 (TCP segmentation offload) means "all captured".
#[inline]
pub fn parse_ipv4(p: &[u8]) -> Option<Ipv4<'_>> {
    if p.len() < 20 || p[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    if ihl < 20 || p.len() < ihl {
        return None;
    }
    let total = match usize::from(u16::from_be_bytes([p[2], p[3]])) {
        0 => p.len(),
        t if t < ihl || t > p.len() => return None,
        t => t,
    };
    let frag = u16::from_be_bytes([p[6], p[7]]);
    Some(Ipv4 {
        src: [p[12], p[13], p[14], p[15]],
        dst: [p[16], p[17], p[18], p[19]],
        proto: p[9],
        id: u16::from_be_bytes([p[4], p[5]]),
        frag_offset: u32::from(frag & 0x1fff) * 8,
        more_fragments: frag & 0x2000 != 0,
        payload: &p[ihl..total],
    })
}

/// The IPv6 fragment header's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V6Fragment {
    /// Fragment offset in bytes.
    pub offset: u32,
    /// More-fragments flag.
    pub more: bool,
    /// Identification.
    pub id: u32,
}

/// A parsed IPv6 packet.
#[derive(Debug, Clone, Copy)]
pub struct Ipv6<'a> {
    /// Source address.
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// The next header after the extension headers walked (for a fragment: the fragment
    /// header's next header).
    pub next: u8,
    /// Set if a (non-atomic) fragment header was found; `payload` is then the fragment data.
    pub fragment: Option<V6Fragment>,
    /// What follows the walked headers (trimmed to the payload length).
    pub payload: &'a [u8],
}

/// Parses an IPv6 header and walks its extension headers (hop-by-hop, routing, destination
/// options, fragment, AH, mobility, HIP, shim6), stopping at anything else (including ESP and
/// no-next-header). `None` if malformed.
#[inline]
pub fn parse_ipv6(p: &[u8]) -> Option<Ipv6<'_>> {
    if p.len() < 40 || p[0] >> 4 != 6 {
        return None;
    }
    let plen = usize::from(u16::from_be_bytes([p[4], p[5]]));
    if 40 + plen > p.len() {
        return None;
    }
    let mut src = [0u8; 16];
    src.copy_from_slice(&p[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&p[24..40]);
    let (next, fragment, payload) = walk_extensions(p[6], &p[40..40 + plen], true)?;
    Some(Ipv6 {
        src,
        dst,
        next,
        fragment,
        payload,
    })
}

/// Walks extension headers starting with next-header value `nh` at `data`. Returns the upper
/// protocol, a fragment header if one was found (the walk stops after it), and the rest.
/// A fragment header when `allow_fragment` is false (inside a reassembled datagram) is
/// malformed. An atomic fragment (offset 0, no more fragments) is skipped like any header.
pub fn walk_extensions(
    mut nh: u8,
    data: &[u8],
    allow_fragment: bool,
) -> Option<(u8, Option<V6Fragment>, &[u8])> {
    let mut off = 0usize;
    for _ in 0..MAX_EXTENSION_HEADERS {
        let rest = &data[off..];
        let len = match nh {
            V6_HOP_BY_HOP | V6_ROUTING | V6_DEST_OPTS | V6_MOBILITY | V6_HIP | V6_SHIM6 => {
                (usize::from(*rest.get(1)?) + 1) * 8
            }
            V6_AH => (usize::from(*rest.get(1)?) + 2) * 4,
            V6_FRAGMENT => {
                if rest.len() < 8 || !allow_fragment {
                    return None;
                }
                let field = u16::from_be_bytes([rest[2], rest[3]]);
                let frag = V6Fragment {
                    offset: u32::from(field & 0xfff8),
                    more: field & 1 != 0,
                    id: u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]),
                };
                nh = rest[0];
                off += 8;
                if frag.offset != 0 || frag.more {
                    return Some((nh, Some(frag), &data[off..]));
                }
                continue;
            }
            _ => return Some((nh, None, rest)),
        };
        if rest.len() < len {
            return None;
        }
        nh = rest[0];
        off += len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(total: u16, ihl: u8, frag: u16) -> Vec<u8> {
        let mut p = vec![0u8; 28];
        p[0] = 0x40 | ihl;
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p[6..8].copy_from_slice(&frag.to_be_bytes());
        p[9] = 17;
        p
    }

    #[test]
    fn ipv4_checks_and_trims() {
        let p = v4(24, 5, 0);
        let h = parse_ipv4(&p).unwrap();
        assert_eq!(h.payload.len(), 4);
        assert!(!h.is_fragment());
        assert!(parse_ipv4(&v4(29, 5, 0)).is_none());
        assert!(parse_ipv4(&v4(19, 5, 0)).is_none());
        assert!(parse_ipv4(&v4(28, 4, 0)).is_none());
        assert!(parse_ipv4(&v4(28, 15, 0)).is_none());
        assert_eq!(parse_ipv4(&v4(0, 5, 0)).unwrap().payload.len(), 8);
        let fp = v4(28, 5, 0x2003);
        let f = parse_ipv4(&fp).unwrap();
        assert!(f.more_fragments && f.frag_offset == 24 && f.is_fragment());
        assert!(parse_ipv4(&[0x45; 10]).is_none());
    }

    #[test]
    fn ipv6_extension_chain() {
        let mut p = vec![0u8; 40];
        p[0] = 0x60;
        p[6] = V6_HOP_BY_HOP;
        // hop-by-hop (8), destination options (16), AH (12 + 4 = (1+2)*4), then UDP
        let mut ext = vec![V6_DEST_OPTS, 0, 0, 0, 0, 0, 0, 0];
        ext.extend_from_slice(&[V6_AH, 1]);
        ext.extend_from_slice(&[0; 14]);
        ext.extend_from_slice(&[PROTO_UDP, 1]);
        ext.extend_from_slice(&[0; 10]);
        ext.extend_from_slice(&[9, 9, 9]);
        p.extend_from_slice(&ext);
        let plen = (p.len() - 40) as u16;
        p[4..6].copy_from_slice(&plen.to_be_bytes());
        let h = parse_ipv6(&p).unwrap();
        assert_eq!(h.next, PROTO_UDP);
        assert_eq!(h.payload, &[9, 9, 9]);
        assert!(h.fragment.is_none());
        // payload length beyond the capture
        p[5] += 1;
        assert!(parse_ipv6(&p).is_none());
        // an extension header running past the payload
        let (nh, _, rest) =
            walk_extensions(V6_ROUTING, &[PROTO_UDP, 0, 0, 0, 0, 0, 0, 0, 1], true).unwrap();
        assert_eq!((nh, rest), (PROTO_UDP, &[1u8][..]));
        assert!(walk_extensions(V6_ROUTING, &[PROTO_UDP, 1, 0, 0, 0, 0, 0, 0, 1], true).is_none());
        // fragment header, atomic and not
        let frag = [PROTO_UDP, 0, 0, 9, 0, 0, 0, 7, 5];
        let (nh, f, rest) = walk_extensions(V6_FRAGMENT, &frag, true).unwrap();
        assert_eq!((nh, rest), (PROTO_UDP, &[5u8][..]));
        assert_eq!(
            f,
            Some(V6Fragment {
                offset: 8,
                more: true,
                id: 7
            })
        );
        let atomic = [PROTO_UDP, 0, 0, 0, 0, 0, 0, 7, 5];
        assert_eq!(walk_extensions(V6_FRAGMENT, &atomic, true).unwrap().1, None);
        assert!(walk_extensions(V6_FRAGMENT, &frag, false).is_none());
        // a loop of headers is bounded
        let looped = [V6_DEST_OPTS, 0, 0, 0, 0, 0, 0, 0].repeat(40);
        assert!(walk_extensions(V6_DEST_OPTS, &looped, true).is_none());
    }
}
