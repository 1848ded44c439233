//! One connection's state machine: reading the HTTP head, answering plain HTTP, and the
//! WebSocket phase with its output accounting, ping/pong and closing.
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tungstenite::{Bytes, Message, Utf8Bytes, WebSocket};

use super::client::Client;
use super::stream::{CountingStream, close_frame, frame_overhead, interrupted, would_block};
use super::transport::Transport;
use super::upgrade::Encoding;

/// The connection is finished (closed by the peer, a socket error, or a protocol error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

/// What the connection is doing.
pub enum Phase {
    /// Reading the request head (bytes so far).
    Head(Vec<u8>),
    /// Writing a plain HTTP answer, then closing.
    Answer { out: Vec<u8>, pos: usize },
    /// A WebSocket.
    Ws(Box<WsConn>),
    /// Finished: remove from the loop.
    Done,
}

/// The WebSocket phase.
pub struct WsConn {
    /// tungstenite's state machine over our counting stream.
    pub ws: WebSocket<CountingStream>,
    /// Message encoding chosen at the handshake.
    pub encoding: Encoding,
    /// AMI session and event cursor.
    pub client: Client,
    /// Payload + frame bytes handed to tungstenite so far (queued = this - written).
    pub handed: u64,
    /// Replies waiting for tungstenite's buffer to have room.
    pub backlog: VecDeque<Utf8Bytes>,
    /// Everything handed to tungstenite has reached the kernel.
    pub flushed: bool,
    /// When we last heard anything from the client.
    pub last_heard: Instant,
    /// When our unanswered ping went out.
    pub ping_sent: Option<Instant>,
    /// We sent (or are sending) a Close; waiting for the peer's or the flush.
    pub closing: bool,
    /// Control frames received in the current one-second window, and the window start.
    pub control_frames: (u32, Instant),
    /// Data messages received before login in the current one-second window.
    pub messages: (u32, Instant),
    /// permessage-deflate was negotiated.
    pub deflate: bool,
    /// Message payload bytes queued before compression, and frame bytes as sent (both since
    /// the upgrade; equal without compression).
    pub bytes_raw: u64,
    /// See `bytes_raw`.
    pub bytes_wire: u64,
    /// Flow control: the loop has stopped reading this client (its queue of actions is full or
    /// its output is backed up) and watches only writability until there is room.
    pub paused: bool,
    /// Readable interest is deregistered in the poll set (follows `paused` after each drive).
    pub read_off: bool,
    /// The read budget of one pass ran out with input possibly left (in the socket or inside
    /// tungstenite/TLS): the loop must come back without waiting for a readiness event.
    pub more_input: bool,
    /// Bytes the kernel had taken at the last keep-alive check (progress of a paused client).
    pub written_seen: u64,
}

/// Counters shown by `ws show clients`.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    /// Events delivered.
    pub events_sent: u64,
    /// Events lost to ring overwrite.
    pub events_lost: u64,
}

/// One accepted TCP connection.
pub struct Conn {
    /// Our id (shown by the CLI, used by `ws kick`).
    pub id: u64,
    /// The client's address: the TCP peer, or the address a trusted proxy forwarded.
    pub peer: SocketAddr,
    /// The trusted proxy's own address when `peer` was forwarded by it.
    pub via: Option<SocketAddr>,
    /// A PROXY protocol header is expected before anything else (trusted peer, option on).
    pub proxy_pending: bool,
    /// When it connected (wall clock, for the CLI).
    pub since: SystemTime,
    /// The transport until the WebSocket phase takes it over.
    pub socket: Option<Transport>,
    /// The current phase.
    pub phase: Phase,
    /// Deadline of the current phase (handshake, login), if any.
    pub deadline: Option<Instant>,
}

/// How a connection ended, for the caller's bookkeeping and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Still alive.
    No,
    /// Closed (any reason); the loop removes it.
    Yes,
}

impl Conn {
    /// A freshly accepted connection, reading its request head until `deadline`.
    pub fn new(id: u64, peer: SocketAddr, socket: Transport, deadline: Instant) -> Self {
        Conn {
            id,
            peer,
            via: None,
            proxy_pending: false,
            since: SystemTime::now(),
            socket: Some(socket),
            phase: Phase::Head(Vec::new()),
            deadline: Some(deadline),
        }
    }

    /// The mio source, whichever phase owns it.
    pub fn source(&mut self) -> Option<&mut mio::net::TcpStream> {
        match &mut self.phase {
            Phase::Ws(w) => Some(w.ws.get_mut().inner.socket()),
            _ => self.socket.as_mut().map(Transport::socket),
        }
    }

    /// Reads what the socket has into the head buffer. `Ok(true)` = got data, `Err` = closed.
    pub fn read_head(&mut self, max: usize) -> Result<bool, Gone> {
        let (Some(sock), Phase::Head(buf)) = (self.socket.as_mut(), &mut self.phase) else {
            return Err(Gone);
        };
        let mut got = false;
        let mut chunk = [0u8; 2048];
        loop {
            if buf.len() >= max {
                return Ok(got);
            }
            let room = (max - buf.len()).min(chunk.len());
            match sock.read(&mut chunk[..room]) {
                Ok(0) => return Err(Gone),
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    got = true;
                }
                Err(e) if would_block(&e) => return Ok(got),
                Err(e) if interrupted(&e) => continue,
                Err(_) => return Err(Gone),
            }
        }
    }

    /// Switches to writing a plain HTTP answer.
    pub fn answer(&mut self, out: Vec<u8>) -> Ended {
        self.phase = Phase::Answer { out, pos: 0 };
        self.write_answer()
    }

    /// Writes as much of the HTTP answer as the socket takes; done = close.
    pub fn write_answer(&mut self) -> Ended {
        let (Some(sock), Phase::Answer { out, pos }) = (self.socket.as_mut(), &mut self.phase)
        else {
            return Ended::Yes;
        };
        while *pos < out.len() {
            match sock.write(&out[*pos..]) {
                Ok(0) => return Ended::Yes,
                Ok(n) => *pos += n,
                Err(e) if would_block(&e) => return Ended::No,
                Err(e) if interrupted(&e) => continue,
                Err(_) => return Ended::Yes,
            }
        }
        match sock.flush() {
            Err(e) if would_block(&e) => return Ended::No,
            _ => {}
        }
        sock.shutdown();
        self.phase = Phase::Done;
        Ended::Yes
    }

    /// Turns the connection into a WebSocket after the 101 answer was written in full.
    pub fn into_websocket(
        &mut self,
        leftover: Vec<u8>,
        config: WebSocketConfig,
        encoding: Encoding,
        client: Client,
        inflater: Option<std::sync::Arc<std::sync::Mutex<super::deflate::Inflater>>>,
    ) -> Result<(), Gone> {
        let sock = self.socket.take().ok_or(Gone)?;
        let deflate = inflater.is_some();
        // With deflate, bytes already read after the head go through the filter too.
        let (leftover, inflating) = match inflater {
            Some(inf) => {
                let max_frame = config.max_frame_size.unwrap_or(usize::MAX);
                let max_message = config.max_message_size.unwrap_or(usize::MAX);
                let filter =
                    super::inflating::Inflating::new(leftover, max_frame, max_message, inf);
                (Vec::new(), Some(Box::new(filter)))
            }
            None => (leftover, None),
        };
        let stream = CountingStream { inner: sock, written: 0, inflating };
        let ws = WebSocket::from_partially_read(stream, leftover, Role::Server, Some(config));
        let now = Instant::now();
        self.phase = Phase::Ws(Box::new(WsConn {
            ws,
            encoding,
            client,
            handed: 0,
            backlog: VecDeque::new(),
            flushed: true,
            last_heard: now,
            ping_sent: None,
            closing: false,
            control_frames: (0, now),
            messages: (0, now),
            deflate,
            bytes_raw: 0,
            bytes_wire: 0,
            paused: false,
            read_off: false,
            more_input: false,
            written_seen: 0,
        }));
        Ok(())
    }
}

impl WsConn {
    /// Bytes handed to tungstenite that the kernel has not taken yet.
    pub fn queued(&self) -> u64 {
        self.handed.saturating_sub(self.ws.get_ref().written)
    }

    /// Output waiting for this client: in tungstenite and in the backlog (for the CLI).
    pub fn waiting_output(&self) -> u64 {
        self.queued() + self.backlog.iter().map(|m| m.len() as u64).sum::<u64>()
    }

    /// Queues one text message. `Ok(false)`: tungstenite's buffer is full (nothing queued).
    ///
    /// A message bigger than the whole output cap (`max_queued_bytes`) could never be queued
    /// and would stall the client for good; it is let through alone, once nothing else waits,
    /// by lifting the cap for that one frame.
    pub fn queue(&mut self, text: Utf8Bytes) -> Result<bool, Gone> {
        self.queue_maybe_deflated(text, None)
    }

    /// Queues one text message, as `deflated` (its permessage-deflate payload, RSV1 set) when
    /// given and this client negotiated compression. Same contract as [`WsConn::queue`].
    pub fn queue_maybe_deflated(
        &mut self,
        text: Utf8Bytes,
        deflated: Option<Bytes>,
    ) -> Result<bool, Gone> {
        let raw_len = text.len();
        match deflated.filter(|_| self.deflate) {
            Some(payload) => self.queue_deflated(payload, Data::Text, raw_len),
            None => self.write_counted(Message::Text(text), raw_len, raw_len),
        }
    }

    /// Queues one data message already compressed for permessage-deflate (RSV1 set): `payload`
    /// is its deflate stream without the tail, `raw_len` its size before compression. Only for
    /// a client that negotiated compression. Same contract as [`WsConn::queue`].
    pub fn queue_deflated(
        &mut self,
        payload: Bytes,
        data: Data,
        raw_len: usize,
    ) -> Result<bool, Gone> {
        let len = payload.len();
        let mut frame = Frame::message(payload, OpCode::Data(data), true);
        frame.header_mut().rsv1 = true;
        self.write_counted(Message::Frame(frame), len, raw_len)
    }

    /// Queues one data message of `len` payload bytes, uncompressed (the test-only echo).
    pub fn queue_message(&mut self, msg: Message, len: usize) -> Result<bool, Gone> {
        self.write_counted(msg, len, len)
    }

    /// Hands one message of `len` bytes on the wire (`raw_len` before compression) to
    /// tungstenite, lifting its buffer cap for one message larger than the cap.
    fn write_counted(&mut self, msg: Message, len: usize, raw_len: usize) -> Result<bool, Gone> {
        let frame_len = len + frame_overhead(len) as usize;
        let cap = self.ws.get_config().max_write_buffer_size;
        let lift = frame_len > cap && self.queued() == 0;
        if lift {
            self.ws.set_config(|c| c.max_write_buffer_size = frame_len.saturating_add(cap));
        }
        let result = self.ws.write(msg);
        if lift {
            self.ws.set_config(|c| c.max_write_buffer_size = cap);
        }
        match result {
            Ok(()) => {}
            Err(tungstenite::Error::Io(e)) if would_block(&e) => self.flushed = false,
            Err(tungstenite::Error::WriteBufferFull(_)) => return Ok(false),
            Err(_) => return Err(Gone),
        }
        self.handed += len as u64 + frame_overhead(len);
        self.bytes_raw += raw_len as u64;
        self.bytes_wire += len as u64 + frame_overhead(len);
        self.flushed = false;
        Ok(true)
    }

    /// Queues a reply, keeping order with earlier replies that did not fit yet.
    pub fn queue_reply(&mut self, text: Utf8Bytes) -> Result<(), Gone> {
        self.backlog.push_back(text);
        self.drain_backlog()
    }

    /// Moves waiting replies into tungstenite while it has room.
    pub fn drain_backlog(&mut self) -> Result<(), Gone> {
        while let Some(front) = self.backlog.front() {
            if !self.queue(front.clone())? {
                return Ok(());
            }
            self.backlog.pop_front();
        }
        Ok(())
    }

    /// Pushes queued output to the socket. `Ok(true)` when everything went out.
    pub fn flush(&mut self) -> Result<bool, Gone> {
        match self.ws.flush() {
            Ok(()) => {
                self.flushed = true;
                Ok(true)
            }
            Err(tungstenite::Error::Io(e)) if would_block(&e) => {
                self.flushed = false;
                Ok(false)
            }
            Err(_) => Err(Gone),
        }
    }

    /// Starts a clean close with `code`; the loop keeps the connection until the flush ends.
    pub fn start_close(&mut self, code: u16, reason: &str) {
        if self.closing {
            return;
        }
        self.closing = true;
        let frame = CloseFrame { code: CloseCode::from(code), reason: Utf8Bytes::from(reason) };
        match self.ws.close(Some(frame)) {
            // WouldBlock: the Close is queued behind output the socket has not taken yet.
            Ok(()) => {}
            Err(tungstenite::Error::Io(e)) if would_block(&e) => self.flushed = false,
            Err(_) => self.abort_with(code, reason),
        }
        let _ = self.flush();
    }

    /// Best-effort raw Close frame for states where tungstenite will not write any more (after a
    /// protocol error), then shut the socket down. The frame is written only at a frame
    /// boundary (nothing of ours pending), never into the middle of a queued message.
    pub fn abort_with(&mut self, code: u16, reason: &str) {
        self.closing = true;
        let at_boundary = self.queued() == 0;
        let frame = close_frame(code, reason);
        let transport = &mut self.ws.get_mut().inner;
        if at_boundary {
            let _ = transport.write(&frame);
            let _ = transport.flush();
        }
        transport.shutdown();
    }
}

/// tungstenite's configuration for a client connection under these settings.
pub fn ws_config(settings: &crate::settings::Settings) -> WebSocketConfig {
    let write_buffer = 64 * 1024;
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(write_buffer)
        // Validated at load: max_queued_bytes >= 64 KiB, so this is always > write_buffer
        // (tungstenite panics otherwise).
        .max_write_buffer_size(settings.max_queued_bytes.max(write_buffer + 1))
        .max_message_size(Some(settings.max_message_size))
        .max_frame_size(Some(settings.max_frame_size))
        .accept_unmasked_frames(false)
}

/// The close code for a tungstenite read error (RFC 6455 section 7.4.1).
pub fn close_code_for(e: &tungstenite::Error) -> (u16, &'static str) {
    use tungstenite::error::{CapacityError, Error, ProtocolError};
    match e {
        Error::Utf8(_) => (1007, "invalid UTF-8"),
        Error::Capacity(CapacityError::MessageTooLong { .. }) => (1009, "message too big"),
        Error::Capacity(_) => (1009, "message too big"),
        Error::Protocol(ProtocolError::InvalidCloseSequence) => (1002, "protocol error"),
        Error::Protocol(_) => (1002, "protocol error"),
        _ => (1011, "internal error"),
    }
}
