//! The server's view of `keys.json`: authentication, and reloading when the file changes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::error::KeyError;
use crate::keyfile::{keys_path, read_keys, StoredKey};
use crate::model::{KeyInfo, Scope};
use crate::secret::{digest, Digest};

/// Why a presented secret is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No key has this secret.
    #[error("unknown API key")]
    Unknown,
    /// The key was revoked.
    #[error("API key revoked")]
    Revoked,
    /// The key's `expires` has passed.
    #[error("API key expired")]
    Expired,
    /// The key lacks this scope (and `Admin`).
    #[error("API key lacks the {0} scope")]
    ScopeNotAllowed(Scope),
}

/// The keys of `DIR/keys.json` as the server sees them. `Send + Sync`; share it in an `Arc`.
pub struct Keyring {
    path: PathBuf,
    state: RwLock<State>,
    /// The `now` of the latest change check, so checks happen at most once per second.
    checked: AtomicI64,
}

struct State {
    keys: Vec<Entry>,
    /// The file's identity when `keys` were read; `None` when there was no file.
    stamp: Option<Stamp>,
}

struct Entry {
    info: Arc<KeyInfo>,
    sha256: Digest,
}

/// What tells that `keys.json` was replaced. Modification times may have one-second
/// granularity, so the size and (on Unix) the inode, new with every atomic rename, count too.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl Keyring {
    /// Reads `DIR/keys.json`; a missing file is an empty keyring, a damaged one an error.
    pub fn load(dir: &Path) -> Result<Keyring, KeyError> {
        let path = keys_path(dir);
        let state = read_state(&path)?;
        Ok(Keyring {
            path,
            state: RwLock::new(state),
            checked: AtomicI64::new(i64::MIN),
        })
    }

    /// Re-reads keys.json when its modification time or size changed, at most once per second
    /// of `now`; a damaged file keeps the previous keys and logs a warning (tracing). A file
    /// that disappeared empties the keyring: every key is then unknown.
    pub fn refresh(&self, now: i64) {
        if self.checked.fetch_max(now, Ordering::Relaxed) >= now {
            return;
        }
        // The stamp is taken before reading: a replacement in between is read now and, its
        // stamp differing, read once more at the next check, rather than missed.
        let stamp = match file_stamp(&self.path) {
            Ok(stamp) => stamp,
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot check the key file; keeping the keys");
                return;
            }
        };
        if stamp == self.read().stamp {
            return;
        }
        match read_keys(&self.path) {
            Ok(keys) => {
                tracing::info!(path = %self.path.display(), keys = keys.len(), "key file reloaded");
                *self.write() = State {
                    keys: entries(keys),
                    stamp,
                };
            }
            Err(e) => {
                tracing::warn!(error = %e, "keeping the previous keys");
                // Remembering the stamp warns once per damaged version, not every second.
                self.write().stamp = stamp;
            }
        }
    }

    /// The key whose secret is `secret`, if it may act in `scope` at `now`.
    ///
    /// The presented secret's hash is compared with every stored hash in constant time and
    /// without stopping at a match, so the time taken tells neither which key matched nor how
    /// many bytes of a hash did.
    pub fn authenticate(
        &self,
        secret: &str,
        scope: Scope,
        now: i64,
    ) -> Result<Arc<KeyInfo>, AuthError> {
        let presented = digest(secret);
        let state = self.read();
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, entry) in state.keys.iter().enumerate() {
            let equal = entry.sha256.ct_eq(&presented);
            index.conditional_assign(&(i as u64), equal);
            found |= equal;
        }
        if !bool::from(found) {
            return Err(AuthError::Unknown);
        }
        let info = &state.keys[index as usize].info;
        if info.revoked.is_some() {
            return Err(AuthError::Revoked);
        }
        if info.limits.expires.is_some_and(|expires| expires <= now) {
            return Err(AuthError::Expired);
        }
        if !info.allows(scope) {
            return Err(AuthError::ScopeNotAllowed(scope));
        }
        Ok(Arc::clone(info))
    }

    /// Whether the file holds no key at all. Revoked keys count: revoking every key must not
    /// look like a server that was never given keys.
    pub fn is_empty(&self) -> bool {
        self.read().keys.is_empty()
    }

    // A panic elsewhere while holding the lock leaves a whole, valid `State` (it is replaced
    // in one assignment), so poisoning is ignored.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

fn read_state(path: &Path) -> Result<State, KeyError> {
    let stamp = file_stamp(path).map_err(|e| KeyError::io(path, e))?;
    let keys = entries(read_keys(path)?);
    Ok(State { keys, stamp })
}

fn entries(keys: Vec<StoredKey>) -> Vec<Entry> {
    keys.into_iter()
        .map(|key| Entry {
            info: Arc::new(key.info),
            sha256: key.sha256,
        })
        .collect()
}

fn file_stamp(path: &Path) -> io::Result<Option<Stamp>> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Ok(Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        inode,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyfile::KeyFile;
    use crate::model::Limits;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn keyring_is_shareable() {
        assert_send_sync::<Keyring>();
    }

    fn setup() -> (tempfile::TempDir, KeyFile) {
        let dir = tempfile::tempdir().unwrap();
        let file = KeyFile::new(dir.path());
        (dir, file)
    }

    #[test]
    fn authenticate_accepts_the_secret_and_refuses_others() {
        let (dir, file) = setup();
        let (alice, secret) = file
            .add("alice", &[Scope::Query], Limits::default(), 1)
            .unwrap();
        let (_, other) = file
            .add("bob", &[Scope::Query], Limits::default(), 1)
            .unwrap();
        let ring = Keyring::load(dir.path()).unwrap();
        assert!(!ring.is_empty());

        let key = ring
            .authenticate(&secret.to_string(), Scope::Query, 10)
            .unwrap();
        assert_eq!(*key, alice);
        let bob = ring
            .authenticate(&other.to_string(), Scope::Query, 10)
            .unwrap();
        assert_eq!(bob.name, "bob");

        let wrong = format!("{}x", secret);
        assert_eq!(
            ring.authenticate(&wrong, Scope::Query, 10),
            Err(AuthError::Unknown)
        );
        assert_eq!(
            ring.authenticate("", Scope::Query, 10),
            Err(AuthError::Unknown)
        );
        assert_eq!(AuthError::Unknown.to_string(), "unknown API key");
    }

    #[test]
    fn revoked_keys_are_refused_as_revoked() {
        let (dir, file) = setup();
        let (_, secret) = file
            .add("alice", &[Scope::Query], Limits::default(), 1)
            .unwrap();
        file.revoke("alice", 5).unwrap();
        let ring = Keyring::load(dir.path()).unwrap();
        let result = ring.authenticate(&secret.to_string(), Scope::Query, 10);
        assert_eq!(result, Err(AuthError::Revoked));
        assert!(!ring.is_empty(), "revoked keys still count");
    }

    #[test]
    fn keys_expire_at_their_expiry_second() {
        let (dir, file) = setup();
        let limits = Limits {
            expires: Some(100),
            ..Limits::default()
        };
        let (_, secret) = file.add("alice", &[Scope::Query], limits, 1).unwrap();
        let ring = Keyring::load(dir.path()).unwrap();
        let secret = secret.to_string();
        assert!(ring.authenticate(&secret, Scope::Query, 99).is_ok());
        assert_eq!(
            ring.authenticate(&secret, Scope::Query, 100),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn scopes_are_enforced_and_admin_implies_the_others() {
        let (dir, file) = setup();
        let (_, query) = file
            .add("reader", &[Scope::Query], Limits::default(), 1)
            .unwrap();
        let (_, admin) = file
            .add("root", &[Scope::Admin], Limits::default(), 1)
            .unwrap();
        let ring = Keyring::load(dir.path()).unwrap();
        let (query, admin) = (query.to_string(), admin.to_string());

        assert_eq!(
            ring.authenticate(&query, Scope::Submit, 1),
            Err(AuthError::ScopeNotAllowed(Scope::Submit))
        );
        assert_eq!(
            ring.authenticate(&query, Scope::Admin, 1),
            Err(AuthError::ScopeNotAllowed(Scope::Admin))
        );
        for scope in [Scope::Query, Scope::Submit, Scope::Admin] {
            assert!(ring.authenticate(&admin, scope, 1).is_ok(), "{scope}");
        }
    }

    #[test]
    fn refresh_picks_up_new_keys_at_most_once_per_second() {
        let (dir, file) = setup();
        file.add("alice", &[Scope::Query], Limits::default(), 1)
            .unwrap();
        let ring = Keyring::load(dir.path()).unwrap();
        ring.refresh(100);

        // Another name makes another size, so the change shows even where mtime has
        // one-second granularity.
        let (_, secret) = file
            .add("bob-the-second", &[Scope::Query], Limits::default(), 2)
            .unwrap();
        let secret = secret.to_string();
        ring.refresh(100);
        assert_eq!(
            ring.authenticate(&secret, Scope::Query, 100),
            Err(AuthError::Unknown)
        );
        ring.refresh(101);
        assert!(ring.authenticate(&secret, Scope::Query, 101).is_ok());

        file.revoke("bob-the-second", 102).unwrap();
        ring.refresh(102);
        assert_eq!(
            ring.authenticate(&secret, Scope::Query, 102),
            Err(AuthError::Revoked)
        );
    }

    #[test]
    fn a_damaged_file_keeps_the_previous_keys() {
        let (dir, file) = setup();
        let (_, secret) = file
            .add("alice", &[Scope::Query], Limits::default(), 1)
            .unwrap();
        let ring = Keyring::load(dir.path()).unwrap();
        fs::write(keys_path(dir.path()), "{ half written").unwrap();
        ring.refresh(10);
        assert!(ring
            .authenticate(&secret.to_string(), Scope::Query, 10)
            .is_ok());
        assert!(matches!(
            Keyring::load(dir.path()),
            Err(KeyError::Damaged { .. })
        ));

        // A repaired file is read again.
        fs::remove_file(keys_path(dir.path())).unwrap();
        let (_, fresh) = file
            .add("carol", &[Scope::Query], Limits::default(), 11)
            .unwrap();
        ring.refresh(11);
        assert!(ring
            .authenticate(&fresh.to_string(), Scope::Query, 11)
            .is_ok());
        assert_eq!(
            ring.authenticate(&secret.to_string(), Scope::Query, 11),
            Err(AuthError::Unknown)
        );
    }

    #[test]
    fn a_missing_file_is_an_empty_keyring() {
        let (dir, file) = setup();
        let ring = Keyring::load(dir.path()).unwrap();
        assert!(ring.is_empty());
        assert_eq!(
            ring.authenticate("dnsl_x", Scope::Query, 1),
            Err(AuthError::Unknown)
        );

        file.add("alice", &[Scope::Query], Limits::default(), 1)
            .unwrap();
        ring.refresh(1);
        assert!(!ring.is_empty());
        fs::remove_file(keys_path(dir.path())).unwrap();
        ring.refresh(2);
        assert!(ring.is_empty());
    }
}
