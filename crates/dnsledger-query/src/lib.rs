//! The query language of dnsledger, shared by `dnsledger query` and `dnsledger serve`.
//!
//! What it is: the text forms of a lookup (`rrset/name/X/TYPE/BAILIWICK`, `ADDR,LEN`,
//! `LO-HI`, raw hex...) turned into store [`Lookup`](dnsledger_store::Lookup)s ([`spec`]),
//! times as people type and read them ([`timefmt`]), and answer rows in the formats
//! dnsdbq and DNSDB clients read ([`present`]), and the statistics pages' numbers
//! ([`trends`]).
//!
//! What it is not: it runs no query and opens no store or socket; the CLI and the server
//! do that and hand rows here.

pub mod present;
pub mod spec;
pub mod timefmt;
pub mod trends;

pub use present::{cof_object, Format, Presented, Presenter, Summary};
pub use spec::BadQuery;

pub use dnsledger_store::Shape;
