//! What one submission carries, as both ends read it: the batch id, the body (COF NDJSON,
//! the sensor's own output format, gzip-compressed) and the bounds on it.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use dnsledger_rrset::{read_cof_line, CofSink, CofTimes, Observation, ObservationSink};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

/// The most text (decompressed) one batch may hold; the server refuses more with 413. It
/// bounds the server's memory per submission and catches gzip bombs.
pub const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;

/// Where the sensor cuts its output into batches (bytes of text before compression): far
/// below [`MAX_BATCH_BYTES`], so that a batch never reaches it whatever its last line, and
/// small enough that a resent batch costs little.
pub const TARGET_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Longest sensor id: it is part of every batch id and of a meta key per batch.
const MAX_SENSOR_ID_LEN: usize = 64;

/// `<sensor-id>/<sequence>`: names a batch for good, so that the server records it once
/// however often it is sent. The sensor id is 1-64 of `A-Z a-z 0-9 . _ -`; the sequence a
/// decimal number that the sensor never reuses.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BatchId {
    sensor: String,
    seq: u64,
}

/// Why text is not a batch id or a sensor id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad {what} {text:?}: expected {expected}")]
pub struct BadId {
    what: &'static str,
    text: String,
    expected: &'static str,
}

const SENSOR_ID_SYNTAX: &str = "1 to 64 of A-Z a-z 0-9 . _ -";

impl BatchId {
    pub fn new(sensor: &str, seq: u64) -> Result<BatchId, BadId> {
        check_sensor_id(sensor)?;
        Ok(BatchId {
            sensor: sensor.to_string(),
            seq,
        })
    }

    pub fn sensor(&self) -> &str {
        &self.sensor
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.sensor, self.seq)
    }
}

/// Parses `<sensor-id>/<sequence>`. The sequence has no sign and no leading zero, so each
/// batch has exactly one spelling and one meta record.
impl FromStr for BatchId {
    type Err = BadId;

    fn from_str(text: &str) -> Result<BatchId, BadId> {
        let bad = || BadId {
            what: "batch id",
            text: text.to_string(),
            expected: "SENSOR/SEQUENCE: SENSOR 1 to 64 of A-Z a-z 0-9 . _ -, \
                       SEQUENCE a decimal number without leading zeros",
        };
        let (sensor, seq) = text.split_once('/').ok_or_else(bad)?;
        let canonical =
            seq.bytes().all(|b| b.is_ascii_digit()) && (seq == "0" || !seq.starts_with('0'));
        let seq = seq
            .parse::<u64>()
            .ok()
            .filter(|_| canonical)
            .ok_or_else(bad)?;
        BatchId::new(sensor, seq).map_err(|_| bad())
    }
}

/// Refuses a sensor id outside `1-64 of A-Z a-z 0-9 . _ -`.
pub fn check_sensor_id(text: &str) -> Result<(), BadId> {
    let valid = (1..=MAX_SENSOR_ID_LEN).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    match valid {
        true => Ok(()),
        false => Err(BadId {
            what: "sensor id",
            text: text.to_string(),
            expected: SENSOR_ID_SYNTAX,
        }),
    }
}

/// A sensor id made from a host name: other characters become `-`, cut at 64; `None` when
/// nothing is left.
pub fn sensor_id_from_hostname(hostname: &str) -> Option<String> {
    let id: String = hostname
        .trim()
        .chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                true => c,
                false => '-',
            },
        )
        .take(MAX_SENSOR_ID_LEN)
        .collect();
    check_sensor_id(&id).ok().map(|()| id)
}

/// This machine's host name as a sensor id (Linux: `/proc/sys/kernel/hostname`).
pub fn hostname_sensor_id() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()?;
    sensor_id_from_hostname(&name)
}

/// A batch ready to send: its id, how many observations it holds, and its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub id: BatchId,
    pub observations: u64,
    /// COF NDJSON, gzip-compressed.
    pub body: Vec<u8>,
}

/// An encoded batch that has no id yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    pub observations: u64,
    /// COF NDJSON, gzip-compressed.
    pub body: Vec<u8>,
}

/// Encodes observations as gzip-compressed COF NDJSON bodies, cut at line ends once a body
/// holds `target` bytes of text (a single longer line makes a body of its own).
pub fn encode(observations: Vec<Observation>, target: usize) -> io::Result<Vec<Encoded>> {
    let mut sink = CofSink::new(Cutter {
        target,
        text: Vec::new(),
        done: Vec::new(),
    });
    sink.accept(observations).map_err(io::Error::other)?;
    let mut cutter = sink.into_inner();
    cutter.cut()?;
    Ok(cutter.done)
}

/// Collects the text CofSink writes and compresses it body by body. It cuts only after a
/// newline, so a body never ends mid-line however the writes come.
struct Cutter {
    target: usize,
    text: Vec<u8>,
    done: Vec<Encoded>,
}

impl Cutter {
    fn cut(&mut self) -> io::Result<()> {
        if self.text.is_empty() {
            return Ok(());
        }
        let observations = self.text.iter().filter(|&&b| b == b'\n').count() as u64;
        let mut gzip = GzEncoder::new(Vec::with_capacity(self.text.len() / 4), Compression::fast());
        gzip.write_all(&self.text)?;
        self.done.push(Encoded {
            observations,
            body: gzip.finish()?,
        });
        self.text.clear();
        Ok(())
    }
}

impl Write for Cutter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.text.len() + buf.len() > self.target && self.text.ends_with(b"\n") {
            self.cut()?;
        }
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Why a body could not be decompressed.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the batch holds more than {MAX_BATCH_BYTES} bytes of text")]
    TooLarge,
    #[error("the body is not valid gzip: {0}")]
    Gzip(#[source] io::Error),
}

/// The text of a gzip body (several members read as one, as `gzip -d` does), refused once
/// it passes `max` bytes: the bound is on what comes out, so a small body that inflates
/// without end (a gzip bomb) stops there.
pub fn gunzip(body: &[u8], max: usize) -> Result<Vec<u8>, BodyError> {
    let mut text = Vec::new();
    MultiGzDecoder::new(body)
        .take(max as u64 + 1)
        .read_to_end(&mut text)
        .map_err(BodyError::Gzip)?;
    match text.len() > max {
        true => Err(BodyError::TooLarge),
        false => Ok(text),
    }
}

/// Why a batch's text was refused: the first bad line (1-based) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LineError {
    pub line: usize,
    pub reason: String,
}

/// The observations of a batch's text, every line checked; empty lines are skipped. One bad
/// line refuses the whole batch: a batch is stored entirely or not at all.
pub fn decode(text: &[u8]) -> Result<Vec<Observation>, LineError> {
    text.split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.trim_ascii().is_empty())
        .map(|(index, line)| {
            observation(line).map_err(|reason| LineError {
                line: index + 1,
                reason,
            })
        })
        .collect()
}

/// A line as `CofSink` writes it; a batch carries sensor rows only.
fn observation(line: &[u8]) -> Result<Observation, String> {
    match read_cof_line(line).map_err(|e| e.to_string())? {
        (CofTimes::Sensor, observation) => Ok(observation),
        (CofTimes::ZoneFile, _) => Err("zone-file rows cannot be submitted".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dnsledger_rrset::{RRset, Seen};
    use dnsledger_wire::NameBuf;

    fn observation(owner: &str, rrtype: u16, rdata: Vec<Vec<u8>>, count: u64) -> Observation {
        Observation {
            rrset: RRset::new(
                NameBuf::from_text(owner).unwrap(),
                rrtype,
                Some(NameBuf::from_text("example.").unwrap()),
                rdata,
            ),
            seen: Seen {
                time_first: 100,
                time_last: 200,
                count,
            },
        }
    }

    fn samples() -> Vec<Observation> {
        vec![
            observation(
                "www.example.",
                1,
                vec![vec![192, 0, 2, 1], vec![192, 0, 2, 9]],
                3,
            ),
            observation(
                "we\\\"ird\\.name.example.",
                16,
                vec![b"\x05a\"b\\c".to_vec()],
                1,
            ),
            observation("x.example.", 65280, vec![vec![1, 2, 3]], 7),
            Observation {
                rrset: RRset::new(NameBuf::root(), 2, None, vec![b"\x01a\x00".to_vec()]),
                seen: Seen::once(5),
            },
        ]
    }

    fn decoded(encoded: &[Encoded]) -> Vec<Observation> {
        encoded
            .iter()
            .flat_map(|e| decode(&gunzip(&e.body, MAX_BATCH_BYTES).unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn a_batch_reads_back_as_the_observations_it_was_made_of() {
        let encoded = encode(samples(), TARGET_BATCH_BYTES).unwrap();
        assert_eq!(encoded.len(), 1);
        assert_eq!(encoded[0].observations, 4);
        assert_eq!(decoded(&encoded), samples());
    }

    #[test]
    fn big_flushes_are_cut_at_line_ends_into_several_batches() {
        let many: Vec<Observation> = (0..100u8)
            .map(|i| observation(&format!("n{i}.example."), 1, vec![vec![10, 0, 0, i]], 1))
            .collect();
        let encoded = encode(many.clone(), 1000).unwrap();
        assert!(encoded.len() > 5, "{} batches", encoded.len());
        assert_eq!(encoded.iter().map(|e| e.observations).sum::<u64>(), 100);
        assert_eq!(decoded(&encoded), many);
        assert!(encode(Vec::new(), 1000).unwrap().is_empty());
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_bound() {
        let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
        gzip.write_all(&vec![b'\n'; 10_000_000]).unwrap();
        let bomb = gzip.finish().unwrap();
        assert!(bomb.len() < 100_000);
        assert!(matches!(gunzip(&bomb, 1_000_000), Err(BodyError::TooLarge)));
        assert_eq!(gunzip(&bomb, 10_000_000).unwrap().len(), 10_000_000);
        assert!(matches!(
            gunzip(b"plain text", 100),
            Err(BodyError::Gzip(_))
        ));
    }

    #[test]
    fn a_bad_line_refuses_the_batch_and_says_where() {
        let good = r#"{"rrname":"a.example.","rrtype":"A","rdata":["192.0.2.1"],"count":1,"time_first":1,"time_last":2}"#;
        let cases = [
            ("{".to_string(), "not a COF object"),
            (good.replace("\"A\"", "\"NOPE\""), "unknown rrtype"),
            (good.replace("192.0.2.1", "300.0.0.1"), "rdata"),
            (good.replace("[\"192.0.2.1\"]", "[]"), "empty rdata"),
            (
                good.replace("\"time_first\":1", "\"time_first\":3"),
                "times",
            ),
            (good.replace("\"count\":1", "\"count\":0"), "count"),
            (
                good.replace(
                    "\"time_first\":1,\"time_last\":2",
                    "\"zone_time_first\":1,\"zone_time_last\":2",
                ),
                "zone-file rows",
            ),
        ];
        for (bad, reason) in cases {
            let text = format!("{good}\n\n{bad}\n{good}\n");
            let error = decode(text.as_bytes()).unwrap_err();
            assert_eq!(error.line, 3, "{bad}");
            assert!(error.reason.contains(reason), "{bad}: {error}");
        }
        assert_eq!(
            decode(format!("{good}\n{good}").as_bytes()).unwrap().len(),
            2
        );
    }

    #[test]
    fn batch_ids_have_one_spelling() {
        let id: BatchId = "sensor-1.example/42".parse().unwrap();
        assert_eq!((id.sensor(), id.seq()), ("sensor-1.example", 42));
        assert_eq!(id.to_string(), "sensor-1.example/42");
        assert_eq!("s/0".parse::<BatchId>().unwrap().seq(), 0);
        let max = format!("s/{}", u64::MAX);
        assert_eq!(max.parse::<BatchId>().unwrap().to_string(), max);
        for bad in [
            "",
            "s",
            "s/",
            "/1",
            "s/01",
            "s/+1",
            "s/-1",
            "s/1/2",
            "a b/1",
            "s/1x",
            "s/18446744073709551616",
        ] {
            assert!(bad.parse::<BatchId>().is_err(), "{bad:?}");
        }
        assert!(format!("{}/1", "a".repeat(64)).parse::<BatchId>().is_ok());
        assert!(format!("{}/1", "a".repeat(65)).parse::<BatchId>().is_err());
    }

    #[test]
    fn host_names_become_sensor_ids() {
        assert_eq!(
            sensor_id_from_hostname("tap-1.example\n").as_deref(),
            Some("tap-1.example")
        );
        assert_eq!(sensor_id_from_hostname("é x").as_deref(), Some("--x"));
        assert_eq!(sensor_id_from_hostname(&"h".repeat(80)).unwrap().len(), 64);
        assert_eq!(sensor_id_from_hostname("  \n"), None);
    }
}
