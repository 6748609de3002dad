//! Times as dnsdbq users type and read them: epoch seconds, negative = seconds ago,
//! `YYYY-MM-DD[ HH:MM:SS]`, or a relative `1w2d3h4m5s` (= that long ago); printed as
//! `YYYY-MM-DD HH:MM:SS` (UTC).

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn format(epoch: i64) -> String {
    let (days, secs) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `YYYY-MM-DD` in UTC.
pub fn format_date(epoch: i64) -> String {
    let (year, month, day) = civil_from_days(epoch.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

/// A span as dnsdbq prints it beside record times: its two largest units, approximate.
pub fn format_duration(seconds: i64) -> String {
    const UNITS: [(i64, &str); 5] = [
        (365 * 86_400, "y"),
        (86_400, "d"),
        (3600, "h"),
        (60, "m"),
        (1, "s"),
    ];
    let mut rest = seconds.max(0);
    let mut parts = Vec::new();
    for (size, unit) in UNITS {
        if rest >= size && parts.len() < 2 {
            parts.push(format!("~{}{unit}", rest / size));
            rest %= size;
        } else if !parts.is_empty() {
            break;
        }
    }
    if parts.is_empty() {
        parts.push("~0s".to_string());
    }
    parts.join(" ")
}

/// Parses a time as dnsdbq's `-A`/`-B` take it; `now` anchors the relative forms.
pub fn parse(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(number) = text.parse::<i64>() {
        return Ok(if number < 0 { now + number } else { number });
    }
    if let Some(epoch) = parse_date(text) {
        return Ok(epoch);
    }
    if let Some(ago) = parse_relative(text) {
        return Ok(now - ago);
    }
    Err(format!(
        "bad time {text:?}: use epoch seconds, -SECONDS, YYYY-MM-DD[ HH:MM:SS] or 1w2d3h4m5s"
    ))
}

fn parse_date(text: &str) -> Option<i64> {
    let (date, time) = text.split_once([' ', 'T']).unwrap_or((text, "00:00:00"));
    let numbers =
        |s: &str, sep: char| -> Option<Vec<i64>> { s.split(sep).map(|p| p.parse().ok()).collect() };
    let [year, month, day] = numbers(date, '-')?[..] else {
        return None;
    };
    let [hour, minute, second] = numbers(time.trim_end_matches('Z'), ':')?[..] else {
        return None;
    };
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    valid.then(|| days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// `1w2d3h4m5s` in seconds (units in any case, each a number followed by w, d, h, m or s).
fn parse_relative(text: &str) -> Option<i64> {
    let mut total = 0i64;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            'w' => 7 * 86_400,
            'd' => 86_400,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total = total.checked_add(digits.parse::<i64>().ok()?.checked_mul(unit)?)?;
        digits.clear();
    }
    (digits.is_empty() && total > 0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_epoch_seconds() {
        assert_eq!(parse("2013-09-25 15:37:03", 0), Ok(1_380_123_423));
        assert_eq!(format(1_380_123_423), "2013-09-25 15:37:03");
        assert_eq!(parse("2000-02-29", 0), Ok(951_782_400));
        assert_eq!(format(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(format(0), "1970-01-01 00:00:00");
    }

    #[test]
    fn relative_times_count_back_from_now() {
        assert_eq!(parse("-3600", 10_000), Ok(6400));
        assert_eq!(parse("1w2d", 1_000_000), Ok(1_000_000 - 9 * 86_400));
        assert_eq!(parse("1700000000", 5), Ok(1_700_000_000));
        assert!(parse("yesterday", 0).is_err());
        assert!(parse("2013-13-01", 0).is_err());
    }

    #[test]
    fn durations_show_two_units() {
        assert_eq!(
            format_duration(365 * 86_400 + 187 * 86_400 + 5),
            "~1y ~187d"
        );
        assert_eq!(format_duration(1), "~1s");
        assert_eq!(format_duration(3 * 3600 + 60), "~3h ~1m");
    }
}
