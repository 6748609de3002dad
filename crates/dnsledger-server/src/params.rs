//! DNSDB's query parameters: limit, offset, the four time fences, aggr, humantime,
//! max_count, exclude, verbose; and dnsledger's `activity`. swclient, version and id are informational and ignored,
//! as is anything unknown (clients add their own).

use dnsledger_query::timefmt;
use dnsledger_store::TimeFence;
use percent_encoding::percent_decode_str;

/// The limit when a request names none, as DNSDB's.
pub const DEFAULT_LIMIT: u64 = 10_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// `None`: the default; `Some(0)`: the key's maximum.
    pub limit: Option<u64>,
    pub offset: u64,
    pub fence: TimeFence,
    pub aggr: bool,
    pub humantime: bool,
    /// Rows carry their per-day histogram (`activity`); off by default, as DNSDB has none.
    pub activity: bool,
    /// Summarize stops once the summed count reaches this (the last row counted whole).
    pub max_count: Option<u64>,
    /// Flex: drop results that this expression matches.
    pub exclude: Option<String>,
    /// Flex: with count and times (the default), or names and types only.
    pub verbose: bool,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            limit: None,
            offset: 0,
            fence: TimeFence::default(),
            aggr: true,
            humantime: false,
            activity: false,
            max_count: None,
            exclude: None,
            verbose: true,
        }
    }
}

impl Params {
    /// `aggr` and `activity` as the query layer's shape of rows.
    pub fn shape(&self) -> dnsledger_query::Shape {
        dnsledger_query::Shape {
            periods: !self.aggr,
            activity: self.activity,
        }
    }
}

/// Parses a raw query string; `now` anchors negative (relative) times.
pub fn parse(query: Option<&str>, now: i64) -> Result<Params, String> {
    let mut params = Params::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(value)?;
        let value = value.as_str();
        match name {
            "limit" => params.limit = Some(number(name, value)?),
            "offset" => params.offset = number(name, value)?,
            "max_count" => params.max_count = Some(number(name, value)?),
            "time_first_after" => params.fence.first_after = Some(time(name, value, now)?),
            "time_first_before" => params.fence.first_before = Some(time(name, value, now)?),
            "time_last_after" => params.fence.last_after = Some(time(name, value, now)?),
            "time_last_before" => params.fence.last_before = Some(time(name, value, now)?),
            "aggr" => params.aggr = boolean(name, value)?,
            "humantime" => params.humantime = boolean(name, value)?,
            "activity" => params.activity = boolean(name, value)?,
            "verbose" => params.verbose = boolean(name, value)?,
            "exclude" => params.exclude = Some(value.to_string()),
            _ => {}
        }
    }
    Ok(params)
}

/// Form encoding: `+` is a space, then percent-decoding.
pub(crate) fn decode(value: &str) -> Result<String, String> {
    percent_decode_str(&value.replace('+', " "))
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| format!("{value:?} is not valid percent-encoded UTF-8"))
}

pub(crate) fn number(name: &str, value: &str) -> Result<u64, String> {
    value
        .parse()
        .map_err(|_| format!("{name}={value:?}: expected a whole number"))
}

/// Epoch seconds, negative = that many seconds ago (also the CLI's date forms).
fn time(name: &str, value: &str, now: i64) -> Result<i64, String> {
    timefmt::parse(value, now).map_err(|e| format!("{name}: {e}"))
}

/// Booleans arrive as t/f, true/false or 1/0 in any case.
pub(crate) fn boolean(name: &str, value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "t" | "true" | "1" => Ok(true),
        "f" | "false" | "0" => Ok(false),
        _ => Err(format!(
            "{name}={value:?}: expected t, f, true, false, 1 or 0"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dnsdbq_style_parameters_parse() {
        let params = parse(
            Some("limit=0&offset=20&time_first_after=-3600&time_last_before=1700000000&aggr=f&humantime=True&swclient=dnsdbq&version=2.6&id=x%3Ay"),
            10_000,
        )
        .unwrap();
        assert_eq!(params.limit, Some(0));
        assert_eq!(params.offset, 20);
        assert_eq!(params.fence.first_after, Some(6400));
        assert_eq!(params.fence.last_before, Some(1_700_000_000));
        assert!(!params.aggr && params.humantime);
        assert_eq!(parse(None, 0).unwrap(), Params::default());
    }

    #[test]
    fn bad_values_say_which_parameter() {
        for query in [
            "limit=ten",
            "offset=-1",
            "aggr=maybe",
            "time_last_after=soon",
        ] {
            let error = parse(Some(query), 0).unwrap_err();
            let name = query.split('=').next().unwrap();
            assert!(error.contains(name), "{query}: {error}");
        }
    }

    #[test]
    fn exclude_is_decoded() {
        let params = parse(Some("exclude=%5Ewww%5C.+x"), 0).unwrap();
        assert_eq!(params.exclude.as_deref(), Some("^www\\. x"));
    }
}
