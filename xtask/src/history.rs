//! The synthetic passive DNS history of `bench-store`: a deterministic universe of distinct
//! RRsets with realistic name and rdata distributions, and a time-ordered stream of
//! observations of them in which most are repeats.
//!
//! * **Domains**: `domains` registered domains under 20 TLDs (com 44%, then de, net, ru, org,
//!   cn, co.uk, ...), pronounceable labels unique per domain. Domain `d` has popularity rank
//!   `d`: the number of (owner, type) slots it holds falls off as `(d + 1)^-0.9` (the most
//!   popular domains have tens of thousands of host names, most have one to three slots),
//!   and repeat observations pick domains Zipf-like by the same rank.
//! * **Slots** of a domain, in the order a domain acquires them: apex A, apex NS (parent
//!   side, bailiwick = TLD), `www` A or CNAME into a CDN, apex NS (child side), SOA, MX, SPF
//!   TXT, AAAA, mail/m/`_dmarc`/autodiscover, DS and RRSIGs when the domain is signed (8%),
//!   twenty common host names, then generated host names (words, `host-N`, hex, two-label
//!   CDN-style names, DKIM selectors) that are A 60%, AAAA 14%, CNAME 14%, TXT 8%, RRSIG 4%.
//! * **Versions**: each slot has 1 (70%), 2 (15%), 3-4, 5-8 or 9-64 distinct rdata sets over
//!   time: an RRset is (domain, slot, version), so every RRset of the universe is distinct.
//! * **Rdata**: A sets of 1-4 addresses in a /24 of one of the /16s of 400 hosting providers
//!   (Zipf-sized, 1-13 /16s each, skewed to their first /16); AAAA in the provider's /32; NS
//!   sets of the provider's 2-4 servers (or in-zone "vanity" servers); MX at a mail provider
//!   or the domain itself; CNAME targets in 8 CDN zones; SPF, DMARC, site-verification and
//!   DKIM TXT (up to 240 bytes); SOA with a serial per version; DS and RRSIG (ECDSA P-256)
//!   with random digests and signatures.
//! * **Observations**: `observations` in time order over 90 days; each is a new RRset with
//!   probability (RRsets left) / (observations left), so exactly `rrsets` distinct RRsets
//!   appear, else a repeat: 55% a Zipf-popular domain's RRset, otherwise one of the last
//!   million new ones (re-resolution after TTL expiry). Counts are 1 (60%), 2-10 (30%) or
//!   11-1000, as sensor-aggregated COF lines carry them.
//!
//! Memory: one packed `u64` per RRset (80 MB for 10 million) and a few per-domain arrays; no
//! observation is kept. Everything derives from the seed by integer arithmetic ([`crate::rng`]),
//! so the same parameters give the same observations on every machine.

use std::net::Ipv4Addr;

use dnsledger_rrset::{Observation, RRset, Seen};
use dnsledger_wire::{is_dnssec_type, rtype, NameBuf};

use crate::rdata::{self, Signature};
use crate::rng::{mix, Rng, Zipf};

/// What to generate. The same parameters always give the same observations.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryParams {
    /// Distinct RRsets (exactly).
    pub rrsets: u64,
    /// Observations (exactly; at least `rrsets`).
    pub observations: u64,
    /// Registered domains in the popularity universe.
    pub domains: u32,
    pub seed: u64,
}

impl HistoryParams {
    /// The benchmark's shape: `rrsets`, `per_rrset` observations per RRset on average, one
    /// registered domain per five RRsets (2 million for 10 million RRsets).
    pub fn new(rrsets: u64, per_rrset: f64, seed: u64) -> HistoryParams {
        HistoryParams {
            rrsets,
            observations: ((rrsets as f64 * per_rrset).round() as u64).max(rrsets),
            domains: default_domains(rrsets),
            seed,
        }
    }
}

/// One registered domain per five RRsets, within what the naming scheme can tell apart.
pub fn default_domains(rrsets: u64) -> u32 {
    (rrsets / 5).clamp(10, u64::from(MAX_DOMAINS)) as u32
}

/// Domains are told apart by four syllables of six bits.
pub const MAX_DOMAINS: u32 = 1 << 24;

/// Observation times: 90 days from 2025-01-01T00:00:00Z.
const START: i64 = 1_735_689_600;
const SPAN: i64 = 90 * 86_400;

/// TLDs (public suffixes) with their share of registrations (per mille).
const TLDS: &[(&str, u64)] = &[
    ("com", 440),
    ("de", 60),
    ("net", 55),
    ("ru", 45),
    ("org", 45),
    ("cn", 35),
    ("co.uk", 30),
    ("br", 25),
    ("fr", 25),
    ("nl", 25),
    ("jp", 20),
    ("info", 20),
    ("xyz", 20),
    ("it", 18),
    ("io", 15),
    ("com.au", 15),
    ("in", 15),
    ("pl", 15),
    ("ca", 12),
    ("eu", 10),
];

/// Hosting providers (authoritative DNS and addresses), the first `CDNS` of which are also
/// the CDNs that CNAMEs point into; mail providers that MX records point to.
const HOSTERS: usize = 400;
const CDNS: usize = 8;
const MAIL_PROVIDERS: usize = 6;
const HOSTER_ZIPF: f64 = 1.1;
/// Slots per domain fall off as rank^-SIZE_EXPONENT; repeats pick domains by rank^-1.
const SIZE_EXPONENT: f64 = 0.9;
const POPULARITY_EXPONENT: f64 = 1.0;
/// Share of repeats that pick a popular domain (the rest re-observe a recent RRset).
const POPULAR_REPEATS_PER_MILLE: u64 = 550;
/// How far back a recency repeat reaches, in new RRsets.
const RECENT_WINDOW: u64 = 1_000_000;
/// Signed domains, per mille, and the share of their host slots that are signatures.
const SIGNED_PER_MILLE: u64 = 100;
const SIGNED_HOST_SIG_PER_MILLE: u64 = 250;

/// Host names after the fixed apex records, in the order domains acquire them.
const COMMON_HOSTS: &[&str] = &[
    "api", "cdn", "smtp", "blog", "shop", "dev", "static", "img", "vpn", "webmail", "ftp", "app",
    "portal", "docs", "status", "remote", "admin", "test", "staging", "cpanel",
];
const REGIONS: &[&str] = &[
    "fra", "ams", "iad", "sjc", "sin", "nrt", "lhr", "cdg", "gru", "syd", "dfw", "ord",
];

/// The fixed slots every domain fills first (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fixed {
    ApexA,
    ApexNsParent,
    Www,
    ApexNsChild,
    Soa,
    Mx,
    Spf,
    ApexAaaa,
    /// `www` AAAA when `www` is an A name, `m` A when it is a CNAME.
    WwwAaaa,
    MailA,
    Dmarc,
    Autodiscover,
    MAaaa,
    /// DS at the parent (signed domains).
    Ds,
    /// RRSIGs over the apex A, `www` and the SOA (signed domains).
    ApexASig,
    WwwSig,
    SoaSig,
}

/// The order in which domains acquire their fixed slots; a signed domain's signatures are
/// seen with the answers they sign, its DS with every referral.
const UNSIGNED: [Fixed; 13] = [
    Fixed::ApexA,
    Fixed::ApexNsParent,
    Fixed::Www,
    Fixed::ApexNsChild,
    Fixed::Soa,
    Fixed::Mx,
    Fixed::Spf,
    Fixed::ApexAaaa,
    Fixed::WwwAaaa,
    Fixed::MailA,
    Fixed::Dmarc,
    Fixed::Autodiscover,
    Fixed::MAaaa,
];
const SIGNED: [Fixed; 13] = [
    Fixed::ApexA,
    Fixed::ApexNsParent,
    Fixed::Ds,
    Fixed::ApexASig,
    Fixed::Www,
    Fixed::WwwSig,
    Fixed::ApexNsChild,
    Fixed::Soa,
    Fixed::SoaSig,
    Fixed::Mx,
    Fixed::Spf,
    Fixed::ApexAaaa,
    Fixed::MailA,
];
const FIXED_SLOTS: usize = UNSIGNED.len();

/// Streams of the seed, one per purpose.
mod purpose {
    pub const DOMAIN: u64 = 0x5d01;
    pub const SLOT: u64 = 0x5d02;
    pub const RRSET: u64 = 0x5d03;
    pub const STREAM: u64 = 0x5d04;
    pub const HOSTERS: u64 = 0x5d05;
    pub const PERMUTATION: u64 = 0x5d06;
    pub const SAMPLE: u64 = 0x5d07;
}

/// A hosting provider: its zone, name servers' zone and address space.
#[derive(Clone, Debug)]
struct Hoster {
    apex: Vec<u8>,
    /// First two octets of each of its IPv4 /16s, largest share first.
    nets: Vec<[u8; 2]>,
    /// Its IPv6 /32.
    v6: [u8; 4],
}

/// A registered domain's fixed properties.
#[derive(Clone, Debug)]
struct Domain {
    rank: u32,
    /// Canonical wire name of the registered domain.
    apex: Vec<u8>,
    tld: usize,
    hoster: usize,
    signed: bool,
    /// In-zone name servers (`ns1.example.com`) instead of the hoster's.
    vanity: bool,
    /// `www` is a CNAME into this CDN.
    www_cdn: Option<usize>,
    /// Mail at this provider, or at `mail.<domain>` when `None`.
    mail: Option<usize>,
}

/// One RRset of the universe: domain, slot of the domain, version of the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub domain: u32,
    pub slot: u32,
    pub version: u16,
}

impl Entry {
    fn pack(self) -> u64 {
        (u64::from(self.domain) << 40) | (u64::from(self.slot) << 16) | u64::from(self.version)
    }

    fn unpack(packed: u64) -> Entry {
        Entry {
            domain: (packed >> 40) as u32,
            slot: ((packed >> 16) & 0xff_ffff) as u32,
            version: packed as u16,
        }
    }
}

/// Most slots one domain can have (24 bits in the packed entry).
const MAX_SLOTS: u64 = 1 << 24;

/// What makes the versions of one slot differ: a key of the slot and the version number.
#[derive(Clone, Copy, Debug)]
struct SlotKey {
    key: u64,
    version: u64,
}

/// Every RRset of the history, and how to build each one.
pub struct Universe {
    params: HistoryParams,
    tlds: Vec<Vec<u8>>,
    hosters: Vec<Hoster>,
    hoster_zipf: Zipf,
    /// RRsets grouped by domain in rank order: `entries[starts[d]..starts[d + 1]]`.
    entries: Vec<u64>,
    starts: Vec<u64>,
    /// Which RRset is the k-th new one: a bijection of `0..rrsets` (affine, mod rrsets).
    order: Permutation,
}

impl Universe {
    pub fn build(params: &HistoryParams) -> Universe {
        assert!(params.rrsets > 0, "at least one RRset");
        assert!(
            params.observations >= params.rrsets,
            "at least one observation per RRset"
        );
        assert!(
            (1..=MAX_DOMAINS).contains(&params.domains),
            "1 to {MAX_DOMAINS} domains"
        );
        let tlds = TLDS.iter().map(|(tld, _)| wire_of_text(tld)).collect();
        let hosters = build_hosters(params.seed);
        let (entries, starts) = build_entries(params);
        Universe {
            order: Permutation::new(params.rrsets, params.seed),
            params: params.clone(),
            tlds,
            hosters,
            hoster_zipf: Zipf::new(HOSTERS, HOSTER_ZIPF),
            entries,
            starts,
        }
    }

    pub fn params(&self) -> &HistoryParams {
        &self.params
    }

    /// RRsets of the universe (`params.rrsets`).
    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entry(&self, index: u64) -> Entry {
        Entry::unpack(self.entries[index as usize])
    }

    /// Domains that hold at least one RRset.
    pub fn domains_used(&self) -> u64 {
        self.starts.windows(2).filter(|w| w[1] > w[0]).count() as u64
    }

    /// RRsets of the domain of rank `domain`.
    pub fn domain_rrsets(&self, domain: u32) -> u64 {
        let d = domain as usize;
        self.starts[d + 1] - self.starts[d]
    }

    /// The registered domain of rank `domain`, in presentation form (`example.com.`).
    pub fn domain_name(&self, domain: u32) -> String {
        text_of_wire(&self.domain(domain).apex)
    }

    /// The TLD (public suffix) of the domain of rank `domain`, e.g. `co.uk.`.
    pub fn tld_of(&self, domain: u32) -> usize {
        self.domain(domain).tld
    }

    pub fn tld_name(&self, tld: usize) -> String {
        text_of_wire(&self.tlds[tld])
    }

    pub fn tld_count(&self) -> usize {
        self.tlds.len()
    }

    /// The RRset with this index (`0..len()`).
    pub fn rrset(&self, index: u64) -> RRset {
        self.build_rrset(self.entry(index))
    }

    /// An observation stream over the whole universe, from its start.
    pub fn stream(&self) -> ObservationStream<'_> {
        ObservationStream {
            universe: self,
            emitted: 0,
            introduced: 0,
            rng: Rng::stream(self.params.seed, purpose::STREAM),
            popularity: Zipf::new(self.params.domains as usize, POPULARITY_EXPONENT),
        }
    }

    /// `count` owner names of RRsets drawn uniformly (so busy owners come up more often),
    /// and `misses` names that hold no RRset (unused host names of used domains). Drawn
    /// from `sample`'s own stream: different samples do not overlap by construction.
    pub fn sample_names(&self, sample: u64, count: usize, misses: usize) -> Vec<String> {
        let mut rng = Rng::stream(mix(self.params.seed, purpose::SAMPLE), sample);
        let mut names = Vec::with_capacity(count + misses);
        for _ in 0..count {
            let rrset = self.rrset(rng.below(self.len()));
            names.push(text_of_wire(rrset.rrname_wire()));
        }
        for k in 0..misses {
            let entry = self.entry(rng.below(self.len()));
            let apex = &self.domain(entry.domain).apex;
            let label = format!("nx{sample}-{k}");
            names.push(text_of_wire(&prepend(label.as_bytes(), apex)));
        }
        let mut shuffle = Rng::stream(mix(self.params.seed, purpose::SAMPLE), !sample);
        for i in (1..names.len()).rev() {
            names.swap(i, shuffle.below(i as u64 + 1) as usize);
        }
        names
    }

    fn domain(&self, d: u32) -> Domain {
        let mut rng = Rng::stream(mix(self.params.seed, purpose::DOMAIN), u64::from(d));
        let tld = rng.weighted(TLDS.iter().map(|(_, w)| *w));
        let mut label = Vec::with_capacity(16);
        push_word(
            &mut label,
            scramble(u64::from(d), 24),
            4,
            rng.below(3) as u32,
            rng.next_u64(),
        );
        let apex = prepend(&label, &self.tlds[tld]);
        let hoster = self.hoster_zipf.sample(&mut rng);
        let signed = rng.per_mille(SIGNED_PER_MILLE);
        let vanity = rng.per_mille(100);
        let www_cdn = rng.per_mille(250).then(|| rng.below(CDNS as u64) as usize);
        let mail = match rng.below(10) {
            0..=3 => Some(0),
            4..=5 => Some(1),
            6 => Some(2 + rng.below(MAIL_PROVIDERS as u64 - 2) as usize),
            _ => None,
        };
        Domain {
            rank: d,
            apex,
            tld,
            hoster,
            signed,
            vanity,
            www_cdn,
            mail,
        }
    }

    fn build_rrset(&self, entry: Entry) -> RRset {
        let domain = self.domain(entry.domain);
        let key = mix(
            mix(self.params.seed, purpose::RRSET),
            Entry::pack(entry).wrapping_add(1),
        );
        let mut rng = Rng::new(key);
        let v = u64::from(entry.version);
        let apex = domain.apex.clone();
        let tld = self.tlds[domain.tld].clone();
        let sub = |label: &str| prepend(label.as_bytes(), &domain.apex);
        let slot = entry.slot as usize;
        let slot_key = SlotKey {
            key: mix(
                mix(self.params.seed, purpose::SLOT),
                mix(u64::from(entry.domain), u64::from(entry.slot)) ^ 0xa5a5,
            ),
            version: v,
        };
        let fixed = match domain.signed {
            true => SIGNED.get(slot),
            false => UNSIGNED.get(slot),
        };
        let www_type = match domain.www_cdn {
            Some(_) => rtype::CNAME,
            None => rtype::A,
        };
        let (owner, rrtype, bailiwick, rdata) = match fixed {
            Some(Fixed::ApexA) => (
                apex,
                rtype::A,
                None,
                self.a_set(&domain, slot_key, &mut rng),
            ),
            Some(Fixed::ApexNsParent) => (apex, rtype::NS, Some(tld), self.ns_set(&domain, v)),
            Some(Fixed::ApexNsChild) => (apex, rtype::NS, None, self.ns_set(&domain, v)),
            Some(Fixed::Www) => match domain.www_cdn {
                Some(cdn) => (
                    sub("www"),
                    rtype::CNAME,
                    None,
                    vec![self.cdn_target(cdn, &domain, v, &mut rng)],
                ),
                None => (
                    sub("www"),
                    rtype::A,
                    None,
                    self.a_set(&domain, slot_key, &mut rng),
                ),
            },
            Some(Fixed::Soa) => (apex, rtype::SOA, None, vec![self.soa(&domain, v)]),
            Some(Fixed::Mx) => (apex, rtype::MX, None, self.mx_set(&domain, v)),
            Some(Fixed::Spf) => (apex, rtype::TXT, None, vec![self.spf(&domain, v)]),
            Some(Fixed::ApexAaaa) => (
                apex,
                rtype::AAAA,
                None,
                self.aaaa_set(&domain, slot_key, &mut rng),
            ),
            Some(Fixed::WwwAaaa) => match domain.www_cdn {
                Some(_) => (
                    sub("m"),
                    rtype::A,
                    None,
                    self.a_set(&domain, slot_key, &mut rng),
                ),
                None => (
                    sub("www"),
                    rtype::AAAA,
                    None,
                    self.aaaa_set(&domain, slot_key, &mut rng),
                ),
            },
            Some(Fixed::MailA) => (
                sub("mail"),
                rtype::A,
                None,
                self.a_set(&domain, slot_key, &mut rng),
            ),
            Some(Fixed::Dmarc) => (sub("_dmarc"), rtype::TXT, None, vec![dmarc(&domain, v)]),
            Some(Fixed::Autodiscover) => {
                let label = match v {
                    0 => "autodiscover".to_string(),
                    _ => format!("autodiscover-{v}"),
                };
                let target = prepend(label.as_bytes(), &self.mail_zone(&domain, 1));
                (sub("autodiscover"), rtype::CNAME, None, vec![target])
            }
            Some(Fixed::MAaaa) => (
                sub("m"),
                rtype::AAAA,
                None,
                self.aaaa_set(&domain, slot_key, &mut rng),
            ),
            Some(Fixed::Ds) => (apex, rtype::DS, Some(tld), vec![ds(&mut rng)]),
            Some(Fixed::ApexASig) => {
                let sig = self.rrsig(&apex, rtype::A, &domain, &mut rng);
                (apex, rtype::RRSIG, None, vec![sig])
            }
            Some(Fixed::WwwSig) => {
                let www = sub("www");
                let sig = self.rrsig(&www, www_type, &domain, &mut rng);
                (www, rtype::RRSIG, None, vec![sig])
            }
            Some(Fixed::SoaSig) => {
                let sig = self.rrsig(&apex, rtype::SOA, &domain, &mut rng);
                (apex, rtype::RRSIG, None, vec![sig])
            }
            None => {
                let (owner, rrtype, rdata) =
                    self.host_slot(&domain, slot - FIXED_SLOTS, slot_key, &mut rng);
                (owner, rrtype, None, rdata)
            }
        };
        let bailiwick = bailiwick.unwrap_or_else(|| domain.apex.clone());
        let owner = NameBuf::from_wire(&owner).expect("generated owner names are valid");
        let bailiwick = NameBuf::from_wire(&bailiwick).expect("generated zones are valid");
        RRset::new(owner, rrtype, Some(bailiwick), rdata)
    }

    /// A host name slot beyond the fixed ones: `j` counts them within the domain.
    fn host_slot(
        &self,
        domain: &Domain,
        j: usize,
        slot_key: SlotKey,
        rng: &mut Rng,
    ) -> (Vec<u8>, u16, Vec<Vec<u8>>) {
        let v = slot_key.version;
        // The owner and type come from the slot, not the version: all versions of a slot
        // are one owner and type with different rdata.
        let mut slot_rng = Rng::new(mix(
            mix(self.params.seed, purpose::SLOT),
            mix(u64::from(domain.rank), (1 << 32) | j as u64),
        ));
        if let Some(label) = COMMON_HOSTS.get(j) {
            let owner = prepend(label.as_bytes(), &domain.apex);
            return match slot_rng.per_mille(300) {
                true => {
                    let cdn = slot_rng.below(CDNS as u64) as usize;
                    let target = self.cdn_target(cdn, domain, v, rng);
                    (owner, rtype::CNAME, vec![target])
                }
                false => (owner, rtype::A, self.a_set(domain, slot_key, rng)),
            };
        }
        let n = (j - COMMON_HOSTS.len()) as u64;
        let rrtype = match slot_rng.below(1000) {
            _ if domain.signed && slot_rng.per_mille(SIGNED_HOST_SIG_PER_MILLE) => rtype::RRSIG,
            0..600 => rtype::A,
            600..740 => rtype::AAAA,
            740..880 => rtype::CNAME,
            880..960 => rtype::TXT,
            _ => rtype::A,
        };
        let owner = match rrtype {
            rtype::TXT => {
                let mut label = Vec::new();
                push_index_word(&mut label, n);
                prepend(&label, &prepend(b"_domainkey", &domain.apex))
            }
            _ => host_label(&domain.apex, n, slot_rng.below(100)),
        };
        let rdata = match rrtype {
            rtype::A => self.a_set(domain, slot_key, rng),
            rtype::AAAA => self.aaaa_set(domain, slot_key, rng),
            rtype::CNAME => {
                let cdn = slot_rng.below(CDNS as u64) as usize;
                vec![self.cdn_target(cdn, domain, v, rng)]
            }
            rtype::TXT => vec![dkim(rng)],
            _ => vec![self.rrsig(&owner, rtype::A, domain, rng)],
        };
        (owner, rrtype, rdata)
    }

    /// 1-4 addresses in one /24 of a /16 of the domain's hoster (or, for a quarter, of
    /// another hoster: multi-provider setups and migrations).
    ///
    /// Versions of a slot that fall in the same /16 differ in the /24 (`slot.third`), so
    /// their sets are disjoint.
    fn a_set(&self, domain: &Domain, slot: SlotKey, rng: &mut Rng) -> Vec<Vec<u8>> {
        let hoster = match rng.per_mille(750) {
            true => &self.hosters[domain.hoster],
            false => &self.hosters[self.hoster_zipf.sample(rng)],
        };
        let nets = hoster.nets.len() as f64;
        let net =
            hoster.nets[((rng.unit() * rng.unit() * nets) as usize).min(hoster.nets.len() - 1)];
        let third = (slot.key as u8).wrapping_add((slot.version as u8).wrapping_mul(97));
        let size =
            [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4][rng.below(20) as usize];
        (0..size)
            .map(|_| vec![net[0], net[1], third, rng.below(256) as u8])
            .collect()
    }

    /// Versions of a slot are in distinct /48s of the hoster's /32.
    fn aaaa_set(&self, domain: &Domain, slot: SlotKey, rng: &mut Rng) -> Vec<Vec<u8>> {
        let hoster = &self.hosters[domain.hoster];
        let size = [1, 1, 1, 1, 2][rng.below(5) as usize];
        let subnet =
            ((slot.key >> 8) as u16).wrapping_add((slot.version as u16).wrapping_mul(40_503));
        (0..size)
            .map(|_| {
                let mut address = hoster.v6.to_vec();
                address.extend_from_slice(&subnet.to_be_bytes());
                address.extend_from_slice(&[0; 8]);
                address.extend_from_slice(&(rng.below(1 << 16) as u16).to_be_bytes());
                address
            })
            .collect()
    }

    /// The name servers of version `v`: the domain's hoster first, then other hosters (the
    /// domain moved), each version a different hoster; vanity domains use in-zone names.
    fn ns_set(&self, domain: &Domain, v: u64) -> Vec<Vec<u8>> {
        if domain.vanity && v == 0 {
            return (1..=2)
                .map(|k| prepend(format!("ns{k}").as_bytes(), &domain.apex))
                .collect();
        }
        let hoster = (domain.hoster + v as usize * 37) % HOSTERS;
        let servers = [2, 2, 2, 3, 4][hoster % 5];
        (1..=servers)
            .map(|k| prepend(format!("ns{k}").as_bytes(), &self.hosters[hoster].apex))
            .collect()
    }

    fn soa(&self, domain: &Domain, v: u64) -> Vec<u8> {
        let mname = NameBuf::from_wire(&self.ns_set(domain, 0)[0]).expect("valid");
        let rname = NameBuf::from_wire(&prepend(b"hostmaster", &domain.apex)).expect("valid");
        let serial = 2_024_010_100 + (hash_wire(&domain.apex) % 100_000) as u32 + v as u32;
        rdata::soa(&mname, &rname, serial, 3600)
    }

    fn mail_zone(&self, domain: &Domain, provider: usize) -> Vec<u8> {
        match domain.mail {
            Some(_) => mail_provider(provider),
            None => domain.apex.clone(),
        }
    }

    fn mx_set(&self, domain: &Domain, v: u64) -> Vec<Vec<u8>> {
        let (zone, exchangers) = match domain.mail {
            Some(provider) => (mail_provider(provider), 1 + (provider % 3) as u16),
            None => (domain.apex.clone(), 1),
        };
        (0..exchangers)
            .map(|k| {
                let label = match v {
                    0 => format!("mx{k}"),
                    _ => format!("mx{k}-{v}"),
                };
                let exchange =
                    NameBuf::from_wire(&prepend(label.as_bytes(), &zone)).expect("valid");
                rdata::mx(10 * (k + 1), &exchange)
            })
            .collect()
    }

    fn spf(&self, domain: &Domain, v: u64) -> Vec<u8> {
        let text = match domain.mail {
            Some(provider) => format!(
                "v=spf1 include:_spf{v}.{} ~all",
                text_of_wire(&mail_provider(provider)).trim_end_matches('.')
            ),
            None => {
                let net = self.hosters[domain.hoster].nets[0];
                format!("v=spf1 mx a ip4:{}.{}.{v}.0/24 -all", net[0], net[1])
            }
        };
        rdata::txt(&[&text])
    }

    /// A CNAME target in a CDN zone: the customer's label with a version, or an edge name.
    fn cdn_target(&self, cdn: usize, domain: &Domain, v: u64, rng: &mut Rng) -> Vec<u8> {
        let zone = &self.hosters[cdn].apex;
        let label = match rng.below(2) {
            0 => {
                let customer = &domain.apex[1..=usize::from(domain.apex[0])];
                format!(
                    "{}-{v}-{}",
                    String::from_utf8_lossy(customer),
                    rng.below(1000)
                )
            }
            _ => format!("e{}", rng.below(100_000) * 100 + v),
        };
        prepend(label.as_bytes(), &prepend(b"edge", zone))
    }

    fn rrsig(&self, owner: &[u8], covered: u16, domain: &Domain, rng: &mut Rng) -> Vec<u8> {
        let owner = NameBuf::from_wire(owner).expect("valid");
        let signer = NameBuf::from_wire(&domain.apex).expect("valid");
        rdata::rrsig(&Signature {
            covered,
            owner: &owner,
            original_ttl: 3600,
            signer: &signer,
            key_tag: (hash_wire(&domain.apex) & 0xffff) as u16,
            seed: rng.next_u64(),
        })
    }
}

fn ds(rng: &mut Rng) -> Vec<u8> {
    rdata::ds(rng.below(1 << 16) as u16, rng.next_u64())
}

fn dmarc(domain: &Domain, v: u64) -> Vec<u8> {
    let policy = ["none", "quarantine", "reject"][(v % 3) as usize];
    let text = format!(
        "v=DMARC1; p={policy}; rua=mailto:dmarc@{}; ri={}",
        text_of_wire(&domain.apex).trim_end_matches('.'),
        86_400 + 3600 * v
    );
    rdata::txt(&[&text])
}

/// A DKIM key record (100-240 bytes) or a site-verification token.
fn dkim(rng: &mut Rng) -> Vec<u8> {
    match rng.below(4) {
        0 => {
            let mut token = [0u8; 32];
            rng.fill(&mut token);
            let text = format!("google-site-verification={}", base64(&token));
            rdata::txt(&[&text])
        }
        _ => {
            let mut key = vec![0u8; rng.between(60, 160) as usize];
            rng.fill(&mut key);
            let text = format!("v=DKIM1; k=rsa; p={}", base64(&key));
            rdata::txt(&[&text])
        }
    }
}

fn mail_provider(provider: usize) -> Vec<u8> {
    let mut label = Vec::new();
    push_word(&mut label, scramble(0x800 + provider as u64, 12), 2, 0, 0);
    label.extend_from_slice(b"mail");
    prepend(&label, &wire_of_text("com"))
}

/// Hosters with their zones and address space, sized Zipf-like by rank.
fn build_hosters(seed: u64) -> Vec<Hoster> {
    let mut rng = Rng::stream(seed, purpose::HOSTERS);
    // Candidate /16s: unicast-looking first octets, shuffled, handed out in order.
    let mut nets: Vec<[u8; 2]> = (1u8..=223)
        .filter(|&a| a != 10 && a != 127)
        .flat_map(|a| (0u8..=255).map(move |b| [a, b]))
        .collect();
    for i in (1..nets.len()).rev() {
        nets.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut next = 0;
    (0..HOSTERS)
        .map(|h| {
            let mut label = Vec::new();
            push_word(&mut label, scramble(h as u64, 18), 3, 0, 0);
            let (suffix, tld) = match h {
                h if h < CDNS => (&b"cdn"[..], "net"),
                h if h % 3 == 0 => (&b"dns"[..], "net"),
                h if h % 3 == 1 => (&b"host"[..], "com"),
                _ => (&b"cloud"[..], "com"),
            };
            label.extend_from_slice(suffix);
            let count = 1 + (12.0 / ((h + 1) as f64).sqrt()) as usize;
            let own = nets[next..next + count].to_vec();
            next += count;
            Hoster {
                apex: prepend(&label, &wire_of_text(tld)),
                nets: own,
                v6: [0x2a, 0x01 + (h >> 8) as u8, h as u8, 0x10],
            }
        })
        .collect()
}

/// Slots of domain `d` when the size curve is scaled by `scale`.
fn slots(seed: u64, d: u32, scale: f64) -> u64 {
    let mut rng = Rng::stream(mix(seed, purpose::SLOT), u64::from(d));
    let weight = (f64::from(d) + 1.0).powf(-SIZE_EXPONENT);
    let jitter = 0.5 + rng.unit();
    let extra = match rng.below(10) {
        0..=6 => 0,
        7..=8 => 1,
        _ => 2,
    };
    (1 + (scale * weight * jitter) as u64 + extra).min(MAX_SLOTS)
}

/// Versions of slot `slot` of domain `d`: distinct rdata sets over time.
fn versions(seed: u64, d: u32, slot: u64) -> u64 {
    let mut rng = Rng::new(mix(mix(seed, purpose::SLOT), mix(u64::from(d), slot)));
    match rng.below(100) {
        0..=69 => 1,
        70..=84 => 2,
        85..=92 => rng.between(3, 4),
        93..=98 => rng.between(5, 8),
        _ => rng.between(9, 64),
    }
}

/// Every RRset, grouped by domain rank, exactly `params.rrsets` of them: the size curve is
/// scaled until the domains hold at least that many, and the tail is cut there.
fn build_entries(params: &HistoryParams) -> (Vec<u64>, Vec<u64>) {
    let target = params.rrsets;
    let total = |scale: f64| -> u64 {
        let mut sum = 0u64;
        for d in 0..params.domains {
            for slot in 0..slots(params.seed, d, scale) {
                sum += versions(params.seed, d, slot);
                if sum >= target {
                    return sum;
                }
            }
        }
        sum
    };
    // Grow the scale until the domains hold enough RRsets, then bisect for the smallest
    // scale that still does: the cut then falls near the end of the domain list.
    let (mut low, mut high) = (0.0, 1.0);
    while total(high) < target && high < 1e12 {
        low = high;
        high *= 4.0;
    }
    if total(low) < target {
        for _ in 0..30 {
            let mid = (low + high) / 2.0;
            match total(mid) >= target {
                true => high = mid,
                false => low = mid,
            }
        }
    } else {
        high = low;
    }
    let mut entries = Vec::with_capacity(target as usize);
    let mut starts = Vec::with_capacity(params.domains as usize + 1);
    'domains: for d in 0..params.domains {
        starts.push(entries.len() as u64);
        for slot in 0..slots(params.seed, d, high) {
            for version in 0..versions(params.seed, d, slot) {
                if entries.len() as u64 == target {
                    break 'domains;
                }
                let entry = Entry {
                    domain: d,
                    slot: slot as u32,
                    version: version as u16,
                };
                entries.push(entry.pack());
            }
        }
    }
    while starts.len() <= params.domains as usize {
        starts.push(entries.len() as u64);
    }
    assert_eq!(
        entries.len() as u64,
        target,
        "the universe cannot hold {target} RRsets with {} domains",
        params.domains
    );
    (entries, starts)
}

/// `k -> (a k + b) mod n` with `a` coprime to `n`: spreads the versions of a slot and the
/// slots of a domain over the whole time span.
#[derive(Clone, Debug)]
struct Permutation {
    n: u64,
    a: u64,
    b: u64,
    a_inverse: u64,
}

impl Permutation {
    fn new(n: u64, seed: u64) -> Permutation {
        if n == 1 {
            return Permutation {
                n,
                a: 1,
                b: 0,
                a_inverse: 1,
            };
        }
        let mut rng = Rng::stream(seed, purpose::PERMUTATION);
        let mut a = rng.below(n).max(1);
        while gcd(a, n) != 1 {
            a = a % (n - 1) + 1;
        }
        Permutation {
            n,
            a,
            b: rng.below(n),
            a_inverse: inverse(a, n),
        }
    }

    fn apply(&self, k: u64) -> u64 {
        ((u128::from(self.a) * u128::from(k) + u128::from(self.b)) % u128::from(self.n)) as u64
    }

    fn invert(&self, index: u64) -> u64 {
        let shifted =
            (u128::from(index) + u128::from(self.n) - u128::from(self.b)) % u128::from(self.n);
        ((shifted * u128::from(self.a_inverse)) % u128::from(self.n)) as u64
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The inverse of `a` modulo `n` (`gcd(a, n) = 1`), by the extended Euclidean algorithm.
fn inverse(a: u64, n: u64) -> u64 {
    let (mut old_r, mut r) = (i128::from(a), i128::from(n));
    let (mut old_s, mut s) = (1i128, 0i128);
    while r != 0 {
        let q = old_r / r;
        (old_r, r) = (r, old_r - q * r);
        (old_s, s) = (s, old_s - q * s);
    }
    old_s.rem_euclid(i128::from(n)) as u64
}

/// One observation of the stream: which RRset, whether it is its first, and its statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drawn {
    pub index: u64,
    pub new: bool,
    pub seen: Seen,
}

/// The observations of a universe in time order (an iterator of exactly
/// `params.observations` items).
pub struct ObservationStream<'u> {
    universe: &'u Universe,
    emitted: u64,
    introduced: u64,
    rng: Rng,
    popularity: Zipf,
}

impl ObservationStream<'_> {
    /// The next observation as an [`Observation`], with whether its RRset is new.
    pub fn next_observation(&mut self) -> Option<(Observation, bool)> {
        let drawn = self.next()?;
        let observation = Observation {
            rrset: self.universe.rrset(drawn.index),
            seen: drawn.seen,
        };
        Some((observation, drawn.new))
    }

    fn repeat(&mut self) -> u64 {
        let universe = self.universe;
        if self.rng.per_mille(POPULAR_REPEATS_PER_MILLE) {
            let d = self.popularity.sample(&mut self.rng);
            let (start, end) = (universe.starts[d], universe.starts[d + 1]);
            if end > start {
                let index = start + self.rng.below(end - start);
                if universe.order.invert(index) < self.introduced {
                    return index;
                }
            }
        }
        let back = self.rng.below(self.introduced.min(RECENT_WINDOW));
        universe.order.apply(self.introduced - 1 - back)
    }
}

impl Iterator for ObservationStream<'_> {
    type Item = Drawn;

    fn next(&mut self) -> Option<Drawn> {
        let params = &self.universe.params;
        let remaining = params.observations - self.emitted;
        if remaining == 0 {
            return None;
        }
        let new_left = params.rrsets - self.introduced;
        let new = self.introduced == 0 || self.rng.below(remaining) < new_left;
        let index = match new {
            true => {
                self.introduced += 1;
                self.universe.order.apply(self.introduced - 1)
            }
            false => self.repeat(),
        };
        let time = START
            + (i128::from(SPAN) * i128::from(self.emitted) / i128::from(params.observations))
                as i64;
        let count = match self.rng.below(10) {
            0..=5 => 1,
            6..=8 => self.rng.between(2, 10),
            _ => self.rng.between(11, 1000),
        };
        let last = match count {
            1 => time,
            _ => time + self.rng.below(3600) as i64,
        };
        self.emitted += 1;
        Some(Drawn {
            index,
            new,
            seen: Seen {
                time_first: time,
                time_last: last,
                count,
            },
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.universe.params.observations - self.emitted) as usize;
        (left, Some(left))
    }
}

/// What a history holds, counted over its RRsets as they first appear: the figures that
/// pick the benchmark's scans and describe the input.
#[derive(Clone, Debug)]
pub struct Census {
    pub rrsets: u64,
    /// RRsets in the DNSSEC column families (DS, RRSIG).
    pub dnssec_rrsets: u64,
    /// Rdata rows: one per RR of each RRset.
    pub rdata_rows: u64,
    /// RRsets per type, by type number.
    pub by_type: std::collections::BTreeMap<u16, u64>,
    /// A rdata rows per IPv4 /16 (index `a << 8 | b`).
    pub a_rows_by_net: Vec<u64>,
    /// Non-DNSSEC RRsets per TLD (the rows of an `ANY` `*.tld` scan).
    pub rrsets_by_tld: Vec<u64>,
    /// Non-DNSSEC RRsets per domain rank (the rows of an `ANY` `*.domain` scan).
    pub rrsets_by_domain: Vec<u64>,
    /// Total size of the RRsets' encodings (owner, type, bailiwick, rdata).
    pub encoded_bytes: u64,
}

impl Census {
    pub fn new(universe: &Universe) -> Census {
        Census {
            rrsets: 0,
            dnssec_rrsets: 0,
            rdata_rows: 0,
            by_type: Default::default(),
            a_rows_by_net: vec![0; 1 << 16],
            rrsets_by_tld: vec![0; universe.tld_count()],
            rrsets_by_domain: vec![0; universe.params.domains as usize],
            encoded_bytes: 0,
        }
    }

    /// Counts a new RRset (each RRset once: call it for the stream's new ones).
    pub fn add(&mut self, universe: &Universe, index: u64, rrset: &RRset) {
        let parts = rrset.parts();
        self.rrsets += 1;
        *self.by_type.entry(parts.rrtype).or_default() += 1;
        self.encoded_bytes += rrset.encoded().len() as u64;
        let rdata: Vec<&[u8]> = parts.rdata().collect();
        self.rdata_rows += rdata.len() as u64;
        if is_dnssec_type(parts.rrtype) {
            self.dnssec_rrsets += 1;
            return;
        }
        if parts.rrtype == rtype::A {
            for address in &rdata {
                self.a_rows_by_net[usize::from(address[0]) << 8 | usize::from(address[1])] += 1;
            }
        }
        let domain = universe.entry(index).domain;
        self.rrsets_by_tld[universe.tld_of(domain)] += 1;
        self.rrsets_by_domain[domain as usize] += 1;
    }

    /// The /16 with the most A rdata rows, and their count.
    pub fn busiest_net(&self) -> (Ipv4Addr, u64) {
        let (net, rows) = max_index(&self.a_rows_by_net);
        (Ipv4Addr::new((net >> 8) as u8, net as u8, 0, 0), rows)
    }

    /// The TLD with the most RRsets, and their count.
    pub fn busiest_tld(&self) -> (usize, u64) {
        max_index(&self.rrsets_by_tld)
    }

    /// The domain with the most RRsets, and their count.
    pub fn busiest_domain(&self) -> (u32, u64) {
        let (d, rows) = max_index(&self.rrsets_by_domain);
        (d as u32, rows)
    }
}

fn max_index(counts: &[u64]) -> (usize, u64) {
    counts
        .iter()
        .copied()
        .enumerate()
        .max_by_key(|&(i, c)| (c, std::cmp::Reverse(i)))
        .unwrap_or((0, 0))
}

/// Consonant-vowel syllables: a syllable carries 6 bits.
const CONSONANTS: &[u8; 16] = b"bcdfghklmnprstvz";
const VOWELS: &[u8; 4] = b"aeio";

/// Appends `decoration` free syllables (from `flavour`) then `width` syllables spelling
/// `index` in base 64: the same width and decoration count never spell two indexes alike.
fn push_word(out: &mut Vec<u8>, index: u64, width: u32, decoration: u32, flavour: u64) {
    for k in 0..decoration {
        push_syllable(out, flavour >> (6 * k));
    }
    for k in (0..width).rev() {
        push_syllable(out, index >> (6 * k));
    }
}

/// A word of as many syllables as `index` needs (at least two): distinct per index.
fn push_index_word(out: &mut Vec<u8>, index: u64) {
    let bits = 64 - index.leading_zeros();
    let width = bits.div_ceil(6).max(2);
    push_word(out, scramble(index, 6 * width), width, 0, 0);
}

/// A bijection of `0..2^bits` (an odd multiplier and an offset, modulo `2^bits`), so that
/// neighbouring indexes do not spell neighbouring words.
fn scramble(index: u64, bits: u32) -> u64 {
    index
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(0x5bd1_e995_3c6e_f372)
        & ((1 << bits) - 1)
}

fn push_syllable(out: &mut Vec<u8>, bits: u64) {
    out.push(CONSONANTS[(bits >> 2) as usize & 15]);
    out.push(VOWELS[bits as usize & 3]);
}

/// The owner of generated host slot `n` of a domain: a word, `host-N`, a hex label or a
/// two-label regional name, by `style` (0-99); distinct per `n` within each style, and the
/// styles cannot spell each other.
fn host_label(apex: &[u8], n: u64, style: u64) -> Vec<u8> {
    let mut label = Vec::with_capacity(24);
    match style {
        0..=39 => push_index_word(&mut label, n),
        40..=64 => label.extend_from_slice(format!("host-{n}").as_bytes()),
        65..=84 => {
            // Multiplying by an odd constant is a bijection of u32: distinct per n.
            let hex = (n as u32).wrapping_mul(0x9e37_79b1);
            label.extend_from_slice(format!("x{hex:08x}").as_bytes());
        }
        _ => {
            push_index_word(&mut label, n);
            let region = REGIONS[(n % REGIONS.len() as u64) as usize];
            return prepend(&label, &prepend(region.as_bytes(), apex));
        }
    }
    prepend(&label, apex)
}

/// `label.parent` in wire form.
fn prepend(label: &[u8], parent: &[u8]) -> Vec<u8> {
    debug_assert!(!label.is_empty() && label.len() <= 63);
    let mut out = Vec::with_capacity(1 + label.len() + parent.len());
    out.push(label.len() as u8);
    out.extend_from_slice(label);
    out.extend_from_slice(parent);
    out
}

fn wire_of_text(text: &str) -> Vec<u8> {
    NameBuf::from_text(text)
        .expect("names in the generator are valid")
        .as_wire()
        .to_vec()
}

fn text_of_wire(wire: &[u8]) -> String {
    NameBuf::from_wire(wire)
        .map(|n| n.to_text())
        .unwrap_or_else(|_| ".".into())
}

fn hash_wire(wire: &[u8]) -> u64 {
    crate::rng::hash_bytes(0x5d, wire)
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * k)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use dnsledger_wire::{rdata_from_text, rdata_to_text};

    use super::*;

    fn small(seed: u64) -> Universe {
        Universe::build(&HistoryParams::new(20_000, 3.4, seed))
    }

    fn first_observations(universe: &Universe, n: usize) -> Vec<Observation> {
        let mut stream = universe.stream();
        (0..n)
            .map_while(|_| stream.next_observation().map(|(o, _)| o))
            .collect()
    }

    #[test]
    fn the_same_parameters_give_the_same_observations() {
        let a = first_observations(&small(7), 2000);
        assert_eq!(a, first_observations(&small(7), 2000));
        assert_ne!(a, first_observations(&small(8), 2000));
    }

    #[test]
    fn exactly_the_requested_rrsets_and_observations_all_distinct() {
        let universe = small(1);
        assert_eq!(universe.len(), 20_000);
        let distinct: HashSet<RRset> = (0..universe.len()).map(|i| universe.rrset(i)).collect();
        assert_eq!(distinct.len(), 20_000);
        let mut introduced = vec![false; 20_000];
        let (mut observations, mut new) = (0u64, 0u64);
        for drawn in universe.stream() {
            observations += 1;
            if drawn.new {
                assert!(!introduced[drawn.index as usize], "introduced twice");
                introduced[drawn.index as usize] = true;
                new += 1;
            } else {
                assert!(
                    introduced[drawn.index as usize],
                    "repeat before first sight"
                );
            }
            assert!(drawn.seen.time_first <= drawn.seen.time_last && drawn.seen.count >= 1);
        }
        assert_eq!((observations, new), (68_000, 20_000));
    }

    #[test]
    fn the_shape_is_that_of_passive_dns() {
        let universe = Universe::build(&HistoryParams::new(200_000, 3.4, 1));
        let mut census = Census::new(&universe);
        let mut repeats_of_popular = 0u64;
        for drawn in universe.stream().filter(|d| d.new) {
            census.add(&universe, drawn.index, &universe.rrset(drawn.index));
        }
        for drawn in universe.stream().filter(|d| !d.new) {
            repeats_of_popular += u64::from(universe.entry(drawn.index).domain < 100);
        }
        let share = |t: u16| census.by_type.get(&t).copied().unwrap_or(0) as f64 / 200_000.0;
        // A is the majority type; every other common type and some DNSSEC are there.
        assert!(share(rtype::A) > 0.4, "A {:.3}", share(rtype::A));
        for t in [
            rtype::AAAA,
            rtype::NS,
            rtype::CNAME,
            rtype::MX,
            rtype::TXT,
            rtype::SOA,
        ] {
            assert!(share(t) > 0.005, "type {t} {:.4}", share(t));
        }
        let dnssec = census.dnssec_rrsets as f64 / 200_000.0;
        assert!((0.01..0.1).contains(&dnssec), "DNSSEC {dnssec:.3}");
        // Rdata sets of 1-4 RRs, 1.2 to 1.8 on average.
        let per_rrset = census.rdata_rows as f64 / 200_000.0;
        assert!((1.2..1.8).contains(&per_rrset), "{per_rrset}");
        // Heavy tails: the busiest domain holds a few per cent of everything, most hold one
        // to three RRsets; the busiest /16 holds far more than its share.
        let (_, top) = census.busiest_domain();
        assert!(top > 2_000, "busiest domain {top}");
        let mut sizes: Vec<u64> = (0..universe.params().domains)
            .map(|d| universe.domain_rrsets(d))
            .filter(|&n| n > 0)
            .collect();
        sizes.sort_unstable();
        assert!(
            sizes[sizes.len() / 2] <= 3,
            "median {}",
            sizes[sizes.len() / 2]
        );
        let (_, net_rows) = census.busiest_net();
        let a_rows: u64 = census.a_rows_by_net.iter().sum();
        let nets = census.a_rows_by_net.iter().filter(|&&n| n > 0).count() as u64;
        assert!(
            net_rows > 20 * a_rows / nets,
            "busiest /16 {net_rows} of {a_rows}"
        );
        // Repeats favour the popular domains (they hold ~10% of the RRsets).
        let repeats = 680_000 - 200_000;
        assert!(
            repeats_of_popular * 4 > repeats,
            "{repeats_of_popular} of {repeats}"
        );
        // com is the busiest TLD.
        assert_eq!(universe.tld_name(census.busiest_tld().0), "com.");
    }

    #[test]
    fn rdata_reads_back_from_its_text() {
        let universe = small(3);
        for i in (0..universe.len()).step_by(7) {
            let rrset = universe.rrset(i);
            let parts = rrset.parts();
            for rdata in parts.rdata() {
                let text = rdata_to_text(parts.rrtype, rdata).unwrap();
                let back = rdata_from_text(parts.rrtype, &text).unwrap();
                assert_eq!(back, rdata, "{text}");
            }
        }
    }

    #[test]
    fn sampled_names_exist_or_are_misses() {
        let universe = small(1);
        let owners: HashSet<String> = (0..universe.len())
            .map(|i| text_of_wire(universe.rrset(i).rrname_wire()))
            .collect();
        let names = universe.sample_names(1, 90, 10);
        assert_eq!(names.len(), 100);
        assert_eq!(names.iter().filter(|n| owners.contains(*n)).count(), 90);
        assert_ne!(names, universe.sample_names(2, 90, 10));
    }

    #[test]
    fn the_permutation_is_a_bijection() {
        for n in [1u64, 2, 12, 1000, 65_536] {
            let p = Permutation::new(n, 5);
            let mut seen = vec![false; n as usize];
            for k in 0..n {
                let i = p.apply(k);
                assert!(!seen[i as usize]);
                seen[i as usize] = true;
                assert_eq!(p.invert(i), k);
            }
        }
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }
}
