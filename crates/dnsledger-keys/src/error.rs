//! Errors of the key file, the keyring and the audit log.

use std::io;
use std::path::PathBuf;

/// Why a key operation or opening a file of this crate failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing a file failed.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A file exists but is not what this crate writes.
    #[error("{} is damaged: {message}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// `add` with the name of a key that is not revoked.
    #[error("an active key named {0} already exists")]
    DuplicateName(String),
    /// `revoke` of a name no active key has.
    #[error("no active key named {0}")]
    NoSuchKey(String),
    /// `add` with an empty scope list.
    #[error("a key needs at least one scope")]
    NoScope,
    /// A name outside 1-64 characters of `A-Z a-z 0-9 . _ @ -`.
    #[error("bad key name {0:?}: use 1-64 characters of A-Z a-z 0-9 . _ @ -")]
    BadName(String),
    /// The operating system's random number source failed, so no secret can be made.
    #[error("the operating system's random number source failed: {0}")]
    Random(String),
}

impl KeyError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> KeyError {
        KeyError::Io {
            path: path.into(),
            source,
        }
    }
}
