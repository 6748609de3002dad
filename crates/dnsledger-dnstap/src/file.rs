//! dnstap files: detection, gzip, and reading one through a [`Feeder`] into a sensor.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::Path;

use dnsledger_rrset::{ObservationSink, SinkError};
use dnsledger_sensor::Sensor;
use flate2::read::MultiGzDecoder;

use crate::frames::{detect, FileReader, FrameError, MAX_CONTROL_FRAME};
use crate::Feeder;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// `raw`, decompressed when it starts like gzip.
pub fn decompressed<R: Read + Send + 'static>(raw: R) -> io::Result<Box<dyn Read + Send>> {
    let mut buffered = BufReader::new(raw);
    let is_gzip = buffered.fill_buf()?.starts_with(&GZIP_MAGIC);
    Ok(match is_gzip {
        true => Box::new(MultiGzDecoder::new(buffered)),
        false => Box::new(buffered),
    })
}

/// Whether the file at `path` (gzip-compressed or not) is a dnstap file: it starts with a
/// Frame Streams START frame naming the dnstap content type.
pub fn is_dnstap_file(path: &Path) -> io::Result<bool> {
    let content = decompressed(File::open(path)?)?;
    let mut start = Vec::with_capacity(8 + MAX_CONTROL_FRAME);
    content
        .take(8 + MAX_CONTROL_FRAME as u64)
        .read_to_end(&mut start)?;
    Ok(detect(&start))
}

/// Opens a dnstap file (gzip-compressed or not) and reads its START frame.
pub fn open_file(path: &Path) -> Result<FileReader<Box<dyn Read + Send>>, FrameError> {
    FileReader::new(decompressed(File::open(path)?)?)
}

/// How reading a dnstap file ended.
#[derive(Debug)]
pub enum FileEnd {
    /// At its STOP frame.
    Complete,
    /// At damage (cut short, malformed framing); the frames before it were used.
    Damaged(FrameError),
    /// `between_frames` asked to stop.
    Interrupted,
}

/// Reads every data frame of `reader` through `feeder` into `sensor`, calling
/// `between_frames` after each (for progress, and to stop early). Errors come only from the
/// sensor's sink; damage ends the file and is returned as [`FileEnd::Damaged`].
pub fn feed_file<R: Read, S: ObservationSink>(
    reader: &mut FileReader<R>,
    feeder: &mut Feeder,
    sensor: &mut Sensor<S>,
    mut between_frames: impl FnMut() -> ControlFlow<()>,
) -> Result<FileEnd, SinkError> {
    loop {
        match reader.next_data() {
            Ok(Some(frame)) => feeder.frame(sensor, frame)?,
            Ok(None) => return Ok(FileEnd::Complete),
            Err(damage) => return Ok(FileEnd::Damaged(damage)),
        }
        if between_frames().is_break() {
            return Ok(FileEnd::Interrupted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::{encode_data_frame, ControlFrame, ControlType};
    use dnsledger_rrset::VecSink;
    use dnsledger_sensor::SensorConfig;
    use std::io::{Cursor, Write};

    fn dnstap_bytes() -> Vec<u8> {
        let mut out = ControlFrame::dnstap(ControlType::Start).encode();
        encode_data_frame(&mut out, &[0xff]);
        encode_data_frame(&mut out, &[0xff]);
        out.extend(ControlFrame::new(ControlType::Stop).encode());
        out
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_is_read_transparently_and_detected() {
        let dir = std::env::temp_dir().join(format!("dnstap-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("plain.dnstap");
        let packed = dir.join("packed.dnstap.gz");
        let other = dir.join("other");
        std::fs::write(&plain, dnstap_bytes()).unwrap();
        std::fs::write(&packed, gzip(&dnstap_bytes())).unwrap();
        std::fs::write(&other, gzip(b"\xd4\xc3\xb2\xa1 not dnstap")).unwrap();
        assert!(is_dnstap_file(&plain).unwrap());
        assert!(is_dnstap_file(&packed).unwrap());
        assert!(!is_dnstap_file(&other).unwrap());
        let mut reader = open_file(&packed).unwrap();
        assert_eq!(reader.next_data().unwrap(), Some(&[0xff][..]));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn feeding_a_file_counts_its_frames_and_reports_damage() {
        let mut sensor = Sensor::new(SensorConfig::default(), VecSink::default());
        let mut feeder = Feeder::new(false);
        let bytes = dnstap_bytes();
        let mut reader = FileReader::new(Cursor::new(&bytes)).unwrap();
        let end = feed_file(&mut reader, &mut feeder, &mut sensor, || {
            ControlFlow::Continue(())
        });
        assert!(matches!(end, Ok(FileEnd::Complete)));
        assert_eq!(feeder.stats().frames, 2);
        let cut = &bytes[..bytes.len() - 3];
        let mut reader = FileReader::new(Cursor::new(cut)).unwrap();
        let end = feed_file(&mut reader, &mut feeder, &mut sensor, || {
            ControlFlow::Continue(())
        });
        assert!(matches!(end, Ok(FileEnd::Damaged(FrameError::Truncated))));
        let mut reader = FileReader::new(Cursor::new(&bytes)).unwrap();
        let end = feed_file(&mut reader, &mut feeder, &mut sensor, || {
            ControlFlow::Break(())
        });
        assert!(matches!(end, Ok(FileEnd::Interrupted)));
    }
}
