//! Which server addresses are authoritative for which zones, learned from accepted traffic.
//!
//! Bailiwick reconstruction needs to know, for the address that answered, the zones it is
//! known to serve. Knowledge starts from the root hints and grows only from RRsets the
//! sensor accepted: a zone's NS RRset names its servers, their accepted A/AAAA records give
//! the addresses. An address serves a zone once both halves are known, in either order.

use std::net::IpAddr;
use std::ops::Range;

use hashbrown::HashMap;

use dnsledger_rrset::{Fingerprint, Fingerprinter, ProbeTable};

use crate::fingerprint::address_bytes;
use crate::RootHints;

/// A name server's name in canonical wire form, owned.
type WireName = Box<[u8]>;

/// The learned "address X serves zone Z" facts, bounded in size.
///
/// Layout, for the two questions asked per response: facts are held as keyed 128-bit
/// fingerprints of their parts (see [`dnsledger_rrset::Fingerprinter`]) in probe tables
/// ([`ProbeTable`]), so a probe compares 16 bytes inline instead of following a
/// pointer to a name, one cache miss at most; and each address keeps the depths
/// (label counts) of the zones it serves, so a bailiwick lookup probes only the suffixes of
/// the question at those depths: usually one, where it used to probe every suffix from the
/// question itself up to the zone.
#[derive(Debug)]
pub struct AuthorityMap {
    /// "Address X serves zone Z", by fingerprint of (X, Z).
    served: ProbeTable<Fingerprint>,
    /// The depths of the zones each address serves.
    zone_depths: HashMap<IpAddr, Depths>,
    /// "Name server N serves zone Z" (from an NS RRset), by fingerprint of (Z, N).
    delegations: ProbeTable<Fingerprint>,
    /// The name servers that learned delegations point to, with their zones and addresses:
    /// a few thousand, so this table stays in cache and is keyed by name.
    nameservers: HashMap<WireName, Nameserver>,
    fingerprints: Fingerprinter,
    entries: usize,
    max_entries: usize,
    refused: u64,
    /// The facts a delegation being learned may add, fingerprinted and prefetched ahead
    /// (reused; see [`AuthorityMap::learn_delegation`]).
    planned: DelegationPlan,
}

/// For each target of an NS RRset: the fact "it serves the zone", and the range of
/// `served` holding the facts "its address serves the zone", one per address known (`None`
/// past [`MAX_PLANNED_SERVED`] of them: a hostile delegation to names with thousands of
/// addresses each is learned without a plan, not with a plan of millions of facts).
#[derive(Debug, Default)]
struct DelegationPlan {
    targets: Vec<(Fingerprint, Option<Range<usize>>)>,
    served: Vec<(IpAddr, Fingerprint)>,
}

/// The "address serves zone" facts one delegation plans at most.
const MAX_PLANNED_SERVED: usize = 256;

/// Facts a bailiwick lookup fingerprints and prefetches ahead: servers serve zones at one
/// or two depths, so four cover nearly every lookup; the rest are probed without a plan.
const PLANNED_FACTS: usize = 4;

/// A bailiwick lookup prepared by [`AuthorityMap::plan_bailiwick`].
#[derive(Clone, Debug)]
pub struct BailiwickPlan {
    server: IpAddr,
    /// The first candidate facts, deepest first: fingerprint, and where the zone starts in
    /// the qname.
    facts: [(Fingerprint, usize); PLANNED_FACTS],
    planned: usize,
    /// Whether candidates lie beyond the planned ones.
    more: bool,
}

/// What is known of one name server: the zones it serves and its addresses.
#[derive(Debug, Default)]
struct Nameserver {
    /// The zones, canonical wire names one after the other (each ends with its root label).
    zones: Vec<u8>,
    addresses: Vec<IpAddr>,
}

/// A set of zone depths (label counts, 0 for the root), one bit each; a wire name has at
/// most 127 labels.
#[derive(Clone, Copy, Debug, Default)]
struct Depths(u128);

impl Depths {
    fn insert(&mut self, depth: usize) {
        self.0 |= 1u128.checked_shl(depth as u32).unwrap_or(0);
    }

    fn contains(self, depth: usize) -> bool {
        self.0 & 1u128.checked_shl(depth as u32).unwrap_or(0) != 0
    }
}

impl AuthorityMap {
    /// An empty map seeded with `hints`; at most `max_entries` facts are ever kept.
    pub fn new(hints: &RootHints, max_entries: usize) -> AuthorityMap {
        let mut map = AuthorityMap {
            served: ProbeTable::new(),
            zone_depths: HashMap::new(),
            delegations: ProbeTable::new(),
            nameservers: HashMap::new(),
            fingerprints: Fingerprinter::new(),
            entries: 0,
            max_entries,
            refused: 0,
            planned: DelegationPlan::default(),
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
        self.bailiwick_planned(&self.plan_bailiwick(server, qname), qname, qtype)
    }

    /// The first step of [`AuthorityMap::bailiwick`], for a caller with other work to do
    /// before the answer is needed: fingerprints the facts the lookup will probe and starts
    /// loading them, so that [`AuthorityMap::bailiwick_planned`] finds them in cache.
    pub fn plan_bailiwick(&self, server: IpAddr, qname: &[u8]) -> BailiwickPlan {
        let mut plan = BailiwickPlan {
            server,
            facts: [(Fingerprint::VACANT, 0); PLANNED_FACTS],
            planned: 0,
            more: false,
        };
        let mut zones = self.candidate_zones(server, qname);
        for (fact, zone) in plan.facts.iter_mut().zip(zones.by_ref()) {
            let fingerprint = self.server_zone(server, zone);
            self.served.prefetch(fingerprint);
            *fact = (fingerprint, qname.len() - zone.len());
            plan.planned += 1;
        }
        plan.more = zones.next().is_some();
        plan
    }

    /// The bailiwick of an answer about `qname` by the plan made for it (with the same
    /// `qname`) by [`AuthorityMap::plan_bailiwick`].
    pub fn bailiwick_planned<'q>(
        &self,
        plan: &BailiwickPlan,
        qname: &'q [u8],
        qtype: u16,
    ) -> Option<&'q [u8]> {
        let planned = plan.facts[..plan.planned]
            .iter()
            .filter(|(fact, _)| self.served.contains(*fact))
            .filter_map(|&(_, start)| qname.get(start..));
        let unplanned = plan
            .more
            .then(|| self.candidate_zones(plan.server, qname).skip(PLANNED_FACTS))
            .into_iter()
            .flatten()
            .filter(|zone| self.serves(plan.server, zone));
        let mut enclosing = planned.chain(unplanned);
        let deepest = enclosing.next()?;
        if qtype == dnsledger_wire::rtype::DS && deepest.len() == qname.len() {
            return enclosing.next().or(Some(deepest));
        }
        Some(deepest)
    }

    /// The names enclosing `qname`, deepest first, at the depths of the zones `server`
    /// serves: the only ones a bailiwick lookup needs to probe.
    fn candidate_zones<'q>(
        &self,
        server: IpAddr,
        qname: &'q [u8],
    ) -> impl Iterator<Item = &'q [u8]> {
        let depths = self.zone_depths.get(&server).copied().unwrap_or_default();
        suffixes(qname)
            .zip((0..=label_count(qname)).rev())
            .filter(move |(_, depth)| depths.contains(*depth))
            .map(|(zone, _)| zone)
    }

    fn serves(&self, server: IpAddr, zone: &[u8]) -> bool {
        self.served.contains(self.server_zone(server, zone))
    }

    /// Records that `nameserver` (the target of an accepted NS RRset) serves `zone`.
    pub fn learn_nameserver(&mut self, zone: &[u8], nameserver: &[u8]) {
        self.learn_delegation(zone, std::iter::once(nameserver));
    }

    /// Records that each of `nameservers` (the targets of an accepted NS RRset) serves
    /// `zone`. Every fact it may add is fingerprinted and prefetched first, so that the
    /// cache misses of their probes overlap.
    pub fn learn_delegation<'n>(
        &mut self,
        zone: &[u8],
        nameservers: impl Iterator<Item = &'n [u8]> + Clone,
    ) {
        let mut plan = std::mem::take(&mut self.planned);
        self.plan_delegation(zone, nameservers.clone(), &mut plan);
        for (nameserver, (fact, served)) in nameservers.zip(&plan.targets) {
            let served = served.clone().map(|range| &plan.served[range]);
            self.learn_planned_nameserver(zone, nameserver, *fact, served);
        }
        self.planned = plan;
    }

    fn plan_delegation<'n>(
        &self,
        zone: &[u8],
        nameservers: impl Iterator<Item = &'n [u8]>,
        plan: &mut DelegationPlan,
    ) {
        plan.targets.clear();
        plan.served.clear();
        for nameserver in nameservers {
            let fact = self.fingerprints.of(&[zone, nameserver]);
            self.delegations.prefetch(fact);
            let start = plan.served.len();
            let addresses: &[IpAddr] = self
                .nameservers
                .get(nameserver)
                .map_or(&[], |known| &known.addresses);
            if start + addresses.len() > MAX_PLANNED_SERVED {
                plan.targets.push((fact, None));
                continue;
            }
            for &addr in addresses {
                let served = self.server_zone(addr, zone);
                self.served.prefetch(served);
                plan.served.push((addr, served));
            }
            plan.targets.push((fact, Some(start..plan.served.len())));
        }
    }

    /// Records that `nameserver` serves `zone`, `fact` being its fingerprint and `served`
    /// the facts of its addresses known now, when they were planned (both from
    /// [`AuthorityMap::plan_delegation`]).
    fn learn_planned_nameserver(
        &mut self,
        zone: &[u8],
        nameserver: &[u8],
        fact: Fingerprint,
        served: Option<&[(IpAddr, Fingerprint)]>,
    ) {
        if self.delegations.contains(fact) || !self.reserve() {
            return;
        }
        self.delegations.insert(fact);
        let facts = self.nameservers.entry_ref(nameserver).or_default();
        facts.zones.extend_from_slice(zone);
        match served {
            Some(served) => {
                for &(addr, served) in served {
                    self.mark_served(addr, zone, served);
                }
            }
            None => {
                for addr in facts.addresses.clone() {
                    self.mark_served(addr, zone, self.server_zone(addr, zone));
                }
            }
        }
    }

    /// Whether a learned NS RRset points to `name`: only then are its addresses kept.
    pub fn is_nameserver(&self, name: &[u8]) -> bool {
        self.nameservers.contains_key(name)
    }

    /// Records an accepted address record of `nameserver`. Addresses of names that no
    /// learned NS RRset points to are not kept: most A/AAAA records are of web and mail
    /// hosts, and keeping them would fill the table with facts that never matter.
    pub fn learn_address(&mut self, nameserver: &[u8], addr: IpAddr) {
        let known = match self.nameservers.get(nameserver) {
            Some(facts) => facts.addresses.contains(&addr),
            None => return,
        };
        if known || !self.reserve() {
            return;
        }
        let Some(facts) = self.nameservers.get_mut(nameserver) else {
            return;
        };
        facts.addresses.push(addr);
        let zones = facts.zones.clone();
        for zone in wire_names(&zones) {
            self.mark_served(addr, zone, self.server_zone(addr, zone));
        }
    }

    /// Records that `server` serves `zone`, `fact` being its fingerprint.
    fn mark_served(&mut self, server: IpAddr, zone: &[u8], fact: Fingerprint) {
        if !self.served.contains(fact) && self.reserve() {
            self.served.insert(fact);
            self.zone_depths
                .entry(server)
                .or_default()
                .insert(label_count(zone));
        }
    }

    /// The fingerprint of "`server` serves `zone`".
    fn server_zone(&self, server: IpAddr, zone: &[u8]) -> Fingerprint {
        self.fingerprints.of(&[&address_bytes(server), zone])
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

/// The labels of a canonical wire name, the root label not counted.
fn label_count(name: &[u8]) -> usize {
    suffixes(name).count().saturating_sub(1)
}

/// The names of a buffer of canonical wire names one after the other.
fn wire_names(buffer: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = buffer;
    std::iter::from_fn(move || {
        let mut end = 0;
        loop {
            let label_len = usize::from(*rest.get(end)?);
            end += 1 + label_len;
            if label_len == 0 {
                break;
            }
        }
        let (name, next) = rest.split_at_checked(end)?;
        rest = next;
        Some(name)
    })
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
    fn a_buffer_of_wire_names_splits_into_them() {
        let names = ["example.com.", ".", "a.b.c.d."];
        let buffer: Vec<u8> = names.iter().flat_map(|name| wire(name)).collect();
        let split: Vec<String> = wire_names(&buffer)
            .map(|name| NameBuf::from_wire(name).unwrap().to_text())
            .collect();
        assert_eq!(split, names);
        assert_eq!(label_count(&wire("a.b.c.d.")), 4);
        assert_eq!(label_count(&wire(".")), 0);
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
    fn a_server_is_known_for_its_zones_only_at_their_depths() {
        let mut map = testbed_map();
        map.learn_nameserver(&wire("example.com."), &wire("ns.host."));
        map.learn_address(&wire("ns.host."), addr("127.0.0.20"));
        map.learn_address(&wire("ns.host."), addr("::20"));
        for server in ["127.0.0.20", "::20"] {
            let deep = bailiwick_text(&map, server, "a.b.www.example.com.", rtype::A);
            assert_eq!(deep.as_deref(), Some("example.com."));
            let apex = bailiwick_text(&map, server, "example.com.", rtype::SOA);
            assert_eq!(apex.as_deref(), Some("example.com."));
            assert_eq!(bailiwick_text(&map, server, "example.net.", rtype::A), None);
            assert_eq!(bailiwick_text(&map, server, "com.", rtype::NS), None);
        }
        // The same zone depth on another name does not make it served.
        assert_eq!(
            bailiwick_text(&map, "127.0.0.20", "example.org.", rtype::A),
            None
        );
    }

    #[test]
    fn a_delegation_to_a_name_server_with_hundreds_of_addresses_is_learned_unplanned() {
        let mut map = testbed_map();
        let addresses: Vec<IpAddr> = (0..300u16)
            .map(|i| IpAddr::from([10, 9, (i >> 8) as u8, i as u8]))
            .collect();
        map.learn_nameserver(&wire("small."), &wire("ns.big."));
        for &address in &addresses {
            map.learn_address(&wire("ns.big."), address);
        }
        assert!(addresses.len() > MAX_PLANNED_SERVED);
        map.learn_delegation(&wire("big."), [&wire("ns.big.")[..]].into_iter());
        for address in [addresses[0], addresses[299]] {
            let zone = map
                .bailiwick(address, &wire("www.big."), rtype::A)
                .map(|zone| NameBuf::from_wire(zone).unwrap().to_text());
            assert_eq!(zone.as_deref(), Some("big."), "{address}");
        }
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
