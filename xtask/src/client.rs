//! The questions the resolver's clients ask: which domain (by popularity), which name in it
//! and which type, in a mix shaped like resolver-to-authoritative traffic.

use dnsledger_wire::{rtype, NameBuf};

use crate::hierarchy::Hierarchy;
use crate::names::{child, name, random_label};
use crate::responder::Question;
use crate::rng::Rng;
use crate::zone::{Role, NAMES};

/// The kinds of client question, with their share per mille. Answers follow from the zone
/// data: e.g. 15% of names have no AAAA, so AAAA questions also yield NODATA.
const MIX: &[(Kind, u64)] = &[
    (Kind::HostA, 440),
    (Kind::HostAaaa, 180),
    (Kind::AliasA, 80),
    (Kind::Mx, 50),
    (Kind::Txt, 50),
    (Kind::Ns, 30),
    (Kind::Soa, 30),
    (Kind::Missing, 105),
    (Kind::Https, 15),
    (Kind::Ds, 20),
];

fn has_addresses(role: Role) -> bool {
    matches!(role, Role::Apex | Role::Host)
}

fn has_txt(role: Role) -> bool {
    matches!(role, Role::Apex | Role::Dmarc | Role::Dkim)
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    HostA,
    HostAaaa,
    /// A for an alias: CNAME chains.
    AliasA,
    Mx,
    /// TXT at the apex, `_dmarc` or the DKIM selector.
    Txt,
    Ns,
    Soa,
    /// A random name that does not exist: NXDOMAIN.
    Missing,
    /// HTTPS, which no zone here publishes: NODATA.
    Https,
    /// DS of a signed domain, asked at its TLD.
    Ds,
}

/// Where the resolver has to take a client question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The domain's own servers.
    Zone(usize),
    /// The domain's TLD servers (DS lives on the parent side of the cut).
    Parent(usize),
}

pub struct ClientQuestion {
    pub question: Question,
    pub target: Target,
}

pub struct Clients<'h> {
    tree: &'h Hierarchy,
    rng: Rng,
}

impl<'h> Clients<'h> {
    pub fn new(tree: &'h Hierarchy, rng: Rng) -> Clients<'h> {
        Clients { tree, rng }
    }

    pub fn next_question(&mut self) -> ClientQuestion {
        let d = self.tree.popularity.sample(&mut self.rng);
        let kind = MIX[self.rng.weighted(MIX.iter().map(|&(_, share)| share))].0;
        let apex = &self.tree.domains[d].apex;
        let (qname, qtype) = match kind {
            Kind::HostA => (self.name_of(apex, has_addresses), rtype::A),
            Kind::HostAaaa => (self.name_of(apex, has_addresses), rtype::AAAA),
            Kind::AliasA => (self.name_of(apex, |r| r == Role::Alias), rtype::A),
            Kind::Mx => (apex.clone(), rtype::MX),
            Kind::Txt => (self.name_of(apex, has_txt), rtype::TXT),
            Kind::Ns => (apex.clone(), rtype::NS),
            Kind::Soa => (apex.clone(), rtype::SOA),
            Kind::Missing => (child(&random_label(&mut self.rng), apex), rtype::A),
            Kind::Https => (self.name_of(apex, has_addresses), rtype::HTTPS),
            Kind::Ds => return self.ds_question(d),
        };
        ClientQuestion {
            question: Question { qname, qtype },
            target: Target::Zone(d),
        }
    }

    /// A name of the zone with a role `wanted` accepts, by the names' weights.
    fn name_of(&mut self, apex: &NameBuf, wanted: impl Fn(Role) -> bool) -> NameBuf {
        let candidates: Vec<&(&str, Role, u64)> =
            NAMES.iter().filter(|&&(_, role, _)| wanted(role)).collect();
        let pick = self.rng.weighted(candidates.iter().map(|&&(_, _, w)| w));
        match candidates[pick].0 {
            "" => apex.clone(),
            relative => name(&format!("{relative}.{apex}")),
        }
    }

    /// DS of the nearest signed domain at or after a popular one (unsigned zones have none).
    fn ds_question(&mut self, popular: usize) -> ClientQuestion {
        let domains = &self.tree.domains;
        let d = (popular..domains.len())
            .chain(0..popular)
            .find(|&d| domains[d].signed)
            .unwrap_or(popular);
        ClientQuestion {
            question: Question {
                qname: domains[d].apex.clone(),
                qtype: rtype::DS,
            },
            target: Target::Parent(d),
        }
    }
}
