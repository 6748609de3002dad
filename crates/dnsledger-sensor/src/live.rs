//! Wall-clock flushing for live inputs (sockets, interfaces).
//!
//! A capture file replays by packet time, and the sensor itself never reads the clock. A
//! live input has no end, and traffic may pause, so packet time alone would leave rows in
//! memory indefinitely: the input's loop asks a [`FlushTimer`] how long it may wait for
//! data, and lets it flush the sensor when the interval has passed on the wall clock.

use std::time::{Duration, Instant};

use dnsledger_rrset::{ObservationSink, SinkError};

use crate::Sensor;

/// Flushes a sensor's aggregate to its sink, and the sink's buffers, every `interval` of
/// wall-clock time.
#[derive(Debug)]
pub struct FlushTimer {
    interval: Duration,
    due: Instant,
}

impl FlushTimer {
    /// A timer whose first flush is due `interval` from now.
    pub fn new(interval: Duration) -> FlushTimer {
        FlushTimer {
            interval,
            due: Instant::now() + interval,
        }
    }

    /// How long until the next flush is due (zero when it is): the longest a live input
    /// should block waiting for data.
    pub fn time_left(&self) -> Duration {
        self.due.saturating_duration_since(Instant::now())
    }

    /// Flushes `sensor` (see [`Sensor::flush_output`]) if the interval has passed; the next
    /// flush is then due one interval later. Returns whether it flushed.
    pub fn flush_if_due<S: ObservationSink>(
        &mut self,
        sensor: &mut Sensor<S>,
    ) -> Result<bool, SinkError> {
        let now = Instant::now();
        if now < self.due {
            return Ok(false);
        }
        // From now, not from the missed deadline: a stalled loop flushes once, not in a burst.
        self.due = now + self.interval;
        sensor.flush_output()?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SensorConfig;
    use dnsledger_rrset::VecSink;

    #[test]
    fn flushes_only_once_the_interval_has_passed() {
        let mut sensor = Sensor::new(SensorConfig::default(), VecSink::default());
        let mut timer = FlushTimer::new(Duration::from_millis(30));
        assert!(!timer.flush_if_due(&mut sensor).unwrap());
        assert!(timer.time_left() > Duration::ZERO);
        std::thread::sleep(timer.time_left());
        assert!(timer.flush_if_due(&mut sensor).unwrap());
        assert!(!timer.flush_if_due(&mut sensor).unwrap());
    }
}
