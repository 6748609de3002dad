//! dnstap for `dnsledger sensor`: dnstap files among the `--read` inputs (told by content),
//! and live receivers (`--dnstap unix:PATH|tcp:ADDRESS:PORT`) until SIGINT or SIGTERM.
//! `serve --dnstap` runs the same receiver ([`DnstapInput::listen`],
//! [`DnstapInput::receive`]) on a thread of its own.

use std::fs::File;
use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use dnsledger_dnstap::{
    feed_file, file::decompressed, Endpoint, Feeder, FileEnd, FileReader, Receiver, ReceiverConfig,
    ReceiverStats,
};
use dnsledger_rrset::ObservationSink;
use dnsledger_sensor::live::FlushTimer;
use dnsledger_sensor::{Sensor, SensorStats};
use indicatif::ProgressBar;

use crate::exit;

/// The dnstap receiver's options (`sensor` and `serve`).
#[derive(Args, Debug)]
pub struct DnstapArgs {
    /// Receive dnstap from resolvers (Frame Streams, bidirectional handshake) on
    /// `unix:PATH` or `tcp:ADDRESS:PORT`; repeat for several. Runs until SIGINT or SIGTERM,
    /// then writes what it holds. (dnstap files need no option: `--read` tells them by
    /// their content.)
    #[arg(id = "dnstap", long = "dnstap", value_name = "ENDPOINT")]
    pub endpoints: Vec<Endpoint>,

    /// dnstap frames queued between the connections and the sensor; when the sensor falls
    /// behind, further frames are dropped and counted (`dnstap.frames_dropped_queue_full`)
    /// rather than slowing the resolver down.
    #[arg(long, default_value_t = 65_536, value_name = "N")]
    pub dnstap_queue: usize,
}

/// How often a stopping receiver looks at the signal flag while no frame arrives.
const STOP_POLL: Duration = Duration::from_millis(100);

/// The progress bar takes a lock; updating it every frame would cost more than decoding.
const PROGRESS_EVERY_FRAMES: u64 = 16 * 1024;

/// dnstap input of one sensor run: the feeder (and its counters) shared by files and
/// receivers.
pub struct DnstapInput<'a> {
    args: &'a DnstapArgs,
    feeder: Feeder,
    receiver_stats: ReceiverStats,
}

impl<'a> DnstapInput<'a> {
    /// `client_side`: also use the resolver's answers to its clients (`--accept-rd`).
    pub fn new(args: &'a DnstapArgs, client_side: bool) -> DnstapInput<'a> {
        DnstapInput {
            args,
            feeder: Feeder::new(client_side),
            receiver_stats: ReceiverStats::default(),
        }
    }

    /// Whether `path` is a dnstap file rather than a capture. Standard input is always a
    /// capture (it cannot be read twice); a file that cannot be opened is left to the
    /// capture reader, which reports it.
    pub fn claims(path: &Path) -> bool {
        path.as_os_str() != "-" && dnsledger_dnstap::is_dnstap_file(path).unwrap_or(false)
    }

    /// Reads one dnstap file into the sensor, with the exit statuses of a capture: an input
    /// that cannot be read is `exit::ERROR`, damage part-way `exit::DAMAGED_INPUT` (the
    /// frames before it were used); only a failing output aborts the run.
    pub fn read_file<S: ObservationSink>(
        &mut self,
        path: &Path,
        sensor: &mut Sensor<S>,
        progress: &ProgressBar,
    ) -> Result<u8> {
        let read = Arc::new(AtomicU64::new(0));
        let mut reader = match open_counted(path, &read) {
            Ok(reader) => reader,
            Err(error) => {
                eprintln!("dnsledger: error: {}: {error:#}", path.display());
                return Ok(exit::ERROR);
            }
        };
        progress.set_message(path.display().to_string());
        let start = progress.position();
        let mut frames = 0u64;
        let end = feed_file(&mut reader, &mut self.feeder, sensor, || {
            frames += 1;
            if frames.is_multiple_of(PROGRESS_EVERY_FRAMES) {
                progress.set_position(start + read.load(Ordering::Relaxed));
            }
            ControlFlow::Continue(())
        })
        .context("writing the output")?;
        progress.set_position(start + read.load(Ordering::Relaxed));
        match end {
            FileEnd::Complete | FileEnd::Interrupted => Ok(exit::OK),
            FileEnd::Damaged(damage) => {
                eprintln!(
                    "dnsledger: warning: {}: {damage}; the data before it was used",
                    path.display()
                );
                Ok(exit::DAMAGED_INPUT)
            }
        }
    }

    /// Receives dnstap on every `--dnstap` endpoint until SIGINT or SIGTERM (see
    /// [`DnstapInput::receive`]). Does nothing without endpoints.
    pub fn receive_until_signal<S: ObservationSink>(
        &mut self,
        sensor: &mut Sensor<S>,
        flush_interval: Duration,
    ) -> Result<()> {
        if self.args.endpoints.is_empty() {
            return Ok(());
        }
        let stop = crate::stop_on_signals()?;
        let receiver = self.listen("dnsledger sensor")?;
        self.receive(&receiver, sensor, flush_interval, &stop, |_| {})
    }

    /// Listens on every `--dnstap` endpoint (frames queue from then on), saying so on
    /// standard error as `command`.
    pub fn listen(&self, command: &str) -> Result<Receiver> {
        let config = ReceiverConfig {
            queue_frames: self.args.dnstap_queue,
            ..ReceiverConfig::default()
        };
        let receiver = Receiver::start(&self.args.endpoints, config)?;
        for endpoint in receiver.endpoints() {
            eprintln!("{command}: receiving dnstap on {endpoint}");
        }
        Ok(receiver)
    }

    /// Feeds the sensor from `receiver` until `stop` is set, flushing it every
    /// `flush_interval` of wall-clock time (`on_flush` then gets every counter, see
    /// [`DnstapInput::all_counters`]); then uses what is still queued.
    pub fn receive<S: ObservationSink>(
        &mut self,
        receiver: &Receiver,
        sensor: &mut Sensor<S>,
        flush_interval: Duration,
        stop: &AtomicBool,
        mut on_flush: impl FnMut(Vec<(String, u64)>),
    ) -> Result<()> {
        let mut timer = FlushTimer::new(flush_interval);
        while !stop.load(Ordering::Relaxed) {
            if let Some(frame) = receiver.recv_timeout(timer.time_left().min(STOP_POLL)) {
                self.feeder
                    .frame(sensor, &frame)
                    .context("writing the output")?;
            }
            if timer.flush_if_due(sensor).context("writing the output")? {
                self.receiver_stats = receiver.stats();
                on_flush(self.all_counters(&sensor.stats()));
            }
        }
        // What was queued when the signal came; bounded, as senders may still be sending.
        for _ in 0..self.args.dnstap_queue {
            let Some(frame) = receiver.try_recv() else {
                break;
            };
            self.feeder
                .frame(sensor, &frame)
                .context("writing the output")?;
        }
        self.receiver_stats = receiver.stats();
        Ok(())
    }

    /// Every dnstap counter (files and receivers), by name.
    pub fn counters(&self) -> Vec<(&'static str, u64)> {
        let mut all = self.feeder.stats().counters();
        all.extend(self.receiver_stats.counters());
        all
    }

    /// `sensor`'s counters and the dnstap ones, by section and name (`sensor.pairs`,
    /// `dnstap.frames_received`, ...).
    pub fn all_counters(&self, sensor: &SensorStats) -> Vec<(String, u64)> {
        let sensor = sensor.counters().into_iter().map(|c| ("sensor", c));
        let dnstap = self.counters().into_iter().map(|c| ("dnstap", c));
        sensor
            .chain(dnstap)
            .map(|(section, (name, value))| (format!("{section}.{name}"), value))
            .collect()
    }
}

/// A dnstap file, decompressed when gzip, counting the stored bytes read into `read`.
fn open_counted(path: &Path, read: &Arc<AtomicU64>) -> Result<FileReader<Box<dyn Read + Send>>> {
    let file = File::open(path)?;
    let counted = Counted {
        inner: file,
        read: Arc::clone(read),
    };
    Ok(FileReader::new(decompressed(counted)?)?)
}

/// Counts bytes read from the stored file, for progress through a decompressor.
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.read.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}
