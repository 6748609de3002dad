//! Capture file reading: format detection (gzip, pcap, pcapng) and record iteration.

mod input;
mod pcap;
mod pcapng;

use std::fmt;
use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

use crate::error::CaptureError;
use input::{CountingReader, Input};
use pcap::PcapState;
use pcapng::PcapNgState;

/// Records claiming more captured bytes than this are treated as corrupt.
pub const MAX_PACKET_LEN: usize = 256 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// One captured packet as stored in the file. `data` borrows the reader's buffer and is valid
/// until the next call to [`CaptureReader::next_frame`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Capture time, nanoseconds since the Unix epoch (pcapng: `if_tsresol` and `if_tsoffset`
    /// applied; a pcapng Simple Packet Block, which has no time, gets the previous packet's).
    pub ts_nanos: i64,
    /// LINKTYPE_* of the interface the packet was captured on (pcap: of the file).
    pub link_type: u16,
    /// The captured bytes (`caplen` of them).
    pub data: &'a [u8],
    /// The packet's length on the wire; larger than `data.len()` when the capture cut it
    /// (snaplen), which the [`crate::Decoder`] detects and drops.
    pub orig_len: u32,
    /// Interface number: 0 for pcap; for pcapng the order of the Interface Description Block in
    /// the whole file (counting across sections), starting at 0.
    pub interface: u32,
}

/// The container format of a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FormatKind {
    /// Classic libpcap (micro- or nanosecond, either byte order; also the "modified" variant).
    Pcap,
    /// pcapng.
    PcapNg,
}

/// What [`CaptureReader`] detected from the content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CaptureFormat {
    /// pcap or pcapng.
    pub kind: FormatKind,
    /// Whether the capture was gzip-compressed.
    pub gzip: bool,
}

impl fmt::Display for CaptureFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            FormatKind::Pcap => "pcap",
            FormatKind::PcapNg => "pcapng",
        };
        if self.gzip {
            write!(f, "{kind}+gzip")
        } else {
            f.write_str(kind)
        }
    }
}

/// Where a record's bytes are, relative to the reader's current position.
#[derive(Debug)]
pub(crate) struct RawRecord {
    pub(crate) ts_nanos: i64,
    pub(crate) link_type: u16,
    pub(crate) data_start: usize,
    pub(crate) data_len: usize,
    pub(crate) orig_len: u32,
    pub(crate) interface: u32,
    pub(crate) consumed: usize,
}

#[derive(Debug)]
enum State {
    Pcap(PcapState),
    PcapNg(PcapNgState),
}

/// Reads a capture file, standard input (`"-"`) or any `Read`; detects gzip (`1f 8b`), pcap
/// (magics `a1b2c3d4` microseconds, `a1b23c4d` nanoseconds, either byte order, and the modified
/// `a1b2cd34`) and pcapng (`0a0d0d0a`, byte order per section) from the content, not the name.
///
/// Reads in 1 MiB blocks; frames borrow the buffer. A file cut in the middle of a record yields
/// every complete record first, then one [`CaptureError::Truncated`] (or [`CaptureError::Io`]
/// for a read or decompression failure), then `Ok(None)` forever; a corrupt record header
/// likewise ends the file with [`CaptureError::Corrupt`].
pub struct CaptureReader {
    input: Input,
    state: State,
    format: CaptureFormat,
    raw_bytes: Arc<AtomicU64>,
    done: bool,
}

impl fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureReader")
            .field("format", &self.format)
            .field("offset", &self.input.offset())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl CaptureReader {
    /// Opens a capture file; `"-"` reads standard input.
    pub fn open(path: &Path) -> Result<CaptureReader, CaptureError> {
        if path.as_os_str() == "-" {
            return CaptureReader::from_reader(Box::new(std::io::stdin()));
        }
        let file = std::fs::File::open(path).map_err(|source| CaptureError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        CaptureReader::from_reader(Box::new(file))
    }

    /// Reads a capture from any byte source (reads the first header immediately).
    pub fn from_reader(r: Box<dyn Read + Send>) -> Result<CaptureReader, CaptureError> {
        let raw_bytes = Arc::new(AtomicU64::new(0));
        let mut input = Input::new(Box::new(CountingReader::new(r, raw_bytes.clone())));
        input.fill(4);
        let mut gzip = false;
        if input.bytes().starts_with(&GZIP_MAGIC) {
            gzip = true;
            let (buffered, rest) = input.into_parts();
            let joined = Cursor::new(buffered).chain(rest);
            input = Input::new(Box::new(MultiGzDecoder::new(joined)));
            input.fill(4);
        }
        let magic: [u8; 4] = match *input.bytes() {
            [a, b, c, d, ..] => [a, b, c, d],
            _ => {
                let head = input.bytes().to_vec();
                if let Some(e) = input.take_error() {
                    return Err(e);
                }
                return Err(CaptureError::UnknownFormat { magic: head });
            }
        };
        let (state, kind) = if pcap::is_pcap_magic(magic) {
            (State::Pcap(PcapState::open(&mut input)?), FormatKind::Pcap)
        } else if magic == pcapng::SHB_MAGIC {
            (State::PcapNg(PcapNgState::new()), FormatKind::PcapNg)
        } else {
            return Err(CaptureError::UnknownFormat {
                magic: magic.to_vec(),
            });
        };
        Ok(CaptureReader {
            input,
            state,
            format: CaptureFormat { kind, gzip },
            raw_bytes,
            done: false,
        })
    }

    /// The next packet; `Ok(None)` at the end. After an error, always `Ok(None)`.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let next = match &mut self.state {
            State::Pcap(s) => s.next(&mut self.input),
            State::PcapNg(s) => s.next(&mut self.input),
        };
        match next {
            Ok(Some(r)) => {
                let data = self.input.take_record(r.consumed, r.data_start, r.data_len);
                Ok(Some(Frame {
                    ts_nanos: r.ts_nanos,
                    link_type: r.link_type,
                    data,
                    orig_len: r.orig_len,
                    interface: r.interface,
                }))
            }
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// Bytes consumed from the underlying source so far (compressed bytes for gzip input;
    /// includes read-ahead), for progress reporting.
    pub fn bytes_read(&self) -> u64 {
        self.raw_bytes.load(Ordering::Relaxed)
    }

    /// The detected format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }
}
