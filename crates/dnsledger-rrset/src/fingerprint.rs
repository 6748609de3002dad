//! Keyed 128-bit fingerprints: fixed-size stand-ins for variable-length keys, so that large
//! hash tables (the sensor's aggregation rows and authority facts, the store's known-name
//! cache) hold their keys inline and a probe compares 16 bytes where it would follow a
//! pointer to the key and `memcmp` it (a cache miss per probe).
//!
//! A table keyed by fingerprints treats two keys with the same fingerprint as one. That is
//! safe only because a collision is practically impossible, even for someone who crafts the
//! traffic: the fingerprint is SipHash-1-3 with a 128-bit output (a keyed pseudo-random
//! function) under a 128-bit key drawn at random for each table, so the key is never known
//! outside the process and outputs for one key say nothing useful about another. Among `n`
//! keys the chance of any collision is about n^2 / 2^129: for the 2 million RRsets an
//! aggregation table holds at most by default, about 6 * 10^-27.

use std::hash::{BuildHasher, Hasher};

use siphasher::sip128::{Hasher128, SipHasher13};

/// A fingerprint; equal fingerprints (from one [`Fingerprinter`]) mean equal keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fingerprint(u128);

impl Fingerprint {
    /// Marks a free slot of a table that holds fingerprints in line; no key has it.
    pub const VACANT: Fingerprint = Fingerprint(0);

    /// A hash output as a fingerprint: 0 is taken as 1, so that no key has the vacant
    /// fingerprint (it makes outputs 0 and 1 collide, one pair among 2^128 values).
    fn from_output(output: u128) -> Fingerprint {
        Fingerprint(output.max(1))
    }

    /// The hash a table places the key by: bits of the fingerprint itself, already uniform.
    pub fn table_hash(self) -> u64 {
        self.0 as u64
    }
}

/// Computes fingerprints under one random key.
#[derive(Clone, Debug)]
pub struct Fingerprinter {
    hasher: SipHasher13,
}

impl Fingerprinter {
    /// A fingerprinter with a fresh random key. The key comes from the standard library's
    /// `RandomState`, which is seeded from the operating system's randomness: two of its
    /// SipHash outputs make the 128 bits, with no new source of randomness and no failure
    /// path to handle.
    pub fn new() -> Fingerprinter {
        let state = std::hash::RandomState::new();
        Fingerprinter {
            hasher: SipHasher13::new_with_keys(state.hash_one(0u8), state.hash_one(1u8)),
        }
    }

    /// The fingerprint of the concatenation of `parts`. The caller makes the concatenation
    /// an unambiguous encoding of its key: fixed-size fields (the sensor's addresses) and
    /// self-delimiting wire names, at most one part of any other variable size, last.
    #[inline]
    pub fn of(&self, parts: &[&[u8]]) -> Fingerprint {
        let mut hasher = self.hasher;
        for part in parts {
            hasher.write(part);
        }
        Fingerprint::from_output(hasher.finish128().as_u128())
    }
}

impl Default for Fingerprinter {
    fn default() -> Fingerprinter {
        Fingerprinter::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_bytes_give_equal_fingerprints_and_different_bytes_different_ones() {
        let fingerprints = Fingerprinter::new();
        assert_eq!(
            fingerprints.of(&[b"example"]),
            fingerprints.of(&[b"exa", b"mple"])
        );
        assert_ne!(
            fingerprints.of(&[b"example"]),
            fingerprints.of(&[b"examplf"])
        );
    }

    #[test]
    fn no_output_gives_the_vacant_fingerprint() {
        assert_ne!(Fingerprint::from_output(0), Fingerprint::VACANT);
        assert_eq!(Fingerprint::from_output(7), Fingerprint(7));
    }

    #[test]
    fn each_fingerprinter_has_its_own_key() {
        assert_ne!(
            Fingerprinter::new().of(&[b"example"]),
            Fingerprinter::new().of(&[b"example"])
        );
    }
}
