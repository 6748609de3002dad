//! Record data in wire form, for the records the synthetic zones publish.

use dnsledger_wire::NameBuf;

use crate::rng::Rng;

/// DNSSEC algorithm 13 (ECDSA P-256/SHA-256): what most signed zones use today.
const ALGORITHM_ECDSA_P256: u8 = 13;
const DIGEST_SHA256: u8 = 2;
/// Signature validity window around the capture's dates (2024-12-25 to 2025-01-22).
const SIG_INCEPTION: u32 = 1_735_084_800;
const SIG_EXPIRATION: u32 = 1_737_504_000;
/// EDNS option code of DNS cookies (RFC 7873).
const OPTION_COOKIE: u16 = 10;

pub fn name(target: &NameBuf) -> Vec<u8> {
    target.as_wire().to_vec()
}

pub fn mx(preference: u16, exchange: &NameBuf) -> Vec<u8> {
    let mut out = preference.to_be_bytes().to_vec();
    out.extend_from_slice(exchange.as_wire());
    out
}

/// TXT character-strings; each string must be at most 255 bytes.
pub fn txt(strings: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in strings {
        debug_assert!(s.len() <= 255);
        out.push(s.len() as u8);
        out.extend_from_slice(s.as_bytes());
    }
    out
}

/// SOA with the usual timer values; `minimum` is the negative-caching TTL.
pub fn soa(mname: &NameBuf, rname: &NameBuf, serial: u32, minimum: u32) -> Vec<u8> {
    let mut out = mname.as_wire().to_vec();
    out.extend_from_slice(rname.as_wire());
    for value in [serial, 7200, 3600, 1_209_600, minimum] {
        out.extend_from_slice(&value.to_be_bytes());
    }
    out
}

/// DS of a child key: SHA-256 digest bytes drawn from `seed`.
pub fn ds(key_tag: u16, seed: u64) -> Vec<u8> {
    let mut out = key_tag.to_be_bytes().to_vec();
    out.extend_from_slice(&[ALGORITHM_ECDSA_P256, DIGEST_SHA256]);
    let mut digest = [0u8; 32];
    Rng::new(seed).fill(&mut digest);
    out.extend_from_slice(&digest);
    out
}

/// What an RRSIG says about the RRset it covers and who signed it.
pub struct Signature<'a> {
    pub covered: u16,
    pub owner: &'a NameBuf,
    pub original_ttl: u32,
    pub signer: &'a NameBuf,
    pub key_tag: u16,
    /// Seeds the 64 signature bytes.
    pub seed: u64,
}

pub fn rrsig(sig: &Signature<'_>) -> Vec<u8> {
    let mut out = sig.covered.to_be_bytes().to_vec();
    out.push(ALGORITHM_ECDSA_P256);
    out.push(sig.owner.label_count() as u8);
    out.extend_from_slice(&sig.original_ttl.to_be_bytes());
    out.extend_from_slice(&SIG_EXPIRATION.to_be_bytes());
    out.extend_from_slice(&SIG_INCEPTION.to_be_bytes());
    out.extend_from_slice(&sig.key_tag.to_be_bytes());
    out.extend_from_slice(sig.signer.as_wire());
    let mut signature = [0u8; 64];
    Rng::new(sig.seed).fill(&mut signature);
    out.extend_from_slice(&signature);
    out
}

/// OPT rdata: a COOKIE option with the client cookie and, in responses, the server's.
pub fn cookie_option(client: &[u8; 8], server: Option<&[u8; 16]>) -> Vec<u8> {
    let server = server.map(|s| &s[..]).unwrap_or_default();
    let mut out = OPTION_COOKIE.to_be_bytes().to_vec();
    out.extend_from_slice(&((client.len() + server.len()) as u16).to_be_bytes());
    out.extend_from_slice(client);
    out.extend_from_slice(server);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dnsledger_wire::{rdata_to_text, rtype, Message, MessageBuilder, Section};

    fn canonical_text(rtype: u16, rdata: &[u8]) -> String {
        let owner = NameBuf::from_text("example.com.").unwrap();
        let wire = MessageBuilder::query(1, &owner, rtype)
            .response()
            .record(Section::Answer, &owner, rtype, 300, rdata)
            .build();
        let message = Message::parse(&wire).unwrap();
        let record = message.records().next().unwrap().unwrap();
        let mut canonical = Vec::new();
        record.canonical_rdata(&mut canonical).unwrap();
        rdata_to_text(rtype, &canonical).unwrap()
    }

    #[test]
    fn records_parse_as_their_type() {
        let n = NameBuf::from_text("ns1.example.com.").unwrap();
        let r = NameBuf::from_text("hostmaster.example.com.").unwrap();
        assert_eq!(
            canonical_text(rtype::MX, &mx(10, &n)),
            "10 ns1.example.com."
        );
        assert_eq!(
            canonical_text(rtype::TXT, &txt(&["a b", "c"])),
            "\"a b\" \"c\""
        );
        assert_eq!(
            canonical_text(rtype::SOA, &soa(&n, &r, 7, 300)),
            "ns1.example.com. hostmaster.example.com. 7 7200 3600 1209600 300"
        );
        assert!(canonical_text(rtype::DS, &ds(4242, 1)).starts_with("4242 13 2 "));
        let sig = Signature {
            covered: rtype::A,
            owner: &n,
            original_ttl: 300,
            signer: &n,
            key_tag: 7,
            seed: 1,
        };
        assert!(canonical_text(rtype::RRSIG, &rrsig(&sig)).starts_with("A 13 3 300 "));
    }
}
