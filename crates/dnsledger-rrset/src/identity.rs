use std::hash::{Hash, Hasher};

use dnsledger_wire::{rdata_generic, rdata_to_text, type_name, NameBuf};

/// The identity of an RRset in the history: (rrname, rrtype, bailiwick, rdata set).
///
/// Invariant: `rdata` holds canonical wire forms (RFC 4034 section 6.2), sorted bytewise and
/// without duplicates, so the same set seen by two sensors in any order is one key. TTL is
/// not part of the identity. `bailiwick` is `None` only for client-side observations
/// (RD=1 traffic), which carry no authority context.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RRset {
    rrname: NameBuf,
    rrtype: u16,
    bailiwick: Option<NameBuf>,
    rdata: Vec<Box<[u8]>>,
}

impl RRset {
    /// Builds an RRset, sorting and de-duplicating the rdata so the identity is canonical.
    pub fn new(
        rrname: NameBuf,
        rrtype: u16,
        bailiwick: Option<NameBuf>,
        rdata: Vec<Vec<u8>>,
    ) -> RRset {
        let mut rdata: Vec<Box<[u8]>> = rdata.into_iter().map(Vec::into_boxed_slice).collect();
        rdata.sort_unstable();
        rdata.dedup();
        RRset {
            rrname,
            rrtype,
            bailiwick,
            rdata,
        }
    }

    pub fn rrname(&self) -> &NameBuf {
        &self.rrname
    }

    pub fn rrtype(&self) -> u16 {
        self.rrtype
    }

    pub fn bailiwick(&self) -> Option<&NameBuf> {
        self.bailiwick.as_ref()
    }

    /// Canonical wire rdata, sorted bytewise.
    pub fn rdata(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.rdata.iter().map(|r| &r[..])
    }

    /// The rdata in presentation format, in identity order. Rdata that does not fit its type
    /// (possible only for data that came from outside the sensor) is shown in RFC 3597 form.
    pub fn rdata_text(&self) -> Vec<String> {
        self.rdata()
            .map(|r| rdata_to_text(self.rrtype, r).unwrap_or_else(|_| rdata_generic(r)))
            .collect()
    }

    /// The rrtype mnemonic, or `TYPEnnn`.
    pub fn rrtype_text(&self) -> String {
        type_name(self.rrtype).into_owned()
    }
}

/// A borrowed RRset identity, hashed and compared exactly like [`RRset`], so that an
/// aggregation map can be probed per response without building an owned key.
///
/// `rdata` must already be sorted and de-duplicated, as in `RRset`.
#[derive(Clone, Copy, Debug)]
pub struct RRsetView<'a> {
    pub rrname: &'a [u8],
    pub rrtype: u16,
    pub bailiwick: Option<&'a [u8]>,
    pub rdata: &'a [&'a [u8]],
}

impl RRsetView<'_> {
    /// An owned copy. The names are trusted to be canonical wire names, as produced by the
    /// wire crate; an invalid one is a bug in the caller and yields the root name.
    pub fn to_owned_rrset(&self) -> RRset {
        let name = |wire: &[u8]| NameBuf::from_wire(wire).unwrap_or_else(|_| NameBuf::root());
        RRset {
            rrname: name(self.rrname),
            rrtype: self.rrtype,
            bailiwick: self.bailiwick.map(name),
            rdata: self.rdata.iter().map(|r| Box::from(*r)).collect(),
        }
    }
}

/// The one hashing routine both key forms share; a change here changes both.
fn hash_parts<'a, H: Hasher>(
    state: &mut H,
    rrname: &[u8],
    rrtype: u16,
    bailiwick: Option<&[u8]>,
    rdata: impl ExactSizeIterator<Item = &'a [u8]>,
) {
    rrname.hash(state);
    rrtype.hash(state);
    bailiwick.hash(state);
    state.write_usize(rdata.len());
    for r in rdata {
        r.hash(state);
    }
}

impl Hash for RRset {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(
            state,
            self.rrname.as_wire(),
            self.rrtype,
            self.bailiwick.as_ref().map(NameBuf::as_wire),
            self.rdata(),
        );
    }
}

impl Hash for RRsetView<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(
            state,
            self.rrname,
            self.rrtype,
            self.bailiwick,
            self.rdata.iter().copied(),
        );
    }
}

impl hashbrown::Equivalent<RRset> for RRsetView<'_> {
    fn equivalent(&self, key: &RRset) -> bool {
        self.rrtype == key.rrtype
            && self.rrname == key.rrname.as_wire()
            && self.bailiwick == key.bailiwick.as_ref().map(NameBuf::as_wire)
            && self.rdata.len() == key.rdata.len()
            && self.rdata.iter().zip(key.rdata()).all(|(a, b)| *a == b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    fn name(text: &str) -> NameBuf {
        NameBuf::from_text(text).unwrap()
    }

    fn sample() -> RRset {
        RRset::new(
            name("example.com."),
            2,
            Some(name("com.")),
            vec![
                b"\x03ns2\x00".to_vec(),
                b"\x03ns1\x00".to_vec(),
                b"\x03ns1\x00".to_vec(),
            ],
        )
    }

    #[test]
    fn new_sorts_and_deduplicates_rdata() {
        let rrset = sample();
        let rdata: Vec<&[u8]> = rrset.rdata().collect();
        assert_eq!(rdata, vec![&b"\x03ns1\x00"[..], &b"\x03ns2\x00"[..]]);
    }

    #[test]
    fn view_hashes_and_compares_like_the_owned_key() {
        let owned = sample();
        let rdata: Vec<&[u8]> = owned.rdata().collect();
        let view = RRsetView {
            rrname: owned.rrname().as_wire(),
            rrtype: 2,
            bailiwick: Some(owned.bailiwick().unwrap().as_wire()),
            rdata: &rdata,
        };
        let hasher = hashbrown::DefaultHashBuilder::default();
        assert_eq!(hasher.hash_one(view), hasher.hash_one(&owned));
        assert!(hashbrown::Equivalent::equivalent(&view, &owned));
        assert_eq!(view.to_owned_rrset(), owned);
    }

    #[test]
    fn a_different_bailiwick_is_a_different_rrset() {
        let owned = sample();
        let rdata: Vec<&[u8]> = owned.rdata().collect();
        let child_side = RRsetView {
            rrname: owned.rrname().as_wire(),
            rrtype: 2,
            bailiwick: Some(owned.rrname().as_wire()),
            rdata: &rdata,
        };
        assert!(!hashbrown::Equivalent::equivalent(&child_side, &owned));
    }
}
