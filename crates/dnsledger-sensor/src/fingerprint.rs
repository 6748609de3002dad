//! Fixed-size fields for fingerprinted keys ([`dnsledger_rrset::Fingerprinter`], whose
//! module says why equal fingerprints may be taken for equal keys).

use std::net::IpAddr;

/// An address as a fixed-size field: its family, then its octets (an IPv4 address padded
/// with zeros).
pub(crate) fn address_bytes(addr: IpAddr) -> [u8; 17] {
    let mut bytes = [0u8; 17];
    match addr {
        IpAddr::V4(v4) => {
            bytes[0] = 4;
            bytes[1..5].copy_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            bytes[0] = 6;
            bytes[1..].copy_from_slice(&v6.octets());
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_families_stay_apart() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_ne!(address_bytes(v4), address_bytes(mapped));
        assert_eq!(&address_bytes(v4)[..5], &[4, 192, 0, 2, 1]);
    }
}
