//! # dnsledger-wire
//!
//! Zero-copy reading of DNS messages (RFC 1035) and the two rdata transformations a passive
//! DNS system needs: the RFC 4034 section 6.2 **canonical form** (names decompressed and
//! lower-cased, the structure validated) and **presentation text** exactly as dnspython 2.x
//! prints it (which is also what DNSDB-style passive DNS shows).
//!
//! What it is **not**: no I/O, no packet capture, no EDNS or TSIG processing, no DNSSEC
//! validation, no zone-file parser (only single names and single rdata are read from text),
//! no message editing (the small [`MessageBuilder`] only composes fresh messages).
//!
//! Hostile input is the normal case for a sensor, so: no function panics on any input,
//! nothing recurses on input, compression pointers may only point backwards (at most
//! [`MAX_POINTER_HOPS`] per name), names are at most 255 bytes, and the work per message is
//! bounded by its length. [`Message::parse`] and [`Message::records`] do not allocate.
//!
//! ## Main types, in reading order
//!
//! * [`Message`]: a parsed header and first [`Question`]; [`Message::records`] yields each
//!   [`Record`] of the answer, authority and additional [`Section`]s lazily.
//! * [`Name`]: a name inside the message buffer (follows compression pointers in place);
//!   [`NameBuf`]: an owned canonical name; [`is_subdomain_wire`] for hot paths.
//! * [`Record::canonical_rdata`]: canonical rdata bytes; [`rdata_to_text`] turns them into
//!   presentation text, [`rdata_generic`] into the RFC 3597 `\#` form;
//!   [`rdata_from_text`] reads presentation text back into canonical rdata
//!   ([`rdata_from_text_in`] and [`NameBuf::from_text_in`] with names relative to an
//!   origin, as master files write them; [`ttl_from_text`] for their TTLs).
//! * [`type_name`], [`type_from_name`], [`is_dnssec_type`] and the number registries
//!   [`rtype`], [`rcode`], [`class`], [`opcode`].
//! * [`WireError`]: why something could not be read.
//!
//! ## Example
//!
//! ```
//! use dnsledger_wire::{rdata_to_text, rtype, type_name, Message, MessageBuilder, NameBuf, Section};
//!
//! let owner = NameBuf::from_text("Example.COM").unwrap();
//! let wire = MessageBuilder::query(1, &owner, rtype::MX)
//!     .response()
//!     .record(Section::Answer, &owner, rtype::MX, 300, b"\x00\x0a\x04MAIL\xc0\x0c")
//!     .build();
//!
//! let msg = Message::parse(&wire).unwrap();
//! let mut canonical = Vec::new();
//! for record in msg.records() {
//!     let record = record.unwrap();
//!     canonical.clear();
//!     record.canonical_rdata(&mut canonical).unwrap();
//!     let text = rdata_to_text(record.rtype, &canonical).unwrap();
//!     assert_eq!(
//!         format!("{} {} {}", record.owner.to_name_buf(), type_name(record.rtype), text),
//!         "example.com. MX 10 mail.example.com."
//!     );
//! }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

mod builder;
mod error;
mod header;
mod message;
mod name;
mod rdata;
mod text;
mod types;

pub use builder::MessageBuilder;
pub use error::WireError;
pub use header::{Header, HEADER_LEN};
pub use message::{Message, Question, Record, Records, Section};
pub use name::{
    is_subdomain_wire, push_name_text, Labels, Name, NameBuf, MAX_LABEL_LEN, MAX_NAME_LEN,
    MAX_POINTER_HOPS,
};
pub use rdata::format::{push_rdata_text, rdata_generic, rdata_to_text};
pub use rdata::scan::{rdata_from_text, rdata_from_text_in};
pub use text::parse_ttl as ttl_from_text;
pub use types::{class, is_dnssec_type, opcode, rcode, rtype, type_from_name, type_name};
