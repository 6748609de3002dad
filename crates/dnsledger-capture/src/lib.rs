//! # dnsledger-capture
//!
//! From capture bytes to DNS message payloads with their transport metadata.
//!
//! **What it is.** A reader for capture files — pcap (micro- and nanosecond, either byte
//! order), pcapng (any number of sections and interfaces, each with its own link type and
//! timestamp resolution), both optionally gzip-compressed, detected from the content — and a
//! decoder that takes each captured frame through the link layer (Ethernet with stacked VLAN
//! tags, Linux cooked v1/v2, raw IP, BSD loopback, PPP), IPv4/IPv6 (extension headers,
//! fragment reassembly) and UDP/TCP (checksums, stream reassembly, the 2-byte DNS length
//! prefix) to whole DNS messages.
//!
//! **What it is not.** It does not parse DNS: it knows DNS only as "UDP or TCP with a DNS
//! port on either side" and the TCP length prefix (see the `dnsledger-wire` crate for the
//! messages themselves). It does not capture live traffic, follow tunnels (GRE, VXLAN,
//! Teredo, ...) or decrypt anything.
//!
//! **Guarantees.** No input makes it panic, hang, or hold unbounded memory: records are
//! capped ([`MAX_PACKET_LEN`]), fragment and TCP state is bounded and expired by packet time
//! ([`Limits`]). Decoding never fails; every dropped frame or byte is counted by reason in
//! [`DecodeStats`]. The UDP path borrows the frame and allocates nothing.
//!
//! ## Main types, in reading order
//!
//! * [`CaptureReader`] opens a file, standard input or any `Read` and yields [`Frame`]s
//!   (borrowing its 1 MiB buffer); [`CaptureFormat`] says what it detected; reading ends with
//!   `Ok(None)` or once with a [`CaptureError`].
//! * [`Decoder`], configured by [`DecoderConfig`] and [`Limits`], turns frames into
//!   [`DnsPayload`]s (with [`Transport`] and [`ChecksumStatus`]) through a callback, and counts
//!   everything in [`DecodeStats`].
//! * [`testutil`] (feature `testutil`) builds synthetic captures for tests.
//!
//! ## Example
//!
//! ```no_run
//! use dnsledger_capture::{CaptureReader, Decoder, DecoderConfig, Transport};
//!
//! let mut reader = CaptureReader::open(std::path::Path::new("traffic.pcap.gz"))?;
//! let mut decoder = Decoder::new(DecoderConfig::default());
//! let mut tcp_messages = 0;
//! loop {
//!     match reader.next_frame() {
//!         Ok(Some(frame)) => decoder.decode(&frame, &mut |p| {
//!             if p.transport == Transport::Tcp {
//!                 tcp_messages += 1;
//!             }
//!             println!("{} {}:{} -> {}:{} {} bytes", p.ts_nanos, p.src, p.src_port,
//!                      p.dst, p.dst_port, p.data.len());
//!         }),
//!         Ok(None) => break,
//!         Err(e) => {
//!             eprintln!("{e}"); // e.g. truncated: every complete record was decoded
//!             break;
//!         }
//!     }
//! }
//! decoder.finish();
//! for (name, value) in decoder.stats().counters() {
//!     eprintln!("{name} {value}");
//! }
//! # Ok::<(), dnsledger_capture::CaptureError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod checksum;
mod decoder;
mod error;
mod fragment;
mod ip;
pub mod link;
mod reader;
mod stats;
mod tcp;

#[cfg(any(test, feature = "testutil"))]
pub mod testutil;

pub use decoder::{ChecksumStatus, Decoder, DecoderConfig, DnsPayload, Limits, Transport};
pub use error::CaptureError;
pub use reader::{CaptureFormat, CaptureReader, FormatKind, Frame, MAX_PACKET_LEN};
pub use stats::DecodeStats;
