//! Sensor logic: from DNS messages on the wire to hardened, aggregated RRset observations.
//!
//! What it is: the transforms of the collection pipeline, in order. [`Sensor::handle`] takes
//! one DNS payload (from `dnsledger-capture`), pairs responses with the queries they answer
//! ([`pair`]), drops what a careful passive DNS sensor must not store (unpaired, truncated,
//! wrong RCODE or opcode, bad checksum, out of bailiwick), reconstructs the bailiwick from
//! learned authority ([`authority`]), splits each used response into RRsets and aggregates
//! them ([`aggregate`]); aggregated rows leave through an [`ObservationSink`].
//!
//! What it is not: it reads no files and no sockets, parses no DNS itself
//! (`dnsledger-wire`), and stores nothing (sinks do). It never looks at the wall clock:
//! all expiry follows packet time, so a capture replays identically.
//!
//! Resolvers that report their own traffic (dnstap) enter through
//! [`Sensor::handle_resolver_query`] and [`Sensor::handle_resolver_response`]: the same
//! pairing and hardening, with the bailiwick the resolver reports instead of a reconstructed
//! one; [`Sensor::handle_client_response`] takes a resolver's answers to its clients
//! (client-side mode only).
//!
//! What is recorded can be narrowed by name ([`Scope`]): a response outside it is dropped
//! (counted) after every other check, and so is each RRset whose owner is outside it; the
//! authority learnt from them is kept, because the bailiwick of the names in scope depends
//! on delegations above them (a root referral for `com.` serves `example.com`).
//!
//! No address of a resolver, client or server ever leaves the sensor: addresses serve
//! pairing and bailiwick reconstruction in memory only, and RRset rows carry none.
//!
//! Main types: [`SensorConfig`], [`Sensor`], [`SensorStats`], [`RootHints`], [`Scope`],
//! [`ResolverReport`], [`live::FlushTimer`].
//!
//! Invariants: a record from a response that did not pair with an outstanding RD=0 query is
//! never stored; an RRset whose owner is not at or below the bailiwick is never stored;
//! each RRset counts once per response; memory is bounded by the pairing, authority and
//! aggregation limits in [`SensorConfig`].

pub mod aggregate;
pub mod authority;
mod fingerprint;
mod hints;
pub mod live;
pub mod pair;
mod rrsets;
pub mod scope;
mod stats;

use std::net::IpAddr;
use std::ops::Range;

use dnsledger_capture::{ChecksumStatus, DnsPayload, Transport};
use dnsledger_rrset::{ObservationSink, RRset, SinkError};
use dnsledger_wire::{opcode, rcode, rtype, Header, Message, WireError};

pub use aggregate::{Aggregator, RRsetFingerprint};
pub use authority::{AuthorityMap, BailiwickPlan};
pub use dnsledger_rrset as model;
pub use hints::{HintsError, RootHints};
pub use pair::{PairKey, PairKeyRef, Pairing, PendingQuery, QueryOutcome};
pub use scope::{Scope, SuffixError, SuffixSet};
pub use stats::SensorStats;

use rrsets::{RRsetSplitter, SplitRRset};

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// Every setting of the sensor, with defaults that suit a resolver<->authoritative tap.
#[derive(Clone, Debug)]
pub struct SensorConfig {
    /// Ports that identify the server side of an exchange.
    pub dns_ports: Vec<u16>,
    /// How long a query waits for its response, in packet time.
    pub pair_timeout_nanos: i64,
    /// Outstanding queries kept at most.
    pub max_pending_queries: usize,
    /// Client-side mode: also use responses to RD=1 queries, stored without bailiwick.
    pub accept_recursion_desired: bool,
    /// DNSDB's stricter rule: keep NOERROR only (NXDOMAIN responses are dropped).
    pub noerror_only: bool,
    /// Servers of the root zone, the seed of bailiwick reconstruction.
    pub root_hints: RootHints,
    /// Authority facts ("this address serves that zone") kept at most.
    pub max_authority_facts: usize,
    /// Distinct RRsets aggregated in memory before a flush to the sink.
    pub max_rrsets: usize,
    /// Flush at least this often in packet time (live sensors); `None` = only when full.
    pub flush_interval_nanos: Option<i64>,
    /// The names recorded (default: all).
    pub scope: Scope,
}

impl Default for SensorConfig {
    fn default() -> SensorConfig {
        SensorConfig {
            dns_ports: vec![53],
            pair_timeout_nanos: 5 * NANOS_PER_SECOND,
            max_pending_queries: 1_000_000,
            accept_recursion_desired: false,
            noerror_only: false,
            root_hints: RootHints::iana(),
            max_authority_facts: 4_000_000,
            max_rrsets: 2_000_000,
            flush_interval_nanos: None,
            scope: Scope::default(),
        }
    }
}

/// The sensor: pairing, hardening, bailiwick and aggregation in front of a sink.
pub struct Sensor<S: ObservationSink> {
    config: SensorConfig,
    pairing: Pairing,
    authority: AuthorityMap,
    aggregator: Aggregator,
    splitter: RRsetSplitter,
    /// The canonical qname of the message being handled, written while parsing it
    /// ([`Sensor::parse`]); reused, so pairing does not allocate.
    qname_scratch: Vec<u8>,
    /// The accepted RRsets of the response being recorded (reused).
    accepted: AcceptedRRsets,
    sink: S,
    stats: SensorStats,
    last_flush_nanos: Option<i64>,
}

/// The RRsets of one response that passed every check, encoded and fingerprinted before
/// any of them is counted ([`Sensor::accept_rrsets`]).
#[derive(Debug, Default)]
struct AcceptedRRsets {
    /// Their encodings, one after the other.
    encodings: Vec<u8>,
    rrsets: Vec<AcceptedRRset>,
}

#[derive(Debug)]
struct AcceptedRRset {
    /// Where its encoding lies in [`AcceptedRRsets::encodings`].
    encoded: Range<usize>,
    fingerprint: RRsetFingerprint,
    /// Its place among the response's RRsets ([`RRsetSplitter::rrsets`]).
    ordinal: usize,
    /// An NS RRset within the bailiwick: one to learn the delegation from.
    delegates: bool,
}

impl AcceptedRRsets {
    fn clear(&mut self) {
        self.encodings.clear();
        self.rrsets.clear();
    }
}

/// A DNS message a resolver reports about its own upstream traffic (dnstap RESOLVER_QUERY
/// and RESOLVER_RESPONSE) rather than one seen on the wire.
///
/// The resolver's port is deliberately absent: some resolvers report a wrong local port in
/// responses (Unbound 1.17), so reported exchanges pair on everything else.
#[derive(Clone, Copy, Debug)]
pub struct ResolverReport<'a> {
    /// When the query was sent, or when the response arrived.
    pub ts_nanos: i64,
    pub transport: Transport,
    /// The resolver (the query's sender).
    pub resolver: IpAddr,
    /// The server asked (the response's sender) and its port.
    pub server: IpAddr,
    pub server_port: u16,
    /// The DNS message.
    pub data: &'a [u8],
}

/// The endpoints of an exchange, from the client's side: what a pairing key is made of
/// besides the DNS id and the question.
#[derive(Clone, Copy)]
struct Endpoints {
    transport: Transport,
    client: IpAddr,
    client_port: u16,
    server: IpAddr,
    server_port: u16,
}

impl Endpoints {
    /// A payload's endpoints; a response is read mirrored.
    fn of_payload(payload: &DnsPayload<'_>, side: Side) -> Endpoints {
        let (client, client_port, server, server_port) = match side {
            Side::Query => (payload.src, payload.src_port, payload.dst, payload.dst_port),
            Side::Response => (payload.dst, payload.dst_port, payload.src, payload.src_port),
        };
        Endpoints {
            transport: payload.transport,
            client,
            client_port,
            server,
            server_port,
        }
    }

    /// A reported message's endpoints, with the resolver's port left out (always 0), so
    /// that a query and its response pair whatever port the resolver reported.
    fn of_report(report: &ResolverReport<'_>) -> Endpoints {
        Endpoints {
            transport: report.transport,
            client: report.resolver,
            client_port: 0,
            server: report.server,
            server_port: report.server_port,
        }
    }
}

/// Where the bailiwick of a response comes from.
#[derive(Clone, Copy)]
enum ZoneSource<'z> {
    /// Reconstructed from the authority learned for the address that answered (captures).
    Learned { server: IpAddr },
    /// Reported by the resolver that asked (dnstap `query_zone`): wire form, any case.
    Reported(&'z [u8]),
    /// None: client-side data (the query had RD=1, or a resolver answered its client), used
    /// only in client-side mode and stored without bailiwick.
    ClientSide,
}

/// A response's [`ZoneSource`] once the response is used: a learned zone with its lookup
/// planned ahead ([`AuthorityMap::plan_bailiwick`]).
enum ZonePlan<'z> {
    Learned(BailiwickPlan),
    Reported(&'z [u8]),
    ClientSide,
}

/// A response that may be used: paired with its query (or, for a resolver's own answer to
/// a client, in no need of pairing), ready for the hardening checks.
struct PairedResponse<'m, 'p> {
    message: &'m Message<'p>,
    header: Header,
    qname: &'m [u8],
    qtype: u16,
    ts_nanos: i64,
    zone: ZoneSource<'m>,
}

impl<S: ObservationSink> Sensor<S> {
    pub fn new(config: SensorConfig, sink: S) -> Sensor<S> {
        Sensor {
            pairing: Pairing::new(config.pair_timeout_nanos, config.max_pending_queries),
            authority: AuthorityMap::new(&config.root_hints, config.max_authority_facts),
            aggregator: Aggregator::new(config.max_rrsets),
            splitter: RRsetSplitter::default(),
            qname_scratch: Vec::with_capacity(256),
            accepted: AcceptedRRsets::default(),
            sink,
            stats: SensorStats::default(),
            last_flush_nanos: None,
            config,
        }
    }

    /// Takes one DNS message off the wire. Errors come only from the sink.
    pub fn handle(&mut self, payload: &DnsPayload<'_>) -> Result<(), SinkError> {
        self.stats.messages += 1;
        let Ok(message) = self.parse(payload.data) else {
            self.stats.dropped_malformed_message += 1;
            return Ok(());
        };
        let is_response = message.header().qr;
        let to_server = self.config.dns_ports.contains(&payload.dst_port);
        let from_server = self.config.dns_ports.contains(&payload.src_port);
        if !is_response && to_server {
            let endpoints = Endpoints::of_payload(payload, Side::Query);
            self.handle_query(&endpoints, payload.ts_nanos, &message);
        } else if is_response && from_server {
            self.handle_response(payload, &message);
        } else {
            self.stats.dropped_wrong_direction += 1;
        }
        self.flush_if_due(payload.ts_nanos)
    }

    /// A query the resolver reports having sent (dnstap RESOLVER_QUERY), remembered for
    /// pairing like a query seen on the wire. Errors come only from the sink.
    pub fn handle_resolver_query(&mut self, report: &ResolverReport<'_>) -> Result<(), SinkError> {
        self.stats.messages += 1;
        match self.parse(report.data) {
            Err(_) => self.stats.dropped_malformed_message += 1,
            Ok(message) if message.header().qr => self.stats.dropped_wrong_direction += 1,
            Ok(message) => {
                self.handle_query(&Endpoints::of_report(report), report.ts_nanos, &message)
            }
        }
        self.flush_if_due(report.ts_nanos)
    }

    /// A response the resolver reports having received (dnstap RESOLVER_RESPONSE) with the
    /// zone it asked (`query_zone`, uncompressed wire form): it must pair with a reported
    /// query and pass the same checks as a response on the wire; its bailiwick is `zone`,
    /// which must enclose the question. Errors come only from the sink.
    pub fn handle_resolver_response(
        &mut self,
        report: &ResolverReport<'_>,
        zone: &[u8],
    ) -> Result<(), SinkError> {
        self.stats.messages += 1;
        match self.parse(report.data) {
            Err(_) => self.stats.dropped_malformed_message += 1,
            Ok(message) if !message.header().qr => self.stats.dropped_wrong_direction += 1,
            Ok(message) => {
                self.stats.responses += 1;
                let endpoints = Endpoints::of_report(report);
                let zone = ZoneSource::Reported(zone);
                self.pair_and_use(&endpoints, report.ts_nanos, &message, zone);
            }
        }
        self.flush_if_due(report.ts_nanos)
    }

    /// A resolver's own answer to one of its clients (dnstap CLIENT_RESPONSE): client-side
    /// data, used only in client-side mode ([`SensorConfig::accept_recursion_desired`]) and
    /// stored without bailiwick. It needs no pairing: the resolver composed it, so nothing
    /// on the path can have forged it. Errors come only from the sink.
    pub fn handle_client_response(&mut self, data: &[u8], ts_nanos: i64) -> Result<(), SinkError> {
        self.stats.messages += 1;
        match self.parse(data) {
            Err(_) => self.stats.dropped_malformed_message += 1,
            Ok(message) if !message.header().qr => self.stats.dropped_wrong_direction += 1,
            Ok(message) => {
                self.stats.responses += 1;
                self.use_unpaired(&message, ts_nanos);
            }
        }
        self.flush_if_due(ts_nanos)
    }

    /// Parses a message, its canonical qname written into `qname_scratch` in the same walk.
    fn parse<'d>(&mut self, data: &'d [u8]) -> Result<Message<'d>, WireError> {
        self.qname_scratch.clear();
        Message::parse_with_canonical_qname(data, &mut self.qname_scratch)
    }

    fn use_unpaired(&mut self, message: &Message<'_>, ts_nanos: i64) {
        let qname = std::mem::take(&mut self.qname_scratch);
        match single_question(message) {
            Some((qtype, _)) => {
                let response = PairedResponse {
                    message,
                    header: message.header(),
                    qname: &qname,
                    qtype,
                    ts_nanos,
                    zone: ZoneSource::ClientSide,
                };
                if self.passes_checks(&response) {
                    self.use_response(&response);
                }
            }
            None => self.stats.responses_dropped_no_single_question += 1,
        }
        self.qname_scratch = qname;
    }

    fn handle_query(&mut self, endpoints: &Endpoints, ts_nanos: i64, message: &Message<'_>) {
        let Some(key) = pair_key(endpoints, message, &self.qname_scratch) else {
            self.stats.queries_dropped_no_single_question += 1;
            return;
        };
        self.stats.queries += 1;
        let query = PendingQuery {
            ts_nanos,
            recursion_desired: message.header().rd,
        };
        match self.pairing.add_query(&key, query) {
            QueryOutcome::Pending => {}
            QueryOutcome::Duplicate => self.stats.queries_duplicate += 1,
            QueryOutcome::OverLimit => self.stats.queries_dropped_over_limit += 1,
        }
    }

    fn handle_response(&mut self, payload: &DnsPayload<'_>, message: &Message<'_>) {
        self.stats.responses += 1;
        if payload.udp_checksum == ChecksumStatus::Invalid {
            self.stats.responses_dropped_bad_checksum += 1;
            return;
        }
        let endpoints = Endpoints::of_payload(payload, Side::Response);
        let zone = ZoneSource::Learned {
            server: payload.src,
        };
        self.pair_and_use(&endpoints, payload.ts_nanos, message, zone);
    }

    fn pair_and_use(
        &mut self,
        endpoints: &Endpoints,
        ts_nanos: i64,
        message: &Message<'_>,
        zone: ZoneSource<'_>,
    ) {
        // Taken out of `self` while the response borrows it, put back at the end.
        let qname = std::mem::take(&mut self.qname_scratch);
        match pair_key(endpoints, message, &qname) {
            Some(key) => self.use_if_paired(&key, ts_nanos, message, zone),
            None => self.stats.responses_dropped_no_single_question += 1,
        }
        self.qname_scratch = qname;
    }

    fn use_if_paired(
        &mut self,
        key: &PairKeyRef<'_>,
        ts_nanos: i64,
        message: &Message<'_>,
        zone: ZoneSource<'_>,
    ) {
        let Some(query) = self.pairing.take_query(key, ts_nanos) else {
            self.stats.responses_dropped_unsolicited += 1;
            return;
        };
        self.stats.pairs += 1;
        let response = PairedResponse {
            message,
            header: message.header(),
            qname: key.qname,
            qtype: key.qtype,
            ts_nanos,
            zone: match query.recursion_desired {
                true => ZoneSource::ClientSide,
                false => zone,
            },
        };
        if self.passes_checks(&response) {
            self.use_response(&response);
        }
    }

    /// The per-response hardening rules, each drop counted by its reason.
    fn passes_checks(&mut self, response: &PairedResponse<'_, '_>) -> bool {
        let header = &response.header;
        let stats = &mut self.stats;
        let client_side = matches!(response.zone, ZoneSource::ClientSide);
        let counter = if client_side && !self.config.accept_recursion_desired {
            &mut stats.responses_dropped_recursion_desired
        } else if header.opcode != opcode::QUERY {
            &mut stats.responses_dropped_opcode
        } else if header.tc {
            &mut stats.responses_dropped_truncated_tc
        } else {
            match header.rcode {
                rcode::NOERROR => return true,
                rcode::NXDOMAIN if !self.config.noerror_only => return true,
                rcode::NXDOMAIN => &mut stats.responses_dropped_rcode_nxdomain,
                rcode::FORMERR => &mut stats.responses_dropped_rcode_formerr,
                rcode::SERVFAIL => &mut stats.responses_dropped_rcode_servfail,
                rcode::NOTIMP => &mut stats.responses_dropped_rcode_notimp,
                rcode::REFUSED => &mut stats.responses_dropped_rcode_refused,
                _ => &mut stats.responses_dropped_rcode_other,
            }
        };
        *counter += 1;
        false
    }

    fn use_response(&mut self, response: &PairedResponse<'_, '_>) {
        // Planned before the records are read, so that the facts the bailiwick lookup
        // probes (cache misses, in a large map) arrive meanwhile.
        let plan = match response.zone {
            ZoneSource::Learned { server } => {
                ZonePlan::Learned(self.authority.plan_bailiwick(server, response.qname))
            }
            ZoneSource::Reported(zone) => ZonePlan::Reported(zone),
            ZoneSource::ClientSide => ZonePlan::ClientSide,
        };
        let loaded = self.splitter.load(response.message, response.qname);
        let client_side = matches!(plan, ZonePlan::ClientSide);
        let bailiwick = match client_side {
            true => None,
            false => match self.bailiwick(response, &plan) {
                Some(zone) => Some(zone),
                None => return,
            },
        };
        if loaded.is_err() {
            self.stats.responses_dropped_malformed_records += 1;
            return;
        }
        self.stats.records_skipped_meta += self.splitter.skipped_meta;
        self.stats.records_skipped_class += self.splitter.skipped_class;
        // Checked last, so that the other counters read as without a scope.
        let in_scope = self.config.scope.admits(response.qname);
        if in_scope {
            self.stats.responses_used += 1;
            self.stats.responses_used_client_side += u64::from(client_side);
        } else {
            self.stats.responses_dropped_scope += 1;
        }
        let time = response.ts_nanos.div_euclid(NANOS_PER_SECOND);
        self.record_rrsets(bailiwick, time, in_scope);
    }

    /// The zone whose data a resolver-side response may carry: a suffix of the qname, so it
    /// borrows the response, not the sensor. `None` (counted) when there is none.
    fn bailiwick<'q>(
        &mut self,
        response: &PairedResponse<'q, '_>,
        plan: &ZonePlan<'_>,
    ) -> Option<&'q [u8]> {
        let (qname, qtype) = (response.qname, response.qtype);
        let (zone, counter) = match plan {
            ZonePlan::Learned(plan) => (
                self.authority.bailiwick_planned(plan, qname, qtype),
                &mut self.stats.responses_dropped_unknown_server,
            ),
            // The reported zone must enclose the question; its canonical form is then the
            // qname's suffix of the same labels.
            ZonePlan::Reported(zone) => (
                authority::suffixes(qname).find(|suffix| suffix.eq_ignore_ascii_case(zone)),
                &mut self.stats.responses_dropped_qname_outside_zone,
            ),
            ZonePlan::ClientSide => return None,
        };
        if zone.is_none() {
            *counter += 1;
        }
        zone
    }

    /// Aggregates the loaded response's RRsets that lie within `bailiwick` and the scope
    /// (none unless `in_scope`: the response's question is), and learns authority from all
    /// those within `bailiwick` (never from client-side data, which has no bailiwick).
    fn record_rrsets(&mut self, bailiwick: Option<&[u8]>, time: i64, in_scope: bool) {
        let mut accepted = std::mem::take(&mut self.accepted);
        self.accept_rrsets(bailiwick, in_scope, &mut accepted);
        self.count_accepted(&accepted, time);
        if let Some(zone) = bailiwick {
            self.learn_nameserver_addresses(zone);
        }
        self.accepted = accepted;
    }

    /// The first pass over the response's RRsets: drops (counted) those outside the
    /// bailiwick or the scope, learning from the delegations among the latter, then encodes
    /// and fingerprints the rest and prefetches their aggregation rows, so that the cache
    /// misses of their probes overlap.
    fn accept_rrsets(
        &mut self,
        bailiwick: Option<&[u8]>,
        in_scope: bool,
        accepted: &mut AcceptedRRsets,
    ) {
        accepted.clear();
        for (ordinal, rrset) in self.splitter.rrsets().enumerate() {
            if bailiwick.is_some_and(|zone| !dnsledger_wire::is_subdomain_wire(rrset.owner, zone)) {
                self.stats.rrsets_dropped_out_of_bailiwick += 1;
                continue;
            }
            let delegates = bailiwick.is_some() && rrset.rtype == rtype::NS;
            if !(in_scope && self.config.scope.admits(rrset.owner)) {
                if delegates {
                    learn_nameservers(&mut self.authority, &rrset);
                }
                self.stats.rrsets_dropped_scope += 1;
                continue;
            }
            self.stats.rrsets_accepted += 1;
            let start = accepted.encodings.len();
            RRset::encode(
                &mut accepted.encodings,
                rrset.owner,
                rrset.rtype,
                bailiwick,
                rrset.rdata(),
            );
            let encoded = start..accepted.encodings.len();
            let fingerprint = self
                .aggregator
                .fingerprint(&accepted.encodings[encoded.clone()]);
            self.aggregator.prefetch(fingerprint);
            accepted.rrsets.push(AcceptedRRset {
                encoded,
                fingerprint,
                ordinal,
                delegates,
            });
        }
    }

    /// The second pass: counts the accepted RRsets, and learns from each NS RRset among
    /// them that the aggregator did not hold yet.
    fn count_accepted(&mut self, accepted: &AcceptedRRsets, time: i64) {
        let mut rrsets = self.splitter.rrsets().enumerate();
        for one in &accepted.rrsets {
            let encoded = &accepted.encodings[one.encoded.clone()];
            let new = self
                .aggregator
                .observe_fingerprinted(one.fingerprint, encoded, time);
            // An NS RRset the aggregator already held was learned from when it came: again
            // would change nothing (and cost a probe per target), unless a fact was refused
            // since the map filled up, which a retry counts again as it always has.
            if one.delegates && (new || self.authority.refused() > 0) {
                if let Some((_, rrset)) = rrsets.find(|(ordinal, _)| *ordinal == one.ordinal) {
                    learn_nameservers(&mut self.authority, &rrset);
                }
            }
        }
    }

    /// Learns the addresses of name servers from the response's A/AAAA RRsets, after its NS
    /// RRsets, because glue may sort before the delegation that makes it useful.
    fn learn_nameserver_addresses(&mut self, zone: &[u8]) {
        for rrset in self.splitter.rrsets() {
            // Cheapest test first: most address records are not of name servers.
            let learnable = matches!(rrset.rtype, rtype::A | rtype::AAAA)
                && self.authority.is_nameserver(rrset.owner)
                && dnsledger_wire::is_subdomain_wire(rrset.owner, zone);
            if !learnable {
                continue;
            }
            for rdata in rrset.rdata() {
                if let Some(addr) = address_of(rdata) {
                    self.authority.learn_address(rrset.owner, addr);
                }
            }
        }
    }

    fn flush_if_due(&mut self, now_nanos: i64) -> Result<(), SinkError> {
        let last = *self.last_flush_nanos.get_or_insert(now_nanos);
        let interval_passed = self
            .config
            .flush_interval_nanos
            .is_some_and(|interval| now_nanos.saturating_sub(last) >= interval);
        if self.aggregator.is_full() || interval_passed {
            self.last_flush_nanos = Some(now_nanos);
            self.flush()?;
        }
        Ok(())
    }

    /// Hands everything aggregated so far to the sink and flushes the sink's buffers, so
    /// that it becomes visible: what a live input does on its wall-clock timer
    /// ([`live::FlushTimer`]).
    pub fn flush_output(&mut self) -> Result<(), SinkError> {
        self.flush()?;
        self.sink.flush()
    }

    /// Hands everything aggregated so far to the sink.
    pub fn flush(&mut self) -> Result<(), SinkError> {
        if self.aggregator.is_empty() {
            return Ok(());
        }
        let sink = &mut self.sink;
        let (rows, accepted) = self
            .aggregator
            .drain_encoded(|batch| (batch.len(), sink.accept_encoded(batch)));
        self.stats.flushes += 1;
        self.stats.rrsets_flushed += rows as u64;
        accepted
    }

    /// Ends the input: outstanding queries count as unanswered, everything is flushed.
    pub fn finish(mut self) -> Result<(S, SensorStats), SinkError> {
        self.pairing.finish();
        self.flush()?;
        self.sink.flush()?;
        let stats = self.stats();
        Ok((self.sink, stats))
    }

    /// The counters so far.
    pub fn stats(&self) -> SensorStats {
        let mut stats = self.stats.clone();
        stats.queries_unanswered = self.pairing.expired();
        stats.authority_facts_dropped_over_limit = self.authority.refused();
        stats
    }

    pub fn sink(&self) -> &S {
        &self.sink
    }
}

/// Learns that the targets of an accepted NS RRset serve its owner.
fn learn_nameservers(authority: &mut AuthorityMap, rrset: &SplitRRset<'_>) {
    authority.learn_delegation(rrset.owner, rrset.rdata());
}

/// The address in A or AAAA rdata.
fn address_of(rdata: &[u8]) -> Option<IpAddr> {
    match rdata.len() {
        4 => <[u8; 4]>::try_from(rdata).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(rdata).ok().map(IpAddr::from),
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Query,
    Response,
}

/// The pairing key of a message between `endpoints`, whose canonical qname is `qname`.
/// `None` unless the message has exactly one question.
fn pair_key<'q>(
    endpoints: &Endpoints,
    message: &Message<'_>,
    qname: &'q [u8],
) -> Option<PairKeyRef<'q>> {
    let (qtype, qclass) = single_question(message)?;
    Some(PairKey {
        transport: endpoints.transport,
        client: endpoints.client,
        client_port: endpoints.client_port,
        server: endpoints.server,
        server_port: endpoints.server_port,
        id: message.header().id,
        qtype,
        qclass,
        qname,
    })
}

/// The question's type and class; `None` unless the message has exactly one question.
fn single_question(message: &Message<'_>) -> Option<(u16, u16)> {
    let question = message
        .question()
        .filter(|_| message.header().qdcount == 1)?;
    Some((question.qtype, question.qclass))
}
