//! Streamed answers: a store scan runs on a blocking thread and hands lines to the HTTP
//! body through a small bounded channel.
//!
//! Why this shape: rows leave as they are read (the first before the scan ends); memory
//! is the channel's few chunks whatever the answer's size; a client that goes away closes
//! the channel, which stops the scan at its next send. Before the body starts, the
//! producer says how the answer begins ([`Start`]), so that a query the store refuses is
//! still a 400 and an empty v1 answer still a 404.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::Frame;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// Bytes gathered before a chunk goes to the client.
const CHUNK_BYTES: usize = 32 * 1024;
/// Chunks in flight between the scan and the socket: the memory bound of an answer.
const CHUNKS_IN_FLIGHT: usize = 4;

/// How an answer starts, decided before its first byte.
#[derive(Debug)]
pub enum Start {
    /// 200 and the body follows.
    Body,
    /// Nothing matched, and this API says so with a status (v1: 404).
    Empty,
    /// The query cannot run as asked (400).
    Refused(String),
}

/// How lines are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// DNSDB's Streaming Application Format: begin, `{"obj":..}` lines, a terminator.
    Saf,
    /// One JSON object per line and nothing else (DNSDB v1, CIRCL).
    Bare,
    /// Text written as it comes (a zone file), with this content type.
    Text(&'static str),
}

impl Framing {
    pub fn content_type(&self) -> &'static str {
        match self {
            Framing::Saf | Framing::Bare => "application/x-ndjson",
            Framing::Text(content_type) => content_type,
        }
    }
}

/// How an answer ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    Succeeded,
    /// The row cap stopped it: there is more.
    Limited(String),
    /// Something broke or the time budget ran out after the answer began.
    Failed(String),
    /// The client went away.
    Disconnected,
}

impl End {
    /// The label of the streams-ended counter.
    pub fn label(&self) -> &'static str {
        match self {
            End::Succeeded => "succeeded",
            End::Limited(_) => "limited",
            End::Failed(_) => "failed",
            End::Disconnected => "disconnected",
        }
    }
}

/// The client is gone; stop working.
#[derive(Debug)]
pub struct Gone;

/// The producer's end of an answer.
pub struct Out {
    tx: mpsc::Sender<Bytes>,
    start: Option<oneshot::Sender<Start>>,
    framing: Framing,
    buffer: Vec<u8>,
    /// The HTTP status the answer started with.
    status: u16,
    /// Objects written.
    pub rows: u64,
}

/// The handler's end: how the answer starts, and the body.
pub struct Pending {
    pub start: oneshot::Receiver<Start>,
    pub body: ChannelBody,
}

/// A new answer: the producer's end and the handler's.
pub fn channel(framing: Framing) -> (Out, Pending) {
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let (start_tx, start_rx) = oneshot::channel();
    let out = Out {
        tx,
        start: Some(start_tx),
        framing,
        buffer: Vec::with_capacity(CHUNK_BYTES),
        status: 200,
        rows: 0,
    };
    (
        out,
        Pending {
            start: start_rx,
            body: ChannelBody { rx },
        },
    )
}

impl Out {
    /// Says how the answer starts (only the first call counts); a SAF body begins here.
    pub fn start(&mut self, start: Start) {
        let body = matches!(start, Start::Body);
        if let Some(tx) = self.start.take() {
            self.status = match start {
                Start::Body => 200,
                Start::Empty => 404,
                Start::Refused(_) => 400,
            };
            let _ = tx.send(start);
            if body && self.framing == Framing::Saf {
                self.buffer.extend_from_slice(b"{\"cond\":\"begin\"}\n");
            }
        }
    }

    /// The HTTP status the answer started with (200 until it starts).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// One result object.
    pub fn object(&mut self, object: &Value) -> Result<(), Gone> {
        self.start(Start::Body);
        match self.framing {
            Framing::Saf => {
                self.buffer.extend_from_slice(b"{\"obj\":");
                write_json(&mut self.buffer, object);
                self.buffer.extend_from_slice(b"}\n");
            }
            Framing::Bare | Framing::Text(_) => {
                write_json(&mut self.buffer, object);
                self.buffer.push(b'\n');
            }
        }
        self.rows += 1;
        self.flush_when_full()
    }

    /// Raw bytes of a text answer.
    pub fn text(&mut self, bytes: &[u8]) -> Result<(), Gone> {
        self.start(Start::Body);
        self.buffer.extend_from_slice(bytes);
        self.flush_when_full()
    }

    fn flush_when_full(&mut self) -> Result<(), Gone> {
        match self.buffer.len() >= CHUNK_BYTES {
            true => self.flush(),
            false => Ok(()),
        }
    }

    /// Ends the answer: the SAF terminator, then everything still buffered.
    pub fn finish(mut self, end: &End) {
        self.start(Start::Body);
        if self.framing == Framing::Saf {
            let line = match end {
                End::Succeeded => serde_json::json!({"cond": "succeeded"}),
                End::Limited(msg) => serde_json::json!({"cond": "limited", "msg": msg}),
                End::Failed(msg) => serde_json::json!({"cond": "failed", "msg": msg}),
                End::Disconnected => return,
            };
            write_json(&mut self.buffer, &line);
            self.buffer.push(b'\n');
        }
        let _ = self.flush();
    }

    fn flush(&mut self) -> Result<(), Gone> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
        self.tx.blocking_send(Bytes::from(chunk)).map_err(|_| Gone)
    }
}

fn write_json(buffer: &mut Vec<u8>, value: &Value) {
    // Writing a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buffer, value);
}

/// [`Out::text`] as an `io::Write`, for writers of text formats (the zone exporter).
pub struct TextWriter<'a>(pub &'a mut Out);

impl std::io::Write for TextWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .text(bytes)
            .map(|()| bytes.len())
            .map_err(|Gone| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The response body fed by [`Out`].
pub struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl ChannelBody {
    /// A body of the chunks a producer other than [`Out`] sends (the new-name feed).
    pub fn new(rx: mpsc::Receiver<Bytes>) -> ChannelBody {
        ChannelBody { rx }
    }
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(pending: Pending) -> (Start, String) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let Pending { start, mut body } = pending;
            let start = start.await.unwrap();
            let mut text = String::new();
            while let Some(chunk) = body.rx.recv().await {
                text.push_str(std::str::from_utf8(&chunk).unwrap());
            }
            (start, text)
        })
    }

    #[test]
    fn saf_answers_begin_carry_objects_and_end_with_a_newline_terminated_condition() {
        let (mut out, pending) = channel(Framing::Saf);
        let producer = std::thread::spawn(move || {
            out.object(&serde_json::json!({"rrname": "a."})).unwrap();
            out.finish(&End::Limited("Result limit reached".into()));
        });
        let (start, text) = drain(pending);
        producer.join().unwrap();
        assert!(matches!(start, Start::Body));
        assert_eq!(
            text,
            "{\"cond\":\"begin\"}\n{\"obj\":{\"rrname\":\"a.\"}}\n{\"cond\":\"limited\",\"msg\":\"Result limit reached\"}\n"
        );
    }

    #[test]
    fn an_empty_saf_answer_is_begin_and_succeeded_and_bare_is_nothing() {
        let (out, pending) = channel(Framing::Saf);
        std::thread::spawn(move || out.finish(&End::Succeeded));
        assert_eq!(
            drain(pending).1,
            "{\"cond\":\"begin\"}\n{\"cond\":\"succeeded\"}\n"
        );
        let (out, pending) = channel(Framing::Bare);
        std::thread::spawn(move || out.finish(&End::Succeeded));
        assert_eq!(drain(pending).1, "");
    }

    #[test]
    fn a_closed_body_stops_the_producer() {
        let (mut out, pending) = channel(Framing::Bare);
        drop(pending);
        let big = serde_json::json!({"rdata": "x".repeat(CHUNK_BYTES)});
        assert!(out.object(&big).is_err());
    }
}
