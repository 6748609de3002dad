//! DNSDB flex search: a regular expression or a glob over owner names (`rrnames`) or rdata
//! text, answering the distinct (name, type) or (rdata, type) pairs with their summed
//! count and first/last times.
//!
//! There is no index for this: it walks every row of the family in key order, where the rows
//! of one (owner, type) or one (rdata, type) lie next to each other, so one pass aggregates
//! them. The query's time budget bounds it. Names end in a dot, as DNSDB's flex index
//! has them; rdata is matched in presentation form.

use std::time::Instant;

use dnsledger_rrset::Seen;
use dnsledger_store::{Family, Row, RowRequest, Selection, TypeFilter};
use dnsledger_wire::{push_name_text, push_rdata_text, type_name};
use regex::{Regex, RegexBuilder};
use serde_json::{json, Value};

use crate::answer::{End, Out};
use crate::dnsdb::{failure, humanize, RowCap};
use crate::params::Params;
use crate::routes::{FlexMethod, FlexTarget};
use crate::state::State;

/// Compiled size bound: the regex crate matches in linear time, this bounds its memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

pub struct FlexQuery {
    pub target: FlexTarget,
    pub matcher: Regex,
    pub exclude: Option<Regex>,
    pub rrtype: TypeFilter,
}

/// A regex as given (unanchored, as DNSDB's), or a glob matched against the whole text.
pub fn matcher(method: FlexMethod, expr: &str) -> Result<Regex, String> {
    let pattern = match method {
        FlexMethod::Regex => expr.to_string(),
        FlexMethod::Glob => glob_to_regex(expr),
    };
    RegexBuilder::new(&pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("bad {method:?} {expr:?}: {e}").to_lowercase())
}

/// `*` any run, `?` one character, `[...]` a class (`[!...]` negated); the rest literal.
fn glob_to_regex(glob: &str) -> String {
    let mut pattern = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => pattern.push_str(".*"),
            '?' => pattern.push('.'),
            '[' => {
                let mut class = String::new();
                let mut closed = false;
                for inner in chars.by_ref() {
                    if inner == ']' && !class.is_empty() {
                        closed = true;
                        break;
                    }
                    class.push(inner);
                }
                match closed {
                    true => {
                        let class = class
                            .strip_prefix('!')
                            .map_or(class.clone(), |rest| format!("^{rest}"));
                        pattern.push('[');
                        pattern.push_str(&class.replace('\\', "\\\\"));
                        pattern.push(']');
                    }
                    false => pattern.push_str(&regex::escape(&format!("[{class}"))),
                }
            }
            other => pattern.push_str(&regex::escape(&other.to_string())),
        }
    }
    pattern.push('$');
    pattern
}

/// One distinct (text, type) and what its rows add up to.
struct Group {
    text: String,
    rrtype: u16,
    raw: Option<Vec<u8>>,
    seen: Seen,
}

/// Streams the matching groups, after the offset and up to the cap.
pub fn produce(
    state: &State,
    query: &FlexQuery,
    params: &Params,
    cap: RowCap,
    out: &mut Out,
    deadline: Instant,
) -> End {
    let family = match query.target {
        FlexTarget::RRnames => Family::RRsets,
        FlexTarget::Rdata => Family::Rdata,
    };
    let mut skipped = 0u64;
    let mut current: Option<Group> = None;
    let mut emit = |group: Group, out: &mut Out| -> Option<End> {
        if !matches(query, &group.text) {
            return None;
        }
        if skipped < params.offset {
            skipped += 1;
            return None;
        }
        if out.rows == cap.rows {
            return Some(cap.limited());
        }
        let object = group_object(&group, query.target, params);
        out.object(&object).is_err().then_some(End::Disconnected)
    };
    let request = RowRequest {
        deadline: Some(deadline),
        ..RowRequest::new(Selection::Family(family))
    };
    let rows = match state.history.rows(&request) {
        Ok(rows) => rows,
        Err(refused) => return End::Failed(refused.0),
    };
    for row in rows {
        let row = match row {
            Ok(row) => row,
            Err(error) => return failure(error, state),
        };
        let rrtype = row.rrtype();
        if !query.rrtype.admits(rrtype) || !params.fence.admits(&row.seen) {
            continue;
        }
        let text = row_text(&row, query.target);
        match &mut current {
            Some(group) if group.text == text && group.rrtype == rrtype => {
                group.seen.merge(&row.seen);
            }
            _ => {
                let next = new_group(text, &row, query.target);
                if let Some(done) = current.replace(next) {
                    if let Some(end) = emit(done, out) {
                        return end;
                    }
                }
            }
        }
    }
    match current.and_then(|group| emit(group, out)) {
        Some(end) => end,
        None => End::Succeeded,
    }
}

fn matches(query: &FlexQuery, text: &str) -> bool {
    query.matcher.is_match(text) && !query.exclude.as_ref().is_some_and(|e| e.is_match(text))
}

fn new_group(text: String, row: &Row, target: FlexTarget) -> Group {
    Group {
        text,
        rrtype: row.rrtype(),
        raw: (target == FlexTarget::Rdata).then(|| row.rdata().next().unwrap_or_default().to_vec()),
        seen: row.seen,
    }
}

/// The owner name (RRset rows) or the one rdata (rdata rows) in presentation form.
fn row_text(row: &Row, target: FlexTarget) -> String {
    let mut text = String::new();
    match target {
        FlexTarget::RRnames => push_name_text(&mut text, row.rrname()),
        FlexTarget::Rdata => {
            let parts = row.parts();
            if let Some(rdata) = parts.rdata().next() {
                push_rdata_text(&mut text, parts.rrtype, rdata);
            }
        }
    }
    text
}

/// `{"rrname","rrtype"}` or `{"rdata","rrtype","raw_rdata"}`, with count and times unless
/// `verbose=false`.
fn group_object(group: &Group, target: FlexTarget, params: &Params) -> Value {
    let mut object = serde_json::Map::new();
    let field = match target {
        FlexTarget::RRnames => "rrname",
        FlexTarget::Rdata => "rdata",
    };
    object.insert(field.into(), json!(group.text));
    object.insert("rrtype".into(), json!(type_name(group.rrtype)));
    if let Some(raw) = &group.raw {
        object.insert("raw_rdata".into(), json!(hex_upper(raw)));
    }
    if params.verbose {
        object.insert("count".into(), json!(group.seen.count));
        object.insert("time_first".into(), json!(group.seen.time_first));
        object.insert("time_last".into(), json!(group.seen.time_last));
    }
    humanize(Value::Object(object), params.humantime)
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names_and_regexes_anywhere() {
        let glob = matcher(FlexMethod::Glob, "*.example.com.").unwrap();
        assert!(glob.is_match("www.example.com."));
        assert!(!glob.is_match("www.example.com.au."));
        assert!(!glob.is_match("example.com"));
        let class = matcher(FlexMethod::Glob, "ns[0-9].ex?mple.[!x]rg.").unwrap();
        assert!(class.is_match("ns1.example.org."));
        assert!(!class.is_match("ns1.example.xrg."));
        let regex = matcher(FlexMethod::Regex, "_dkim\\.").unwrap();
        assert!(regex.is_match("s1._dkim.example.com."));
        assert!(matcher(FlexMethod::Regex, "(unclosed").is_err());
        assert!(matcher(FlexMethod::Glob, "a[b").unwrap().is_match("a[b"));
    }

    #[test]
    fn huge_regexes_are_refused_not_built() {
        assert!(matcher(FlexMethod::Regex, "(a{1000}){1000}").is_err());
    }
}
