//! The history store: where aggregated RRset observations accumulate for good.
//!
//! What it is: a RocksDB database with one column family per row kind and a merge operator
//! that applies the passive DNS merge (min first, max last, sum count), so writing never
//! reads. The byte layout of every key and value is specified in `docs/encoding.md`;
//! [`keys`] implements it.
//!
//! What it is not: it knows nothing of packets or sensors; it takes
//! [`dnsledger_rrset::Observation`]s through [`Store::write`] (or the
//! [`ObservationSink`](dnsledger_rrset::ObservationSink) impl of [`StoreSink`]).
//!
//! Main types: [`Store`], [`StoreSink`], [`keys`] (encoding), [`value`] (the merge and the
//! per-day activity), [`History`] (what answers read rows from: this store, or a router
//! over shard stores), [`Frame`] (rows in transit from a shard to a router), [`trends`]
//! (the statistics pages' one full scan of a history).

mod db;
mod history;
pub mod keys;
mod novelty;
mod query;
mod rows;
mod transit;
mod trends;
mod upgrade;
pub mod value;
mod verify;

pub use db::{cf, Access, Store, StoreError, StoreSink, FORMAT_VERSION};
pub use history::{FamilySize, History, RowRequest, RowStream, Selection, Shape};
pub use novelty::{
    registered_domain_wire, NewName, NoveltyFilter, NoveltyKind, KNOWN_CACHE_NAMES,
    MAX_EVENTS_PER_READ,
};
pub use query::{
    Family, Lookup, NamePattern, Position, QueryCounters, QueryError, Row, Rows, TimeFence,
    TypeFilter,
};
pub use transit::{write_end, write_row, Frame, FrameReader, TransitEnd, TransitError};
pub use trends::{trends, DayTrend, Trends};
