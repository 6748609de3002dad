//! The synthetic DNS tree the benchmark resolver walks: a private root, TLDs, hosting
//! providers and registered domains, with every server's names and addresses.
//!
//! Address plan (all reserved for documentation or benchmarking, never routed):
//! the resolver is 192.0.2.53 / 2001:db8::53; root servers 198.51.100.1-2 /
//! 2001:db8:53::1-2; TLD servers 198.51.100.10+ / 2001:db8:53:1::10+; the hosting
//! providers' servers 198.18.H.K / 2001:db8:53:2:H::K (RFC 2544 benchmarking range).
//! Answer data lives in 10.0.0.0/8 and 2001:db8:a::/48.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use dnsledger_wire::NameBuf;

use crate::names::{child, name, word, MAX_WORDS};
use crate::rng::{mix, Rng, Zipf};

pub const RESOLVER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 53);
pub const RESOLVER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53);

/// Registered domains by default: enough distinct zones that the sensor's maps are busy.
pub const DEFAULT_DOMAINS: u32 = 200_000;
/// The most domains the naming scheme can tell apart.
pub const MAX_DOMAINS: u32 = MAX_WORDS;

/// TLDs with their share of registrations (per mille), two servers each.
const TLDS: &[(&str, u64)] = &[
    ("com", 450),
    ("net", 80),
    ("org", 80),
    ("de", 70),
    ("ru", 60),
    ("io", 60),
    ("nl", 60),
    ("fr", 50),
    ("info", 50),
    ("xyz", 40),
];
const SERVERS_PER_TLD: usize = 2;
const ROOT_SERVERS: u8 = 2;
/// Hosting providers; each runs two or four authoritative servers.
const HOSTERS: usize = 150;
/// Registered domains that act as CDNs: targets of out-of-zone CNAMEs, every name exists.
const CDNS: std::ops::Range<usize> = 2..10;
/// Popularity skew of domains (query share) and of hosters (domains hosted).
const DOMAIN_ZIPF: f64 = 0.95;
const HOSTER_ZIPF: f64 = 1.1;

/// One authoritative server: its name (as NS records give it), addresses and distance.
#[derive(Clone, Debug)]
pub struct Server {
    pub name: NameBuf,
    pub v4: Ipv4Addr,
    pub v6: Ipv6Addr,
    /// Round-trip time from the resolver, fixed per server.
    pub rtt_nanos: i64,
}

#[derive(Clone, Debug)]
pub struct Tld {
    pub apex: NameBuf,
    pub servers: Vec<Server>,
}

/// A hosting provider: its own zone (`dnshostN.TLD`) whose servers also serve its customers.
#[derive(Clone, Debug)]
pub struct Hoster {
    pub apex: NameBuf,
    pub tld: usize,
    pub servers: Vec<Server>,
    /// Puts the zone's NS RRset in the authority section of answers (BIND without
    /// minimal-responses) instead of leaving it out.
    pub full_authority: bool,
}

#[derive(Clone, Debug)]
pub struct Domain {
    pub apex: NameBuf,
    pub tld: u8,
    pub hoster: u16,
    /// Named servers inside the zone (`ns1.example.com`, glue at the TLD) that are the
    /// hoster's machines, instead of the hoster's own names.
    pub vanity: bool,
    /// DNSSEC-signed: DS at the parent, RRSIGs on the answers.
    pub signed: bool,
    /// Every name below the apex exists (a CDN's customer names).
    pub cdn: bool,
}

/// Identifies a zone of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ZoneId {
    Root,
    Tld(usize),
    Hoster(usize),
    Domain(usize),
}

/// A name server of a delegation: the NS target name and the machine behind it.
pub struct Nameserver<'h> {
    pub name: NameBuf,
    pub server: &'h Server,
}

/// A zone cut as the parent publishes it.
pub struct Delegation<'h> {
    pub zone: &'h NameBuf,
    pub nameservers: Vec<Nameserver<'h>>,
    /// Whether the parent adds A/AAAA glue: only for in-zone server names, so that every
    /// glue record is in the parent's bailiwick, as real servers do it.
    pub glue: bool,
    pub signed: bool,
}

#[derive(Clone, Debug)]
pub struct Hierarchy {
    root: NameBuf,
    pub root_servers: Vec<Server>,
    pub tlds: Vec<Tld>,
    pub hosters: Vec<Hoster>,
    pub domains: Vec<Domain>,
    /// Query popularity of domains by index.
    pub popularity: Zipf,
}

impl Hierarchy {
    /// The tree for `seed` with `domain_count` registered domains (10..=[`MAX_DOMAINS`]).
    pub fn build(seed: u64, domain_count: u32) -> Hierarchy {
        assert!(
            (CDNS.end as u32..=MAX_DOMAINS).contains(&domain_count),
            "domains must be in {}..={MAX_DOMAINS}",
            CDNS.end
        );
        let root_servers = (0..ROOT_SERVERS).map(|k| root_server(seed, k)).collect();
        let tlds = TLDS
            .iter()
            .enumerate()
            .map(|(i, (label, _))| tld(seed, i, label))
            .collect();
        let hosters = (0..HOSTERS).map(|h| hoster(seed, h)).collect();
        let mut rng = Rng::stream(seed, 0xd0);
        let hoster_popularity = Zipf::new(HOSTERS, HOSTER_ZIPF);
        let domains = (0..domain_count as usize)
            .map(|index| domain(seed, index, &mut rng, &hoster_popularity))
            .collect();
        Hierarchy {
            root: NameBuf::root(),
            root_servers,
            tlds,
            hosters,
            domains,
            popularity: Zipf::new(domain_count as usize, DOMAIN_ZIPF),
        }
    }

    /// The servers that answer for `zone`.
    pub fn servers(&self, zone: ZoneId) -> &[Server] {
        match zone {
            ZoneId::Root => &self.root_servers,
            ZoneId::Tld(t) => &self.tlds[t].servers,
            ZoneId::Hoster(h) => &self.hosters[h].servers,
            ZoneId::Domain(d) => &self.hosters[usize::from(self.domains[d].hoster)].servers,
        }
    }

    /// The zone holding the delegation of `zone` (the root is its own parent).
    pub fn parent(&self, zone: ZoneId) -> ZoneId {
        match zone {
            ZoneId::Root | ZoneId::Tld(_) => ZoneId::Root,
            ZoneId::Hoster(h) => ZoneId::Tld(self.hosters[h].tld),
            ZoneId::Domain(d) => ZoneId::Tld(usize::from(self.domains[d].tld)),
        }
    }

    pub fn apex(&self, zone: ZoneId) -> &NameBuf {
        match zone {
            ZoneId::Root => &self.root,
            ZoneId::Tld(t) => &self.tlds[t].apex,
            ZoneId::Hoster(h) => &self.hosters[h].apex,
            ZoneId::Domain(d) => &self.domains[d].apex,
        }
    }

    /// The delegation of `zone` in its parent (not for the root).
    pub fn delegation(&self, zone: ZoneId) -> Delegation<'_> {
        match zone {
            ZoneId::Root => unreachable!("the root is not delegated"),
            ZoneId::Tld(t) => Delegation {
                zone: &self.tlds[t].apex,
                nameservers: own_names(&self.tlds[t].servers),
                glue: true,
                signed: true,
            },
            ZoneId::Hoster(h) => Delegation {
                zone: &self.hosters[h].apex,
                nameservers: own_names(&self.hosters[h].servers),
                glue: true,
                signed: false,
            },
            ZoneId::Domain(d) => Delegation {
                zone: &self.domains[d].apex,
                nameservers: self.domain_nameservers(d),
                glue: self.domains[d].vanity,
                signed: self.domains[d].signed,
            },
        }
    }

    /// The NS targets of a domain: the hoster's names, or `nsK.<domain>` on the same machines.
    pub fn domain_nameservers(&self, d: usize) -> Vec<Nameserver<'_>> {
        let domain = &self.domains[d];
        let servers = &self.hosters[usize::from(domain.hoster)].servers;
        servers
            .iter()
            .enumerate()
            .map(|(k, server)| Nameserver {
                name: match domain.vanity {
                    true => child(&format!("ns{}", k + 1), &domain.apex),
                    false => server.name.clone(),
                },
                server,
            })
            .collect()
    }

    /// The CDN domains, by index.
    pub fn cdns(&self) -> std::ops::Range<usize> {
        CDNS
    }

    /// The root hints of this tree in named.root format, for `dnsledger sensor --root-hints`.
    pub fn root_hints(&self) -> String {
        let mut out = String::from(
            "; Root hints of the dnsledger benchmark capture (cargo xtask gen-capture).\n",
        );
        for server in &self.root_servers {
            let _ = writeln!(out, ".\t3600000\tNS\t{}", server.name);
        }
        for server in &self.root_servers {
            let _ = writeln!(out, "{}\t3600000\tA\t{}", server.name, server.v4);
            let _ = writeln!(out, "{}\t3600000\tAAAA\t{}", server.name, server.v6);
        }
        out
    }
}

/// `a.root.bench.` and so on: a private root, so the capture never mixes with real names.
fn root_server(seed: u64, k: u8) -> Server {
    let host = name(&format!("{}.root.bench.", char::from(b'a' + k)));
    server(
        seed,
        host,
        [198, 51, 100, 1 + k],
        [0x53, 0, 0, u16::from(1 + k)],
        (3, 25),
    )
}

fn tld(seed: u64, index: usize, label: &str) -> Tld {
    let apex = name(label);
    let servers = (0..SERVERS_PER_TLD)
        .map(|k| {
            let n = (10 + index * SERVERS_PER_TLD + k) as u8;
            let host = child(&format!("{}.nic", char::from(b'a' + k as u8)), &apex);
            server(
                seed,
                host,
                [198, 51, 100, n],
                [0x53, 1, 0, u16::from(n)],
                (3, 25),
            )
        })
        .collect();
    Tld { apex, servers }
}

fn hoster(seed: u64, h: usize) -> Hoster {
    let hash = mix(seed, 0x4057_0000 + h as u64);
    // Providers sit under the big generic TLDs (com, net, org).
    let tld = (hash % 3) as usize;
    let apex = child(&format!("dnshost{h}"), &name(TLDS[tld].0));
    let count = if (hash >> 8) & 0xff < 77 { 4 } else { 2 };
    let servers = (0..count)
        .map(|k| {
            let host = child(&format!("ns{}", k + 1), &apex);
            let (hi, lo) = (h as u8, k as u8 + 1);
            server(
                seed,
                host,
                [198, 18, hi, lo],
                [0x53, 2, u16::from(hi), u16::from(lo)],
                (2, 80),
            )
        })
        .collect();
    Hoster {
        apex,
        tld,
        servers,
        full_authority: (hash >> 16) & 0xff < 77,
    }
}

fn domain(seed: u64, index: usize, rng: &mut Rng, hosters: &Zipf) -> Domain {
    let tld = rng.weighted(TLDS.iter().map(|&(_, share)| share));
    let label = word(index as u32, mix(seed, index as u64));
    Domain {
        apex: child(&label, &name(TLDS[tld].0)),
        tld: tld as u8,
        hoster: hosters.sample(rng) as u16,
        vanity: rng.per_mille(80),
        signed: rng.per_mille(80),
        cdn: CDNS.contains(&index),
    }
}

/// Name servers known by the servers' own names.
fn own_names(servers: &[Server]) -> Vec<Nameserver<'_>> {
    servers
        .iter()
        .map(|server| Nameserver {
            name: server.name.clone(),
            server,
        })
        .collect()
}

/// A server with IPv4 `v4` and IPv6 `2001:db8:<v6 groups>`, its RTT drawn in `rtt_ms`.
fn server(seed: u64, name: NameBuf, v4: [u8; 4], v6: [u16; 4], rtt_ms: (u64, u64)) -> Server {
    let [a, b, c, d] = v6;
    let hash = mix(seed, u64::from(u32::from_be_bytes(v4)));
    let rtt_us = rtt_ms.0 * 1000 + hash % ((rtt_ms.1 - rtt_ms.0) * 1000);
    Server {
        name,
        v4: Ipv4Addr::from(v4),
        v6: Ipv6Addr::new(0x2001, 0xdb8, a, b, c, 0, 0, d),
        rtt_nanos: (rtt_us * 1000) as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_address_is_distinct() {
        let tree = Hierarchy::build(1, 1000);
        let all: Vec<&Server> = tree
            .root_servers
            .iter()
            .chain(tree.tlds.iter().flat_map(|t| &t.servers))
            .chain(tree.hosters.iter().flat_map(|h| &h.servers))
            .collect();
        let v4: std::collections::HashSet<_> = all.iter().map(|s| s.v4).collect();
        let v6: std::collections::HashSet<_> = all.iter().map(|s| s.v6).collect();
        assert_eq!((v4.len(), v6.len()), (all.len(), all.len()));
        assert!(all.len() > 300, "{} servers", all.len());
    }

    #[test]
    fn hints_name_the_root_servers() {
        let hints = Hierarchy::build(1, 100).root_hints();
        assert!(hints.contains(".\t3600000\tNS\ta.root.bench.\n"));
        assert!(hints.contains("a.root.bench.\t3600000\tA\t198.51.100.1\n"));
        assert!(hints.contains("b.root.bench.\t3600000\tAAAA\t2001:db8:53::2\n"));
    }

    #[test]
    fn vanity_nameservers_live_in_the_domain() {
        let tree = Hierarchy::build(1, 2000);
        let d = tree.domains.iter().position(|d| d.vanity).unwrap();
        let delegation = tree.delegation(ZoneId::Domain(d));
        assert!(delegation.glue);
        assert!(delegation
            .nameservers
            .iter()
            .all(|ns| ns.name.is_subdomain_of(delegation.zone)));
    }
}
