//! io_uring backend.
//!
//! - Sockets are fixed files (`register_files_sparse`, one slot per connection), so no op pays
//!   the file-table lookup.
//! - Connect is `IORING_OP_CONNECT` linked to a `LINK_TIMEOUT` (the connect timeout).
//! - Each connection owns a region of one registered buffer block (`register_buffers`, one iovec
//!   per slot); `send` copies into it and queues a `WRITE_FIXED` SQE, so the kernel skips pinning
//!   and mapping user pages per write. At most one write per connection is in flight (two in
//!   flight on one stream socket may reorder); a short write continues from where it stopped.
//!   `SEND_ZC` is not used: on small order messages the zero-copy notification costs more than
//!   the copy it saves. `WRITE_FIXED` has no `MSG_NOSIGNAL`: a write to a reset connection raises
//!   SIGPIPE, which Rust programs ignore by default (the write then fails with EPIPE).
//! - Receive is one multishot `RECV` per connection selecting from a provided-buffer ring shared
//!   by all connections; each buffer goes back to the ring as soon as the handler returns.
//! - The ring is set up with `COOP_TASKRUN | TASKRUN_FLAG`: completions wait as task work
//!   until this thread enters the kernel (no inter-processor interrupt into the busy-polling
//!   thread), and the kernel flags the SQ ring when some are waiting.
//! - `poll` calls `submit()` only when SQEs are queued (or the kernel asks for an enter: task
//!   work flagged, CQ overflow), then drains the completion queue; it never waits. With `[network] sqpoll` a kernel thread picks
//!   SQEs up and `submit()` only wakes it when it went to sleep.
//!
//! Memory the kernel reads or writes (send block, receive buffers, buffer ring) is allocated
//! once at creation and released only after every in-flight operation has completed (or leaked,
//! if the kernel never completes them within the drop timeout).

use super::NetworkConfig;
use super::{
    connect_timed_out, new_socket, BackendKind, CloseReason, ConnId, NetBackend, NetError,
    NetEvent, NetLimits, NetStats, SendError, SendQueue,
};
use io_uring::types::{BufRingEntry, CancelBuilder, Fixed, SubmitArgs, Timespec};
use io_uring::{cqueue, opcode, squeue, IoUring};
use socket2::{SockAddr, Socket};
use std::alloc::Layout;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// Buffer group id of the receive buffer ring.
const BGID: u16 = 0;
const PAGE: usize = 4096;

// user_data layout: generation << 32 | slot << 8 | op.
const OP_CONNECT: u64 = 1;
const OP_TIMEOUT: u64 = 2;
const OP_RECV: u64 = 3;
const OP_WRITE: u64 = 4;
const OP_CANCEL: u64 = 5;

#[inline]
fn user_data(slot: u16, generation: u32, op: u64) -> u64 {
    (u64::from(generation) << 32) | (u64::from(slot) << 8) | op
}

/// A zeroed, page-aligned heap block shared with the kernel.
struct RawBuf {
    ptr: NonNull<u8>,
    layout: Layout,
    /// Never freed (the kernel may still hold it).
    leaked: bool,
}

// SAFETY: RawBuf is a uniquely owned heap allocation with no thread affinity; moving the owner to
// another thread moves the only handle to it.
unsafe impl Send for RawBuf {}

impl RawBuf {
    fn new(len: usize) -> Result<RawBuf, NetError> {
        let layout = Layout::from_size_align(len.max(1), PAGE)
            .map_err(|_| NetError::Limits("buffer size overflows"))?;
        // SAFETY: the layout has a non-zero size (len.max(1)) and a valid power-of-two alignment.
        let raw = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).ok_or(NetError::Limits("out of memory for net buffers"))?;
        Ok(RawBuf {
            ptr,
            layout,
            leaked: false,
        })
    }

    fn addr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for RawBuf {
    fn drop(&mut self) {
        if !self.leaked {
            // SAFETY: allocated in `RawBuf::new` with this exact layout and freed only here, once.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) };
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Free,
    Connecting,
    Connected,
    /// Closed; waiting for its in-flight operations to complete before the slot is reused.
    Draining,
}

struct Conn {
    state: State,
    generation: u32,
    socket: Option<Socket>,
    /// Connect target; stable address (the slot never moves) read by the kernel.
    addr: SockAddr,
    /// Connect timeout for the linked LINK_TIMEOUT; stable address.
    timeout: Timespec,
    queue: SendQueue,
    /// Length of the write in flight (0: none).
    writing: u32,
    /// Operations submitted and not yet completed (the slot is reusable only at 0).
    ops: u32,
}

pub struct UringBackend {
    // Dropped first: the ring goes before the memory it used.
    ring: IoUring,
    cfg: NetworkConfig,
    conns: Box<[Conn]>,
    send_buffer: usize,
    send_mem: RawBuf,
    recv_mem: RawBuf,
    recv_size: u32,
    recv_count: u16,
    /// Provided-buffer ring entries (page aligned).
    buf_ring: RawBuf,
    /// Our copy of the buffer ring tail.
    ring_tail: u16,
    /// A write could not be queued (SQ full): retry on the next poll.
    stalled: bool,
    stats: NetStats,
    /// `send` only queues; `flush` and `poll` start the writes.
    corked: bool,
}

fn unavailable(step: &'static str) -> impl FnOnce(io::Error) -> NetError {
    move |source| NetError::IoUringUnavailable { step, source }
}

impl UringBackend {
    /// Sets up the ring, registers buffers and file slots. Fails with
    /// [`NetError::IoUringUnavailable`] when the kernel or the container refuses io_uring
    /// (EPERM with `kernel.io_uring_disabled`, ENOSYS, seccomp) or lacks a needed feature
    /// (kernel older than 6.0: no multishot receive).
    pub fn new(cfg: &NetworkConfig, limits: NetLimits) -> Result<UringBackend, NetError> {
        limits.check()?;
        let mut builder = IoUring::builder();
        builder.setup_cqsize(limits.ring_entries.saturating_mul(4));
        if cfg.sqpoll {
            builder.setup_sqpoll(1000);
        }
        // Completions of network operations (a multishot receive seeing data) finish as task
        // work in this thread. By default the kernel interrupts the thread with an IPI to run it
        // (on a VM an IPI to a busy vCPU is a VM exit: it doubled the loopback round trip, 45 µs
        // against poll's 25 µs). COOP_TASKRUN lets the work wait for the next enter and
        // TASKRUN_FLAG raises IORING_SQ_TASKRUN meanwhile, which `poll` checks before draining:
        // the busy-polling engine enters the kernel exactly when there is work to run.
        let mut coop = builder.clone();
        coop.setup_coop_taskrun().setup_taskrun_flag();
        let ring = match coop.build(limits.ring_entries) {
            Ok(r) => r,
            // Before 5.19 (EINVAL): the default, interrupting task work.
            Err(_) => builder
                .build(limits.ring_entries)
                .map_err(unavailable("io_uring_setup"))?,
        };

        let mut probe = io_uring::Probe::new();
        ring.submitter()
            .register_probe(&mut probe)
            .map_err(unavailable("register_probe"))?;
        // SEND_ZC came with multishot receive and fixed-file cancel, in 6.0.
        for (code, what) in [
            (
                opcode::SendZc::CODE,
                "kernel older than 6.0 (no multishot receive)",
            ),
            (opcode::WriteFixed::CODE, "WRITE_FIXED"),
            (opcode::Connect::CODE, "CONNECT"),
            (opcode::LinkTimeout::CODE, "LINK_TIMEOUT"),
        ] {
            if !probe.is_supported(code) {
                return Err(NetError::IoUringUnavailable {
                    step: what,
                    source: io::Error::from_raw_os_error(libc::EOPNOTSUPP),
                });
            }
        }

        let max = usize::from(limits.max_conns);
        let send_mem = RawBuf::new(max * limits.send_buffer)?;
        let recv_count = limits.recv_buffers;
        let recv_size = limits.recv_buffer_size;
        let recv_mem = RawBuf::new(usize::from(recv_count) * recv_size as usize)?;
        let buf_ring = RawBuf::new(usize::from(recv_count) * std::mem::size_of::<BufRingEntry>())?;

        let iovecs: Vec<libc::iovec> = (0..max)
            .map(|i| libc::iovec {
                iov_base: send_mem.addr().wrapping_add(i * limits.send_buffer).cast(),
                iov_len: limits.send_buffer,
            })
            .collect();
        // SAFETY: every iovec points into `send_mem`, which outlives the ring: the ring is dropped
        // first (field order, and `Drop` drains in-flight writes before that).
        unsafe { ring.submitter().register_buffers(&iovecs) }
            .map_err(unavailable("register_buffers (check RLIMIT_MEMLOCK)"))?;
        ring.submitter()
            .register_files_sparse(u32::from(limits.max_conns))
            .map_err(unavailable("register_files_sparse"))?;

        let conns = (0..limits.max_conns)
            .map(|_| Conn {
                state: State::Free,
                generation: 0,
                socket: None,
                addr: SockAddr::from(SocketAddr::from(([0, 0, 0, 0], 0))),
                timeout: Timespec::new(),
                queue: SendQueue::new(limits.send_buffer),
                writing: 0,
                ops: 0,
            })
            .collect();
        let mut backend = UringBackend {
            ring,
            cfg: cfg.clone(),
            conns,
            send_buffer: limits.send_buffer,
            send_mem,
            recv_mem,
            recv_size,
            recv_count,
            buf_ring,
            ring_tail: 0,
            stalled: false,
            stats: NetStats::default(),
            corked: false,
        };
        for bid in 0..recv_count {
            backend.provide(bid);
        }
        // SAFETY: `buf_ring` holds `recv_count` entries, is page aligned, and outlives the
        // registration (the ring is dropped before it).
        unsafe {
            backend.ring.submitter().register_buf_ring_with_flags(
                backend.buf_ring.addr() as u64,
                recv_count,
                BGID,
                0,
            )
        }
        .map_err(unavailable("register_buf_ring"))?;
        Ok(backend)
    }

    /// Hands receive buffer `bid` (back) to the kernel.
    #[inline]
    fn provide(&mut self, bid: u16) {
        let mask = self.recv_count - 1;
        let index = usize::from(self.ring_tail & mask);
        let base = self.buf_ring.addr().cast::<BufRingEntry>();
        let buf = self
            .recv_mem
            .addr()
            .wrapping_add(usize::from(bid) * self.recv_size as usize);
        self.ring_tail = self.ring_tail.wrapping_add(1);
        // index < recv_count, so the entry lies inside `buf_ring` (recv_count entries of
        // `BufRingEntry`, the kernel's `struct io_uring_buf`, zero-initialised, page aligned).
        // The kernel does not read entries at or past the published tail, so this entry is ours
        // until the store below; the setters write only its addr, len and bid, never `resv`
        // (in entry 0 the shared tail, which the kernel may read meanwhile but nothing writes
        // through this reference), and the reference ends before the tail store.
        // SAFETY: in bounds, initialised, aligned, and not read by the kernel until published.
        let entry = unsafe { &mut *base.add(index) };
        entry.set_addr(buf as u64);
        entry.set_len(self.recv_size);
        entry.set_bid(bid);
        // `base` is the first entry of the initialised, page-aligned ring, so `tail` yields its
        // `resv` field, the ring's tail: 2-byte aligned and valid as long as `buf_ring`. Only
        // this thread writes it and the kernel reads it, so it is accessed atomically; the
        // release store publishes the entry written just above.
        // SAFETY: the tail is valid, aligned and only ever accessed atomically.
        unsafe {
            let tail = BufRingEntry::tail(base).cast_mut();
            AtomicU16::from_ptr(tail).store(self.ring_tail, Ordering::Release);
        }
    }

    /// Queues one SQE, submitting once to make room when the queue is full.
    fn push(&mut self, entry: &squeue::Entry) -> bool {
        // SAFETY: every SQE we build points only at memory owned by `self` that outlives the
        // operation (slot fields that never move, the registered send block, the buffer ring).
        if unsafe { self.ring.submission().push(entry) }.is_ok() {
            return true;
        }
        let _ = self.ring.submit();
        // SAFETY: the same SQE as above, with the same guarantees.
        unsafe { self.ring.submission().push(entry) }.is_ok()
    }

    /// Queues the write of the next contiguous run of queued bytes of `slot`, if none is in
    /// flight.
    #[inline]
    fn start_write(&mut self, slot: u16) {
        let send_buffer = self.send_buffer;
        let base = self.send_mem.addr();
        let Some(conn) = self.conns.get_mut(usize::from(slot)) else {
            return;
        };
        if conn.writing != 0 || conn.queue.is_empty() || conn.state != State::Connected {
            return;
        }
        let chunk = conn.queue.chunk();
        let len = chunk.len() as u32;
        // slot * send_buffer + chunk.end <= max_conns * send_buffer: inside the block.
        let ptr = base.wrapping_add(usize::from(slot) * send_buffer + chunk.start);
        let entry = opcode::WriteFixed::new(Fixed(u32::from(slot)), ptr, len, slot)
            .offset(0)
            .build()
            .user_data(user_data(slot, conn.generation, OP_WRITE));
        conn.writing = len;
        conn.ops += 1;
        self.stats.writes += 1;
        if !self.push(&entry) {
            if let Some(conn) = self.conns.get_mut(usize::from(slot)) {
                conn.writing = 0;
                conn.ops -= 1;
            }
            self.stalled = true;
        }
    }

    fn submit_if_needed(&mut self) -> Result<(), NetError> {
        let needed = {
            let sq = self.ring.submission();
            !sq.is_empty() || sq.cq_overflow() || sq.taskrun()
        };
        if needed {
            match self.ring.submit() {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EBUSY | libc::EAGAIN | libc::EINTR)
                    ) => {}
                Err(e) => return Err(NetError::Submit(e)),
            }
        }
        Ok(())
    }

    /// Closes `slot` at once: shuts the socket down, cancels its operations and leaves it
    /// draining until they complete. Old handles die here (generation bump).
    fn teardown(&mut self, slot: u16) {
        let Some(conn) = self.conns.get_mut(usize::from(slot)) else {
            return;
        };
        if !matches!(conn.state, State::Connecting | State::Connected) {
            return;
        }
        let generation = conn.generation;
        conn.state = State::Draining;
        conn.generation = conn.generation.wrapping_add(1);
        conn.queue.clear();
        if let Some(socket) = conn.socket.as_ref() {
            let _ = socket.shutdown(Shutdown::Both);
        }
        conn.ops += 1;
        let cancel = opcode::AsyncCancel2::new(CancelBuilder::fd(Fixed(u32::from(slot))).all())
            .build()
            .user_data(user_data(slot, generation, OP_CANCEL));
        if !self.push(&cancel) {
            if let Some(conn) = self.conns.get_mut(usize::from(slot)) {
                conn.ops -= 1;
            }
        }
        let _ = self.ring.submit();
        let _ = self
            .ring
            .submitter()
            .register_files_update(u32::from(slot), &[-1]);
        if let Some(conn) = self.conns.get_mut(usize::from(slot)) {
            conn.socket = None;
            conn.writing = 0;
            if conn.ops == 0 {
                conn.state = State::Free;
            }
        }
    }

    /// One completion. Returns the number of events reported.
    fn complete<H: FnMut(ConnId, NetEvent<'_>)>(
        &mut self,
        ud: u64,
        res: i32,
        flags: u32,
        handler: &mut H,
    ) -> usize {
        let op = ud & 0xff;
        let slot = ((ud >> 8) & 0xffff) as u16;
        let generation = (ud >> 32) as u32;
        let recv_size = self.recv_size;
        let recv_count = self.recv_count;
        let recv_base = self.recv_mem.addr();
        let Some(conn) = self.conns.get_mut(usize::from(slot)) else {
            return 0;
        };
        // Multishot receive stays in flight while the kernel says MORE.
        if op != OP_RECV || !cqueue::more(flags) {
            conn.ops = conn.ops.saturating_sub(1);
        }
        let live = conn.generation == generation
            && matches!(conn.state, State::Connecting | State::Connected);
        if !live {
            if conn.state == State::Draining && conn.ops == 0 {
                conn.state = State::Free;
            }
            if op == OP_RECV {
                if let Some(bid) = cqueue::buffer_select(flags).filter(|b| *b < recv_count) {
                    self.provide(bid);
                }
            }
            return 0;
        }
        let id = ConnId::new(slot, generation);
        match op {
            OP_CONNECT => {
                if res == 0 {
                    conn.state = State::Connected;
                    conn.ops += 1;
                    let recv = opcode::RecvMulti::new(Fixed(u32::from(slot)), BGID)
                        .build()
                        .user_data(user_data(slot, generation, OP_RECV));
                    handler(id, NetEvent::Connected);
                    if !self.push(&recv) {
                        if let Some(conn) = self.conns.get_mut(usize::from(slot)) {
                            conn.ops -= 1;
                        }
                        self.teardown(slot);
                        handler(
                            id,
                            NetEvent::Closed(CloseReason::Error(io::Error::from_raw_os_error(
                                libc::EBUSY,
                            ))),
                        );
                        return 2;
                    }
                    1
                } else {
                    let err = match -res {
                        libc::ECANCELED | libc::EINTR | libc::ETIME => connect_timed_out(),
                        errno => io::Error::from_raw_os_error(errno),
                    };
                    self.teardown(slot);
                    handler(id, NetEvent::ConnectFailed(err));
                    1
                }
            }
            OP_RECV => {
                let mut events = 0;
                if let Some(bid) = cqueue::buffer_select(flags) {
                    if bid < recv_count {
                        if res > 0 && (res as u32) <= recv_size {
                            // the kernel filled `res` bytes of buffer `bid` (inside
                            // `recv_mem`: bid < count, res <= size) and gave it to us; it is not
                            // in the ring until `provide` below, so nothing writes it meanwhile.
                            // SAFETY: the kernel handed us buffer `bid` with `res` valid bytes; not re-provided yet.
                            let data = unsafe {
                                std::slice::from_raw_parts(
                                    recv_base.add(usize::from(bid) * recv_size as usize),
                                    res as usize,
                                )
                            };
                            handler(id, NetEvent::Data(data));
                            events += 1;
                        }
                        self.provide(bid);
                    }
                }
                if cqueue::more(flags) {
                    return events;
                }
                // The multishot receive ended.
                let rearm = res > 0 || res == -libc::ENOBUFS;
                if rearm {
                    self.stats.recv_rearms += 1;
                    if let Some(conn) = self.conns.get_mut(usize::from(slot)) {
                        conn.ops += 1;
                    }
                    let recv = opcode::RecvMulti::new(Fixed(u32::from(slot)), BGID)
                        .build()
                        .user_data(user_data(slot, generation, OP_RECV));
                    if self.push(&recv) {
                        return events;
                    }
                    if let Some(conn) = self.conns.get_mut(usize::from(slot)) {
                        conn.ops -= 1;
                    }
                }
                let reason = if res == 0 {
                    CloseReason::PeerClosed
                } else if res < 0 && !rearm {
                    CloseReason::Error(io::Error::from_raw_os_error(-res))
                } else {
                    CloseReason::Error(io::Error::from_raw_os_error(libc::EBUSY))
                };
                self.teardown(slot);
                handler(id, NetEvent::Closed(reason));
                events + 1
            }
            OP_WRITE => {
                let asked = std::mem::take(&mut conn.writing);
                if res >= 0 {
                    if (res as u32) < asked {
                        self.stats.short_writes += 1;
                    }
                    conn.queue.consume(res as usize);
                    if conn.queue.is_empty() {
                        handler(id, NetEvent::SendComplete);
                        return 1;
                    }
                    self.start_write(slot);
                    0
                } else if matches!(-res, libc::EAGAIN | libc::EINTR) {
                    self.start_write(slot);
                    0
                } else {
                    self.teardown(slot);
                    handler(
                        id,
                        NetEvent::Closed(CloseReason::Error(io::Error::from_raw_os_error(-res))),
                    );
                    1
                }
            }
            // OP_TIMEOUT (the connect's linked timeout) and OP_CANCEL only count as completed.
            _ => 0,
        }
    }

    /// Completes whatever is ready now; `handler` sees the events. Returns (events, completions).
    fn drain<H: FnMut(ConnId, NetEvent<'_>)>(&mut self, handler: &mut H) -> (usize, usize) {
        const BATCH: usize = 32;
        let mut events = 0;
        let mut completions = 0;
        loop {
            let mut batch = [(0u64, 0i32, 0u32); BATCH];
            let mut n = 0;
            {
                let mut cq = self.ring.completion();
                for slot in batch.iter_mut() {
                    let Some(cqe) = cq.next() else { break };
                    *slot = (cqe.user_data(), cqe.result(), cqe.flags());
                    n += 1;
                }
            }
            if n == 0 {
                return (events, completions);
            }
            completions += n;
            for &(ud, res, flags) in batch.iter().take(n) {
                events += self.complete(ud, res, flags, handler);
            }
        }
    }

    fn ops_in_flight(&self) -> u32 {
        self.conns.iter().map(|c| c.ops).sum()
    }
}

impl NetBackend for UringBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::IoUring
    }

    fn connect(&mut self, addr: SocketAddr) -> Result<ConnId, NetError> {
        let max = self.conns.len() as u16;
        let slot = self
            .conns
            .iter()
            .position(|c| c.state == State::Free)
            .ok_or(NetError::NoFreeSlot { max })? as u16;
        // Blocking mode: io_uring does the waiting (a non-blocking socket would hand EAGAIN back).
        let (socket, sockaddr) = new_socket(addr, &self.cfg, false)?;
        self.ring
            .submitter()
            .register_files_update(u32::from(slot), &[socket.as_raw_fd()])
            .map_err(|source| NetError::Socket {
                addr,
                what: "io_uring register_files_update",
                source,
            })?;
        let ms = u64::from(self.cfg.connect_timeout_ms);
        let Some(conn) = self.conns.get_mut(usize::from(slot)) else {
            return Err(NetError::NoFreeSlot { max });
        };
        conn.state = State::Connecting;
        conn.socket = Some(socket);
        conn.addr = sockaddr;
        conn.timeout = Timespec::new()
            .sec(ms / 1000)
            .nsec((ms % 1000) as u32 * 1_000_000);
        conn.queue.clear();
        conn.writing = 0;
        let generation = conn.generation;
        let connect = opcode::Connect::new(
            Fixed(u32::from(slot)),
            conn.addr.as_ptr().cast::<libc::sockaddr>(),
            conn.addr.len(),
        )
        .build()
        .flags(squeue::Flags::IO_LINK)
        .user_data(user_data(slot, generation, OP_CONNECT));
        let timeout = opcode::LinkTimeout::new(&conn.timeout)
            .build()
            .user_data(user_data(slot, generation, OP_TIMEOUT));
        // Both or neither: make room for the linked pair first.
        let room = {
            let sq = self.ring.submission();
            sq.capacity() - sq.len()
        };
        if room < 2 {
            let _ = self.ring.submit();
        }
        // SAFETY: the SQEs point at `conn.addr` and `conn.timeout`, fields of a slot that never
        // moves (boxed slice) and is not reused before both operations complete.
        let pushed = unsafe { self.ring.submission().push_multiple(&[connect, timeout]) };
        if let Err(e) = pushed {
            self.teardown(slot);
            return Err(NetError::Socket {
                addr,
                what: "io_uring submission queue full",
                source: io::Error::new(io::ErrorKind::WouldBlock, e.to_string()),
            });
        }
        if let Some(conn) = self.conns.get_mut(usize::from(slot)) {
            conn.ops += 2;
        }
        self.submit_if_needed().map_err(|e| NetError::Socket {
            addr,
            what: "io_uring submit",
            source: match e {
                NetError::Submit(io) => io,
                other => io::Error::other(other.to_string()),
            },
        })?;
        Ok(ConnId::new(slot, generation))
    }

    #[inline]
    fn send(&mut self, conn: ConnId, bytes: &[u8]) -> Result<(), SendError> {
        let send_buffer = self.send_buffer;
        let base = self.send_mem.addr();
        let c = self
            .conns
            .get_mut(usize::from(conn.slot))
            .filter(|c| {
                c.generation == conn.generation
                    && matches!(c.state, State::Connecting | State::Connected)
            })
            .ok_or(SendError::UnknownConn)?;
        if c.state != State::Connected {
            return Err(SendError::NotConnected);
        }
        if bytes.len() > send_buffer {
            return Err(SendError::TooLarge {
                len: bytes.len(),
                capacity: send_buffer,
            });
        }
        let free = c.queue.free();
        let (a, b) = c.queue.push(bytes.len()).ok_or(SendError::Full {
            len: bytes.len(),
            free,
        })?;
        let region = usize::from(conn.slot) * send_buffer;
        // `a` and `b` lie within this slot's `send_buffer`-byte region of the send block
        // (SendQueue ranges are below its capacity) and are free queue space, which no in-flight
        // write covers, so the kernel is not reading them; `bytes` is a separate Rust slice.
        // SAFETY: free queue space inside this slot, not read by any in-flight write.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), base.add(region + a.start), a.len());
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr().add(a.len()),
                base.add(region + b.start),
                b.len(),
            );
        }
        if self.corked {
            // Started by `flush` or `poll`, with everything queued until then in one SQE.
            self.stalled = true;
        } else {
            self.start_write(conn.slot);
        }
        Ok(())
    }

    fn set_corked(&mut self, corked: bool) {
        self.corked = corked;
    }

    #[inline]
    fn flush(&mut self) -> Result<(), NetError> {
        if !self.stalled {
            return Ok(());
        }
        self.stalled = false;
        for slot in 0..self.conns.len() as u16 {
            self.start_write(slot);
        }
        self.submit_if_needed()
    }

    fn poll<H: FnMut(ConnId, NetEvent<'_>)>(&mut self, handler: &mut H) -> Result<usize, NetError> {
        if self.stalled {
            self.stalled = false;
            for slot in 0..self.conns.len() as u16 {
                self.start_write(slot);
            }
        }
        self.submit_if_needed()?;
        let (events, _) = self.drain(handler);
        self.submit_if_needed()?;
        Ok(events)
    }

    fn close(&mut self, conn: ConnId) {
        let live = self.conns.get(usize::from(conn.slot)).is_some_and(|c| {
            c.generation == conn.generation
                && matches!(c.state, State::Connecting | State::Connected)
        });
        if live {
            self.teardown(conn.slot);
        }
    }

    fn queued(&self, conn: ConnId) -> Option<usize> {
        self.conns
            .get(usize::from(conn.slot))
            .filter(|c| {
                c.generation == conn.generation
                    && matches!(c.state, State::Connecting | State::Connected)
            })
            .map(|c| c.queue.len())
    }

    fn stats(&self) -> NetStats {
        self.stats
    }
}

impl Drop for UringBackend {
    fn drop(&mut self) {
        for slot in 0..self.conns.len() as u16 {
            self.teardown(slot);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        let wait = Timespec::new().nsec(10_000_000);
        while self.ops_in_flight() > 0 && Instant::now() < deadline {
            let args = SubmitArgs::new().timespec(&wait);
            let _ = self.ring.submitter().submit_with_args(1, &args);
            self.drain(&mut |_, _| {});
        }
        if self.ops_in_flight() > 0 {
            // The kernel may still write into these; never hand them back to the allocator.
            tracing::warn!(
                "io_uring backend dropped with {} operations still in flight; leaking its \
                 buffers",
                self.ops_in_flight()
            );
            self.send_mem.leaked = true;
            self.recv_mem.leaked = true;
            self.buf_ring.leaked = true;
        }
    }
}
