//! Everything an ingest counts.

use dnsledger_capture::DecodeStats;
use dnsledger_rrset::counters;
use dnsledger_sensor::SensorStats;

use crate::Reject;

counters! {
    /// The ingest's own counters (the capture and sensor counters are kept beside them).
    pub struct IngestCounters {
        /// Inputs read to their end by this run (each piece of a capture set counts).
        inputs_done,
        /// Of those, captures read as the pieces of one stream (a capture set).
        captures_read_as_one_stream,
        /// Inputs skipped because an earlier run ingested all of them.
        inputs_already_done,
        /// Batches written by this run; batches skipped because an earlier run wrote them.
        batches_written,
        batches_skipped,
        /// RRset rows (observations) written.
        rows_written,
        /// Text lines read (COF, passivedns).
        lines,
        lines_rejected_json,
        lines_rejected_name,
        lines_rejected_type,
        lines_rejected_rdata,
        lines_rejected_time,
        lines_rejected_fields,
        lines_rejected_class,
    }
}

/// Every counter of an ingest run.
#[derive(Clone, Debug, Default)]
pub struct IngestStats {
    pub ingest: IngestCounters,
    pub capture: DecodeStats,
    pub sensor: SensorStats,
    pub dnstap: dnsledger_dnstap::DnstapStats,
}

impl IngestStats {
    pub(crate) fn reject(&mut self, reason: Reject) {
        let counter = match reason {
            Reject::Json => &mut self.ingest.lines_rejected_json,
            Reject::Name => &mut self.ingest.lines_rejected_name,
            Reject::Type => &mut self.ingest.lines_rejected_type,
            Reject::Rdata => &mut self.ingest.lines_rejected_rdata,
            Reject::Time => &mut self.ingest.lines_rejected_time,
            Reject::Fields => &mut self.ingest.lines_rejected_fields,
            Reject::Class => &mut self.ingest.lines_rejected_class,
        };
        *counter += 1;
    }

    /// Every counter, prefixed by its stage.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let prefixed = |stage: &str, list: Vec<(&'static str, u64)>| {
            list.into_iter()
                .map(|(name, value)| (format!("{stage}.{name}"), value))
                .collect::<Vec<_>>()
        };
        let mut all = prefixed("ingest", self.ingest.counters());
        all.extend(prefixed("capture", self.capture.counters()));
        all.extend(prefixed("sensor", self.sensor.counters()));
        all.extend(prefixed("dnstap", self.dnstap.counters()));
        all
    }
}
