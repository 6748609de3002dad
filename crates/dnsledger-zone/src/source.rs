//! Input files: gzip told by its content, the text hashed as it is read (the identity of an
//! import), lines read with a bound on their length.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use crate::lexer::MAX_ENTRY_LEN;
use crate::ZoneError;

/// The gzip magic number (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// What reading a line gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A line (in the caller's buffer, without its line break).
    Text,
    /// A line longer than [`MAX_ENTRY_LEN`]: skipped up to its line break.
    TooLong,
    End,
}

/// A decompressed input stream that hashes what passes through it.
struct Hashing {
    inner: Box<dyn Read>,
    hasher: Sha256,
}

impl Read for Hashing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

/// One master file being read.
pub(crate) struct SourceFile {
    /// The path as given or as joined for an `$INCLUDE`, for messages.
    pub(crate) path: PathBuf,
    /// The canonical path, to recognise a file that includes itself.
    pub(crate) identity: PathBuf,
    reader: BufReader<Hashing>,
}

impl SourceFile {
    pub(crate) fn open(path: &Path) -> Result<SourceFile, ZoneError> {
        let io_error = |source| ZoneError::Io {
            path: path.to_path_buf(),
            source,
        };
        let identity = path.canonicalize().map_err(io_error)?;
        let file = File::open(path).map_err(io_error)?;
        SourceFile::from_reader(path.to_path_buf(), identity, file).map_err(io_error)
    }

    /// Reads `raw`, decompressing it when it starts like gzip.
    pub(crate) fn from_reader(
        path: PathBuf,
        identity: PathBuf,
        raw: impl Read + 'static,
    ) -> io::Result<SourceFile> {
        let mut raw = BufReader::new(raw);
        let gzip = raw.fill_buf()?.starts_with(&GZIP_MAGIC);
        let inner: Box<dyn Read> = match gzip {
            true => Box::new(MultiGzDecoder::new(raw)),
            false => Box::new(raw),
        };
        Ok(SourceFile {
            path,
            identity,
            reader: BufReader::new(Hashing {
                inner,
                hasher: Sha256::new(),
            }),
        })
    }

    /// Reads the next line into `buf`, holding at most [`MAX_ENTRY_LEN`] bytes of it.
    pub(crate) fn read_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Line> {
        buf.clear();
        let read = (&mut self.reader)
            .take(MAX_ENTRY_LEN as u64 + 1)
            .read_until(b'\n', buf)?;
        if read == 0 {
            return Ok(Line::End);
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
            return Ok(Line::Text);
        }
        if buf.len() > MAX_ENTRY_LEN {
            buf.clear();
            self.skip_rest_of_line()?;
            return Ok(Line::TooLong);
        }
        Ok(Line::Text) // the last line, without a line break
    }

    fn skip_rest_of_line(&mut self) -> io::Result<()> {
        loop {
            let available = self.reader.fill_buf()?;
            if available.is_empty() {
                return Ok(());
            }
            match available.iter().position(|&b| b == b'\n') {
                Some(at) => {
                    self.reader.consume(at + 1);
                    return Ok(());
                }
                None => {
                    let len = available.len();
                    self.reader.consume(len);
                }
            }
        }
    }

    /// The SHA-256 of the file's (decompressed) text; call it once every line is read.
    pub(crate) fn digest(self) -> [u8; 32] {
        self.reader.into_inner().hasher.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn lines(file: &mut SourceFile) -> Vec<(Line, String)> {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            let line = file.read_line(&mut buf).unwrap();
            if line == Line::End {
                return out;
            }
            out.push((line, String::from_utf8_lossy(&buf).into_owned()));
        }
    }

    #[test]
    fn gzip_is_told_by_content_and_the_digest_covers_the_text() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"a A 192.0.2.1\r\nb A 192.0.2.2";
        let plain = dir.path().join("zone");
        std::fs::write(&plain, text).unwrap();
        let packed = dir.path().join("zone.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text).unwrap();
        std::fs::write(&packed, encoder.finish().unwrap()).unwrap();
        let mut digests = Vec::new();
        for path in [plain, packed] {
            let mut file = SourceFile::open(&path).unwrap();
            assert_eq!(
                lines(&mut file),
                vec![
                    (Line::Text, "a A 192.0.2.1\r".to_string()),
                    (Line::Text, "b A 192.0.2.2".to_string())
                ]
            );
            digests.push(file.digest());
        }
        assert_eq!(digests[0], digests[1]);
        assert_eq!(digests[0], <[u8; 32]>::from(Sha256::digest(text)));
    }

    #[test]
    fn an_overlong_line_is_skipped_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zone");
        let mut text = vec![b'x'; MAX_ENTRY_LEN * 2 + 5];
        text.extend_from_slice(b"\nnext\n");
        std::fs::write(&path, &text).unwrap();
        let mut file = SourceFile::open(&path).unwrap();
        assert_eq!(
            lines(&mut file),
            vec![
                (Line::TooLong, String::new()),
                (Line::Text, "next".to_string())
            ]
        );
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let error = SourceFile::open(Path::new("/nonexistent/zone"))
            .err()
            .unwrap();
        assert!(
            error.to_string().starts_with("/nonexistent/zone: "),
            "{error}"
        );
    }
}
