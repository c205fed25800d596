//! Busy-polled non-blocking sockets: every poll checks pending connects, writes what is queued
//! and reads each connection until `WouldBlock`. One `read`/`write` syscall per step, no
//! readiness API: with a kernel-bypass stack preloaded (Onload, VMA) those calls never enter the
//! kernel, and on a plain kernel it is the fallback when io_uring is refused.

use super::NetworkConfig;
use super::{
    connect_timed_out, new_socket, BackendKind, CloseReason, ConnId, NetBackend, NetError,
    NetEvent, NetLimits, NetStats, SendError, SendQueue,
};
use socket2::Socket;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Free,
    Connecting,
    Connected,
}

struct Conn {
    state: State,
    generation: u32,
    socket: Option<Socket>,
    /// A connect error seen by `connect` itself, reported on the next poll.
    early_error: Option<io::Error>,
    deadline: Instant,
    queue: SendQueue,
    buf: Box<[u8]>,
    /// The queue went from non-empty to empty: report `SendComplete`.
    drained: bool,
}

pub struct PollBackend {
    cfg: NetworkConfig,
    conns: Box<[Conn]>,
    recv: Box<[u8]>,
    stats: NetStats,
    /// `send` only queues; `flush` and `poll` write.
    corked: bool,
}

impl PollBackend {
    /// Allocates every buffer now (one send buffer per slot, one receive buffer).
    pub fn new(cfg: &NetworkConfig, limits: NetLimits) -> Result<PollBackend, NetError> {
        limits.check()?;
        let now = Instant::now();
        let conns = (0..limits.max_conns)
            .map(|_| Conn {
                state: State::Free,
                generation: 0,
                socket: None,
                early_error: None,
                deadline: now,
                queue: SendQueue::new(limits.send_buffer),
                buf: vec![0u8; limits.send_buffer].into_boxed_slice(),
                drained: false,
            })
            .collect();
        Ok(PollBackend {
            cfg: cfg.clone(),
            conns,
            recv: vec![0u8; limits.recv_buffer_size as usize].into_boxed_slice(),
            stats: NetStats::default(),
            corked: false,
        })
    }

    fn live(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.conns
            .get_mut(id.slot as usize)
            .filter(|c| c.state != State::Free && c.generation == id.generation)
    }
}

fn release(conn: &mut Conn) {
    conn.state = State::Free;
    conn.socket = None; // closes the fd
    conn.early_error = None;
    conn.queue.clear();
    conn.drained = false;
    conn.generation = conn.generation.wrapping_add(1);
}

/// Writes queued bytes until the queue is empty or the socket would block.
fn flush(conn: &mut Conn, stats: &mut NetStats) -> io::Result<()> {
    let Some(socket) = conn.socket.as_ref() else {
        return Ok(());
    };
    let mut socket: &Socket = socket;
    while !conn.queue.is_empty() {
        let chunk = conn.queue.chunk();
        let bytes = conn.buf.get(chunk).unwrap_or_default();
        match socket.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                stats.writes += 1;
                if n < bytes.len() {
                    stats.short_writes += 1;
                }
                conn.queue.consume(n);
                if conn.queue.is_empty() {
                    conn.drained = true;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl NetBackend for PollBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Poll
    }

    fn connect(&mut self, addr: SocketAddr) -> Result<ConnId, NetError> {
        let max = self.conns.len() as u16;
        let slot = self
            .conns
            .iter()
            .position(|c| c.state == State::Free)
            .ok_or(NetError::NoFreeSlot { max })?;
        let (socket, sockaddr) = new_socket(addr, &self.cfg, true)?;
        let early_error = match socket.connect(&sockaddr) {
            Ok(()) => None,
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => None,
            Err(e) => Some(e),
        };
        let timeout = Duration::from_millis(u64::from(self.cfg.connect_timeout_ms));
        let conn = self
            .conns
            .get_mut(slot)
            .ok_or(NetError::NoFreeSlot { max })?;
        conn.state = State::Connecting;
        conn.socket = Some(socket);
        conn.early_error = early_error;
        conn.deadline = Instant::now() + timeout;
        conn.queue.clear();
        conn.drained = false;
        Ok(ConnId::new(slot as u16, conn.generation))
    }

    #[inline]
    fn send(&mut self, conn: ConnId, bytes: &[u8]) -> Result<(), SendError> {
        let c = self
            .conns
            .get_mut(conn.slot as usize)
            .filter(|c| c.state != State::Free && c.generation == conn.generation)
            .ok_or(SendError::UnknownConn)?;
        if c.state != State::Connected {
            return Err(SendError::NotConnected);
        }
        let capacity = c.queue.capacity();
        if bytes.len() > capacity {
            return Err(SendError::TooLarge {
                len: bytes.len(),
                capacity,
            });
        }
        let free = c.queue.free();
        let (a, b) = c.queue.push(bytes.len()).ok_or(SendError::Full {
            len: bytes.len(),
            free,
        })?;
        let (first, second) = bytes.split_at(a.len());
        if let Some(dst) = c.buf.get_mut(a) {
            dst.copy_from_slice(first);
        }
        if let Some(dst) = c.buf.get_mut(b) {
            dst.copy_from_slice(second);
        }
        // Uncorked, write at once when nothing was waiting (lowest latency); an error surfaces
        // on the next poll's flush, which retries and then reports `Closed`.
        if !self.corked && c.queue.len() == bytes.len() {
            let _ = flush(c, &mut self.stats);
        }
        Ok(())
    }

    fn set_corked(&mut self, corked: bool) {
        self.corked = corked;
    }

    #[inline]
    fn flush(&mut self) -> Result<(), NetError> {
        for conn in self.conns.iter_mut() {
            if conn.state == State::Connected && !conn.queue.is_empty() {
                // A failed write is retried by the next poll, which then reports `Closed`.
                let _ = flush(conn, &mut self.stats);
            }
        }
        Ok(())
    }

    fn poll<H: FnMut(ConnId, NetEvent<'_>)>(&mut self, handler: &mut H) -> Result<usize, NetError> {
        let mut events = 0;
        let recv = &mut self.recv;
        let stats = &mut self.stats;
        for (slot, conn) in self.conns.iter_mut().enumerate() {
            let id = ConnId::new(slot as u16, conn.generation);
            match conn.state {
                State::Free => {}
                State::Connecting => {
                    let Some(socket) = conn.socket.as_ref() else {
                        release(conn);
                        continue;
                    };
                    let failure = match conn.early_error.take() {
                        Some(e) => Some(e),
                        None => match socket.take_error() {
                            Ok(Some(e)) | Err(e) => Some(e),
                            Ok(None) => None,
                        },
                    };
                    if let Some(e) = failure {
                        release(conn);
                        handler(id, NetEvent::ConnectFailed(e));
                        events += 1;
                    } else if socket.peer_addr().is_ok() {
                        conn.state = State::Connected;
                        handler(id, NetEvent::Connected);
                        events += 1;
                    } else if Instant::now() >= conn.deadline {
                        release(conn);
                        handler(id, NetEvent::ConnectFailed(connect_timed_out()));
                        events += 1;
                    }
                }
                State::Connected => {
                    if let Err(e) = flush(conn, stats) {
                        release(conn);
                        handler(id, NetEvent::Closed(CloseReason::Error(e)));
                        events += 1;
                        continue;
                    }
                    if conn.drained {
                        conn.drained = false;
                        handler(id, NetEvent::SendComplete);
                        events += 1;
                    }
                    let closed = loop {
                        let Some(mut socket) = conn.socket.as_ref() else {
                            break Some(CloseReason::Error(io::ErrorKind::NotConnected.into()));
                        };
                        match socket.read(recv) {
                            Ok(0) => break Some(CloseReason::PeerClosed),
                            Ok(n) => {
                                handler(id, NetEvent::Data(recv.get(..n).unwrap_or_default()));
                                events += 1;
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break None,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => break Some(CloseReason::Error(e)),
                        }
                    };
                    if let Some(reason) = closed {
                        release(conn);
                        handler(id, NetEvent::Closed(reason));
                        events += 1;
                    }
                }
            }
        }
        Ok(events)
    }

    fn close(&mut self, conn: ConnId) {
        if let Some(c) = self.live(conn) {
            release(c);
        }
    }

    fn queued(&self, conn: ConnId) -> Option<usize> {
        self.conns
            .get(conn.slot as usize)
            .filter(|c| c.state != State::Free && c.generation == conn.generation)
            .map(|c| c.queue.len())
    }

    fn stats(&self) -> NetStats {
        self.stats
    }
}
