//! The hardening rules of the sensor, one exchange at a time: what is stored, with which
//! bailiwick, and which counter every dropped response lands in.

use std::net::IpAddr;

use dnsledger_capture::{ChecksumStatus, DnsPayload, Transport};
use dnsledger_rrset::{CofRecord, VecSink};
use dnsledger_sensor::{RootHints, Sensor, SensorConfig, SensorStats};
use dnsledger_wire::{rcode, rtype, MessageBuilder, NameBuf, Section};

const RESOLVER: &str = "127.0.0.2";
const ROOT: &str = "127.0.0.10";
const COM: &str = "127.0.0.11";
const EXAMPLE: &str = "127.0.0.20";
const SECOND: i64 = 1_000_000_000;

fn name(text: &str) -> NameBuf {
    NameBuf::from_text(text).unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn name_rdata(text: &str) -> Vec<u8> {
    name(text).as_wire().to_vec()
}

fn a_rdata(text: &str) -> Vec<u8> {
    match ip(text) {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// One record of a response: section, owner, type, rdata.
type Rr = (Section, &'static str, u16, Vec<u8>);

/// One query/response exchange between the resolver and a server.
struct Exchange {
    server: &'static str,
    id: u16,
    qname: &'static str,
    qtype: u16,
    rd: bool,
    records: Vec<Rr>,
    rcode: u8,
    tc: bool,
    /// Differences between the response and its query, for the forgery cases.
    response_id: Option<u16>,
    response_qname: Option<&'static str>,
    ts_nanos: i64,
    response_delay_nanos: i64,
    checksum: ChecksumStatus,
}

impl Exchange {
    fn new(server: &'static str, qname: &'static str, qtype: u16, records: Vec<Rr>) -> Exchange {
        Exchange {
            server,
            id: 4242,
            qname,
            qtype,
            rd: false,
            records,
            rcode: rcode::NOERROR,
            tc: false,
            response_id: None,
            response_qname: None,
            ts_nanos: 1_700_000_000 * SECOND,
            response_delay_nanos: SECOND / 100,
            checksum: ChecksumStatus::Valid,
        }
    }

    fn query_bytes(&self) -> Vec<u8> {
        let mut builder = MessageBuilder::query(self.id, &name(self.qname), self.qtype);
        builder.header_mut().rd = self.rd;
        builder.build()
    }

    fn response_bytes(&self) -> Vec<u8> {
        let qname = name(self.response_qname.unwrap_or(self.qname));
        let mut builder =
            MessageBuilder::query(self.response_id.unwrap_or(self.id), &qname, self.qtype);
        builder.response();
        let header = builder.header_mut();
        header.rd = self.rd;
        header.tc = self.tc;
        header.rcode = self.rcode;
        for (section, owner, rtype, rdata) in &self.records {
            builder.record(*section, &name(owner), *rtype, 300, rdata);
        }
        builder.build()
    }

    fn feed(&self, sensor: &mut Sensor<VecSink>) {
        let query = self.query_bytes();
        let response = self.response_bytes();
        sensor
            .handle(&payload(
                RESOLVER,
                40000,
                self.server,
                53,
                &query,
                self.ts_nanos,
                ChecksumStatus::NotChecked,
            ))
            .unwrap();
        let at = self.ts_nanos + self.response_delay_nanos;
        sensor
            .handle(&payload(
                self.server,
                53,
                RESOLVER,
                40000,
                &response,
                at,
                self.checksum,
            ))
            .unwrap();
    }
}

fn payload<'a>(
    src: &str,
    src_port: u16,
    dst: &str,
    dst_port: u16,
    data: &'a [u8],
    ts_nanos: i64,
    udp_checksum: ChecksumStatus,
) -> DnsPayload<'a> {
    DnsPayload {
        ts_nanos,
        transport: Transport::Udp,
        src: ip(src),
        dst: ip(dst),
        src_port,
        dst_port,
        udp_checksum,
        data,
    }
}

fn sensor(config: SensorConfig) -> Sensor<VecSink> {
    let hints = RootHints::parse(&format!(". NS a.root.\na.root. A {ROOT}\n")).unwrap();
    Sensor::new(
        SensorConfig {
            root_hints: hints,
            ..config
        },
        VecSink::default(),
    )
}

/// Root referral to com, then com's referral to example.com: the hierarchy most cases use.
fn delegations() -> Vec<Exchange> {
    vec![
        Exchange::new(
            ROOT,
            "www.example.com.",
            rtype::A,
            vec![
                (
                    Section::Authority,
                    "com.",
                    rtype::NS,
                    name_rdata("a.gtld.net."),
                ),
                (Section::Additional, "a.gtld.net.", rtype::A, a_rdata(COM)),
            ],
        ),
        Exchange::new(
            COM,
            "www.example.com.",
            rtype::A,
            vec![
                (
                    Section::Authority,
                    "example.com.",
                    rtype::NS,
                    name_rdata("ns1.example.com."),
                ),
                (
                    Section::Additional,
                    "ns1.example.com.",
                    rtype::A,
                    a_rdata(EXAMPLE),
                ),
            ],
        ),
    ]
}

/// Runs the exchanges through a sensor; returns its rows as COF and its counters.
fn run(config: SensorConfig, exchanges: &[Exchange]) -> (Vec<CofRecord>, SensorStats) {
    let mut sensor = sensor(config);
    for exchange in exchanges {
        exchange.feed(&mut sensor);
    }
    let (sink, stats) = sensor.finish().unwrap();
    (
        sink.observations.iter().map(CofRecord::from).collect(),
        stats,
    )
}

fn with_delegations(exchange: Exchange) -> Vec<Exchange> {
    let mut all = delegations();
    all.push(exchange);
    all
}

fn answer_a(server: &'static str, owner: &'static str, addr: &str) -> Exchange {
    Exchange::new(
        server,
        owner,
        rtype::A,
        vec![(Section::Answer, owner, rtype::A, a_rdata(addr))],
    )
}

fn row<'a>(rows: &'a [CofRecord], rrname: &str, rrtype: &str) -> Option<&'a CofRecord> {
    rows.iter()
        .find(|r| r.rrname == rrname && r.rrtype == rrtype)
}

#[test]
fn referrals_are_stored_with_the_parent_as_bailiwick_and_answers_with_the_child() {
    let (rows, stats) = run(
        SensorConfig::default(),
        &with_delegations(answer_a(EXAMPLE, "www.example.com.", "192.0.2.1")),
    );
    let referral = row(&rows, "example.com.", "NS").expect("the referral NS is stored");
    assert_eq!(referral.bailiwick.as_deref(), Some("com."));
    assert_eq!(
        row(&rows, "ns1.example.com.", "A")
            .unwrap()
            .bailiwick
            .as_deref(),
        Some("com.")
    );
    assert_eq!(
        row(&rows, "com.", "NS").unwrap().bailiwick.as_deref(),
        Some(".")
    );
    let answer = row(&rows, "www.example.com.", "A").expect("the answer is stored");
    assert_eq!(answer.bailiwick.as_deref(), Some("example.com."));
    assert_eq!(answer.rdata, ["192.0.2.1"]);
    assert_eq!(
        (answer.time_first, answer.time_last, answer.count),
        (1_700_000_000, 1_700_000_000, 1)
    );
    assert_eq!(stats.responses_used, 3);
}

#[test]
fn records_outside_the_bailiwick_are_dropped_label_wise() {
    let mut exchange = answer_a(COM, "www.example.com.", "192.0.2.1");
    exchange.records = vec![
        (
            Section::Authority,
            "example.com.",
            rtype::NS,
            name_rdata("ns1.example.com."),
        ),
        (
            Section::Answer,
            "www.victim.org.",
            rtype::A,
            a_rdata("192.0.2.66"),
        ),
        (
            Section::Additional,
            "www.bankcom.",
            rtype::A,
            a_rdata("192.0.2.67"),
        ),
        (
            Section::Additional,
            "org.",
            rtype::NS,
            name_rdata("ns.evil."),
        ),
    ];
    let mut all = delegations();
    all.truncate(1);
    all.push(exchange);
    let (rows, stats) = run(SensorConfig::default(), &all);
    assert!(row(&rows, "example.com.", "NS").is_some());
    for (owner, rrtype) in [
        ("www.victim.org.", "A"),
        ("www.bankcom.", "A"),
        ("org.", "NS"),
    ] {
        assert!(
            row(&rows, owner, rrtype).is_none(),
            "{owner} {rrtype} stored"
        );
    }
    assert_eq!(stats.rrsets_dropped_out_of_bailiwick, 3);
}

#[test]
fn unsolicited_forged_and_late_responses_are_never_stored() {
    let mut wrong_id = answer_a(EXAMPLE, "www.example.com.", "192.0.2.66");
    wrong_id.response_id = Some(999);
    let mut wrong_question = answer_a(EXAMPLE, "www.example.com.", "192.0.2.67");
    wrong_question.id = 1;
    wrong_question.response_qname = Some("mail.example.com.");
    let mut late = answer_a(EXAMPLE, "www.example.com.", "192.0.2.68");
    late.id = 2;
    late.response_delay_nanos = 6 * SECOND;
    let mut all = delegations();
    all.extend([wrong_id, wrong_question, late]);
    let (rows, stats) = run(SensorConfig::default(), &all);
    assert!(row(&rows, "www.example.com.", "A").is_none());
    assert!(row(&rows, "mail.example.com.", "A").is_none());
    assert_eq!(stats.responses_dropped_unsolicited, 3);
    assert_eq!(stats.queries_unanswered, 3);
}

#[test]
fn a_query_pairs_with_its_first_response_only() {
    let mut sensor = sensor(SensorConfig::default());
    for exchange in delegations() {
        exchange.feed(&mut sensor);
    }
    let first = answer_a(EXAMPLE, "www.example.com.", "192.0.2.1");
    let mut second = answer_a(EXAMPLE, "www.example.com.", "192.0.2.99");
    second.ts_nanos = first.ts_nanos;
    second.response_delay_nanos = first.response_delay_nanos * 2;
    first.feed(&mut sensor);
    let duplicate = second.response_bytes();
    let at = second.ts_nanos + second.response_delay_nanos;
    sensor
        .handle(&payload(
            EXAMPLE,
            53,
            RESOLVER,
            40000,
            &duplicate,
            at,
            ChecksumStatus::Valid,
        ))
        .unwrap();
    let (sink, stats) = sensor.finish().unwrap();
    let rows: Vec<CofRecord> = sink.observations.iter().map(CofRecord::from).collect();
    assert_eq!(
        row(&rows, "www.example.com.", "A").unwrap().rdata,
        ["192.0.2.1"]
    );
    assert_eq!(stats.responses_dropped_unsolicited, 1);
}

#[test]
fn each_drop_reason_has_its_counter() {
    let mut truncated = answer_a(EXAMPLE, "a.example.com.", "192.0.2.1");
    truncated.tc = true;
    let mut servfail = answer_a(EXAMPLE, "b.example.com.", "192.0.2.2");
    servfail.rcode = rcode::SERVFAIL;
    let mut refused = answer_a(EXAMPLE, "c.example.com.", "192.0.2.3");
    refused.rcode = rcode::REFUSED;
    let mut bad_checksum = answer_a(EXAMPLE, "d.example.com.", "192.0.2.4");
    bad_checksum.checksum = ChecksumStatus::Invalid;
    let unknown_server = answer_a("127.0.0.99", "e.example.com.", "192.0.2.5");
    let mut recursive = answer_a(EXAMPLE, "f.example.com.", "192.0.2.6");
    recursive.rd = true;
    let mut all = delegations();
    all.extend([
        truncated,
        servfail,
        refused,
        bad_checksum,
        unknown_server,
        recursive,
    ]);
    let (rows, stats) = run(SensorConfig::default(), &all);
    let owners: Vec<&str> = rows.iter().map(|r| r.rrname.as_str()).collect();
    assert_eq!(
        owners.len(),
        4,
        "only the delegations are stored: {owners:?}"
    );
    assert!(owners
        .iter()
        .all(|o| ["com.", "a.gtld.net.", "example.com.", "ns1.example.com."].contains(o)));
    assert_eq!(stats.responses_dropped_truncated_tc, 1);
    assert_eq!(stats.responses_dropped_rcode_servfail, 1);
    assert_eq!(stats.responses_dropped_rcode_refused, 1);
    assert_eq!(stats.responses_dropped_bad_checksum, 1);
    assert_eq!(stats.responses_dropped_unknown_server, 1);
    assert_eq!(stats.responses_dropped_recursion_desired, 1);
    assert_eq!(stats.responses_used, 2);
}

#[test]
fn client_side_mode_keeps_rd_responses_without_bailiwick() {
    let mut recursive = answer_a("127.0.0.53", "www.example.org.", "192.0.2.7");
    recursive.rd = true;
    let config = SensorConfig {
        accept_recursion_desired: true,
        ..SensorConfig::default()
    };
    let (rows, stats) = run(config, &[recursive]);
    let stored = row(&rows, "www.example.org.", "A").expect("stored in client-side mode");
    assert_eq!(stored.bailiwick, None);
    assert_eq!(stats.responses_used_client_side, 1);
}

#[test]
fn an_rrset_counts_once_per_response_even_in_two_sections() {
    let mut exchange = Exchange::new(EXAMPLE, "example.com.", rtype::NS, vec![]);
    exchange.records = vec![
        (
            Section::Answer,
            "example.com.",
            rtype::NS,
            name_rdata("ns1.example.com."),
        ),
        (
            Section::Authority,
            "example.com.",
            rtype::NS,
            name_rdata("ns1.example.com."),
        ),
        (
            Section::Authority,
            "example.com.",
            rtype::NS,
            name_rdata("NS2.Example.COM."),
        ),
    ];
    let (rows, _) = run(SensorConfig::default(), &with_delegations(exchange));
    let child = rows
        .iter()
        .find(|r| {
            r.rrname == "example.com."
                && r.rrtype == "NS"
                && r.bailiwick.as_deref() == Some("example.com.")
        })
        .expect("the child's own NS RRset");
    assert_eq!(child.count, 1);
    assert_eq!(
        child.rdata,
        ["ns1.example.com.", "ns2.example.com."],
        "one set, canonical lower case"
    );
}

#[test]
fn rrsigs_form_one_set_per_covered_type() {
    let rrsig = |covered: u16| {
        let mut rdata = covered.to_be_bytes().to_vec();
        rdata.extend_from_slice(&[
            15, 3, 0, 0, 1, 44, 0x78, 0x3d, 0x8c, 0x80, 0x5e, 0x0b, 0xd2, 0x00, 0x45, 0xd8,
        ]);
        rdata.extend_from_slice(&name_rdata("example.com."));
        rdata.extend_from_slice(&[0xab; 64]);
        rdata
    };
    let mut exchange = answer_a(EXAMPLE, "www.example.com.", "192.0.2.1");
    exchange.records.push((
        Section::Answer,
        "www.example.com.",
        rtype::RRSIG,
        rrsig(rtype::A),
    ));
    exchange.records.push((
        Section::Answer,
        "www.example.com.",
        rtype::RRSIG,
        rrsig(rtype::NSEC),
    ));
    let (rows, _) = run(SensorConfig::default(), &with_delegations(exchange));
    let sigs: Vec<&CofRecord> = rows.iter().filter(|r| r.rrtype == "RRSIG").collect();
    assert_eq!(sigs.len(), 2);
    assert!(sigs.iter().all(|r| r.rdata.len() == 1));
}

#[test]
fn mixed_case_questions_pair_and_owners_are_stored_lower_case() {
    let mut exchange = answer_a(EXAMPLE, "WwW.ExAmPlE.cOm.", "192.0.2.1");
    exchange.response_qname = Some("www.example.com.");
    let (rows, stats) = run(SensorConfig::default(), &with_delegations(exchange));
    assert_eq!(stats.pairs, 3);
    assert!(row(&rows, "www.example.com.", "A").is_some());
}

#[test]
fn nxdomain_keeps_the_authority_soa_unless_noerror_only() {
    let soa = {
        let mut rdata = name_rdata("ns1.example.com.");
        rdata.extend_from_slice(&name_rdata("hostmaster.example.com."));
        for value in [2024010101u32, 3600, 600, 86400, 300] {
            rdata.extend_from_slice(&value.to_be_bytes());
        }
        rdata
    };
    let mut nxdomain = Exchange::new(
        EXAMPLE,
        "nope.example.com.",
        rtype::A,
        vec![(Section::Authority, "example.com.", rtype::SOA, soa)],
    );
    nxdomain.rcode = rcode::NXDOMAIN;
    let (rows, _) = run(SensorConfig::default(), &with_delegations(nxdomain));
    assert!(row(&rows, "example.com.", "SOA").is_some());

    let mut again = Exchange::new(EXAMPLE, "nope.example.com.", rtype::A, vec![]);
    again.rcode = rcode::NXDOMAIN;
    let strict = SensorConfig {
        noerror_only: true,
        ..SensorConfig::default()
    };
    let (_, stats) = run(strict, &with_delegations(again));
    assert_eq!(stats.responses_dropped_rcode_nxdomain, 1);
}

#[test]
fn ds_at_a_zone_apex_takes_the_parent_side() {
    // The com server also serves example.com here, as one server often hosts parent and child.
    let mut child_ns = Exchange::new(
        COM,
        "example.com.",
        rtype::NS,
        vec![(
            Section::Answer,
            "example.com.",
            rtype::NS,
            name_rdata("a.gtld.net."),
        )],
    );
    child_ns.id = 1;
    let mut ds = Exchange::new(
        COM,
        "example.com.",
        rtype::DS,
        vec![(
            Section::Answer,
            "example.com.",
            rtype::DS,
            vec![0x30, 0x39, 13, 2, 0xaa, 0xbb],
        )],
    );
    ds.id = 2;
    let mut all = delegations();
    all.truncate(1);
    all.extend([child_ns, ds]);
    let (rows, _) = run(SensorConfig::default(), &all);
    assert_eq!(
        row(&rows, "example.com.", "DS")
            .unwrap()
            .bailiwick
            .as_deref(),
        Some("com.")
    );
}
