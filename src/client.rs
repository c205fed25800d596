//! Client library for strategy processes: attach to the daemon's shared-memory segment for
//! your strategy, send requests, read events.
//!
//! ```no_run
//! use ilinkd::client::{Client, Idler, IdleStrategy, Order, OrdType, Side, TimeInForce};
//! # fn main() -> Result<(), ilinkd::client::ClientError> {
//! let mut client = Client::attach("alpha")?; // /dev/shm/ilinkd-strategy-alpha
//! let id = client.new_order(&Order {
//!     session: 0,
//!     security_id: 42,
//!     side: Side::Buy,
//!     qty: 1,
//!     price: Some(4_500_250_000_000), // 4500.25, exponent -9
//!     ord_type: OrdType::Limit,
//!     tif: TimeInForce::Day,
//!     stop_px: None,
//!     min_qty: None,
//!     display_qty: None,
//!     expire_date: None,
//! })?;
//! // Or: a stop-limit GTC order, 10 lots showing 2.
//! client.new_order(&Order {
//!     ord_type: OrdType::StopLimit,
//!     tif: TimeInForce::Gtc,
//!     stop_px: Some(4_501_000_000_000),
//!     display_qty: Some(2),
//!     ..Order::limit(0, 42, Side::Buy, 10, 4_501_250_000_000)
//! })?;
//! let mut idler = Idler::new(IdleStrategy::SpinThenYield);
//! while let Some(event) = client.wait_event(&mut idler, std::time::Duration::from_secs(1)) {
//!     let event = event?;
//!     if event.order_id == id {
//!         println!("{:?}", event.kind);
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Request ids are the request ring index + 1: unique over the segment's life, including
//! across strategy restarts; a new order's request id is also its client order id, which the
//! daemon echoes in every event about the order (it assigns the exchange ClOrdID itself).
//! Requests are stamped with [`now_ns`] (CLOCK_REALTIME) when enqueued; events echo that
//! stamp in `request_enqueue_ns` for latency measurement.
//!
//! The send and poll paths do not allocate, lock or make system calls (besides reading the
//! clock through the vDSO). The library checks the daemon's answers but never trusts the
//! strategy: the daemon validates every request again.

use crate::shm::strategy::{Attached, SendFail};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use crate::config::IdleStrategy;
pub use crate::shm::strategy::{
    AttachError, Event, EventKind, LinkStatus, MassScope, OrdType, Order, Problem, RejectReason,
    Request, RequestBody, Side, Text, TimeInForce, FLAG_CLOSED, FLAG_FAULTED, PRICE_NULL,
    REQUEST_RECORD_SIZE,
};

/// Errors of the client library.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Attach(#[from] AttachError),
    #[error("request ring full: {capacity} requests not yet read by the daemon; retry later")]
    Full { capacity: u32 },
    #[error("the daemon faulted this segment (request ring found corrupt) and no longer reads it")]
    Faulted,
    #[error("the daemon closed this segment; attach again once it has restarted")]
    Closed,
    #[error("{ring} ring indices corrupt (producer {producer}, consumer {consumer})")]
    Corrupt {
        ring: &'static str,
        producer: u64,
        consumer: u64,
    },
    #[error("event record {index} undecodable: {problem}")]
    BadEvent { index: u64, problem: Problem },
}

/// Where a strategy's segment is: a bare name (no `/`) means
/// `/dev/shm/ilinkd-strategy-<name>`; anything else is a path.
pub fn segment_path(name_or_path: impl AsRef<Path>) -> PathBuf {
    let p = name_or_path.as_ref();
    match p.to_str() {
        Some(name) if !name.contains('/') => {
            Path::new(crate::shm::DEFAULT_DIR).join(crate::shm::strategy::segment_file_name(name))
        }
        _ => p.to_path_buf(),
    }
}

/// Nanoseconds since the Unix epoch (CLOCK_REALTIME, comparable across processes; 0 if the
/// clock is before 1970).
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A strategy attached to its segment.
pub struct Client {
    seg: Attached,
    request_capacity: u32,
    events_read: u64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("path", &self.seg.path())
            .field("pid", &self.seg.pid())
            .field("next_request_id", &self.seg.next_request_id())
            .finish()
    }
}

impl Client {
    /// Attaches to the segment named or located by `name_or_path` (see [`segment_path`]):
    /// checks magic, ABI version, record sizes and ring geometry, and claims it with this
    /// process's pid (refused while another live process holds it). Detaches on drop.
    pub fn attach(name_or_path: impl AsRef<Path>) -> Result<Self, ClientError> {
        let path = segment_path(name_or_path);
        let seg = Attached::attach(&path)?;
        let request_capacity = seg.request_capacity();
        Ok(Self {
            seg,
            request_capacity,
            events_read: 0,
        })
    }

    /// Sends a new order; returns its client order id (= its request id).
    pub fn new_order(&mut self, order: &Order) -> Result<u64, ClientError> {
        self.send(RequestBody::NewOrder(*order))
    }

    /// Asks to cancel order `order_id`; returns the request id.
    pub fn cancel(&mut self, session: u16, order_id: u64) -> Result<u64, ClientError> {
        self.send(RequestBody::Cancel { session, order_id })
    }

    /// Asks to replace order `order_id` with `order`'s terms (it keeps its client order id);
    /// returns the request id.
    pub fn replace(&mut self, order_id: u64, order: &Order) -> Result<u64, ClientError> {
        self.send(RequestBody::Replace {
            order_id,
            order: *order,
        })
    }

    /// Asks to cancel all of this strategy's orders on `session`, optionally only for one
    /// instrument and/or side; returns the request id.
    pub fn mass_cancel(
        &mut self,
        session: u16,
        security_id: Option<i32>,
        side: Option<Side>,
    ) -> Result<u64, ClientError> {
        self.send(RequestBody::MassCancel {
            session,
            security_id,
            side,
            scope: MassScope::Default,
            ord_type: None,
            tif: None,
        })
    }

    /// A mass cancel by CME scope: `MassScope::MarketSegment` / `InstrumentGroup` cancel every
    /// order in the market segment / instrument group of `security_id` (honoured as such only
    /// for a strategy alone on its session), with optional side, order type (Limit,
    /// StopLimit) and time in force (Day, Gtc, Gtd) filters; returns the request id.
    pub fn mass_cancel_scoped(
        &mut self,
        session: u16,
        security_id: i32,
        scope: MassScope,
        side: Option<Side>,
        ord_type: Option<OrdType>,
        tif: Option<TimeInForce>,
    ) -> Result<u64, ClientError> {
        self.send(RequestBody::MassCancel {
            session,
            security_id: Some(security_id),
            side,
            scope,
            ord_type,
            tif,
        })
    }

    /// Asks the exchange for the status of open order `order_id` (OrderStatusRequest 533);
    /// returns the request id, which the answering `Status` event echoes (`restatement` holds
    /// the OrdStatus, `cum_qty`/`leaves_qty` the quantities).
    pub fn order_status(&mut self, session: u16, order_id: u64) -> Result<u64, ClientError> {
        self.send(RequestBody::OrderStatus { session, order_id })
    }

    /// Sends any request, stamped now; returns its request id.
    pub fn send(&mut self, body: RequestBody) -> Result<u64, ClientError> {
        let request_id = self.seg.next_request_id();
        let req = Request {
            request_id,
            enqueue_ns: now_ns(),
            body,
        };
        self.send_raw(&req.encode())?;
        Ok(request_id)
    }

    /// Enqueues a record as is (no validation, no stamping): for foreign encoders and tests.
    /// The daemon validates it like any other.
    pub fn send_raw(&mut self, record: &[u8; REQUEST_RECORD_SIZE]) -> Result<(), ClientError> {
        self.seg.send(record).map_err(|e| match e {
            SendFail::Full => ClientError::Full {
                capacity: self.request_capacity,
            },
            SendFail::Faulted => ClientError::Faulted,
            SendFail::Closed => ClientError::Closed,
            SendFail::Corrupt(c) => ClientError::Corrupt {
                ring: "request",
                producer: c.producer,
                consumer: c.consumer,
            },
        })
    }

    /// The next event, if any. `Some(Err)` for a record that does not decode (it is consumed)
    /// or corrupt ring indices. No allocation.
    pub fn poll_event(&mut self) -> Option<Result<Event, ClientError>> {
        match self.seg.poll() {
            Ok(None) => None,
            Ok(Some(bytes)) => {
                let index = self.events_read;
                self.events_read += 1;
                Some(
                    Event::decode(&bytes)
                        .map_err(|problem| ClientError::BadEvent { index, problem }),
                )
            }
            Err(c) => Some(Err(ClientError::Corrupt {
                ring: "event",
                producer: c.producer,
                consumer: c.consumer,
            })),
        }
    }

    /// Busy-polls for the next event, idling with `idler` between empty polls, for at most
    /// `timeout`; `None` on timeout.
    pub fn wait_event(
        &mut self,
        idler: &mut Idler,
        timeout: Duration,
    ) -> Option<Result<Event, ClientError>> {
        let start = Instant::now();
        idler.reset();
        loop {
            if let Some(ev) = self.poll_event() {
                return Some(ev);
            }
            if start.elapsed() >= timeout {
                return None;
            }
            idler.idle();
        }
    }

    /// Stores the strategy's heartbeat (any increasing value; by convention [`now_ns`]).
    /// Call it at least a few times per configured `heartbeat_timeout_ms`.
    pub fn heartbeat(&self, now_ns: u64) {
        self.seg.heartbeat(now_ns);
    }

    /// Request id the next request will get.
    pub fn next_request_id(&self) -> u64 {
        self.seg.next_request_id()
    }

    /// The daemon's state flags ([`FLAG_FAULTED`], [`FLAG_CLOSED`], ...).
    pub fn state_flags(&self) -> u32 {
        self.seg.state_flags()
    }

    /// Pid of the daemon that created the segment.
    pub fn daemon_pid(&self) -> u32 {
        self.seg.daemon_pid()
    }

    /// The daemon's last heartbeat (its clock).
    pub fn daemon_heartbeat_ns(&self) -> u64 {
        self.seg.daemon_heartbeat_ns()
    }

    /// Whether the daemon process exists (`None` if this system cannot tell).
    pub fn daemon_alive(&self) -> Option<bool> {
        self.seg.daemon_alive()
    }

    /// Sessions this strategy may use (indices `0..sessions()`).
    pub fn sessions(&self) -> u16 {
        self.seg.sessions()
    }

    /// The strategy name in the header.
    pub fn name(&self) -> String {
        self.seg.name()
    }

    /// Path of the segment.
    pub fn path(&self) -> &Path {
        self.seg.path()
    }
}

/// What a polling loop does when it found no work, after [`IdleStrategy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Idler {
    strategy: IdleStrategy,
    idles: u32,
}

/// `SpinThenYield`: empty polls spent spinning, then yielding, before sleeping.
const SPINS: u32 = 1_000;
const YIELDS: u32 = 100;
/// Sleep of `SpinThenYield` once spinning and yielding found nothing.
const BACKOFF_SLEEP: Duration = Duration::from_micros(50);
/// Sleep of `Park` per empty poll.
const PARK: Duration = Duration::from_millis(1);

impl Idler {
    pub fn new(strategy: IdleStrategy) -> Self {
        Self { strategy, idles: 0 }
    }

    /// Called after an empty poll.
    pub fn idle(&mut self) {
        self.idles = self.idles.saturating_add(1);
        match self.strategy {
            IdleStrategy::Spin => std::hint::spin_loop(),
            IdleStrategy::SpinThenYield => {
                if self.idles <= SPINS {
                    std::hint::spin_loop();
                } else if self.idles <= SPINS + YIELDS {
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(BACKOFF_SLEEP);
                }
            }
            IdleStrategy::Park => std::thread::park_timeout(PARK),
        }
    }

    /// Called after a poll found work: the next idle starts spinning again.
    pub fn reset(&mut self) {
        self.idles = 0;
    }
}
