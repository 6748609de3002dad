//! Project automation for dnsledger, run as `cargo xtask <command>`.
//!
//! * `gen-capture`: a deterministic, realistic resolver<->authoritative capture ([`generate`]):
//!   a [`hierarchy::Hierarchy`] of root, TLD and hosting servers over many registered
//!   domains, walked by a caching resolver whose exchanges an `ExchangeWriter` puts on the
//!   wire (UDP, TCP, truncation, loss, late duplicates) in time order.
//! * `bench`: the sensor against tshark on that capture, one core each ([`bench`]).
//! * `bench-store`: the history store on a generated passive DNS history of millions of
//!   RRsets ([`history`]): ingest, lookups, scans and bytes on disk ([`bench_store`]).

pub mod bench;
pub mod bench_store;
mod client;
mod exchange;
pub mod generate;
pub mod hierarchy;
pub mod history;
mod measure;
mod names;
mod pcap;
mod rdata;
mod resolver;
mod responder;
mod rng;
mod zone;
