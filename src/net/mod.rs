//! Non-blocking TCP client backends for the hot threads.
//!
//! A hot thread owns one [`NetBackend`] and drives it without ever blocking:
//! [`NetBackend::connect`] starts a connection (finished or failed later, with a connect timeout),
//! [`NetBackend::send`] copies bytes into the connection's pre-allocated send buffer and queues
//! them (all or nothing; partial kernel writes are continued by the backend),
//! [`NetBackend::poll`] reports what happened since the last call to a handler, with received
//! bytes lent straight out of the backend's receive buffers, and [`NetBackend::close`] drops a
//! connection. Send, poll and receive do no heap allocation.
//!
//! Two implementations:
//! - [`UringBackend`]: io_uring with registered send buffers (`WRITE_FIXED`), multishot receive
//!   into a provided-buffer ring, fixed files, optional SQPOLL; polled with `submit()` and a
//!   completion-queue peek, never a blocking wait.
//! - [`PollBackend`]: non-blocking sockets read until `WouldBlock` on every poll; for hosts that
//!   refuse io_uring or run a kernel-bypass stack (Onload, VMA) preloaded over the socket calls.
//!
//! [`Net::open`] picks one from `[network] backend`; `auto` tries io_uring and falls back to poll
//! with one log line saying why ([`select_backend`] holds that decision, testable on its own).
//!
//! [`Reconnector`] is the sans-IO reconnect schedule (exponential backoff with jitter,
//! alternating primary and backup addresses).

pub mod peercred;
mod poll;
mod reconnect;
mod sendq;
mod uring;

pub use poll::PollBackend;
pub use reconnect::Reconnector;
pub use sendq::SendQueue;
pub use uring::UringBackend;

/// Network backend of the hot threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    IoUring,
    Poll,
    /// Poll under a hypervisor (see [`auto_on_host`]); elsewhere io_uring when the kernel
    /// allows it, else poll (one log line says which and why).
    #[default]
    Auto,
}

/// Socket and reconnect settings of the hot threads' backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    pub backend: Backend,
    pub tcp_nodelay: bool,
    /// SO_SNDBUF in bytes (kernel default when absent).
    pub send_buffer_bytes: Option<u32>,
    /// SO_RCVBUF in bytes (kernel default when absent).
    pub recv_buffer_bytes: Option<u32>,
    pub connect_timeout_ms: u32,
    pub reconnect_min_ms: u32,
    pub reconnect_max_ms: u32,
    /// io_uring kernel-side submission polling (costs a core).
    pub sqpoll: bool,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            backend: Backend::default(),
            tcp_nodelay: true,
            send_buffer_bytes: None,
            recv_buffer_bytes: None,
            connect_timeout_ms: 2000,
            reconnect_min_ms: 100,
            reconnect_max_ms: 5000,
            sqpoll: false,
        }
    }
}

/// The name the rest of the crate has known these settings by.
pub type NetworkConfig = NetConfig;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::SocketAddr;

/// A connection handle: a slot index plus a generation, so a handle to a closed connection never
/// reaches the connection that later reuses its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId {
    slot: u16,
    generation: u32,
}

impl ConnId {
    pub(crate) fn new(slot: u16, generation: u32) -> Self {
        ConnId { slot, generation }
    }

    /// The slot index (below [`NetLimits::max_conns`]).
    pub fn slot(self) -> u16 {
        self.slot
    }

    pub fn generation(self) -> u32 {
        self.generation
    }
}

/// Why an established connection ended. After this event the [`ConnId`] is dead.
#[derive(Debug)]
pub enum CloseReason {
    /// The peer closed its side (orderly FIN).
    PeerClosed,
    /// A socket error (reset, broken pipe, ...).
    Error(io::Error),
}

/// What [`NetBackend::poll`] reports.
#[derive(Debug)]
pub enum NetEvent<'a> {
    /// The connection is established; `send` may be called.
    Connected,
    /// Bytes received, in order; the slice is only valid during the call.
    Data(&'a [u8]),
    /// Everything queued with `send` so far has been handed to the kernel: the send buffer is
    /// empty. One event per drain, not per `send`.
    SendComplete,
    /// The connection ended; the backend already released it.
    Closed(CloseReason),
    /// The connection could not be established (refused, unreachable, `TimedOut` after the
    /// connect timeout); the backend already released it.
    ConnectFailed(io::Error),
}

/// Setup and control-path errors.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The kernel or the container refuses io_uring or a feature this backend needs.
    #[error("io_uring unavailable: {step} failed: {source}")]
    IoUringUnavailable {
        step: &'static str,
        #[source]
        source: io::Error,
    },
    /// Every connection slot is in use (or still draining).
    #[error("no free connection slot (max_conns = {max})")]
    NoFreeSlot { max: u16 },
    /// Creating or configuring the socket for `addr` failed.
    #[error("socket for {addr}: {what} failed: {source}")]
    Socket {
        addr: SocketAddr,
        what: &'static str,
        #[source]
        source: io::Error,
    },
    /// `io_uring_enter` failed on the poll path.
    #[error("io_uring submit failed: {0}")]
    Submit(#[source] io::Error),
    /// Bad [`NetLimits`].
    #[error("network limits: {0}")]
    Limits(&'static str),
}

/// Why a [`NetBackend::send`] was refused; nothing was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("unknown or closed connection")]
    UnknownConn,
    #[error("connection not established yet")]
    NotConnected,
    #[error("message of {len} bytes is larger than the {capacity}-byte send buffer")]
    TooLarge { len: usize, capacity: usize },
    #[error("send buffer full: {len} bytes do not fit in the {free} free")]
    Full { len: usize, free: usize },
}

/// Sizes fixed at backend creation (everything is allocated then, never on the steady path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetLimits {
    /// Connection slots.
    pub max_conns: u16,
    /// Send buffer per connection, bytes.
    pub send_buffer: usize,
    /// Receive buffers (io_uring: provided-buffer ring entries; a power of two, at most 32768).
    pub recv_buffers: u16,
    /// Size of each receive buffer, bytes (poll: the one read buffer).
    pub recv_buffer_size: u32,
    /// io_uring submission queue entries.
    pub ring_entries: u32,
}

impl Default for NetLimits {
    fn default() -> Self {
        NetLimits {
            max_conns: 16,
            send_buffer: 256 * 1024,
            recv_buffers: 256,
            recv_buffer_size: 16 * 1024,
            ring_entries: 256,
        }
    }
}

impl NetLimits {
    pub(crate) fn check(&self) -> Result<(), NetError> {
        if self.max_conns == 0 {
            return Err(NetError::Limits("max_conns must be at least 1"));
        }
        if self.send_buffer == 0 || self.send_buffer > u32::MAX as usize {
            return Err(NetError::Limits("send_buffer must be 1..=u32::MAX bytes"));
        }
        if !self.recv_buffers.is_power_of_two() || self.recv_buffers > 32768 {
            return Err(NetError::Limits(
                "recv_buffers must be a power of two up to 32768",
            ));
        }
        if self.recv_buffer_size == 0 {
            return Err(NetError::Limits("recv_buffer_size must be at least 1"));
        }
        if self.ring_entries < 8 {
            return Err(NetError::Limits("ring_entries must be at least 8"));
        }
        Ok(())
    }
}

/// The operations a hot thread drives. None of them blocks.
pub trait NetBackend {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;

    /// Starts connecting to `addr`; the outcome arrives as `Connected` or `ConnectFailed`
    /// (`TimedOut` after `connect_timeout_ms`). Errors here are local (no slot, socket setup).
    fn connect(&mut self, addr: SocketAddr) -> Result<ConnId, NetError>;

    /// Copies `bytes` into the connection's send buffer and queues it (all or nothing). Unless
    /// the backend is corked ([`NetBackend::set_corked`]) the write starts at once when nothing
    /// else was waiting.
    fn send(&mut self, conn: ConnId, bytes: &[u8]) -> Result<(), SendError>;

    /// Corked, `send` only queues: the bytes of every `send` since the last [`NetBackend::flush`]
    /// (or `poll`) go to the kernel together, in one write per connection. A hot loop corks its
    /// backend and flushes once per pass, so a batch of orders costs one system call (poll) or
    /// one SQE (io_uring) instead of one per order.
    fn set_corked(&mut self, corked: bool);

    /// Starts writing whatever every connection has queued (a corked backend's batch); never
    /// blocks. Write errors surface as `Closed` on the next `poll`.
    fn flush(&mut self) -> Result<(), NetError>;

    /// Moves pending I/O forward and reports events to `handler`; returns how many it reported
    /// (0: nothing happened, the caller may idle).
    fn poll<H: FnMut(ConnId, NetEvent<'_>)>(&mut self, handler: &mut H) -> Result<usize, NetError>;

    /// Closes the connection at once (unsent bytes are dropped); no event follows for it.
    fn close(&mut self, conn: ConnId);

    /// Bytes queued and not yet handed to the kernel.
    fn queued(&self, conn: ConnId) -> Option<usize>;

    /// Counters since creation.
    fn stats(&self) -> NetStats;
}

/// Backend counters (plain integers, updated on the hot path without atomics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Writes handed to the kernel (syscalls or SQEs).
    pub writes: u64,
    /// Writes the kernel took only part of (the rest was written later).
    pub short_writes: u64,
    /// io_uring: multishot receives re-armed (receive buffers ran out, or the kernel ended one).
    pub recv_rearms: u64,
}

/// Which backend runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    IoUring,
    Poll,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::IoUring => "io_uring",
            BackendKind::Poll => "poll",
        }
    }
}

/// Outcome of [`select_backend`].
#[derive(Debug)]
pub enum Selection<U> {
    IoUring(U),
    /// Use the poll backend; `fallback` says why when io_uring was tried or skipped under `auto`.
    Poll {
        fallback: Option<String>,
    },
}

/// Shared libraries that, preloaded, replace the socket calls with a kernel-bypass stack that
/// io_uring would go around.
const BYPASS_PRELOADS: [&str; 4] = ["libonload", "libvma", "libxlio", "libexasock"];

/// The backend decision: `poll` is poll, `io_uring` is io_uring or the setup error, and `auto`
/// is io_uring unless a kernel-bypass stack is preloaded (`ld_preload`, the `LD_PRELOAD` value)
/// or `setup_uring` fails, in which case it is poll with the reason.
pub fn select_backend<U>(
    choice: Backend,
    ld_preload: Option<&str>,
    setup_uring: impl FnOnce() -> Result<U, NetError>,
) -> Result<Selection<U>, NetError> {
    match choice {
        Backend::Poll => Ok(Selection::Poll { fallback: None }),
        Backend::IoUring => setup_uring().map(Selection::IoUring),
        Backend::Auto => {
            if let Some(lib) = ld_preload.and_then(|p| {
                p.split([':', ' '])
                    .find(|l| BYPASS_PRELOADS.iter().any(|b| l.contains(b)))
            }) {
                return Ok(Selection::Poll {
                    fallback: Some(format!(
                        "kernel-bypass stack preloaded ({lib}); io_uring would bypass it"
                    )),
                });
            }
            match setup_uring() {
                Ok(u) => Ok(Selection::IoUring(u)),
                Err(e) => Ok(Selection::Poll {
                    fallback: Some(e.to_string()),
                }),
            }
        }
    }
}

/// Why `auto` takes poll on a virtual machine (logged in one line at start).
pub const AUTO_POLL_UNDER_HYPERVISOR: &str =
    "running under a hypervisor (cpuinfo flag `hypervisor`), where io_uring's loopback round \
     trip measured slower than busy-polled non-blocking sockets (bench/net.rs: \
     net.io_uring.rtt_ns vs net.poll.rtt_ns); set backend = \"io_uring\" to use it anyway";

/// The host-dependent part of `auto`: under a hypervisor `auto` becomes poll, with the reason
/// to log; any other choice (or `auto` on bare metal) is returned as is, for
/// [`select_backend`].
pub fn auto_on_host(choice: Backend, hypervisor: bool) -> (Backend, Option<&'static str>) {
    match choice {
        Backend::Auto if hypervisor => (Backend::Poll, Some(AUTO_POLL_UNDER_HYPERVISOR)),
        other => (other, None),
    }
}

/// Whether `/proc/cpuinfo` text says the machine is virtual (x86 `hypervisor` CPU flag).
pub fn cpuinfo_says_hypervisor(cpuinfo: &str) -> bool {
    cpuinfo
        .lines()
        .filter(|l| l.starts_with("flags"))
        .filter_map(|l| l.split_once(':'))
        .any(|(_, flags)| flags.split_whitespace().any(|f| f == "hypervisor"))
}

/// Either backend, chosen at start from the configuration.
pub enum Net {
    IoUring(Box<UringBackend>),
    Poll(PollBackend),
}

impl Net {
    /// Opens the backend `cfg.backend` asks for (`auto`: io_uring, else poll with one warning).
    pub fn open(cfg: &NetworkConfig, limits: NetLimits) -> Result<Net, NetError> {
        let preload = std::env::var("LD_PRELOAD").ok();
        let hypervisor = cfg.backend == Backend::Auto
            && std::fs::read_to_string("/proc/cpuinfo")
                .is_ok_and(|info| cpuinfo_says_hypervisor(&info));
        let (choice, host_reason) = auto_on_host(cfg.backend, hypervisor);
        if let Some(why) = host_reason {
            tracing::info!("network backend auto: poll, because {why}");
            return Ok(Net::Poll(PollBackend::new(cfg, limits)?));
        }
        let selected = select_backend(choice, preload.as_deref(), || {
            UringBackend::new(cfg, limits)
        })?;
        match selected {
            Selection::IoUring(u) => {
                tracing::info!("network backend: io_uring (sqpoll: {})", cfg.sqpoll);
                Ok(Net::IoUring(Box::new(u)))
            }
            Selection::Poll { fallback } => {
                match fallback {
                    Some(why) => tracing::warn!(
                        "network backend auto: using poll (busy-polled non-blocking sockets) \
                         because {why}"
                    ),
                    None => tracing::info!("network backend: poll"),
                }
                Ok(Net::Poll(PollBackend::new(cfg, limits)?))
            }
        }
    }
}

impl NetBackend for Net {
    fn kind(&self) -> BackendKind {
        match self {
            Net::IoUring(b) => b.kind(),
            Net::Poll(b) => b.kind(),
        }
    }
    fn connect(&mut self, addr: SocketAddr) -> Result<ConnId, NetError> {
        match self {
            Net::IoUring(b) => b.connect(addr),
            Net::Poll(b) => b.connect(addr),
        }
    }
    #[inline]
    fn send(&mut self, conn: ConnId, bytes: &[u8]) -> Result<(), SendError> {
        match self {
            Net::IoUring(b) => b.send(conn, bytes),
            Net::Poll(b) => b.send(conn, bytes),
        }
    }
    fn set_corked(&mut self, corked: bool) {
        match self {
            Net::IoUring(b) => b.set_corked(corked),
            Net::Poll(b) => b.set_corked(corked),
        }
    }
    #[inline]
    fn flush(&mut self) -> Result<(), NetError> {
        match self {
            Net::IoUring(b) => b.flush(),
            Net::Poll(b) => b.flush(),
        }
    }
    #[inline]
    fn poll<H: FnMut(ConnId, NetEvent<'_>)>(&mut self, handler: &mut H) -> Result<usize, NetError> {
        match self {
            Net::IoUring(b) => b.poll(handler),
            Net::Poll(b) => b.poll(handler),
        }
    }
    fn close(&mut self, conn: ConnId) {
        match self {
            Net::IoUring(b) => b.close(conn),
            Net::Poll(b) => b.close(conn),
        }
    }
    fn queued(&self, conn: ConnId) -> Option<usize> {
        match self {
            Net::IoUring(b) => b.queued(conn),
            Net::Poll(b) => b.queued(conn),
        }
    }
    fn stats(&self) -> NetStats {
        match self {
            Net::IoUring(b) => b.stats(),
            Net::Poll(b) => b.stats(),
        }
    }
}

/// A TCP socket for `addr` with the configured options (set before connecting, so the receive
/// window scale follows SO_RCVBUF).
pub(crate) fn new_socket(
    addr: SocketAddr,
    cfg: &NetworkConfig,
    nonblocking: bool,
) -> Result<(Socket, SockAddr), NetError> {
    let err = |what: &'static str| move |source| NetError::Socket { addr, what, source };
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(err("socket"))?;
    socket
        .set_tcp_nodelay(cfg.tcp_nodelay)
        .map_err(err("TCP_NODELAY"))?;
    if let Some(n) = cfg.send_buffer_bytes {
        socket
            .set_send_buffer_size(n as usize)
            .map_err(err("SO_SNDBUF"))?;
    }
    if let Some(n) = cfg.recv_buffer_bytes {
        socket
            .set_recv_buffer_size(n as usize)
            .map_err(err("SO_RCVBUF"))?;
    }
    if nonblocking {
        socket.set_nonblocking(true).map_err(err("O_NONBLOCK"))?;
    }
    Ok((socket, SockAddr::from(addr)))
}

/// The error a connect that did not finish within the timeout reports (`TimedOut`, ETIMEDOUT;
/// no allocation).
pub(crate) fn connect_timed_out() -> io::Error {
    io::Error::from_raw_os_error(libc::ETIMEDOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> Result<(), NetError> {
        Err(NetError::IoUringUnavailable {
            step: "io_uring_setup",
            source: io::Error::from_raw_os_error(libc::EPERM),
        })
    }

    #[test]
    fn auto_falls_back_to_poll_with_the_reason() {
        match select_backend(Backend::Auto, None, refused) {
            Ok(Selection::Poll {
                fallback: Some(why),
            }) => {
                assert!(why.contains("io_uring_setup"), "{why}");
                assert!(why.contains("not permitted"), "{why}");
            }
            other => panic!("expected a poll fallback, got {other:?}"),
        }
    }

    #[test]
    fn explicit_io_uring_reports_the_setup_error() {
        let r = select_backend(Backend::IoUring, None, refused);
        assert!(matches!(r, Err(NetError::IoUringUnavailable { .. })));
    }

    #[test]
    fn auto_uses_io_uring_when_setup_works_and_poll_is_poll() {
        assert!(matches!(
            select_backend(Backend::Auto, Some(""), || Ok(7)),
            Ok(Selection::IoUring(7))
        ));
        let mut tried = false;
        let r = select_backend(Backend::Poll, None, || {
            tried = true;
            Ok(())
        });
        assert!(matches!(r, Ok(Selection::Poll { fallback: None })));
        assert!(!tried, "poll must not touch io_uring");
    }

    #[test]
    fn auto_skips_io_uring_under_a_preloaded_bypass_stack() {
        let mut tried = false;
        let r = select_backend(Backend::Auto, Some("/usr/lib64/libonload.so"), || {
            tried = true;
            Ok(())
        });
        match r {
            Ok(Selection::Poll {
                fallback: Some(why),
            }) => assert!(why.contains("libonload"), "{why}"),
            other => panic!("expected poll, got {other:?}"),
        }
        assert!(!tried);
    }

    #[test]
    fn auto_is_poll_under_a_hypervisor_and_explicit_choices_stand() {
        let (b, why) = auto_on_host(Backend::Auto, true);
        assert_eq!(b, Backend::Poll);
        assert!(why.is_some_and(|w| w.contains("hypervisor") && w.contains("net.poll.rtt_ns")));
        assert_eq!(auto_on_host(Backend::Auto, false), (Backend::Auto, None));
        for hv in [false, true] {
            assert_eq!(auto_on_host(Backend::IoUring, hv), (Backend::IoUring, None));
            assert_eq!(auto_on_host(Backend::Poll, hv), (Backend::Poll, None));
        }
    }

    #[test]
    fn cpuinfo_hypervisor_flag_is_read_from_the_flags_line_only() {
        let vm =
            "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu vme sse2 hypervisor lahf_lm\n";
        assert!(cpuinfo_says_hypervisor(vm));
        let metal =
            "processor\t: 0\nmodel name\t: hypervisor-ready CPU\nflags\t\t: fpu vme sse2 lahf_lm\n";
        assert!(!cpuinfo_says_hypervisor(metal));
        assert!(!cpuinfo_says_hypervisor("flags\t\t: fpu hypervisorx\n"));
        assert!(!cpuinfo_says_hypervisor(""));
    }

    #[test]
    fn limits_are_checked() {
        assert!(NetLimits::default().check().is_ok());
        let bad = NetLimits {
            recv_buffers: 100,
            ..NetLimits::default()
        };
        assert!(matches!(bad.check(), Err(NetError::Limits(_))));
    }
}
