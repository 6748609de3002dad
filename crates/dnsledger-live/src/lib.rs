//! Live capture on Linux without libpcap: from a network interface to the sensor.
//!
//! What it is: `AF_PACKET` sockets with a TPACKET_V3 receive ring each (a fixed amount of
//! memory the kernel fills with whole blocks of frames), a classic BPF program that keeps
//! only DNS in the kernel ([`filter`]), `PACKET_FANOUT` across capture threads, and the
//! loop that feeds the sensor and flushes its RRsets to a sink on the wall clock. Every
//! drop is counted: the kernel's (`tpacket_stats_v3`), the decoder's, the sensor's and this
//! crate's ([`LiveStats`]).
//!
//! How the work is split: each capture thread ([`LiveConfig::workers`]) owns one socket
//! and one [`Decoder`](dnsledger_capture::Decoder), and the kernel hands each flow to one
//! thread, so IP fragments and TCP streams are reassembled where all their packets are.
//! One [`Sensor`](dnsledger_sensor::Sensor) takes the decoded messages of all threads in
//! timestamp order (see `merge` for why one, and how): several threads share the capture
//! and decoding work, never the authority the sensor learns, so their result is the result
//! of one.
//!
//! What it is not: portable (Linux only), a packet writer, or a capture file reader
//! (`dnsledger-capture`). Opening a socket needs CAP_NET_RAW ([`LiveError::NeedsCapNetRaw`]).
//!
//! Main types: [`LiveConfig`], [`LiveCapture`] (`open`, then `run`), [`Filter`], [`Link`],
//! [`Totals`] and [`LiveStats`], [`metrics`] (Prometheus text over a tiny HTTP endpoint).
//!
//! Unsafe code lives in `sys` only, each block with its reason; the ring's contents are
//! read by safe, bounds-checked code (`ring`).

mod capture;
pub mod filter;
mod merge;
pub mod metrics;
mod ring;
mod stats;
mod sys;
mod worker;

use std::io;
use std::time::Duration;

use dnsledger_capture::DecoderConfig;
use dnsledger_rrset::SinkError;
use dnsledger_sensor::SensorConfig;

pub use capture::LiveCapture;
pub use filter::{Filter, FilterError, Link};
pub use stats::{LiveStats, Totals};
pub use sys::RingConfig;

/// Capture threads at most (the kernel allows 256 sockets in a fanout group by default).
pub const MAX_WORKERS: usize = 64;

/// Everything a live capture needs. [`LiveConfig::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// The network interface, e.g. `eth0` or `lo`.
    pub interface: String,
    /// Capture threads, one socket each (1 to [`MAX_WORKERS`]).
    pub workers: usize,
    /// What the kernel keeps. A [`Filter::Ports`] filter's ports are DNS ports for the
    /// decoder and the sensor too.
    pub filter: Filter,
    /// Each socket's ring.
    pub ring: RingConfig,
    /// How often aggregated RRsets go to the sink (wall clock).
    pub flush_interval: Duration,
    pub decoder: DecoderConfig,
    pub sensor: SensorConfig,
}

impl LiveConfig {
    /// One thread, the `dns` filter, a 64 MiB ring of 1 MiB blocks retired after 20 ms,
    /// flushes every second, default decoder and sensor.
    pub fn new(interface: &str) -> LiveConfig {
        LiveConfig {
            interface: interface.to_string(),
            workers: 1,
            filter: Filter::Dns,
            ring: RingConfig {
                block_bytes: 1 << 20,
                blocks: 64,
                retire_timeout: Duration::from_millis(20),
            },
            flush_interval: Duration::from_secs(1),
            decoder: DecoderConfig::default(),
            sensor: SensorConfig::default(),
        }
    }
}

/// Why a live capture could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(
        "capturing on {interface} needs CAP_NET_RAW (run as root or setcap cap_net_raw+ep on \
         the binary)"
    )]
    NeedsCapNetRaw { interface: String },
    #[error("there is no network interface {interface:?}")]
    NoSuchInterface { interface: String },
    #[error(
        "{interface} has hardware type {hardware_type} (ARPHRD_*): only Ethernet, loopback and \
         raw IP interfaces can be captured"
    )]
    UnsupportedLink {
        interface: String,
        hardware_type: u16,
    },
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("--workers must be from 1 to {MAX_WORKERS}, not {0}")]
    Workers(usize),
    #[error("{step} on {interface}: {source}")]
    Setup {
        interface: String,
        step: &'static str,
        source: io::Error,
    },
    #[error("{step}: {source}")]
    Capture {
        step: &'static str,
        source: io::Error,
    },
    #[error("writing the output: {0}")]
    Output(#[from] SinkError),
    #[error("a capture thread panicked")]
    ThreadPanicked,
}

impl LiveError {
    /// The error of a setup step: a refusal for lack of privilege says what to do about it.
    fn setup(interface: &str, step: &'static str, source: io::Error) -> LiveError {
        let interface = interface.to_string();
        match source.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => LiveError::NeedsCapNetRaw { interface },
            _ => LiveError::Setup {
                interface,
                step,
                source,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_for_lack_of_privilege_names_the_capability() {
        for errno in [libc::EPERM, libc::EACCES] {
            let error = LiveError::setup("eth0", "opening", io::Error::from_raw_os_error(errno));
            assert_eq!(
                error.to_string(),
                "capturing on eth0 needs CAP_NET_RAW (run as root or setcap cap_net_raw+ep on \
                 the binary)"
            );
        }
        let other = LiveError::setup(
            "eth0",
            "mapping the ring",
            io::Error::from_raw_os_error(libc::ENOMEM),
        );
        assert!(matches!(other, LiveError::Setup { .. }));
        assert!(other.to_string().starts_with("mapping the ring on eth0: "));
    }
}
