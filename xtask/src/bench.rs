//! `bench`: `dnsledger sensor --read` against tshark on the same generated capture, each
//! pinned to one core, alternating runs so that drift on a shared machine hits both alike.
//! Prints a markdown report for docs/BENCHMARKS.md.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::generate::{fingerprint, generate_files, GenParams};
use crate::hierarchy::{DEFAULT_DOMAINS, MAX_DOMAINS};
use crate::measure::{self, Measurement};

/// The issue's goal: ten times gamelinux/passivedns (235k packets/s on this kind of machine).
const TARGET_PACKETS_PER_SECOND: f64 = 2_500_000.0;
/// Below this share of used responses the sensor is dropping what it should keep.
const MIN_USED_SHARE: f64 = 0.8;
/// The fields tshark extracts: the same facts the sensor reads from each response.
const TSHARK_FIELDS: &[&str] = &[
    "frame.time_epoch",
    "dns.qry.name",
    "dns.qry.type",
    "dns.resp.name",
    "dns.resp.type",
    "dns.a",
    "dns.aaaa",
    "dns.ns",
    "dns.cname",
    "dns.mx.mail_exchange",
    "dns.txt",
];

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Packets in the generated capture.
    #[arg(long, default_value_t = 2_000_000)]
    packets: u64,
    /// Runs of each tool (alternating); the report gives medians.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Registered domains in the generated namespace.
    #[arg(long, default_value_t = DEFAULT_DOMAINS,
          value_parser = clap::value_parser!(u32).range(10..=i64::from(MAX_DOMAINS)))]
    domains: u32,
    /// Where captures are generated (and reused when the generator and parameters match).
    #[arg(long, default_value = "/var/tmp/dnsledger-bench")]
    work_dir: PathBuf,
    /// The dnsledger binary (default: the one next to this xtask binary, i.e. the same
    /// cargo target directory and profile).
    #[arg(long)]
    dnsledger: Option<PathBuf>,
    /// The CPU both tools are pinned to.
    #[arg(long, default_value_t = 0)]
    cpu: u32,
}

/// The generated input of a benchmark.
struct Capture {
    pcap: PathBuf,
    hints: PathBuf,
    packets: u64,
    bytes: u64,
    command: String,
}

/// The sensor's own account of a run, to catch a benchmark that silently drops everything.
#[derive(Clone, Debug)]
struct SensorFigures {
    frames: u64,
    responses: u64,
    pairs: u64,
    responses_used: u64,
    rrsets_flushed: u64,
    dropped_out_of_bailiwick: u64,
    dropped_unknown_server: u64,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let dnsledger = dnsledger_binary(args)?;
    fs::create_dir_all(&args.work_dir)
        .with_context(|| format!("creating {}", args.work_dir.display()))?;
    let capture = prepare_capture(args)?;
    let tshark_version = tshark_version()?;
    let (mut sensor_runs, mut tshark_runs) = (Vec::new(), Vec::new());
    let mut figures = None;
    for run in 1..=args.runs {
        let (measurement, run_figures) = run_sensor(args, &dnsledger, &capture)?;
        eprintln!(
            "run {run}/{}: dnsledger {:.3} s",
            args.runs,
            measurement.wall.as_secs_f64()
        );
        sensor_runs.push(measurement);
        figures = Some(run_figures);
        let measurement = run_tshark(args, &capture)?;
        eprintln!(
            "run {run}/{}: tshark {:.3} s",
            args.runs,
            measurement.wall.as_secs_f64()
        );
        tshark_runs.push(measurement);
    }
    let report = Report {
        capture: &capture,
        runs: args.runs,
        cpu: args.cpu,
        sensor: Summary::of("dnsledger sensor", &sensor_runs, capture.packets),
        tshark: Summary::of(&tshark_version, &tshark_runs, capture.packets),
        figures: figures.expect("at least one run"),
    };
    print!("{}", report.markdown());
    Ok(())
}

fn dnsledger_binary(args: &BenchArgs) -> Result<PathBuf> {
    let path = match &args.dnsledger {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("dnsledger"),
    };
    ensure!(
        path.is_file(),
        "{} is missing: build it first (scripts/bench does: cargo build --release -p dnsledger -p xtask)",
        path.display()
    );
    Ok(path)
}

/// The capture for these parameters, generated unless an identical one is there. Its name
/// carries a fingerprint of the generator's output, so a changed generator never reuses a
/// stale capture.
fn prepare_capture(args: &BenchArgs) -> Result<Capture> {
    let params = GenParams {
        packets: args.packets,
        seed: args.seed,
        domains: args.domains,
    };
    let prefix = format!(
        "capture-p{}-s{}-d{}-",
        params.packets, params.seed, params.domains
    );
    let stem = format!("{prefix}{:016x}", fingerprint(&params)?);
    let pcap = args.work_dir.join(format!("{stem}.pcap"));
    let hints = args.work_dir.join(format!("{stem}.hints"));
    if pcap.is_file() && hints.is_file() {
        eprintln!("reusing {}", pcap.display());
    } else {
        remove_stale(&args.work_dir, &prefix)?;
        let start = Instant::now();
        let summary = generate_files(&params, &pcap, &hints)?;
        eprintln!(
            "generated {} in {:.1} s: {summary}",
            pcap.display(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(Capture {
        bytes: fs::metadata(&pcap)?.len(),
        command: format!(
            "cargo xtask gen-capture --packets {} --seed {} --domains {} --out FILE.pcap --hints-out FILE.hints",
            params.packets, params.seed, params.domains
        ),
        packets: params.packets,
        pcap,
        hints,
    })
}

/// Captures of the same parameters made by another version of the generator.
fn remove_stale(dir: &Path, prefix: &str) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with(prefix) {
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

fn pinned(cpu: u32, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new("taskset");
    command.arg("-c").arg(cpu.to_string()).arg(program);
    command
}

fn run_sensor(
    args: &BenchArgs,
    dnsledger: &Path,
    capture: &Capture,
) -> Result<(Measurement, SensorFigures)> {
    let stats = args.work_dir.join("sensor-stats.json");
    let stderr = args.work_dir.join("sensor.stderr");
    let _ = fs::remove_file(&stats);
    let mut command = pinned(args.cpu, dnsledger);
    command
        .arg("sensor")
        .arg("--root-hints")
        .arg(&capture.hints)
        .arg("--read")
        .arg(&capture.pcap)
        .args(["--output", "/dev/null", "--stats-json"])
        .arg(&stats);
    let measurement = run_logged(&mut command, &stderr)?;
    let figures = SensorFigures::read(&stats)?;
    figures.check(capture.packets)?;
    Ok((measurement, figures))
}

fn run_tshark(args: &BenchArgs, capture: &Capture) -> Result<Measurement> {
    let mut command = pinned(args.cpu, "tshark");
    command.arg("-n").arg("-r").arg(&capture.pcap).args([
        "-Y",
        "dns.flags.response == 1",
        "-T",
        "fields",
    ]);
    for field in TSHARK_FIELDS {
        command.args(["-e", field]);
    }
    run_logged(&mut command, &args.work_dir.join("tshark.stderr"))
}

/// Runs with standard output discarded and standard error kept in `stderr_path` (shown
/// when the command fails).
fn run_logged(command: &mut Command, stderr_path: &Path) -> Result<Measurement> {
    let stderr = fs::File::create(stderr_path)?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    let measurement = measure::run(command).with_context(|| format!("running {command:?}"))?;
    if !measurement.status.success() {
        let log = fs::read_to_string(stderr_path).unwrap_or_default();
        bail!("{command:?} failed ({}):\n{log}", measurement.status);
    }
    Ok(measurement)
}

fn tshark_version() -> Result<String> {
    let output = Command::new("tshark")
        .arg("--version")
        .output()
        .context("running tshark (scripts/ensure-deps bench installs it)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let first = text.lines().next().unwrap_or("tshark");
    // "TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as ...)" -> "tshark 4.0.17"
    let version = first.split_whitespace().nth(2).unwrap_or("?");
    Ok(format!("tshark {version}"))
}

impl SensorFigures {
    fn read(path: &Path) -> Result<SensorFigures> {
        let text =
            fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text)?;
        let get = |name: &str| -> Result<u64> {
            json.get(name)
                .and_then(serde_json::Value::as_u64)
                .with_context(|| format!("{} lacks {name}", path.display()))
        };
        Ok(SensorFigures {
            frames: get("capture.frames")?,
            responses: get("sensor.responses")?,
            pairs: get("sensor.pairs")?,
            responses_used: get("sensor.responses_used")?,
            rrsets_flushed: get("sensor.rrsets_flushed")?,
            dropped_out_of_bailiwick: get("sensor.rrsets_dropped_out_of_bailiwick")?,
            dropped_unknown_server: get("sensor.responses_dropped_unknown_server")?,
        })
    }

    /// Fails a run that did not read every packet or used too few responses: its speed
    /// would not mean anything.
    fn check(&self, packets: u64) -> Result<()> {
        ensure!(
            self.frames == packets,
            "the sensor read {} frames of {packets}",
            self.frames
        );
        ensure!(
            self.responses_used as f64 >= MIN_USED_SHARE * self.responses as f64,
            "the sensor used only {} of {} responses",
            self.responses_used,
            self.responses
        );
        ensure!(self.rrsets_flushed > 0, "the sensor wrote no RRsets");
        Ok(())
    }
}

/// One tool's runs, reduced.
struct Summary {
    tool: String,
    median_wall: Duration,
    min_wall: Duration,
    max_wall: Duration,
    median_cpu: Duration,
    max_rss_kib: u64,
    packets_per_second: f64,
}

impl Summary {
    fn of(tool: &str, runs: &[Measurement], packets: u64) -> Summary {
        let median_wall = median(runs.iter().map(|m| m.wall).collect());
        Summary {
            tool: tool.to_string(),
            median_wall,
            min_wall: runs.iter().map(|m| m.wall).min().unwrap_or_default(),
            max_wall: runs.iter().map(|m| m.wall).max().unwrap_or_default(),
            median_cpu: median(runs.iter().map(|m| m.cpu).collect()),
            max_rss_kib: runs.iter().map(|m| m.max_rss_kib).max().unwrap_or(0),
            packets_per_second: packets as f64 / median_wall.as_secs_f64(),
        }
    }

    fn row(&self) -> String {
        format!(
            "| {} | {} | {:.3} | {:.3}–{:.3} | {:.3} | {} |\n",
            self.tool,
            thousands(self.packets_per_second.round() as u64),
            self.median_wall.as_secs_f64(),
            self.min_wall.as_secs_f64(),
            self.max_wall.as_secs_f64(),
            self.median_cpu.as_secs_f64(),
            thousands(self.max_rss_kib.div_ceil(1024)),
        )
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    let mid = values.len() / 2;
    match values.len() % 2 {
        1 => values[mid],
        _ => (values[mid - 1] + values[mid]) / 2,
    }
}

struct Report<'a> {
    capture: &'a Capture,
    runs: u32,
    cpu: u32,
    sensor: Summary,
    tshark: Summary,
    figures: SensorFigures,
}

impl Report<'_> {
    fn markdown(&self) -> String {
        let (sensor, tshark, f) = (&self.sensor, &self.tshark, &self.figures);
        let ratio = sensor.packets_per_second / tshark.packets_per_second;
        let of_target = 100.0 * sensor.packets_per_second / TARGET_PACKETS_PER_SECOND;
        let used = 100.0 * f.responses_used as f64 / f.responses.max(1) as f64;
        let mut out = String::new();
        out += &format!("Machine: {}.\n\n", machine_description());
        out += &format!(
            "Input: {} packets, {} bytes (`{}`).\n\n",
            thousands(self.capture.packets),
            thousands(self.capture.bytes),
            self.capture.command
        );
        out += &format!(
            "{} runs of each tool, alternating, pinned to CPU {} with `taskset`; wall time and \
             CPU are medians, RSS the maximum (wait4 rusage).\n\n",
            self.runs, self.cpu
        );
        out += "| tool | packets/s | wall s (median) | wall s (min–max) | CPU s (median) | max RSS MiB |\n";
        out += "|---|--:|--:|--:|--:|--:|\n";
        out += &sensor.row();
        out += &tshark.row();
        out += &format!(
            "\n**dnsledger / tshark: {ratio:.1}x** packets per second. Target {} packets/s: \
             {of_target:.0}% of it.\n\n",
            thousands(TARGET_PACKETS_PER_SECOND as u64)
        );
        out += &format!(
            "Sensor counters (last run): {} responses, {} paired, {} used ({used:.1}%), \
             {} RRsets written, {} RRsets dropped out of bailiwick, {} responses from unknown servers.\n",
            thousands(f.responses),
            thousands(f.pairs),
            thousands(f.responses_used),
            thousands(f.rrsets_flushed),
            thousands(f.dropped_out_of_bailiwick),
            thousands(f.dropped_unknown_server),
        );
        out
    }
}

/// CPU count, model and memory of this machine, from /proc.
pub(crate) fn machine_description() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = proc_field(&cpuinfo, "model name").unwrap_or("unknown CPU");
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = proc_field(&meminfo, "MemTotal")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    format!(
        "{cpus} CPUs ({model}), {:.1} GiB memory",
        mem_kib as f64 / (1u64 << 20) as f64
    )
}

fn proc_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find(|line| line.split(':').next().map(str::trim) == Some(key))
        .and_then(|line| line.split_once(':'))
        .map(|(_, value)| value.trim())
}

/// 1234567 -> "1,234,567".
pub(crate) fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(2_500_000), "2,500,000");
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        let s = Duration::from_secs;
        assert_eq!(median(vec![s(3), s(1), s(2)]), s(2));
        assert_eq!(
            median(vec![s(4), s(1), s(2), s(3)]),
            Duration::from_millis(2500)
        );
    }

    #[test]
    fn reads_proc_fields() {
        let text = "processor\t: 0\nmodel name\t: AMD EPYC\n";
        assert_eq!(proc_field(text, "model name"), Some("AMD EPYC"));
        assert_eq!(proc_field(text, "MemTotal"), None);
    }
}
