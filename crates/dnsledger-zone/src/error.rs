//! The one error type of this crate, and where in the input a problem lies.

use std::fmt;
use std::path::PathBuf;

use dnsledger_store::{QueryError, StoreError};

/// A line of an input file, for messages (`FILE:LINE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Why a zone could not be read, imported or exported.
///
/// [`ZoneError::Syntax`] concerns one entry of a master file: the reader reports it and goes
/// on with the next entry. Every other variant ends the work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZoneError {
    #[error("{location}: {message}")]
    Syntax { location: Location, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{location}: $INCLUDE of {path} includes itself")]
    IncludeLoop { location: Location, path: PathBuf },
    #[error("{location}: $INCLUDE nested deeper than {max} files")]
    IncludeTooDeep { location: Location, max: usize },
    #[error("spilling sorted records to a temporary file: {0}")]
    Spill(#[source] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("nothing was observed with bailiwick {zone} in the window")]
    NothingObserved { zone: String },
    #[error("writing the zone: {0}")]
    Write(#[source] std::io::Error),
}

impl ZoneError {
    /// Whether the reader goes on after this error (a bad entry) or stops (everything else).
    pub fn is_entry_error(&self) -> bool {
        matches!(self, ZoneError::Syntax { .. })
    }
}
