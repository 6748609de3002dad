//! API keys, quotas and the query audit log for `dnsledger serve`.
//!
//! What it is: the access layer of the DNSDB API v2 quota model, kept in the store's data
//! directory `DIR` next to the RocksDB files (so it only ever touches these names):
//!
//! - `DIR/keys.json`: the keys. [`KeyFile`] adds, lists and revokes them (the `dnsledger keys`
//!   command); [`Keyring`] is the server's read-only view, reloaded when the file changes, and
//!   [`Keyring::authenticate`] turns a presented secret into its [`KeyInfo`]. Only the SHA-256
//!   of each [`Secret`] is stored; the secret itself is shown once, at creation.
//! - `DIR/quota-state.json`: today's query counts, so a restart does not hand out a fresh daily
//!   quota. [`Quotas::admit`] applies a key's [`Limits`] (concurrency, daily, burst) and hands
//!   out a [`Permit`]; [`Quotas::status`] is what `/rate_limit` reports.
//! - `DIR/audit/audit.log`: one JSON line per answered query ([`AuditLog`]), rotated by size.
//!
//! What it is not: no HTTP (status codes and headers are the server's), no store access and no
//! clock: every time is an `i64` of epoch seconds passed in by the caller, so the behaviour is
//! testable without sleeping. Files are written by one process at a time: the server owns the
//! quota state and the audit log, `dnsledger keys` owns `keys.json`.

mod audit;
mod error;
mod fsutil;
mod keyfile;
mod keyring;
mod model;
mod quota;
mod secret;

pub use audit::{AuditEntry, AuditLog};
pub use error::KeyError;
pub use keyfile::KeyFile;
pub use keyring::{AuthError, Keyring};
pub use model::{Burst, KeyInfo, Limits, Scope};
pub use quota::{Permit, QuotaError, Quotas, RateStatus};
pub use secret::Secret;
