//! The order router, sans-IO: strategy requests in, validated exchange messages out; exchange
//! execution reports in, strategy events out.
//!
//! - **Identifiers.** Every order gets an exchange ClOrdID of at most 20 characters: an
//!   11-character prefix (the daemon's start time in microseconds, base 36, then the engine
//!   index) and the order key (`generation << slot_bits | slot` of the order table) as 9
//!   base-32 digits (shifts and a table, no division). The prefix makes ids unique across
//!   restarts (a later start has a later time) and engines; the key is unique within a run
//!   because free slots are reused in FIFO order and a slot's generation grows each time it is
//!   reused (it wraps only after ~3·10^13 orders). A report's ClOrdID therefore leads back to
//!   the order by indexing the table: no hash lookup. Every request
//!   (new, replace, cancel, mass cancel) gets its own OrderRequestID (a counter; reports echo
//!   it, so a response is matched to the request it answers).
//! - **Checks**, in order, before anything is encoded: shutting down, session established,
//!   side/quantity (`0 < qty <= risk.max_order_qty`), known instrument and price on its tick
//!   (when `[[instrument]]`s are configured), open orders per strategy
//!   (`risk.max_open_orders`), orders per second per strategy (a token bucket of
//!   `risk.max_orders_per_second` with one second of burst, counted in integer ticks so that
//!   no division is made per order; new orders and replaces only, so a throttled strategy can
//!   still cancel). The tick check is a multiply by the tick's precomputed modular inverse. A refused request becomes a `Reject` event with a
//!   [`RejectReason`] and a text saying why.
//! - **Order state** lives in a fixed table sized at start (`max_open_orders` × strategies, with
//!   the same again of headroom for finished orders whose cancel or replace is still in flight);
//!   the client-order-id index is a pre-sized open-addressed table at most half full, placed
//!   directly by the id's low bits (no hash function: sequential ids land in consecutive cells),
//!   so the steady state never allocates. A bounded ring remembers which request went out with which sequence
//!   number, for NotApplied and BusinessReject.
//! - **Mass cancel**: when the strategy is the only one configured on the session, one
//!   OrderMassActionRequest (529); otherwise (the exchange would cancel the other strategies'
//!   orders too) a *sweep*: one OrderCancelRequest per matching open order, paced by the engine,
//!   and a `MassCancelAck` at once with the count. A dead strategy's orders (cancel_on_exit) are
//!   swept the same way.
//!
//! Nothing here allocates after [`Router::new`], locks, logs or reads a clock: times are
//! parameters.

use super::order_journal::OrderChange;
use crate::config::RiskConfig;
use crate::ilink3::Message;
use crate::latency::Stamp;
use crate::shm::strategy::{
    Event, EventKind, MassScope, OrdType, Order, RejectReason, Request, RequestBody, Side, Text,
    TimeInForce,
};
use std::fmt::Write as _;

/// Longest ClOrdID iLink 3 carries.
pub const CL_ORD_ID_LEN: usize = 20;
/// Characters of the per-run prefix of every ClOrdID.
pub const PREFIX_LEN: usize = 11;
/// Requests in flight per order (new/replace/cancel not yet answered).
const MAX_PENDING: usize = 4;
/// Outstanding mass cancels (529) per engine.
const MAX_MASS: usize = 64;
/// Digits of the order key after the prefix.
const KEY_LEN: usize = CL_ORD_ID_LEN - PREFIX_LEN;
/// Largest order key: 9 base-32 digits.
const MAX_KEY: u64 = (1 << (5 * KEY_LEN)) - 1;
/// Largest order table.
const MAX_SLOTS: usize = 1 << 24;
/// Finished orders remembered by exchange OrderID, for trade busts and corrections that
/// arrive after the order left the table.
const RECENT: usize = 4096;
/// Messaging-control kinds (metric label `kind`): cancels and mass actions; new orders and
/// modifies.
pub const MC_KINDS: [&str; 2] = ["cancel", "order"];
/// Messages per second per session in certification mode.
pub const CERTIFICATION_RATE: u32 = 10;
const NONE: u32 = u32::MAX;

/// A ClOrdID: 20 ASCII characters, `Copy`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ClOrdId([u8; CL_ORD_ID_LEN]);

impl ClOrdId {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for ClOrdId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&String::from_utf8_lossy(&self.0), f)
    }
}

const B36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// The 11-character ClOrdID prefix of a run: `start_us` in base 36 (10 characters, enough
/// until the year 2085) then the engine index as one base-36 character.
pub fn cl_ord_id_prefix(start_us: u64, engine: usize) -> [u8; PREFIX_LEN] {
    let mut p = [b'0'; PREFIX_LEN];
    let mut v = start_us;
    for i in (0..PREFIX_LEN - 1).rev() {
        p[i] = B36[(v % 36) as usize];
        v /= 36;
    }
    p[PREFIX_LEN - 1] = B36[engine % 36];
    p
}

/// Digits of the order key: base 32, five bits each.
const B32: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

/// Two base-32 digits (ten bits of a key) as their two characters, most significant first.
const PAIRS: [[u8; 2]; 1024] = {
    let mut t = [[0u8; 2]; 1024];
    let mut i = 0;
    while i < 1024 {
        t[i] = [B32[i >> 5], B32[i & 31]];
        i += 1;
    }
    t
};

/// The ClOrdID of order `key` (at most [`MAX_KEY`]): the prefix then 9 base-32 digits, most
/// significant first: the first eight as four pairs through [`PAIRS`] (a load each, fixed
/// positions, no bounds check), the ninth through [`B32`].
fn make_cl_ord_id(prefix: &[u8; PREFIX_LEN], key: u64) -> ClOrdId {
    let mut bytes = [0u8; CL_ORD_ID_LEN];
    let (head, rest) = bytes.split_at_mut(PREFIX_LEN);
    head.copy_from_slice(prefix);
    // The four pairs gathered into one `u64` (first pair in the low bytes), stored at once.
    let pair = |shift: u32| u64::from(u16::from_le_bytes(PAIRS[((key >> shift) & 1023) as usize]));
    let eight = pair(35) | pair(25) << 16 | pair(15) << 32 | pair(5) << 48;
    if let Some((head8, last)) = rest.split_first_chunk_mut::<8>() {
        *head8 = eight.to_le_bytes();
        if let Some(b) = last.first_mut() {
            *b = B32[(key & 31) as usize];
        }
    }
    ClOrdId(bytes)
}

/// The value of each byte as a base-32 key digit ([`B32`]); [`NOT_DIGIT`] for any other byte.
const DIGIT: [u8; 256] = {
    let mut t = [NOT_DIGIT; 256];
    let mut i = 0;
    while i < B32.len() {
        t[B32[i] as usize] = i as u8;
        i += 1;
    }
    t
};
/// A [`DIGIT`] entry for a byte that is no digit (bit 5, above every digit's value).
const NOT_DIGIT: u8 = 0x20;

/// Each byte of a `u64` at once.
const ONES: u64 = 0x0101_0101_0101_0101;
/// The top bit of each byte.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The order key of a ClOrdID of this run (`None`: another run's, or not ours). The first
/// eight key digits are checked and converted as one `u64` (SWAR: a byte per digit), the ninth
/// through [`DIGIT`]; no loop, no per-digit branch.
fn parse_cl_ord_id(prefix: &[u8; PREFIX_LEN], id: &[u8]) -> Option<u64> {
    let id: &[u8; CL_ORD_ID_LEN] = id.try_into().ok()?;
    let (head, rest) = id.split_first_chunk::<PREFIX_LEN>()?;
    if head != prefix {
        return None;
    }
    let (eight, last) = rest.split_first_chunk::<8>()?;
    let &[last] = last else {
        return None;
    };
    // First digit in the low byte.
    let x = u64::from_le_bytes(*eight);
    // For bytes below 0x80, `b + (0x80 - lo)` has its top bit set iff `b >= lo`, and no carry
    // reaches the next byte (a byte with its top bit set is refused below anyway).
    let at_least = |lo: u8| x.wrapping_add(u64::from(0x80 - lo) * ONES) & HIGH;
    let digit = at_least(b'0') & !at_least(b'9' + 1);
    let letter = at_least(b'a') & !at_least(b'v' + 1);
    let tail = DIGIT[usize::from(last)];
    if x & HIGH != 0 || (digit | letter) != HIGH || tail & NOT_DIGIT != 0 {
        return None;
    }
    // Digit values 0..=31 per byte: `b - '0'`, and 39 less for letters (`'a' - '0' - 10`).
    let v = x - u64::from(b'0') * ONES - (letter >> 7) * 39;
    // Pack: pairs of 5-bit digits into 16-bit lanes, those into 32-bit lanes, then 40 bits.
    let p = ((v & 0x00FF_00FF_00FF_00FF) << 5) | ((v >> 8) & 0x00FF_00FF_00FF_00FF);
    let q = ((p & 0x0000_FFFF_0000_FFFF) << 10) | ((p >> 16) & 0x0000_FFFF_0000_FFFF);
    let r = ((q & 0xFFFF_FFFF) << 20) | (q >> 32);
    Some((r << 5) | u64::from(tail))
}

/// What to send: one exchange message, fully decided (the engine adds SeqNum, UUID, time and the
/// session's firm fields when encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutKind {
    /// NewOrderSingle (514).
    New,
    /// OrderCancelReplaceRequest (515).
    Replace,
    /// OrderCancelRequest (516).
    Cancel,
    /// OrderMassActionRequest (529).
    MassCancel,
    /// OrderMassStatusRequest (530): MassStatusReqID is `order_request_id`, MassStatusReqType
    /// is `mass_scope` (sent by the daemon after a restart).
    MassStatus,
    /// OrderStatusRequest (533): OrdStatusReqID is the strategy's request id, OrderID
    /// `exchange_order_id`.
    OrderStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outbound {
    pub kind: OutKind,
    /// Engine session index.
    pub session: usize,
    /// Engine strategy index.
    pub strategy: usize,
    /// The strategy's request id (0: sent by the daemon, e.g. cancel on exit).
    pub request_id: u64,
    pub enqueue_ns: u64,
    pub cl_ord_id: ClOrdId,
    pub order_request_id: u64,
    /// Exchange OrderID, once known (replace/cancel).
    pub exchange_order_id: Option<u64>,
    /// 0 for a mass cancel of every instrument.
    pub security_id: i32,
    /// 1 buy, 2 sell; 0: none (mass cancel of both sides).
    pub side: u8,
    pub qty: u32,
    pub price: Option<i64>,
    /// iLink 3 OrdType: `b'1'` market with protection, `b'2'` limit, `b'3'` stop with
    /// protection, `b'4'` stop-limit, `b'K'` market-limit (0 for cancels; a mass cancel's
    /// filter, 0 for none).
    pub ord_type: u8,
    /// iLink 3 TimeInForce (FOK is sent as FAK, 3, with MinQty = OrderQty); a mass cancel's
    /// filter.
    pub tif: Option<u8>,
    pub stop_px: Option<i64>,
    pub min_qty: Option<u32>,
    pub display_qty: Option<u32>,
    /// LocalMktDate of a GTD order.
    pub expire_date: Option<u16>,
    /// Mass cancel: MassActionScope (1 instrument, 9 market segment, 10 instrument group).
    pub mass_scope: u8,
    /// Mass cancel scope 9: MarketSegmentID.
    pub market_segment_id: Option<u8>,
    /// Mass cancel scope 10: SecurityGroup, NUL-padded.
    pub security_group: [u8; 6],
    order: u32,
}

/// A decided request: send it, or answer at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Routed {
    Send(Outbound),
    /// Answer the strategy with this event (a reject, or the ack of a swept mass cancel).
    Reply(Event),
}

/// An event for a strategy produced by an exchange message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reply {
    pub strategy: usize,
    pub event: Event,
    /// When the request this answers was submitted (for the exchange round trip), if it is the
    /// first answer to it.
    pub submitted: Option<Stamp>,
}

impl Reply {
    /// An event for the strategy that owns `order`.
    fn to_owner(order: &OrderRec, event: Event, submitted: Option<Stamp>) -> Self {
        Reply {
            strategy: usize::from(order.strategy),
            event,
            submitted,
        }
    }
}

/// Where a strategy may trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyRoute {
    /// Engine session index of each of the strategy's session indices.
    pub sessions: Vec<usize>,
    pub cancel_on_exit: bool,
}

/// Router setup.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// ASCII, as [`cl_ord_id_prefix`] makes it.
    pub prefix: [u8; PREFIX_LEN],
    pub strategies: Vec<StrategyRoute>,
    /// iLink 3 sessions of the engine.
    pub sessions: usize,
    /// `(security_id, tick mantissa)`; empty: no instrument or tick check.
    pub instruments: Vec<(i32, i64)>,
    /// Market segment and instrument group of instruments (for mass cancel scopes 9 and 10).
    pub scopes: Vec<InstrumentScope>,
    pub risk: RiskConfig,
    /// Sequence numbers remembered per session for NotApplied/BusinessReject (power of two).
    pub seq_memory: usize,
}

/// Where an instrument sits at CME, for mass actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstrumentScope {
    pub security_id: i32,
    /// MarketSegmentID (tag 1300).
    pub market_segment_id: Option<u8>,
    /// SecurityGroup (tag 1151), ASCII, NUL-padded; all zero: none.
    pub security_group: [u8; 6],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrdState {
    Free,
    /// Sent, not acknowledged.
    PendingNew,
    Live,
    /// Filled, cancelled or rejected; kept while requests on it are in flight.
    Done,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    orid: u64,
    request_id: u64,
    enqueue_ns: u64,
    kind: OutKind,
    submitted: Stamp,
    tif: Option<u8>,
}

#[derive(Debug, Clone, Copy)]
struct OrderRec {
    gen: u32,
    state: OrdState,
    strategy: u16,
    session: u16,
    /// The strategy's index of the session (echoed in events).
    strategy_session: u16,
    client_id: u64,
    security_id: i32,
    side: u8,
    qty: u32,
    price: Option<i64>,
    ord_type: u8,
    tif: Option<u8>,
    stop_px: Option<i64>,
    display_qty: Option<u32>,
    expire_date: Option<u16>,
    exchange_id: Option<u64>,
    cum_qty: u32,
    /// Spread leg reports still due after the spread order finished (kept until they arrive).
    legs_due: u8,
    /// Enqueue time of the latest request on the order (echoed on unsolicited events).
    last_enqueue_ns: u64,
    /// A cancel is in flight (so a sweep does not send another).
    cancel_pending: bool,
    /// Restored from a previous run: its ClOrdID is in [`Router::restored`].
    restored: bool,
    pending: [Option<Pending>; MAX_PENDING],
}

impl OrderRec {
    const FREE: OrderRec = OrderRec {
        gen: 0,
        state: OrdState::Free,
        strategy: 0,
        session: 0,
        strategy_session: 0,
        client_id: 0,
        security_id: 0,
        side: 0,
        qty: 0,
        price: None,
        ord_type: 0,
        tif: None,
        stop_px: None,
        display_qty: None,
        expire_date: None,
        exchange_id: None,
        cum_qty: 0,
        legs_due: 0,
        last_enqueue_ns: 0,
        cancel_pending: false,
        restored: false,
        pending: [None; MAX_PENDING],
    };

    fn open(&self) -> bool {
        matches!(self.state, OrdState::PendingNew | OrdState::Live)
    }

    /// The strategy's event of `kind` about this order (its current terms and fills).
    fn event(&self, kind: EventKind) -> Event {
        Event {
            session: self.strategy_session,
            order_id: self.client_id,
            security_id: self.security_id,
            side: Side::from_code(self.side),
            qty: self.qty,
            price: self.price,
            exchange_order_id: self.exchange_id.unwrap_or(0),
            cum_qty: self.cum_qty,
            leaves_qty: if self.open() {
                self.qty.saturating_sub(self.cum_qty)
            } else {
                0
            },
            request_enqueue_ns: self.last_enqueue_ns,
            ..Event::new(kind)
        }
    }

    fn pending_count(&self) -> usize {
        self.pending.iter().filter(|p| p.is_some()).count()
    }

    fn take_pending(&mut self, orid: u64) -> Option<Pending> {
        let slot = self
            .pending
            .iter_mut()
            .find(|p| p.is_some_and(|p| p.orid == orid))?;
        slot.take()
    }

    fn find_pending(&mut self, orid: u64) -> Option<&mut Pending> {
        self.pending.iter_mut().flatten().find(|p| p.orid == orid)
    }
}

/// What went out with a sequence number.
#[derive(Debug, Clone, Copy)]
struct SeqEntry {
    seq: u32,
    strategy: u16,
    strategy_session: u16,
    order: u32,
    gen: u32,
    orid: u64,
    request_id: u64,
    enqueue_ns: u64,
    kind: OutKind,
}

#[derive(Debug, Clone, Copy)]
struct MassPending {
    orid: u64,
    strategy: u16,
    strategy_session: u16,
    request_id: u64,
    enqueue_ns: u64,
    submitted: Stamp,
    /// The first fragment of the report arrived (the strategy has its ack).
    acked: bool,
}

/// A finished order, remembered by exchange OrderID.
#[derive(Debug, Clone, Copy, Default)]
struct Recent {
    exchange_id: u64,
    strategy: u16,
    strategy_session: u16,
    client_id: u64,
    security_id: i32,
    side: u8,
}

/// A session's messaging-control limiter (CME counts per session and market segment): one
/// bucket for cancels and mass actions, one for new orders and modifies, and in certification
/// mode one for everything. Nothing queues: a request without credit is refused.
#[derive(Debug, Clone, Copy, Default)]
struct Limiter {
    cancels: Bucket,
    orders: Bucket,
    all: Bucket,
    rejects: [u64; 2],
}

/// A mass cancel carried out as single cancels.
#[derive(Debug, Clone, Copy)]
struct Sweep {
    /// Engine session, or every session of the strategy.
    session: Option<usize>,
    security_id: Option<i32>,
    side: Option<u8>,
    ord_type: Option<u8>,
    tif: Option<u8>,
    /// Orders in this market segment / instrument group only.
    segment: Option<u8>,
    group: Option<[u8; 6]>,
    /// A kill-switch sweep: orders whose session or strategy is blocked.
    killed: bool,
    cursor: u32,
}

impl Sweep {
    /// Every open order of the strategy.
    const ALL: Sweep = Sweep {
        session: None,
        security_id: None,
        side: None,
        ord_type: None,
        tif: None,
        segment: None,
        group: None,
        killed: false,
        cursor: 0,
    };
    /// Every open order of the strategy that a kill switch covers.
    const KILL: Sweep = Sweep {
        killed: true,
        ..Sweep::ALL
    };
}

/// One strategy's order-rate token bucket, in integer ticks: every nanosecond adds `rate` ticks,
/// an order costs [`TICKS_PER_ORDER`] and the bucket holds one second's worth (`rate` orders).
/// Exact, with no division per order.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    credit: u64,
    last_ns: u64,
}

impl Default for Bucket {
    fn default() -> Self {
        // Full (capped at one second's worth on first use).
        Bucket {
            credit: u64::MAX,
            last_ns: 0,
        }
    }
}

impl Bucket {
    /// Refills at `rate` per second up to `now_ns` and says whether one message's credit is
    /// there; `take` spends it. Rate 0: no credit ever.
    fn credit(&mut self, rate: u32, now_ns: u64, take: bool) -> bool {
        let rate = u64::from(rate);
        if rate == 0 {
            return false;
        }
        // At most a second counts (the bucket is full by then); rate * 10^9 < 2^63.
        let elapsed = now_ns.saturating_sub(self.last_ns).min(TICKS_PER_ORDER);
        self.last_ns = self.last_ns.max(now_ns);
        self.credit = self
            .credit
            .saturating_add(elapsed * rate)
            .min(rate * TICKS_PER_ORDER);
        if self.credit >= TICKS_PER_ORDER {
            if take {
                self.credit -= TICKS_PER_ORDER;
            }
            true
        } else {
            false
        }
    }
}

/// Ticks one order costs: a nanosecond's share of a second.
const TICKS_PER_ORDER: u64 = 1_000_000_000;

/// An instrument's tick, with what the divisibility test needs precomputed: a price is on the
/// tick `2^shift * odd` when its low `shift` bits are zero and the rest times `inverse` (the
/// odd part's inverse modulo 2^64) is at most `limit` (`u64::MAX / odd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tick {
    security_id: i32,
    tick: i64,
    shift: u32,
    inverse: u64,
    limit: u64,
}

impl Tick {
    fn new(security_id: i32, tick: i64) -> Tick {
        let t = tick.unsigned_abs().max(1);
        let shift = t.trailing_zeros();
        let odd = t >> shift;
        // Newton's iteration doubles the correct low bits each step: 3 (odd * odd == 1 mod 8)
        // -> 6 -> 12 -> 24 -> 48 -> 96.
        let mut inverse = odd;
        for _ in 0..5 {
            inverse = inverse.wrapping_mul(2u64.wrapping_sub(odd.wrapping_mul(inverse)));
        }
        Tick {
            security_id,
            tick,
            shift,
            inverse,
            limit: u64::MAX / odd,
        }
    }

    /// `price % tick == 0` (any price when the tick is not positive), without dividing.
    fn on_tick(&self, price: i64) -> bool {
        if self.tick <= 0 {
            return true;
        }
        let n = price.unsigned_abs();
        n.trailing_zeros() >= self.shift
            && (n >> self.shift).wrapping_mul(self.inverse) <= self.limit
    }
}

#[derive(Debug, Clone)]
struct StrategyState {
    route: StrategyRoute,
    open: u32,
    bucket: Bucket,
    sweep: Option<Sweep>,
    /// The only strategy on each of its sessions (per strategy session index).
    sole: Vec<bool>,
    /// A kill switch blocks this strategy's new orders and modifies.
    killed: bool,
    /// A kill-switch sweep waits for the running sweep to finish.
    kill_due: bool,
    /// Per strategy session index: why the party its orders name may not be used (not
    /// registered, awaiting the 519, refused); `None`: usable or no party.
    party_block: Vec<Option<Text>>,
}

/// Router counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouterStats {
    /// Reports whose ClOrdID is not an order of this run (e.g. from before a restart).
    pub unknown_reports: u64,
    /// Responses whose OrderRequestID matched no request in flight.
    pub unmatched_responses: u64,
    /// Requests refused by a session's messaging-control limiter (all sessions).
    pub messaging_control_rejects: u64,
}

/// The client-order-id index: which order slot holds `(strategy, client id)`.
///
/// Open addressing with linear probing over order slots, at most half full. An id's home cell
/// is its low bits plus a per-strategy offset, with no hash function: a strategy numbering its
/// orders in sequence (as the client library does) fills consecutive cells and each lookup is
/// one probe. The keys live in the order table, so a cell is 4 bytes. Deletion shifts the
/// following entries back (no tombstones), so lookups never slow down over time.
#[derive(Debug, Clone)]
struct ClientIndex {
    cells: Vec<u32>,
    mask: usize,
    /// Offset between two strategies' home cells.
    stride: u64,
    len: usize,
    capacity: usize,
    /// Entries not in their home cell. At 0 (every strategy numbering its orders in sequence)
    /// a removal just empties the cell: no later entry can need shifting back.
    displaced: usize,
}

impl ClientIndex {
    /// Room for `capacity` entries among `strategies` strategies.
    fn new(capacity: usize, strategies: usize) -> ClientIndex {
        let size = (capacity.max(1) * 2).next_power_of_two();
        ClientIndex {
            cells: vec![NONE; size],
            mask: size - 1,
            stride: (size / strategies.max(1)) as u64,
            len: 0,
            capacity: size / 2,
            displaced: 0,
        }
    }

    fn full(&self) -> bool {
        self.len >= self.capacity
    }

    fn home(&self, strategy: u16, client_id: u64) -> usize {
        (client_id.wrapping_add(u64::from(strategy).wrapping_mul(self.stride)) as usize) & self.mask
    }

    fn key_of(orders: &[OrderRec], slot: u32) -> Option<(u16, u64)> {
        orders.get(slot as usize).map(|o| (o.strategy, o.client_id))
    }

    /// The cell and order slot of `(strategy, client_id)`.
    fn find(&self, orders: &[OrderRec], strategy: u16, client_id: u64) -> Option<(usize, u32)> {
        self.probe(orders, strategy, client_id).ok()
    }

    /// Where `(strategy, client_id)` is: `Ok((cell, slot))`; or `Err(cell)`, the empty cell
    /// that ends its probe, where [`ClientIndex::insert`] would put it (`None`: no empty cell
    /// on the way, which a table at most half full never has).
    #[inline]
    fn probe(
        &self,
        orders: &[OrderRec],
        strategy: u16,
        client_id: u64,
    ) -> Result<(usize, u32), Option<usize>> {
        let mut i = self.home(strategy, client_id);
        // At most half the cells are used: an empty one ends every probe.
        for _ in 0..self.cells.len() {
            let Some(&slot) = self.cells.get(i) else {
                return Err(None);
            };
            if slot == NONE {
                return Err(Some(i));
            }
            if Self::key_of(orders, slot) == Some((strategy, client_id)) {
                return Ok((i, slot));
            }
            i = (i + 1) & self.mask;
        }
        Err(None)
    }

    /// Adds an absent key in `cell`, the empty cell its [`ClientIndex::probe`] ended on (the
    /// index unchanged since): the cell [`ClientIndex::insert`] would take, without probing
    /// again.
    #[inline(always)]
    fn insert_at(&mut self, cell: usize, strategy: u16, client_id: u64, slot: u32) -> bool {
        if self.full() {
            return false;
        }
        let home = self.home(strategy, client_id);
        match self.cells.get_mut(cell) {
            Some(c) if *c == NONE => {
                *c = slot;
                self.len += 1;
                if cell != home {
                    self.displaced += 1;
                }
                true
            }
            _ => self.insert(strategy, client_id, slot),
        }
    }

    /// Adds an absent key (the caller checked [`ClientIndex::find`] and [`ClientIndex::full`]).
    fn insert(&mut self, strategy: u16, client_id: u64, slot: u32) -> bool {
        if self.full() {
            return false;
        }
        let home = self.home(strategy, client_id);
        let mut i = home;
        for _ in 0..self.cells.len() {
            match self.cells.get_mut(i) {
                Some(c) if *c == NONE => {
                    *c = slot;
                    self.len += 1;
                    if i != home {
                        self.displaced += 1;
                    }
                    return true;
                }
                Some(_) => i = (i + 1) & self.mask,
                None => return false,
            }
        }
        false
    }

    /// Removes `(strategy, client_id)` (its order record still holds the key).
    fn remove(&mut self, orders: &[OrderRec], strategy: u16, client_id: u64) {
        let Some((mut hole, _)) = self.find(orders, strategy, client_id) else {
            return;
        };
        self.len -= 1;
        if hole != self.home(strategy, client_id) {
            self.displaced -= 1;
        }
        let mut j = hole;
        let scan = if self.displaced == 0 {
            0
        } else {
            self.cells.len()
        };
        for _ in 0..scan {
            j = (j + 1) & self.mask;
            let slot = self.cells.get(j).copied().unwrap_or(NONE);
            if slot == NONE {
                break;
            }
            let Some((st, id)) = Self::key_of(orders, slot) else {
                break;
            };
            // The entry at `j` may fill the hole unless its home lies after the hole (on the
            // probe path from the hole to `j`, wrapping).
            let home = self.home(st, id);
            if (j.wrapping_sub(home) & self.mask) >= (j.wrapping_sub(hole) & self.mask) {
                if let Some(c) = self.cells.get_mut(hole) {
                    *c = slot;
                }
                if hole == home {
                    self.displaced -= 1;
                }
                hole = j;
            }
        }
        if let Some(c) = self.cells.get_mut(hole) {
            *c = NONE;
        }
    }
}

/// See the module documentation.
pub struct Router {
    prefix: [u8; PREFIX_LEN],
    orders: Vec<OrderRec>,
    free: std::collections::VecDeque<u32>,
    slot_bits: u32,
    by_client: ClientIndex,
    strategies: Vec<StrategyState>,
    instruments: Vec<Tick>,
    scopes: Vec<InstrumentScope>,
    limiters: Vec<Limiter>,
    recent: Vec<Recent>,
    recent_next: usize,
    risk: RiskConfig,
    next_orid: u64,
    seqs: Vec<Vec<Option<SeqEntry>>>,
    seq_mask: usize,
    mass: [Option<MassPending>; MAX_MASS],
    shutting_down: bool,
    /// Kill switch: everything, and per engine session.
    kill_all: bool,
    killed_sessions: Vec<bool>,
    stats: RouterStats,
    /// Orders restored from a previous run (another ClOrdID prefix): `(ClOrdID, slot)`,
    /// sorted by ClOrdID.
    restored: Vec<(ClOrdId, u32)>,
    /// Order-journal records not yet taken by the engine (pre-sized, see
    /// [`Router::take_changes`]).
    changes: Vec<(OrderChange, OrderSnapshot)>,
    /// Records that did not fit in `changes` since the last take.
    changes_lost: u64,
    /// Orders a report named during one [`Router::on_message`], with their state before it.
    touched: Vec<(u32, restore::Fingerprint)>,
    /// Per slot: reported open by the exchange's mass status (allocated by `restore`).
    mass_seen: Vec<bool>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .field("capacity", &self.orders.len())
            .field("free", &self.free.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn reject(req_id: u64, order_id: u64, session: u16, enqueue_ns: u64, r: RejectReason) -> Event {
    Event {
        request_id: req_id,
        order_id,
        session,
        reason: Some(r),
        request_enqueue_ns: enqueue_ns,
        ..Event::new(EventKind::Reject)
    }
}

fn with_text(mut e: Event, args: std::fmt::Arguments<'_>) -> Event {
    let mut t = Text::default();
    let _ = t.write_fmt(args);
    e.text = t;
    e
}

#[cold]
#[inline(never)]
fn bad_qty(qty: u32, max: u32) -> (RejectReason, Text) {
    let mut t = Text::default();
    let _ = write!(t, "qty {qty} not in 1..={max}");
    (RejectReason::InvalidQuantity, t)
}

#[cold]
#[inline(never)]
fn unknown_instrument(security_id: i32) -> (RejectReason, Text) {
    let mut t = Text::default();
    let _ = write!(t, "unknown security id {security_id}");
    (RejectReason::UnknownInstrument, t)
}

#[cold]
#[inline(never)]
fn off_tick(px: i64, tick: i64) -> (RejectReason, Text) {
    let mut t = Text::default();
    let _ = write!(t, "price {px} not on tick {tick}");
    (RejectReason::PriceNotOnTick, t)
}

fn side_code(s: Side) -> u8 {
    s.code()
}

/// The iLink 3 TimeInForce: FOK goes as FAK (3) with MinQty = OrderQty.
fn tif_code(t: TimeInForce) -> u8 {
    match t {
        TimeInForce::Fok => TimeInForce::Fak.code(),
        t => t.code(),
    }
}

/// The iLink 3 OrdType character.
fn ord_type_code(t: OrdType) -> u8 {
    match t {
        OrdType::Market => b'1',
        OrdType::Limit => b'2',
        OrdType::Stop => b'3',
        OrdType::StopLimit => b'4',
        OrdType::MarketLimit => b'K',
    }
}

/// MinQty on the wire: the order's, or the whole quantity for an FOK.
fn wire_min_qty(o: &Order) -> Option<u32> {
    match o.tif {
        TimeInForce::Fok => Some(o.qty),
        TimeInForce::Fak => o.min_qty,
        _ => None,
    }
}

/// What a mass cancel covers.
#[derive(Debug, Clone, Copy)]
struct MassFilter {
    security_id: Option<i32>,
    side: Option<Side>,
    scope: MassScope,
    ord_type: Option<OrdType>,
    tif: Option<TimeInForce>,
}

impl Router {
    /// Allocates every table now.
    pub fn new(cfg: RouterConfig) -> Router {
        debug_assert!(cfg.prefix.is_ascii(), "ClOrdID prefix must be ASCII");
        let n = cfg.strategies.len().max(1);
        let per = cfg.risk.max_open_orders.max(1) as usize;
        // Room for finished orders still waiting on an in-flight cancel/replace answer.
        let capacity = (per * n * 2).clamp(2, MAX_SLOTS);
        let mut orders = Vec::with_capacity(capacity);
        orders.resize(capacity, OrderRec::FREE);
        let mut free = std::collections::VecDeque::with_capacity(capacity);
        free.extend(0..capacity as u32);
        let slot_bits = usize::BITS - (capacity - 1).leading_zeros();
        let by_client = ClientIndex::new(capacity, n);
        let mut sole_count = vec![0usize; cfg.sessions];
        for s in &cfg.strategies {
            for &e in &s.sessions {
                if let Some(c) = sole_count.get_mut(e) {
                    *c += 1;
                }
            }
        }
        let strategies = cfg
            .strategies
            .iter()
            .map(|r| StrategyState {
                route: r.clone(),
                open: 0,
                bucket: Bucket::default(),
                sweep: None,
                sole: r
                    .sessions
                    .iter()
                    .map(|&e| sole_count.get(e) == Some(&1))
                    .collect(),
                killed: false,
                kill_due: false,
                party_block: vec![None; r.sessions.len()],
            })
            .collect();
        let seq_memory = cfg.seq_memory.max(16).next_power_of_two();
        let mut instruments: Vec<Tick> = cfg
            .instruments
            .iter()
            .map(|&(id, tick)| Tick::new(id, tick))
            .collect();
        instruments.sort_unstable_by_key(|t| t.security_id);
        Router {
            prefix: cfg.prefix,
            orders,
            free,
            slot_bits,
            by_client,
            strategies,
            instruments,
            scopes: {
                let mut v = cfg.scopes.clone();
                v.sort_unstable_by_key(|s| s.security_id);
                v
            },
            limiters: vec![Limiter::default(); cfg.sessions],
            recent: vec![Recent::default(); RECENT],
            recent_next: 0,
            risk: cfg.risk,
            next_orid: 1,
            seqs: (0..cfg.sessions).map(|_| vec![None; seq_memory]).collect(),
            seq_mask: seq_memory - 1,
            mass: [None; MAX_MASS],
            shutting_down: false,
            restored: Vec::new(),
            changes: Vec::with_capacity(restore::CHANGES_CAPACITY),
            changes_lost: 0,
            touched: Vec::with_capacity(restore::TOUCHED_CAPACITY),
            mass_seen: Vec::new(),
            kill_all: false,
            killed_sessions: vec![false; cfg.sessions],
            stats: RouterStats::default(),
        }
    }

    /// New risk limits (SIGHUP). The order table keeps its size: `max_open_orders` above the
    /// size chosen at start is capped by the table.
    pub fn set_risk(&mut self, risk: RiskConfig) {
        self.risk = risk;
    }

    pub fn risk(&self) -> &RiskConfig {
        &self.risk
    }

    /// From now on every request is refused with [`RejectReason::ShuttingDown`].
    pub fn shut_down(&mut self) {
        self.shutting_down = true;
    }

    /// The kill switch as housekeeping published it: everything, per engine session, per
    /// strategy. New orders and modifies on a blocked scope are refused with
    /// [`RejectReason::KillSwitch`]; every open order on one is cancelled by a sweep. Returns
    /// how many open orders the sweeps will cancel.
    pub fn set_kill(
        &mut self,
        all: bool,
        session: impl Fn(usize) -> bool,
        strategy: impl Fn(usize) -> bool,
    ) -> u32 {
        self.kill_all = all;
        for (e, k) in self.killed_sessions.iter_mut().enumerate() {
            *k = session(e);
        }
        let mut total = 0;
        for si in 0..self.strategies.len() {
            if let Some(st) = self.strategies.get_mut(si) {
                st.killed = strategy(si);
            }
            let n = self.matching_orders(si, &Sweep::KILL);
            if n > 0 {
                total += n;
                self.install_sweep(si, Sweep::KILL);
            }
        }
        total
    }

    /// New orders and modifies of `strategy` on its session index `ss` are refused with
    /// [`RejectReason::PartyNotRegistered`] and `why` while it is `Some` (its party details
    /// are not usable on that session); `None` lets them through.
    pub fn set_party_block(&mut self, strategy: usize, ss: usize, why: Option<Text>) {
        if let Some(b) = self
            .strategies
            .get_mut(strategy)
            .and_then(|s| s.party_block.get_mut(ss))
        {
            *b = why;
        }
    }

    /// Whether the kill switch blocks `strategy`'s new orders on engine `session`.
    pub fn kill_blocked(&self, strategy: usize, session: usize) -> bool {
        self.kill_all
            || self.killed_sessions.get(session).copied().unwrap_or(false)
            || self.strategies.get(strategy).is_some_and(|s| s.killed)
    }

    /// Starts `sweep` for a strategy; a kill sweep it replaces runs again afterwards, and a kill
    /// sweep waits for a running one.
    fn install_sweep(&mut self, strategy: usize, sweep: Sweep) {
        let Some(st) = self.strategies.get_mut(strategy) else {
            return;
        };
        match st.sweep {
            Some(old) if sweep.killed && !old.killed => st.kill_due = true,
            Some(old) if old.killed && !sweep.killed => {
                st.kill_due = true;
                st.sweep = Some(sweep);
            }
            _ => st.sweep = Some(sweep),
        }
    }

    pub fn stats(&self) -> RouterStats {
        self.stats
    }

    /// Open orders of a strategy.
    pub fn open_orders(&self, strategy: usize) -> u32 {
        self.strategies.get(strategy).map_or(0, |s| s.open)
    }

    /// Whether a strategy has a mass cancel or cancel-on-exit sweep in progress.
    pub fn sweeping(&self, strategy: usize) -> bool {
        self.strategies
            .get(strategy)
            .is_some_and(|s| s.sweep.is_some() || s.kill_due)
    }

    fn next_orid(&mut self) -> u64 {
        let id = self.next_orid;
        self.next_orid += 1;
        id
    }

    fn key(&self, slot: u32) -> u64 {
        let gen = self.orders.get(slot as usize).map_or(0, |o| o.gen);
        (u64::from(gen) << self.slot_bits) | u64::from(slot)
    }

    /// Generations wrap so that every key fits 9 base-36 digits.
    fn max_gen(&self) -> u32 {
        (MAX_KEY >> self.slot_bits).min(u64::from(u32::MAX)) as u32
    }

    /// Decides what to do with one validated request from `strategy`. `now_ns` feeds the
    /// throttle; `established(session)` says whether an engine session can carry orders.
    pub fn on_request(
        &mut self,
        strategy: usize,
        req: &Request,
        now_ns: u64,
        established: impl Fn(usize) -> bool,
    ) -> Routed {
        let ss = req.session();
        let (rid, enq) = (req.request_id, req.enqueue_ns);
        let order_id = match req.body {
            RequestBody::NewOrder(_) => rid,
            RequestBody::Cancel { order_id, .. }
            | RequestBody::Replace { order_id, .. }
            | RequestBody::OrderStatus { order_id, .. } => order_id,
            RequestBody::MassCancel { .. } => 0,
        };
        let no = |r: RejectReason| reject(rid, order_id, ss, enq, r);
        if self.shutting_down {
            return Routed::Reply(with_text(
                no(RejectReason::ShuttingDown),
                format_args!("daemon shutting down"),
            ));
        }
        let Some(st) = self.strategies.get(strategy) else {
            return Routed::Reply(no(RejectReason::UnknownSession));
        };
        let Some(&session) = st.route.sessions.get(usize::from(ss)) else {
            return Routed::Reply(with_text(
                no(RejectReason::UnknownSession),
                format_args!("session index {ss} unknown"),
            ));
        };
        if !established(session) {
            return Routed::Reply(with_text(
                no(RejectReason::SessionDown),
                format_args!("session {ss} not established"),
            ));
        }
        if matches!(
            req.body,
            RequestBody::NewOrder(_) | RequestBody::Replace { .. }
        ) && self.kill_blocked(strategy, session)
        {
            return Routed::Reply(with_text(
                no(RejectReason::KillSwitch),
                format_args!("kill switch"),
            ));
        }
        if let Some(Some(why)) = st.party_block.get(usize::from(ss)) {
            if matches!(
                req.body,
                RequestBody::NewOrder(_) | RequestBody::Replace { .. }
            ) {
                let mut ev = no(RejectReason::PartyNotRegistered);
                ev.text = *why;
                return Routed::Reply(ev);
            }
        }
        match &req.body {
            RequestBody::NewOrder(o) => self.new_order(strategy, session, rid, enq, o, now_ns),
            &RequestBody::Replace {
                order_id,
                ref order,
            } => self.replace(strategy, session, rid, enq, order_id, order, now_ns),
            &RequestBody::Cancel { order_id, .. } => {
                self.cancel(strategy, session, ss, rid, enq, order_id, now_ns)
            }
            &RequestBody::OrderStatus { order_id, .. } => {
                self.order_status(strategy, session, ss, (rid, enq), order_id)
            }
            &RequestBody::MassCancel {
                security_id,
                side,
                scope,
                ord_type,
                tif,
                ..
            } => self.mass_cancel(
                strategy,
                session,
                ss,
                (rid, enq),
                MassFilter {
                    security_id,
                    side,
                    scope,
                    ord_type,
                    tif,
                },
                now_ns,
            ),
        }
    }

    /// Whether `session`'s messaging-control limiter has credit for one message of `kind`
    /// (0: cancel or mass action, 1: new order or modify), spending it when `take`. A limit of
    /// 0 is no limit; certification mode caps every message at [`CERTIFICATION_RATE`] a second.
    #[inline]
    fn session_credit(&mut self, session: usize, kind: usize, now_ns: u64, take: bool) -> bool {
        let rate = if kind == 0 {
            self.risk.session_cancels_per_second
        } else {
            self.risk.session_orders_per_second
        };
        let cert = self.risk.certification;
        if rate == 0 && !cert {
            // No limit: nothing to count.
            return session < self.limiters.len();
        }
        let Some(l) = self.limiters.get_mut(session) else {
            return false;
        };
        let bucket = if kind == 0 {
            &mut l.cancels
        } else {
            &mut l.orders
        };
        let ok = (rate == 0 || bucket.credit(rate, now_ns, false))
            && (!cert || l.all.credit(CERTIFICATION_RATE, now_ns, false));
        if ok && take {
            if rate != 0 {
                let bucket = if kind == 0 {
                    &mut l.cancels
                } else {
                    &mut l.orders
                };
                bucket.credit(rate, now_ns, true);
            }
            if cert {
                l.all.credit(CERTIFICATION_RATE, now_ns, true);
            }
        }
        ok
    }

    /// Spends one message of `kind` on `session`, or counts a messaging-control reject and
    /// returns the text for it.
    #[inline]
    fn messaging_control(&mut self, session: usize, kind: usize, now_ns: u64) -> Result<(), Text> {
        if self.session_credit(session, kind, now_ns, true) {
            return Ok(());
        }
        Err(self.messaging_control_reject(session, kind))
    }

    /// Counts a messaging-control reject; the text for it.
    #[cold]
    #[inline(never)]
    fn messaging_control_reject(&mut self, session: usize, kind: usize) -> Text {
        if let Some(c) = self
            .limiters
            .get_mut(session)
            .and_then(|l| l.rejects.get_mut(kind))
        {
            *c += 1;
        }
        self.stats.messaging_control_rejects += 1;
        let mut t = Text::default();
        let _ = write!(
            t,
            "messaging control: {} limit",
            MC_KINDS.get(kind).copied().unwrap_or("")
        );
        t
    }

    /// Requests refused by `session`'s messaging-control limiter, per [`MC_KINDS`].
    pub fn messaging_control_rejects(&self, session: usize) -> [u64; 2] {
        self.limiters.get(session).map_or([0; 2], |l| l.rejects)
    }

    /// The CME order type, time in force and qualifier combination rules (a refusal names the
    /// rule broken):
    /// - Limit and stop-limit carry a price, market, market-limit and stop do not (checked
    ///   when the record is decoded); stop and stop-limit carry StopPx on the tick, and a
    ///   stop-limit buy's limit is at or above its StopPx (a sell's at or below).
    /// - Stop and stop-limit orders rest until triggered: Day, GTC or GTD only.
    /// - GTD needs an ExpireDate; no other time in force takes one.
    /// - MinQty only on FAK, within `1..=qty`; an FOK is FAK with MinQty = OrderQty, so an
    ///   FOK's MinQty (if given) equals its quantity.
    /// - DisplayQty within `1..=qty`, not on FAK or FOK (nothing rests).
    #[inline]
    fn check_combination(o: &Order) -> Result<(), Text> {
        // The common order (no stop, no qualifier, not GTD) breaks no rule below.
        if o.stop_px.is_none()
            && o.min_qty.is_none()
            && o.display_qty.is_none()
            && o.expire_date.is_none()
            && !matches!(o.ord_type, OrdType::Stop | OrdType::StopLimit)
            && o.tif != TimeInForce::Gtd
        {
            return Ok(());
        }
        Self::check_qualifiers(o)
    }

    /// [`Router::check_combination`] for an order with a stop, qualifier or GTD.
    #[inline(never)]
    fn check_qualifiers(o: &Order) -> Result<(), Text> {
        let mut t = Text::default();
        let stop = matches!(o.ord_type, OrdType::Stop | OrdType::StopLimit);
        let immediate = matches!(o.tif, TimeInForce::Fak | TimeInForce::Fok);
        if stop && immediate {
            let _ = t.write_str("stop orders take Day, GTC or GTD");
            return Err(t);
        }
        if let (OrdType::StopLimit, Some(px), Some(stop_px)) = (o.ord_type, o.price, o.stop_px) {
            let ok = match o.side {
                Side::Buy => px >= stop_px,
                Side::Sell => px <= stop_px,
            };
            if !ok {
                let _ = t.write_str("stop-limit price beyond its StopPx");
                return Err(t);
            }
        }
        match (o.tif, o.expire_date) {
            (TimeInForce::Gtd, None) => {
                let _ = t.write_str("GTD needs an ExpireDate");
                return Err(t);
            }
            (TimeInForce::Gtd, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                let _ = t.write_str("ExpireDate only with GTD");
                return Err(t);
            }
        }
        if let Some(m) = o.min_qty {
            let ok = match o.tif {
                TimeInForce::Fak => m >= 1 && m <= o.qty,
                TimeInForce::Fok => m == o.qty,
                _ => false,
            };
            if !ok {
                let _ = t.write_str("MinQty only on FAK, 1..=qty");
                return Err(t);
            }
        }
        if let Some(d) = o.display_qty {
            if immediate || d == 0 || d > o.qty {
                let _ = t.write_str("DisplayQty 1..=qty, not FAK/FOK");
                return Err(t);
            }
        }
        Ok(())
    }

    /// Quantity, instrument and tick checks shared by new orders and replaces. The texts of
    /// refusals are written only on refusal (out of line).
    #[inline]
    fn check_order(&self, o: &Order) -> Result<(), (RejectReason, Text)> {
        if o.qty == 0 || o.qty > self.risk.max_order_qty {
            return Err(bad_qty(o.qty, self.risk.max_order_qty));
        }
        Self::check_combination(o).map_err(|t| (RejectReason::InvalidCombination, t))?;
        if self.instruments.is_empty() {
            return Ok(());
        }
        let Some(tick) = self
            .instruments
            .binary_search_by_key(&o.security_id, |t| t.security_id)
            .ok()
            .and_then(|i| self.instruments.get(i))
        else {
            return Err(unknown_instrument(o.security_id));
        };
        if let Some(px) = o.price {
            if !tick.on_tick(px) {
                return Err(off_tick(px, tick.tick));
            }
        }
        if let Some(px) = o.stop_px {
            if !tick.on_tick(px) {
                return Err(off_tick(px, tick.tick));
            }
        }
        Ok(())
    }

    /// Takes one order's worth of throttle credit.
    fn throttle(&mut self, strategy: usize, now_ns: u64) -> bool {
        let rate = self.risk.max_orders_per_second;
        self.strategies
            .get_mut(strategy)
            .is_some_and(|st| st.bucket.credit(rate, now_ns, true))
    }

    // Inlined into `on_request` (its only caller) so that the `Routed` it returns is built in
    // place rather than copied out.
    #[inline]
    fn new_order(
        &mut self,
        strategy: usize,
        session: usize,
        rid: u64,
        enq: u64,
        o: &Order,
        now_ns: u64,
    ) -> Routed {
        let no = |r: RejectReason, t: Text| {
            let mut e = reject(rid, rid, o.session, enq, r);
            e.text = t;
            e.security_id = o.security_id;
            e.side = Some(o.side);
            Routed::Reply(e)
        };
        if let Err((r, t)) = self.check_order(o) {
            return no(r, t);
        }
        let open = self.open_orders(strategy);
        if open >= self.risk.max_open_orders {
            let mut t = Text::default();
            let _ = write!(t, "{open} open orders: max_open_orders");
            return no(RejectReason::RiskLimit, t);
        }
        let st16 = strategy as u16;
        // One probe: a duplicate, or the cell the id goes in (nothing below touches the index
        // before it is inserted).
        let cell = match self.by_client.probe(&self.orders, st16, rid) {
            Ok(_) => return no(RejectReason::DuplicateOrderId, Text::new("order id in use")),
            Err(cell) => cell,
        };
        if self.by_client.full() {
            return no(RejectReason::RiskLimit, Text::new("order table full"));
        }
        if !self.throttle(strategy, now_ns) {
            return no(
                RejectReason::Throttled,
                Text::new("max_orders_per_second exceeded"),
            );
        }
        if let Err(t) = self.messaging_control(session, 1, now_ns) {
            return no(RejectReason::MessagingControl, t);
        }
        let Some(slot) = self.free.pop_front() else {
            return no(RejectReason::RiskLimit, Text::new("order table full"));
        };
        let orid = self.next_orid();
        let tif = Some(tif_code(o.tif));
        let ord_type = ord_type_code(o.ord_type);
        let max_gen = self.max_gen();
        let Some(rec) = self.orders.get_mut(slot as usize) else {
            return no(RejectReason::RiskLimit, Text::new("order table full"));
        };
        let gen = if rec.gen >= max_gen { 1 } else { rec.gen + 1 };
        // A slot comes off the free list only once nothing is in flight on it
        // (`maybe_free`): its requests in flight are all empty already, so the record is
        // filled in field by field without rewriting them.
        debug_assert!(rec.state == OrdState::Free && rec.pending.iter().all(Option::is_none));
        rec.gen = gen;
        rec.state = OrdState::PendingNew;
        rec.strategy = st16;
        rec.session = session as u16;
        rec.strategy_session = o.session;
        rec.client_id = rid;
        rec.security_id = o.security_id;
        rec.side = side_code(o.side);
        rec.qty = o.qty;
        rec.price = o.price;
        rec.ord_type = ord_type;
        rec.tif = tif;
        rec.stop_px = o.stop_px;
        rec.display_qty = o.display_qty;
        rec.expire_date = o.expire_date;
        rec.exchange_id = None;
        rec.cum_qty = 0;
        rec.legs_due = 0;
        rec.last_enqueue_ns = enq;
        rec.cancel_pending = false;
        rec.restored = false;
        rec.pending[0] = Some(Pending {
            orid,
            request_id: rid,
            enqueue_ns: enq,
            kind: OutKind::New,
            submitted: Stamp::NONE,
            tif,
        });
        match cell {
            Some(cell) => self.by_client.insert_at(cell, st16, rid, slot),
            None => self.by_client.insert(st16, rid, slot),
        };
        if let Some(s) = self.strategies.get_mut(strategy) {
            s.open += 1;
        }
        // A new order is never a restored one: its ClOrdID is this run's prefix and key.
        let cl_ord_id = make_cl_ord_id(
            &self.prefix,
            (u64::from(gen) << self.slot_bits) | u64::from(slot),
        );
        Routed::Send(Outbound {
            kind: OutKind::New,
            session,
            strategy,
            request_id: rid,
            enqueue_ns: enq,
            cl_ord_id,
            order_request_id: orid,
            exchange_order_id: None,
            security_id: o.security_id,
            side: side_code(o.side),
            qty: o.qty,
            price: o.price,
            ord_type,
            tif,
            stop_px: o.stop_px,
            min_qty: wire_min_qty(o),
            display_qty: o.display_qty,
            expire_date: o.expire_date,
            mass_scope: 0,
            market_segment_id: None,
            security_group: [0; 6],
            order: slot,
        })
    }

    /// The open order `client_id` of `strategy`.
    /// The open order CME knows as `order_id` (a scan: only for the rare status answers that
    /// carry no ClOrdID).
    fn open_slot_by_order_id(&self, order_id: u64) -> Option<u32> {
        self.orders
            .iter()
            .position(|o| o.open() && o.exchange_id == Some(order_id))
            .and_then(|i| u32::try_from(i).ok())
    }

    fn find_open(&self, strategy: usize, client_id: u64) -> Option<u32> {
        let (_, slot) = self
            .by_client
            .find(&self.orders, strategy as u16, client_id)?;
        self.orders
            .get(slot as usize)
            .filter(|o| o.open())
            .map(|_| slot)
    }

    fn add_pending(&mut self, slot: u32, p: Pending) -> bool {
        let Some(o) = self.orders.get_mut(slot as usize) else {
            return false;
        };
        match o.pending.iter_mut().find(|p| p.is_none()) {
            Some(free) => {
                *free = Some(p);
                o.last_enqueue_ns = p.enqueue_ns;
                if p.kind == OutKind::Cancel {
                    o.cancel_pending = true;
                }
                true
            }
            None => false,
        }
    }

    fn outbound_for(&self, slot: u32, kind: OutKind, rid: u64, enq: u64, orid: u64) -> Outbound {
        let o = self.order(slot);
        Outbound {
            kind,
            session: usize::from(o.session),
            strategy: usize::from(o.strategy),
            request_id: rid,
            enqueue_ns: enq,
            cl_ord_id: self.cl_ord_id_of(slot),
            order_request_id: orid,
            exchange_order_id: o.exchange_id,
            security_id: o.security_id,
            side: o.side,
            qty: o.qty,
            price: o.price,
            ord_type: o.ord_type,
            tif: o.tif,
            stop_px: o.stop_px,
            min_qty: None,
            display_qty: o.display_qty,
            expire_date: o.expire_date,
            mass_scope: 0,
            market_segment_id: None,
            security_group: [0; 6],
            order: slot,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn replace(
        &mut self,
        strategy: usize,
        session: usize,
        rid: u64,
        enq: u64,
        order_id: u64,
        new: &Order,
        now_ns: u64,
    ) -> Routed {
        let no = |r: RejectReason, t: Text| {
            let mut e = reject(rid, order_id, new.session, enq, r);
            e.text = t;
            Routed::Reply(e)
        };
        let Some(slot) = self.find_open(strategy, order_id) else {
            return no(RejectReason::UnknownOrder, Text::new("no such open order"));
        };
        let cur = self.order(slot);
        if usize::from(cur.session) != session
            || cur.security_id != new.security_id
            || cur.side != side_code(new.side)
        {
            return no(
                RejectReason::Malformed,
                Text::new("replace changes session/instrument/side"),
            );
        }
        let code = ord_type_code(new.ord_type);
        if !matches!(code, b'2' | b'3' | b'4') || cur.ord_type != code {
            return no(
                RejectReason::InvalidOrderType,
                Text::new("replace keeps a limit/stop order type"),
            );
        }
        if matches!(new.tif, TimeInForce::Fak | TimeInForce::Fok) {
            return no(
                RejectReason::InvalidTimeInForce,
                Text::new("FAK/FOK orders do not rest"),
            );
        }
        if let Err((r, t)) = self.check_order(new) {
            return no(r, t);
        }
        if cur.pending_count() >= MAX_PENDING {
            return no(
                RejectReason::Throttled,
                Text::new("too many requests in flight on order"),
            );
        }
        if !self.throttle(strategy, now_ns) {
            return no(
                RejectReason::Throttled,
                Text::new("max_orders_per_second exceeded"),
            );
        }
        if let Err(t) = self.messaging_control(session, 1, now_ns) {
            return no(RejectReason::MessagingControl, t);
        }
        let orid = self.next_orid();
        let tif = Some(tif_code(new.tif));
        self.add_pending(
            slot,
            Pending {
                orid,
                request_id: rid,
                enqueue_ns: enq,
                kind: OutKind::Replace,
                submitted: Stamp::NONE,
                tif,
            },
        );
        let mut out = self.outbound_for(slot, OutKind::Replace, rid, enq, orid);
        out.qty = new.qty;
        out.price = new.price;
        out.tif = tif;
        out.stop_px = new.stop_px;
        out.display_qty = new.display_qty;
        out.expire_date = new.expire_date;
        Routed::Send(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn cancel(
        &mut self,
        strategy: usize,
        session: usize,
        ss: u16,
        rid: u64,
        enq: u64,
        order_id: u64,
        now_ns: u64,
    ) -> Routed {
        let no = |r: RejectReason, t: &str| {
            let mut e = reject(rid, order_id, ss, enq, r);
            e.text = Text::new(t);
            Routed::Reply(e)
        };
        let Some(slot) = self.find_open(strategy, order_id) else {
            return no(RejectReason::UnknownOrder, "no such open order");
        };
        let cur = self.order(slot);
        if usize::from(cur.session) != session {
            return no(RejectReason::UnknownOrder, "order is on another session");
        }
        if cur.pending_count() >= MAX_PENDING {
            return no(
                RejectReason::Throttled,
                "too many requests in flight on order",
            );
        }
        if let Err(t) = self.messaging_control(session, 0, now_ns) {
            let mut e = reject(rid, order_id, ss, enq, RejectReason::MessagingControl);
            e.text = t;
            return Routed::Reply(e);
        }
        let orid = self.next_orid();
        self.add_pending(
            slot,
            Pending {
                orid,
                request_id: rid,
                enqueue_ns: enq,
                kind: OutKind::Cancel,
                submitted: Stamp::NONE,
                tif: None,
            },
        );
        Routed::Send(self.outbound_for(slot, OutKind::Cancel, rid, enq, orid))
    }

    /// The scope entry of an instrument.
    fn scope_of(&self, security_id: i32) -> Option<&InstrumentScope> {
        self.scopes
            .binary_search_by_key(&security_id, |s| s.security_id)
            .ok()
            .and_then(|i| self.scopes.get(i))
    }

    /// The one market segment of every configured instrument, if they share one.
    fn only_segment(&self) -> Option<u8> {
        let first = self.scopes.first()?.market_segment_id?;
        self.scopes
            .iter()
            .all(|s| s.market_segment_id == Some(first))
            .then_some(first)
    }

    fn mass_cancel(
        &mut self,
        strategy: usize,
        session: usize,
        ss: u16,
        (rid, enq): (u64, u64),
        f: MassFilter,
        now_ns: u64,
    ) -> Routed {
        let no = |r: RejectReason, t: &str| {
            let mut e = reject(rid, 0, ss, enq, r);
            e.text = Text::new(t);
            Routed::Reply(e)
        };
        // CME filters a mass action by Limit or Stop-Limit and by Day, GTC or GTD only.
        let ord_type = f.ord_type.map(ord_type_code);
        if ord_type.is_some_and(|c| !matches!(c, b'2' | b'4')) {
            return no(
                RejectReason::InvalidOrderType,
                "mass cancel filters Limit or StopLimit",
            );
        }
        let tif = f.tif.map(tif_code);
        if tif.is_some_and(|c| !matches!(c, 0 | 1 | 6)) {
            return no(
                RejectReason::InvalidTimeInForce,
                "mass cancel filters Day, GTC or GTD",
            );
        }
        let scope = self.scope_of(f.security_id.unwrap_or(0)).copied();
        let (segment, group) = match f.scope {
            MassScope::MarketSegment => match scope.and_then(|s| s.market_segment_id) {
                Some(m) => (Some(m), None),
                None => {
                    return no(
                        RejectReason::UnknownInstrument,
                        "instrument has no market_segment_id",
                    )
                }
            },
            MassScope::InstrumentGroup => match scope.map(|s| s.security_group) {
                Some(g) if g != [0; 6] => (None, Some(g)),
                _ => {
                    return no(
                        RejectReason::UnknownInstrument,
                        "instrument has no security_group",
                    )
                }
            },
            MassScope::Default | MassScope::Instrument => (None, None),
        };
        let sole = self
            .strategies
            .get(strategy)
            .and_then(|s| s.sole.get(usize::from(ss)).copied())
            .unwrap_or(false);
        let side = f.side.map(side_code);
        // One 529 needs a scope CME accepts: an instrument, a group, or a known segment (a
        // session-wide cancel uses the instruments' one market segment).
        let wire_scope = match (f.scope, f.security_id) {
            (MassScope::MarketSegment, _) => segment.map(|m| (9u8, Some(m))),
            (MassScope::InstrumentGroup, _) => Some((10, None)),
            (_, Some(_)) => Some((1, None)),
            (_, None) => self.only_segment().map(|m| (9, Some(m))),
        };
        if let (true, Some((mass_scope, market_segment_id))) = (sole, wire_scope) {
            let Some(free) = self.mass.iter().position(|m| m.is_none()) else {
                return no(RejectReason::Throttled, "too many mass cancels in flight");
            };
            if let Err(t) = self.messaging_control(session, 0, now_ns) {
                let mut e = reject(rid, 0, ss, enq, RejectReason::MessagingControl);
                e.text = t;
                return Routed::Reply(e);
            }
            let orid = self.next_orid();
            if let Some(m) = self.mass.get_mut(free) {
                *m = Some(MassPending {
                    orid,
                    strategy: strategy as u16,
                    strategy_session: ss,
                    request_id: rid,
                    enqueue_ns: enq,
                    submitted: Stamp::NONE,
                    acked: false,
                });
            }
            return Routed::Send(Outbound {
                kind: OutKind::MassCancel,
                session,
                strategy,
                request_id: rid,
                enqueue_ns: enq,
                cl_ord_id: make_cl_ord_id(&self.prefix, 0),
                order_request_id: orid,
                exchange_order_id: None,
                security_id: if mass_scope == 1 {
                    f.security_id.unwrap_or(0)
                } else {
                    0
                },
                side: side.unwrap_or(0),
                qty: 0,
                price: None,
                ord_type: ord_type.unwrap_or(0),
                tif,
                stop_px: None,
                min_qty: None,
                display_qty: None,
                expire_date: None,
                mass_scope,
                market_segment_id,
                security_group: group.unwrap_or([0; 6]),
                order: NONE,
            });
        }
        let sweep = Sweep {
            session: Some(session),
            security_id: if segment.is_some() || group.is_some() {
                None
            } else {
                f.security_id
            },
            segment,
            group,
            side,
            ord_type,
            tif,
            killed: false,
            cursor: 0,
        };
        let count = self.matching_orders(strategy, &sweep);
        self.install_sweep(strategy, sweep);
        Routed::Reply(Event {
            request_id: rid,
            session: ss,
            count,
            security_id: f.security_id.unwrap_or(0),
            side: f.side,
            request_enqueue_ns: enq,
            ..Event::new(EventKind::MassCancelAck)
        })
    }

    fn sweep_matches(&self, strategy: usize, sw: &Sweep, o: &OrderRec) -> bool {
        usize::from(o.strategy) == strategy
            && o.open()
            && !o.cancel_pending
            && sw.session.is_none_or(|s| s == usize::from(o.session))
            && sw.security_id.is_none_or(|s| s == o.security_id)
            && sw.side.is_none_or(|s| s == o.side)
            && sw.ord_type.is_none_or(|t| t == o.ord_type)
            && sw.tif.is_none_or(|t| Some(t) == o.tif)
            && (!sw.killed || self.kill_blocked(strategy, usize::from(o.session)))
            && (sw.segment.is_none() && sw.group.is_none() || {
                let sc = self.scope_of(o.security_id);
                sw.segment
                    .is_none_or(|m| sc.is_some_and(|s| s.market_segment_id == Some(m)))
                    && sw
                        .group
                        .is_none_or(|g| sc.is_some_and(|s| s.security_group == g))
            })
    }

    fn matching_orders(&self, strategy: usize, sw: &Sweep) -> u32 {
        self.orders
            .iter()
            .filter(|o| self.sweep_matches(strategy, sw, o))
            .count() as u32
    }

    /// The strategy died: with `cancel_on_exit`, sweep every open order of it. Returns how many
    /// orders will be cancelled.
    pub fn strategy_died(&mut self, strategy: usize) -> u32 {
        let Some(st) = self.strategies.get(strategy) else {
            return 0;
        };
        if !st.route.cancel_on_exit {
            return 0;
        }
        let sweep = Sweep::ALL;
        let n = self.matching_orders(strategy, &sweep);
        self.install_sweep(strategy, sweep);
        n
    }

    /// The next cancel of a strategy's sweep whose session can take it now (`ready`, and
    /// credit in the session's messaging-control limiter at `now_ns`: a sweep waits for
    /// credit rather than being refused), scanning at most `budget` order slots; `None` when
    /// nothing is ready (the sweep ends once it has scanned the whole table).
    pub fn poll_sweep(
        &mut self,
        strategy: usize,
        budget: usize,
        now_ns: u64,
        ready: impl Fn(usize) -> bool,
    ) -> Option<Outbound> {
        if let Some(st) = self.strategies.get_mut(strategy) {
            if st.sweep.is_none() && st.kill_due {
                st.kill_due = false;
                st.sweep = Some(Sweep::KILL);
            }
        }
        let mut sw = self.strategies.get(strategy)?.sweep?;
        let len = self.orders.len() as u32;
        let mut found = None;
        let mut scanned = 0;
        while sw.cursor < len && scanned < budget {
            let slot = sw.cursor;
            let o = self.order(slot);
            if self.sweep_matches(strategy, &sw, &o) {
                let session = usize::from(o.session);
                if !ready(session) || !self.session_credit(session, 0, now_ns, false) {
                    break;
                }
                if o.pending_count() < MAX_PENDING {
                    self.session_credit(session, 0, now_ns, true);
                    found = Some(slot);
                    sw.cursor += 1;
                    break;
                }
            }
            sw.cursor += 1;
            scanned += 1;
        }
        let mut chain = false;
        if let Some(s) = self.strategies.get_mut(strategy) {
            s.sweep = (sw.cursor < len).then_some(sw);
            // A kill sweep waiting behind this one starts now.
            chain = found.is_none() && s.sweep.is_none() && s.kill_due;
        }
        if chain {
            return self.poll_sweep(strategy, budget, now_ns, ready);
        }
        let slot = found?;
        let orid = self.next_orid();
        let enq = self
            .orders
            .get(slot as usize)
            .map_or(0, |o| o.last_enqueue_ns);
        self.add_pending(
            slot,
            Pending {
                orid,
                request_id: 0,
                enqueue_ns: enq,
                kind: OutKind::Cancel,
                submitted: Stamp::NONE,
                tif: None,
            },
        );
        Some(self.outbound_for(slot, OutKind::Cancel, 0, enq, orid))
    }

    /// The message could not be sent (session down, buffers full): undoes what
    /// [`Router::on_request`] recorded and returns the reject for the strategy.
    pub fn send_failed(&mut self, out: &Outbound, reason: RejectReason, text: &str) -> Event {
        let order_id = match out.kind {
            OutKind::MassCancel => 0,
            _ => self
                .orders
                .get(out.order as usize)
                .map_or(0, |o| o.client_id),
        };
        let ss = self.strategy_session(out.strategy, out.session);
        match out.kind {
            OutKind::MassCancel => {
                if let Some(m) = self
                    .mass
                    .iter_mut()
                    .find(|m| m.is_some_and(|m| m.orid == out.order_request_id))
                {
                    *m = None;
                }
            }
            kind => {
                if let Some(o) = self.orders.get_mut(out.order as usize) {
                    o.take_pending(out.order_request_id);
                    if kind == OutKind::Cancel {
                        o.cancel_pending = o
                            .pending
                            .iter()
                            .flatten()
                            .any(|p| p.kind == OutKind::Cancel);
                    }
                }
                if kind == OutKind::New {
                    self.finish(out.order);
                } else {
                    self.maybe_free(out.order);
                }
            }
        }
        let mut e = reject(out.request_id, order_id, ss, out.enqueue_ns, reason);
        e.text = Text::new(text);
        e
    }

    fn strategy_session(&self, strategy: usize, session: usize) -> u16 {
        self.strategies
            .get(strategy)
            .and_then(|s| s.route.sessions.iter().position(|&e| e == session))
            .unwrap_or(0) as u16
    }

    /// The message left with sequence number `seq` at `submitted`.
    #[inline]
    pub fn sent(&mut self, out: &Outbound, seq: u32, submitted: Stamp) {
        let ss = self.strategy_session(out.strategy, out.session);
        let gen = self.orders.get(out.order as usize).map_or(0, |o| o.gen);
        if out.kind == OutKind::MassCancel {
            if let Some(m) = self
                .mass
                .iter_mut()
                .flatten()
                .find(|m| m.orid == out.order_request_id)
            {
                m.submitted = submitted;
            }
        } else if let Some(o) = self.orders.get_mut(out.order as usize) {
            if let Some(p) = o.find_pending(out.order_request_id) {
                p.submitted = submitted;
            }
            if out.kind == OutKind::New {
                self.journal_change_as(OrderChange::Open, out.order, out.cl_ord_id);
            }
        }
        let mask = self.seq_mask;
        if let Some(e) = self
            .seqs
            .get_mut(out.session)
            .and_then(|r| r.get_mut(seq as usize & mask))
        {
            *e = Some(SeqEntry {
                seq,
                strategy: out.strategy as u16,
                strategy_session: ss,
                order: out.order,
                gen,
                orid: out.order_request_id,
                request_id: out.request_id,
                enqueue_ns: out.enqueue_ns,
                kind: out.kind,
            });
        }
    }

    /// Frees a finished order with nothing in flight.
    #[inline]
    fn maybe_free(&mut self, slot: u32) {
        let Some(o) = self.orders.get_mut(slot as usize) else {
            return;
        };
        if o.state == OrdState::Done && o.legs_due == 0 && o.pending.iter().all(Option::is_none) {
            let (strategy, client_id) = (o.strategy, o.client_id);
            o.state = OrdState::Free;
            let restored = std::mem::take(&mut o.restored);
            self.by_client.remove(&self.orders, strategy, client_id);
            if restored {
                self.restored.retain(|&(_, s)| s != slot);
            }
            self.free.push_back(slot);
        }
    }

    /// Marks an order finished (and no longer open).
    #[inline]
    fn finish(&mut self, slot: u32) {
        let Some(o) = self.orders.get_mut(slot as usize) else {
            return;
        };
        if o.open() {
            o.state = OrdState::Done;
            if let Some(s) = self.strategies.get_mut(usize::from(o.strategy)) {
                s.open = s.open.saturating_sub(1);
            }
            self.journal_change(OrderChange::Finished, slot);
            let Some(o) = self.orders.get_mut(slot as usize) else {
                return;
            };
            if let (Some(exchange_id), Some(r)) = (
                o.exchange_id,
                self.recent.get_mut(self.recent_next & (RECENT - 1)),
            ) {
                *r = Recent {
                    exchange_id,
                    strategy: o.strategy,
                    strategy_session: o.strategy_session,
                    client_id: o.client_id,
                    security_id: o.security_id,
                    side: o.side,
                };
                self.recent_next = self.recent_next.wrapping_add(1);
            }
        }
        self.maybe_free(slot);
    }

    /// The owner of an order by ClOrdID (without counting it unknown) or, once it left the
    /// table, by exchange OrderID among recently finished orders: `(strategy, event)`.
    fn owner_event(
        &self,
        cl_ord_id: &[u8],
        exchange_id: u64,
        kind: EventKind,
    ) -> Option<(usize, Event)> {
        let key = parse_cl_ord_id(&self.prefix, cl_ord_id);
        let mask = (1u64 << self.slot_bits) - 1;
        let live = key
            .and_then(|k| {
                let o = self.orders.get((k & mask) as usize)?;
                (o.gen == (k >> self.slot_bits) as u32 && o.state != OrdState::Free).then_some(*o)
            })
            .or_else(|| self.restored_slot(cl_ord_id).map(|s| self.order(s)));
        if let Some(o) = live {
            return Some((usize::from(o.strategy), self.order_event(&o, kind)));
        }
        let r = self
            .recent
            .iter()
            .find(|r| r.exchange_id == exchange_id && exchange_id != 0)?;
        Some((
            usize::from(r.strategy),
            Event {
                session: r.strategy_session,
                order_id: r.client_id,
                security_id: r.security_id,
                side: Side::from_code(r.side),
                exchange_order_id: exchange_id,
                ..Event::new(kind)
            },
        ))
    }

    /// A fill of order `slot` (outright or spread): updates quantities and emits one Fill per
    /// fill entry (or one from LastPx/LastQty); finishes the order when nothing is left, unless
    /// `legs` spread leg reports are still due.
    #[allow(clippy::too_many_arguments)]
    fn fill(
        &mut self,
        slot: u32,
        (order_id, cum, leaves, transact): (u64, u32, u32, u64),
        (last_px, last_qty): (i64, u32),
        fills: impl Iterator<Item = (i64, u32)>,
        legs: u8,
        emit: &mut impl FnMut(&Reply),
    ) {
        if let Some(o) = self.orders.get_mut(slot as usize) {
            o.cum_qty = cum;
            o.exchange_id = Some(order_id);
            if o.state == OrdState::PendingNew {
                o.state = OrdState::Live;
            }
            if leaves == 0 {
                o.legs_due = legs;
            }
        }
        let (strategy, _, mut e) = self.slot_event(slot, EventKind::Fill);
        e.exchange_ns = transact;
        e.leaves_qty = leaves;
        e.cum_qty = cum;
        let mut any = false;
        for (px, qty) in fills {
            any = true;
            let mut fe = e;
            fe.last_px = Some(px);
            fe.last_qty = qty;
            emit(&Reply {
                strategy,
                event: fe,
                submitted: None,
            });
        }
        if !any {
            e.last_px = Some(last_px);
            e.last_qty = last_qty;
            emit(&Reply {
                strategy,
                event: e,
                submitted: None,
            });
        }
        if leaves == 0 {
            self.finish(slot);
        }
    }

    fn order_event(&self, o: &OrderRec, kind: EventKind) -> Event {
        o.event(kind)
    }

    /// Order `slot`'s owner, whether it is open, and its event of `kind`, read in place: the hot
    /// report handlers use this rather than copying the record out with [`Router::order`].
    fn slot_event(&self, slot: u32, kind: EventKind) -> (usize, bool, Event) {
        let o = self.orders.get(slot as usize).unwrap_or(&OrderRec::FREE);
        (usize::from(o.strategy), o.open(), o.event(kind))
    }

    /// The order slot a report's ClOrdID names, if it is a live slot of this run.
    /// The order in `slot` (a free record when the slot is out of range).
    fn order(&self, slot: u32) -> OrderRec {
        self.orders
            .get(slot as usize)
            .copied()
            .unwrap_or(OrderRec::FREE)
    }

    #[inline]
    fn slot_of(&mut self, cl_ord_id: &[u8]) -> Option<u32> {
        let key = parse_cl_ord_id(&self.prefix, cl_ord_id);
        let mask = (1u64 << self.slot_bits) - 1;
        let found = key.and_then(|k| {
            let slot = (k & mask) as u32;
            let gen = (k >> self.slot_bits) as u32;
            self.orders
                .get(slot as usize)
                .filter(|o| o.gen == gen && o.state != OrdState::Free)
                .map(|_| slot)
        });
        let found = found.or_else(|| self.restored_slot(cl_ord_id));
        match found {
            None => self.stats.unknown_reports += 1,
            Some(slot) => self.touch(slot),
        }
        found
    }

    /// Takes the answer to request `orid` of order `slot`: fills in the event's request fields
    /// and returns the submit stamp when this is the first answer to it.
    fn answer(&mut self, slot: u32, orid: u64, e: &mut Event, consume: bool) -> Option<Stamp> {
        let o = self.orders.get_mut(slot as usize)?;
        let p = if consume {
            o.take_pending(orid)
        } else {
            o.find_pending(orid).copied()
        };
        let Some(p) = p else {
            self.stats.unmatched_responses += 1;
            return None;
        };
        if consume && p.kind == OutKind::Cancel {
            o.cancel_pending = o
                .pending
                .iter()
                .flatten()
                .any(|q| q.kind == OutKind::Cancel);
        }
        e.request_id = p.request_id;
        e.request_enqueue_ns = p.enqueue_ns;
        p.submitted.is_set().then_some(p.submitted)
    }

    /// Handles one business message from the exchange on engine session `session`; events for
    /// strategies go to `emit`.
    /// Every change of an order's state it makes is queued for the order journal
    /// ([`Router::take_changes`]).
    pub fn on_message(&mut self, session: usize, msg: &Message<'_>, emit: &mut impl FnMut(&Reply)) {
        self.touched.clear();
        self.on_message_inner(session, msg, emit);
        self.journal_touched();
    }

    fn on_message_inner(
        &mut self,
        session: usize,
        msg: &Message<'_>,
        emit: &mut impl FnMut(&Reply),
    ) {
        match msg {
            Message::ExecutionReportNew(m) => {
                let Some(slot) = self.slot_of(m.cl_ord_id().as_bytes()) else {
                    return;
                };
                if let Some(o) = self.orders.get_mut(slot as usize) {
                    o.exchange_id = Some(m.order_id());
                    if o.state == OrdState::PendingNew {
                        o.state = OrdState::Live;
                    }
                }
                // The reply is built in place (an event is 160 bytes: no copies).
                let (strategy, _, event) = self.slot_event(slot, EventKind::Ack);
                let mut r = Reply {
                    strategy,
                    event,
                    submitted: None,
                };
                r.event.exchange_ns = m.transact_time();
                r.submitted = self.answer(slot, m.order_request_id(), &mut r.event, true);
                emit(&r);
                self.maybe_free(slot);
            }
            Message::ExecutionReportReject(m) => {
                let Some(slot) = self.slot_of(m.cl_ord_id().as_bytes()) else {
                    return;
                };
                let o = self.order(slot);
                let mut e = self.order_event(&o, EventKind::Reject);
                e.reason = Some(RejectReason::Exchange);
                e.exchange_ns = m.transact_time();
                let _ = write!(e.text, "{}: ", m.ord_rej_reason());
                let _ = e.text.write_str(m.text().as_str().unwrap_or("rejected"));
                e.leaves_qty = 0;
                let submitted = self.answer(slot, m.order_request_id(), &mut e, true);
                emit(&Reply::to_owner(&o, e, submitted));
                self.finish(slot);
            }
            Message::ExecutionReportTradeOutright(m) => {
                let Some(slot) = self.slot_of(m.cl_ord_id().as_bytes()) else {
                    return;
                };
                let fills = m.fills();
                self.fill(
                    slot,
                    (m.order_id(), m.cum_qty(), m.leaves_qty(), m.transact_time()),
                    (m.last_px(), m.last_qty()),
                    fills.iter().map(|f| (f.fill_px(), f.fill_qty())),
                    0,
                    emit,
                );
            }
            Message::ExecutionReportTradeSpread(m) => {
                let Some(slot) = self.slot_of(m.cl_ord_id().as_bytes()) else {
                    return;
                };
                let fills = m.fills();
                self.fill(
                    slot,
                    (m.order_id(), m.cum_qty(), m.leaves_qty(), m.transact_time()),
                    (m.last_px(), m.last_qty()),
                    fills.iter().map(|f| (f.fill_px(), f.fill_qty())),
                    m.total_num_securities(),
                    emit,
                );
            }
            Message::ExecutionReportTradeSpreadLeg(m) => {
                let Some(slot) = self.slot_of(m.cl_ord_id().as_bytes()) else {
                    return;
                };
                let o = self.order(slot);
                let mut e = self.order_event(&o, EventKind::LegFill);
                e.security_id = m.security_id();
                e.side = Side::from_code(m.side());
                e.last_px = Some(m.last_px());
                e.last_qty = m.last_qty();
                e.cum_qty = m.cum_qty();
                e.exchange_ns = m.transact_time();
                emit(&Reply::to_owner(&o, e, None));
                if let Some(o) = self.orders.get_mut(slot as usize) {
                    o.legs_due = o.legs_due.saturating_sub(1);
                }
                self.maybe_free(slot);
            }
            Message::ExecutionReportElimination(m) => {
                let Some(slot) = self.slot_of(m.cl_ord_id().as_bytes()) else {
                    return;
                };
                if let Some(o) = self.orders.get_mut(slot as usize) {
                    o.exchange_id = Some(m.order_id());
                    o.cum_qty = m.cum_qty();
                }
                let o = self.order(slot);
                let mut e = self.order_event(&o, EventKind::Eliminated);
                e.exchange_ns = m.transact_time();
                e.leaves_qty = 0;
                e.cum_qty = m.cum_qty();
                // A FAK answered by its elimination alone (no New ack first) answers the New.
                let orid = m.order_request_id();
                let answers = self
                    .orders
                    .get_mut(slot as usize)
                    .and_then(|o| o.find_pending(orid))
                    .is_some_and(|p| p.kind == OutKind::New);
                let submitted = if answers {
                    self.answer(slot, orid, &mut e, true)
                } else {
                    e.request_id = 0;
                    None
                };
                emit(&Reply::to_owner(&o, e, submitted));
                self.finish(slot);
            }
            Message::ExecutionReportTradeAddendumOutright(m) => {
                self.addendum(
                    m.cl_ord_id().as_bytes(),
                    m.order_id(),
                    m.exec_type(),
                    (
                        m.last_px(),
                        m.last_qty(),
                        m.side_trade_id(),
                        m.transact_time(),
                    ),
                    emit,
                );
            }
            Message::ExecutionReportTradeAddendumSpread(m) => {
                self.addendum(
                    m.cl_ord_id().as_bytes(),
                    m.order_id(),
                    m.exec_type(),
                    (
                        m.last_px(),
                        m.last_qty(),
                        m.side_trade_id(),
                        m.transact_time(),
                    ),
                    emit,
                );
            }
            Message::ExecutionReportTradeAddendumSpreadLeg(m) => {
                if let Some((strategy, mut e)) = self.owner_event(
                    m.cl_ord_id().as_bytes(),
                    m.order_id(),
                    if m.exec_type() == b'H' {
                        EventKind::TradeBust
                    } else {
                        EventKind::TradeCorrected
                    },
                ) {
                    // The leg's instrument and side.
                    e.security_id = m.security_id();
                    e.side = Side::from_code(m.side());
                    e.last_px = Some(m.last_px());
                    e.last_qty = m.last_qty();
                    e.count = m.side_trade_id();
                    e.exchange_ns = m.transact_time();
                    emit(&Reply {
                        strategy,
                        event: e,
                        submitted: None,
                    });
                } else {
                    self.stats.unknown_reports += 1;
                }
            }
            Message::ExecutionReportStatus(m) => {
                let status = m.ord_status();
                // CME answers an OrderStatusRequest (533, which names the OrderID) for an
                // order it does not know with OrdStatus U and no ClOrdID: find ours by OrderID.
                let unknown_at_cme = status == b'U' && m.cl_ord_id().as_bytes().is_empty();
                let slot = if unknown_at_cme {
                    self.open_slot_by_order_id(m.order_id())
                } else {
                    self.slot_of(m.cl_ord_id().as_bytes())
                };
                let Some(slot) = slot else {
                    if unknown_at_cme {
                        self.stats.unknown_reports += 1;
                    }
                    return;
                };
                if let Some(o) = self.orders.get_mut(slot as usize) {
                    o.exchange_id = Some(m.order_id());
                    o.cum_qty = m.cum_qty();
                    if o.state == OrdState::PendingNew && matches!(status, b'0' | b'1' | b'5') {
                        o.state = OrdState::Live;
                    }
                }
                let o = self.order(slot);
                let mut e = self.order_event(&o, EventKind::Status);
                // The answer to a strategy's OrderStatusRequest echoes its request id.
                e.request_id = m.ord_status_req_id().unwrap_or(0);
                e.restatement = status;
                e.leaves_qty = m.leaves_qty();
                e.cum_qty = m.cum_qty();
                e.exchange_ns = m.transact_time();
                emit(&Reply::to_owner(&o, e, None));
                // Filled, cancelled, rejected, expired, or not known at CME: the order is over.
                if matches!(status, b'2' | b'4' | b'8' | b'C' | b'U') {
                    self.finish(slot);
                }
            }
            Message::ExecutionReportPendingCancel(m) => {
                self.pending_report(
                    m.cl_ord_id().as_bytes(),
                    m.order_request_id(),
                    EventKind::PendingCancel,
                    m.transact_time(),
                    emit,
                );
            }
            Message::ExecutionReportPendingReplace(m) => {
                self.pending_report(
                    m.cl_ord_id().as_bytes(),
                    m.order_request_id(),
                    EventKind::PendingReplace,
                    m.transact_time(),
                    emit,
                );
            }
            Message::ExecutionReportModify(m) => {
                let Some(slot) = self.slot_of(m.cl_ord_id().as_bytes()) else {
                    return;
                };
                let orid = m.order_request_id();
                if let Some(o) = self.orders.get_mut(slot as usize) {
                    o.qty = m.order_qty();
                    o.price = Some(m.price());
                    o.cum_qty = m.cum_qty();
                    if let Some(p) = o.find_pending(orid) {
                        o.tif = p.tif.or(o.tif);
                    }
                }
                let o = self.order(slot);
                let mut e = self.order_event(&o, EventKind::Replaced);
                e.exchange_ns = m.transact_time();
                e.leaves_qty = m.leaves_qty();
                let submitted = self.answer(slot, orid, &mut e, true);
                emit(&Reply::to_owner(&o, e, submitted));
                self.maybe_free(slot);
            }
            Message::ExecutionReportCancel(m) => {
                let Some(slot) = self.slot_of(m.cl_ord_id().as_bytes()) else {
                    return;
                };
                let (strategy, open, event) = self.slot_event(slot, EventKind::Cancelled);
                let mut r = Reply {
                    strategy,
                    event,
                    submitted: None,
                };
                let e = &mut r.event;
                e.exchange_ns = m.transact_time();
                e.leaves_qty = 0;
                e.cum_qty = m.cum_qty();
                e.restatement = m.exec_restatement_reason().unwrap_or(0);
                let orid = m.order_request_id();
                let is_cancel = self
                    .orders
                    .get_mut(slot as usize)
                    .and_then(|o| o.find_pending(orid))
                    .is_some_and(|p| p.kind == OutKind::Cancel);
                if !open && !is_cancel {
                    // Already finished (e.g. from a mass action report's affected orders).
                    return;
                }
                r.submitted = if is_cancel {
                    self.answer(slot, orid, &mut r.event, true)
                } else {
                    // Unsolicited (mass cancel, FAK remainder, exchange): no request answered.
                    r.event.request_id = 0;
                    None
                };
                // Checked for UTF-8 only when there is text (it is usually empty).
                let text = m.cancel_text();
                if let Some(t) = Some(text)
                    .filter(|t| !t.is_empty())
                    .and_then(|t| t.as_str())
                {
                    let _ = r.event.text.write_str(t);
                }
                emit(&r);
                self.finish(slot);
            }
            Message::OrderCancelReject(m) => {
                self.cancel_reject(
                    m.cl_ord_id().as_bytes(),
                    m.order_request_id(),
                    m.cxl_rej_reason(),
                    m.text().as_str(),
                    emit,
                );
            }
            Message::OrderCancelReplaceReject(m) => {
                self.cancel_reject(
                    m.cl_ord_id().as_bytes(),
                    m.order_request_id(),
                    m.cxl_rej_reason(),
                    m.text().as_str(),
                    emit,
                );
            }
            Message::OrderMassActionReport(m) => {
                let orid = m.order_request_id();
                let Some(pos) = self
                    .mass
                    .iter()
                    .position(|p| p.is_some_and(|p| p.orid == orid))
                else {
                    self.stats.unmatched_responses += 1;
                    return;
                };
                let last = m.last_fragment() == 1;
                let Some(p) = self.mass.get_mut(pos).and_then(|p| {
                    if last {
                        p.take()
                    } else {
                        p.as_mut().map(|q| {
                            let was = *q;
                            q.acked = true;
                            was
                        })
                    }
                }) else {
                    return;
                };
                let accepted = m.mass_action_response() == 1;
                if !p.acked {
                    let mut e = Event {
                        request_id: p.request_id,
                        session: p.strategy_session,
                        count: m.total_affected_orders(),
                        security_id: m.security_id().unwrap_or(0),
                        side: m.side().and_then(Side::from_code),
                        request_enqueue_ns: p.enqueue_ns,
                        exchange_ns: m.transact_time(),
                        ..Event::new(if accepted {
                            EventKind::MassCancelAck
                        } else {
                            EventKind::Reject
                        })
                    };
                    if !accepted {
                        e.reason = Some(RejectReason::Exchange);
                        let _ = write!(
                            e.text,
                            "mass cancel rejected ({})",
                            m.mass_action_reject_reason().unwrap_or(0)
                        );
                    }
                    emit(&Reply {
                        strategy: usize::from(p.strategy),
                        event: e,
                        submitted: Some(p.submitted),
                    });
                }
                // Every affected order of ours is cancelled now (a later per-order cancel
                // report for it is then ignored).
                for a in m.affected_orders().iter() {
                    let Some(slot) = self.slot_of(a.orig_ci_ord_id().as_bytes()) else {
                        continue;
                    };
                    let o = self.order(slot);
                    if !o.open() {
                        continue;
                    }
                    let mut e = self.order_event(&o, EventKind::Cancelled);
                    e.exchange_ns = m.transact_time();
                    e.leaves_qty = 0;
                    e.qty = o.qty;
                    e.count = a.cxl_quantity();
                    let _ = e.text.write_str("mass action");
                    emit(&Reply::to_owner(&o, e, None));
                    self.finish(slot);
                }
            }
            Message::BusinessReject(m) => {
                let Some(seq) = m.ref_seq_num() else {
                    self.stats.unmatched_responses += 1;
                    return;
                };
                let text = m.text();
                let reason = m.business_reject_reason();
                self.request_failed(session, seq, emit, |e| {
                    e.kind = EventKind::Reject;
                    e.reason = Some(RejectReason::Exchange);
                    let _ = write!(e.text, "{reason}: ");
                    let _ = e.text.write_str(text.as_str().unwrap_or("business reject"));
                });
            }
            _ => {}
        }
    }

    /// A trade bust (ExecType H) or correction (G) of an outright or spread fill.
    fn addendum(
        &mut self,
        cl_ord_id: &[u8],
        exchange_id: u64,
        exec_type: u8,
        (px, qty, side_trade_id, transact): (i64, u32, u32, u64),
        emit: &mut impl FnMut(&Reply),
    ) {
        let kind = if exec_type == b'H' {
            EventKind::TradeBust
        } else {
            EventKind::TradeCorrected
        };
        let Some((strategy, mut e)) = self.owner_event(cl_ord_id, exchange_id, kind) else {
            self.stats.unknown_reports += 1;
            return;
        };
        e.last_px = Some(px);
        e.last_qty = qty;
        e.count = side_trade_id;
        e.exchange_ns = transact;
        emit(&Reply {
            strategy,
            event: e,
            submitted: None,
        });
    }

    /// Pending Cancel / Pending Replace: the exchange holds request `orid` (not answered yet).
    fn pending_report(
        &mut self,
        cl_ord_id: &[u8],
        orid: u64,
        kind: EventKind,
        transact: u64,
        emit: &mut impl FnMut(&Reply),
    ) {
        let Some(slot) = self.slot_of(cl_ord_id) else {
            return;
        };
        let o = self.order(slot);
        let mut e = self.order_event(&o, kind);
        e.exchange_ns = transact;
        let _ = self.answer(slot, orid, &mut e, false);
        emit(&Reply::to_owner(&o, e, None));
    }

    fn cancel_reject(
        &mut self,
        cl_ord_id: &[u8],
        orid: u64,
        reason: u16,
        text: Option<&str>,
        emit: &mut impl FnMut(&Reply),
    ) {
        let Some(slot) = self.slot_of(cl_ord_id) else {
            return;
        };
        let o = self.order(slot);
        let mut e = self.order_event(&o, EventKind::CancelReject);
        e.reason = Some(RejectReason::Exchange);
        let _ = write!(e.text, "{reason}: ");
        let _ = e.text.write_str(text.unwrap_or("refused"));
        let submitted = self.answer(slot, orid, &mut e, true);
        emit(&Reply::to_owner(&o, e, submitted));
        self.maybe_free(slot);
    }

    /// The request that went out with `seq` on `session` was not applied (NotApplied) or was
    /// refused (BusinessReject): tell its owner with an event shaped by `shape`.
    fn request_failed(
        &mut self,
        session: usize,
        seq: u32,
        emit: &mut impl FnMut(&Reply),
        shape: impl Fn(&mut Event),
    ) -> bool {
        let mask = self.seq_mask;
        let Some(entry) = self
            .seqs
            .get_mut(session)
            .and_then(|r| r.get_mut(seq as usize & mask))
            .and_then(|e| e.take_if(|e| e.seq == seq))
        else {
            return false;
        };
        let mut e = Event {
            request_id: entry.request_id,
            session: entry.strategy_session,
            request_enqueue_ns: entry.enqueue_ns,
            ..Event::new(EventKind::NotApplied)
        };
        if entry.kind == OutKind::MassCancel {
            if let Some(m) = self
                .mass
                .iter_mut()
                .find(|m| m.is_some_and(|m| m.orid == entry.orid))
            {
                *m = None;
            }
        } else if let Some(o) = self
            .orders
            .get_mut(entry.order as usize)
            .filter(|o| o.gen == entry.gen && o.state != OrdState::Free)
        {
            let had = o.take_pending(entry.orid).is_some();
            if had && entry.kind == OutKind::Cancel {
                o.cancel_pending = o
                    .pending
                    .iter()
                    .flatten()
                    .any(|q| q.kind == OutKind::Cancel);
            }
            e.order_id = o.client_id;
            e.security_id = o.security_id;
            e.side = Side::from_code(o.side);
            if had && entry.kind == OutKind::New {
                let o = *o;
                self.finish(entry.order);
                let _ = o;
            } else {
                self.maybe_free(entry.order);
            }
        }
        shape(&mut e);
        emit(&Reply {
            strategy: usize::from(entry.strategy),
            event: e,
            submitted: None,
        });
        true
    }

    /// The exchange did not apply `from_seq..from_seq + count` on `session` (and the session
    /// gap-filled): every owner is told with a `NotApplied` event. Returns how many requests
    /// were found (numbers outside the remembered window are not).
    pub fn not_applied(
        &mut self,
        session: usize,
        from_seq: u32,
        count: u32,
        emit: &mut impl FnMut(&Reply),
    ) -> u32 {
        let window = (self.seq_mask + 1) as u32;
        let start = from_seq.max(from_seq.saturating_add(count).saturating_sub(window));
        let end = from_seq.saturating_add(count);
        let mut found = 0;
        for seq in start..end {
            if self.request_failed(session, seq, emit, |e| {
                let _ = e.text.write_str("not applied by the exchange");
            }) {
                found += 1;
            }
        }
        found
    }
}

/// The inbound iLink 3 templates [`Router::on_message`] acts on. The daemon counts every other
/// business template it receives (`ilinkd_unhandled_messages_total{template}`) and logs the first
/// of each; keep this list in step with `on_message` (a router test checks it).
pub fn acts_on(template_id: u16) -> bool {
    matches!(
        template_id,
        521 | 522
            | 523
            | 524
            | 525
            | 526
            | 527
            | 531
            | 532
            | 534
            | 535
            | 536
            | 548
            | 549
            | 550
            | 562
            | 564
            | 565
    )
}

#[cfg(test)]
#[path = "router_tests.rs"]
mod tests;

#[path = "router_restore.rs"]
mod restore;
pub use restore::{
    MassStatusOutcome, OrderSnapshot, RestoreError, DAEMON, MASS_STATUS_ALL, SNAPSHOT_LEN,
};
