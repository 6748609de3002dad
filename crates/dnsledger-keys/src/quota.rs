//! Per-key admission: concurrency, daily quota and burst window, and what `/rate_limit` shows.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;
use crate::model::{KeyInfo, Limits};

const STATE_FILE: &str = "quota-state.json";
const DAY_SECS: i64 = 86_400;

/// Why a query is not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    /// The key's queries for this UTC day are used up until `reset` (epoch seconds).
    #[error("daily query quota exhausted; resets at {reset} (epoch seconds)")]
    Daily {
        /// The next UTC midnight.
        reset: i64,
    },
    /// The burst window is full until `reset` (epoch seconds).
    #[error("burst limit reached; retry at {reset} (epoch seconds)")]
    Burst {
        /// When the oldest query in the window leaves it.
        reset: i64,
    },
    /// The key already has `limit` requests in flight.
    #[error("too many concurrent requests for this key (limit {limit})")]
    Concurrency {
        /// The key's `concurrent` limit.
        limit: u32,
    },
}

impl QuotaError {
    /// The HTTP status DNSDB answers with: 503 for concurrency, 429 for the quotas.
    pub fn http_status(&self) -> u16 {
        match self {
            QuotaError::Concurrency { .. } => 503,
            QuotaError::Daily { .. } | QuotaError::Burst { .. } => 429,
        }
    }
}

/// What DNSDB's `/rate_limit` reports for a key; `None` is unlimited (or not applicable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateStatus {
    /// Queries per UTC day.
    pub limit: Option<u64>,
    /// Queries left today.
    pub remaining: Option<u64>,
    /// The next UTC midnight, when `remaining` is back to `limit`.
    pub reset: Option<i64>,
    /// Queries per burst window.
    pub burst_size: Option<u64>,
    /// The burst window in seconds.
    pub burst_window: Option<u64>,
    /// Rows per answer.
    pub results_max: Option<u64>,
    /// The largest offset a query may ask for.
    pub offset_max: Option<u64>,
    /// Epoch seconds from which the key is refused.
    pub expires: Option<i64>,
}

/// The quota counters of every key, by key name. `Send + Sync`.
///
/// Memory stays bounded: one entry per key name that has queried (names come only from
/// authenticated keys), each with at most its burst size of timestamps.
pub struct Quotas {
    path: PathBuf,
    shared: Arc<Shared>,
}

/// What a [`Permit`] needs to release itself.
struct Shared {
    keys: Mutex<HashMap<String, KeyState>>,
}

impl Shared {
    // Every update leaves the counters consistent before anything can panic, so a poisoned
    // lock holds usable counters.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, KeyState>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
struct KeyState {
    /// The UTC day `used` counts.
    day: i64,
    used: u64,
    /// Times of the admitted queries still inside the burst window, oldest first.
    recent: VecDeque<i64>,
    in_flight: u32,
}

/// One admitted request. Holding it counts as one request in flight for its key; dropping it
/// ends the request.
pub struct Permit {
    shared: Arc<Shared>,
    key: String,
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("key", &self.key).finish()
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(state) = self.shared.lock().get_mut(&self.key) {
            state.in_flight = state.in_flight.saturating_sub(1);
        }
    }
}

/// `DIR/quota-state.json`: today's counts, so a restart does not renew the daily quotas.
#[derive(Serialize, Deserialize)]
struct SavedState {
    daily: BTreeMap<String, SavedDay>,
}

#[derive(Serialize, Deserialize)]
struct SavedDay {
    day: i64,
    used: u64,
}

impl Quotas {
    /// The counters of the data directory `dir`, with the daily counts of `quota-state.json`
    /// when there is one. A damaged or unreadable file is ignored with a warning: it can only
    /// make today's quotas more generous.
    pub fn open(dir: &Path) -> Quotas {
        let path = dir.join(STATE_FILE);
        let keys = load_state(&path).unwrap_or_else(|message| {
            tracing::warn!(path = %path.display(), %message, "ignoring the saved quota state");
            HashMap::new()
        });
        Quotas {
            path,
            shared: Arc::new(Shared {
                keys: Mutex::new(keys),
            }),
        }
    }

    /// Admits one query for the key or says why not. Order: concurrency (503), daily (429),
    /// burst (429). A refused query consumes nothing.
    pub fn admit(&self, key: &KeyInfo, now: i64) -> Result<Permit, QuotaError> {
        let mut keys = self.shared.lock();
        let state = keys.entry(key.name.clone()).or_default();
        state.forget_expired(&key.limits, now);
        state.check(&key.limits, now)?;
        state.in_flight = state.in_flight.saturating_add(1);
        state.used += 1;
        if key.limits.burst.is_some() {
            state.recent.push_back(now);
        }
        drop(keys);
        Ok(Permit {
            shared: Arc::clone(&self.shared),
            key: key.name.clone(),
        })
    }

    /// What DNSDB's /rate_limit reports, from the same counters (does not consume).
    pub fn status(&self, key: &KeyInfo, now: i64) -> RateStatus {
        let today = now.div_euclid(DAY_SECS);
        let used = self
            .shared
            .lock()
            .get(&key.name)
            .filter(|state| state.day == today)
            .map_or(0, |state| state.used);
        let limits = &key.limits;
        RateStatus {
            limit: limits.daily,
            remaining: limits.daily.map(|daily| daily.saturating_sub(used)),
            reset: limits.daily.map(|_| next_midnight(now)),
            burst_size: limits.burst.map(|b| b.size),
            burst_window: limits.burst.map(|b| b.window_secs),
            results_max: limits.results_max,
            offset_max: limits.offset_max,
            expires: limits.expires,
        }
    }

    /// Writes the daily counters to `quota-state.json`, atomically (temp file + rename).
    pub fn save(&self) -> io::Result<()> {
        let saved = SavedState {
            daily: self
                .shared
                .lock()
                .iter()
                .filter(|(_, state)| state.used > 0)
                .map(|(name, state)| {
                    let day = SavedDay {
                        day: state.day,
                        used: state.used,
                    };
                    (name.clone(), day)
                })
                .collect(),
        };
        let bytes = serde_json::to_vec(&saved).map_err(io::Error::other)?;
        write_atomic(&self.path, &bytes)
    }
}

impl KeyState {
    /// Drops what no longer counts at `now`: another day's total and admissions that left the
    /// burst window (or beyond a burst size that shrank).
    fn forget_expired(&mut self, limits: &Limits, now: i64) {
        let today = now.div_euclid(DAY_SECS);
        if self.day != today {
            self.day = today;
            self.used = 0;
        }
        let Some(burst) = limits.burst else {
            self.recent.clear();
            return;
        };
        while self
            .recent
            .front()
            .is_some_and(|&t| window_end(t, burst.window_secs) <= now)
        {
            self.recent.pop_front();
        }
        while self.recent.len() as u64 > burst.size {
            self.recent.pop_front();
        }
    }

    fn check(&self, limits: &Limits, now: i64) -> Result<(), QuotaError> {
        if let Some(limit) = limits.concurrent {
            if self.in_flight >= limit {
                return Err(QuotaError::Concurrency { limit });
            }
        }
        if limits.daily.is_some_and(|daily| self.used >= daily) {
            return Err(QuotaError::Daily {
                reset: next_midnight(now),
            });
        }
        if let Some(burst) = limits.burst {
            if self.recent.len() as u64 >= burst.size {
                // A burst size of 0 (only from a hand-edited file) has no oldest entry.
                let oldest = self.recent.front().copied().unwrap_or(now);
                return Err(QuotaError::Burst {
                    reset: window_end(oldest, burst.window_secs),
                });
            }
        }
        Ok(())
    }
}

/// When a query admitted at `t` leaves a window of `window_secs`.
fn window_end(t: i64, window_secs: u64) -> i64 {
    t.saturating_add(i64::try_from(window_secs).unwrap_or(i64::MAX))
}

fn next_midnight(now: i64) -> i64 {
    (now.div_euclid(DAY_SECS) + 1) * DAY_SECS
}

/// The saved daily counts; a missing file is none, anything else wrong is a message.
fn load_state(path: &Path) -> Result<HashMap<String, KeyState>, String> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(e.to_string()),
    };
    let saved: SavedState = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    // Counts of an earlier day are kept as they are: the first use of the key resets them.
    Ok(saved
        .daily
        .into_iter()
        .map(|(name, SavedDay { day, used })| {
            let state = KeyState {
                day,
                used,
                ..KeyState::default()
            };
            (name, state)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Burst, Scope};

    /// 2026-11-27T12:00:00Z.
    const NOON: i64 = 1_795_780_800;
    const MIDNIGHT: i64 = 1_795_824_000;

    fn key(limits: Limits) -> KeyInfo {
        KeyInfo {
            name: "alice".to_string(),
            id: "abcdefgh".to_string(),
            scopes: vec![Scope::Query],
            limits,
            created: 0,
            revoked: None,
        }
    }

    fn daily(n: u64) -> KeyInfo {
        key(Limits {
            daily: Some(n),
            ..Limits::default()
        })
    }

    fn burst(size: u64, window_secs: u64) -> Limits {
        Limits {
            burst: Some(Burst { size, window_secs }),
            ..Limits::default()
        }
    }

    #[test]
    fn quotas_and_permits_are_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Quotas>();
        assert_send_sync::<Permit>();
        assert_eq!(NOON.div_euclid(DAY_SECS) + 1, MIDNIGHT / DAY_SECS);
        assert_eq!(MIDNIGHT % DAY_SECS, 0);
    }

    #[test]
    fn unlimited_keys_are_always_admitted() {
        let dir = tempfile::tempdir().unwrap();
        let quotas = Quotas::open(dir.path());
        let key = key(Limits::default());
        let permits: Vec<_> = (0..1000)
            .map(|_| quotas.admit(&key, NOON).unwrap())
            .collect();
        assert_eq!(permits.len(), 1000);
        let status = quotas.status(&key, NOON);
        assert_eq!(status.limit, None);
        assert_eq!(status.remaining, None);
        assert_eq!(status.reset, None);
    }

    #[test]
    fn daily_quota_exhausts_at_n_and_resets_the_next_utc_day() {
        let dir = tempfile::tempdir().unwrap();
        let quotas = Quotas::open(dir.path());
        let key = daily(3);
        for i in 0..3 {
            quotas.admit(&key, NOON + i).unwrap();
        }
        let refused = quotas.admit(&key, NOON + 10).unwrap_err();
        assert_eq!(refused, QuotaError::Daily { reset: MIDNIGHT });
        assert_eq!(refused.http_status(), 429);
        assert!(refused.to_string().contains(&MIDNIGHT.to_string()));
        assert!(quotas.admit(&key, MIDNIGHT - 1).is_err());

        quotas.admit(&key, MIDNIGHT).unwrap();
        assert_eq!(quotas.status(&key, MIDNIGHT).remaining, Some(2));
    }

    #[test]
    fn burst_refuses_within_the_window_and_admits_after() {
        let dir = tempfile::tempdir().unwrap();
        let quotas = Quotas::open(dir.path());
        let key = key(burst(2, 60));
        quotas.admit(&key, NOON).unwrap();
        quotas.admit(&key, NOON + 30).unwrap();
        let refused = quotas.admit(&key, NOON + 59).unwrap_err();
        assert_eq!(refused, QuotaError::Burst { reset: NOON + 60 });
        assert_eq!(refused.http_status(), 429);

        // The first admission leaves the window; the second is still in it.
        quotas.admit(&key, NOON + 60).unwrap();
        let refused = quotas.admit(&key, NOON + 61).unwrap_err();
        assert_eq!(refused, QuotaError::Burst { reset: NOON + 90 });
        quotas.admit(&key, NOON + 90).unwrap();
    }

    #[test]
    fn burst_memory_stays_within_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let quotas = Quotas::open(dir.path());
        let wide = key(burst(5, 1_000_000));
        for i in 0..100 {
            let _ = quotas.admit(&wide, NOON + i);
        }
        let recent = |quotas: &Quotas| quotas.shared.lock()["alice"].recent.len();
        assert_eq!(recent(&quotas), 5);

        // The same name later with a smaller burst (revoked and re-created).
        quotas
            .admit(&key(burst(2, 1_000_000)), NOON + 200)
            .unwrap_err();
        assert_eq!(recent(&quotas), 2);
        quotas.admit(&key(Limits::default()), NOON + 300).unwrap();
        assert_eq!(recent(&quotas), 0);
    }

    #[test]
    fn concurrency_refuses_while_permits_are_held() {
        let dir = tempfile::tempdir().unwrap();
        let quotas = Quotas::open(dir.path());
        let key = key(Limits {
            concurrent: Some(2),
            ..Limits::default()
        });
        let first = quotas.admit(&key, NOON).unwrap();
        let second = quotas.admit(&key, NOON).unwrap();
        let refused = quotas.admit(&key, NOON).unwrap_err();
        assert_eq!(refused, QuotaError::Concurrency { limit: 2 });
        assert_eq!(refused.http_status(), 503);

        drop(first);
        let third = quotas.admit(&key, NOON).unwrap();
        assert!(quotas.admit(&key, NOON).is_err());
        drop((second, third));
        assert!(quotas.admit(&key, NOON).is_ok());
    }

    #[test]
    fn refusals_come_in_order_and_consume_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let quotas = Quotas::open(dir.path());
        let key = key(Limits {
            daily: Some(2),
            burst: Some(Burst {
                size: 1,
                window_secs: 60,
            }),
            concurrent: Some(1),
            ..Limits::default()
        });
        let held = quotas.admit(&key, NOON).unwrap();
        // Concurrency comes first, even though the burst window is full too.
        assert!(matches!(
            quotas.admit(&key, NOON + 1),
            Err(QuotaError::Concurrency { .. })
        ));
        drop(held);
        for _ in 0..5 {
            assert!(matches!(
                quotas.admit(&key, NOON + 2),
                Err(QuotaError::Burst { .. })
            ));
        }
        assert_eq!(quotas.status(&key, NOON + 2).remaining, Some(1));

        quotas.admit(&key, NOON + 60).unwrap();
        // Daily comes before burst.
        assert!(matches!(
            quotas.admit(&key, NOON + 61),
            Err(QuotaError::Daily { .. })
        ));
        assert_eq!(quotas.status(&key, NOON + 61).remaining, Some(0));
    }

    #[test]
    fn status_agrees_with_admit() {
        let dir = tempfile::tempdir().unwrap();
        let quotas = Quotas::open(dir.path());
        let key = key(Limits {
            daily: Some(3),
            burst: Some(Burst {
                size: 10,
                window_secs: 60,
            }),
            results_max: Some(500),
            offset_max: Some(1000),
            concurrent: Some(4),
            expires: Some(NOON + 86_400 * 30),
        });
        let fresh = quotas.status(&key, NOON);
        assert_eq!(
            fresh,
            RateStatus {
                limit: Some(3),
                remaining: Some(3),
                reset: Some(MIDNIGHT),
                burst_size: Some(10),
                burst_window: Some(60),
                results_max: Some(500),
                offset_max: Some(1000),
                expires: Some(NOON + 86_400 * 30),
            }
        );
        assert_eq!(quotas.status(&key, NOON), fresh, "status does not consume");
        for expected in [2, 1, 0] {
            quotas.admit(&key, NOON).unwrap();
            assert_eq!(quotas.status(&key, NOON).remaining, Some(expected));
        }
        let refused = quotas.admit(&key, NOON).unwrap_err();
        let status = quotas.status(&key, NOON);
        assert_eq!(
            refused,
            QuotaError::Daily {
                reset: status.reset.unwrap()
            }
        );
        assert_eq!(quotas.status(&key, MIDNIGHT).remaining, Some(3));
    }

    #[test]
    fn daily_counts_survive_a_restart_on_the_same_day_only() {
        let dir = tempfile::tempdir().unwrap();
        let key = daily(5);
        let quotas = Quotas::open(dir.path());
        for _ in 0..3 {
            quotas.admit(&key, NOON).unwrap();
        }
        quotas.save().unwrap();
        drop(quotas);

        let reopened = Quotas::open(dir.path());
        assert_eq!(reopened.status(&key, NOON + 60).remaining, Some(2));
        reopened.admit(&key, NOON + 60).unwrap();
        reopened.admit(&key, NOON + 61).unwrap();
        assert!(reopened.admit(&key, NOON + 62).is_err());

        let next_day = Quotas::open(dir.path());
        assert_eq!(next_day.status(&key, MIDNIGHT + 5).remaining, Some(5));
        for _ in 0..5 {
            next_day.admit(&key, MIDNIGHT + 5).unwrap();
        }
    }

    #[test]
    fn a_damaged_state_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(STATE_FILE), "{\"daily\": [").unwrap();
        let quotas = Quotas::open(dir.path());
        let key = daily(1);
        assert_eq!(quotas.status(&key, NOON).remaining, Some(1));
        quotas.admit(&key, NOON).unwrap();
        quotas.save().unwrap();
        assert_eq!(
            Quotas::open(dir.path()).status(&key, NOON).remaining,
            Some(0)
        );
    }
}
