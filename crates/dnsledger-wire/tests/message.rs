//! Message parsing, record iteration, canonical rdata and hostile input.

use dnsledger_wire::{
    rdata_to_text, rtype, Message, MessageBuilder, NameBuf, Record, Section, WireError,
};

/// A header with the given id, flags (bytes 2-3) and counts, followed by `body`.
fn msg(flags: u16, counts: [u16; 4], body: &[u8]) -> Vec<u8> {
    let mut m = vec![0x12, 0x34];
    m.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        m.extend_from_slice(&c.to_be_bytes());
    }
    m.extend_from_slice(body);
    m
}

/// A record: owner wire, type, class IN, ttl 300, rdata.
fn rr(owner: &[u8], t: u16, rdata: &[u8]) -> Vec<u8> {
    let mut v = owner.to_vec();
    v.extend_from_slice(&t.to_be_bytes());
    v.extend_from_slice(&[0, 1, 0, 0, 1, 0x2c]);
    v.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    v.extend_from_slice(rdata);
    v
}

fn nb(s: &str) -> NameBuf {
    NameBuf::from_text(s).unwrap()
}

/// The question "Example.COM. MX IN" at offset 12: `example` starts at 12, `com` at 20.
const QUESTION: &[u8] = b"\x07Example\x03COM\x00\x00\x0f\x00\x01";

/// A response with compressed, mixed-case names in MX, NS, SOA, SRV and CNAME rdata.
fn compressed_response() -> Vec<u8> {
    let mut body = QUESTION.to_vec(); // ends at 29
    body.extend(rr(b"\xc0\x0c", rtype::MX, b"\x00\x0a\x04MAIL\xc0\x0c"));
    body.extend(rr(b"\xc0\x0c", rtype::NS, b"\x03NS1\xc0\x0c"));
    body.extend(rr(
        b"\xc0\x0c",
        rtype::SOA,
        b"\xc0\x0c\x0aHostMaster\xc0\x0c\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00\x05",
    ));
    body.extend(rr(
        b"\x04_SIP\xc0\x0c",
        rtype::SRV,
        b"\x00\x01\x00\x02\x13\xc4\x03SIP\xc0\x14",
    ));
    body.extend(rr(b"\x03WWW\xc0\x0c", rtype::CNAME, b"\xc0\x0c"));
    msg(0x8180, [1, 3, 1, 1], &body)
}

/// (section, owner text, type, canonical rdata hex) per record.
fn summarize(wire: &[u8]) -> Vec<(Section, String, u16, Result<String, WireError>)> {
    let m = Message::parse(wire).unwrap();
    m.records()
        .map(|r| {
            let r = r.unwrap();
            let mut out = Vec::new();
            let canon = r
                .canonical_rdata(&mut out)
                .map(|()| rdata_to_text(r.rtype, &out).unwrap());
            (r.section, r.owner.to_name_buf().to_text(), r.rtype, canon)
        })
        .collect()
}

#[test]
fn compressed_rdata_is_decompressed_and_lowercased() {
    let wire = compressed_response();
    let m = Message::parse(&wire).unwrap();
    let h = m.header();
    assert!(h.qr && h.rd && h.ra && !h.tc);
    assert_eq!((h.qdcount, h.ancount, h.nscount, h.arcount), (1, 3, 1, 1));
    let q = m.question().unwrap();
    assert_eq!(
        (q.qname.to_string(), q.qtype, q.qclass),
        ("Example.COM.".into(), rtype::MX, 1)
    );
    assert_eq!(m.bytes(), &wire[..]);
    let ok = |s: &str| Ok(s.to_string());
    assert_eq!(
        summarize(&wire),
        vec![
            (
                Section::Answer,
                "example.com.".into(),
                rtype::MX,
                ok("10 mail.example.com.")
            ),
            (
                Section::Answer,
                "example.com.".into(),
                rtype::NS,
                ok("ns1.example.com.")
            ),
            (
                Section::Answer,
                "example.com.".into(),
                rtype::SOA,
                ok("example.com. hostmaster.example.com. 1 2 3 4 5")
            ),
            (
                Section::Authority,
                "_sip.example.com.".into(),
                rtype::SRV,
                ok("1 2 5060 sip.com.")
            ),
            (
                Section::Additional,
                "www.example.com.".into(),
                rtype::CNAME,
                ok("example.com.")
            ),
        ]
    );
    // The raw rdata still holds the pointer; the canonical form is the full wire name.
    let mx = m.records().next().unwrap().unwrap();
    assert_eq!(mx.rdata_wire(), b"\x00\x0a\x04MAIL\xc0\x0c");
    let mut out = vec![0xee];
    mx.canonical_rdata(&mut out).unwrap();
    assert_eq!(out, b"\xee\x00\x0a\x04mail\x07example\x03com\x00");
}

/// Canonicalises the single answer record of a message built around `rdata`.
fn canonical_of(t: u16, rdata: &[u8]) -> Result<Vec<u8>, WireError> {
    let mut body = QUESTION.to_vec();
    body.extend(rr(b"\xc0\x0c", t, rdata));
    let wire = msg(0x8400, [1, 1, 0, 0], &body);
    let m = Message::parse(&wire).unwrap();
    let r: Record<'_> = m.records().next().unwrap().unwrap();
    let mut out = vec![1, 2, 3];
    let res = r.canonical_rdata(&mut out);
    if res.is_err() {
        assert_eq!(out, vec![1, 2, 3], "output must be untouched on error");
    }
    res.map(|()| out[3..].to_vec())
}

#[test]
fn canonical_rdata_check_table() {
    type Case<'a> = (u16, &'a [u8], Result<&'a [u8], WireError>);
    let bad = |t: u16| Err(WireError::BadRdata { rtype: t });
    let cases: &[Case<'_>] = &[
        (rtype::A, b"\x01\x02\x03\x04", Ok(b"\x01\x02\x03\x04")),
        (rtype::A, b"\x01\x02\x03", bad(rtype::A)),
        (rtype::A, b"\x01\x02\x03\x04\x05", bad(rtype::A)),
        (rtype::AAAA, &[0; 15], bad(rtype::AAAA)),
        (rtype::MX, b"\x00\x0a\x01X\x00", Ok(b"\x00\x0a\x01x\x00")),
        (rtype::MX, b"\x00\x0a\x01X\x00\x00", bad(rtype::MX)),
        (rtype::MX, b"\x00\x0a", bad(rtype::MX)),
        (rtype::MX, b"\x00\x0a\xc0\x0c", Ok(b"\x00\x0a\x07example\x03com\x00")),
        (rtype::MX, b"\x00\x0a\xc0\x30", Err(WireError::ForwardPointer)),
        (rtype::MX, b"\x00\x0a\x01a", bad(rtype::MX)),
        // Names of every name-bearing type are lower-cased, compressed or not.
        (rtype::NSEC, b"\x01A\x00\x00\x01\x40", Ok(b"\x01a\x00\x00\x01\x40")),
        (rtype::NSEC, b"\xc0\x0c\x00\x01\x40", Err(WireError::UnexpectedPointer)),
        (
            rtype::RRSIG,
            b"\x00\x01\x08\x02\x00\x00\x0e\x10\x00\x00\x00\x02\x00\x00\x00\x01\x12\x34\x03EXA\x00SIG",
            Ok(b"\x00\x01\x08\x02\x00\x00\x0e\x10\x00\x00\x00\x02\x00\x00\x00\x01\x12\x34\x03exa\x00SIG"),
        ),
        (
            rtype::RRSIG,
            b"\x00\x01\x08\x02\x00\x00\x0e\x10\x00\x00\x00\x02\x00\x00\x00\x01\x12\x34\xc0\x0cSIG",
            Err(WireError::UnexpectedPointer),
        ),
        (
            rtype::SIG,
            b"\x00\x01\x08\x02\x00\x00\x0e\x10\x00\x00\x00\x02\x00\x00\x00\x01\x12\x34\xc0\x14SIG",
            Ok(b"\x00\x01\x08\x02\x00\x00\x0e\x10\x00\x00\x00\x02\x00\x00\x00\x01\x12\x34\x03com\x00SIG"),
        ),
        (rtype::HTTPS, b"\x00\x01\x03SVC\x00\x00\x03\x00\x02\x01\xbb", Ok(b"\x00\x01\x03svc\x00\x00\x03\x00\x02\x01\xbb")),
        (rtype::SVCB, b"\x00\x01\xc0\x0c", Err(WireError::UnexpectedPointer)),
        (rtype::NAPTR, b"\x00\x01\x00\x02\x01S\x00\x00\x04_SIP\xc0\x0c", Ok(b"\x00\x01\x00\x02\x01S\x00\x00\x04_sip\x07example\x03com\x00")),
        (rtype::SRV, b"\x00\x01\x00\x02\x00\x03\xc0\x0c", Ok(b"\x00\x01\x00\x02\x00\x03\x07example\x03com\x00")),
        (rtype::DNAME, b"\xc0\x0c", Err(WireError::UnexpectedPointer)),
        (rtype::DNAME, b"\x03NET\x00", Ok(b"\x03net\x00")),
        (rtype::RP, b"\x01A\xc0\x0c\x01B\x00", Ok(b"\x01a\x07example\x03com\x00\x01b\x00")),
        (rtype::PX, b"\x00\x01\x01A\x00\xc0\x0c", Ok(b"\x00\x01\x01a\x00\x07example\x03com\x00")),
        (rtype::KX, b"\x00\x01\xc0\x14", Ok(b"\x00\x01\x03com\x00")),
        (rtype::MINFO, b"\xc0\x0c\xc0\x14", Ok(b"\x07example\x03com\x00\x03com\x00")),
        (rtype::NXT, b"\xc0\x14\x40", Ok(b"\x03com\x00\x40")),
        (rtype::TXT, b"\x02AB\x00", Ok(b"\x02AB\x00")), // strings keep their case
        (rtype::TXT, b"\x02AB\x03", bad(rtype::TXT)),
        (rtype::HINFO, b"\x01a", bad(rtype::HINFO)),
        (rtype::SOA, b"\xc0\x0c\xc0\x0c\x00", bad(rtype::SOA)),
        (rtype::LOC, &[0; 16], Ok(&[0; 16])),
        (rtype::LOC, &[0; 15], bad(rtype::LOC)),
        (rtype::LOC, b"\x01\x02", Ok(b"\x01\x02")), // unknown version: opaque
        (rtype::A6, b"\x00\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", Ok(b"\x00\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01")),
        (rtype::A6, b"\x40\x00\x00\x00\x00\x00\x00\x00\x01\x01P\x00", Ok(b"\x40\x00\x00\x00\x00\x00\x00\x00\x01\x01p\x00")),
        (rtype::A6, b"\x81", bad(rtype::A6)),
        (rtype::IPSECKEY, b"\x0a\x03\x02\x02GW\x00\x01\x02", Ok(b"\x0a\x03\x02\x02gw\x00\x01\x02")),
        (rtype::IPSECKEY, b"\x0a\x05\x02", bad(rtype::IPSECKEY)),
        (rtype::AMTRELAY, b"\x0a\x83\x01R\x00", Ok(b"\x0a\x83\x01r\x00")),
        (rtype::AMTRELAY, b"\x0a\x01\x01\x02\x03\x04\x05", bad(rtype::AMTRELAY)),
        (rtype::HIP, b"\x01\x02\x00\x01\xaa\xbb\x02RV\x00", Ok(b"\x01\x02\x00\x01\xaa\xbb\x02rv\x00")),
        (rtype::APL, b"\x00\x01\x18\x83\xc0\x00\x02", Ok(b"\x00\x01\x18\x83\xc0\x00\x02")),
        (rtype::APL, b"\x00\x01\x18\x84\xc0", bad(rtype::APL)),
        (rtype::NSEC3PARAM, b"\x01\x00\x00\x00\x01", bad(rtype::NSEC3PARAM)),
        (65280, b"\xc0\x0c\x01", Ok(b"\xc0\x0c\x01")), // unknown: opaque
        (rtype::NULL, b"", Ok(b"")),
    ];
    for (t, rdata, want) in cases {
        let want = want.map(<[u8]>::to_vec);
        assert_eq!(canonical_of(*t, rdata), want, "type {t} rdata {rdata:02x?}");
    }
}

#[test]
fn rrsig_covered_and_other_types() {
    let mut body = QUESTION.to_vec();
    body.extend(rr(b"\xc0\x0c", rtype::RRSIG, b"\x00\x0f\x08"));
    body.extend(rr(b"\xc0\x0c", rtype::RRSIG, b"\x00"));
    body.extend(rr(b"\xc0\x0c", rtype::A, b"\x00\x0f\x08\x01"));
    let wire = msg(0x8000, [1, 3, 0, 0], &body);
    let covered: Vec<Option<u16>> = Message::parse(&wire)
        .unwrap()
        .records()
        .map(|r| r.unwrap().rrsig_covered())
        .collect();
    assert_eq!(covered, vec![Some(rtype::MX), None, None]);
}

#[test]
fn extra_questions_are_skipped_and_none_is_fine() {
    let mut body = QUESTION.to_vec();
    body.extend_from_slice(b"\x03www\xc0\x0c\x00\x01\x00\x01");
    body.extend(rr(b"\xc0\x0c", rtype::A, &[1, 2, 3, 4]));
    let wire = msg(0x8000, [2, 1, 0, 0], &body);
    let m = Message::parse(&wire).unwrap();
    assert_eq!(m.question().unwrap().qname.to_name_buf(), nb("example.com"));
    let records: Vec<_> = m.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].rdata_wire(), &[1, 2, 3, 4]);

    let wire = msg(0, [0, 1, 0, 0], &rr(b"\x00", rtype::A, &[1, 2, 3, 4]));
    let m = Message::parse(&wire).unwrap();
    assert!(m.question().is_none());
    let r = m.records().next().unwrap().unwrap();
    assert!(r.owner.is_root());
    assert_eq!(r.rdata_offset(), 12 + 11);
}

#[test]
fn hostile_questions() {
    let long_label = {
        let mut v = vec![64u8];
        v.extend([b'a'; 64]);
        v.extend_from_slice(b"\x00\x00\x01\x00\x01");
        v
    };
    let long_name = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(63u8);
            v.extend([b'a'; 63]);
        }
        v.extend_from_slice(b"\x00\x00\x01\x00\x01");
        v
    };
    let cases: &[(&[u8], WireError)] = &[
        (b"\xc0\x0c\x00\x01\x00\x01", WireError::PointerLoop),
        (b"\x01a\xc0\x0c\x00\x01\x00\x01", WireError::PointerLoop),
        (b"\xc0\x20\x00\x01\x00\x01", WireError::ForwardPointer),
        (b"\xc0\x0e\x00\x01\x00\x01", WireError::ForwardPointer),
        (b"\x80\x00\x01\x00\x01", WireError::BadLabel(0x80)),
        (&long_label, WireError::BadLabel(64)),
        (&long_name, WireError::NameTooLong),
        (b"\x03abc", WireError::Truncated),
        (b"\x00\x00\x01\x00", WireError::Truncated),
    ];
    for (body, err) in cases {
        let wire = msg(0, [1, 0, 0, 0], body);
        assert_eq!(Message::parse(&wire).err(), Some(*err), "{body:02x?}");
        // Parsing that also writes the canonical qname refuses the same way, writing nothing.
        let mut qname = b"kept".to_vec();
        let refused = Message::parse_with_canonical_qname(&wire, &mut qname).err();
        assert_eq!(
            (refused, &qname[..]),
            (Some(*err), &b"kept"[..]),
            "{body:02x?}"
        );
    }
}

#[test]
fn the_canonical_qname_comes_with_the_parse() {
    // A mixed-case question, and an answer whose owner points to it.
    let mut body = b"\x03WWW\x07Example\x03COM\x00\x00\x01\x00\x01".to_vec();
    body.extend(rr(b"\xc0\x0c", rtype::A, &[1, 2, 3, 4]));
    let wire = msg(0x8000, [1, 1, 0, 0], &body);
    let mut qname = b"prefix".to_vec();
    let message = Message::parse_with_canonical_qname(&wire, &mut qname).unwrap();
    assert_eq!(&qname[..6], b"prefix");
    assert_eq!(&qname[6..], nb("www.example.com").as_wire());
    let plain = Message::parse(&wire).unwrap();
    assert_eq!(
        message.question().unwrap().qname.to_name_buf(),
        plain.question().unwrap().qname.to_name_buf()
    );
    assert_eq!(message.records().count(), plain.records().count());
    // No question: nothing written.
    let wire = msg(0, [0, 1, 0, 0], &rr(b"\x00", rtype::A, &[1, 2, 3, 4]));
    let mut qname = Vec::new();
    assert!(Message::parse_with_canonical_qname(&wire, &mut qname)
        .unwrap()
        .question()
        .is_none());
    assert!(qname.is_empty());
}

/// The owner of the second record: a pointer to the start of a chain of `k` pointers that
/// ends at a root label, all inside the rdata of the first record (so `k + 1` hops).
fn owner_via_chain(k: usize) -> Result<NameBuf, WireError> {
    const RDATA_AT: usize = 12 + 1 + 10; // after the header and a root-owned record header
    let mut chain = vec![0u8]; // the root label at RDATA_AT
    for i in 0..k {
        let target = if i == 0 {
            RDATA_AT
        } else {
            RDATA_AT + 1 + 2 * (i - 1)
        };
        chain.extend_from_slice(&[0xc0 | (target >> 8) as u8, target as u8]);
    }
    let head = RDATA_AT + 1 + 2 * (k - 1);
    let mut body = rr(b"\x00", rtype::NULL, &chain);
    body.extend(rr(
        &[0xc0 | (head >> 8) as u8, head as u8],
        rtype::A,
        &[1, 2, 3, 4],
    ));
    let wire = msg(0, [0, 2, 0, 0], &body);
    let m = Message::parse(&wire)?;
    let mut records = m.records();
    records.next().expect("chain record")?;
    let r = records.next().expect("record")?;
    Ok(r.owner.to_name_buf())
}

#[test]
fn pointer_chains_are_capped_at_127_hops() {
    assert_eq!(owner_via_chain(1), Ok(NameBuf::root()));
    assert_eq!(owner_via_chain(126), Ok(NameBuf::root()));
    assert_eq!(owner_via_chain(127), Err(WireError::TooManyPointers));
    assert_eq!(owner_via_chain(1000), Err(WireError::TooManyPointers));
}

#[test]
fn huge_counts_cost_nothing() {
    let wire = msg(0x8000, [1, 65535, 65535, 65535], QUESTION);
    let m = Message::parse(&wire).unwrap();
    let items: Vec<_> = m.records().map(|r| r.map(|r| r.rtype)).collect();
    assert_eq!(items, vec![Err(WireError::Truncated)]);
    let wire = msg(0x8000, [65535, 65535, 0, 0], QUESTION);
    let m = Message::parse(&wire).unwrap();
    assert_eq!(m.records().count(), 1);
    assert!(m.records().size_hint().1.unwrap() <= 1);
}

#[test]
fn records_stop_after_the_first_error() {
    let mut body = QUESTION.to_vec();
    body.extend(rr(b"\xc0\x0c", rtype::A, &[1, 2, 3, 4]));
    body.extend_from_slice(b"\xc0\x40\x00\x01"); // forward pointer as an owner
    body.extend(rr(b"\xc0\x0c", rtype::A, &[1, 2, 3, 4]));
    let wire = msg(0x8000, [1, 3, 0, 0], &body);
    let items: Vec<_> = Message::parse(&wire)
        .unwrap()
        .records()
        .map(|r| r.map(|r| r.rtype))
        .collect();
    assert_eq!(items, vec![Ok(rtype::A), Err(WireError::ForwardPointer)]);
    // A record whose rdata is malformed is still yielded: rdata is checked later.
    let mut body = QUESTION.to_vec();
    body.extend(rr(b"\xc0\x0c", rtype::A, &[1, 2, 3]));
    body.extend(rr(b"\xc0\x0c", rtype::MX, b"\x00\x01\xc0\xff"));
    let wire = msg(0x8000, [1, 2, 0, 0], &body);
    let m = Message::parse(&wire).unwrap();
    let records: Vec<_> = m.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 2);
    let mut out = Vec::new();
    assert!(records.iter().all(|r| r.canonical_rdata(&mut out).is_err()));
    assert!(out.is_empty());
}

#[test]
fn every_prefix_is_an_error_or_shorter() {
    let full = compressed_response();
    let full_count = Message::parse(&full).unwrap().records().count();
    for n in 0..full.len() {
        let prefix = &full[..n];
        let Ok(m) = Message::parse(prefix) else {
            continue;
        };
        let items: Vec<_> = m.records().collect();
        let ok = items.iter().filter(|r| r.is_ok()).count();
        assert!(
            ok < full_count
                && (items.last().is_some_and(|r| r.is_err()) || m.header().ancount == 0),
            "prefix {n}: {ok} records"
        );
        for r in items.into_iter().flatten() {
            let mut out = Vec::new();
            if r.canonical_rdata(&mut out).is_ok() {
                assert!(rdata_to_text(r.rtype, &out).is_ok());
            }
        }
    }
}

/// Small deterministic generator for the mutation test (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Exercises everything on one buffer; must not panic. Returns the number of records.
fn exercise(wire: &[u8]) -> usize {
    let Ok(m) = Message::parse(wire) else {
        return 0;
    };
    if let Some(q) = m.question() {
        let n = q.qname.to_name_buf();
        assert_eq!(NameBuf::from_wire(n.as_wire()).as_ref(), Ok(&n));
        assert!(q.qname.eq_ignore_case(&q.qname));
        assert_eq!(NameBuf::from_text(&n.to_text()).as_ref(), Ok(&n));
    }
    let mut count = 0;
    let mut out = Vec::new();
    for r in m.records() {
        let Ok(r) = r else { break };
        count += 1;
        out.clear();
        if r.canonical_rdata(&mut out).is_ok() {
            let _ = rdata_to_text(r.rtype, &out);
        }
        let _ = r.rrsig_covered();
        let _ = r.owner.to_name_buf().parent();
    }
    count
}

#[test]
fn mutated_messages_never_panic() {
    let mut seeds = vec![compressed_response()];
    let name = nb("a.example.com.");
    for t in [
        rtype::RRSIG,
        rtype::NSEC,
        rtype::HTTPS,
        rtype::NAPTR,
        rtype::LOC,
        rtype::APL,
    ] {
        seeds.push(
            MessageBuilder::query(1, &name, t)
                .response()
                .record(Section::Answer, &name, t, 1, b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x01a\x00\xc0\x0c")
                .build(),
        );
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut records = 0;
    for i in 0..20_000 {
        let mut wire = seeds[i % seeds.len()].clone();
        for _ in 0..=rng.below(4) {
            let at = rng.below(wire.len());
            match rng.below(4) {
                0 => wire[at] = rng.next() as u8,
                1 => wire[at] = [0x00, 0x3f, 0x40, 0xc0, 0xc0 | 0x0c, 0xff][rng.below(6)],
                2 => wire.truncate(at),
                _ => wire.insert(at, rng.next() as u8),
            }
            if wire.is_empty() {
                break;
            }
        }
        records += exercise(&wire);
    }
    assert!(records > 1000, "mutations left {records} readable records");
}
