//! The resolver: walks the tree for each client question the way an iterative resolver
//! does (root referral, TLD referral, the domain's servers; the addresses of out-of-zone
//! name servers first), caching delegations, and hands each exchange to the writer.
//!
//! Many resolutions run at once in packet time. A delegation becomes usable when its
//! referral arrives; a resolution that needs it earlier waits for it, as resolvers
//! coalesce identical outstanding queries. This keeps the capture causal: the sensor sees
//! each referral before any answer that relies on it.

use std::io::Write;
use std::net::IpAddr;

use dnsledger_wire::{rtype, MessageBuilder, NameBuf, Section};

use crate::client::{ClientQuestion, Clients, Target};
use crate::exchange::{Exchange, ExchangeWriter};
use crate::hierarchy::{Hierarchy, ZoneId, RESOLVER_V4, RESOLVER_V6};
use crate::names::child;
use crate::rdata;
use crate::responder::{Ask, FollowUp, Question, Responder};
use crate::rng::{mix, Rng};

/// Share of exchanges (per mille) the resolver sends over IPv6.
const IPV6_PER_MILLE: u64 = 200;
/// Share of queries (per mille) that carry a DNS cookie.
const COOKIE_PER_MILLE: u64 = 700;
/// How long the resolver takes between receiving a referral and sending the next query.
const THINK_NANOS: i64 = 30_000;
/// CNAMEs followed into other zones per client question.
const MAX_FOLLOW_UPS: usize = 2;
const EDNS_PAYLOAD: u16 = 1232;
/// EDNS flags of the resolver's queries: DO, it wants DNSSEC records.
const EDNS_DO: u32 = 0x8000;

/// When each delegation became known to the resolver (packet time).
struct DelegationCache {
    tlds: Vec<Option<i64>>,
    hosters: Vec<Option<i64>>,
    domains: Vec<Option<i64>>,
}

impl DelegationCache {
    fn new(tree: &Hierarchy) -> DelegationCache {
        DelegationCache {
            tlds: vec![None; tree.tlds.len()],
            hosters: vec![None; tree.hosters.len()],
            domains: vec![None; tree.domains.len()],
        }
    }

    fn slot(&mut self, zone: ZoneId) -> &mut Option<i64> {
        match zone {
            ZoneId::Tld(t) => &mut self.tlds[t],
            ZoneId::Hoster(h) => &mut self.hosters[h],
            ZoneId::Domain(d) => &mut self.domains[d],
            ZoneId::Root => unreachable!("the root comes from the hints"),
        }
    }
}

pub struct Resolver<'h> {
    tree: &'h Hierarchy,
    responder: Responder<'h>,
    clients: Clients<'h>,
    rng: Rng,
    cache: DelegationCache,
    seed: u64,
}

impl<'h> Resolver<'h> {
    pub fn new(tree: &'h Hierarchy, seed: u64) -> Resolver<'h> {
        Resolver {
            tree,
            responder: Responder::new(tree, seed),
            clients: Clients::new(tree, Rng::stream(seed, 0xc1)),
            rng: Rng::stream(seed, 0x7e),
            cache: DelegationCache::new(tree),
            seed,
        }
    }

    /// Resolves the next client question, starting at `at`. Returns `None` once the
    /// writer's packet budget is spent.
    pub fn resolve_next<W: Write>(
        &mut self,
        at: i64,
        writer: &mut ExchangeWriter<W>,
    ) -> Option<()> {
        let ClientQuestion { question, target } = self.clients.next_question();
        match target {
            Target::Parent(d) => {
                let tld = self.tree.parent(ZoneId::Domain(d));
                let at = self.ensure(tld, &question, at, writer)?;
                self.ask(tld, Ask::Ds(d), &question, at, writer)?;
            }
            Target::Zone(d) => self.resolve_in(d, question, at, writer)?,
        }
        Some(())
    }

    /// Asks the servers of domain `d`, following CNAMEs into other domains.
    fn resolve_in<W: Write>(
        &mut self,
        mut d: usize,
        mut question: Question,
        mut at: i64,
        writer: &mut ExchangeWriter<W>,
    ) -> Option<()> {
        for _ in 0..=MAX_FOLLOW_UPS {
            let zone = ZoneId::Domain(d);
            at = self.ensure(zone, &question, at, writer)?;
            let (done, follow_up) = self.ask(zone, Ask::Answer(d), &question, at, writer)?;
            let Some(FollowUp {
                question: next,
                domain,
            }) = follow_up
            else {
                return Some(());
            };
            (d, question, at) = (domain, next, done + THINK_NANOS);
        }
        Some(())
    }

    /// Makes the delegation of `zone` known (asking its parent, after making the parent
    /// known), and for a domain with out-of-zone servers also their addresses. Returns
    /// when the resolver can send a query to the zone's servers.
    fn ensure<W: Write>(
        &mut self,
        zone: ZoneId,
        question: &Question,
        at: i64,
        writer: &mut ExchangeWriter<W>,
    ) -> Option<i64> {
        if zone == ZoneId::Root {
            return Some(at);
        }
        if let Some(known) = *self.cache.slot(zone) {
            return Some(at.max(known));
        }
        let parent = self.tree.parent(zone);
        let at = self.ensure(parent, question, at, writer)?;
        let (mut ready, _) = self.ask(parent, Ask::Referral(zone), question, at, writer)?;
        ready += THINK_NANOS;
        if let ZoneId::Domain(d) = zone {
            let domain = &self.tree.domains[d];
            if !domain.vanity {
                let hoster = ZoneId::Hoster(usize::from(domain.hoster));
                let target = Question {
                    qname: child("ns1", self.tree.apex(hoster)),
                    qtype: rtype::A,
                };
                ready = self.ensure(hoster, &target, ready, writer)?;
            }
        }
        // Only now: until the servers' addresses are known the zone cannot be asked.
        *self.cache.slot(zone) = Some(ready);
        Some(ready)
    }

    /// One exchange with a server of `zone`; returns when the answer is in, and where a
    /// CNAME leads.
    fn ask<W: Write>(
        &mut self,
        zone: ZoneId,
        ask: Ask,
        question: &Question,
        at: i64,
        writer: &mut ExchangeWriter<W>,
    ) -> Option<(i64, Option<FollowUp>)> {
        let server = self.rng.pick(self.tree.servers(zone));
        let (client, server_addr) = match self.rng.per_mille(IPV6_PER_MILLE) {
            true => (IpAddr::V6(RESOLVER_V6), IpAddr::V6(server.v6)),
            false => (IpAddr::V4(RESOLVER_V4), IpAddr::V4(server.v4)),
        };
        // Resolvers keep one client cookie per server.
        let cookie = self
            .rng
            .per_mille(COOKIE_PER_MILLE)
            .then(|| mix(self.seed, u64::from(u32::from(server.v4))).to_le_bytes());
        let query = query_message(question, cookie.as_ref());
        let reply = self.responder.respond(ask, question, cookie.as_ref());
        let done = writer.exchange(&Exchange {
            at,
            client,
            server: server_addr,
            rtt_nanos: server.rtt_nanos,
            query: &query,
            response: &reply.message,
        })?;
        Some((done, reply.follow_up))
    }
}

/// An iterative query (RD=0) with EDNS (DO set) and, if given, a client cookie.
fn query_message(question: &Question, cookie: Option<&[u8; 8]>) -> Vec<u8> {
    let options = cookie
        .map(|c| rdata::cookie_option(c, None))
        .unwrap_or_default();
    let mut builder = MessageBuilder::query(0, &question.qname, question.qtype);
    builder.record_with_class(
        Section::Additional,
        &NameBuf::root(),
        rtype::OPT,
        EDNS_PAYLOAD,
        EDNS_DO,
        &options,
    );
    builder.build()
}
