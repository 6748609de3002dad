//! The live capture's own counters, and every counter of a running capture together.

use dnsledger_capture::DecodeStats;
use dnsledger_rrset::counters;
use dnsledger_sensor::SensorStats;

counters! {
    /// What the kernel and the capture threads did, beyond the decoder's and sensor's counters.
    pub struct LiveStats {
        /// Packets that passed the kernel filter, as the kernel counts them (dropped ones
        /// included).
        kernel_packets,
        /// Packets the kernel dropped because the ring had no free block: the sensor fell
        /// behind the traffic.
        kernel_drops,
        /// Times the kernel froze a socket's queue because its ring was full.
        kernel_queue_freezes,
        /// Errors the sockets reported, such as the interface going down (capture resumes
        /// when it comes back up).
        socket_errors,
        /// Ring blocks whose packet offsets did not add up: the rest of each was skipped.
        ring_blocks_malformed,
        /// DNS messages handed to the sensor before every capture thread had caught up with
        /// their time, because too much was held waiting (several workers only).
        messages_released_early,
        /// DNS messages handed to the sensor after one stamped later.
        messages_out_of_order,
    }
}

/// Every counter of a live capture: decoder, sensor and capture, all workers summed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub capture: DecodeStats,
    pub sensor: SensorStats,
    pub live: LiveStats,
}

impl Totals {
    /// Every counter with its section: `capture.frames`, `sensor.responses_used`,
    /// `live.kernel_drops`, ...
    pub fn counters(&self) -> Vec<(String, u64)> {
        let capture = self.capture.counters().into_iter().map(|c| ("capture", c));
        let sensor = self.sensor.counters().into_iter().map(|c| ("sensor", c));
        let live = self.live.counters().into_iter().map(|c| ("live", c));
        capture
            .chain(sensor)
            .chain(live)
            .map(|(section, (name, value))| (format!("{section}.{name}"), value))
            .collect()
    }

    /// Frames and messages dropped by the decoder and the sensor, every reason summed (the
    /// counters named `dropped` or `over_limit`); the kernel's drops are apart.
    pub fn drops(&self) -> u64 {
        let capture = self.capture.counters();
        let sensor = self.sensor.counters();
        capture
            .iter()
            .chain(sensor.iter())
            .filter(|(name, _)| name.contains("dropped") || name.contains("over_limit"))
            .map(|(_, value)| value)
            .sum()
    }

    /// The periodic status line.
    pub fn status_line(&self, interface: &str) -> String {
        format!(
            "dnsledger sensor: {interface}: {} packets, {} responses used, {} RRsets flushed, \
             {} dropped, {} kernel drops",
            self.capture.frames,
            self.sensor.responses_used,
            self.sensor.rrsets_flushed,
            self.drops(),
            self.live.kernel_drops,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_sums_the_drops_and_names_the_kernels() {
        let mut totals = Totals::default();
        totals.capture.frames = 100;
        totals.capture.dropped_not_ip = 2;
        totals.capture.tcp_over_limit = 1;
        totals.sensor.responses_used = 40;
        totals.sensor.responses_dropped_unsolicited = 3;
        totals.sensor.rrsets_flushed = 70;
        totals.live.kernel_drops = 5;
        assert_eq!(
            totals.status_line("eth0"),
            "dnsledger sensor: eth0: 100 packets, 40 responses used, 70 RRsets flushed, \
             6 dropped, 5 kernel drops"
        );
        let counters = totals.counters();
        assert!(counters.contains(&("capture.frames".to_string(), 100)));
        assert!(counters.contains(&("live.kernel_drops".to_string(), 5)));
        assert!(counters.contains(&("sensor.responses_used".to_string(), 40)));
    }
}
