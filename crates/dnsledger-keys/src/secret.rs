//! Secrets: how they are made, shown and hashed.
//!
//! A secret is 32 random bytes, far beyond any guessing, so an unsalted SHA-256 is the right
//! hash for storing it (as GitHub does for its tokens): salts and slow hashes defend
//! low-entropy passwords against dictionaries, and there is no dictionary of random 256-bit
//! strings. A fast hash also keeps authenticating every request cheap.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest as _, Sha256};

/// Marks the string as a dnsledger key, e.g. for secret scanners and for humans.
const PREFIX: &str = "dnsl_";
/// Length of the public id taken from the secret (48 of its 256 bits).
const ID_LEN: usize = 8;

/// The SHA-256 of a secret.
pub(crate) type Digest = [u8; 32];

/// A key as handed to its holder, once, at creation: `dnsl_` and 43 base64url characters.
/// `Display` prints it; `Debug` does not, so it cannot leak into logs by accident.
pub struct Secret(String);

impl Secret {
    /// A new secret from the operating system's random source.
    pub(crate) fn generate() -> Result<Secret, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Secret(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))))
    }

    /// The public id `keys list` shows: the first characters after the prefix.
    pub(crate) fn id(&self) -> String {
        self.0[PREFIX.len()..PREFIX.len() + ID_LEN].to_string()
    }

    pub(crate) fn digest(&self) -> Digest {
        digest(&self.0)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The SHA-256 of a presented or generated secret.
pub(crate) fn digest(secret: &str) -> Digest {
    Sha256::digest(secret.as_bytes()).into()
}

/// Serde for a digest as 64 lower-case hex digits, the form `keys.json` stores.
pub(crate) mod hex_digest {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Digest;

    pub(crate) fn serialize<S: Serializer>(
        digest: &Digest,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        serializer.serialize_str(&hex)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Digest, D::Error> {
        let hex = String::deserialize(deserializer)?;
        parse(&hex).ok_or_else(|| D::Error::custom("sha256 must be 64 hex digits"))
    }

    fn parse(hex: &str) -> Option<Digest> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut digest = [0u8; 32];
        for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_base64url() {
        let a = Secret::generate().unwrap();
        let b = Secret::generate().unwrap();
        let text = a.to_string();
        assert!(text.starts_with("dnsl_"));
        assert_eq!(text.len(), PREFIX.len() + 43);
        assert!(text[PREFIX.len()..]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(text, b.to_string());
        assert_eq!(a.id(), &text[5..13]);
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let secret = Secret::generate().unwrap();
        let debug = format!("{secret:?}");
        assert_eq!(debug, "Secret(..)");
    }

    #[test]
    fn digest_hex_round_trips_and_rejects_bad_hex() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Holder(#[serde(with = "hex_digest")] Digest);
        let value = digest("dnsl_x");
        let json = serde_json::to_string(&Holder(value)).unwrap();
        assert_eq!(json.len(), 64 + 2);
        assert_eq!(serde_json::from_str::<Holder>(&json).unwrap().0, value);
        let bad = format!("\"{}\"", "g".repeat(64));
        assert!(serde_json::from_str::<Holder>(&bad).is_err());
        assert!(serde_json::from_str::<Holder>("\"abcd\"").is_err());
        let multibyte = format!("\"é{}\"", "0".repeat(62));
        assert!(serde_json::from_str::<Holder>(&multibyte).is_err());
    }
}
