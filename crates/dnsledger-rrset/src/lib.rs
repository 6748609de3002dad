//! The passive DNS data model shared by every stage after the wire.
//!
//! What it is: the identity of an RRset as passive DNS keeps it (owner, type, bailiwick and
//! the sorted set of canonical rdata), the [`Seen`] statistics attached to it
//! (first seen, last seen, count) with their one merge rule, and the [`ObservationSink`] seam
//! through which the sensor hands aggregated observations to whatever comes next (an NDJSON
//! stream today, the store and network transports later).
//!
//! What it is not: it does not parse packets or DNS messages (`dnsledger-wire`,
//! `dnsledger-capture`), decide what is trustworthy (`dnsledger-sensor`) or persist anything.
//!
//! Main types, in reading order:
//! - [`RRset`]: an RRset identity, held as one encoded byte string ([`RRset::encode`]) so a
//!   hash map keyed by it can be probed with bytes encoded into a reusable buffer.
//! - [`Seen`]: time_first, time_last, count; [`Seen::merge`] is associative and commutative.
//! - [`Observation`]: an RRset with its `Seen`.
//! - [`ObservationSink`]: where observations go; [`CofSink`] writes COF NDJSON.
//!
//! ```
//! use dnsledger_rrset::{RRset, Seen};
//! use dnsledger_wire::NameBuf;
//! let name = NameBuf::from_text("www.example.com.").unwrap();
//! let rrset = RRset::new(name, 1, Some(NameBuf::from_text("com.").unwrap()), vec![vec![192, 0, 2, 1]]);
//! let mut seen = Seen::once(100);
//! seen.merge(&Seen::once(50));
//! assert_eq!((seen.time_first, seen.time_last, seen.count), (50, 100, 2));
//! assert_eq!(rrset.rdata_text(), vec!["192.0.2.1".to_string()]);
//! ```

mod cof;
mod cof_read;
mod counters;
mod fingerprint;
mod identity;
mod prefetch;
mod probe_table;
mod seen;
mod sink;

pub use cof::{CofRecord, CofSink};
pub use cof_read::{
    cof_name, read_cof_line, rrset_from_text, seen_checked, CofError, CofReject, CofTimes,
};
pub use fingerprint::{Fingerprint, Fingerprinter};
pub use identity::{RRset, RRsetError, RRsetParts};
pub use prefetch::prefetch;
pub use probe_table::{ProbeTable, Slot};
pub use seen::{EncodedObservation, Observation, Seen};
pub use sink::{ObservationSink, SinkError, VecSink};
