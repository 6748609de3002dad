//! What one command's inputs become: files read on their own, and the captures read together
//! as one capture set.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use dnsledger_store::{Store, StoreError};

use crate::capture_set::{set_digest, CaptureSet};
use crate::{detect, progress, IngestError, InputFormat, InputState};

/// One file given to ingest, or standard input (`-`).
#[derive(Clone, Debug)]
pub struct InputFile {
    pub path: PathBuf,
    pub format: InputFormat,
    /// The SHA-256 of its bytes; none for standard input, which cannot be read twice.
    digest: Option<String>,
}

impl InputFile {
    /// Reads the file once for its digest and looks at its first bytes for its format.
    pub fn examine(path: &Path) -> Result<InputFile, IngestError> {
        let read_error = |source| IngestError::Read {
            path: path.display().to_string(),
            source,
        };
        let digest = match detect::is_standard_input(path) {
            true => None,
            false => Some(progress::sha256_file(path).map_err(read_error)?),
        };
        let format = detect::detect(path).map_err(read_error)?.ok_or_else(|| {
            IngestError::UnknownFormat {
                path: path.display().to_string(),
                start: detect::first_bytes(path).unwrap_or_default(),
            }
        })?;
        Ok(InputFile {
            path: path.to_path_buf(),
            format,
            digest,
        })
    }

    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    fn state(&self, store: &Store) -> Result<InputState, StoreError> {
        match &self.digest {
            Some(digest) => progress::state(store, digest),
            None => Ok(InputState::New),
        }
    }
}

/// One logical input: what one progress record follows.
#[derive(Clone, Debug)]
pub enum Input {
    File(InputFile),
    /// Two or more captures read one after another through one decoder and one sensor.
    CaptureSet(CaptureSet),
}

impl Input {
    /// The digest its progress record is kept under; none for standard input.
    pub fn digest(&self) -> Option<&str> {
        match self {
            Input::File(file) => file.digest(),
            Input::CaptureSet(set) => Some(set.digest()),
        }
    }

    pub fn format(&self) -> InputFormat {
        match self {
            Input::File(file) => file.format,
            Input::CaptureSet(_) => InputFormat::Capture,
        }
    }

    /// The files, in the order they are read.
    pub fn files(&self) -> &[InputFile] {
        match self {
            Input::File(file) => std::slice::from_ref(file),
            Input::CaptureSet(set) => set.pieces(),
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::File(file) => write!(f, "{}", file.path.display()),
            Input::CaptureSet(set) => {
                let pieces = set.pieces();
                write!(f, "{} captures read as one stream (", pieces.len())?;
                for (index, piece) in pieces.iter().enumerate() {
                    let separator = if index == 0 { "" } else { ", " };
                    write!(f, "{separator}{}", piece.path.display())?;
                }
                write!(f, ")")
            }
        }
    }
}

/// The inputs of one command, as they will be read.
#[derive(Debug, Default)]
pub struct Plan {
    /// In reading order: the captures that are read as one stream first (a capture set, or
    /// a plain input when only one is left to read), then every other input in command-line
    /// order.
    pub inputs: Vec<Input>,
    /// Inputs that cannot be read at all (missing, unreadable, of no known format).
    pub refused: Vec<IngestError>,
}

/// Examines the inputs of one command and gathers its captures into one capture set: every
/// capture file (not standard input) that the store does not have yet, each content once.
/// Captures already done are left out (they are in the store), and so are captures partly
/// ingested on their own (they resume on their own). Text inputs are read one by one.
pub fn plan(store: &Store, paths: &[PathBuf]) -> Result<Plan, StoreError> {
    let mut refused = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        match InputFile::examine(path) {
            Ok(file) => {
                let state = file.state(store)?;
                files.push((file, state));
            }
            Err(error) => refused.push(error),
        }
    }
    let members = set_members(&files);
    let (set, others): (Vec<_>, Vec<_>) = files
        .into_iter()
        .zip(members)
        .partition(|(_, member)| *member);
    let set = set.into_iter().map(|((file, _), _)| file).collect();
    let mut inputs: Vec<Input> = read_together(set).into_iter().collect();
    inputs.extend(others.into_iter().map(|((file, _), _)| Input::File(file)));
    Ok(Plan { inputs, refused })
}

/// Which files form the capture set. A piece of another set, begun and not finished, is
/// left out (its ingest then refuses it: only its own set completes it); leaving it out
/// changes the set, so this repeats until no piece is left out.
fn set_members(files: &[(InputFile, InputState)]) -> Vec<bool> {
    let mut contents = HashSet::new();
    let mut members: Vec<bool> = files
        .iter()
        .map(|(file, state)| match file.digest() {
            Some(digest) => {
                file.format == InputFormat::Capture
                    && state.may_join_a_set()
                    && contents.insert(digest)
            }
            None => false,
        })
        .collect();
    loop {
        let digest = set_digest(
            files
                .iter()
                .zip(&members)
                .filter(|(_, member)| **member)
                .filter_map(|((file, _), _)| file.digest()),
        );
        let mut changed = false;
        for ((_, state), member) in files.iter().zip(&mut members) {
            if *member && matches!(state, InputState::InCaptureSet { set } if *set != digest) {
                *member = false;
                changed = true;
            }
        }
        if !changed {
            return members;
        }
    }
}

/// The captures to read as one stream: a set of two or more, one alone as a plain input.
fn read_together(mut captures: Vec<InputFile>) -> Option<Input> {
    match captures.len() {
        0 => None,
        1 => captures.pop().map(Input::File),
        _ => Some(Input::CaptureSet(CaptureSet::new(captures))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{pcap, write};
    use crate::{ingest, IngestOptions, IngestStats};
    use dnsledger_store::Access;

    struct Bench {
        _dir: tempfile::TempDir,
        store: Store,
        /// Three captures, their first packets in this order.
        pieces: [PathBuf; 3],
    }

    fn bench() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::ReadWrite).unwrap();
        let pieces = [("one", 100), ("two", 200), ("three", 300)]
            .map(|(name, second)| write(dir.path(), &format!("{name}.pcap"), &pcap(&[second])));
        Bench {
            _dir: dir,
            store,
            pieces,
        }
    }

    fn paths(inputs: &[Input]) -> Vec<Vec<PathBuf>> {
        let files = |input: &Input| input.files().iter().map(|f| f.path.clone()).collect();
        inputs.iter().map(files).collect()
    }

    fn digest_of(path: &Path) -> String {
        progress::sha256_file(path).unwrap()
    }

    #[test]
    fn captures_form_one_set_read_first_and_the_rest_follow_in_command_line_order() {
        let bench = bench();
        let [one, two, three] = bench.pieces.clone();
        let dir = one.parent().unwrap();
        let cof = write(dir, "a.jsonl", b"{\"rrname\":\"a.\"}\n");
        let copy = write(dir, "copy.pcap", &std::fs::read(&two).unwrap());
        let stdin = PathBuf::from("-");
        let missing = dir.join("missing.pcap");
        let given = [&cof, &three, &stdin, &one, &missing, &copy, &two].map(|p| p.to_path_buf());
        let plan = plan(&bench.store, &given).unwrap();
        assert_eq!(
            paths(&plan.inputs),
            [vec![one, copy, three], vec![cof], vec![stdin], vec![two]],
            "the copy of `two`, given first, joins the set; `two` comes after it (and is done then)"
        );
        assert!(matches!(plan.inputs[0], Input::CaptureSet(_)));
        assert!(matches!(&plan.refused[..], [IngestError::Read { .. }]));
    }

    #[test]
    fn captures_done_stay_out_and_the_one_left_is_read_as_a_plain_input() {
        let bench = bench();
        let [one, two, _] = bench.pieces.clone();
        let done = format!("input/{}", digest_of(&one));
        bench.store.meta_put(&done, b"done").unwrap();
        let plan = plan(&bench.store, &[one.clone(), two.clone()]).unwrap();
        assert_eq!(paths(&plan.inputs), [vec![two], vec![one]]);
        assert!(matches!(plan.inputs[0], Input::File(_)));
    }

    #[test]
    fn a_finished_set_marks_every_piece_done_and_an_unfinished_one_keeps_them() {
        let bench = bench();
        let [one, two, three] = bench.pieces.clone();
        let plan = plan(&bench.store, &[three.clone(), one.clone(), two.clone()]).unwrap();
        let [set] = &plan.inputs[..] else {
            panic!("one set: {:?}", plan.inputs)
        };
        let set_digest = set.digest().unwrap().to_owned();
        // Begun and interrupted: its pieces are marked, the set has durable batches.
        let pieces = bench.pieces.iter().map(|p| digest_of(p));
        let pieces: Vec<String> = pieces.collect();
        progress::mark_pieces(&bench.store, &set_digest, pieces.iter().map(String::as_str))
            .unwrap();
        let set_key = format!("input/{set_digest}");
        bench.store.meta_put(&set_key, b"partial 40 2").unwrap();

        let alone = super::plan(&bench.store, std::slice::from_ref(&two)).unwrap();
        let refused = ingest_quietly(&bench.store, &alone.inputs[0]);
        assert!(matches!(refused, Err(IngestError::InUnfinishedSet { .. })));
        let without_three = super::plan(&bench.store, &[one.clone(), two.clone()]).unwrap();
        assert_eq!(
            without_three.inputs.len(),
            2,
            "both left out, to be refused"
        );
        let again = super::plan(&bench.store, &[two, three, one]).unwrap();
        assert_eq!(again.inputs[0].digest(), Some(set_digest.as_str()));

        let report = ingest_quietly(&bench.store, &again.inputs[0]).unwrap();
        assert_eq!(
            report.before,
            InputState::Partial {
                max_rrsets: 40,
                batches: 2
            }
        );
        for piece in &pieces {
            assert_eq!(
                progress::state(&bench.store, piece).unwrap(),
                InputState::Done
            );
        }
    }

    fn ingest_quietly(store: &Store, input: &Input) -> Result<crate::InputReport, IngestError> {
        let mut stats = IngestStats::default();
        ingest(
            store,
            input,
            &IngestOptions::default(),
            &mut stats,
            &mut |_| {},
        )
    }
}
