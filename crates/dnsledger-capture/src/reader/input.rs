//! A large read buffer over any `Read`: fills in big blocks, hands out slices.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::CaptureError;

/// Size of the read buffer (and of each read request).
pub(crate) const BUFFER_SIZE: usize = 1 << 20;

/// Counts the bytes read from the underlying (possibly compressed) source.
pub(crate) struct CountingReader {
    inner: Box<dyn Read + Send>,
    count: Arc<AtomicU64>,
}

impl CountingReader {
    pub(crate) fn new(inner: Box<dyn Read + Send>, count: Arc<AtomicU64>) -> CountingReader {
        CountingReader { inner, count }
    }
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Buffered input: `buf[start..end]` holds unread bytes; `offset` is the stream offset of
/// `buf[start]`.
pub(crate) struct Input {
    src: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    offset: u64,
    eof: bool,
    err: Option<io::Error>,
}

impl Input {
    pub(crate) fn new(src: Box<dyn Read + Send>) -> Input {
        Input::with_capacity(src, BUFFER_SIZE)
    }

    pub(crate) fn with_capacity(src: Box<dyn Read + Send>, capacity: usize) -> Input {
        Input {
            src,
            buf: vec![0; capacity.max(64)],
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
            err: None,
        }
    }

    /// Unread bytes currently buffered.
    #[inline]
    pub(crate) fn available(&self) -> usize {
        self.end - self.start
    }

    /// Stream offset of the next unread byte.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The unread bytes currently buffered.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Tries to have at least `need` unread bytes buffered; returns whether it succeeded
    /// (false only at the end of the input or after a read error).
    #[inline]
    pub(crate) fn fill(&mut self, need: usize) -> bool {
        if self.available() >= need {
            return true;
        }
        self.fill_slow(need)
    }

    #[cold]
    fn fill_slow(&mut self, need: usize) -> bool {
        if need > self.buf.len() {
            // Only for records larger than the buffer; callers cap `need`.
            let mut bigger = vec![0; need.next_power_of_two()];
            bigger[..self.available()].copy_from_slice(&self.buf[self.start..self.end]);
            self.buf = bigger;
            self.end -= self.start;
            self.start = 0;
        } else if self.start > 0
            && (self.buf.len() - self.start < need
                || self.buf.len() - self.end < self.buf.len() / 2)
        {
            // Keep reads large: move the (small) unread rest to the front.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.available() < need && !self.eof {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n.min(self.buf.len() - self.end),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.err = Some(e);
                    self.eof = true;
                }
            }
        }
        self.available() >= need
    }

    /// Marks `n` buffered bytes as read.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.available());
        self.start += n;
        self.offset += n as u64;
    }

    /// Consumes a record of `consumed` bytes and returns its `data_len` bytes starting
    /// `data_start` bytes into it. The slice stays valid until the next `fill`.
    #[inline]
    pub(crate) fn take_record(
        &mut self,
        consumed: usize,
        data_start: usize,
        data_len: usize,
    ) -> &[u8] {
        let s = self.start;
        let consumed = consumed.min(self.available());
        self.consume(consumed);
        let a = (s + data_start).min(s + consumed);
        let b = (a + data_len).min(s + consumed);
        &self.buf[a..b]
    }

    /// Discards `n` bytes, reading (and dropping) as needed. Returns false if the input ended
    /// first (everything up to the end is consumed then).
    pub(crate) fn skip(&mut self, mut n: u64) -> bool {
        loop {
            let here = (self.available() as u64).min(n);
            self.consume(here as usize);
            n -= here;
            if n == 0 {
                return true;
            }
            self.start = 0;
            self.end = 0;
            if !self.fill(1) {
                return false;
            }
        }
    }

    /// The error to report when a header or record of `needed` bytes at the current offset is
    /// incomplete: the pending read error if there was one, else `Truncated`.
    pub(crate) fn incomplete(&mut self, what: &'static str, needed: u64) -> CaptureError {
        match self.err.take() {
            Some(source) => CaptureError::Io {
                offset: self.offset + self.available() as u64,
                source,
            },
            None => CaptureError::Truncated {
                offset: self.offset,
                what,
                needed,
                available: self.available() as u64,
            },
        }
    }

    /// At a clean record boundary with nothing left: a pending read error, if any.
    pub(crate) fn take_error(&mut self) -> Option<CaptureError> {
        self.err.take().map(|source| CaptureError::Io {
            offset: self.offset,
            source,
        })
    }

    /// Gives back the buffered bytes and the source (used to put a decompressor in front).
    pub(crate) fn into_parts(self) -> (Vec<u8>, Box<dyn Read + Send>) {
        let Input {
            src,
            mut buf,
            start,
            end,
            ..
        } = self;
        buf.truncate(end);
        buf.drain(..start);
        (buf, src)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns at most `chunk` bytes per call.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        chunk: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.chunk).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn fill_compacts_grows_and_skips() {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let mut input = Input::with_capacity(
            Box::new(Trickle {
                data: data.clone(),
                pos: 0,
                chunk: 7,
            }),
            64,
        );
        assert!(input.fill(10));
        assert_eq!(&input.bytes()[..10], &data[..10]);
        assert!(input.fill(60));
        input.consume(60);
        assert!(input.fill(50)); // compaction
        assert_eq!(input.bytes()[0], data[60]);
        assert!(input.fill(200)); // growth
        assert_eq!(&input.bytes()[..200], &data[60..260]);
        assert!(input.skip(500));
        assert_eq!(input.offset(), 560);
        assert!(input.fill(1));
        assert_eq!(input.bytes()[0], data[560]);
        assert!(!input.skip(1000));
        assert_eq!(input.offset(), 1000);
        assert!(!input.fill(1));
        assert!(matches!(
            input.incomplete("x", 4),
            CaptureError::Truncated {
                offset: 1000,
                available: 0,
                ..
            }
        ));
    }
}
