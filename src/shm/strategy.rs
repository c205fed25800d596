//! Shared-memory interface between the daemon and one local strategy process.
//!
//! Per configured strategy the daemon creates a segment (by default
//! `/dev/shm/ilinkd-strategy-<name>`, mode 0600, or 0660 owned by a configured group) holding
//! a header and two single-producer single-consumer rings of fixed-size records (see `spsc`):
//! requests (strategy → daemon: new order, cancel, replace, mass cancel) and events (daemon →
//! strategy: ack, reject with reason, fill, cancelled, replaced, cancel reject, session state,
//! not applied, mass cancel ack). The daemon side is [`StrategySegment`]; the strategy side is
//! `ilinkd::client` (Rust) or `include/ilinkd.h` (C), which mirror this layout.
//!
//! # Layout (ABI version [`ABI_VERSION`]; native endianness; all offsets in bytes)
//!
//! Header, [`HEADER_LEN`] = 256 bytes, four 64-byte lines:
//!
//! | off | type      | field                                                    | writer   |
//! |-----|-----------|----------------------------------------------------------|----------|
//! |   0 | u64       | magic `b"ILKDSTRT"` (little-endian u64, [`MAGIC`])       | daemon, once |
//! |   8 | u32       | ABI version                                              | daemon, once |
//! |  12 | u32       | header length (256)                                      | daemon, once |
//! |  16 | u32       | request record size (64)                                 | daemon, once |
//! |  20 | u32       | event record size (128)                                  | daemon, once |
//! |  24 | u32       | request capacity (records, power of two)                 | daemon, once |
//! |  28 | u32       | event capacity (records, power of two)                   | daemon, once |
//! |  32 | u64       | request ring offset (256)                                | daemon, once |
//! |  40 | u64       | event ring offset                                        | daemon, once |
//! |  48 | u64       | total length of the file                                 | daemon, once |
//! |  56 | u32       | session count (valid session indices are below it)       | daemon, once |
//! |  60 | u32       | daemon pid                                               | daemon, once |
//! |  64 | u64       | daemon heartbeat (ns, daemon's clock)                    | daemon   |
//! |  72 | u32       | state flags ([`FLAG_READY`], [`FLAG_FAULTED`], [`FLAG_CLOSED`]) | daemon |
//! |  76 | 52 bytes  | reserved, zero                                           |          |
//! | 128 | u64       | strategy heartbeat (ns, strategy's clock)                | strategy |
//! | 136 | u32       | strategy pid (0: none attached; set by compare-and-swap) | strategy |
//! | 140 | 52 bytes  | reserved, zero                                           |          |
//! | 192 | 64 bytes  | strategy name, UTF-8, NUL-padded                         | daemon, once |
//!
//! Then the request ring at 256 and the event ring right after it; each ring is:
//! producer index `u64` (+56 bytes padding), consumer index `u64` (+56 bytes padding),
//! then `capacity` records ([`RING_INDEX_LEN`] = 128 bytes before the records). Request
//! records are [`REQUEST_RECORD_SIZE`] = 64 bytes, event records [`EVENT_RECORD_SIZE`] = 128
//! bytes; their fields are in [`request_offsets`] and [`event_offsets`]. So the event ring
//! offset is `256 + 128 + 64 * request_capacity` and the file length is
//! `event_offset + 128 + 128 * event_capacity`.
//!
//! Indices count records since creation; record `i` is in slot `i % capacity`. The producer
//! writes a record then stores its index with Release; the consumer loads it with Acquire,
//! copies the record, and stores its own index with Release.
//!
//! Since ABI 2 the request ring also has a sequence word: a request record's `request_id`
//! (bytes 8..16) is its ring index + 1, and the producer stores that word last, with Release,
//! before its index. The daemon takes record `i` as soon as its slot says `i + 1` (one cache
//! line crosses cores, not the index line and then the record line), then zeroes the word
//! before releasing the slot; a record with another request id is taken once the producer
//! index covers it, as before. So the producer index may be one behind the consumer index
//! while a record is in transit; that is not corrupt. The daemon stores its request consumer
//! index every 64 requests (at most a quarter of the ring) and whenever it finds the ring
//! empty, so a strategy may see the ring full up to 63 requests longer than it is.
//!
//! # Trust
//!
//! The strategy is untrusted: every request record is validated ([`Request::decode`]); a bad
//! one is consumed and returned as a typed [`RecordError`] (the daemon answers it with a reject
//! event); an impossible producer index faults the segment (the daemon stops reading it and
//! sets [`FLAG_FAULTED`]). The daemon never reads back its own indices from shared memory, so
//! nothing a strategy writes can make it block, loop or read out of bounds. One limit remains,
//! as with any shared mapping: a process that may write the file may also truncate it, which
//! would make the daemon's accesses fault (SIGBUS); hence mode 0600 (or 0660 for a trusted
//! group) and one file per strategy.
//!
//! # Liveness
//!
//! The strategy stores its pid when attaching and a heartbeat value (its clock, any
//! increasing value) periodically. The daemon's [`StrategySegment::check_strategy`] reports a
//! strategy dead when its pid is gone from `/proc`, when its heartbeat has not changed for the
//! configured timeout on the daemon's own clock (so the two clocks need not agree), or when it
//! detached (pid cleared).

use super::broadcast::ShmError;
use super::file::{create_temp, io_err, pid_alive};
use super::mapping::{AtomicOnly, HeaderMap, Regions};
use super::spsc::{
    load_record, store_record, Consumer, Corrupt, Producer, PushFail, RingIndices, RingRef, SeqWord,
};
use memmap2::MmapOptions;
use std::fs::{File, OpenOptions};
use std::mem::{offset_of, size_of};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

pub use super::records::{
    event_offsets, request_offsets, Event, EventKind, LinkStatus, MassScope, OrdType, Order,
    Problem, RejectReason, Request, RequestBody, RequestKind, Side, Text, TimeInForce,
    EVENT_RECORD_SIZE, PRICE_NULL, REQUEST_RECORD_SIZE, TEXT_LEN,
};
pub use super::spsc::RING_INDEX_LEN;

/// `b"ILKDSTRT"` read as a little-endian u64.
pub const MAGIC: u64 = u64::from_le_bytes(*b"ILKDSTRT");
/// Layout version; clients refuse any other.
pub const ABI_VERSION: u32 = 2;
/// Bytes of the segment header.
pub const HEADER_LEN: usize = 256;
/// Smallest ring capacity (records).
pub const MIN_RING_CAPACITY: u32 = 2;
/// Largest ring capacity (records).
pub const MAX_RING_CAPACITY: u32 = 1 << 20;
/// Bytes of the strategy name field (so names have at most 63 bytes).
pub const NAME_LEN: usize = 64;
/// State flag: the daemon finished creating the segment.
pub const FLAG_READY: u32 = 1;
/// State flag: the daemon found the request ring corrupt and stopped reading it.
pub const FLAG_FAULTED: u32 = 2;
/// State flag: the daemon closed the segment (shutdown); re-attach after it restarts.
pub const FLAG_CLOSED: u32 = 4;

const REQUEST_WORDS: usize = REQUEST_RECORD_SIZE / 8;
const EVENT_WORDS: usize = EVENT_RECORD_SIZE / 8;
/// The request record's sequence word: its request id, = ring index + 1 (see `spsc`).
const REQUEST_SEQ: SeqWord = SeqWord(request_offsets::REQUEST_ID / 8);
const _: () = assert!(request_offsets::REQUEST_ID.is_multiple_of(8));
/// The daemon stores its request consumer index every this many requests (at most a quarter
/// of the ring) and whenever it finds the ring empty, so a strategy that finds the ring full
/// and retries does not pull the index line across on every request the daemon takes.
const REQUEST_RELEASE_EVERY: u64 = 64;

/// The segment mapping with its two rings checked once (create, attach): region
/// [`REQ`] is the request ring, [`EV`] the event ring.
type SegMap = Regions<SegHeader, RingIndices, 2>;
const REQ: usize = 0;
const EV: usize = 1;

/// Checks both rings of `layout` against the mapping; gives the mapping back if they do not
/// fit (or are not power-of-two arrays of whole records).
fn seg_map(map: HeaderMap<SegHeader>, layout: &Layout) -> Result<SegMap, HeaderMap<SegHeader>> {
    let map = Regions::new(
        map,
        [
            (
                layout.request_offset,
                layout.request_capacity as usize * REQUEST_WORDS,
            ),
            (
                layout.event_offset,
                layout.event_capacity as usize * EVENT_WORDS,
            ),
        ],
    )?;
    let (i, w) = map.region::<REQ>();
    let req_ok = RingRef::<REQUEST_WORDS>::new(i, w).is_some();
    let (i, w) = map.region::<EV>();
    let ev_ok = RingRef::<EVENT_WORDS>::new(i, w).is_some();
    if req_ok && ev_ok {
        Ok(map)
    } else {
        Err(map.into_header_map())
    }
}

/// The request ring of a checked map.
#[inline]
fn req_ring(map: &SegMap) -> RingRef<'_, REQUEST_WORDS> {
    let (indices, words) = map.region::<REQ>();
    RingRef::from_checked(indices, words)
}

/// The event ring of a checked map.
#[inline]
fn ev_ring(map: &SegMap) -> RingRef<'_, EVENT_WORDS> {
    let (indices, words) = map.region::<EV>();
    RingRef::from_checked(indices, words)
}

/// The segment header (see the module docs for the byte layout).
#[repr(C, align(64))]
pub(crate) struct SegHeader {
    magic: AtomicU64,
    abi_version: AtomicU32,
    header_len: AtomicU32,
    request_record_size: AtomicU32,
    event_record_size: AtomicU32,
    request_capacity: AtomicU32,
    event_capacity: AtomicU32,
    request_ring_offset: AtomicU64,
    event_ring_offset: AtomicU64,
    total_len: AtomicU64,
    session_count: AtomicU32,
    daemon_pid: AtomicU32,
    daemon_heartbeat_ns: AtomicU64,
    state_flags: AtomicU32,
    _reserved1: [AtomicU32; 13],
    strategy_heartbeat_ns: AtomicU64,
    strategy_pid: AtomicU32,
    _reserved2: [AtomicU32; 13],
    name: [AtomicU8; NAME_LEN],
}

// SAFETY: repr(C) struct made only of atomics and arrays of atomics, alignment 64.
unsafe impl AtomicOnly for SegHeader {}

const _: () = {
    assert!(size_of::<SegHeader>() == HEADER_LEN);
    assert!(offset_of!(SegHeader, magic) == 0);
    assert!(offset_of!(SegHeader, abi_version) == 8);
    assert!(offset_of!(SegHeader, header_len) == 12);
    assert!(offset_of!(SegHeader, request_record_size) == 16);
    assert!(offset_of!(SegHeader, event_record_size) == 20);
    assert!(offset_of!(SegHeader, request_capacity) == 24);
    assert!(offset_of!(SegHeader, event_capacity) == 28);
    assert!(offset_of!(SegHeader, request_ring_offset) == 32);
    assert!(offset_of!(SegHeader, event_ring_offset) == 40);
    assert!(offset_of!(SegHeader, total_len) == 48);
    assert!(offset_of!(SegHeader, session_count) == 56);
    assert!(offset_of!(SegHeader, daemon_pid) == 60);
    assert!(offset_of!(SegHeader, daemon_heartbeat_ns) == 64);
    assert!(offset_of!(SegHeader, state_flags) == 72);
    assert!(offset_of!(SegHeader, strategy_heartbeat_ns) == 128);
    assert!(offset_of!(SegHeader, strategy_pid) == 136);
    assert!(offset_of!(SegHeader, name) == 192);
    assert!(REQUEST_RECORD_SIZE.is_multiple_of(64) && EVENT_RECORD_SIZE.is_multiple_of(64));
};

/// Every layout figure a foreign client must agree on, by name (`tests/it/c_client.rs` compares
/// them with what the C header's `sizeof`/`offsetof` give).
pub const LAYOUT: &[(&str, usize)] = &[
    ("header.size", HEADER_LEN),
    ("header.magic", offset_of!(SegHeader, magic)),
    ("header.abi_version", offset_of!(SegHeader, abi_version)),
    ("header.header_len", offset_of!(SegHeader, header_len)),
    (
        "header.request_record_size",
        offset_of!(SegHeader, request_record_size),
    ),
    (
        "header.event_record_size",
        offset_of!(SegHeader, event_record_size),
    ),
    (
        "header.request_capacity",
        offset_of!(SegHeader, request_capacity),
    ),
    (
        "header.event_capacity",
        offset_of!(SegHeader, event_capacity),
    ),
    (
        "header.request_ring_offset",
        offset_of!(SegHeader, request_ring_offset),
    ),
    (
        "header.event_ring_offset",
        offset_of!(SegHeader, event_ring_offset),
    ),
    ("header.total_len", offset_of!(SegHeader, total_len)),
    ("header.session_count", offset_of!(SegHeader, session_count)),
    ("header.daemon_pid", offset_of!(SegHeader, daemon_pid)),
    (
        "header.daemon_heartbeat_ns",
        offset_of!(SegHeader, daemon_heartbeat_ns),
    ),
    ("header.state_flags", offset_of!(SegHeader, state_flags)),
    (
        "header.strategy_heartbeat_ns",
        offset_of!(SegHeader, strategy_heartbeat_ns),
    ),
    ("header.strategy_pid", offset_of!(SegHeader, strategy_pid)),
    ("header.name", offset_of!(SegHeader, name)),
    ("ring.size", RING_INDEX_LEN),
    ("ring.producer", offset_of!(RingIndices, producer)),
    ("ring.consumer", offset_of!(RingIndices, consumer)),
    ("request.size", REQUEST_RECORD_SIZE),
    ("request.kind", request_offsets::KIND),
    ("request.side", request_offsets::SIDE),
    ("request.ord_type", request_offsets::ORD_TYPE),
    ("request.tif", request_offsets::TIF),
    ("request.session", request_offsets::SESSION),
    ("request.expire_date", request_offsets::EXPIRE_DATE),
    ("request.mass_scope", request_offsets::MASS_SCOPE),
    ("request.mass_tif_filter", request_offsets::MASS_TIF_FILTER),
    ("request.request_id", request_offsets::REQUEST_ID),
    ("request.order_id", request_offsets::ORDER_ID),
    ("request.security_id", request_offsets::SECURITY_ID),
    ("request.qty", request_offsets::QTY),
    ("request.price", request_offsets::PRICE),
    ("request.enqueue_ns", request_offsets::ENQUEUE_NS),
    ("request.stop_px", request_offsets::STOP_PX),
    ("request.min_qty", request_offsets::MIN_QTY),
    ("request.display_qty", request_offsets::DISPLAY_QTY),
    ("event.size", EVENT_RECORD_SIZE),
    ("event.kind", event_offsets::KIND),
    ("event.side", event_offsets::SIDE),
    ("event.session_state", event_offsets::SESSION_STATE),
    ("event.restatement", event_offsets::RESTATEMENT),
    ("event.session", event_offsets::SESSION),
    ("event.reason", event_offsets::REASON),
    ("event.request_id", event_offsets::REQUEST_ID),
    ("event.order_id", event_offsets::ORDER_ID),
    ("event.security_id", event_offsets::SECURITY_ID),
    ("event.qty", event_offsets::QTY),
    ("event.price", event_offsets::PRICE),
    ("event.exchange_order_id", event_offsets::EXCHANGE_ORDER_ID),
    ("event.last_px", event_offsets::LAST_PX),
    ("event.last_qty", event_offsets::LAST_QTY),
    ("event.leaves_qty", event_offsets::LEAVES_QTY),
    ("event.cum_qty", event_offsets::CUM_QTY),
    ("event.count", event_offsets::COUNT),
    ("event.exchange_ns", event_offsets::EXCHANGE_NS),
    ("event.daemon_ns", event_offsets::DAEMON_NS),
    (
        "event.request_enqueue_ns",
        event_offsets::REQUEST_ENQUEUE_NS,
    ),
    ("event.text", event_offsets::TEXT),
    // The ABI version the header speaks (2: the request sequence word).
    ("code.abi_version", ABI_VERSION as usize),
    // Codes the header defines for newer request and event kinds.
    ("code.req_order_status", RequestKind::OrderStatus as usize),
    ("code.ev_status", EventKind::Status as usize),
    ("code.ev_recovered", EventKind::Recovered as usize),
];

/// Where the rings lie, from the two capacities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    request_capacity: u32,
    event_capacity: u32,
    request_offset: usize,
    event_offset: usize,
    total_len: usize,
}

impl Layout {
    fn new(request_capacity: u32, event_capacity: u32) -> Option<Self> {
        let ok =
            |c: u32| c.is_power_of_two() && (MIN_RING_CAPACITY..=MAX_RING_CAPACITY).contains(&c);
        if !ok(request_capacity) || !ok(event_capacity) {
            return None;
        }
        let request_offset = HEADER_LEN;
        let event_offset =
            request_offset + RING_INDEX_LEN + request_capacity as usize * REQUEST_RECORD_SIZE;
        let total_len = event_offset + RING_INDEX_LEN + event_capacity as usize * EVENT_RECORD_SIZE;
        Some(Self {
            request_capacity,
            event_capacity,
            request_offset,
            event_offset,
            total_len,
        })
    }
}

/// File name of a strategy's segment: `ilinkd-strategy-<name>`.
pub fn segment_file_name(name: &str) -> String {
    format!("ilinkd-strategy-{name}")
}

/// Whether `name` is usable as a strategy name: 1 to 63 bytes of ASCII letters, digits,
/// `_`, `-`, `.`, not starting with `.`.
pub fn valid_strategy_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < NAME_LEN
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Resolves a group for the segment file: a numeric gid, or a name looked up in `/etc/group`
/// (groups that only exist in NSS sources such as LDAP must be given by number).
pub fn resolve_group(group: &str) -> Result<u32, SegmentError> {
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(gid);
    }
    let unknown = || SegmentError::UnknownGroup {
        group: group.to_string(),
    };
    let text = std::fs::read_to_string("/etc/group").map_err(|_| unknown())?;
    text.lines()
        .filter_map(|line| {
            let mut f = line.split(':');
            let name = f.next()?;
            let gid = f.nth(1)?.parse::<u32>().ok()?;
            (name == group).then_some(gid)
        })
        .next()
        .ok_or_else(unknown)
}

/// Errors creating a segment.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error(transparent)]
    Shm(#[from] ShmError),
    #[error("strategy name {name:?}: use 1 to 63 bytes of letters, digits, '_', '-', '.', not starting with '.'")]
    BadName { name: String },
    #[error("strategy {name}: {ring} capacity {capacity} is not a power of two in {MIN_RING_CAPACITY}..={MAX_RING_CAPACITY}")]
    BadCapacity {
        name: String,
        ring: &'static str,
        capacity: u32,
    },
    #[error("strategy {name}: {count} sessions, at most {max}")]
    TooManySessions {
        name: String,
        count: usize,
        max: usize,
    },
    #[error("group {group:?} not found in /etc/group (give a numeric gid for NSS-only groups)")]
    UnknownGroup { group: String },
}

/// How to create a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentOptions {
    /// Strategy name (see [`valid_strategy_name`]), written into the header.
    pub name: String,
    /// Number of sessions the strategy may use (session indices `0..sessions`).
    pub sessions: u16,
    /// Request ring records (power of two).
    pub request_capacity: u32,
    /// Event ring records (power of two).
    pub event_capacity: u32,
    /// Group allowed to open the segment: the file is then 0660 owned by it, else 0600.
    pub group: Option<String>,
}

/// A request record that failed validation (consumed), or a corrupt ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("request record {index} (request id {request_id}, order id {order_id}): {problem}; consumed")]
    Invalid {
        /// Ring index of the record.
        index: u64,
        /// Raw fields of the record, for the reject event (may be garbage).
        request_id: u64,
        order_id: u64,
        session: u16,
        enqueue_ns: u64,
        problem: Problem,
    },
    #[error(
        "request ring corrupt: producer index {producer}, consumer index {consumer}, capacity \
         {capacity}; the segment is faulted and no longer read"
    )]
    RingCorrupt {
        producer: u64,
        consumer: u64,
        capacity: u64,
    },
}

impl RecordError {
    /// The reject event answering an invalid record (`None` for a corrupt ring), stamped
    /// `daemon_ns`; the text is the problem, cut to [`TEXT_LEN`] bytes. No allocation.
    pub fn reject_event(&self, daemon_ns: u64) -> Option<Event> {
        match *self {
            RecordError::Invalid {
                request_id,
                order_id,
                session,
                enqueue_ns,
                problem,
                ..
            } => {
                let mut text = Text::default();
                std::fmt::Write::write_fmt(&mut text, format_args!("{problem}")).ok();
                Some(Event {
                    request_id,
                    order_id,
                    session,
                    reason: Some(problem.reject_reason()),
                    text,
                    daemon_ns,
                    request_enqueue_ns: enqueue_ns,
                    ..Event::new(EventKind::Reject)
                })
            }
            RecordError::RingCorrupt { .. } => None,
        }
    }
}

/// Why an event was not pushed (the ring is unchanged; the caller counts the drop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("event ring full ({capacity} records unread by the strategy)")]
    Full { capacity: u64 },
    #[error("event ring corrupt: producer index {producer}, consumer index {consumer}: the strategy broke it")]
    Corrupt { producer: u64, consumer: u64 },
}

/// Why the daemon considers a strategy gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeathCause {
    /// Its pid is no longer in `/proc`.
    ProcessGone,
    /// Its heartbeat did not change for `silent_ns` (daemon clock), beyond the timeout.
    HeartbeatStale { silent_ns: u64 },
    /// It detached cleanly (cleared its pid).
    Detached,
    /// Another process attached in its place.
    Replaced { by: u32 },
}

/// A change in a strategy's liveness, from [`StrategySegment::check_strategy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// A strategy process attached (or a stale one resumed heartbeating).
    Attached { pid: u32 },
    /// The strategy is gone: cancel its orders if configured.
    Died { pid: u32, cause: DeathCause },
}

/// The daemon's view of the attached strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Watch {
    pid: u32,
    dead: bool,
    last_hb: u64,
    last_change_ns: u64,
}

/// The daemon's end of one strategy segment: consumes requests, produces events.
pub struct StrategySegment {
    map: SegMap,
    path: PathBuf,
    layout: Layout,
    sessions: u16,
    requests: Consumer,
    events: Producer,
    faulted: Option<Corrupt>,
    watch: Watch,
}

impl std::fmt::Debug for StrategySegment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategySegment")
            .field("path", &self.path)
            .field("layout", &self.layout)
            .field("sessions", &self.sessions)
            .field("faulted", &self.faulted)
            .field("watch", &self.watch)
            .finish()
    }
}

fn bad_len(path: &Path, len: u64) -> ShmError {
    ShmError::BadLength {
        path: path.to_path_buf(),
        len,
        expected: len,
    }
}

impl StrategySegment {
    /// Creates `dir/ilinkd-strategy-<name>` for the strategy `opts` names.
    pub fn create_for(dir: impl AsRef<Path>, opts: &SegmentOptions) -> Result<Self, SegmentError> {
        Self::create(dir.as_ref().join(segment_file_name(&opts.name)), opts)
    }

    /// Creates a fresh segment at `path` (built under a temporary name, mode 0600, or 0660 and
    /// chowned to `opts.group`, then renamed into place). A previous segment there is replaced
    /// unless another live daemon process owns it ([`ShmError::InUse`]).
    pub fn create(path: impl AsRef<Path>, opts: &SegmentOptions) -> Result<Self, SegmentError> {
        Self::create_after(path, opts, 0)
    }

    /// [`StrategySegment::create`] whose first request id is past `request_ids_after` and
    /// past those of the segment it replaces: after a restart, a strategy's new orders must
    /// not take the ids of its restored open orders (a request id is the new order's id).
    pub fn create_after(
        path: impl AsRef<Path>,
        opts: &SegmentOptions,
        request_ids_after: u64,
    ) -> Result<Self, SegmentError> {
        let path = path.as_ref();
        if !valid_strategy_name(&opts.name) {
            return Err(SegmentError::BadName {
                name: opts.name.clone(),
            });
        }
        let bad_cap = |ring, capacity| SegmentError::BadCapacity {
            name: opts.name.clone(),
            ring,
            capacity,
        };
        let layout = Layout::new(opts.request_capacity, opts.event_capacity).ok_or_else(|| {
            if Layout::new(opts.request_capacity, MIN_RING_CAPACITY).is_none() {
                bad_cap("request", opts.request_capacity)
            } else {
                bad_cap("event", opts.event_capacity)
            }
        })?;
        let (mode, gid) = match &opts.group {
            Some(g) => (0o660, Some(resolve_group(g)?)),
            None => (0o600, None),
        };
        let me = std::process::id();
        if let Some(pid) = existing_daemon_pid(path) {
            if pid != me && pid_alive(u64::from(pid)) == Some(true) {
                return Err(ShmError::InUse {
                    path: path.to_path_buf(),
                    pid: u64::from(pid),
                }
                .into());
            }
        }
        // Request ids go on from those the previous segment's strategies used.
        let request_ids_after = request_ids_after.max(existing_request_head(path).unwrap_or(0));
        let len = layout.total_len as u64;
        let new = create_temp(path, mode, gid, len)?;
        let map = match HeaderMap::<SegHeader>::new(new.raw).map(|m| seg_map(m, &layout)) {
            Some(Ok(map)) => map,
            _ => {
                let _ = std::fs::remove_file(&new.tmp);
                return Err(bad_len(path, len).into());
            }
        };
        let h = map.header();
        h.abi_version.store(ABI_VERSION, Ordering::Relaxed);
        h.header_len.store(HEADER_LEN as u32, Ordering::Relaxed);
        h.request_record_size
            .store(REQUEST_RECORD_SIZE as u32, Ordering::Relaxed);
        h.event_record_size
            .store(EVENT_RECORD_SIZE as u32, Ordering::Relaxed);
        h.request_capacity
            .store(layout.request_capacity, Ordering::Relaxed);
        h.event_capacity
            .store(layout.event_capacity, Ordering::Relaxed);
        h.request_ring_offset
            .store(layout.request_offset as u64, Ordering::Relaxed);
        h.event_ring_offset
            .store(layout.event_offset as u64, Ordering::Relaxed);
        h.total_len.store(len, Ordering::Relaxed);
        h.session_count
            .store(u32::from(opts.sessions), Ordering::Relaxed);
        h.daemon_pid.store(me, Ordering::Relaxed);
        for (dst, &b) in h.name.iter().zip(opts.name.as_bytes()) {
            dst.store(b, Ordering::Relaxed);
        }
        if request_ids_after > 0 {
            let req = req_ring(&map);
            req.indices
                .producer
                .0
                .store(request_ids_after, Ordering::Relaxed);
            req.indices
                .consumer
                .0
                .store(request_ids_after, Ordering::Relaxed);
        }
        h.state_flags.store(FLAG_READY, Ordering::Relaxed);
        h.magic.store(MAGIC, Ordering::Release);
        let tmp = new.tmp;
        if let Err(e) = std::fs::rename(&tmp, path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_err(path, "rename into place")(e).into());
        }
        let requests = Consumer::resume(&req_ring(&map), Some(REQUEST_SEQ), REQUEST_RELEASE_EVERY)
            .map_err(|_| bad_len(path, len))?;
        let events = Producer::resume(&ev_ring(&map)).map_err(|_| bad_len(path, len))?;
        Ok(Self {
            map,
            path: path.to_path_buf(),
            layout,
            sessions: opts.sessions,
            requests,
            events,
            faulted: None,
            watch: Watch {
                pid: 0,
                dead: false,
                last_hb: 0,
                last_change_ns: 0,
            },
        })
    }

    fn header(&self) -> &SegHeader {
        self.map.header()
    }

    /// Reads and validates the next request; `None` if the ring is empty or the segment is
    /// faulted. Each call consumes at most one record and does bounded work, whatever the
    /// strategy wrote: an invalid record is consumed and returned as
    /// [`RecordError::Invalid`] (answer it with [`RecordError::reject_event`]); an impossible
    /// producer index returns [`RecordError::RingCorrupt`] once and faults the segment
    /// (treat the strategy as dead). No allocation.
    pub fn poll_request(&mut self) -> Option<Result<Request, RecordError>> {
        let (index, bytes) = match self.poll_request_record()? {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        Some(Request::decode(&bytes, self.sessions).map_err(|problem| {
            let raw = |off: usize| {
                bytes.get(off..off + 8).map_or(0, |s| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(s);
                    u64::from_ne_bytes(b)
                })
            };
            let session = bytes
                .get(request_offsets::SESSION..request_offsets::SESSION + 2)
                .and_then(|s| <[u8; 2]>::try_from(s).ok())
                .map_or(0, u16::from_ne_bytes);
            RecordError::Invalid {
                index,
                request_id: raw(request_offsets::REQUEST_ID),
                order_id: raw(request_offsets::ORDER_ID),
                session,
                enqueue_ns: raw(request_offsets::ENQUEUE_NS),
                problem,
            }
        }))
    }

    /// The ring half of [`StrategySegment::poll_request`] (which is this, then
    /// [`Request::decode`]): the next request record as the strategy wrote it, with its ring
    /// index, not validated; `None` if the ring is empty or the segment is faulted. An
    /// impossible producer index returns [`RecordError::RingCorrupt`] once and faults the
    /// segment. No allocation.
    #[inline]
    pub fn poll_request_record(
        &mut self,
    ) -> Option<Result<(u64, [u8; REQUEST_RECORD_SIZE]), RecordError>> {
        if self.faulted.is_some() {
            return None;
        }
        let ring = req_ring(&self.map);
        let index = self.requests.tail();
        match self.requests.pop_with(&ring, |slot| {
            let mut bytes = [0u8; REQUEST_RECORD_SIZE];
            load_record(slot, &mut bytes);
            bytes
        }) {
            Ok(None) => None,
            Ok(Some(bytes)) => Some(Ok((index, bytes))),
            Err(c) => {
                self.faulted = Some(c);
                self.header()
                    .state_flags
                    .fetch_or(FLAG_FAULTED, Ordering::Release);
                Some(Err(RecordError::RingCorrupt {
                    producer: c.producer,
                    consumer: c.consumer,
                    capacity: ring.capacity(),
                }))
            }
        }
    }

    /// Publishes one event; never blocks. `Err(Full)`: the strategy is not reading fast
    /// enough and the event is dropped (count it). No allocation.
    pub fn push_event(&mut self, event: &Event) -> Result<(), PushError> {
        let ring = ev_ring(&self.map);
        // Encoded straight into the slot once there is room (no staging copy).
        self.events
            .push_with(&ring, |slot| {
                for (dst, w) in slot.iter().zip(event.encode_words()) {
                    dst.store(w, Ordering::Relaxed);
                }
            })
            .map_err(|e| match e {
                PushFail::Full => PushError::Full {
                    capacity: ring.capacity(),
                },
                PushFail::Corrupt(c) => PushError::Corrupt {
                    producer: c.producer,
                    consumer: c.consumer,
                },
            })
    }

    /// Stores the daemon's heartbeat (its clock) for the strategy to judge the daemon alive.
    pub fn heartbeat(&self, now_ns: u64) {
        self.header()
            .daemon_heartbeat_ns
            .store(now_ns, Ordering::Release);
    }

    /// Pid of the attached strategy (`None` if none).
    pub fn strategy_pid(&self) -> Option<u32> {
        Some(self.header().strategy_pid.load(Ordering::Acquire)).filter(|&p| p != 0)
    }

    /// The strategy's last heartbeat value (its clock).
    pub fn strategy_heartbeat_ns(&self) -> u64 {
        self.header().strategy_heartbeat_ns.load(Ordering::Acquire)
    }

    /// Checks the strategy's liveness and reports a change since the last call: call it from
    /// a timer (it looks at `/proc`). `now_ns` is the daemon's clock; a strategy whose
    /// heartbeat value has not changed for more than `timeout_ns` of it is dead.
    pub fn check_strategy(&mut self, now_ns: u64, timeout_ns: u64) -> Option<Liveness> {
        let h = self.header();
        let pid = h.strategy_pid.load(Ordering::Acquire);
        let hb = h.strategy_heartbeat_ns.load(Ordering::Acquire);
        let w = &mut self.watch;
        if pid != w.pid {
            let old = w.pid;
            let old_live = old != 0 && !w.dead;
            *w = Watch {
                pid,
                dead: false,
                last_hb: hb,
                last_change_ns: now_ns,
            };
            if old_live {
                let cause = if pid == 0 {
                    DeathCause::Detached
                } else {
                    // Report the new one on the next call.
                    w.pid = 0;
                    DeathCause::Replaced { by: pid }
                };
                return Some(Liveness::Died { pid: old, cause });
            }
            if pid == 0 {
                return None;
            }
            if pid_alive(u64::from(pid)) == Some(false) {
                w.dead = true;
                return Some(Liveness::Died {
                    pid,
                    cause: DeathCause::ProcessGone,
                });
            }
            return Some(Liveness::Attached { pid });
        }
        if pid == 0 {
            return None;
        }
        let changed = hb != w.last_hb;
        if changed {
            w.last_hb = hb;
            w.last_change_ns = now_ns;
        }
        if w.dead {
            if changed && pid_alive(u64::from(pid)) == Some(true) {
                w.dead = false;
                return Some(Liveness::Attached { pid });
            }
            return None;
        }
        if pid_alive(u64::from(pid)) == Some(false) {
            w.dead = true;
            return Some(Liveness::Died {
                pid,
                cause: DeathCause::ProcessGone,
            });
        }
        let silent_ns = now_ns.saturating_sub(w.last_change_ns);
        if silent_ns > timeout_ns {
            w.dead = true;
            return Some(Liveness::Died {
                pid,
                cause: DeathCause::HeartbeatStale { silent_ns },
            });
        }
        None
    }

    /// Requests published by the strategy and not yet polled (`None` if the ring is corrupt).
    pub fn pending_requests(&mut self) -> Option<u64> {
        self.requests.available(&req_ring(&self.map))
    }

    /// Events pushed and not yet read by the strategy.
    pub fn pending_events(&mut self) -> u64 {
        self.events.in_flight(&ev_ring(&self.map))
    }

    /// The corruption that faulted the segment, if any.
    pub fn fault(&self) -> Option<(u64, u64)> {
        self.faulted.map(|c| (c.producer, c.consumer))
    }

    /// Session count the segment validates against.
    pub fn sessions(&self) -> u16 {
        self.sessions
    }

    /// Request and event ring capacities (records).
    pub fn capacities(&self) -> (u32, u32) {
        (self.layout.request_capacity, self.layout.event_capacity)
    }

    /// Path of the segment file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StrategySegment {
    /// Marks the segment closed, so an attached strategy knows the daemon is gone.
    fn drop(&mut self) {
        self.header()
            .state_flags
            .fetch_or(FLAG_CLOSED, Ordering::Release);
    }
}

/// The request ring's producer index in an existing segment file (the ids its strategies
/// already used), if it is one.
fn existing_request_head(path: &Path) -> Option<u64> {
    let f = File::open(path).ok()?;
    let mut b = [0u8; 8];
    let at = |f: &File, b: &mut [u8; 8], off: u64| -> Option<u64> {
        f.read_exact_at(b, off).ok()?;
        Some(u64::from_ne_bytes(*b))
    };
    if at(&f, &mut b, offset_of!(SegHeader, magic) as u64)? != MAGIC {
        return None;
    }
    let ring = at(
        &f,
        &mut b,
        offset_of!(SegHeader, request_ring_offset) as u64,
    )?;
    // RingIndices: the producer line, then the consumer line; the consumer may be one ahead
    // (a last record taken by its sequence word before the producer stored its index).
    let producer = at(&f, &mut b, ring)?;
    let consumer = at(&f, &mut b, ring.checked_add(64)?).unwrap_or(0);
    Some(producer.max(consumer))
}

/// The daemon pid in an existing segment file at `path`, if it is one.
fn existing_daemon_pid(path: &Path) -> Option<u32> {
    let f = File::open(path).ok()?;
    let mut b = [0u8; 64];
    f.read_exact_at(&mut b, 0).ok()?;
    let magic = u64::from_ne_bytes(b.get(0..8)?.try_into().ok()?);
    if magic != MAGIC {
        return None;
    }
    Some(u32::from_ne_bytes(b.get(60..64)?.try_into().ok()?))
}

/// Errors attaching a client to a segment.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("strategy segment {path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        source: std::io::Error,
    },
    #[error("strategy segment {path}: bad magic {found:#018x}: not an ilinkd strategy segment (or not initialised)")]
    BadMagic { path: PathBuf, found: u64 },
    #[error("strategy segment {path}: ABI version {found}, this client speaks version {expected}: rebuild the strategy against the daemon's ilinkd version")]
    Abi {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("strategy segment {path}: {field} is {found}, expected {expected}")]
    Layout {
        path: PathBuf,
        field: &'static str,
        found: u64,
        expected: u64,
    },
    #[error("strategy segment {path}: already attached by live process {pid}")]
    InUse { path: PathBuf, pid: u32 },
    #[error("strategy segment {path}: closed by the daemon (restart pending?)")]
    Closed { path: PathBuf },
    #[error("strategy segment {path}: {ring} ring indices corrupt (producer {producer}, consumer {consumer})")]
    Corrupt {
        path: PathBuf,
        ring: &'static str,
        producer: u64,
        consumer: u64,
    },
}

/// Why a client could not enqueue a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendFail {
    Full,
    Faulted,
    Closed,
    /// Impossible indices (producer = our own index, consumer = what the daemon's line says).
    Corrupt(Corrupt),
}

/// The strategy's end of a segment (wrapped by `ilinkd::client::Client`).
pub(crate) struct Attached {
    map: SegMap,
    path: PathBuf,
    layout: Layout,
    pid: u32,
    sessions: u16,
    requests: Producer,
    events: Consumer,
}

impl Attached {
    /// Maps `path` read-write, checks every header field against this build's layout, and
    /// claims the segment for this process (compare-and-swap of the strategy pid, refused if
    /// a live process, this one included, holds it).
    pub(crate) fn attach(path: &Path) -> Result<Self, AttachError> {
        let io = |op: &'static str| {
            move |source| AttachError::Io {
                path: path.to_path_buf(),
                op,
                source,
            }
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io("open"))?;
        let file_len = file.metadata().map_err(io("stat"))?.len();
        let layout_err = |field, found: u64, expected: u64| AttachError::Layout {
            path: path.to_path_buf(),
            field,
            found,
            expected,
        };
        if file_len < HEADER_LEN as u64 {
            return Err(layout_err("file length", file_len, HEADER_LEN as u64));
        }
        let raw = MmapOptions::new().map_raw(&file).map_err(io("mmap"))?;
        let map = HeaderMap::<SegHeader>::new(raw)
            .ok_or_else(|| layout_err("file length", file_len, HEADER_LEN as u64))?;
        let h = map.header();
        let magic = h.magic.load(Ordering::Acquire);
        if magic != MAGIC {
            return Err(AttachError::BadMagic {
                path: path.to_path_buf(),
                found: magic,
            });
        }
        let abi = h.abi_version.load(Ordering::Relaxed);
        if abi != ABI_VERSION {
            return Err(AttachError::Abi {
                path: path.to_path_buf(),
                found: abi,
                expected: ABI_VERSION,
            });
        }
        let check = |field, found: u64, expected: u64| {
            if found == expected {
                Ok(())
            } else {
                Err(layout_err(field, found, expected))
            }
        };
        check(
            "header length",
            h.header_len.load(Ordering::Relaxed).into(),
            HEADER_LEN as u64,
        )?;
        check(
            "request record size",
            h.request_record_size.load(Ordering::Relaxed).into(),
            REQUEST_RECORD_SIZE as u64,
        )?;
        check(
            "event record size",
            h.event_record_size.load(Ordering::Relaxed).into(),
            EVENT_RECORD_SIZE as u64,
        )?;
        let req_cap = h.request_capacity.load(Ordering::Relaxed);
        let ev_cap = h.event_capacity.load(Ordering::Relaxed);
        let layout = Layout::new(req_cap, ev_cap).ok_or_else(|| {
            layout_err(
                "ring capacities (request << 32 | event)",
                (u64::from(req_cap) << 32) | u64::from(ev_cap),
                u64::from(MAX_RING_CAPACITY),
            )
        })?;
        check(
            "request ring offset",
            h.request_ring_offset.load(Ordering::Relaxed),
            layout.request_offset as u64,
        )?;
        check(
            "event ring offset",
            h.event_ring_offset.load(Ordering::Relaxed),
            layout.event_offset as u64,
        )?;
        check(
            "total length",
            h.total_len.load(Ordering::Relaxed),
            layout.total_len as u64,
        )?;
        check("file length", file_len, layout.total_len as u64)?;
        let sessions = u16::try_from(h.session_count.load(Ordering::Relaxed)).map_err(|_| {
            layout_err(
                "session count",
                h.session_count.load(Ordering::Relaxed).into(),
                u16::MAX.into(),
            )
        })?;
        if h.state_flags.load(Ordering::Acquire) & FLAG_CLOSED != 0 {
            return Err(AttachError::Closed {
                path: path.to_path_buf(),
            });
        }
        let corrupt = |ring, c: Corrupt| AttachError::Corrupt {
            path: path.to_path_buf(),
            ring,
            producer: c.producer,
            consumer: c.consumer,
        };
        let map = seg_map(map, &layout)
            .map_err(|_| layout_err("file length", file_len, layout.total_len as u64))?;
        let requests = Producer::resume(&req_ring(&map)).map_err(|c| corrupt("request", c))?;
        // Released every record: the daemon drops an event that finds the ring full.
        let events = Consumer::resume(&ev_ring(&map), None, 1).map_err(|c| corrupt("event", c))?;
        let h = map.header();
        let me = std::process::id();
        let mut current = h.strategy_pid.load(Ordering::Acquire);
        loop {
            // Also refused when `current` is this process: two clients in one process would
            // be two producers on one ring.
            if current != 0 && (current == me || pid_alive(u64::from(current)) != Some(false)) {
                return Err(AttachError::InUse {
                    path: path.to_path_buf(),
                    pid: current,
                });
            }
            match h
                .strategy_pid
                .compare_exchange(current, me, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(now) => current = now,
            }
        }
        Ok(Self {
            map,
            path: path.to_path_buf(),
            layout,
            pid: me,
            sessions,
            requests,
            events,
        })
    }

    fn header(&self) -> &SegHeader {
        self.map.header()
    }

    /// Request id the next request gets: its ring index + 1 (unique over the segment's life,
    /// also across strategy restarts).
    pub(crate) fn next_request_id(&self) -> u64 {
        self.requests.head().wrapping_add(1)
    }

    /// Enqueues one encoded request record, written straight into its slot (the request id,
    /// the ring's sequence word, stored last).
    #[inline]
    pub(crate) fn send(&mut self, record: &[u8; REQUEST_RECORD_SIZE]) -> Result<(), SendFail> {
        let ring = req_ring(&self.map);
        match self
            .requests
            .push_with(&ring, |slot| store_record(slot, record, Some(REQUEST_SEQ)))
        {
            Ok(()) => Ok(()),
            Err(fail) => {
                let flags = self.header().state_flags.load(Ordering::Acquire);
                Err(if flags & FLAG_CLOSED != 0 {
                    SendFail::Closed
                } else if flags & FLAG_FAULTED != 0 {
                    SendFail::Faulted
                } else {
                    match fail {
                        PushFail::Full => SendFail::Full,
                        PushFail::Corrupt(c) => SendFail::Corrupt(c),
                    }
                })
            }
        }
    }

    /// Copies the next event record out; `Ok(None)` if there is none.
    #[inline]
    pub(crate) fn poll(&mut self) -> Result<Option<[u8; EVENT_RECORD_SIZE]>, Corrupt> {
        self.events.pop_with(&ev_ring(&self.map), |slot| {
            let mut bytes = [0u8; EVENT_RECORD_SIZE];
            load_record(slot, &mut bytes);
            bytes
        })
    }

    pub(crate) fn heartbeat(&self, now_ns: u64) {
        self.header()
            .strategy_heartbeat_ns
            .store(now_ns, Ordering::Release);
    }

    pub(crate) fn state_flags(&self) -> u32 {
        self.header().state_flags.load(Ordering::Acquire)
    }

    pub(crate) fn daemon_pid(&self) -> u32 {
        self.header().daemon_pid.load(Ordering::Relaxed)
    }

    pub(crate) fn daemon_heartbeat_ns(&self) -> u64 {
        self.header().daemon_heartbeat_ns.load(Ordering::Acquire)
    }

    pub(crate) fn daemon_alive(&self) -> Option<bool> {
        pid_alive(u64::from(self.daemon_pid()))
    }

    pub(crate) fn sessions(&self) -> u16 {
        self.sessions
    }

    pub(crate) fn request_capacity(&self) -> u32 {
        self.layout.request_capacity
    }

    pub(crate) fn name(&self) -> String {
        let mut buf = [0u8; NAME_LEN];
        for (dst, src) in buf.iter_mut().zip(&self.header().name) {
            *dst = src.load(Ordering::Relaxed);
        }
        let len = buf.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        String::from_utf8_lossy(buf.get(..len).unwrap_or_default()).into_owned()
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }
}

impl Drop for Attached {
    /// Detaches: clears the strategy pid if it is still ours (the daemon then treats the
    /// strategy as gone and cancels its orders if so configured).
    fn drop(&mut self) {
        let _ = self.header().strategy_pid.compare_exchange(
            self.pid,
            0,
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
    }
}
