//! Zone files in and out of the passive DNS history.
//!
//! What it is:
//! - a master-file reader ([`MasterReader`]): RFC 1035 section 5 master files with
//!   `$ORIGIN`, `$TTL` (RFC 2308), `$INCLUDE` (relative to the including file, nested at
//!   most [`MAX_INCLUDE_DEPTH`] deep, no loops), parentheses over several lines, comments,
//!   quoted strings with escapes, `@`, relative names, omitted owner, TTL and class,
//!   `TYPEnnn` with `\# len hex` rdata (RFC 3597), gzip told by content; the output of
//!   `dig AXFR` and `kdig AXFR` reads as a master file too. Class IN only (others are
//!   counted and skipped); `$GENERATE` is counted and skipped. Rdata goes through the wire
//!   crate's scanner ([`dnsledger_wire::rdata_from_text_in`]), so a record reads exactly as
//!   the sensor would have stored it. Every bad entry is an error with its `FILE:LINE`, and
//!   the reader goes on; no input makes it panic or hold more than one entry.
//! - [`import`]: a zone's files into the store as zone-file rows (one observation per
//!   RRset, count 1, first = last = the zone time, bailiwick = the zone), kept apart from
//!   sensor rows by their key's source byte; exactly once per content, resumable; memory
//!   bounded by an external sort.
//! - [`export_zone`]: a zone rebuilt from history in a window of time, as a master file
//!   that named-checkzone loads.
//!
//! What it is not: it opens no store (the caller does) and parses no rdata itself.

mod error;
mod export;
mod group;
mod import;
mod lexer;
mod master;
mod source;

pub use error::{Location, ZoneError};
pub use export::{export_zone, ExportOptions, ExportSummary, Window, EXPORT_TTL};
pub use import::{
    import, state, ImportOptions, ImportReport, ImportState, ImportStats, MAX_REPORTED_PROBLEMS,
};
pub use master::{MasterReader, ReadStats, Record, MAX_INCLUDE_DEPTH};
