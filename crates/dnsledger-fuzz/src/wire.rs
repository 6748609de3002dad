//! Target `wire_message`: the bytes are one DNS message.

use dnsledger_wire::{
    rdata_generic, rdata_to_text, rtype, Header, Message, MessageBuilder, Name, NameBuf, Record,
    Section,
};

/// Parses `data` as a DNS message and reads everything in it the way the sensor and the
/// output do: header, question, every record, every rdata in canonical form and as text.
/// Asserts the round trips the crate promises: header bytes, names through canonical wire
/// form and presentation text, and canonical rdata being a fixed point.
pub fn wire_message(data: &[u8]) {
    let Ok(message) = Message::parse(data) else {
        return;
    };
    check_header(message.header());
    if let Some(question) = message.question() {
        check_name(&question.qname);
    }
    let mut canonical = Vec::new();
    for record in message.records() {
        let Ok(record) = record else {
            break;
        };
        check_name(&record.owner);
        check_rdata(&record, &mut canonical);
    }
}

/// A header re-read from its own bytes is the same header.
fn check_header(header: Header) {
    assert_eq!(Header::parse(&header.to_bytes()), Ok(header));
}

/// The owned canonical name agrees with the borrowed one and survives both of its
/// serialisations: wire form (`from_wire`) and presentation text (`from_text`).
fn check_name(name: &Name<'_>) {
    let owned = name.to_name_buf();
    assert_eq!(owned.as_wire().len(), name.wire_len(), "{name:?}");
    assert_eq!(owned.label_count(), name.label_count(), "{name:?}");
    assert!(name.eq_ignore_case(name));
    assert_eq!(NameBuf::from_wire(owned.as_wire()).as_ref(), Ok(&owned));
    let text = owned.to_text();
    assert_eq!(NameBuf::from_text(&text).as_ref(), Ok(&owned), "{text}");
    // Display keeps the original case; escapes are digits and punctuation, so lower-casing
    // the whole text must give the canonical name's text.
    assert_eq!(name.to_string().to_ascii_lowercase(), text);
}

/// Canonicalises and formats the rdata as the output path does; checks that a failure
/// leaves the buffer alone, that names in canonical rdata are canonical wire names, and
/// that canonicalising canonical rdata changes nothing.
fn check_rdata(record: &Record<'_>, canonical: &mut Vec<u8>) {
    canonical.clear();
    if record.canonical_rdata(canonical).is_err() {
        assert!(canonical.is_empty(), "a failed canonical_rdata wrote bytes");
        rdata_generic(record.rdata_wire());
        return;
    }
    if rdata_to_text(record.rtype, canonical).is_err() {
        rdata_generic(canonical);
    }
    record.rrsig_covered();
    if let Some(offset) = trailing_name_offset(record.rtype) {
        let name = canonical.get(offset..).unwrap_or_default();
        let reparsed = NameBuf::from_wire(name).map(|n| n.as_wire().to_vec());
        assert_eq!(reparsed.as_deref(), Ok(name), "rtype {}", record.rtype);
    }
    // Decompression can push rdata past what a record can carry; such rdata has no record
    // to be re-read from.
    if canonical.len() <= usize::from(u16::MAX) {
        assert_eq!(canonicalise_again(record, canonical), *canonical);
    }
}

/// Where the single name that ends the rdata starts, for the types whose layout is fixed
/// fields followed by one name.
fn trailing_name_offset(rtype: u16) -> Option<usize> {
    match rtype {
        rtype::NS
        | rtype::MD
        | rtype::MF
        | rtype::CNAME
        | rtype::MB
        | rtype::MG
        | rtype::MR
        | rtype::PTR
        | rtype::DNAME
        | rtype::NSAP_PTR => Some(0),
        rtype::MX | rtype::AFSDB | rtype::RT | rtype::KX | rtype::LP => Some(2),
        rtype::DSYNC => Some(5),
        rtype::SRV => Some(6),
        _ => None,
    }
}

/// The canonical form of `canonical` itself, read back from a fresh message.
fn canonicalise_again(record: &Record<'_>, canonical: &[u8]) -> Vec<u8> {
    let owner = record.owner.to_name_buf();
    let wire = MessageBuilder::query(0, &owner, record.rtype)
        .response()
        .record(Section::Answer, &owner, record.rtype, 0, canonical)
        .build();
    let message = Message::parse(&wire).expect("a built message parses");
    let rebuilt = message
        .records()
        .next()
        .expect("the built message has its record")
        .expect("the built record parses");
    let mut again = Vec::with_capacity(canonical.len());
    rebuilt
        .canonical_rdata(&mut again)
        .expect("canonical rdata is valid rdata of its type");
    again
}
