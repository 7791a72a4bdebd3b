//! One direction of a session's relay: read into a reused buffer, split frames in place
//! (length-checked), show each message to the capture [`Tracker`], and forward every complete
//! frame of a read with one `write_all` of a slice (and a flush, which costs nothing on a TCP
//! socket and pushes out what a TLS stream holds back). Messages capture does not read whole
//! (CopyData, DataRow, …) and any larger than the buffer stream through without being
//! buffered whole; messages it reads (Query, Parse, Bind, CommandComplete, ErrorResponse, …)
//! are gathered whole up to the inspection limit, beyond which they stream too and capture sees
//! their first bytes only.

use std::io;
use std::sync::{Mutex, PoisonError};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::protocol::{FrameError, HEADER_LEN, parse_header};
use super::stats::Counter;
use super::tracker::Tracker;

/// Which side a pump reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client to server.
    Frontend,
    /// Server to client.
    Backend,
}

/// Why a pump stopped (other than a clean end of its input).
#[derive(Debug, thiserror::Error)]
pub enum PumpError {
    #[error("reading failed: {0}")]
    Read(#[source] io::Error),
    #[error("writing failed: {0}")]
    Write(#[source] io::Error),
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// The buffer and framing state of one direction.
#[derive(Debug)]
pub struct Pump {
    dir: Direction,
    buf: Vec<u8>,
    /// `buf[..filled]` holds data read and not yet forwarded.
    filled: usize,
    /// `buf[..parsed]` has been shown to the tracker and is ready to forward.
    parsed: usize,
    /// Bytes of a streamed frame still to come; they are forwarded without parsing.
    passthrough: usize,
    /// Length of the frame being gathered whole, when it is longer than the buffer.
    need: usize,
    base_len: usize,
    max_message: u32,
    max_inspect: usize,
    /// A `write_all` is under way (a cancelled one leaves the peer mid-frame).
    writing: bool,
}

impl Pump {
    /// `max_message`: the largest length field accepted; `max_inspect`: the largest message
    /// gathered whole for capture.
    pub fn new(dir: Direction, buffer_bytes: usize, max_message: u32, max_inspect: usize) -> Self {
        let base_len = buffer_bytes.max(HEADER_LEN + 64);
        Pump {
            dir,
            buf: vec![0; base_len],
            filled: 0,
            parsed: 0,
            passthrough: 0,
            need: 0,
            base_len,
            max_message,
            max_inspect,
            writing: false,
        }
    }

    /// Everything the peer received so far consists of whole frames, so the proxy may add one
    /// of its own (an ErrorResponse).
    pub fn at_boundary(&self) -> bool {
        !self.writing && self.passthrough == 0
    }

    /// Bytes read and not yet forwarded.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    /// Read until at least `n` bytes are buffered. `Ok(false)` when the input ends first.
    pub async fn fill_to<R: AsyncRead + Unpin>(&mut self, r: &mut R, n: usize) -> io::Result<bool> {
        if self.buf.len() < n {
            self.buf.resize(n, 0);
        }
        while self.filled < n {
            let read = r.read(&mut self.buf[self.filled..]).await?;
            if read == 0 {
                return Ok(false);
            }
            self.filled += read;
        }
        Ok(true)
    }

    /// Drop the first `n` buffered bytes (handled outside the relay, e.g. a startup packet).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.filled);
        self.buf.copy_within(n..self.filled, 0);
        self.filled -= n;
        self.parsed = self.parsed.saturating_sub(n);
    }

    /// Relay until the input ends (`Ok`) or something fails. Data already buffered is handled
    /// first.
    pub async fn run<R, W>(
        &mut self,
        r: &mut R,
        w: &mut W,
        tracker: &Mutex<Tracker>,
        bytes: &Counter,
    ) -> Result<(), PumpError>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        loop {
            if self.filled > self.parsed {
                let mut t = tracker.lock().unwrap_or_else(PoisonError::into_inner);
                self.process(&mut t)?;
            }
            if self.parsed > 0 {
                self.writing = true;
                w.write_all(&self.buf[..self.parsed])
                    .await
                    .map_err(PumpError::Write)?;
                w.flush().await.map_err(PumpError::Write)?;
                self.writing = false;
                self.consume(self.parsed);
            }
            self.make_room();
            let n = r
                .read(&mut self.buf[self.filled..])
                .await
                .map_err(PumpError::Read)?;
            if n == 0 {
                return Ok(());
            }
            bytes.add(n as u64);
            self.filled += n;
        }
    }

    /// Show every complete frame in `buf[parsed..filled]` to the tracker and advance `parsed`
    /// past it; start streaming a frame too large to gather.
    fn process(&mut self, t: &mut Tracker) -> Result<(), FrameError> {
        let mut pos = self.parsed;
        if self.passthrough > 0 {
            let k = self.passthrough.min(self.filled - pos);
            pos += k;
            self.passthrough -= k;
        }
        self.need = 0;
        while self.passthrough == 0 {
            let avail = &self.buf[pos..self.filled];
            let Some(header) = parse_header(avail, self.max_message)? else {
                break;
            };
            let frame = header.frame_len();
            if frame <= avail.len() {
                dispatch(self.dir, t, header.tag, &avail[HEADER_LEN..frame], true);
                pos += frame;
                continue;
            }
            let wanted = match self.dir {
                Direction::Frontend => Tracker::wants_frontend(header.tag),
                Direction::Backend => Tracker::wants_backend(header.tag),
            };
            let limit = if wanted {
                self.max_inspect.max(self.buf.len())
            } else {
                self.buf.len()
            };
            if frame <= limit {
                // Wait for the rest (growing the buffer if the frame is longer than it).
                self.need = frame;
                break;
            }
            dispatch(self.dir, t, header.tag, &avail[HEADER_LEN..], false);
            self.passthrough = frame - avail.len();
            pos = self.filled;
        }
        self.parsed = pos;
        Ok(())
    }

    /// Make space to read into: grow for a frame being gathered whole, shrink back to the
    /// usual size once a large one has gone through.
    fn make_room(&mut self) {
        if self.need > self.buf.len() {
            self.buf.resize(self.need, 0);
        } else if self.buf.len() > self.base_len
            && self.filled <= self.base_len
            && self.need <= self.base_len
        {
            self.buf.truncate(self.base_len);
            self.buf.shrink_to_fit();
        }
        if self.filled == self.buf.len() {
            // Cannot happen with a consistent state (a frame that fits is always drained or
            // gathered); grow rather than spin on a zero-length read.
            let len = self.buf.len() * 2;
            self.buf.resize(len, 0);
        }
    }
}

fn dispatch(dir: Direction, t: &mut Tracker, tag: u8, body: &[u8], complete: bool) {
    match dir {
        Direction::Frontend => t.frontend(tag, body, complete),
        Direction::Backend => t.backend(tag, body, complete),
    }
}

#[cfg(test)]
mod tests;
