//! Frame Streams, the framing dnstap travels in.
//!
//! A stream is a sequence of frames, each a 4-byte big-endian length and that many bytes of
//! payload. A length of 0 escapes a control frame: another 4-byte length, then the control
//! type (ACCEPT 1, START 2, STOP 3, READY 4, FINISH 5) and fields (CONTENT_TYPE 1: length and
//! string). Files are unidirectional (START ... STOP); sockets add a handshake in which the
//! receiver answers the sender's READY with ACCEPT and its STOP with FINISH.
//!
//! Every length read from the input is bounded before anything is allocated for it (data
//! frames [`MAX_DATA_FRAME`], control frames [`MAX_CONTROL_FRAME`]); malformed input is a
//! [`FrameError`], never a panic.

use std::io::{self, BufReader, ErrorKind, Read, Write};

/// The content type of dnstap payloads.
pub const CONTENT_TYPE: &[u8] = b"protobuf:dnstap.Dnstap";

/// Largest data frame accepted (the reference implementations' default): a DNS message is at
/// most 64 KiB, so a dnstap frame is far smaller.
pub const MAX_DATA_FRAME: usize = 1 << 20;

/// Largest control frame (after its length), as the reference implementations bound it.
pub const MAX_CONTROL_FRAME: usize = 512;

const FIELD_CONTENT_TYPE: u32 = 1;

/// The kinds of control frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlType {
    Accept,
    Start,
    Stop,
    Ready,
    Finish,
}

impl ControlType {
    fn code(self) -> u32 {
        match self {
            ControlType::Accept => 1,
            ControlType::Start => 2,
            ControlType::Stop => 3,
            ControlType::Ready => 4,
            ControlType::Finish => 5,
        }
    }

    fn from_code(code: u32) -> Result<ControlType, FrameError> {
        Ok(match code {
            1 => ControlType::Accept,
            2 => ControlType::Start,
            3 => ControlType::Stop,
            4 => ControlType::Ready,
            5 => ControlType::Finish,
            other => return Err(FrameError::UnknownControlType(other)),
        })
    }
}

/// Why a Frame Streams input could not be read (further).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("the stream ends inside a frame")]
    Truncated,
    #[error("a data frame of {0} bytes is over the limit of {MAX_DATA_FRAME}")]
    DataFrameTooLarge(u32),
    #[error("a control frame of {0} bytes (a control frame has 4 to {MAX_CONTROL_FRAME})")]
    BadControlLength(u32),
    #[error("unknown control frame type {0}")]
    UnknownControlType(u32),
    #[error("malformed control frame: {0}")]
    MalformedControl(&'static str),
    #[error("expected a {expected:?} control frame, got {got}")]
    Unexpected { expected: ControlType, got: String },
    #[error("content type {0} is not protobuf:dnstap.Dnstap")]
    ContentType(String),
    #[error("the stream ends without a STOP frame")]
    MissingStop,
}

/// A control frame: its type and CONTENT_TYPE fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlFrame {
    pub kind: ControlType,
    pub content_types: Vec<Vec<u8>>,
}

impl ControlFrame {
    /// A control frame without fields.
    pub fn new(kind: ControlType) -> ControlFrame {
        ControlFrame {
            kind,
            content_types: Vec::new(),
        }
    }

    /// A control frame naming the dnstap content type.
    pub fn dnstap(kind: ControlType) -> ControlFrame {
        ControlFrame {
            kind,
            content_types: vec![CONTENT_TYPE.to_vec()],
        }
    }

    /// Parses a control frame's payload (after its length).
    pub fn parse(payload: &[u8]) -> Result<ControlFrame, FrameError> {
        let (code, mut fields) = split_u32(payload).ok_or(FrameError::BadControlLength(0))?;
        let mut frame = ControlFrame::new(ControlType::from_code(code)?);
        while !fields.is_empty() {
            let malformed = FrameError::MalformedControl("a field runs past the frame");
            let (field, rest) = split_u32(fields).ok_or(malformed)?;
            if field != FIELD_CONTENT_TYPE {
                return Err(FrameError::MalformedControl("unknown field type"));
            }
            let malformed = FrameError::MalformedControl("a field runs past the frame");
            let (len, rest) = split_u32(rest).ok_or(malformed)?;
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if len > rest.len() {
                return Err(FrameError::MalformedControl("a field runs past the frame"));
            }
            frame.content_types.push(rest[..len].to_vec());
            fields = &rest[len..];
        }
        Ok(frame)
    }

    /// Whether this frame admits the dnstap content type. As in the reference
    /// implementation, a frame that names no content type admits any.
    pub fn admits_dnstap(&self) -> bool {
        self.content_types.is_empty() || self.content_types.iter().any(|c| c == CONTENT_TYPE)
    }

    /// The whole frame as it goes on the wire: escape, length, payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut payload = self.kind.code().to_be_bytes().to_vec();
        for content_type in &self.content_types {
            payload.extend_from_slice(&FIELD_CONTENT_TYPE.to_be_bytes());
            payload.extend_from_slice(&wire_len(content_type.len()).to_be_bytes());
            payload.extend_from_slice(content_type);
        }
        let mut out = vec![0; 4];
        out.extend_from_slice(&wire_len(payload.len()).to_be_bytes());
        out.extend_from_slice(&payload);
        out
    }

    fn describe(&self) -> String {
        let types: Vec<String> = self
            .content_types
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        format!("{:?} {types:?}", self.kind)
    }
}

/// A length as the 4-byte field carries it; only called on lengths this module bounded.
fn wire_len(len: usize) -> u32 {
    u32::try_from(len).expect("frame lengths are bounded far below 4 GiB")
}

/// Appends a data frame (length, payload) to `out`.
pub fn encode_data_frame(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&wire_len(data.len()).to_be_bytes());
    out.extend_from_slice(data);
}

fn split_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_be_bytes(*head), rest))
}

/// Whether `start`, the first bytes of an input, is a Frame Streams START control frame
/// naming the dnstap content type: what tells a dnstap file from other inputs.
pub fn detect(start: &[u8]) -> bool {
    let Some((0, rest)) = split_u32(start) else {
        return false;
    };
    let Some((len, rest)) = split_u32(rest) else {
        return false;
    };
    let Some(payload) = usize::try_from(len).ok().and_then(|len| rest.get(..len)) else {
        return false;
    };
    ControlFrame::parse(payload).is_ok_and(|frame| {
        frame.kind == ControlType::Start && frame.content_types.iter().any(|c| c == CONTENT_TYPE)
    })
}

/// A frame read by `FrameReader::advance`; a data frame's payload is in the buffer.
enum Next {
    Data,
    Control(ControlFrame),
    End,
}

/// Reads frames, with bounded lengths, from any byte source.
#[derive(Debug)]
struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
}

impl<R: Read> FrameReader<R> {
    fn new(inner: R) -> FrameReader<R> {
        FrameReader {
            inner,
            buf: Vec::new(),
        }
    }

    /// The next frame, which must be a control frame of `kind`.
    fn expect_control(&mut self, kind: ControlType) -> Result<ControlFrame, FrameError> {
        let got = match self.advance()? {
            Next::Control(frame) if frame.kind == kind => return Ok(frame),
            other => self.describe(&other),
        };
        Err(FrameError::Unexpected {
            expected: kind,
            got,
        })
    }

    /// Reads the next frame, a data frame's payload into the buffer.
    fn advance(&mut self) -> Result<Next, FrameError> {
        let Some(len) = self.read_u32(true)? else {
            return Ok(Next::End);
        };
        if len == 0 {
            return Ok(Next::Control(self.read_control()?));
        }
        if usize::try_from(len).map_or(true, |len| len > MAX_DATA_FRAME) {
            return Err(FrameError::DataFrameTooLarge(len));
        }
        self.fill(len as usize)?;
        Ok(Next::Data)
    }

    /// What an unexpected frame was, for an error message.
    fn describe(&self, next: &Next) -> String {
        match next {
            Next::Data => format!("a data frame of {} bytes", self.buf.len()),
            Next::Control(frame) => frame.describe(),
            Next::End => "the end of the stream".to_string(),
        }
    }

    fn get_ref(&self) -> &R {
        &self.inner
    }

    fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    fn read_control(&mut self) -> Result<ControlFrame, FrameError> {
        let len = self.read_u32(false)?.ok_or(FrameError::Truncated)?;
        let valid = 4..=MAX_CONTROL_FRAME;
        if !usize::try_from(len).is_ok_and(|len| valid.contains(&len)) {
            return Err(FrameError::BadControlLength(len));
        }
        self.fill(len as usize)?;
        ControlFrame::parse(&self.buf)
    }

    /// A 4-byte length; `None` at a clean end of input when `end_allowed`.
    fn read_u32(&mut self, end_allowed: bool) -> Result<Option<u32>, FrameError> {
        let mut bytes = [0u8; 4];
        match read_full(&mut self.inner, &mut bytes)? {
            4 => Ok(Some(u32::from_be_bytes(bytes))),
            0 if end_allowed => Ok(None),
            _ => Err(FrameError::Truncated),
        }
    }

    /// Reads exactly `len` (bounded by the caller) bytes into the buffer.
    fn fill(&mut self, len: usize) -> Result<(), FrameError> {
        self.buf.resize(len, 0);
        match read_full(&mut self.inner, &mut self.buf)? == len {
            true => Ok(()),
            false => Err(FrameError::Truncated),
        }
    }
}

/// Reads until `buf` is full or the input ends; the number of bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A unidirectional stream, as in a dnstap file: START (dnstap), data frames, STOP. Several
/// such streams one after another (concatenated files) read as one.
#[derive(Debug)]
pub struct FileReader<R> {
    frames: FrameReader<R>,
}

impl<R: Read> FileReader<R> {
    /// Reads the START frame; its content type must admit dnstap.
    pub fn new(inner: R) -> Result<FileReader<R>, FrameError> {
        let mut frames = FrameReader::new(inner);
        check_content_type(&frames.expect_control(ControlType::Start)?)?;
        Ok(FileReader { frames })
    }

    /// The next data frame; `None` after the last STOP. An input that ends without STOP
    /// is [`FrameError::MissingStop`] (cut short, or still being written).
    pub fn next_data(&mut self) -> Result<Option<&[u8]>, FrameError> {
        loop {
            match self.frames.advance()? {
                Next::Data => return Ok(Some(&self.frames.buf)),
                Next::Control(control) if control.kind == ControlType::Stop => {}
                Next::End => return Err(FrameError::MissingStop),
                other => return Err(self.unexpected(ControlType::Stop, &other)),
            }
            // After STOP: the end, or the START of a concatenated stream.
            match self.frames.advance()? {
                Next::End => return Ok(None),
                Next::Control(start) if start.kind == ControlType::Start => {
                    check_content_type(&start)?;
                }
                other => return Err(self.unexpected(ControlType::Start, &other)),
            }
        }
    }

    fn unexpected(&self, expected: ControlType, got: &Next) -> FrameError {
        FrameError::Unexpected {
            expected,
            got: self.frames.describe(got),
        }
    }
}

fn check_content_type(frame: &ControlFrame) -> Result<(), FrameError> {
    match frame.admits_dnstap() {
        true => Ok(()),
        false => Err(FrameError::ContentType(frame.describe())),
    }
}

/// The receiving end of a bidirectional stream (a socket): answers READY with ACCEPT, reads
/// START, hands out data frames, and answers STOP with FINISH.
#[derive(Debug)]
pub struct StreamReader<S: Read + Write> {
    frames: FrameReader<BufReader<S>>,
}

impl<S: Read + Write> StreamReader<S> {
    /// The handshake: READY (must admit dnstap), ACCEPT (naming dnstap), START.
    pub fn accept(stream: S) -> Result<StreamReader<S>, FrameError> {
        let mut frames = FrameReader::new(BufReader::new(stream));
        check_content_type(&frames.expect_control(ControlType::Ready)?)?;
        let accept = ControlFrame::dnstap(ControlType::Accept).encode();
        frames.get_mut().get_mut().write_all(&accept)?;
        frames.get_mut().get_mut().flush()?;
        check_content_type(&frames.expect_control(ControlType::Start)?)?;
        Ok(StreamReader { frames })
    }

    /// The next data frame; after STOP, answers FINISH and returns `None`. A stream that
    /// ends without STOP is [`FrameError::MissingStop`].
    pub fn next_data(&mut self) -> Result<Option<&[u8]>, FrameError> {
        match self.frames.advance()? {
            Next::Data => Ok(Some(&self.frames.buf)),
            Next::Control(control) if control.kind == ControlType::Stop => {
                // Some writers (Unbound 1.17) close right after STOP without waiting for
                // FINISH: the stream ended properly all the same, so a failed FINISH is
                // not an error.
                let finish = ControlFrame::new(ControlType::Finish).encode();
                let stream = self.frames.get_mut().get_mut();
                let _ = stream.write_all(&finish).and_then(|()| stream.flush());
                Ok(None)
            }
            Next::End => Err(FrameError::MissingStop),
            other => Err(FrameError::Unexpected {
                expected: ControlType::Stop,
                got: self.frames.describe(&other),
            }),
        }
    }

    /// The underlying stream (to change its timeouts, say).
    pub fn get_ref(&self) -> &S {
        self.frames.get_ref().get_ref()
    }
}

/// The sending end of a bidirectional stream, as a resolver drives it: READY, wait for
/// ACCEPT, START, data frames, STOP, wait for FINISH.
#[derive(Debug)]
pub struct StreamWriter<S: Read + Write> {
    stream: S,
    buf: Vec<u8>,
}

impl<S: Read + Write> StreamWriter<S> {
    /// The handshake: READY offering dnstap, ACCEPT (must admit dnstap), START.
    pub fn connect(mut stream: S) -> Result<StreamWriter<S>, FrameError> {
        stream.write_all(&ControlFrame::dnstap(ControlType::Ready).encode())?;
        stream.flush()?;
        check_content_type(&FrameReader::new(&mut stream).expect_control(ControlType::Accept)?)?;
        stream.write_all(&ControlFrame::dnstap(ControlType::Start).encode())?;
        Ok(StreamWriter {
            stream,
            buf: Vec::new(),
        })
    }

    /// Sends one data frame (at most [`MAX_DATA_FRAME`] bytes).
    pub fn write(&mut self, data: &[u8]) -> Result<(), FrameError> {
        if data.len() > MAX_DATA_FRAME {
            return Err(FrameError::DataFrameTooLarge(
                u32::try_from(data.len()).unwrap_or(u32::MAX),
            ));
        }
        self.buf.clear();
        encode_data_frame(&mut self.buf, data);
        self.stream.write_all(&self.buf)?;
        Ok(())
    }

    /// Sends STOP and waits for the receiver's FINISH: everything sent was received.
    pub fn finish(mut self) -> Result<S, FrameError> {
        self.stream
            .write_all(&ControlFrame::new(ControlType::Stop).encode())?;
        self.stream.flush()?;
        FrameReader::new(&mut self.stream).expect_control(ControlType::Finish)?;
        Ok(self.stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::os::unix::net::UnixStream;

    fn file(frames: &[&[u8]]) -> Vec<u8> {
        let mut out = ControlFrame::dnstap(ControlType::Start).encode();
        for frame in frames {
            encode_data_frame(&mut out, frame);
        }
        out.extend(ControlFrame::new(ControlType::Stop).encode());
        out
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut reader = FileReader::new(Cursor::new(bytes))?;
        let mut out = Vec::new();
        while let Some(data) = reader.next_data()? {
            out.push(data.to_vec());
        }
        Ok(out)
    }

    #[test]
    fn a_file_gives_its_data_frames_in_order() {
        let bytes = file(&[b"one", b"two", b"three"]);
        assert!(detect(&bytes));
        assert_eq!(read_all(&bytes).unwrap(), [&b"one"[..], b"two", b"three"]);
    }

    #[test]
    fn concatenated_files_read_as_one() {
        let mut bytes = file(&[b"one"]);
        bytes.extend(file(&[b"two"]));
        assert_eq!(read_all(&bytes).unwrap(), [&b"one"[..], b"two"]);
    }

    #[test]
    fn control_frames_round_trip() {
        let frame = ControlFrame {
            kind: ControlType::Ready,
            content_types: vec![b"a".to_vec(), CONTENT_TYPE.to_vec()],
        };
        let bytes = frame.encode();
        assert_eq!(ControlFrame::parse(&bytes[8..]).unwrap(), frame);
        assert!(frame.admits_dnstap());
        assert!(ControlFrame::new(ControlType::Start).admits_dnstap());
    }

    #[test]
    fn detection_needs_a_start_frame_naming_dnstap() {
        assert!(!detect(&ControlFrame::new(ControlType::Start).encode()));
        assert!(!detect(&ControlFrame::dnstap(ControlType::Ready).encode()));
        let mut other = ControlFrame::new(ControlType::Start);
        other.content_types.push(b"protobuf:other".to_vec());
        assert!(!detect(&other.encode()));
        assert!(!detect(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]));
        assert!(!detect(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]));
        assert!(!detect(&[]));
    }

    #[test]
    fn a_file_without_stop_is_reported_after_its_frames() {
        let mut bytes = ControlFrame::dnstap(ControlType::Start).encode();
        encode_data_frame(&mut bytes, b"one");
        let mut reader = FileReader::new(Cursor::new(&bytes)).unwrap();
        assert_eq!(reader.next_data().unwrap(), Some(&b"one"[..]));
        assert!(matches!(reader.next_data(), Err(FrameError::MissingStop)));
    }

    #[test]
    fn a_truncated_frame_is_an_error_at_every_cut() {
        let bytes = file(&[b"one", b"two"]);
        for cut in 1..bytes.len() {
            let result = read_all(&bytes[..cut]);
            assert!(result.is_err(), "cut at {cut} read as complete");
        }
    }

    #[test]
    fn oversized_and_malformed_frames_are_errors_without_allocation() {
        let mut huge = ControlFrame::dnstap(ControlType::Start).encode();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        let mut reader = FileReader::new(Cursor::new(&huge)).unwrap();
        assert!(matches!(
            reader.next_data(),
            Err(FrameError::DataFrameTooLarge(u32::MAX))
        ));
        let over = [0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 2];
        assert!(matches!(
            FileReader::new(Cursor::new(&over)),
            Err(FrameError::BadControlLength(513))
        ));
        let short = [0, 0, 0, 0, 0, 0, 0, 2, 0, 0];
        assert!(matches!(
            FileReader::new(Cursor::new(&short)),
            Err(FrameError::BadControlLength(2))
        ));
        let unknown_type = [0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 9];
        assert!(matches!(
            FileReader::new(Cursor::new(&unknown_type)),
            Err(FrameError::UnknownControlType(9))
        ));
        // A content type field claiming more bytes than the frame holds.
        let overrun = [0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 1, 0];
        assert!(matches!(
            FileReader::new(Cursor::new(&overrun)),
            Err(FrameError::MalformedControl(_))
        ));
        let unknown_field = [0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0];
        assert!(matches!(
            FileReader::new(Cursor::new(&unknown_field)),
            Err(FrameError::MalformedControl(_))
        ));
    }

    #[test]
    fn a_wrong_content_type_or_first_frame_is_refused() {
        let mut other = ControlFrame::new(ControlType::Start);
        other.content_types.push(b"protobuf:other".to_vec());
        assert!(matches!(
            FileReader::new(Cursor::new(other.encode())),
            Err(FrameError::ContentType(_))
        ));
        let mut data_first = Vec::new();
        encode_data_frame(&mut data_first, b"x");
        assert!(matches!(
            FileReader::new(Cursor::new(data_first)),
            Err(FrameError::Unexpected { .. })
        ));
    }

    #[test]
    fn the_bidirectional_handshake_over_a_socketpair() {
        let (sender, receiver) = UnixStream::pair().unwrap();
        let writer = std::thread::spawn(move || {
            let mut writer = StreamWriter::connect(sender).unwrap();
            writer.write(b"one").unwrap();
            writer.write(b"two").unwrap();
            writer.finish().unwrap();
        });
        let mut reader = StreamReader::accept(receiver).unwrap();
        let mut got = Vec::new();
        while let Some(data) = reader.next_data().unwrap() {
            got.push(data.to_vec());
        }
        writer.join().unwrap();
        assert_eq!(got, [&b"one"[..], b"two"]);
    }

    #[test]
    fn a_sender_offering_another_content_type_is_refused() {
        let (mut sender, receiver) = UnixStream::pair().unwrap();
        let mut ready = ControlFrame::new(ControlType::Ready);
        ready.content_types.push(b"protobuf:other".to_vec());
        sender.write_all(&ready.encode()).unwrap();
        assert!(matches!(
            StreamReader::accept(receiver),
            Err(FrameError::ContentType(_))
        ));
    }

    #[test]
    fn a_stream_that_ends_without_stop_is_an_error() {
        let (sender, receiver) = UnixStream::pair().unwrap();
        let writer = std::thread::spawn(move || {
            let mut writer = StreamWriter::connect(sender).unwrap();
            writer.write(b"one").unwrap();
        });
        let mut reader = StreamReader::accept(receiver).unwrap();
        assert_eq!(reader.next_data().unwrap(), Some(&b"one"[..]));
        writer.join().unwrap();
        assert!(matches!(reader.next_data(), Err(FrameError::MissingStop)));
    }

    #[test]
    fn a_sender_that_closes_right_after_stop_ended_its_stream_properly() {
        let (mut sender, receiver) = UnixStream::pair().unwrap();
        let mut ready = ControlFrame::new(ControlType::Ready);
        ready.content_types.push(CONTENT_TYPE.to_vec());
        sender.write_all(&ready.encode()).unwrap();
        let writer = std::thread::spawn(move || {
            // Read the ACCEPT, then START, one frame, STOP, and close without reading FINISH.
            let mut accept = [0u8; 64];
            let _ = std::io::Read::read(&mut sender, &mut accept).unwrap();
            let mut start = ControlFrame::new(ControlType::Start);
            start.content_types.push(CONTENT_TYPE.to_vec());
            sender.write_all(&start.encode()).unwrap();
            let mut frame = Vec::new();
            encode_data_frame(&mut frame, b"one");
            sender.write_all(&frame).unwrap();
            sender
                .write_all(&ControlFrame::new(ControlType::Stop).encode())
                .unwrap();
        });
        let mut reader = StreamReader::accept(receiver).unwrap();
        writer.join().unwrap();
        assert_eq!(reader.next_data().unwrap(), Some(&b"one"[..]));
        assert_eq!(reader.next_data().unwrap(), None);
    }
}
