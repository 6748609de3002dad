use crate::{EncodedObservation, Observation};

/// Why a sink could not take observations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    #[error("writing observations failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the sink refused the batch: {0}")]
    Refused(String),
}

/// Where aggregated observations go: the seam between the sensor and everything after it.
///
/// A batch may hold the same RRset as an earlier batch (the sensor flushes partial
/// aggregates when its memory bound or flush interval is reached); sinks combine them with
/// [`crate::Seen::merge`], never by replacing.
pub trait ObservationSink {
    /// Takes one batch. The sensor hands every observation exactly once.
    fn accept(&mut self, batch: Vec<Observation>) -> Result<(), SinkError>;

    /// Takes one batch whose RRsets are lent by the sensor's aggregator (its flush): the
    /// default copies them into owned observations for [`ObservationSink::accept`]; a sink
    /// that only reads the rows (COF) overrides it and takes them as they are, with no
    /// allocation, copy and free per row.
    fn accept_encoded(&mut self, batch: &[EncodedObservation<'_>]) -> Result<(), SinkError> {
        self.accept(
            batch
                .iter()
                .map(EncodedObservation::to_observation)
                .collect(),
        )
    }

    /// Makes everything accepted so far durable or visible (flushes buffers).
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Keeps every batch in memory: for tests and for callers that post-process.
#[derive(Debug, Default)]
pub struct VecSink {
    pub observations: Vec<Observation>,
}

impl ObservationSink for VecSink {
    fn accept(&mut self, mut batch: Vec<Observation>) -> Result<(), SinkError> {
        self.observations.append(&mut batch);
        Ok(())
    }
}
