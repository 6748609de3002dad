//! Opening the sockets, and the loop that runs the capture threads into the sensor.

use std::io;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use dnsledger_capture::Decoder;
use dnsledger_rrset::ObservationSink;
use dnsledger_sensor::live::FlushTimer;
use dnsledger_sensor::Sensor;

use crate::filter::{self, Filter, Link};
use crate::merge::{Batch, Merger};
use crate::stats::{LiveStats, Totals};
use crate::sys::{PacketRing, Socket};
use crate::worker::{Worker, WorkerCounters};
use crate::{LiveConfig, LiveError, MAX_WORKERS};

/// Batches queued towards the sensor per thread: beyond them the threads wait, and the
/// kernel rings absorb the traffic.
const QUEUED_BATCHES_PER_WORKER: usize = 4;
/// Decoded messages held for time ordering at most (several threads only).
const MAX_HELD_BYTES: usize = 64 << 20;
/// A thread that found its ring empty has every packet stamped this much earlier, plus
/// two retire timeouts (see `merge`): the margin covers timer slack and scheduling.
const ORDERING_MARGIN: Duration = Duration::from_millis(50);
/// The sensor loop wakes at least this often to release what became final.
const RELEASE_EVERY: Duration = Duration::from_millis(50);

/// Open sockets on one interface, ready to [`run`](LiveCapture::run).
pub struct LiveCapture {
    config: LiveConfig,
    link: Link,
    rings: Vec<PacketRing>,
}

impl std::fmt::Debug for LiveCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCapture")
            .field("interface", &self.config.interface)
            .field("link", &self.link)
            .field("workers", &self.rings.len())
            .finish_non_exhaustive()
    }
}

impl LiveCapture {
    /// Opens one socket per thread, each with its ring, bound to the interface and
    /// (several threads) in one fanout group; then gives each its filter. Until then a
    /// filter that keeps nothing is attached: a socket receives as soon as it is bound,
    /// before it joins the group, and would otherwise capture what the group captures too.
    pub fn open(mut config: LiveConfig) -> Result<LiveCapture, LiveError> {
        if !(1..=MAX_WORKERS).contains(&config.workers) {
            return Err(LiveError::Workers(config.workers));
        }
        if let Filter::Ports(ports) = &config.filter {
            for port in ports {
                add_port(&mut config.decoder.dns_ports, *port);
                add_port(&mut config.sensor.dns_ports, *port);
            }
        }
        let mut rings = Vec::with_capacity(config.workers);
        let mut link = Link::Ethernet;
        let mut group = None;
        for _ in 0..config.workers {
            let (ring, ring_link) = open_socket(&config)?;
            if config.workers > 1 {
                let joined = ring.join_fanout(group);
                let joined = joined.map_err(setup(&config, "joining the fanout group"))?;
                group = Some(joined);
            }
            link = ring_link;
            rings.push(ring);
        }
        let program = filter::program(config.filter.ports(&config.decoder.dns_ports), link)?;
        for ring in &rings {
            let attached = ring.attach_filter(&program);
            attached.map_err(setup(&config, "attaching the filter"))?;
        }
        Ok(LiveCapture {
            config,
            link,
            rings,
        })
    }

    /// How the interface's frames start.
    pub fn link(&self) -> Link {
        self.link
    }

    /// Captures into `sink` until `stop` is set (a signal handler's flag, say): then every
    /// thread takes what the kernel still holds, the sensor flushes everything, and the
    /// sink comes back with the counters. Aggregated RRsets reach the sink every flush
    /// interval; `on_flush` gets the counters so far each time. A thread that fails sets
    /// `stop`, which ends the others.
    pub fn run<S: ObservationSink>(
        self,
        sink: S,
        stop: &Arc<AtomicBool>,
        on_flush: impl FnMut(&Totals),
    ) -> Result<(S, Totals), LiveError> {
        let workers = self.rings.len();
        let (out, batches) = mpsc::sync_channel(QUEUED_BATCHES_PER_WORKER * workers);
        let counters = Arc::new(Mutex::new(vec![WorkerCounters::default(); workers]));
        let mut threads = Vec::with_capacity(workers);
        for (id, ring) in self.rings.into_iter().enumerate() {
            let worker = Worker {
                id,
                ring,
                decoder: Decoder::new(self.config.decoder.clone()),
                link_type: self.link.link_type(),
                retire_timeout: self.config.ring.retire_timeout,
                out: out.clone(),
                stop: Arc::clone(stop),
                counters: Arc::clone(&counters),
            };
            threads.push(spawn(id, worker, stop)?);
        }
        drop(out);
        let sensing = SensorLoop {
            config: &self.config,
            counters: &counters,
            live: LiveStats::default(),
        };
        // Ends when every thread has sent its last batch, or at the sink's first error
        // (dropping the receiver, which ends the threads).
        let sensed = sensing.run(batches, sink, on_flush);
        if sensed.is_err() {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let joined = join(threads);
        let (sink, mut totals) = sensed?;
        joined?;
        add_worker_counters(&mut totals, &counters);
        Ok((sink, totals))
    }
}

/// One socket with its ring, bound to the interface, keeping nothing yet.
fn open_socket(config: &LiveConfig) -> Result<(PacketRing, Link), LiveError> {
    let socket = Socket::new().map_err(setup(config, "opening an AF_PACKET socket"))?;
    let interface = config.interface.clone();
    let (index, hardware_type) =
        socket
            .interface(&interface)
            .map_err(|error| match error.kind() {
                io::ErrorKind::NotFound => LiveError::NoSuchInterface {
                    interface: interface.clone(),
                },
                _ => LiveError::setup(&interface, "reading the interface", error),
            })?;
    let link = Link::from_arphrd(hardware_type).ok_or(LiveError::UnsupportedLink {
        interface,
        hardware_type,
    })?;
    socket
        .attach_filter(&filter::REJECT_ALL)
        .map_err(setup(config, "attaching the filter"))?;
    let ring = socket
        .into_ring(&config.ring)
        .map_err(setup(config, "setting up the TPACKET_V3 ring"))?;
    ring.bind(index).map_err(setup(config, "binding"))?;
    Ok((ring, link))
}

fn add_port(ports: &mut Vec<u16>, port: u16) {
    if !ports.contains(&port) {
        ports.push(port);
    }
}

fn setup<'a>(
    config: &'a LiveConfig,
    step: &'static str,
) -> impl FnOnce(io::Error) -> LiveError + 'a {
    move |source| LiveError::setup(&config.interface, step, source)
}

fn spawn(
    id: usize,
    worker: Worker,
    stop: &Arc<AtomicBool>,
) -> Result<JoinHandle<Result<(), LiveError>>, LiveError> {
    let spawned = thread::Builder::new()
        .name(format!("capture-{id}"))
        .spawn(move || worker.run());
    spawned.map_err(|source| {
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        LiveError::Capture {
            step: "starting a capture thread",
            source,
        }
    })
}

/// Waits for every thread; the first failure is the result.
fn join(threads: Vec<JoinHandle<Result<(), LiveError>>>) -> Result<(), LiveError> {
    let mut result = Ok(());
    for thread in threads {
        let outcome = thread.join().unwrap_or(Err(LiveError::ThreadPanicked));
        if result.is_ok() {
            result = outcome;
        }
    }
    result
}

fn add_worker_counters(totals: &mut Totals, counters: &Mutex<Vec<WorkerCounters>>) {
    let counters = counters.lock().unwrap_or_else(|e| e.into_inner());
    for worker in counters.iter() {
        totals.capture.merge(&worker.capture);
        totals.live.merge(&worker.live);
    }
}

/// The sensor's side: batches in, merged in time order, RRsets out on the flush timer.
struct SensorLoop<'a> {
    config: &'a LiveConfig,
    counters: &'a Mutex<Vec<WorkerCounters>>,
    /// The merge's counters.
    live: LiveStats,
}

impl SensorLoop<'_> {
    fn run<S: ObservationSink>(
        mut self,
        batches: Receiver<Batch>,
        sink: S,
        mut on_flush: impl FnMut(&Totals),
    ) -> Result<(S, Totals), LiveError> {
        let config = self.config;
        let mut sensor = Sensor::new(config.sensor.clone(), sink);
        let mut timer = FlushTimer::new(config.flush_interval);
        let guard = config.ring.retire_timeout * 2 + ORDERING_MARGIN;
        let mut merger = Merger::new(config.workers, guard, MAX_HELD_BYTES);
        loop {
            let received = match merger.is_full() {
                true => Err(RecvTimeoutError::Timeout),
                false => batches.recv_timeout(timer.time_left().min(RELEASE_EVERY)),
            };
            match received {
                Ok(batch) => merger.push(batch),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            merger.release(&mut self.live, |payload| sensor.handle(payload))?;
            if timer.flush_if_due(&mut sensor)? {
                on_flush(&self.totals(&sensor));
            }
        }
        // Every thread has ended; one that failed sent no last batch, so the rest is final
        // now whatever the threads said.
        merger.finish();
        merger.release(&mut self.live, |payload| sensor.handle(payload))?;
        let (sink, sensor_stats) = sensor.finish()?;
        let totals = Totals {
            sensor: sensor_stats,
            live: self.live,
            ..Totals::default()
        };
        Ok((sink, totals))
    }

    /// The counters so far: the sensor's, the merge's and every thread's.
    fn totals<S: ObservationSink>(&self, sensor: &Sensor<S>) -> Totals {
        let mut totals = Totals {
            sensor: sensor.stats(),
            live: self.live.clone(),
            ..Totals::default()
        };
        add_worker_counters(&mut totals, self.counters);
        totals
    }
}
