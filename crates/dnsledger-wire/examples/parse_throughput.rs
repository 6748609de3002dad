//! Rough per-message cost of the sensor's hot path on a typical 5-record response:
//! parse, iterate, canonical owner and rdata, bailiwick check.
//!
//! `cargo run --release -p dnsledger-wire --example parse_throughput`

use std::hint::black_box;
use std::time::{Duration, Instant};

use dnsledger_wire::{is_subdomain_wire, rtype, Message, MessageBuilder, NameBuf, Section};

const ROUNDS: u32 = 1_000_000;

fn per_round(mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..ROUNDS {
        f();
    }
    start.elapsed() / ROUNDS
}

fn main() {
    let owner = NameBuf::from_text("www.example.com").expect("name");
    let zone = NameBuf::from_text("example.com").expect("name");
    let wire = MessageBuilder::query(1, &owner, rtype::A)
        .response()
        .record(Section::Answer, &owner, rtype::A, 300, &[192, 0, 2, 1])
        .record(Section::Answer, &owner, rtype::A, 300, &[192, 0, 2, 2])
        .record(
            Section::Authority,
            &zone,
            rtype::NS,
            300,
            b"\x03ns1\xc0\x10",
        )
        .record(
            Section::Authority,
            &zone,
            rtype::NS,
            300,
            b"\x03ns2\xc0\x10",
        )
        .record(
            Section::Additional,
            &zone,
            rtype::MX,
            300,
            b"\x00\x0a\x04mail\xc0\x10",
        )
        .build();

    let parse_only = per_round(|| {
        let m = Message::parse(black_box(&wire)).expect("valid");
        black_box(m.records().count());
    });
    let mut out = Vec::with_capacity(256);
    let full = per_round(|| {
        let m = Message::parse(black_box(&wire)).expect("valid");
        for r in m.records().flatten() {
            out.clear();
            r.owner.write_canonical(&mut out);
            let owner_len = out.len();
            let _ = r.canonical_rdata(&mut out);
            black_box(is_subdomain_wire(&out[..owner_len], zone.as_wire()));
        }
    });
    println!("parse + iterate 5 records:        {parse_only:?} per message");
    let owners = per_round(|| {
        out.clear();
        let m = Message::parse(black_box(&wire)).expect("valid");
        for r in m.records().flatten() {
            r.owner.write_canonical(&mut out);
        }
    });
    println!("+ canonical owners only:          {owners:?} per message");
    println!("+ canonical owner/rdata, in-zone: {full:?} per message");
}
