//! Several captures read as one stream: their identity and their order.
//!
//! A capture split into pieces must give the store what the whole capture gives, so the
//! pieces go through one decoder and one sensor (queries pair with responses across a cut,
//! and what the sensor learnt of the authorities carries over). They are read one after the
//! other, not interleaved by packet time: pieces that overlap in time (two interfaces
//! captured at once) are to be merged beforehand (`mergecap`).

use std::path::Path;

use dnsledger_capture::CaptureReader;
use sha2::{Digest, Sha256};

use crate::input::InputFile;
use crate::progress::hex;

/// Captures read one after another as one stream, known by one progress record.
#[derive(Clone, Debug)]
pub struct CaptureSet {
    digest: String,
    /// In stream order.
    pieces: Vec<InputFile>,
}

impl CaptureSet {
    /// The set of these captures (files with a digest), ordered by the time of their first
    /// packet, ties by digest: the order does not depend on the command line, so the same
    /// pieces always yield the same batches, which resuming needs.
    pub(crate) fn new(pieces: Vec<InputFile>) -> CaptureSet {
        let mut pieces: Vec<(Option<i64>, InputFile)> = pieces
            .into_iter()
            .map(|piece| (first_packet_nanos(&piece.path), piece))
            .collect();
        pieces.sort_by(|(a_time, a), (b_time, b)| (a_time, a.digest()).cmp(&(b_time, b.digest())));
        let pieces: Vec<InputFile> = pieces.into_iter().map(|(_, piece)| piece).collect();
        CaptureSet {
            digest: set_digest(pieces.iter().filter_map(InputFile::digest)),
            pieces,
        }
    }

    /// The set's identity (see [`set_digest`]).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The pieces, in the order they are read.
    pub fn pieces(&self) -> &[InputFile] {
        &self.pieces
    }
}

/// The identity of a capture set: the SHA-256 of its pieces' digests, sorted so that the
/// order they were given in does not matter, behind a domain separator so that no set has
/// the digest of a capture (a file holding exactly these bytes is not an input any reader
/// accepts).
pub(crate) fn set_digest<'a>(pieces: impl IntoIterator<Item = &'a str>) -> String {
    let mut pieces: Vec<&str> = pieces.into_iter().collect();
    pieces.sort_unstable();
    let mut hasher = Sha256::new();
    hasher.update(b"capture-set\n");
    for piece in pieces {
        hasher.update(piece.as_bytes());
        hasher.update(b"\n");
    }
    hex(&hasher.finalize())
}

/// The timestamp of the capture's first packet; `None` when it has none (empty or
/// unreadable: it sorts first, and reading it reports the damage).
fn first_packet_nanos(path: &Path) -> Option<i64> {
    let mut reader = CaptureReader::open(path).ok()?;
    let frame = reader.next_frame().ok()??;
    Some(frame.ts_nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{self, pcap};

    const A: &str = "aa00000000000000000000000000000000000000000000000000000000000000";
    const B: &str = "bb00000000000000000000000000000000000000000000000000000000000000";
    const C: &str = "cc00000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn a_set_is_the_same_whatever_the_order_of_its_pieces() {
        let reference = set_digest([A, B, C]);
        assert_eq!(set_digest([C, A, B]), reference);
        assert_eq!(set_digest([B, C, A]), reference);
        assert_eq!(reference.len(), 64);
    }

    #[test]
    fn a_set_differs_from_its_pieces_and_from_other_sets() {
        let set = set_digest([A, B, C]);
        assert!(![A, B, C].contains(&set.as_str()));
        assert_ne!(set_digest([A]), A, "even a set of one is not its piece");
        assert_ne!(set_digest([A, B]), set);
        assert_ne!(set_digest([A, B]), set_digest([A, C]));
        // Each digest is one line: "ab" + "c" is not "a" + "bc".
        assert_ne!(set_digest(["ab", "c"]), set_digest(["a", "bc"]));
    }

    fn capture(dir: &Path, name: &str, content: &[u8]) -> InputFile {
        InputFile::examine(&testutil::write(dir, name, content)).unwrap()
    }

    fn names(set: &CaptureSet) -> Vec<String> {
        let name = |piece: &InputFile| piece.path.file_name().unwrap().to_string_lossy().into();
        set.pieces().iter().map(name).collect()
    }

    #[test]
    fn pieces_are_read_in_the_order_of_their_first_packet() {
        let dir = tempfile::tempdir().unwrap();
        let late = capture(dir.path(), "late.pcap", &pcap(&[300, 301]));
        let early = capture(dir.path(), "early.pcap", &pcap(&[100, 500]));
        let middle = capture(dir.path(), "middle.pcap", &pcap(&[200]));
        let set = CaptureSet::new(vec![late.clone(), early.clone(), middle.clone()]);
        assert_eq!(names(&set), ["early.pcap", "middle.pcap", "late.pcap"]);
        let again = CaptureSet::new(vec![middle, late, early]);
        assert_eq!(names(&again), names(&set));
        assert_eq!(again.digest(), set.digest());
    }

    #[test]
    fn pieces_starting_together_go_by_digest_and_empty_ones_first() {
        let dir = tempfile::tempdir().unwrap();
        let one = capture(dir.path(), "one.pcap", &pcap(&[100, 101]));
        let two = capture(dir.path(), "two.pcap", &pcap(&[100, 102]));
        let empty = capture(dir.path(), "empty.pcap", &pcap(&[]));
        let set = CaptureSet::new(vec![one.clone(), two.clone(), empty]);
        let by_digest = match one.digest() < two.digest() {
            true => ["one.pcap", "two.pcap"],
            false => ["two.pcap", "one.pcap"],
        };
        assert_eq!(names(&set), ["empty.pcap", by_digest[0], by_digest[1]]);
    }
}
