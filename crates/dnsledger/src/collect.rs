//! `dnsledger serve --interface IF` and `--dnstap ENDPOINT`: collectors in the server's
//! process.
//!
//! Each collector is the sensor command's input (the live capture of `live`, the dnstap
//! receiver of `sensor_dnstap`) with a sensor of its own, run on a thread of its own, its
//! flushes (every `--flush-interval`) written to the store the server holds as its writer:
//! each flush is one atomic durable write that queries see at once. Their counters are
//! published at every flush for the server's `/metrics`. The inputs are opened before the
//! server starts, so a missing capability or a socket in use fails the start; when the
//! server stops, the collectors stop, flush and report; a collector that fails stops the
//! server, which would otherwise serve a history that silently stopped growing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use dnsledger_dnstap::Receiver;
use dnsledger_live::LiveCapture;
use dnsledger_sensor::{Sensor, SensorConfig};
use dnsledger_server::MetricSource;
use dnsledger_store::Store;
use tokio::sync::Notify;

use crate::live::{self, LiveArgs};
use crate::output::OutputSink;
use crate::sensor_dnstap::{DnstapArgs, DnstapInput};
use crate::sensor_options::SensorOptions;

/// How `serve` collects by itself.
#[derive(Args, Debug)]
pub struct CollectArgs {
    #[command(flatten)]
    pub live: LiveArgs,

    #[command(flatten)]
    pub dnstap: DnstapArgs,

    #[command(flatten)]
    pub sensor: SensorOptions,
}

/// What the server's process says of itself.
const COMMAND: &str = "dnsledger serve";

/// A collector's counters as its thread last published them (`section.name`).
#[derive(Clone, Default)]
struct Published(Arc<Mutex<Vec<(String, u64)>>>);

impl Published {
    fn set(&self, counters: Vec<(String, u64)>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = counters;
    }

    fn source(&self) -> MetricSource {
        let published = self.clone();
        MetricSource::counters(move || {
            published
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        })
    }
}

// At most one of each per process, moved once: their sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Input<'a> {
    Live {
        interface: &'a str,
        capture: LiveCapture,
    },
    Dnstap {
        input: DnstapInput<'a>,
        receiver: Receiver,
    },
}

struct Collector<'a> {
    input: Input<'a>,
    published: Published,
}

/// The collectors of one server, their inputs open.
pub struct Collectors<'a> {
    config: SensorConfig,
    flush_interval: Duration,
    collectors: Vec<Collector<'a>>,
}

impl<'a> Collectors<'a> {
    /// Opens every input the options name: the capture sockets, the dnstap listeners.
    /// `None` when they name none.
    pub fn open(args: &'a CollectArgs) -> Result<Option<Collectors<'a>>> {
        if args.live.interface.is_none() && args.dnstap.endpoints.is_empty() {
            return Ok(None);
        }
        let config = args.sensor.config()?;
        let flush_interval = args.sensor.flush_interval()?;
        let mut inputs = Vec::new();
        if let Some(interface) = &args.live.interface {
            let capture = live::open(&args.live, interface, config.clone(), flush_interval)?;
            live::announce(COMMAND, &capture, &args.live, interface);
            inputs.push(Input::Live { interface, capture });
        }
        if !args.dnstap.endpoints.is_empty() {
            let input = DnstapInput::new(&args.dnstap, config.accept_recursion_desired);
            let receiver = input.listen(COMMAND)?;
            inputs.push(Input::Dnstap { input, receiver });
        }
        let collectors = inputs
            .into_iter()
            .map(|input| Collector {
                input,
                published: Published::default(),
            })
            .collect();
        Ok(Some(Collectors {
            config,
            flush_interval,
            collectors,
        }))
    }

    /// Where `/metrics` reads the collectors' counters.
    pub fn metric_sources(&self) -> Vec<MetricSource> {
        let published = self.collectors.iter().map(|c| c.published.source());
        published.collect()
    }

    /// Runs every collector on a thread of `scope`, writing to `store`, until `stop` is set.
    /// `ended` is notified when one ends (by itself only when it failed).
    pub fn start<'scope>(
        self,
        scope: &'scope Scope<'scope, '_>,
        store: &Arc<Store>,
        stop: &Arc<AtomicBool>,
        ended: &Arc<Notify>,
    ) -> Running<'scope>
    where
        'a: 'scope,
    {
        let threads = self.collectors.into_iter().map(|collector| {
            let run = Run {
                config: self.config.clone(),
                flush_interval: self.flush_interval,
                store: Arc::clone(store),
                stop: Arc::clone(stop),
            };
            let ended = Arc::clone(ended);
            scope.spawn(move || {
                let result = run.collect(collector);
                ended.notify_one();
                result
            })
        });
        Running {
            threads: threads.collect(),
            stop: Arc::clone(stop),
        }
    }
}

/// What a collector's thread needs besides its input.
struct Run {
    config: SensorConfig,
    flush_interval: Duration,
    store: Arc<Store>,
    stop: Arc<AtomicBool>,
}

impl Run {
    /// Collects until stopped, then reports the counters on standard error.
    fn collect(self, collector: Collector<'_>) -> Result<()> {
        let published = &collector.published;
        match collector.input {
            Input::Live { interface, capture } => self.live(interface, capture, published),
            Input::Dnstap { input, receiver } => self.dnstap(input, receiver, published),
        }
    }

    fn live(self, interface: &str, capture: LiveCapture, published: &Published) -> Result<()> {
        let output = OutputSink::Store(self.store);
        let (_, totals) = live::run_capture(capture, interface, output, &self.stop, |totals| {
            published.set(totals.counters())
        })?;
        published.set(totals.counters());
        live::report(interface, &totals, &[], None)
    }

    fn dnstap(
        self,
        mut input: DnstapInput<'_>,
        receiver: Receiver,
        published: &Published,
    ) -> Result<()> {
        let mut sensor = Sensor::new(self.config, OutputSink::Store(self.store));
        let publish = |counters| published.set(counters);
        input.receive(
            &receiver,
            &mut sensor,
            self.flush_interval,
            &self.stop,
            publish,
        )?;
        drop(receiver); // removes its socket files
        let (_, stats) = sensor.finish().context("writing the store")?;
        let counters = input.all_counters(&stats);
        eprintln!(
            "{COMMAND}: dnstap: {} responses used, {} RRsets written",
            stats.responses_used, stats.rrsets_flushed,
        );
        for (name, value) in counters.iter().filter(|(_, v)| *v > 0) {
            eprintln!("{name} {value}");
        }
        published.set(counters);
        Ok(())
    }
}

/// Collectors at work. Dropping it stops them too (the scope then waits for them), so that
/// an early return cannot leave the scope waiting for threads nothing will stop.
pub struct Running<'scope> {
    threads: Vec<ScopedJoinHandle<'scope, Result<()>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Running<'_> {
    /// Stops every collector and waits until each has written what it held; the first
    /// failure is the result.
    pub fn stop(mut self) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        let mut result = Ok(());
        for thread in std::mem::take(&mut self.threads) {
            let outcome = thread
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a collector thread panicked")));
            if result.is_ok() {
                result = outcome.context("collecting");
            }
        }
        result
    }
}
