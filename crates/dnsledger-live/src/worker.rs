//! A capture thread: its socket's ring through its own decoder, DNS messages out in batches.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dnsledger_capture::{DecodeStats, Decoder, Frame};

use crate::merge::{Batch, FINISHED};
use crate::ring;
use crate::stats::LiveStats;
use crate::sys::PacketRing;
use crate::LiveError;

/// The longest a thread sleeps in poll(2): how soon it notices a stop.
const POLL_TIMEOUT: Duration = Duration::from_millis(50);
/// A batch is sent once it holds this much, even mid-ring.
const MAX_BATCH_BYTES: usize = 1 << 20;
/// How often the kernel's counters are read.
const KERNEL_COUNTS_EVERY: Duration = Duration::from_secs(1);

/// The counters one thread owns, published for status lines and metrics.
#[derive(Clone, Debug, Default)]
pub(crate) struct WorkerCounters {
    pub capture: DecodeStats,
    pub live: LiveStats,
}

pub(crate) struct Worker {
    pub id: usize,
    pub ring: PacketRing,
    pub decoder: Decoder,
    /// LINKTYPE_* of the interface.
    pub link_type: u16,
    pub retire_timeout: Duration,
    pub out: SyncSender<Batch>,
    pub stop: Arc<AtomicBool>,
    pub counters: Arc<Mutex<Vec<WorkerCounters>>>,
}

impl Worker {
    /// Captures until `stop` is set or the sensor is gone (it failed, and reports why). A
    /// failing thread sets `stop`, so that the others end too.
    pub fn run(mut self) -> Result<(), LiveError> {
        match self.capture() {
            Ok(()) | Err(End::SensorGone) => Ok(()),
            Err(End::Failed(error)) => {
                self.stop.store(true, Ordering::Relaxed);
                Err(error)
            }
        }
    }

    fn capture(&mut self) -> Result<(), End> {
        let mut live = LiveStats::default();
        let mut batch = Batch::new(self.id);
        let mut counts_due = Instant::now() + KERNEL_COUNTS_EVERY;
        while !self.stop.load(Ordering::Relaxed) {
            self.drain(&mut batch, &mut live)?;
            // The ring is empty now: tell the merge how far this thread has got.
            batch.caught_up = Some(wall_clock_nanos());
            send(&self.out, &mut batch)?;
            if Instant::now() >= counts_due {
                counts_due += KERNEL_COUNTS_EVERY;
                self.take_kernel_counts(&mut live)?;
            }
            self.publish(&live);
            let waited = self.ring.wait(POLL_TIMEOUT);
            if waited.map_err(system("waiting for packets"))?.is_some() {
                // Taking the error cleared it; the socket receives again once the
                // interface is back up. A pause, in case errors keep coming.
                live.socket_errors += 1;
                std::thread::sleep(POLL_TIMEOUT);
            }
        }
        // The block the kernel was filling reaches user space one retire timeout after it
        // was opened at the latest: wait for it, so that nothing captured before the stop
        // is left behind.
        std::thread::sleep(self.retire_timeout * 2);
        self.drain(&mut batch, &mut live)?;
        self.decoder.finish();
        self.take_kernel_counts(&mut live)?;
        self.publish(&live);
        batch.caught_up = Some(FINISHED);
        send(&self.out, &mut batch)
    }

    /// Decodes every block the kernel has handed over, and gives each back.
    fn drain(&mut self, batch: &mut Batch, live: &mut LiveStats) -> Result<(), End> {
        let link_type = self.link_type;
        while let Some(block) = self.ring.next_block() {
            let decoder = &mut self.decoder;
            let whole = ring::for_each_frame(block.body, |frame| {
                let frame = Frame {
                    ts_nanos: frame.ts_nanos,
                    link_type,
                    data: frame.data,
                    orig_len: frame.orig_len,
                    interface: 0,
                };
                decoder.decode(&frame, &mut |payload| batch.push(payload));
            });
            drop(block);
            live.ring_blocks_malformed += u64::from(!whole);
            if batch.size() >= MAX_BATCH_BYTES {
                send(&self.out, batch)?;
            }
        }
        Ok(())
    }

    fn take_kernel_counts(&self, live: &mut LiveStats) -> Result<(), LiveError> {
        let counts = self
            .ring
            .take_counts()
            .map_err(system("reading the kernel's counters"))?;
        live.kernel_packets += counts.packets;
        live.kernel_drops += counts.drops;
        live.kernel_queue_freezes += counts.freezes;
        Ok(())
    }

    fn publish(&self, live: &LiveStats) {
        let mut all = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        all[self.id] = WorkerCounters {
            capture: self.decoder.stats().clone(),
            live: live.clone(),
        };
    }
}

/// Why a capture thread ends early.
enum End {
    /// The sensor stopped taking batches: it failed, and reports why.
    SensorGone,
    Failed(LiveError),
}

impl From<LiveError> for End {
    fn from(error: LiveError) -> End {
        End::Failed(error)
    }
}

/// Sends the batch (blocking while the sensor is behind: the ring then fills and the kernel
/// counts what it drops), leaving an empty one in its place.
fn send(out: &SyncSender<Batch>, batch: &mut Batch) -> Result<(), End> {
    let full = std::mem::replace(batch, Batch::new(batch.worker));
    out.send(full).map_err(|_| End::SensorGone)
}

fn system(step: &'static str) -> impl FnOnce(std::io::Error) -> LiveError {
    move |source| LiveError::Capture { step, source }
}

fn wall_clock_nanos() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX)
}
