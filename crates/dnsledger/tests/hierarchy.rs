//! Issue #5's checks against real DNS software: a private hierarchy of authoritative servers
//! (Debian's NSD) and a recursive resolver (Debian's Unbound, built with dnstap) on loopback
//! addresses inside a network namespace each test creates (and deletes, even when it fails),
//! driven by the test itself as a stub client. The same traffic, three ways:
//!
//! * (a) Unbound's dnstap over a unix socket into `dnsledger sensor --dnstap`, which submits
//!   to a `dnsledger serve --accept-submissions`;
//! * (b) `dnsledger sensor --interface lo` in the namespace, writing a store (`--output
//!   db:DIR`) that a `dnsledger serve` reads beside it;
//! * (c) the same capture submitted to a server that is stopped mid-run and restarted, next
//!   to a (b) sensor on the same `lo`: both see the very same packets, so the two stores
//!   must be equal.
//!
//! Every run must record exactly the RRsets, with their bailiwicks, that the zone files of
//! `tests/hierarchy/zones/` imply for the queries sent (worked out below by a model of the
//! servers and of the resolver); each round's last RRset must be queryable over the API
//! within 2 s of the round's last answer, and the API must then hold exactly the RRsets of
//! the traffic so far (runs (a) and (b) flush every 0.5 s for that: see `FLUSH_INTERVAL`);
//! and none of the forged responses injected mid-run (the cases of the testbed's
//! run3_attack) may leave a record in the store.
//!
//! The hierarchy (NSD listens on port 53 of each address; all of 127/8 answers on `lo`):
//!
//! | address                | server      | zones                      |
//! | ---------------------- | ----------- | -------------------------- |
//! | 127.0.0.10             | nsd "root"  | `.`                        |
//! | 127.0.0.11, 127.0.0.12 | nsd "tld"   | `test.`                    |
//! | 127.0.0.20, 127.0.0.21 | nsd "alpha" | `alpha.test.`              |
//! | 127.0.0.22             | nsd "bravo" | `bravo.test.`, `charlie.test.` (its server is named in bravo.test: sibling glue) |
//! | 127.0.0.53             | unbound     | resolver (QNAME minimisation on, no DNSSEC, dnstap) |
//! | 127.0.0.100            | the test    | stub client (RD=1)         |
//! | 127.0.0.1:8053         | dnsledger   | serve                      |
//!
//! Needs root (namespaces, port 53, packet sockets) and Debian's `nsd`, `unbound` and
//! `iproute2`; `scripts/ensure-deps test` installs them. Nothing is skipped: a missing
//! program fails the test and names the fix.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::server::{add_key, run};
use common::{scratch_dir, CofRow, RowKey};
use dnsledger_wire::{
    rcode, rdata_from_text, rdata_to_text, type_from_name, type_name, Message, MessageBuilder,
    NameBuf, Section,
};

// ---------------------------------------------------------------------------------------
// The hierarchy and the traffic
// ---------------------------------------------------------------------------------------

/// One NSD instance: its addresses and the zones it serves.
struct Authority {
    name: &'static str,
    addresses: &'static [Ipv4Addr],
    zones: &'static [&'static str],
}

const AUTHORITIES: &[Authority] = &[
    Authority {
        name: "root",
        addresses: &[Ipv4Addr::new(127, 0, 0, 10)],
        zones: &["."],
    },
    Authority {
        name: "tld",
        addresses: &[Ipv4Addr::new(127, 0, 0, 11), Ipv4Addr::new(127, 0, 0, 12)],
        zones: &["test."],
    },
    Authority {
        name: "alpha",
        addresses: &[Ipv4Addr::new(127, 0, 0, 20), Ipv4Addr::new(127, 0, 0, 21)],
        zones: &["alpha.test."],
    },
    Authority {
        name: "bravo",
        addresses: &[BRAVO],
        zones: &["bravo.test.", "charlie.test."],
    },
];

/// nsd "bravo": the server the forger impersonates.
const BRAVO: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 22);
/// The resolver listens here and asks the authoritative servers from here.
const RESOLVER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 53);
/// The stub client.
const STUB: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 100);
/// Readiness probes of the authoritative servers (sent before any sensor runs).
const PROBE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 99);
/// Where the tests' `dnsledger serve` listens inside the namespace.
const API_LISTEN: &str = "127.0.0.1:8053";
/// The bound between traffic and the API answering with its RRsets.
const QUERYABLE_WITHIN: Duration = Duration::from_secs(2);
/// The flush interval of runs (a) and (b), whose way to the API has a second step of up to
/// a second besides the flush (see there); run (c) submits with the default 1 s.
const FLUSH_INTERVAL: &str = "0.5";
/// Each sensor's kernel ring: the traffic is a few hundred packets.
const RING_MIB: &str = "8";

/// The stub's fixed queries (RD=1 to the resolver), sent in every round: the first round
/// makes the resolver walk the hierarchy, later ones mostly hit its cache.
const QUERIES: &[(&str, &str)] = &[
    ("www.alpha.test.", "A"),
    ("www.alpha.test.", "AAAA"),
    ("alpha.test.", "MX"),
    ("alpha.test.", "TXT"),
    ("mail.alpha.test.", "A"),
    // a CNAME inside its zone
    ("ftp.alpha.test.", "A"),
    // a CNAME into bravo.test., on another server
    ("shop.alpha.test.", "A"),
    ("www.bravo.test.", "TXT"),
    // NODATA
    ("www.bravo.test.", "AAAA"),
    // a CNAME into charlie.test., which the same server serves: its data is out of the
    // bailiwick of that response, so the resolver asks again
    ("api.bravo.test.", "A"),
    ("charlie.test.", "MX"),
    // NXDOMAIN in a second-level zone and in the TLD
    ("nosuch.alpha.test.", "A"),
    ("nosuch.test.", "A"),
];

/// The round's NXDOMAIN, new each round: the resolver must ask nsd "bravo".
fn nxdomain_of_round(round: u32) -> String {
    format!("missing-r{round}.charlie.test.")
}

/// The round's last query, a wildcard name new each round: the resolver must ask nsd
/// "alpha", and the API must know the RRset within 2 s.
fn marker_of_round(round: u32) -> String {
    format!("r{round}.wild.alpha.test.")
}

/// The name the forger races nsd "bravo" for.
const TARGET: &str = "target.bravo.test.";

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

/// (a) dnstap from Unbound over a unix socket, submitted to a server.
#[test]
fn a_dnstap_run_records_the_zone_rrsets_each_queryable_within_2_s() {
    let dir = scratch_dir("hierarchy-dnstap");
    let mut hierarchy = Hierarchy::start("dnstap", &dir);
    let keys = Keys::create(&dir.join("db"), &dir);
    let mut server =
        DnsledgerServer::start(&hierarchy.namespace, &keys.db, &["--accept-submissions"]);
    let socket = dir.join("dnstap.sock");
    let stats = dir.join("sensor-stats.json");
    let mut sensor = Sensor::start(
        &hierarchy.namespace,
        &[
            // Unbound hands its dnstap frames to its output thread up to 1 s late (a wakeup
            // timer, unless 32 frames are waiting: dnstap/dtstream.c); with the default 1 s
            // flush the worst case is 2 s and a little more (measured: up to 2.006 s).
            "--flush-interval",
            FLUSH_INTERVAL,
            "--dnstap",
            &format!("unix:{}", socket.display()),
            "--output",
            &server.url,
            "--key-file",
            keys.submit_file.to_str().unwrap(),
            "--sensor-id",
            "dnstap",
            "--spool",
            dir.join("spool").to_str().unwrap(),
            "--stats-json",
            stats.to_str().unwrap(),
        ],
        "dnsledger sensor: receiving dnstap on",
    );
    hierarchy.start_resolver(Some(&socket));

    let report = run_attack_and_stop(
        &mut hierarchy,
        &mut sensor,
        &mut server,
        &keys,
        "(a) dnstap -> submission",
    );
    let stats = read_stats(&stats);
    for (counter, value) in [
        ("dnstap.frames_dropped_queue_full", 0),
        ("submit.batches_spooled", 0),
        ("submit.batches_left_in_spool", 0),
        // Unbound logs the response with the wrong question before it rejects it.
        ("sensor.responses_dropped_unsolicited", 1),
        // api.bravo.test's answer carries charlie.test's data (2 RRsets), the race-won
        // forgery 6 RRsets of other zones.
        ("sensor.rrsets_dropped_out_of_bailiwick", 8),
    ] {
        assert_eq!(stats[counter], value, "{counter}: {report}");
    }
}

/// (b) AF_PACKET on the namespace's `lo`, into a store a server reads beside the sensor;
/// forged responses race nsd "bravo".
#[test]
fn an_af_packet_run_records_the_zone_rrsets_and_no_forged_record() {
    let dir = scratch_dir("hierarchy-live");
    let mut hierarchy = Hierarchy::start("live", &dir);
    let keys = Keys::create(&dir.join("db"), &dir);
    let stats = dir.join("sensor-stats.json");
    let mut sensor = Sensor::start(
        &hierarchy.namespace,
        &[
            "--interface",
            "lo",
            "--ring-mib",
            RING_MIB,
            // A reading server catches up with the store's writer once a second: with the
            // default 1 s flush the worst case would be 2 s and a little more.
            "--flush-interval",
            FLUSH_INTERVAL,
            "--root-hints",
            hierarchy.root_hints.to_str().unwrap(),
            "--output",
            &format!("db:{}", keys.db.display()),
            "--stats-json",
            stats.to_str().unwrap(),
        ],
        "dnsledger sensor: capturing on lo",
    );
    let mut server = DnsledgerServer::start(&hierarchy.namespace, &keys.db, &[]);
    hierarchy.start_resolver(None);

    let report = run_attack_and_stop(
        &mut hierarchy,
        &mut sensor,
        &mut server,
        &keys,
        "(b) AF_PACKET -> db: -> reading server",
    );
    let stats = read_stats(&stats);
    for (counter, value) in [
        ("live.kernel_drops", 0),
        ("capture.udp_checksum_invalid", 0),
        ("sensor.responses_dropped_bad_checksum", 0),
        // The forgeries with a wrong id, destination port or source address, the
        // unsolicited one, the one with another question, and nsd "bravo"'s real answer to
        // the query the race-won forgery answered first. (The one from port 5353 is no DNS
        // to the kernel filter.)
        ("sensor.responses_dropped_unsolicited", 6),
        ("sensor.rrsets_dropped_out_of_bailiwick", 8),
    ] {
        assert_eq!(stats[counter], value, "{counter}: {report}");
    }
}

/// (c) The server is stopped mid-run and restarted; the submitting sensor must end with
/// the store that a (b) sensor beside it, on the same `lo`, writes itself.
#[test]
fn a_server_outage_mid_run_ends_with_the_store_of_the_af_packet_run() {
    // The 30 s: many flushes (1 s) and failed attempts with backoff, so batches are
    // spooled and replayed in order.
    const OUTAGE: Duration = Duration::from_secs(30);
    let dir = scratch_dir("hierarchy-outage");
    let mut hierarchy = Hierarchy::start("outage", &dir);
    let keys = Keys::create(&dir.join("db"), &dir);
    let reference_db = dir.join("reference-db");
    let live_args = |output: &str, stats: &Path| {
        [
            "--interface",
            "lo",
            "--ring-mib",
            RING_MIB,
            "--root-hints",
            hierarchy.root_hints.to_str().unwrap(),
            "--stats-json",
            stats.to_str().unwrap(),
            "--output",
            output,
        ]
        .map(str::to_string)
        .to_vec()
    };
    let (reference_stats, stats) = (dir.join("reference-stats.json"), dir.join("stats.json"));
    let mut reference = Sensor::start(
        &hierarchy.namespace,
        &live_args(&format!("db:{}", reference_db.display()), &reference_stats)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        "dnsledger sensor: capturing on lo",
    );
    let mut server =
        DnsledgerServer::start(&hierarchy.namespace, &keys.db, &["--accept-submissions"]);
    let spool = dir.join("spool");
    let mut args = live_args(&server.url, &stats);
    args.extend(
        [
            "--key-file",
            keys.submit_file.to_str().unwrap(),
            "--sensor-id",
            "outage",
            "--spool",
            spool.to_str().unwrap(),
        ]
        .map(str::to_string),
    );
    let mut sensor = Sensor::start(
        &hierarchy.namespace,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        "dnsledger sensor: capturing on lo",
    );
    hierarchy.start_resolver(None);

    let mut traffic = Traffic::new();
    let api = Api::new(&server.url, &keys.query);
    traffic.round_checked(&hierarchy, &api, 0);
    let poison = traffic.attack(&hierarchy);
    traffic.round_checked(&hierarchy, &api, 1);
    traffic.assert_all_queryable_within(QUERYABLE_WITHIN, "before the outage");

    // The outage: a round every 0.8 s or so while the server is down.
    let status = server.stop();
    assert!(status.success(), "the server: {status:?}");
    let down = Instant::now();
    let mut round = 2;
    while down.elapsed() < OUTAGE {
        traffic.round(&hierarchy, round);
        round += 1;
        std::thread::sleep(Duration::from_millis(700));
    }
    wait_until(Duration::from_secs(10), "a batch in the spool", || {
        spooled(&spool) > 0
    });
    let outage_rounds: Vec<u32> = (2..round).collect();
    server = DnsledgerServer::start(&hierarchy.namespace, &keys.db, &["--accept-submissions"]);
    let back = Instant::now();
    // The spool drains at the sensor's next attempt (its backoff doubles from 1 s).
    for &r in &outage_rounds {
        let took = api.wait_for(
            &hierarchy,
            &marker_of_round(r),
            back,
            Duration::from_secs(20),
        );
        eprintln!("round {r} (during the outage): queryable {took:?} after the restart");
    }
    traffic.assert_all_stored(&hierarchy, &api, "after the outage");
    wait_until(Duration::from_secs(20), "the spool to drain", || {
        spooled(&spool) == 0
    });
    let after: Vec<u32> = (round..round + 2).collect();
    traffic.queryable.clear();
    for &r in &after {
        traffic.round_checked(&hierarchy, &api, r);
    }
    traffic.assert_all_queryable_within(QUERYABLE_WITHIN, "after the spool drained");

    // No DNS crosses `lo` once the resolver is gone: both sensors have seen the same frames,
    // with the same kernel timestamps, so even the times must agree.
    hierarchy.stop_resolver();
    let (status, reference_report) = (reference.stop(), reference.stderr());
    assert!(status.success(), "{reference_report}");
    let (status, report) = (sensor.stop(), sensor.stderr());
    assert!(status.success(), "{report}");
    let status = server.stop();
    assert!(status.success(), "the server: {status:?}");

    let submitted = dump(&keys.db);
    let reference_rows = dump(&reference_db);
    let expected = traffic.model.expected();
    assert_rrsets(
        &expected,
        &reference_rows,
        "(c) the reference AF_PACKET store",
    );
    assert_rrsets(
        &expected,
        &submitted,
        "(c) the store submitted through the outage",
    );
    assert_no_poison(&poison, &submitted, "(c) submitted");
    assert_eq!(
        by_identity(&submitted),
        by_identity(&reference_rows),
        "(c) the submitted store differs from the AF_PACKET store of the same frames \
         (identity -> count, first, last)"
    );
    let stats = read_stats(&stats);
    assert!(
        stats["submit.batches_spooled"].as_u64() > Some(0),
        "{report}"
    );
    assert!(
        stats["submit.batches_replayed"].as_u64() > Some(0),
        "{report}"
    );
    for counter in [
        "submit.batches_left_in_spool",
        "submit.batches_rejected",
        "submit.batches_dropped_spool_full",
        "submit.batches_dropped_spool_error",
        "live.kernel_drops",
    ] {
        assert_eq!(stats[counter], 0, "{counter}: {report}");
    }
    let reference_stats = read_stats(&reference_stats);
    for counter in [
        "capture.frames",
        "sensor.responses_used",
        "sensor.rrsets_accepted",
    ] {
        assert_eq!(
            stats[counter], reference_stats[counter],
            "{counter}: the two sensors saw different traffic:\n{report}\n{reference_report}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// What the zone files imply: a model of NSD and of Unbound for the queries sent
// ---------------------------------------------------------------------------------------

fn hierarchy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/hierarchy")
}

/// A name in canonical presentation form (lower case, absolute).
fn canonical_name(text: &str) -> String {
    NameBuf::from_text(text)
        .unwrap_or_else(|e| panic!("bad name {text:?}: {e}"))
        .to_text()
}

/// Rdata in the presentation form `dnsledger` writes (through the wire form).
fn canonical_rdata(rtype: &str, text: &str) -> String {
    let code = type_from_name(rtype).unwrap_or_else(|| panic!("unknown type {rtype}"));
    let wire = rdata_from_text(code, text).unwrap_or_else(|e| panic!("{rtype} {text:?}: {e}"));
    rdata_to_text(code, &wire).unwrap()
}

/// Whether `name` is at or below `zone`, label-wise (both canonical).
fn is_at_or_below(name: &str, zone: &str) -> bool {
    zone == "." || name == zone || name.ends_with(&format!(".{zone}"))
}

/// The names strictly between `zone` and `name`, from the top down.
fn names_between(zone: &str, name: &str) -> Vec<String> {
    let mut between = Vec::new();
    let mut current = name.to_string();
    while let Some((_, parent)) = current.split_once('.') {
        let parent = if parent.is_empty() { "." } else { parent }.to_string();
        if parent == zone || !is_at_or_below(&parent, zone) {
            break;
        }
        between.push(parent.clone());
        current = parent;
    }
    between.reverse();
    between
}

#[derive(Clone, Debug)]
struct ZoneRecord {
    owner: String,
    rtype: String,
    rdata: String,
}

/// A zone file of `tests/hierarchy/zones/`: one record a line, `OWNER TTL IN TYPE RDATA`
/// with absolute names, `;` comments on their own lines.
struct Zone {
    origin: String,
    records: Vec<ZoneRecord>,
}

impl Zone {
    fn load(origin: &str) -> Zone {
        let file = match origin {
            "." => "root.zone".to_string(),
            _ => format!("{origin}zone"),
        };
        let path = hierarchy_dir().join("zones").join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut records = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with(';') {
                continue;
            }
            let mut rest = line;
            let mut fields = Vec::new();
            for _ in 0..4 {
                let (field, tail) = rest.split_once(char::is_whitespace).unwrap();
                fields.push(field);
                rest = tail.trim_start();
            }
            assert_eq!(fields[2], "IN", "{line}");
            let owner = canonical_name(fields[0]);
            assert!(is_at_or_below(&owner, origin), "{line} outside {origin}");
            records.push(ZoneRecord {
                owner,
                rtype: fields[3].to_string(),
                rdata: canonical_rdata(fields[3], rest),
            });
        }
        Zone {
            origin: origin.to_string(),
            records,
        }
    }

    /// The rdata of an RRset, sorted (empty when there is none).
    fn rrset(&self, owner: &str, rtype: &str) -> Vec<String> {
        let mut rdata: Vec<String> = self
            .records
            .iter()
            .filter(|r| r.owner == owner && r.rtype == rtype)
            .map(|r| r.rdata.clone())
            .collect();
        rdata.sort();
        rdata.dedup();
        rdata
    }

    /// The delegation (NS below the apex) at or above `name`, the highest one.
    fn cut_above(&self, name: &str) -> Option<String> {
        self.records
            .iter()
            .filter(|r| r.rtype == "NS" && r.owner != self.origin && is_at_or_below(name, &r.owner))
            .map(|r| r.owner.clone())
            .min_by_key(|owner| owner.len())
    }

    /// Whether `name` exists in the zone: it owns records, or names below it do (an empty
    /// non-terminal).
    fn exists(&self, name: &str) -> bool {
        self.records.iter().any(|r| is_at_or_below(&r.owner, name))
    }

    /// The wildcard that would answer for `name` (RFC 4592): `*.` the closest encloser,
    /// if it exists.
    fn wildcard_for(&self, name: &str) -> Option<String> {
        let encloser = names_between(&self.origin, name)
            .into_iter()
            .rev()
            .find(|n| self.exists(n))
            .unwrap_or_else(|| self.origin.clone());
        let wildcard = format!("*.{encloser}");
        self.records
            .iter()
            .any(|r| r.owner == wildcard)
            .then_some(wildcard)
    }
}

/// What the stub is told: the RCODE and the answer section (owner, type, rdata).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Outcome {
    rcode: u8,
    answer: BTreeSet<(String, String, String)>,
}

/// The zones, what a passive sensor must record for the queries resolved so far, and how
/// the resolver answers them.
///
/// NSD (`minimal-responses: no`) answers a positive query with the RRset, the zone's NS
/// RRset in the authority section and the addresses of the NS (and MX) targets that are
/// in the zone in the additional section; a negative one with the SOA; a referral with the
/// delegation's NS RRset and the glue it holds for its targets (sibling glue included). It
/// follows a CNAME through the zones it serves. Unbound (QNAME minimisation on) primes with
/// `. NS`, follows referrals from the root down, asks the names between a zone's apex and
/// the query name first (type A), and resolves a CNAME target outside the zone that
/// answered on its own. The sensor keeps what is at or below each response's zone.
///
/// Only identities are modelled (owner, type, bailiwick, rdata set), not counts: what the
/// resolver caches changes how often an RRset is seen, never whether (every run starts
/// with an empty cache, so each referral and answer is seen at least once).
struct Model {
    zones: Vec<Zone>,
    seen: BTreeSet<RowKey>,
}

impl Model {
    fn new() -> Model {
        let zones = AUTHORITIES
            .iter()
            .flat_map(|a| a.zones.iter().map(|z| Zone::load(z)))
            .collect();
        let mut model = Model {
            zones,
            seen: BTreeSet::new(),
        };
        // Priming: `. NS` from the root, its servers' addresses in the additional section.
        let root = model.zone(".");
        let ns = root.rrset(".", "NS");
        let addresses: Vec<(String, Vec<String>)> =
            ns.iter().map(|t| (t.clone(), root.rrset(t, "A"))).collect();
        model.observe(".", "NS", ".", ns);
        for (target, a) in addresses {
            model.observe(&target, "A", ".", a);
        }
        model
    }

    fn zone(&self, origin: &str) -> &Zone {
        self.zones.iter().find(|z| z.origin == origin).unwrap()
    }

    fn authority_of(zone: &str) -> &'static Authority {
        AUTHORITIES
            .iter()
            .find(|a| a.zones.contains(&zone))
            .unwrap()
    }

    fn observe(&mut self, owner: &str, rtype: &str, bailiwick: &str, mut rdata: Vec<String>) {
        if rdata.is_empty() {
            return;
        }
        rdata.sort();
        self.seen.insert((
            owner.to_string(),
            rtype.to_string(),
            bailiwick.to_string(),
            rdata,
        ));
    }

    /// Every RRset a correct passive sensor records for what was resolved so far.
    fn expected(&self) -> BTreeSet<RowKey> {
        self.seen.clone()
    }

    /// The root hints: the root's NS RRset and its servers' addresses.
    fn root_hints(&self) -> String {
        let root = self.zone(".");
        let mut hints = String::from("; the private hierarchy's root (tests/hierarchy.rs)\n");
        for target in root.rrset(".", "NS") {
            hints.push_str(&format!(".\t3600\tIN\tNS\t{target}\n"));
            for address in root.rrset(&target, "A") {
                hints.push_str(&format!("{target}\t3600\tIN\tA\t{address}\n"));
            }
        }
        hints
    }

    /// Resolves a stub query from the root down; what the stub is told.
    fn resolve(&mut self, qname: &str, qtype: &str) -> Outcome {
        let qname = canonical_name(qname);
        let mut zone = ".".to_string();
        while let Some(cut) = self.zone(&zone).cut_above(&qname) {
            self.referral(&zone, &cut);
            zone = cut;
        }
        for name in names_between(&zone, &qname) {
            self.answer(&zone, &name, "A");
        }
        self.answer(&zone, &qname, qtype)
    }

    /// A referral from `parent` to `cut`: the NS RRset and the glue for its targets.
    fn referral(&mut self, parent: &str, cut: &str) {
        let zone = self.zone(parent);
        let ns = zone.rrset(cut, "NS");
        let glue: Vec<(String, Vec<String>)> =
            ns.iter().map(|t| (t.clone(), zone.rrset(t, "A"))).collect();
        self.observe(cut, "NS", parent, ns);
        for (target, a) in glue {
            self.observe(&target, "A", parent, a);
        }
    }

    /// The zone's NS RRset (authority section) and the in-zone addresses of the NS and MX
    /// targets (additional section) of a positive answer.
    fn positive_extras(&mut self, zone: &str, answered: &[(String, Vec<String>)]) {
        let z = self.zone(zone);
        let ns = z.rrset(zone, "NS");
        let mut targets: Vec<String> = ns.clone();
        for (rtype, rdata) in answered {
            if rtype == "MX" {
                targets.extend(
                    rdata
                        .iter()
                        .map(|mx| mx.split(' ').nth(1).unwrap().to_string()),
                );
            }
        }
        let additional: Vec<(String, &str, Vec<String>)> = targets
            .iter()
            .filter(|t| is_at_or_below(t, zone) && z.cut_above(t).is_none())
            .flat_map(|t| ["A", "AAAA"].map(|ty| (t.clone(), ty, z.rrset(t, ty))))
            .collect();
        self.observe(zone, "NS", zone, ns);
        for (target, rtype, rdata) in additional {
            self.observe(&target, rtype, zone, rdata);
        }
    }

    /// What the servers of `zone` answer for `qname`/`qtype`, and what the resolver then
    /// makes of it.
    fn answer(&mut self, zone: &str, qname: &str, qtype: &str) -> Outcome {
        let mut answer = BTreeSet::new();
        let mut name = qname.to_string();
        loop {
            let z = self.zone(zone);
            let wildcard = (!z.exists(&name)).then(|| z.wildcard_for(&name)).flatten();
            let source = wildcard.clone().unwrap_or_else(|| name.clone());
            let data = z.rrset(&source, qtype);
            let cname = z.rrset(&source, "CNAME");
            let soa = z.rrset(zone, "SOA");
            if !data.is_empty() {
                answer.extend(
                    data.iter()
                        .map(|d| (name.clone(), qtype.to_string(), d.clone())),
                );
                self.observe(&name, qtype, zone, data.clone());
                self.positive_extras(zone, &[(qtype.to_string(), data)]);
                return Outcome {
                    rcode: rcode::NOERROR,
                    answer,
                };
            }
            if !cname.is_empty() && qtype != "CNAME" {
                let target = cname[0].clone();
                answer.insert((name.clone(), "CNAME".to_string(), target.clone()));
                let in_zone = is_at_or_below(&target, zone) && z.cut_above(&target).is_none();
                self.observe(&name, "CNAME", zone, cname);
                if in_zone {
                    name = target; // NSD follows it in the same answer
                    continue;
                }
                // NSD follows it into the other zones it serves (out of this response's
                // bailiwick: nothing recorded), then closes with that zone's NS RRset;
                // otherwise the answer ends with this zone's.
                let same_server = Model::authority_of(zone)
                    .zones
                    .iter()
                    .any(|other| *other != zone && is_at_or_below(&target, other));
                if !same_server {
                    self.positive_extras(zone, &[]);
                }
                let rest = self.resolve(&target, qtype);
                answer.extend(rest.answer);
                return Outcome {
                    rcode: rest.rcode,
                    answer,
                };
            }
            let exists = z.exists(&name) || wildcard.is_some();
            self.observe(zone, "SOA", zone, soa);
            return Outcome {
                rcode: if exists {
                    rcode::NOERROR
                } else {
                    rcode::NXDOMAIN
                },
                answer,
            };
        }
    }
}

/// Asserts that the rows (partial rows merge) hold exactly the expected RRset identities.
fn assert_rrsets(expected: &BTreeSet<RowKey>, rows: &[CofRow], what: &str) {
    let ours: BTreeSet<RowKey> = rows.iter().map(CofRow::key).collect();
    let missing: Vec<_> = expected.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {} RRsets expected, {} recorded\nmissing {missing:#?}\nextra {extra:#?}",
        expected.len(),
        ours.len()
    );
}

/// Identity -> (count, first, last), partial rows merged.
fn by_identity(rows: &[CofRow]) -> BTreeMap<RowKey, (u64, i64, i64)> {
    let mut merged: BTreeMap<RowKey, (u64, i64, i64)> = BTreeMap::new();
    for row in rows {
        let entry = merged
            .entry(row.key())
            .or_insert((0, row.time_first, row.time_last));
        entry.0 += row.count;
        entry.1 = entry.1.min(row.time_first);
        entry.2 = entry.2.max(row.time_last);
    }
    merged
}

// ---------------------------------------------------------------------------------------
// The traffic: rounds of stub queries, and the forger
// ---------------------------------------------------------------------------------------

struct Traffic {
    model: Model,
    /// (round, how long its marker took to be queryable after the round's last answer)
    queryable: Vec<(u32, Duration)>,
}

impl Traffic {
    fn new() -> Traffic {
        Traffic {
            model: Model::new(),
            queryable: Vec::new(),
        }
    }

    /// Sends a round of queries and checks every answer against the model; the instant
    /// the last answer came.
    fn round(&mut self, hierarchy: &Hierarchy, round: u32) -> Instant {
        let mut queries: Vec<(String, String)> = QUERIES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        queries.push((nxdomain_of_round(round), "A".into()));
        queries.push((marker_of_round(round), "A".into()));
        let expected: Vec<Outcome> = queries
            .iter()
            .map(|(n, t)| self.model.resolve(n, t))
            .collect();
        let asked = queries.clone();
        let answers = hierarchy.namespace.run(move || {
            let stub = Stub::new();
            asked
                .iter()
                .map(|(n, t)| stub.ask(n, t))
                .collect::<Vec<_>>()
        });
        for ((query, want), (got, _)) in queries.iter().zip(&expected).zip(&answers) {
            assert_eq!(
                got, want,
                "round {round}: the resolver's answer to {query:?}"
            );
        }
        answers.last().unwrap().1
    }

    /// A round, then the time until the API has its marker (within 20 s, else a failure).
    fn round_checked(&mut self, hierarchy: &Hierarchy, api: &Api, round: u32) {
        let answered = self.round(hierarchy, round);
        let took = api.wait_for(
            hierarchy,
            &marker_of_round(round),
            answered,
            Duration::from_secs(20),
        );
        eprintln!("round {round}: queryable {took:?} after its last answer");
        self.queryable.push((round, took));
        self.assert_all_stored(hierarchy, api, &format!("round {round}"));
    }

    /// Asserts that the API has every RRset of the traffic so far, and nothing else under
    /// the hierarchy's names (called once the last answer's RRset is there: flushes come in
    /// order, so everything before it must be there too).
    fn assert_all_stored(&self, hierarchy: &Hierarchy, api: &Api, what: &str) {
        let stored: Vec<CofRow> = [".", "a.root-servers.", "test.", "*.test."]
            .iter()
            .flat_map(|owner| api.lookup(hierarchy, owner))
            .collect();
        assert_rrsets(
            &self.model.expected(),
            &stored,
            &format!("{what}, over the API"),
        );
    }

    fn assert_all_queryable_within(&self, limit: Duration, what: &str) {
        assert!(
            self.queryable.iter().all(|(_, took)| *took <= limit),
            "{what}: not every round was queryable within {limit:?}: {:?}",
            self.queryable
        );
    }

    /// The testbed's run3_attack cases against nsd "bravo", paused (SIGSTOP) so that the
    /// forger wins the race: for the resolver's first query for [`TARGET`], responses with
    /// a wrong id, a wrong destination port, a wrong source address, a wrong source port,
    /// one that answers no query at all, and one with another question; for its second
    /// query, a response right in every respect that carries the zone's real answer and
    /// records of other zones in every section. Unbound 1.17 drops the first five, takes
    /// the one with another question for a failure and asks again at once (logging it in
    /// dnstap), scrubs the other zones' records from the race-won one and asks a third
    /// time; nsd "bravo", resumed, answers all three queries late. Returns every forged
    /// record that is not in the zones (none may be stored).
    fn attack(&mut self, hierarchy: &Hierarchy) -> Vec<(String, String, String)> {
        let expected = self.model.resolve(TARGET, "A");
        let (ready_tx, ready_rx) = mpsc::channel();
        let forger = hierarchy.namespace.spawn(move || {
            let mut forger = Forger::open();
            ready_tx.send(()).unwrap();
            forger.attack()
        });
        ready_rx.recv().unwrap();
        let paused = hierarchy.pause("bravo");
        let stub = hierarchy.namespace.spawn(|| Stub::new().ask(TARGET, "A"));
        let poison = forger
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        drop(paused);
        let (got, _) = stub.join().unwrap();
        assert_eq!(
            got, expected,
            "the resolver's answer to {TARGET} under attack"
        );
        poison
    }
}

/// A stub resolver client: RD=1 queries over UDP from [`STUB`] to the resolver. Runs
/// inside the namespace.
struct Stub {
    socket: UdpSocket,
}

impl Stub {
    fn new() -> Stub {
        let socket = UdpSocket::bind(SocketAddrV4::new(STUB, 0)).unwrap();
        socket.connect(SocketAddrV4::new(RESOLVER, 53)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Stub { socket }
    }

    /// The resolver's answer, and when it came.
    fn ask(&self, name: &str, qtype: &str) -> (Outcome, Instant) {
        let id = rand_id();
        let mut query = query_message(id, name, qtype);
        query.header_mut().rd = true;
        self.socket.send(&query.build()).unwrap();
        let mut buf = [0u8; 4096];
        loop {
            let n = self
                .socket
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("no answer from the resolver to {name} {qtype}: {e}"));
            let message = Message::parse(&buf[..n]).unwrap();
            if message.header().id == id {
                return (outcome_of(&message), Instant::now());
            }
        }
    }
}

fn query_message(id: u16, name: &str, qtype: &str) -> MessageBuilder {
    MessageBuilder::query(
        id,
        &NameBuf::from_text(name).unwrap(),
        type_from_name(qtype).unwrap(),
    )
}

/// A DNS id: the low bits of the clock are random enough for a test.
fn rand_id() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    (nanos ^ (nanos >> 16)) as u16
}

fn outcome_of(message: &Message<'_>) -> Outcome {
    let mut answer = BTreeSet::new();
    for record in message.records() {
        let record = record.unwrap();
        if record.section != Section::Answer {
            continue;
        }
        let mut rdata = Vec::new();
        record.canonical_rdata(&mut rdata).unwrap();
        answer.insert((
            record.owner.to_name_buf().to_text(),
            type_name(record.rtype).into_owned(),
            rdata_to_text(record.rtype, &rdata).unwrap(),
        ));
    }
    Outcome {
        rcode: message.header().rcode,
        answer,
    }
}

/// A query the forger saw: the resolver's port, the id and the question name as sent.
#[derive(Clone, Debug)]
struct SeenQuery {
    port: u16,
    id: u16,
    qname: String,
}

/// Sniffs `lo` through a packet socket and sends forged IPv4/UDP packets through a raw
/// socket. Runs inside the namespace.
struct Forger {
    socket: OwnedFd,
    seen: BTreeSet<(u16, u16)>,
}

impl Forger {
    fn open() -> Forger {
        let all = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: socket(2) has no memory arguments.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                i32::from(all),
            )
        };
        assert!(fd >= 0, "{}", std::io::Error::last_os_error());
        // SAFETY: `fd` is a new descriptor nothing else owns.
        let socket = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: an all-zero sockaddr_ll is valid.
        let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        address.sll_family = libc::AF_PACKET as u16;
        address.sll_protocol = all;
        // SAFETY: if_nametoindex(3) reads a NUL-terminated name.
        address.sll_ifindex = unsafe { libc::if_nametoindex(c"lo".as_ptr()) } as i32;
        // SAFETY: bind(2) reads a sockaddr_ll of the given size.
        let bound = unsafe {
            libc::bind(
                socket.as_raw_fd(),
                (&address as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        assert_eq!(bound, 0, "{}", std::io::Error::last_os_error());
        let timeout = libc::timeval {
            tv_sec: 0,
            tv_usec: 100_000,
        };
        // SAFETY: setsockopt(2) reads a timeval of the given size.
        let set = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        assert_eq!(set, 0, "{}", std::io::Error::last_os_error());
        Forger {
            socket,
            seen: BTreeSet::new(),
        }
    }

    /// The resolver's next query to `server` for `qname` (a frame crosses `lo` twice:
    /// outgoing and incoming; a query already seen is skipped).
    fn next_query(&mut self, server: Ipv4Addr, qname: &str, within: Duration) -> SeenQuery {
        let deadline = Instant::now() + within;
        let mut frame = [0u8; 65536];
        while Instant::now() < deadline {
            // SAFETY: recv(2) writes at most `frame.len()` bytes into `frame`.
            let n = unsafe {
                libc::recv(
                    self.socket.as_raw_fd(),
                    frame.as_mut_ptr().cast(),
                    frame.len(),
                    0,
                )
            };
            let Ok(n) = usize::try_from(n) else {
                continue; // the receive timeout
            };
            let Some((src, sport, dst, dport, payload)) = parse_udp_frame(&frame[..n]) else {
                continue;
            };
            if (src, dst, dport) != (RESOLVER, server, 53) {
                continue;
            }
            let Ok(message) = Message::parse(payload) else {
                continue;
            };
            let (header, Some(question)) = (message.header(), message.question()) else {
                continue;
            };
            let name = question.qname.to_name_buf().to_text();
            if header.qr || name != qname || !self.seen.insert((sport, header.id)) {
                continue;
            }
            return SeenQuery {
                port: sport,
                id: header.id,
                qname: question.qname.to_string(),
            };
        }
        panic!("the resolver sent no query for {qname} to {server} within {within:?}");
    }

    /// Sends a DNS message from `src` to `dst` in an IPv4/UDP packet of our own making,
    /// through a raw socket: it takes the way of locally sent packets, which the stack
    /// delivers (a frame written to `lo` with a packet socket would arrive from outside, and
    /// a loopback destination from outside is martian).
    fn send(&self, src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), message: &[u8]) {
        let packet = udp_packet(src, dst, message);
        // SAFETY: socket(2) has no memory arguments.
        let fd = unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::IPPROTO_RAW,
            )
        };
        assert!(fd >= 0, "{}", std::io::Error::last_os_error());
        // SAFETY: `fd` is a new descriptor nothing else owns.
        let raw = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: an all-zero sockaddr_in is valid.
        let mut to: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        to.sin_family = libc::AF_INET as libc::sa_family_t;
        to.sin_addr.s_addr = u32::from_ne_bytes(dst.0.octets());
        // SAFETY: sendto(2) reads `packet.len()` bytes from `packet` and a sockaddr_in of
        // the given size, both of which outlive the call.
        let sent = unsafe {
            libc::sendto(
                raw.as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                0,
                (&to as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        assert_eq!(
            sent,
            packet.len() as isize,
            "{}",
            std::io::Error::last_os_error()
        );
    }

    /// The attack of [`Traffic::attack`]; the forged records that are in no zone.
    fn attack(&mut self) -> Vec<(String, String, String)> {
        let zones = Model::new().zones;
        let mut poison = Vec::new();
        let mut forged = |id: u16, qname: &str, records: &[(Section, &str, &str, &str)]| {
            let mut message = query_message(id, qname, "A");
            message.response().header_mut().aa = true;
            for &(section, owner, rtype, rdata) in records {
                let code = type_from_name(rtype).unwrap();
                message.record(
                    section,
                    &NameBuf::from_text(owner).unwrap(),
                    code,
                    3600,
                    &rdata_from_text(code, rdata).unwrap(),
                );
                let real = zones.iter().any(|z| {
                    z.rrset(&canonical_name(owner), rtype)
                        .contains(&canonical_rdata(rtype, rdata))
                });
                if !real {
                    poison.push((
                        canonical_name(owner),
                        rtype.to_string(),
                        canonical_rdata(rtype, rdata),
                    ));
                }
            }
            message.build()
        };
        let bravo = (BRAVO, 53);
        let first = self.next_query(BRAVO, TARGET, Duration::from_secs(10));
        let resolver = (RESOLVER, first.port);
        let poisoned = |address: &'static str| [(Section::Answer, TARGET, "A", address)];
        let wrong_id = forged(
            first.id.wrapping_add(1),
            &first.qname,
            &poisoned("192.0.2.61"),
        );
        self.send(bravo, resolver, &wrong_id);
        let other_port = if first.port == u16::MAX {
            first.port - 1
        } else {
            first.port + 1
        };
        let wrong_port = forged(first.id, &first.qname, &poisoned("192.0.2.62"));
        self.send(bravo, (RESOLVER, other_port), &wrong_port);
        let wrong_source = forged(first.id, &first.qname, &poisoned("192.0.2.63"));
        self.send((Ipv4Addr::new(127, 0, 0, 21), 53), resolver, &wrong_source);
        let wrong_source_port = forged(first.id, &first.qname, &poisoned("192.0.2.64"));
        self.send((BRAVO, 5353), resolver, &wrong_source_port);
        let unsolicited = forged(first.id ^ 0x5a5a, &first.qname, &poisoned("192.0.2.65"));
        self.send(bravo, (RESOLVER, 9), &unsolicited);
        let other_question = forged(
            first.id,
            "www.bravo.test.",
            &[(Section::Answer, "www.bravo.test.", "A", "192.0.2.60")],
        );
        self.send(bravo, resolver, &other_question);

        let second = self.next_query(BRAVO, TARGET, Duration::from_secs(10));
        let race_won = forged(
            second.id,
            &second.qname,
            &[
                (Section::Answer, TARGET, "A", "198.51.100.99"),
                (Section::Answer, "www.alpha.test.", "A", "192.0.2.66"),
                (Section::Authority, "bravo.test.", "NS", "ns.bravo.test."),
                (Section::Authority, "test.", "NS", "ns.evil.test."),
                (Section::Authority, ".", "NS", "ns.evil.test."),
                (Section::Additional, "ns.bravo.test.", "A", "127.0.0.22"),
                (Section::Additional, "ns.evil.test.", "A", "192.0.2.67"),
                // ends with the text "bravo.test." but is not below it
                (Section::Additional, "xbravo.test.", "A", "192.0.2.68"),
                (Section::Additional, "ns1.alpha.test.", "A", "192.0.2.69"),
            ],
        );
        self.send(bravo, (RESOLVER, second.port), &race_won);
        poison
    }
}

/// (source, source port, destination, destination port, payload) of an Ethernet/IPv4/UDP
/// frame.
fn parse_udp_frame(frame: &[u8]) -> Option<(Ipv4Addr, u16, Ipv4Addr, u16, &[u8])> {
    let ip = frame
        .get(14..)
        .filter(|_| frame.get(12..14) == Some(&[8, 0]))?;
    let header_len = usize::from(ip.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    if *ip.get(9)? != 17 || header_len < 20 || total > ip.len() {
        return None;
    }
    let address = |at: usize| {
        Some(Ipv4Addr::new(
            *ip.get(at)?,
            *ip.get(at + 1)?,
            *ip.get(at + 2)?,
            *ip.get(at + 3)?,
        ))
    };
    let udp = ip.get(header_len..total)?;
    let port = |at: usize| Some(u16::from_be_bytes([*udp.get(at)?, *udp.get(at + 1)?]));
    Some((
        address(12)?,
        port(0)?,
        address(16)?,
        port(2)?,
        udp.get(8..)?,
    ))
}

/// An IPv4/UDP packet, both checksums right.
fn udp_packet(src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), payload: &[u8]) -> Vec<u8> {
    let udp_len = 8 + payload.len();
    let total = 20 + udp_len;
    // version 4, 20-byte header; total length; id 0; don't fragment; TTL 64; UDP
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0];
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip.extend_from_slice(&src.0.octets());
    ip.extend_from_slice(&dst.0.octets());
    let checksum = internet_checksum(&ip);
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());
    let mut udp = Vec::with_capacity(udp_len);
    udp.extend_from_slice(&src.1.to_be_bytes());
    udp.extend_from_slice(&dst.1.to_be_bytes());
    udp.extend_from_slice(&(udp_len as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let mut pseudo = Vec::with_capacity(12 + udp.len());
    pseudo.extend_from_slice(&src.0.octets());
    pseudo.extend_from_slice(&dst.0.octets());
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&(udp_len as u16).to_be_bytes());
    pseudo.extend_from_slice(&udp);
    let checksum = match internet_checksum(&pseudo) {
        0 => 0xffff,
        sum => sum,
    };
    udp[6..8].copy_from_slice(&checksum.to_be_bytes());
    ip.extend(udp);
    ip
}

fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Asserts that no stored row holds a forged record.
/// Two rounds of traffic, the attack, a third round, each queryable in time; then the
/// resolver, the sensor and the server stopped (frames and packets come in order, so once
/// the last answer is stored nothing is in flight) and the store holding exactly the zone
/// RRsets and no poison. Returns the sensor's report.
fn run_attack_and_stop(
    hierarchy: &mut Hierarchy,
    sensor: &mut Sensor,
    server: &mut DnsledgerServer,
    keys: &Keys,
    what: &str,
) -> String {
    let mut traffic = Traffic::new();
    let api = Api::new(&server.url, &keys.query);
    for round in 0..2 {
        traffic.round_checked(hierarchy, &api, round);
    }
    let poison = traffic.attack(hierarchy);
    traffic.round_checked(hierarchy, &api, 2);
    traffic.assert_all_queryable_within(QUERYABLE_WITHIN, what);

    hierarchy.stop_resolver();
    let status = sensor.stop();
    let report = sensor.stderr();
    assert!(status.success(), "{report}");
    let status = server.stop();
    assert!(status.success(), "the server: {status:?}");

    let rows = dump(&keys.db);
    assert_rrsets(&traffic.model.expected(), &rows, &format!("{what}, stored"));
    assert_no_poison(&poison, &rows, &format!("{what}, stored"));
    report
}

fn assert_no_poison(poison: &[(String, String, String)], rows: &[CofRow], what: &str) {
    assert_eq!(poison.len(), 12, "the forger's records: {poison:#?}");
    let stored: Vec<_> = rows
        .iter()
        .filter(|row| {
            poison.iter().any(|(owner, rtype, rdata)| {
                row.rrname == *owner && row.rrtype == *rtype && row.rdata.contains(rdata)
            })
        })
        .collect();
    assert!(
        stored.is_empty(),
        "{what}: forged records were stored: {stored:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// Processes: the namespace, NSD, Unbound, dnsledger
// ---------------------------------------------------------------------------------------

/// A program the tests need, found on PATH or in the sbin directories; a missing one fails
/// the test with the fix.
fn program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not installed; run scripts/ensure-deps test (it installs Debian's \
                 nsd, unbound and iproute2)"
            )
        })
}

/// The names of this file's namespaces: the prefix, the test process's id, the test's tag.
const NAMESPACE_PREFIX: &str = "dnsl-h-";

/// A network namespace with `lo` up; on drop, every process left in it is killed (they are
/// all this test's) and it is deleted.
struct Namespace {
    name: String,
    ip: PathBuf,
}

impl Namespace {
    fn create(tag: &str) -> Namespace {
        let ip = program("ip");
        Namespace::sweep(&ip);
        let name = format!("{NAMESPACE_PREFIX}{}-{tag}", std::process::id());
        let namespace = Namespace { name, ip };
        namespace.ip(&["netns", "add", &namespace.name]);
        namespace.ip(&["-n", &namespace.name, "link", "set", "lo", "up"]);
        namespace
    }

    /// Deletes what a test process killed before it could clean up (a timeout) left: the
    /// namespaces of this file whose test process is gone, and the servers in them.
    fn sweep(ip: &Path) {
        let Ok(output) = Command::new(ip).args(["netns", "list"]).output() else {
            return;
        };
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let Some(name) = line.split_whitespace().next() else {
                continue;
            };
            let owner = name
                .strip_prefix(NAMESPACE_PREFIX)
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok());
            if owner.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
                drop(Namespace {
                    name: name.to_string(),
                    ip: ip.to_path_buf(),
                });
            }
        }
    }

    fn ip(&self, args: &[&str]) {
        let output = Command::new(&self.ip).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "ip {args:?}: {} (network namespaces need root)",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }

    /// `program` to be run inside the namespace (`ip netns exec` execs it: same pid).
    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(&self.ip);
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }

    /// Runs `work` on a thread that joined the namespace (network namespaces belong to
    /// threads: the test's other threads stay where they are).
    fn spawn<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
        let path = PathBuf::from("/run/netns").join(&self.name);
        std::thread::spawn(move || {
            let handle = File::open(&path).unwrap();
            // SAFETY: setns(2) takes a namespace file descriptor that `handle` keeps open,
            // and moves only this thread into it.
            let joined = unsafe { libc::setns(handle.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(joined, 0, "setns: {}", std::io::Error::last_os_error());
            work()
        })
    }

    fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        self.spawn(work)
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if let Ok(output) = Command::new(&self.ip)
            .args(["netns", "pids", &self.name])
            .output()
        {
            let ours = std::process::id();
            for pid in String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok())
                .filter(|&p| p != ours)
            {
                // SAFETY: kill(2) has no memory arguments; the process is one this test
                // started in its own namespace.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        }
        let _ = Command::new(&self.ip)
            .args(["netns", "delete", &self.name])
            .status();
    }
}

/// The processes below `pid` (NSD serves from a grandchild of the process it starts as).
fn descendants(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(parent) = parent {
            parents.push((child, parent));
        }
    }
    let mut found = Vec::new();
    let mut todo = vec![pid];
    while let Some(next) = todo.pop() {
        for &(child, parent) in &parents {
            if parent == next {
                found.push(child);
                todo.push(child);
            }
        }
    }
    found
}

fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) has no memory arguments.
    unsafe { libc::kill(pid as libc::pid_t, signal) };
}

/// A child process, killed (with whatever it started) on drop.
struct Daemon {
    what: String,
    child: Child,
}

impl Daemon {
    /// SIGTERM, then its exit status (within 30 s).
    fn stop(&mut self) -> ExitStatus {
        signal(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "{} did not stop", self.what);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().is_ok_and(|status| status.is_none()) {
            for pid in descendants(self.child.id()) {
                signal(pid, libc::SIGKILL);
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The namespace, the authoritative servers (answering) and the resolver (once started).
struct Hierarchy {
    namespace: Namespace,
    run: PathBuf,
    root_hints: PathBuf,
    nsd: Vec<(&'static str, Daemon)>,
    unbound: Option<Daemon>,
}

impl Hierarchy {
    /// Starts the authoritative servers and waits until each answers for each of its zones
    /// on each of its addresses.
    fn start(tag: &str, dir: &Path) -> Hierarchy {
        let (nsd, unbound) = (program("nsd"), program("unbound"));
        let version = Command::new(&unbound).arg("-V").output().unwrap();
        assert!(
            String::from_utf8_lossy(&version.stdout).contains("--enable-dnstap"),
            "this unbound is built without dnstap (Debian's has it): {}",
            String::from_utf8_lossy(&version.stdout)
        );
        let namespace = Namespace::create(tag);
        let run = dir.join("run");
        std::fs::create_dir_all(&run).unwrap();
        let root_hints = run.join("root.hints");
        std::fs::write(&root_hints, Model::new().root_hints()).unwrap();
        let template = std::fs::read_to_string(hierarchy_dir().join("nsd.conf.in")).unwrap();
        let mut servers = Vec::new();
        for authority in AUTHORITIES {
            let listen: Vec<String> = authority
                .addresses
                .iter()
                .map(|a| format!("    ip-address: {a}"))
                .collect();
            let zones: Vec<String> = authority
                .zones
                .iter()
                .map(|z| {
                    let file = if *z == "." {
                        "root.zone".into()
                    } else {
                        format!("{z}zone")
                    };
                    format!("zone:\n    name: \"{z}\"\n    zonefile: \"{file}\"")
                })
                .collect();
            let config = fill(
                &template,
                &[
                    ("NAME", authority.name),
                    ("RUN", run.to_str().unwrap()),
                    ("ZONES_DIR", hierarchy_dir().join("zones").to_str().unwrap()),
                    ("LISTEN", &listen.join("\n")),
                    ("ZONES", &zones.join("\n")),
                ],
            );
            let path = run.join(format!("nsd-{}.conf", authority.name));
            std::fs::write(&path, config).unwrap();
            let mut command = namespace.command(&nsd);
            command.arg("-d").arg("-c").arg(&path);
            servers.push((
                authority.name,
                spawn_logged(
                    command,
                    &run.join(format!("nsd-{}.out", authority.name)),
                    "nsd",
                ),
            ));
        }
        let hierarchy = Hierarchy {
            namespace,
            run,
            root_hints,
            nsd: servers,
            unbound: None,
        };
        hierarchy.wait_for_authorities();
        hierarchy
    }

    fn wait_for_authorities(&self) {
        let probes: Vec<(Ipv4Addr, &'static str)> = AUTHORITIES
            .iter()
            .flat_map(|a| {
                a.addresses
                    .iter()
                    .flat_map(|&ip| a.zones.iter().map(move |&z| (ip, z)))
            })
            .collect();
        let answered = self.namespace.run(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut buf = [0u8; 4096];
            let mut waiting = probes.clone();
            while !waiting.is_empty() && Instant::now() < deadline {
                waiting.retain(|&(address, zone)| {
                    // A socket per attempt: a late answer to an earlier one cannot be taken
                    // for this one's.
                    let socket = UdpSocket::bind(SocketAddrV4::new(PROBE, 0)).unwrap();
                    socket.connect(SocketAddrV4::new(address, 53)).unwrap();
                    socket
                        .set_read_timeout(Some(Duration::from_millis(200)))
                        .unwrap();
                    let id = rand_id();
                    let _ = socket.send(&query_message(id, zone, "SOA").build());
                    let Ok(n) = socket.recv(&mut buf) else {
                        return true;
                    };
                    let Ok(message) = Message::parse(&buf[..n]) else {
                        return true;
                    };
                    let header = message.header();
                    !(header.id == id && header.aa && header.rcode == rcode::NOERROR)
                });
            }
            waiting
        });
        assert!(
            answered.is_empty(),
            "NSD does not answer {answered:?}; its logs: {}",
            self.logs()
        );
    }

    /// Everything the servers logged (for failure messages).
    fn logs(&self) -> String {
        let mut logs = String::new();
        for entry in std::fs::read_dir(&self.run).unwrap().flatten() {
            let path = entry.path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("out" | "log")
            ) {
                logs.push_str(&format!(
                    "\n--- {}\n{}",
                    path.display(),
                    std::fs::read_to_string(&path).unwrap_or_default()
                ));
            }
        }
        logs
    }

    /// Starts Unbound, with dnstap to `dnstap` (a unix socket that must be listening), and
    /// waits until it answers (a name of its own, so no query leaves it).
    fn start_resolver(&mut self, dnstap: Option<&Path>) {
        let template = std::fs::read_to_string(hierarchy_dir().join("unbound.conf.in")).unwrap();
        let unused = self.run.join("no-dnstap.sock");
        let config = fill(
            &template,
            &[
                ("RUN", self.run.to_str().unwrap()),
                ("ROOT_HINTS", self.root_hints.to_str().unwrap()),
                ("DNSTAP_ENABLE", if dnstap.is_some() { "yes" } else { "no" }),
                ("DNSTAP_SOCKET", dnstap.unwrap_or(&unused).to_str().unwrap()),
            ],
        );
        let path = self.run.join("unbound.conf");
        std::fs::write(&path, config).unwrap();
        let mut command = self.namespace.command(&program("unbound"));
        command.arg("-d").arg("-c").arg(&path);
        self.unbound = Some(spawn_logged(
            command,
            &self.run.join("unbound.out"),
            "unbound",
        ));
        let ready = self.namespace.run(|| {
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                let socket = UdpSocket::bind(SocketAddrV4::new(STUB, 0)).unwrap();
                socket
                    .set_read_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
                let mut query = query_message(rand_id(), "localhost.", "A");
                query.header_mut().rd = true;
                let _ = socket.send_to(&query.build(), SocketAddrV4::new(RESOLVER, 53));
                let mut buf = [0u8; 512];
                if socket.recv_from(&mut buf).is_ok() {
                    return true;
                }
            }
            false
        });
        assert!(ready, "unbound does not answer; its logs: {}", self.logs());
    }

    /// Stops Unbound (it writes out its dnstap first).
    fn stop_resolver(&mut self) {
        let mut unbound = self.unbound.take().expect("the resolver runs");
        let status = unbound.stop();
        assert!(status.success(), "unbound: {status}; {}", self.logs());
    }

    /// Pauses an NSD instance (SIGSTOP to it and the processes it started) until the guard
    /// is dropped.
    fn pause(&self, name: &str) -> Paused {
        let (_, daemon) = self.nsd.iter().find(|(n, _)| *n == name).unwrap();
        let mut pids = vec![daemon.child.id()];
        pids.extend(descendants(daemon.child.id()));
        for &pid in &pids {
            signal(pid, libc::SIGSTOP);
        }
        Paused(pids)
    }
}

/// Resumes the paused processes when dropped.
struct Paused(Vec<u32>);

impl Drop for Paused {
    fn drop(&mut self) {
        for &pid in &self.0 {
            signal(pid, libc::SIGCONT);
        }
    }
}

/// A template with each `@KEY@` replaced.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut text = template.to_string();
    for (key, value) in values {
        text = text.replace(&format!("@{key}@"), value);
    }
    let unfilled =
        text.split('@').skip(1).step_by(2).find(|word| {
            !word.is_empty() && word.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        });
    assert!(unfilled.is_none(), "unfilled template:\n{text}");
    text
}

/// Starts `command` with its output going to `log`.
fn spawn_logged(mut command: Command, log: &Path, what: &str) -> Daemon {
    let file = File::create(log).unwrap();
    let child = command
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    Daemon {
        what: what.to_string(),
        child,
    }
}

/// A store directory with a submit key (in a file, as sensors take it) and a query key,
/// made before any server opens it (keys are re-read only once a second).
struct Keys {
    db: PathBuf,
    submit_file: PathBuf,
    query: String,
}

impl Keys {
    fn create(db: &Path, dir: &Path) -> Keys {
        let submit = add_key(db, "sensor", &["--scope", "submit"]);
        let submit_file = dir.join("submit.key");
        std::fs::write(&submit_file, format!("{submit}\n")).unwrap();
        Keys {
            db: db.to_path_buf(),
            submit_file,
            query: add_key(db, "analyst", &[]),
        }
    }
}

/// `dnsledger sensor` in the namespace, its standard error collected line by line.
struct Sensor {
    daemon: Daemon,
    stderr: mpsc::Receiver<String>,
    lines: Vec<String>,
}

impl Sensor {
    /// Starts it and waits until it prints `ready` (the start of a line).
    fn start(namespace: &Namespace, args: &[&str], ready: &str) -> Sensor {
        let child = namespace
            .command(Path::new(env!("CARGO_BIN_EXE_dnsledger")))
            .arg("sensor")
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut daemon = Daemon {
            what: "dnsledger sensor".into(),
            child,
        };
        let (lines_out, lines_in) = mpsc::channel();
        let stderr = daemon.child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines_out.send(line);
            }
        });
        let mut sensor = Sensor {
            daemon,
            stderr: lines_in,
            lines: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !sensor.lines.iter().any(|line| line.starts_with(ready)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match sensor.stderr.recv_timeout(left) {
                Ok(line) => sensor.lines.push(line),
                Err(_) => panic!("no {ready:?} from the sensor: {:?}", sensor.lines),
            }
        }
        sensor
    }

    fn stop(&mut self) -> ExitStatus {
        self.daemon.stop()
    }

    /// Everything it wrote to standard error (after it exited).
    fn stderr(&mut self) -> String {
        self.lines.extend(self.stderr.iter());
        self.lines.join("\n") + "\n"
    }
}

/// `dnsledger serve --db DB --listen 127.0.0.1:8053 EXTRA...` in the namespace.
struct DnsledgerServer {
    daemon: Daemon,
    url: String,
}

impl DnsledgerServer {
    fn start(namespace: &Namespace, db: &Path, extra: &[&str]) -> DnsledgerServer {
        let mut child = namespace
            .command(Path::new(env!("CARGO_BIN_EXE_dnsledger")))
            .args([
                "serve",
                "--db",
                db.to_str().unwrap(),
                "--listen",
                API_LISTEN,
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let daemon = Daemon {
            what: "dnsledger serve".into(),
            child,
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut first = String::new();
            let _ = BufReader::new(stdout).read_line(&mut first);
            let _ = tx.send(first);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("dnsledger serve printed no URL within 60 s");
        let url = line
            .trim()
            .strip_prefix("dnsledger: serving ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        DnsledgerServer { daemon, url }
    }

    fn stop(&mut self) -> ExitStatus {
        self.daemon.stop()
    }
}

/// The DNSDB API v2 of a server in the namespace, asked with a query key.
struct Api {
    url: String,
    key: String,
}

impl Api {
    fn new(url: &str, key: &str) -> Api {
        Api {
            url: url.to_string(),
            key: key.to_string(),
        }
    }

    /// Polls `lookup/rrset/name/OWNER/A` until the server has it; how long after `since`
    /// that was (failing after `limit`).
    fn wait_for(
        &self,
        hierarchy: &Hierarchy,
        owner: &str,
        since: Instant,
        limit: Duration,
    ) -> Duration {
        let url = format!("{}/dnsdb/v2/lookup/rrset/name/{owner}/A", self.url);
        let (key, owner) = (self.key.clone(), owner.to_string());
        hierarchy.namespace.run(move || {
            let mut last = String::new();
            while since.elapsed() < limit {
                let answer = ureq::get(&url)
                    .header("X-API-Key", &key)
                    .config()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(5)))
                    .build()
                    .call();
                if let Ok(mut response) = answer {
                    last = response.body_mut().read_to_string().unwrap_or_default();
                    if last.contains(&format!("\"rrname\":\"{owner}\"")) {
                        return since.elapsed();
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            panic!("{owner} was not queryable within {limit:?}; the last answer: {last}");
        })
    }

    /// Every row of `lookup/rrset/name/OWNER` (no limit).
    fn lookup(&self, hierarchy: &Hierarchy, owner: &str) -> Vec<CofRow> {
        let url = format!("{}/dnsdb/v2/lookup/rrset/name/{owner}?limit=0", self.url);
        let key = self.key.clone();
        let body = hierarchy.namespace.run(move || {
            ureq::get(&url)
                .header("X-API-Key", &key)
                .call()
                .unwrap_or_else(|e| panic!("GET {url}: {e}"))
                .body_mut()
                .read_to_string()
                .unwrap()
        });
        assert!(
            body.trim_end().ends_with("{\"cond\":\"succeeded\"}"),
            "lookup {owner}: {body}"
        );
        body.lines()
            .filter_map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                value.get("obj").cloned()
            })
            .map(|obj| serde_json::from_value(obj).unwrap())
            .collect()
    }
}

/// `dnsledger dump` of a store, as rows.
fn dump(db: &Path) -> Vec<CofRow> {
    let (status, stdout, stderr) = run(&["dump", "--db", db.to_str().unwrap()]);
    assert_eq!(status, 0, "dump failed: {stderr}");
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

fn read_stats(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Batches waiting in a spool directory.
fn spooled(spool: &Path) -> usize {
    std::fs::read_dir(spool)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension() == Some("batch".as_ref()))
                .count()
        })
        .unwrap_or(0)
}

fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
