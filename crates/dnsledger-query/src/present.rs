//! Query answers as dnsdbq prints them: dig-like text, COF JSON lines, CSV, minimal.

use std::io::Write;

use dnsledger_rrset::Seen;
use dnsledger_store::keys::Source;
use dnsledger_store::Row;
use dnsledger_wire::{push_name_text, push_rdata_text, type_name};
use serde_json::{json, Map, Value};

use crate::timefmt;

/// Output formats of `dnsledger query` (`-p`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Csv,
    Minimal,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Format, String> {
        match text {
            "text" | "dns" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "minimal" => Ok(Format::Minimal),
            _ => Err(format!("{text:?}: use text, json, csv or minimal")),
        }
    }
}

/// A row in presentation form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presented {
    pub rrname: String,
    pub rrtype: String,
    pub bailiwick: Option<String>,
    pub rdata: Vec<String>,
    pub seen: Seen,
    pub source: Source,
    /// Rdata rows carry one rdata, printed as a string in JSON as DNSDB does.
    pub rrset_row: bool,
    /// The per-day histogram, when the query asked for it.
    pub activity: Option<ActivityView>,
}

/// A row's activity as shown: `activity` in COF (a dnsledger extension, only on request),
/// `;; activity:` in text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityView {
    /// The width of each bucket: a day, or a power of two of days for long-lived rows.
    pub bucket_seconds: i64,
    /// (bucket start in seconds since the epoch, count), ascending; empty buckets left out.
    pub buckets: Vec<(i64, u64)>,
}

impl ActivityView {
    fn json(&self) -> Value {
        json!({
            "bucket_seconds": self.bucket_seconds,
            "buckets": self.buckets.iter().map(|(start, count)| json!([start, count])).collect::<Vec<_>>(),
        })
    }

    fn from_json(value: &Value) -> Option<ActivityView> {
        let buckets = value["buckets"]
            .as_array()?
            .iter()
            .map(|pair| Some((pair[0].as_i64()?, pair[1].as_u64()?)))
            .collect::<Option<Vec<_>>>()?;
        Some(ActivityView {
            bucket_seconds: value["bucket_seconds"].as_i64()?,
            buckets,
        })
    }

    /// `2024-01-02 3, 2024-01-05 1` (dates of bucket starts, UTC).
    fn text(&self) -> String {
        let buckets: Vec<String> = self
            .buckets
            .iter()
            .map(|(start, count)| format!("{} {count}", timefmt::format_date(*start)))
            .collect();
        let days = self.bucket_seconds / 86_400;
        let unit = if days == 1 {
            "day".to_string()
        } else {
            format!("{days} days")
        };
        format!("per {unit}: {}", buckets.join(", "))
    }
}

fn name_text(wire: &[u8]) -> String {
    let mut text = String::new();
    push_name_text(&mut text, wire);
    text
}

impl From<&Row> for Presented {
    fn from(row: &Row) -> Presented {
        let parts = row.parts();
        let rdata = parts
            .rdata()
            .map(|r| {
                let mut text = String::new();
                push_rdata_text(&mut text, parts.rrtype, r);
                text
            })
            .collect();
        Presented {
            rrname: name_text(parts.rrname),
            rrtype: type_name(parts.rrtype).into_owned(),
            bailiwick: parts.bailiwick.map(name_text),
            rdata,
            seen: row.seen,
            source: row.source,
            rrset_row: row.is_rrset_row,
            activity: row.activity.as_ref().map(|activity| ActivityView {
                bucket_seconds: activity.bucket_seconds(),
                buckets: activity.buckets().collect(),
            }),
        }
    }
}

impl Presented {
    /// A COF / DNSDB record object as a server sent it (`dnsledger query --server`).
    pub fn from_cof(object: &Value) -> Result<Presented, String> {
        let text = |field: &str| {
            object[field]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("record without {field}: {object}"))
        };
        let (source, (first, last)) = match object.get("time_first") {
            Some(_) => (Source::Sensor, time_fields(Source::Sensor)),
            None => (Source::ZoneFile, time_fields(Source::ZoneFile)),
        };
        let integer = |field: &str| {
            object[field]
                .as_i64()
                .ok_or_else(|| format!("record without an integer {field}: {object}"))
        };
        let (rdata, rrset_row) = match &object["rdata"] {
            Value::String(one) => (vec![one.clone()], false),
            Value::Array(many) => (
                many.iter()
                    .map(|r| r.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| format!("rdata that is not text: {object}"))?,
                true,
            ),
            _ => return Err(format!("record without rdata: {object}")),
        };
        Ok(Presented {
            rrname: text("rrname")?,
            rrtype: text("rrtype")?,
            bailiwick: object["bailiwick"].as_str().map(str::to_string),
            rdata,
            seen: Seen {
                time_first: integer(first)?,
                time_last: integer(last)?,
                count: object["count"].as_u64().unwrap_or(0),
            },
            source,
            rrset_row: rrset_row || object.get("bailiwick").is_some(),
            activity: object.get("activity").and_then(ActivityView::from_json),
        })
    }
}

/// The names of the time fields of a row of this source.
fn time_fields(source: Source) -> (&'static str, &'static str) {
    match source {
        Source::Sensor => ("time_first", "time_last"),
        Source::ZoneFile => ("zone_time_first", "zone_time_last"),
    }
}

/// One COF object, fields in DNSDB's order.
pub fn cof_object(row: &Presented) -> Value {
    let (first, last) = time_fields(row.source);
    let mut object = Map::new();
    object.insert("count".into(), json!(row.seen.count));
    object.insert(first.into(), json!(row.seen.time_first));
    object.insert(last.into(), json!(row.seen.time_last));
    object.insert("rrname".into(), json!(row.rrname));
    object.insert("rrtype".into(), json!(row.rrtype));
    if let Some(bailiwick) = &row.bailiwick {
        object.insert("bailiwick".into(), json!(bailiwick));
    }
    let rdata = match (row.rrset_row, row.rdata.as_slice()) {
        (false, [one]) => json!(one),
        _ => json!(row.rdata),
    };
    object.insert("rdata".into(), rdata);
    if let Some(activity) = &row.activity {
        object.insert("activity".into(), activity.json());
    }
    Value::Object(object)
}

/// Writes rows in one format; keeps what CSV's header and minimal's de-duplication need.
pub struct Presenter<W: Write> {
    out: W,
    format: Format,
    csv_header_written: bool,
    minimal_seen: std::collections::HashSet<String>,
}

impl<W: Write> Presenter<W> {
    pub fn new(out: W, format: Format) -> Presenter<W> {
        Presenter {
            out,
            format,
            csv_header_written: false,
            minimal_seen: Default::default(),
        }
    }

    pub fn row(&mut self, row: &Presented) -> std::io::Result<()> {
        match self.format {
            Format::Text => self.text(row),
            Format::Json => writeln!(self.out, "{}", cof_object(row)),
            Format::Csv => self.csv(row),
            Format::Minimal => self.minimal(row),
        }
    }

    fn text(&mut self, row: &Presented) -> std::io::Result<()> {
        let label = match row.source {
            Source::Sensor => ";; record times",
            Source::ZoneFile => ";;   zone times",
        };
        let span =
            row.seen.time_last - row.seen.time_first + i64::from(row.source == Source::Sensor);
        writeln!(
            self.out,
            "{label}: {} .. {} ({})",
            timefmt::format(row.seen.time_first),
            timefmt::format(row.seen.time_last),
            timefmt::format_duration(span)
        )?;
        match &row.bailiwick {
            Some(bailiwick) => writeln!(
                self.out,
                ";; count: {}; bailiwick: {bailiwick}",
                row.seen.count
            )?,
            None => writeln!(self.out, ";; count: {}", row.seen.count)?,
        }
        if let Some(activity) = &row.activity {
            writeln!(self.out, ";; activity {}", activity.text())?;
        }
        for rdata in &row.rdata {
            writeln!(self.out, "{}  {}  {rdata}", row.rrname, row.rrtype)?;
        }
        writeln!(self.out)
    }

    fn csv(&mut self, row: &Presented) -> std::io::Result<()> {
        if !self.csv_header_written {
            writeln!(
                self.out,
                "time_first,time_last,zone_first,zone_last,count,bailiwick,rrname,rrtype,rdata"
            )?;
            self.csv_header_written = true;
        }
        let quoted = |t: i64| format!("\"{}\"", timefmt::format(t));
        let (first, last) = (quoted(row.seen.time_first), quoted(row.seen.time_last));
        let times = match row.source {
            Source::Sensor => format!("{first},{last},,"),
            Source::ZoneFile => format!(",,{first},{last}"),
        };
        let bailiwick = row.bailiwick.as_deref().map(csv_field).unwrap_or_default();
        for rdata in &row.rdata {
            writeln!(
                self.out,
                "{times},{},{bailiwick},{},{},{}",
                row.seen.count,
                csv_field(&row.rrname),
                csv_field(&row.rrtype),
                csv_field(rdata)
            )?;
        }
        Ok(())
    }

    fn minimal(&mut self, row: &Presented) -> std::io::Result<()> {
        let values = match row.rrset_row {
            true => row.rdata.clone(),
            false => vec![row.rrname.clone()],
        };
        for value in values {
            if self.minimal_seen.insert(value.clone()) {
                writeln!(self.out, "{value}")?;
            }
        }
        Ok(())
    }

    /// The summarize answer: total count, number of rows, earliest first and latest last.
    pub fn summary(&mut self, summary: &Summary) -> std::io::Result<()> {
        match self.format {
            Format::Json => writeln!(self.out, "{}", summary.json()),
            Format::Csv => {
                writeln!(
                    self.out,
                    "time_first,time_last,zone_first,zone_last,count,num_results"
                )?;
                let quoted = |t: Option<(i64, i64)>, pick: fn((i64, i64)) -> i64| {
                    t.map(|span| format!("\"{}\"", timefmt::format(pick(span))))
                        .unwrap_or_default()
                };
                writeln!(
                    self.out,
                    "{},{},{},{},{},{}",
                    quoted(summary.sensor, |s| s.0),
                    quoted(summary.sensor, |s| s.1),
                    quoted(summary.zone, |s| s.0),
                    quoted(summary.zone, |s| s.1),
                    summary.count,
                    summary.num_results
                )
            }
            Format::Text | Format::Minimal => {
                for (label, span) in [
                    (";; record times", summary.sensor),
                    (";;   zone times", summary.zone),
                ] {
                    if let Some((first, last)) = span {
                        writeln!(
                            self.out,
                            "{label}: {} .. {}",
                            timefmt::format(first),
                            timefmt::format(last)
                        )?;
                    }
                }
                writeln!(
                    self.out,
                    ";; count: {}; num_results: {}",
                    summary.count, summary.num_results
                )
            }
        }
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// CSV field: quoted, inner quotes doubled.
fn csv_field(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The summarize answer over a selection of rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub count: u64,
    pub num_results: u64,
    /// (earliest first, latest last) of sensor rows and of zone-file rows.
    pub sensor: Option<(i64, i64)>,
    pub zone: Option<(i64, i64)>,
}

impl Summary {
    pub fn add(&mut self, seen: &Seen, source: Source) {
        self.count = self.count.saturating_add(seen.count);
        self.num_results += 1;
        let span = match source {
            Source::Sensor => &mut self.sensor,
            Source::ZoneFile => &mut self.zone,
        };
        *span = Some(match *span {
            None => (seen.time_first, seen.time_last),
            Some((first, last)) => (first.min(seen.time_first), last.max(seen.time_last)),
        });
    }

    /// A summarize object as a server sent it.
    pub fn from_json(object: &Value) -> Summary {
        let span = |first: &str, last: &str| {
            Some((object.get(first)?.as_i64()?, object.get(last)?.as_i64()?))
        };
        Summary {
            count: object["count"].as_u64().unwrap_or(0),
            num_results: object["num_results"].as_u64().unwrap_or(0),
            sensor: span("time_first", "time_last"),
            zone: span("zone_time_first", "zone_time_last"),
        }
    }

    pub fn json(&self) -> Value {
        let mut object = Map::new();
        object.insert("count".into(), json!(self.count));
        object.insert("num_results".into(), json!(self.num_results));
        if let Some((first, last)) = self.sensor {
            object.insert("time_first".into(), json!(first));
            object.insert("time_last".into(), json!(last));
        }
        if let Some((first, last)) = self.zone {
            object.insert("zone_time_first".into(), json!(first));
            object.insert("zone_time_last".into(), json!(last));
        }
        Value::Object(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presented(rrset_row: bool, source: Source) -> Presented {
        Presented {
            rrname: "www.example.com.".into(),
            rrtype: "A".into(),
            bailiwick: rrset_row.then(|| "example.com.".into()),
            rdata: vec!["192.0.2.1".into()],
            seen: Seen {
                time_first: 10,
                time_last: 20,
                count: 3,
            },
            source,
            rrset_row,
            activity: None,
        }
    }

    fn with_activity() -> Presented {
        Presented {
            activity: Some(ActivityView {
                bucket_seconds: 86_400,
                buckets: vec![(0, 2), (172_800, 1)],
            }),
            ..presented(true, Source::Sensor)
        }
    }

    #[test]
    fn record_objects_round_trip_through_json() {
        for row in [
            presented(true, Source::Sensor),
            presented(false, Source::Sensor),
            presented(true, Source::ZoneFile),
            with_activity(),
        ] {
            assert_eq!(Presented::from_cof(&cof_object(&row)), Ok(row));
        }
        assert!(Presented::from_cof(&json!({"rrname": "a."})).is_err());
    }

    #[test]
    fn summaries_round_trip_through_json() {
        let mut summary = Summary::default();
        summary.add(&presented(true, Source::Sensor).seen, Source::Sensor);
        summary.add(&presented(true, Source::ZoneFile).seen, Source::ZoneFile);
        assert_eq!(Summary::from_json(&summary.json()), summary);
    }

    #[test]
    fn activity_is_a_field_in_json_and_a_line_in_text() {
        let row = with_activity();
        assert_eq!(
            cof_object(&row)["activity"],
            json!({"bucket_seconds": 86400, "buckets": [[0, 2], [172800, 1]]})
        );
        assert!(cof_object(&presented(true, Source::Sensor))
            .get("activity")
            .is_none());
        let mut text = Vec::new();
        Presenter::new(&mut text, Format::Text).row(&row).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains(";; activity per day: 1970-01-01 2, 1970-01-03 1\n"),
            "{text}"
        );
    }
}
