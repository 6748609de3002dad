//! Which server addresses are authoritative for which zones, learned from accepted traffic.
//!
//! Bailiwick reconstruction needs to know, for the address that answered, the zones it is
//! known to serve. Knowledge starts from the root hints and grows only from RRsets the
//! sensor accepted: a zone's NS RRset names its servers, their accepted A/AAAA records give
//! the addresses. An address serves a zone once both halves are known, in either order.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use hashbrown::{Equivalent, HashMap, HashSet};

use crate::RootHints;

/// A zone in canonical wire form, owned.
type WireName = Box<[u8]>;

/// The learned "address X serves zone Z" facts, bounded in size.
#[derive(Debug)]
pub struct AuthorityMap {
    served: HashSet<ServerZone>,
    zones_by_nameserver: HashMap<WireName, HashSet<WireName>>,
    addresses_by_nameserver: HashMap<WireName, Vec<IpAddr>>,
    entries: usize,
    max_entries: usize,
    refused: u64,
}

impl AuthorityMap {
    /// An empty map seeded with `hints`; at most `max_entries` facts are ever kept.
    pub fn new(hints: &RootHints, max_entries: usize) -> AuthorityMap {
        let mut map = AuthorityMap {
            served: HashSet::new(),
            zones_by_nameserver: HashMap::new(),
            addresses_by_nameserver: HashMap::new(),
            entries: 0,
            max_entries,
            refused: 0,
        };
        for (zone, nameserver) in &hints.delegations {
            map.learn_nameserver(zone.as_wire(), nameserver.as_wire());
        }
        for (nameserver, addr) in &hints.addresses {
            map.learn_address(nameserver.as_wire(), *addr);
        }
        map
    }

    /// The bailiwick of an answer from `server` about `qname`: the deepest zone enclosing
    /// `qname` that `server` is known to serve. DS lives on the parent side of a zone cut,
    /// so for a DS question about a zone apex the next enclosing zone the server also
    /// serves is used. `None` when the server is not known to serve any enclosing zone.
    pub fn bailiwick<'q>(&self, server: IpAddr, qname: &'q [u8], qtype: u16) -> Option<&'q [u8]> {
        let mut enclosing = suffixes(qname).filter(|zone| self.serves(server, zone));
        let deepest = enclosing.next()?;
        if qtype == dnsledger_wire::rtype::DS && deepest.len() == qname.len() {
            return enclosing.next().or(Some(deepest));
        }
        Some(deepest)
    }

    fn serves(&self, server: IpAddr, zone: &[u8]) -> bool {
        self.served.contains(&ServerZoneRef { server, zone })
    }

    /// Records that `nameserver` (the target of an accepted NS RRset) serves `zone`.
    pub fn learn_nameserver(&mut self, zone: &[u8], nameserver: &[u8]) {
        let known = self
            .zones_by_nameserver
            .get(nameserver)
            .is_some_and(|zones| zones.contains(zone));
        if known || !self.reserve() {
            return;
        }
        self.zones_by_nameserver
            .entry(nameserver.into())
            .or_default()
            .insert(zone.into());
        let addresses = self
            .addresses_by_nameserver
            .get(nameserver)
            .cloned()
            .unwrap_or_default();
        for addr in addresses {
            self.mark_served(addr, zone);
        }
    }

    /// Records an accepted address record of `nameserver`. Addresses of names that no
    /// learned NS RRset points to are not kept: most A/AAAA records are of web and mail
    /// hosts, and keeping them would fill the table with facts that never matter.
    pub fn learn_address(&mut self, nameserver: &[u8], addr: IpAddr) {
        if !self.zones_by_nameserver.contains_key(nameserver) {
            return;
        }
        let known = self
            .addresses_by_nameserver
            .get(nameserver)
            .is_some_and(|addrs| addrs.contains(&addr));
        if known || !self.reserve() {
            return;
        }
        self.addresses_by_nameserver
            .entry(nameserver.into())
            .or_default()
            .push(addr);
        let zones: Vec<WireName> = self
            .zones_by_nameserver
            .get(nameserver)
            .map(|zones| zones.iter().cloned().collect())
            .unwrap_or_default();
        for zone in zones {
            self.mark_served(addr, &zone);
        }
    }

    fn mark_served(&mut self, server: IpAddr, zone: &[u8]) {
        if !self.serves(server, zone) && self.reserve() {
            self.served.insert(ServerZone {
                server,
                zone: zone.into(),
            });
        }
    }

    /// Claims room for one more fact; false (and counted) when the bound is reached.
    fn reserve(&mut self) -> bool {
        if self.entries >= self.max_entries {
            self.refused += 1;
            return false;
        }
        self.entries += 1;
        true
    }

    /// Facts not learned because the map was full.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Facts held now.
    pub fn len(&self) -> usize {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }
}

/// Every enclosing name of a canonical wire name, deepest (the name itself) first, root last.
pub(crate) fn suffixes(name: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(name);
    std::iter::from_fn(move || {
        let current = rest?;
        let label_len = usize::from(*current.first()?);
        rest = (label_len > 0)
            .then(|| current.get(1 + label_len..))
            .flatten();
        Some(current)
    })
}

#[derive(Debug, PartialEq, Eq)]
struct ServerZone {
    server: IpAddr,
    zone: WireName,
}

/// The borrowed probe for [`ServerZone`]; both hash through the same fields.
struct ServerZoneRef<'a> {
    server: IpAddr,
    zone: &'a [u8],
}

impl Hash for ServerZone {
    fn hash<H: Hasher>(&self, state: &mut H) {
        ServerZoneRef {
            server: self.server,
            zone: &self.zone,
        }
        .hash(state)
    }
}

impl Hash for ServerZoneRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.server.hash(state);
        self.zone.hash(state);
    }
}

impl Equivalent<ServerZone> for ServerZoneRef<'_> {
    fn equivalent(&self, key: &ServerZone) -> bool {
        self.server == key.server && self.zone == &key.zone[..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dnsledger_wire::{rtype, NameBuf};

    fn wire(text: &str) -> Vec<u8> {
        NameBuf::from_text(text).unwrap().as_wire().to_vec()
    }

    fn testbed_map() -> AuthorityMap {
        let hints =
            RootHints::parse(". NS a.root-servers.net.\na.root-servers.net. A 127.0.0.10\n")
                .unwrap();
        AuthorityMap::new(&hints, 1000)
    }

    fn addr(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn bailiwick_text(map: &AuthorityMap, server: &str, qname: &str, qtype: u16) -> Option<String> {
        let qname = wire(qname);
        map.bailiwick(addr(server), &qname, qtype)
            .map(|zone| NameBuf::from_wire(zone).unwrap().to_text())
    }

    #[test]
    fn suffixes_walk_from_the_name_to_the_root() {
        let name = wire("www.example.com.");
        let all: Vec<String> = suffixes(&name)
            .map(|s| NameBuf::from_wire(s).unwrap().to_text())
            .collect();
        assert_eq!(all, ["www.example.com.", "example.com.", "com.", "."]);
    }

    #[test]
    fn root_hints_make_the_root_server_authoritative_for_everything() {
        let map = testbed_map();
        assert_eq!(
            bailiwick_text(&map, "127.0.0.10", "www.example.com.", rtype::A).as_deref(),
            Some(".")
        );
        assert_eq!(
            bailiwick_text(&map, "127.0.0.99", "www.example.com.", rtype::A),
            None
        );
    }

    #[test]
    fn learns_a_zone_from_its_nameservers_and_their_addresses() {
        let mut map = testbed_map();
        map.learn_nameserver(&wire("com."), &wire("a.gtld-servers.net."));
        assert_eq!(
            bailiwick_text(&map, "127.0.0.11", "example.com.", rtype::A),
            None
        );
        map.learn_address(&wire("a.gtld-servers.net."), addr("127.0.0.11"));
        let com = bailiwick_text(&map, "127.0.0.11", "example.com.", rtype::A);
        assert_eq!(com.as_deref(), Some("com."));
        // A second zone on a server whose address is already known.
        map.learn_nameserver(&wire("net."), &wire("a.gtld-servers.net."));
        let net = bailiwick_text(&map, "127.0.0.11", "example.net.", rtype::A);
        assert_eq!(net.as_deref(), Some("net."));
    }

    #[test]
    fn addresses_of_hosts_that_serve_nothing_are_not_kept() {
        let mut map = testbed_map();
        let before = map.len();
        map.learn_address(&wire("www.example.com."), addr("192.0.2.1"));
        assert_eq!(map.len(), before);
    }

    #[test]
    fn picks_the_deepest_zone_and_the_parent_side_for_ds() {
        let mut map = testbed_map();
        for zone in ["in-addr.arpa.", "2.0.192.in-addr.arpa."] {
            map.learn_nameserver(&wire(zone), &wire("ns.rev."));
        }
        map.learn_address(&wire("ns.rev."), addr("127.0.0.15"));
        let deep = "5.2.0.192.in-addr.arpa.";
        assert_eq!(
            bailiwick_text(&map, "127.0.0.15", deep, rtype::PTR).as_deref(),
            Some("2.0.192.in-addr.arpa.")
        );
        let apex = "2.0.192.in-addr.arpa.";
        assert_eq!(
            bailiwick_text(&map, "127.0.0.15", apex, rtype::DS).as_deref(),
            Some("in-addr.arpa.")
        );
        assert_eq!(
            bailiwick_text(&map, "127.0.0.15", apex, rtype::SOA).as_deref(),
            Some(apex)
        );
        let top = "in-addr.arpa.";
        assert_eq!(
            bailiwick_text(&map, "127.0.0.15", top, rtype::DS).as_deref(),
            Some(top)
        );
    }

    #[test]
    fn the_bound_refuses_new_facts_and_counts_them() {
        let mut map = AuthorityMap::new(&RootHints::default(), 2);
        map.learn_nameserver(&wire("com."), &wire("a.gtld."));
        map.learn_address(&wire("a.gtld."), addr("127.0.0.11"));
        assert_eq!(map.len(), 2);
        map.learn_nameserver(&wire("net."), &wire("a.gtld."));
        assert!(map.refused() >= 1);
        assert_eq!(map.len(), 2);
    }
}
