//! What every registered domain's zone contains. All domains share one layout of names; the
//! data under each name (addresses, TTLs, which names have AAAA, where aliases point) is a
//! hash of the name, so a name answers the same every time it is asked.

use dnsledger_wire::NameBuf;

use crate::hierarchy::{Hierarchy, ZoneId};
use crate::names::child;
use crate::rng::{hash_bytes, mix};

/// What a name below a domain's apex is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The apex: SOA, NS, MX, TXT and addresses.
    Apex,
    /// A host with addresses.
    Host,
    /// A CNAME, to `origin` in the zone or to a CDN customer name.
    Alias,
    /// The in-zone target of the aliases.
    Origin,
    /// `_dmarc`: a DMARC policy TXT.
    Dmarc,
    /// A DKIM key TXT (the long TXT records).
    Dkim,
    /// `nsK` of a domain with in-zone ("vanity") name servers: the K-th hoster machine.
    Nameserver(usize),
}

/// The names of a zone (relative to the apex) with their role and their share of client
/// questions among names of the same role.
pub const NAMES: &[(&str, Role, u64)] = &[
    ("", Role::Apex, 30),
    ("www", Role::Host, 40),
    ("mail", Role::Host, 5),
    ("api", Role::Host, 5),
    ("m", Role::Host, 3),
    ("app", Role::Host, 3),
    ("shop", Role::Host, 2),
    ("blog", Role::Host, 2),
    ("login", Role::Host, 2),
    ("smtp", Role::Host, 2),
    ("vpn", Role::Host, 1),
    ("portal", Role::Host, 1),
    ("dev", Role::Host, 1),
    ("news", Role::Host, 1),
    ("cdn", Role::Alias, 4),
    ("static", Role::Alias, 3),
    ("assets", Role::Alias, 2),
    ("img", Role::Alias, 2),
    ("media", Role::Alias, 1),
    ("download", Role::Alias, 1),
    ("origin", Role::Origin, 1),
    ("_dmarc", Role::Dmarc, 1),
    ("selector1._domainkey", Role::Dkim, 1),
    ("ns1", Role::Nameserver(0), 0),
    ("ns2", Role::Nameserver(1), 0),
    ("ns3", Role::Nameserver(2), 0),
    ("ns4", Role::Nameserver(3), 0),
];

/// TTLs zones use, drawn per name.
const TTLS: &[u32] = &[60, 300, 300, 600, 3600, 3600, 3600, 86400];
/// Share of names (per mille) that have AAAA besides A.
const WITH_AAAA: u64 = 850;
/// Share of aliases (per mille) that point into a CDN rather than into their own zone.
const ALIAS_TO_CDN: u64 = 250;

/// The zone layout with names in wire form, for matching the labels of a question.
pub struct Layout {
    relative: Vec<(Vec<u8>, Role)>,
}

impl Layout {
    pub fn new() -> Layout {
        let relative = NAMES
            .iter()
            .map(|&(text, role, _)| {
                let wire = text
                    .split('.')
                    .filter(|l| !l.is_empty())
                    .flat_map(|label| std::iter::once(label.len() as u8).chain(label.bytes()))
                    .collect();
                (wire, role)
            })
            .collect();
        Layout { relative }
    }

    /// The role of `qname` in domain `d`, `None` when the name does not exist.
    pub fn role(&self, tree: &Hierarchy, d: usize, qname: &NameBuf) -> Option<Role> {
        let domain = &tree.domains[d];
        let prefix_len = qname
            .as_wire()
            .len()
            .checked_sub(domain.apex.as_wire().len())?;
        let prefix = &qname.as_wire()[..prefix_len];
        let role = self
            .relative
            .iter()
            .find(|(wire, _)| wire == prefix)
            .map(|&(_, role)| role);
        match role {
            Some(Role::Nameserver(k))
                if !domain.vanity || k >= tree.servers(ZoneId::Domain(d)).len() =>
            {
                None
            }
            Some(role) => Some(role),
            // A CDN answers for whatever customer name it is asked about.
            None if domain.cdn => Some(Role::Host),
            None => None,
        }
    }
}

/// The fixed properties of one name, derived from a hash of it.
pub struct NameData {
    hash: u64,
}

impl NameData {
    pub fn of(seed: u64, name: &NameBuf) -> NameData {
        NameData {
            hash: hash_bytes(seed, name.as_wire()),
        }
    }

    fn bits(&self, which: u64) -> u64 {
        mix(self.hash, which)
    }

    pub fn ttl(&self) -> u32 {
        TTLS[(self.bits(1) % TTLS.len() as u64) as usize]
    }

    /// One to four IPv4 addresses, most names having one or two.
    pub fn v4_addresses(&self) -> Vec<[u8; 4]> {
        let count = [1, 1, 1, 2, 2, 2, 3, 4][(self.bits(2) % 8) as usize];
        (0..count)
            .map(|k| {
                let [_, b, c, d, ..] = self.bits(10 + k).to_be_bytes();
                [10, b, c, d]
            })
            .collect()
    }

    /// One or two IPv6 addresses, or none for a name without AAAA.
    pub fn v6_addresses(&self) -> Vec<[u8; 16]> {
        if self.bits(3) % 1000 >= WITH_AAAA {
            return Vec::new();
        }
        let count = 1 + self.bits(4) % 2;
        (0..count)
            .map(|k| {
                let mut address = [0u8; 16];
                address[..6].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0a]);
                address[6..14].copy_from_slice(&self.bits(20 + k).to_be_bytes());
                address[14..].copy_from_slice(&(k as u16 + 1).to_be_bytes());
                address
            })
            .collect()
    }

    /// Where an alias in domain `d` points: `origin.<d>` or a customer name at a CDN
    /// (then with the CDN's domain index).
    pub fn alias_target(&self, tree: &Hierarchy, d: usize, qname: &NameBuf) -> (NameBuf, usize) {
        let apex = &tree.domains[d].apex;
        let cdns = tree.cdns();
        if self.bits(5) % 1000 >= ALIAS_TO_CDN || cdns.contains(&d) {
            return (child("origin", apex), d);
        }
        let cdn = cdns.start + (self.bits(6) % cdns.len() as u64) as usize;
        let host = qname.labels().next().unwrap_or_default();
        let site = apex.labels().next().unwrap_or_default();
        let label = format!(
            "{}-{}",
            String::from_utf8_lossy(site),
            String::from_utf8_lossy(host)
        );
        (child(&label, &tree.domains[cdn].apex), cdn)
    }

    /// A number in `0..n` fixed for this name (serials, key tags, choices).
    pub fn pick(&self, which: u64, n: u64) -> u64 {
        self.bits(100 + which) % n
    }

    pub fn seed(&self, which: u64) -> u64 {
        self.bits(200 + which)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::name;

    #[test]
    fn layout_finds_roles_and_rejects_unknown_names() {
        let tree = Hierarchy::build(1, 200);
        let layout = Layout::new();
        let d = 50;
        let apex = tree.domains[d].apex.clone();
        assert_eq!(layout.role(&tree, d, &apex), Some(Role::Apex));
        assert_eq!(
            layout.role(&tree, d, &child("www", &apex)),
            Some(Role::Host)
        );
        let dkim = name(&format!("selector1._domainkey.{apex}"));
        assert_eq!(layout.role(&tree, d, &dkim), Some(Role::Dkim));
        assert_eq!(layout.role(&tree, d, &child("nosuchname", &apex)), None);
        let cdn = tree.cdns().start;
        let customer = child("anything", &tree.domains[cdn].apex);
        assert_eq!(layout.role(&tree, cdn, &customer), Some(Role::Host));
    }

    #[test]
    fn name_data_is_stable_and_varied() {
        let a = NameData::of(1, &name("www.example.com."));
        let b = NameData::of(1, &name("www.example.com."));
        assert_eq!(a.v4_addresses(), b.v4_addresses());
        let counts: std::collections::HashSet<usize> = (0..200)
            .map(|i| {
                NameData::of(1, &name(&format!("h{i}.example.com.")))
                    .v4_addresses()
                    .len()
            })
            .collect();
        assert_eq!(counts.len(), 4);
    }
}
