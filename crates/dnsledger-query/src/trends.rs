//! The statistics pages' answer: the store's [`Trends`] as JSON, cut to a window of days,
//! with the shares worked out, so the API, the CLI and the web UI show the same numbers.

use dnsledger_store::{DayTrend, Trends};
use serde_json::{json, Value};

use crate::timefmt;

const DAY: i64 = 86_400;

/// The last `days` days of `trends` (counted back from its latest day, and starting no
/// earlier than its first) and the `top_tlds` top-level domains with the most new names in
/// them.
pub fn trends_json(trends: &Trends, days: u32, top_tlds: usize) -> Value {
    let earliest = trends.days.first().map_or(0, |d| d.day);
    let latest = trends.days.last().map_or(0, |d| d.day);
    let from = earliest.max(latest - (i64::from(days.max(1)) - 1) * DAY);
    let shown: Vec<Value> = trends
        .days
        .iter()
        .filter(|d| d.day >= from)
        .map(day_json)
        .collect();
    json!({
        "from": timefmt::format_date(from),
        "to": timefmt::format_date(latest),
        "rows_scanned": trends.rows_scanned,
        "days": shown,
        "tlds": tlds_json(trends, from, top_tlds),
    })
}

/// `share` of `part` in `whole`, rounded to 4 places; `null` when there is no whole.
fn share(part: u64, whole: u64) -> Value {
    match whole {
        0 => Value::Null,
        _ => json!(((part as f64 / whole as f64).min(1.0) * 10_000.0).round() / 10_000.0),
    }
}

fn day_json(day: &DayTrend) -> Value {
    json!({
        "day": timefmt::format_date(day.day),
        "new_names": day.new_names,
        "new_domains": day.new_domains,
        "names_with_a": day.names_with_a,
        "names_with_aaaa": day.names_with_aaaa,
        "ipv6_share": share(day.names_with_aaaa, day.names_with_a + day.names_with_aaaa),
        "delegations": day.delegations,
        "signed_delegations": day.signed_delegations,
        "dnssec_share": share(day.signed_delegations, day.delegations),
    })
}

/// Counts per day (midnight in seconds since the epoch), ascending.
type PerDay = Vec<(i64, u64)>;

/// Per top-level domain within the window: totals and `[day, new names, new domains]`.
fn tlds_json(trends: &Trends, from: i64, top: usize) -> Vec<Value> {
    let in_window = |per_day: Option<&std::collections::BTreeMap<i64, u64>>| {
        per_day
            .into_iter()
            .flat_map(|m| m.range(from..))
            .map(|(&day, &n)| (day, n))
            .collect::<Vec<_>>()
    };
    let mut tlds: Vec<(String, PerDay, PerDay)> = trends
        .new_names_by_tld
        .iter()
        .map(|(tld, names)| {
            let names = in_window(Some(names));
            let domains = in_window(trends.new_domains_by_tld.get(tld));
            (tld.clone(), names, domains)
        })
        .filter(|(_, names, _)| !names.is_empty())
        .collect();
    let total = |per_day: &[(i64, u64)]| per_day.iter().map(|(_, n)| n).sum::<u64>();
    tlds.sort_by(|a, b| total(&b.1).cmp(&total(&a.1)).then(a.0.cmp(&b.0)));
    tlds.truncate(top);
    tlds.iter()
        .map(|(tld, names, domains)| {
            let domains_on = |day: i64| domains.iter().find(|(d, _)| *d == day).map_or(0, |p| p.1);
            let per_day: Vec<Value> = names
                .iter()
                .map(|&(day, n)| json!([timefmt::format_date(day), n, domains_on(day)]))
                .collect();
            json!({
                "tld": tld,
                "new_names": total(names),
                "new_domains": total(domains),
                "per_day": per_day,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn trends() -> Trends {
        let day =
            |n: i64, new_names: u64, a: u64, aaaa: u64, delegations: u64, signed: u64| DayTrend {
                day: n * DAY,
                new_names,
                new_domains: new_names / 2,
                names_with_a: a,
                names_with_aaaa: aaaa,
                delegations,
                signed_delegations: signed,
            };
        Trends {
            days: vec![
                day(1, 4, 3, 1, 0, 0),
                day(5, 2, 1, 1, 4, 1),
                day(6, 6, 0, 0, 2, 2),
            ],
            new_names_by_tld: BTreeMap::from([
                ("com".into(), BTreeMap::from([(DAY, 3), (6 * DAY, 1)])),
                ("org".into(), BTreeMap::from([(5 * DAY, 2), (6 * DAY, 5)])),
            ]),
            new_domains_by_tld: BTreeMap::from([("org".into(), BTreeMap::from([(6 * DAY, 2)]))]),
            rows_scanned: 42,
        }
    }

    #[test]
    fn the_window_counts_back_from_the_latest_day_with_shares() {
        let answer = trends_json(&trends(), 2, 10);
        assert_eq!(answer["from"], "1970-01-06");
        assert_eq!(answer["to"], "1970-01-07");
        let days = answer["days"].as_array().unwrap();
        assert_eq!(days.len(), 2);
        assert_eq!(days[0]["ipv6_share"], 0.5);
        assert_eq!(days[0]["dnssec_share"], 0.25);
        assert_eq!(
            days[1]["ipv6_share"],
            Value::Null,
            "no address records that day"
        );
        assert_eq!(days[1]["dnssec_share"], 1.0);
    }

    #[test]
    fn top_level_domains_are_ranked_by_new_names_in_the_window() {
        let answer = trends_json(&trends(), 2, 10);
        let tlds = answer["tlds"].as_array().unwrap();
        assert_eq!(tlds[0]["tld"], "org");
        assert_eq!(tlds[0]["new_names"], 7);
        assert_eq!(tlds[0]["new_domains"], 2);
        assert_eq!(
            tlds[0]["per_day"],
            json!([["1970-01-06", 2, 0], ["1970-01-07", 5, 2]])
        );
        assert_eq!(tlds[1]["tld"], "com");
        assert_eq!(tlds[1]["new_names"], 1, "day 1 is outside the window");
        assert_eq!(
            trends_json(&trends(), 2, 1)["tlds"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
}
