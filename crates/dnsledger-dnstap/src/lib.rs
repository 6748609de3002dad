//! dnstap input: what resolvers report about their own traffic, into the sensor.
//!
//! What it is: [`frames`] reads and writes Frame Streams (files: START ... STOP; sockets: the
//! bidirectional READY/ACCEPT/START ... STOP/FINISH handshake); [`proto`] decodes the
//! dnstap protobuf by hand (no code generation); [`Feeder`] hands each message to the
//! sensor's entry points for reported traffic (RESOLVER_QUERY, RESOLVER_RESPONSE with its
//! `query_zone` as bailiwick, CLIENT_RESPONSE in client-side mode only); [`mod@file`] opens
//! dnstap files (gzip too) and feeds them; [`Receiver`] listens on unix sockets and TCP.
//!
//! What it is not: it pairs, hardens and aggregates nothing itself (`dnsledger-sensor` does,
//! with the same rules as for captures) and parses no DNS (`dnsledger-wire`).
//!
//! Invariants: every length read from the input is bounded before anything is allocated
//! for it, and malformed input is a typed error or a counted drop, never a panic; a
//! connection never waits for the sensor (a full queue drops frames, counted); file reading
//! never looks at the wall clock, so a file replays identically.

mod feed;
pub mod file;
pub mod frames;
pub mod proto;
mod receiver;

pub use feed::{DnstapStats, Feeder};
pub use file::{feed_file, is_dnstap_file, open_file, FileEnd};
pub use frames::{detect, FileReader, FrameError, StreamReader, StreamWriter, CONTENT_TYPE};
pub use proto::ProtoError;
pub use receiver::{Endpoint, Receiver, ReceiverConfig, ReceiverError, ReceiverStats};
