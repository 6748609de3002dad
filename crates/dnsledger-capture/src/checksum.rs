//! The Internet checksum (RFC 1071) and the UDP/TCP pseudo-headers.

use std::net::IpAddr;

/// Adds `data` to a running 64-bit ones'-complement accumulator (16-bit big-endian words; an
/// odd last byte is padded with zero).
#[inline]
pub fn sum_bytes(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let hi = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        let lo = u32::from_be_bytes([c[4], c[5], c[6], c[7]]);
        acc += u64::from(hi) + u64::from(lo);
    }
    let rest = chunks.remainder();
    let mut pairs = rest.chunks_exact(2);
    for p in &mut pairs {
        acc += u64::from(u16::from_be_bytes([p[0], p[1]]));
    }
    if let [last] = pairs.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Folds an accumulator to 16 bits (not complemented).
#[inline]
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Accumulator for the pseudo-header of a transport segment of `len` bytes and protocol
/// `proto` between `src` and `dst` (RFC 768 / RFC 8200 section 8.1). Mixed families give 0.
#[inline]
pub fn pseudo_header(src: &IpAddr, dst: &IpAddr, proto: u8, len: usize) -> u64 {
    let mut acc = u64::from(proto) + len as u64;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            acc += u64::from(u32::from_be_bytes(s.octets()));
            acc += u64::from(u32::from_be_bytes(d.octets()));
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            acc = sum_bytes(acc, &s.octets());
            acc = sum_bytes(acc, &d.octets());
        }
        _ => {}
    }
    acc
}

/// Whether a transport segment (header with its checksum field included, plus payload)
/// verifies against its pseudo-header.
#[inline]
pub fn verify(src: &IpAddr, dst: &IpAddr, proto: u8, segment: &[u8]) -> bool {
    let acc = sum_bytes(pseudo_header(src, dst, proto, segment.len()), segment);
    fold(acc) == 0xffff
}

/// Whether the segment's checksum field (bytes 6..8, UDP) holds only the folded
/// pseudo-header sum: what a host doing checksum offload leaves for the NIC, and so what a
/// capture on the sending host (e.g. loopback) shows.
#[inline]
pub fn is_offload_placeholder(src: &IpAddr, dst: &IpAddr, proto: u8, segment: &[u8]) -> bool {
    let field = match segment {
        [_, _, _, _, _, _, a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => return false,
    };
    field == fold(pseudo_header(src, dst, proto, segment.len()))
}

/// The checksum value to store in a transport header whose checksum field is zero
/// (0 is sent as 0xffff for UDP). Only test builders compose packets.
#[cfg(any(test, feature = "testutil"))]
pub fn compute(src: &IpAddr, dst: &IpAddr, proto: u8, segment: &[u8]) -> u16 {
    let acc = sum_bytes(pseudo_header(src, dst, proto, segment.len()), segment);
    match !fold(acc) {
        0 => 0xffff,
        c => c,
    }
}

/// The IPv4 header checksum value for a header whose checksum field is zero.
#[cfg(any(test, feature = "testutil"))]
pub fn ipv4_header(header: &[u8]) -> u16 {
    !fold(sum_bytes(0, header))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example: sum of 0001 f203 f4f5 f6f7 is ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum_bytes(0, &data)), 0xddf2);
        assert_eq!(
            fold(sum_bytes(0, &data[..7])),
            fold(sum_bytes(0, &[0, 1, 0xf2, 3, 0xf4, 0xf5, 0xf6, 0]))
        );
    }

    #[test]
    fn compute_then_verify() {
        let src: IpAddr = "192.0.2.1".parse().unwrap();
        let dst: IpAddr = "2001:db8::1".parse().unwrap();
        let dst4: IpAddr = "198.51.100.7".parse().unwrap();
        let mut seg = vec![0u8; 8];
        seg.extend_from_slice(b"hello, odd length");
        seg[4] = 0;
        seg[5] = seg.len() as u8;
        let c = compute(&src, &dst4, 17, &seg);
        seg[6..8].copy_from_slice(&c.to_be_bytes());
        assert!(verify(&src, &dst4, 17, &seg));
        seg[10] ^= 1;
        assert!(!verify(&src, &dst4, 17, &seg));
        let _ = dst;
    }
}
