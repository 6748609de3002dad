//! The authoritative side: the response each server of the tree sends to a question.
//!
//! Referrals carry the child's NS RRset (plus DS and its RRSIG when the child is signed) and
//! glue only for in-zone server names; answers carry only data at or below the answering
//! zone. So everything a correct bailiwick check sees is in bailiwick, and anything it drops
//! points at a sensor or generator bug.

use dnsledger_wire::{rcode, rtype, MessageBuilder, NameBuf, Section};

use crate::hierarchy::{Hierarchy, Nameserver, ZoneId};
use crate::names::child;
use crate::rdata::{self, Signature};
use crate::rng::{hash_bytes, mix, Rng};
use crate::zone::{Layout, NameData, Role};

/// Delegations from the root and the TLDs live this long (as for the real ones).
const DELEGATION_TTL: u32 = 172_800;
const ZONE_NS_TTL: u32 = 86_400;
const RECORD_TTL: u32 = 3600;
/// SOA TTL in negative answers, which is how long resolvers cache the NXDOMAIN or NODATA.
const NEGATIVE_TTL: u32 = 300;
/// Zone serials: the capture's date as YYYYMMDDnn, plus a per-zone revision.
const SERIAL_BASE: u32 = 2_025_010_100;
/// The EDNS UDP payload size both sides advertise (the DNS flag day 2020 value).
const EDNS_PAYLOAD: u16 = 1232;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub qname: NameBuf,
    pub qtype: u16,
}

/// Which kind of server is asked, and about which zone.
#[derive(Clone, Copy, Debug)]
pub enum Ask {
    /// The parent of the zone, which refers the resolver to the zone's servers.
    Referral(ZoneId),
    /// A TLD server, for the DS RRset of one of its domains (the parent side of the cut).
    Ds(usize),
    /// A server of the domain, for data in it.
    Answer(usize),
}

/// A response message (id 0; the transport fills in the id) and, when it is a CNAME into
/// another zone, the question the resolver must ask next.
pub struct Reply {
    pub message: Vec<u8>,
    pub follow_up: Option<FollowUp>,
}

pub struct FollowUp {
    pub question: Question,
    pub domain: usize,
}

pub struct Responder<'h> {
    tree: &'h Hierarchy,
    layout: Layout,
    seed: u64,
}

impl<'h> Responder<'h> {
    pub fn new(tree: &'h Hierarchy, seed: u64) -> Responder<'h> {
        Responder {
            tree,
            layout: Layout::new(),
            seed,
        }
    }

    /// The response to `question` (with the client's EDNS cookie, if it sent one).
    pub fn respond(&self, ask: Ask, question: &Question, cookie: Option<&[u8; 8]>) -> Reply {
        let (draft, follow_up) = match ask {
            Ask::Referral(zone) => (self.referral(zone, question), None),
            Ask::Ds(d) => (self.ds(d, question), None),
            Ask::Answer(d) => self.answer(d, question),
        };
        Reply {
            message: draft.finish(cookie, self.seed),
            follow_up,
        }
    }

    fn key_tag(&self, zone: &NameBuf) -> u16 {
        hash_bytes(self.seed, zone.as_wire()) as u16
    }

    /// The DS of a signed zone's key, the same wherever it is published.
    fn ds_rdata(&self, zone: &NameBuf) -> Vec<u8> {
        rdata::ds(self.key_tag(zone), hash_bytes(self.seed, zone.as_wire()))
    }

    fn signer(&self, zone: &'h NameBuf) -> Signer<'h> {
        Signer {
            zone,
            key_tag: self.key_tag(zone),
            seed: self.seed,
        }
    }

    fn referral(&self, zone: ZoneId, question: &Question) -> Draft<'h> {
        let delegation = self.tree.delegation(zone);
        // The root and every TLD are signed.
        let parent = self.signer(self.tree.apex(self.tree.parent(zone)));
        let mut draft = Draft::new(question, false, Some(parent));
        let targets = delegation
            .nameservers
            .iter()
            .map(|ns| rdata::name(&ns.name));
        draft.rrset(
            Section::Authority,
            delegation.zone,
            rtype::NS,
            DELEGATION_TTL,
            targets.collect(),
        );
        if delegation.signed {
            let ds = vec![self.ds_rdata(delegation.zone)];
            draft.signed_rrset(
                Section::Authority,
                delegation.zone,
                rtype::DS,
                DELEGATION_TTL,
                ds,
            );
        }
        if delegation.glue {
            draft.glue(&delegation.nameservers, DELEGATION_TTL);
        }
        draft
    }

    fn ds(&self, d: usize, question: &Question) -> Draft<'h> {
        let domain = &self.tree.domains[d];
        let tld = &self.tree.tlds[usize::from(domain.tld)];
        let mut draft = Draft::new(question, true, Some(self.signer(&tld.apex)));
        if domain.signed {
            let ds = vec![self.ds_rdata(&domain.apex)];
            draft.signed_rrset(Section::Answer, &domain.apex, rtype::DS, RECORD_TTL, ds);
        } else {
            let hostmaster = child("hostmaster", &tld.apex);
            let soa = rdata::soa(&tld.servers[0].name, &hostmaster, SERIAL_BASE, NEGATIVE_TTL);
            draft.signed_rrset(
                Section::Authority,
                &tld.apex,
                rtype::SOA,
                NEGATIVE_TTL,
                vec![soa],
            );
        }
        draft
    }

    fn answer(&self, d: usize, question: &Question) -> (Draft<'h>, Option<FollowUp>) {
        let tree = self.tree;
        let domain = &tree.domains[d];
        let signer = domain.signed.then(|| self.signer(&domain.apex));
        let mut draft = Draft::new(question, true, signer);
        let outcome = match self.layout.role(tree, d, &question.qname) {
            Some(role) => self.fill_answer(&mut draft, d, role, question),
            None => Outcome::NxDomain,
        };
        match outcome {
            Outcome::NxDomain | Outcome::NoData => {
                if matches!(outcome, Outcome::NxDomain) {
                    draft.set_rcode(rcode::NXDOMAIN);
                }
                let soa = vec![self.soa(d)];
                draft.signed_rrset(
                    Section::Authority,
                    &domain.apex,
                    rtype::SOA,
                    NEGATIVE_TTL,
                    soa,
                );
            }
            Outcome::Answered | Outcome::Alias(_) => {
                let hoster = &tree.hosters[usize::from(domain.hoster)];
                if hoster.full_authority && question.qtype != rtype::NS {
                    self.apex_ns(&mut draft, d, Section::Authority);
                }
            }
        }
        let follow_up = match outcome {
            Outcome::Alias(follow_up) => Some(follow_up),
            _ => None,
        };
        (draft, follow_up)
    }

    /// The answer section for a name that exists.
    fn fill_answer(
        &self,
        draft: &mut Draft<'h>,
        d: usize,
        role: Role,
        question: &Question,
    ) -> Outcome {
        let (qname, qtype) = (&question.qname, question.qtype);
        let data = NameData::of(self.seed, qname);
        let apex = &self.tree.domains[d].apex;
        let answered = match (role, qtype) {
            (Role::Alias, _) => return self.alias(draft, d, question, &data),
            (Role::Apex, rtype::SOA) => {
                draft.signed_rrset(
                    Section::Answer,
                    apex,
                    rtype::SOA,
                    RECORD_TTL,
                    vec![self.soa(d)],
                );
                true
            }
            (Role::Apex, rtype::NS) => {
                self.apex_ns(draft, d, Section::Answer);
                true
            }
            (Role::Apex, rtype::MX) => {
                self.mx(draft, d, &data);
                true
            }
            (Role::Apex | Role::Dmarc | Role::Dkim, rtype::TXT) => {
                let strings = self.txt(d, role, &data);
                let records = strings.iter().map(|s| rdata::txt(&[s])).collect();
                draft.signed_rrset(Section::Answer, qname, rtype::TXT, RECORD_TTL, records);
                true
            }
            (Role::Apex | Role::Host | Role::Origin, rtype::A | rtype::AAAA) => {
                draft.addresses(Section::Answer, qname, qtype, &data)
            }
            (Role::Nameserver(k), rtype::A | rtype::AAAA) => {
                let server = &self.tree.servers(ZoneId::Domain(d))[k];
                let ns = Nameserver {
                    name: qname.clone(),
                    server,
                };
                draft.nameserver_addresses(Section::Answer, &ns, qtype, ZONE_NS_TTL);
                true
            }
            _ => false,
        };
        match answered {
            true => Outcome::Answered,
            false => Outcome::NoData,
        }
    }

    /// A CNAME; within the zone the target's addresses follow, into a CDN the resolver
    /// has to ask there.
    fn alias(
        &self,
        draft: &mut Draft<'h>,
        d: usize,
        question: &Question,
        data: &NameData,
    ) -> Outcome {
        let (target, target_domain) = data.alias_target(self.tree, d, &question.qname);
        let cname = vec![rdata::name(&target)];
        draft.signed_rrset(
            Section::Answer,
            &question.qname,
            rtype::CNAME,
            data.ttl(),
            cname,
        );
        if target_domain != d {
            let question = Question {
                qname: target,
                qtype: question.qtype,
            };
            return Outcome::Alias(FollowUp {
                question,
                domain: target_domain,
            });
        }
        let target_data = NameData::of(self.seed, &target);
        if matches!(question.qtype, rtype::A | rtype::AAAA) {
            draft.addresses(Section::Answer, &target, question.qtype, &target_data);
        }
        Outcome::Answered
    }

    fn soa(&self, d: usize) -> Vec<u8> {
        let tree = self.tree;
        let apex = &tree.domains[d].apex;
        let data = NameData::of(self.seed, apex);
        let mname = &tree.domain_nameservers(d)[0].name;
        let serial = SERIAL_BASE + data.pick(1, 100) as u32;
        let minimum = [NEGATIVE_TTL, RECORD_TTL][data.pick(2, 2) as usize];
        rdata::soa(mname, &child("hostmaster", apex), serial, minimum)
    }

    /// The zone's NS RRset, with addresses for in-zone server names.
    fn apex_ns(&self, draft: &mut Draft<'h>, d: usize, section: Section) {
        let apex = &self.tree.domains[d].apex;
        let nameservers = self.tree.domain_nameservers(d);
        let targets = nameservers.iter().map(|ns| rdata::name(&ns.name)).collect();
        draft.signed_rrset(section, apex, rtype::NS, ZONE_NS_TTL, targets);
        if self.tree.domains[d].vanity {
            draft.glue(&nameservers, ZONE_NS_TTL);
        }
    }

    /// MX to the zone's own mail host (with its addresses) or to the hoster's mail servers.
    fn mx(&self, draft: &mut Draft<'h>, d: usize, data: &NameData) {
        let domain = &self.tree.domains[d];
        if data.pick(3, 3) == 0 {
            let hoster = &self.tree.hosters[usize::from(domain.hoster)].apex;
            let records = (1..=2u16)
                .map(|k| rdata::mx(10 * k, &child(&format!("mx{k}"), hoster)))
                .collect();
            draft.signed_rrset(
                Section::Answer,
                &domain.apex,
                rtype::MX,
                RECORD_TTL,
                records,
            );
            return;
        }
        let mail = child("mail", &domain.apex);
        draft.signed_rrset(
            Section::Answer,
            &domain.apex,
            rtype::MX,
            RECORD_TTL,
            vec![rdata::mx(10, &mail)],
        );
        let mail_data = NameData::of(self.seed, &mail);
        draft.addresses(Section::Additional, &mail, rtype::A, &mail_data);
    }

    /// TXT strings: SPF and site verification at the apex, a DMARC policy, a DKIM key.
    fn txt(&self, d: usize, role: Role, data: &NameData) -> Vec<String> {
        let domain = &self.tree.domains[d];
        let apex = domain.apex.to_text();
        let apex = apex.trim_end_matches('.');
        match role {
            Role::Dmarc => vec![format!("v=DMARC1; p=quarantine; rua=mailto:dmarc@{apex}")],
            Role::Dkim => {
                let key_len = 80 + data.pick(4, 140) as usize;
                vec![format!(
                    "v=DKIM1; k=rsa; p={}",
                    base64ish(data.seed(1), key_len)
                )]
            }
            _ => {
                let hoster = self.tree.hosters[usize::from(domain.hoster)].apex.to_text();
                let spf = format!("v=spf1 include:_spf.{} ~all", hoster.trim_end_matches('.'));
                let mut strings = vec![spf];
                if data.pick(5, 2) == 0 {
                    strings.push(format!(
                        "google-site-verification={}",
                        base64ish(data.seed(2), 43)
                    ));
                }
                if data.pick(6, 4) == 0 {
                    strings.push(format!("MS=ms{:08}", data.pick(7, 100_000_000)));
                }
                strings
            }
        }
    }
}

/// What a domain's server had for a question.
enum Outcome {
    Answered,
    /// The name exists, without data of the type asked.
    NoData,
    NxDomain,
    /// A CNAME into another zone: the resolver continues there.
    Alias(FollowUp),
}

/// Text that looks like base64 key material.
fn base64ish(seed: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = Rng::new(seed);
    (0..len).map(|_| char::from(*rng.pick(ALPHABET))).collect()
}

/// The zone whose key signs the RRsets of a response.
struct Signer<'a> {
    zone: &'a NameBuf,
    key_tag: u16,
    seed: u64,
}

/// A response under construction; RRsets go in whole, with their RRSIG when signed.
struct Draft<'a> {
    builder: MessageBuilder,
    signer: Option<Signer<'a>>,
}

impl<'a> Draft<'a> {
    fn new(question: &Question, authoritative: bool, signer: Option<Signer<'a>>) -> Draft<'a> {
        let mut builder = MessageBuilder::query(0, &question.qname, question.qtype);
        builder.response().header_mut().aa = authoritative;
        Draft { builder, signer }
    }

    fn set_rcode(&mut self, rcode: u8) {
        self.builder.header_mut().rcode = rcode;
    }

    fn rrset(
        &mut self,
        section: Section,
        owner: &NameBuf,
        rtype: u16,
        ttl: u32,
        records: Vec<Vec<u8>>,
    ) {
        for rdata in &records {
            self.builder.record(section, owner, rtype, ttl, rdata);
        }
    }

    /// An RRset that the answering zone signs (when it is signed).
    fn signed_rrset(
        &mut self,
        section: Section,
        owner: &NameBuf,
        rtype: u16,
        ttl: u32,
        records: Vec<Vec<u8>>,
    ) {
        self.rrset(section, owner, rtype, ttl, records);
        if let Some(signer) = &self.signer {
            let signature = rdata::rrsig(&Signature {
                covered: rtype,
                owner,
                original_ttl: ttl,
                signer: signer.zone,
                key_tag: signer.key_tag,
                seed: mix(hash_bytes(signer.seed, owner.as_wire()), u64::from(rtype)),
            });
            self.builder
                .record(section, owner, rtype::RRSIG, ttl, &signature);
        }
    }

    /// The name's A or AAAA RRset; false when it has none of that type.
    fn addresses(
        &mut self,
        section: Section,
        owner: &NameBuf,
        qtype: u16,
        data: &NameData,
    ) -> bool {
        let records: Vec<Vec<u8>> = match qtype {
            rtype::A => data.v4_addresses().iter().map(|a| a.to_vec()).collect(),
            _ => data.v6_addresses().iter().map(|a| a.to_vec()).collect(),
        };
        if records.is_empty() {
            return false;
        }
        self.signed_rrset(section, owner, qtype, data.ttl(), records);
        true
    }

    fn nameserver_addresses(
        &mut self,
        section: Section,
        ns: &Nameserver<'_>,
        qtype: u16,
        ttl: u32,
    ) {
        let rdata = match qtype {
            rtype::A => ns.server.v4.octets().to_vec(),
            _ => ns.server.v6.octets().to_vec(),
        };
        self.signed_rrset(section, &ns.name, qtype, ttl, vec![rdata]);
    }

    /// A and AAAA of each name server: unsigned, as glue is.
    fn glue(&mut self, nameservers: &[Nameserver<'_>], ttl: u32) {
        for ns in nameservers {
            self.rrset(
                Section::Additional,
                &ns.name,
                rtype::A,
                ttl,
                vec![ns.server.v4.octets().to_vec()],
            );
            self.rrset(
                Section::Additional,
                &ns.name,
                rtype::AAAA,
                ttl,
                vec![ns.server.v6.octets().to_vec()],
            );
        }
    }

    /// The message, with an OPT record echoing the client cookie next to a server cookie.
    fn finish(mut self, cookie: Option<&[u8; 8]>, seed: u64) -> Vec<u8> {
        let options = match cookie {
            Some(client) => {
                let mut server = [0u8; 16];
                Rng::new(mix(seed, u64::from_le_bytes(*client))).fill(&mut server);
                rdata::cookie_option(client, Some(&server))
            }
            None => Vec::new(),
        };
        self.builder.record_with_class(
            Section::Additional,
            &NameBuf::root(),
            rtype::OPT,
            EDNS_PAYLOAD,
            0,
            &options,
        );
        self.builder.build()
    }
}
