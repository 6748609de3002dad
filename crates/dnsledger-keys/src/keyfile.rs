//! `DIR/keys.json`: the stored keys and the `dnsledger keys` operations on them.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::KeyError;
use crate::fsutil::write_atomic;
use crate::model::{valid_name, KeyInfo, Limits, Scope};
use crate::secret::{hex_digest, Digest, Secret};

const FILE_NAME: &str = "keys.json";
/// Bumped when the layout changes incompatibly; another version is refused as damaged rather
/// than misread.
const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Document {
    version: u32,
    keys: Vec<StoredKey>,
}

/// One key as stored: its public facts and the hash of its secret.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredKey {
    #[serde(flatten)]
    pub(crate) info: KeyInfo,
    #[serde(with = "hex_digest")]
    pub(crate) sha256: Digest,
}

pub(crate) fn keys_path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// The keys in `path`; a missing file holds none.
pub(crate) fn read_keys(path: &Path) -> Result<Vec<StoredKey>, KeyError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(KeyError::io(path, e)),
    };
    let damaged = |message: String| KeyError::Damaged {
        path: path.to_path_buf(),
        message,
    };
    let document: Document = serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
    if document.version != FORMAT_VERSION {
        return Err(damaged(format!(
            "format version {} (this build reads {FORMAT_VERSION})",
            document.version
        )));
    }
    Ok(document.keys)
}

/// `DIR/keys.json` for the `dnsledger keys` command. Each operation reads the file and, if it
/// changes anything, replaces it atomically; two commands run at the same moment may lose
/// one's change, which is acceptable for an administrator's tool.
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    /// The key file of the data directory `dir`. Nothing is read or created yet; `dir` itself
    /// is never created, because the store creates its directory by renaming one into place.
    pub fn new(dir: &Path) -> KeyFile {
        KeyFile {
            path: keys_path(dir),
        }
    }

    /// Creates a key and returns its facts and its secret, which is shown this once and never
    /// stored. `name` must be valid and not used by a key that is not revoked; `scopes` must
    /// not be empty.
    pub fn add(
        &self,
        name: &str,
        scopes: &[Scope],
        limits: Limits,
        now: i64,
    ) -> Result<(KeyInfo, Secret), KeyError> {
        if !valid_name(name) {
            return Err(KeyError::BadName(name.to_string()));
        }
        if scopes.is_empty() {
            return Err(KeyError::NoScope);
        }
        let mut keys = read_keys(&self.path)?;
        if keys
            .iter()
            .any(|k| k.info.name == name && k.info.revoked.is_none())
        {
            return Err(KeyError::DuplicateName(name.to_string()));
        }
        let secret = Secret::generate().map_err(|e| KeyError::Random(e.to_string()))?;
        let mut scopes = scopes.to_vec();
        scopes.sort_unstable();
        scopes.dedup();
        let info = KeyInfo {
            name: name.to_string(),
            id: secret.id(),
            scopes,
            limits,
            created: now,
            revoked: None,
        };
        keys.push(StoredKey {
            info: info.clone(),
            sha256: secret.digest(),
        });
        self.write(keys)?;
        Ok((info, secret))
    }

    /// Every key in the file, revoked ones included, in creation order.
    pub fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        Ok(read_keys(&self.path)?.into_iter().map(|k| k.info).collect())
    }

    /// Marks the active key called `name` revoked at `now`. The entry stays in the file so
    /// that its holder is told "revoked" rather than "unknown", and so that `keys list` shows
    /// it.
    pub fn revoke(&self, name: &str, now: i64) -> Result<KeyInfo, KeyError> {
        let mut keys = read_keys(&self.path)?;
        let key = keys
            .iter_mut()
            .find(|k| k.info.name == name && k.info.revoked.is_none())
            .ok_or_else(|| KeyError::NoSuchKey(name.to_string()))?;
        key.info.revoked = Some(now);
        let info = key.info.clone();
        self.write(keys)?;
        Ok(info)
    }

    fn write(&self, keys: Vec<StoredKey>) -> Result<(), KeyError> {
        let document = Document {
            version: FORMAT_VERSION,
            keys,
        };
        // Pretty, because administrators read this file.
        let mut bytes = serde_json::to_vec_pretty(&document)
            .map_err(|e| KeyError::io(&self.path, io::Error::other(e)))?;
        bytes.push(b'\n');
        write_atomic(&self.path, &bytes).map_err(|e| KeyError::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Burst;

    fn limits() -> Limits {
        Limits {
            daily: Some(1000),
            burst: Some(Burst {
                size: 10,
                window_secs: 60,
            }),
            results_max: Some(5000),
            offset_max: None,
            concurrent: Some(2),
            expires: Some(2_000_000_000),
        }
    }

    #[test]
    fn add_list_revoke_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let file = KeyFile::new(dir.path());
        assert!(file.list().unwrap().is_empty());

        let (alice, secret) = file
            .add(
                "alice",
                &[Scope::Submit, Scope::Query, Scope::Query],
                limits(),
                100,
            )
            .unwrap();
        let (bob, _) = file
            .add("bob", &[Scope::Admin], Limits::default(), 101)
            .unwrap();
        assert_eq!(alice.scopes, [Scope::Query, Scope::Submit]);
        assert_eq!(alice.id, secret.to_string()[5..13]);
        assert_eq!(file.list().unwrap(), [alice.clone(), bob.clone()]);

        let revoked = file.revoke("alice", 200).unwrap();
        assert_eq!(revoked.revoked, Some(200));
        let listed = file.list().unwrap();
        assert_eq!(
            listed[0],
            KeyInfo {
                revoked: Some(200),
                ..alice
            }
        );
        assert_eq!(listed[1], bob);
    }

    #[test]
    fn the_file_holds_the_hash_never_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = KeyFile::new(dir.path());
        let (_, secret) = file
            .add("alice", &[Scope::Query], Limits::default(), 1)
            .unwrap();
        let text = fs::read_to_string(keys_path(dir.path())).unwrap();
        let secret = secret.to_string();
        assert!(!text.contains(&secret));
        assert!(!text.contains(&secret[5..]));
        let hex: String = crate::secret::digest(&secret)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(text.contains(&hex));
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        KeyFile::new(dir.path())
            .add("alice", &[Scope::Query], Limits::default(), 1)
            .unwrap();
        let mode = fs::metadata(keys_path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file left behind");
    }

    #[test]
    fn duplicate_names_are_refused_until_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let file = KeyFile::new(dir.path());
        file.add("alice", &[Scope::Query], Limits::default(), 1)
            .unwrap();
        let again = file.add("alice", &[Scope::Admin], Limits::default(), 2);
        assert!(matches!(again, Err(KeyError::DuplicateName(name)) if name == "alice"));
        assert_eq!(file.list().unwrap().len(), 1);

        file.revoke("alice", 3).unwrap();
        file.add("alice", &[Scope::Query], Limits::default(), 4)
            .unwrap();
        assert_eq!(file.list().unwrap().len(), 2);
    }

    #[test]
    fn bad_requests_are_refused_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let file = KeyFile::new(dir.path());
        let bad = file.add("a b", &[Scope::Query], Limits::default(), 1);
        assert!(matches!(bad, Err(KeyError::BadName(_))));
        let none = file.add("alice", &[], Limits::default(), 1);
        assert!(matches!(none, Err(KeyError::NoScope)));
        let missing = file.revoke("nobody", 1);
        assert!(matches!(missing, Err(KeyError::NoSuchKey(name)) if name == "nobody"));
        assert!(!keys_path(dir.path()).exists());

        file.add("alice", &[Scope::Query], Limits::default(), 1)
            .unwrap();
        file.revoke("alice", 2).unwrap();
        let twice = file.revoke("alice", 3);
        assert!(matches!(twice, Err(KeyError::NoSuchKey(_))));
    }

    #[test]
    fn damaged_files_are_reported_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = KeyFile::new(dir.path());
        let path = keys_path(dir.path());
        for content in [
            "{not json",
            "",
            r#"{"version":2,"keys":[]}"#,
            r#"{"version":1,"keys":[{"name":"a","id":"x","scopes":["query"],"created":1,"sha256":"zz"}]}"#,
        ] {
            fs::write(&path, content).unwrap();
            assert!(
                matches!(file.list(), Err(KeyError::Damaged { .. })),
                "{content}"
            );
            let add = file.add("bob", &[Scope::Query], Limits::default(), 1);
            assert!(matches!(add, Err(KeyError::Damaged { .. })));
            assert_eq!(fs::read_to_string(&path).unwrap(), content);
        }
    }

    #[test]
    fn a_missing_directory_is_an_io_error_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("store");
        let add = KeyFile::new(&absent).add("alice", &[Scope::Query], Limits::default(), 1);
        assert!(matches!(add, Err(KeyError::Io { .. })));
        assert!(!absent.exists());
    }
}
