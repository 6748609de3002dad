//! Telling the input format from the content, and opening text inputs through gzip.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use flate2::read::MultiGzDecoder;

/// The kinds of input `ingest` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// pcap or pcapng (the capture reader handles gzip itself).
    Capture,
    /// One COF JSON object per line.
    Cof,
    /// gamelinux/passivedns `||`-separated lines.
    PassiveDns,
    /// A dnstap file (Frame Streams of `protobuf:dnstap.Dnstap`), e.g. a resolver's log.
    Dnstap,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const CAPTURE_MAGICS: [[u8; 4]; 7] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x34, 0xcd, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xcd, 0x34],
    [0x0a, 0x0d, 0x0d, 0x0a],
];

/// `-` names standard input.
pub fn is_standard_input(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn open_raw(path: &Path) -> std::io::Result<Box<dyn Read>> {
    match is_standard_input(path) {
        true => Ok(Box::new(std::io::stdin())),
        false => Ok(Box::new(File::open(path)?)),
    }
}

/// The first bytes of the input as stored (compressed or not), for error messages.
pub fn first_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut start = vec![0; 8];
    let read = open_raw(path)?.read(&mut start)?;
    start.truncate(read);
    Ok(start)
}

/// Bytes read so far from the stored input, shared with whoever reports progress.
pub type ByteCount = Rc<Cell<u64>>;

/// Counts bytes read from the underlying file, for progress through a decompressor.
struct Counted<R> {
    inner: R,
    count: ByteCount,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count.set(self.count.get() + read as u64);
        Ok(read)
    }
}

/// The input's content, decompressed when it is gzip, with a counter of the stored bytes
/// read so far.
pub fn open_decompressed(path: &Path) -> std::io::Result<(Box<dyn Read>, ByteCount)> {
    let count = Rc::new(Cell::new(0));
    let counted = Counted {
        inner: open_raw(path)?,
        count: Rc::clone(&count),
    };
    let mut buffered = BufReader::new(counted);
    let is_gzip = buffered.fill_buf()?.starts_with(&GZIP_MAGIC);
    let content: Box<dyn Read> = match is_gzip {
        true => Box::new(MultiGzDecoder::new(buffered)),
        false => Box::new(buffered),
    };
    Ok((content, count))
}

/// The format of the input, from its (decompressed) first bytes; `None` if none fits.
/// Standard input cannot be read twice, so `-` is taken to be a capture.
pub fn detect(path: &Path) -> std::io::Result<Option<InputFormat>> {
    if is_standard_input(path) {
        return Ok(Some(InputFormat::Capture));
    }
    let (content, _) = open_decompressed(path)?;
    let mut start = Vec::with_capacity(4096);
    content.take(4096).read_to_end(&mut start)?;
    Ok(classify(&start))
}

fn classify(start: &[u8]) -> Option<InputFormat> {
    if dnsledger_dnstap::detect(start) {
        return Some(InputFormat::Dnstap);
    }
    if start.len() >= 4 && CAPTURE_MAGICS.iter().any(|magic| start[..4] == *magic) {
        return Some(InputFormat::Capture);
    }
    let text = String::from_utf8_lossy(start);
    let first_line = text.lines().find(|l| !l.trim().is_empty())?.trim_start();
    if first_line.starts_with('{') {
        Some(InputFormat::Cof)
    } else if first_line.split("||").count() == 9 {
        Some(InputFormat::PassiveDns)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_content() {
        assert_eq!(
            classify(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]),
            Some(InputFormat::Capture)
        );
        assert_eq!(
            classify(&[0x0a, 0x0d, 0x0d, 0x0a]),
            Some(InputFormat::Capture)
        );
        assert_eq!(classify(b"\n{\"rrname\":\"a.\"}\n"), Some(InputFormat::Cof));
        assert_eq!(
            classify(b"1||a||b||IN||x.||A||192.0.2.1||60||1\n"),
            Some(InputFormat::PassiveDns)
        );
        assert_eq!(classify(b"hello world\n"), None);
        assert_eq!(classify(b""), None);
    }
}
