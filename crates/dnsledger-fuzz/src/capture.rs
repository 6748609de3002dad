//! Target `capture_file`: the bytes are a capture file (pcap, pcapng, gzip or garbage).

use std::io::Cursor;

use dnsledger_capture::CaptureReader;

use crate::pipeline::Pipeline;

/// Frames read at most: a gzip bomb or a file of empty records must still end quickly.
const MAX_FRAMES: usize = 100_000;

/// Reads `data` as a capture file and sends every frame through decoder and sensor, as
/// `dnsledger sensor --read` does. Reading errors are the expected outcome for most inputs
/// and end the file, exactly as in the binary.
pub fn capture_file(data: &[u8]) {
    // `from_reader` wants an owned `'static` source.
    let Ok(mut reader) = CaptureReader::from_reader(Box::new(Cursor::new(data.to_vec()))) else {
        return;
    };
    let mut pipeline = Pipeline::new();
    for _ in 0..MAX_FRAMES {
        let ended = match reader.next_frame() {
            Ok(Some(frame)) => {
                pipeline.frame(&frame);
                false
            }
            Ok(None) | Err(_) => true,
        };
        if ended {
            // Documented: after the end or an error the reader only ever says `Ok(None)`.
            assert!(matches!(reader.next_frame(), Ok(None)));
            break;
        }
    }
    pipeline.finish();
}
