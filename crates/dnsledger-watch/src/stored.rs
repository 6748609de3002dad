//! The rules of a store: `watch/rule/<id>` meta records (`docs/encoding.md`), shared by
//! `dnsledger watch` (which writes them) and the server's feed of watched names (which reads
//! them).

use dnsledger_store::{Store, StoreError};

use crate::{Rule, RuleError, Watchlist};

/// Meta key prefix of the rules: `watch/rule/<id>` = `active <rule>` or `removed <rule>`.
pub const RULE_PREFIX: &str = "watch/rule/";

/// A rule as stored: removed rules keep their record, so their id is not reused and the
/// hit log can still say which rule a hit was.
#[derive(Clone, Debug)]
pub struct StoredRule {
    pub id: u64,
    pub active: bool,
    pub rule: Rule,
}

/// Why the stored rules cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoredRuleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("meta record {key}: {reason}")]
    Damaged { key: String, reason: String },
}

fn rule_key(id: u64) -> String {
    format!("{RULE_PREFIX}{id}")
}

/// Every rule of the store, removed ones too, by id.
pub fn stored_rules(store: &Store) -> Result<Vec<StoredRule>, StoredRuleError> {
    let mut rules = Vec::new();
    for entry in store.meta_scan(RULE_PREFIX) {
        let (key, value) = entry?;
        let rule = decode_rule(&key, &value).map_err(|reason| StoredRuleError::Damaged {
            key: key.clone(),
            reason,
        })?;
        rules.push(rule);
    }
    rules.sort_by_key(|r| r.id);
    Ok(rules)
}

fn decode_rule(key: &str, value: &[u8]) -> Result<StoredRule, String> {
    let id = key[RULE_PREFIX.len()..]
        .parse()
        .map_err(|_| "bad rule id".to_string())?;
    let value = std::str::from_utf8(value).map_err(|_| "not UTF-8".to_string())?;
    let (state, text) = value.split_once(' ').ok_or("no state")?;
    let active = match state {
        "active" => true,
        "removed" => false,
        _ => return Err(format!("unknown state {state:?}")),
    };
    let rule = Rule::parse(text).map_err(|e: RuleError| e.to_string())?;
    Ok(StoredRule { id, active, rule })
}

/// Writes (or rewrites) rule `id` with its state.
pub fn put_rule(store: &Store, id: u64, active: bool, rule: &Rule) -> Result<(), StoreError> {
    let state = if active { "active" } else { "removed" };
    store.meta_put(&rule_key(id), format!("{state} {rule}").as_bytes())
}

/// The rules in force, and their watchlist.
pub fn active_watchlist(store: &Store) -> Result<(Vec<StoredRule>, Watchlist), StoredRuleError> {
    let rules: Vec<StoredRule> = stored_rules(store)?
        .into_iter()
        .filter(|r| r.active)
        .collect();
    let watchlist = Watchlist::new(rules.iter().map(|r| (r.id, &r.rule)));
    Ok((rules, watchlist))
}
