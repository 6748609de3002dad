//! The one error type of the crate: everything that can go wrong while reading a capture.
//!
//! Decoding never fails (problems are counted in [`crate::DecodeStats`]), so only the reader
//! returns errors.

use std::path::PathBuf;

/// Why a capture could not be (fully) read.
///
/// Offsets are positions in the *decompressed* capture stream (equal to file offsets for
/// uncompressed files).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The file could not be opened.
    #[error("cannot open {}: {source}", path.display())]
    Open {
        /// The path given to [`crate::CaptureReader::open`].
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Reading (or decompressing) failed. Every complete record before the failure has already
    /// been returned.
    #[error("read error at offset {offset}: {source}")]
    Io {
        /// Stream offset at which the failing read started.
        offset: u64,
        /// The underlying error (for gzip input this includes a corrupt or cut-off stream).
        source: std::io::Error,
    },
    /// The content is neither pcap, pcapng nor gzip.
    #[error("unknown capture format (first bytes {magic:02x?}): not pcap, pcapng or gzip")]
    UnknownFormat {
        /// Up to the first four bytes of the (decompressed) content.
        magic: Vec<u8>,
    },
    /// The input ends in the middle of a header or record.
    #[error(
        "capture truncated at offset {offset}: {what} needs {needed} bytes, only {available} present"
    )]
    Truncated {
        /// Stream offset of the incomplete header or record.
        offset: u64,
        /// What was being read ("pcap record", "pcapng block", ...).
        what: &'static str,
        /// Bytes the header or record needs.
        needed: u64,
        /// Bytes that were left in the input.
        available: u64,
    },
    /// A header or record is impossible (absurd length, bad alignment, unknown interface, ...).
    /// Reading stops there.
    #[error("corrupt capture at offset {offset}: {reason}")]
    Corrupt {
        /// Stream offset of the corrupt header or record.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
}
