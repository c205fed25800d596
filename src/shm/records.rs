//! Fixed-size records of the strategy segment (see the layout in `strategy.rs`), their typed
//! Rust forms, and the codecs. Decoding validates every byte: a record read from shared memory
//! is untrusted input and becomes either a typed value or a typed error, never a panic.
//!
//! All integers are native-endian (the segment never leaves the machine). Prices are `i64`
//! mantissas with exponent -9 (as iLink 3 `PRICE9`); [`PRICE_NULL`] (`i64::MAX`) is "no price".
//! Fields a kind does not use are zero (except a market order's price, which is `PRICE_NULL`),
//! and reserved bytes are zero: the daemon rejects records that break either rule.

use std::fmt;

/// Bytes per request record.
pub const REQUEST_RECORD_SIZE: usize = 64;
/// Bytes per event record.
pub const EVENT_RECORD_SIZE: usize = 128;
/// "No price" (iLink 3 PRICENULL9 mantissa).
pub const PRICE_NULL: i64 = i64::MAX;
/// Bytes of the fixed text field of an event (NUL-padded UTF-8).
pub const TEXT_LEN: usize = 32;
/// 8-byte words per event record ([`Event::encode_words`]).
pub const EVENT_WORDS: usize = EVENT_RECORD_SIZE / 8;

/// Byte offsets inside a request record (64 bytes).
pub mod request_offsets {
    /// `u8` [`RequestKind`](super::RequestKind).
    pub const KIND: usize = 0;
    /// `u8` [`Side`](super::Side) (0: none / both sides for a mass cancel).
    pub const SIDE: usize = 1;
    /// `u8` [`OrdType`](super::OrdType) (0 when unused).
    pub const ORD_TYPE: usize = 2;
    /// `u8` [`TimeInForce`](super::TimeInForce) (0 = Day; 0 when unused).
    pub const TIF: usize = 3;
    /// `u16` index into the strategy's configured sessions.
    pub const SESSION: usize = 4;
    /// `u16` new order / replace: ExpireDate of a GTD order (days since 1970-01-01, CME
    /// LocalMktDate), else 0.
    pub const EXPIRE_DATE: usize = 6;
    /// `u8` mass cancel: [`MassScope`](super::MassScope) code (0 = default), shares offset 6
    /// with `EXPIRE_DATE`.
    pub const MASS_SCOPE: usize = 6;
    /// `u8` mass cancel: 1 when `TIF` is a time-in-force filter (0: every Day and GT order).
    pub const MASS_TIF_FILTER: usize = 7;
    /// `u64` strategy-chosen request id (non-zero), echoed in the events answering it; a new
    /// order's request id is also its client order id.
    pub const REQUEST_ID: usize = 8;
    /// `u64` client order id of the target order (cancel, replace), else 0.
    pub const ORDER_ID: usize = 16;
    /// `i32` CME security id (0 for a mass cancel: every instrument).
    pub const SECURITY_ID: usize = 24;
    /// `u32` order quantity.
    pub const QTY: usize = 28;
    /// `i64` limit price mantissa (exponent -9), `PRICE_NULL` for market orders.
    pub const PRICE: usize = 32;
    /// `u64` nanoseconds (CLOCK_REALTIME) when the client enqueued the record.
    pub const ENQUEUE_NS: usize = 40;
    /// `i64` StopPx mantissa of a stop or stop-limit order (`PRICE_NULL` or 0 otherwise).
    pub const STOP_PX: usize = 48;
    /// `u32` MinQty (FAK only; 0: none).
    pub const MIN_QTY: usize = 56;
    /// `u32` DisplayQty (0: the whole quantity).
    pub const DISPLAY_QTY: usize = 60;
}

/// Byte offsets inside an event record (128 bytes).
pub mod event_offsets {
    /// `u8` [`EventKind`](super::EventKind).
    pub const KIND: usize = 0;
    /// `u8` [`Side`](super::Side) (0: none).
    pub const SIDE: usize = 1;
    /// `u8` [`LinkStatus`](super::LinkStatus) (session state events; else 0).
    pub const SESSION_STATE: usize = 2;
    /// `u8` ExecRestatementReason of an unsolicited cancel or elimination (CME tag 378: 8
    /// exchange, 100 cancel on disconnect, 103/107 self-match, 104 credit controls, 106 kill
    /// switch/RMI, 110 expiry, ...); for `Status` the OrdStatus code; else 0.
    pub const RESTATEMENT: usize = 3;
    /// `u16` session index.
    pub const SESSION: usize = 4;
    /// `u16` [`RejectReason`](super::RejectReason) (0: none).
    pub const REASON: usize = 6;
    /// `u64` request id this event answers (0 for unsolicited events such as fills).
    pub const REQUEST_ID: usize = 8;
    /// `u64` client order id of the order concerned (0 if none).
    pub const ORDER_ID: usize = 16;
    /// `i32` security id.
    pub const SECURITY_ID: usize = 24;
    /// `u32` order quantity.
    pub const QTY: usize = 28;
    /// `i64` order price mantissa (`PRICE_NULL`: none).
    pub const PRICE: usize = 32;
    /// `u64` exchange order id (iLink 3 OrderID; 0 if none).
    pub const EXCHANGE_ORDER_ID: usize = 40;
    /// `i64` fill price mantissa (`PRICE_NULL`: none).
    pub const LAST_PX: usize = 48;
    /// `u32` fill quantity.
    pub const LAST_QTY: usize = 56;
    /// `u32` leaves quantity.
    pub const LEAVES_QTY: usize = 60;
    /// `u32` cumulative filled quantity.
    pub const CUM_QTY: usize = 64;
    /// `u32` count (orders cancelled by a mass cancel).
    pub const COUNT: usize = 68;
    /// `u64` exchange transact time, ns since the Unix epoch (0 if none).
    pub const EXCHANGE_NS: usize = 72;
    /// `u64` when the daemon pushed the event (CLOCK_REALTIME ns).
    pub const DAEMON_NS: usize = 80;
    /// `u64` the answered request's `enqueue_ns`, echoed (0 if none).
    pub const REQUEST_ENQUEUE_NS: usize = 88;
    /// 32 bytes of NUL-padded UTF-8 text (reject reasons).
    pub const TEXT: usize = 96;
}

macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident: $repr:ty { $($(#[$vm:meta])* $v:ident = $n:expr),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr($repr)]
        pub enum $name { $($(#[$vm])* $v = $n),+ }
        impl $name {
            /// The enum for a wire code, `None` if unknown.
            pub fn from_code(code: $repr) -> Option<Self> {
                match code { $($n => Some(Self::$v),)+ _ => None }
            }
            /// The wire code.
            pub fn code(self) -> $repr { self as $repr }
        }
    };
}

code_enum!(
    /// Request record kinds.
    RequestKind: u8 { NewOrder = 1, Cancel = 2, Replace = 3, MassCancel = 4, OrderStatus = 5 }
);
code_enum!(
    /// Event record kinds.
    EventKind: u8 {
        /// New order accepted by the exchange.
        Ack = 1,
        /// Request refused (by the daemon or the exchange), with a reason.
        Reject = 2,
        /// Partial or full fill.
        Fill = 3,
        /// Order cancelled (on request, by a mass cancel, or unsolicited).
        Cancelled = 4,
        /// Cancel/replace accepted.
        Replaced = 5,
        /// Cancel or replace refused.
        CancelReject = 6,
        /// A session's state changed.
        SessionState = 7,
        /// The exchange did not apply a request (iLink 3 NotApplied) and it was not resent.
        NotApplied = 8,
        /// Mass cancel accepted; `count` orders affected.
        MassCancelAck = 9,
        /// iLink 3 recovery gave up `count` exchange messages on `session` (their reports,
        /// fills included, will not arrive on this session: reconcile from Drop Copy).
        MessagesLost = 10,
        /// The exchange eliminated the order's remainder (FAK/FOK not filled, expiry, market
        /// state): the order is finished; `cum_qty` is what filled, `restatement` why.
        Eliminated = 11,
        /// A fill was busted (Trade Addendum, ExecType H): `last_px`/`last_qty` are the busted
        /// trade's; `count` its SideTradeID.
        TradeBust = 12,
        /// A fill was corrected (Trade Addendum, ExecType G): `last_px`/`last_qty` are the
        /// corrected values; `count` the SideTradeID.
        TradeCorrected = 13,
        /// One leg of a spread order's fill (Trade Spread Leg): `security_id`, `side`,
        /// `last_px`, `last_qty` are the leg's; `order_id` the spread order's.
        LegFill = 14,
        /// Order status (Execution Report Status): `restatement` holds the OrdStatus code.
        Status = 15,
        /// The exchange holds a cancel of the order pending (Pending Cancel).
        PendingCancel = 16,
        /// The exchange holds a replace of the order pending (Pending Replace).
        PendingReplace = 17,
        /// An order still open from before a daemon restart, given to the strategy that owns
        /// it when it attaches: same order id, instrument, side, quantities, price and
        /// exchange OrderID; it can be cancelled or replaced as usual.
        Recovered = 18,
    }
);
code_enum!(
    /// Order side (iLink 3 SideReq codes).
    Side: u8 { Buy = 1, Sell = 2 }
);
code_enum!(
    /// Order type (iLink 3 OrdType, market-limit `K` as 5).
    OrdType: u8 {
        /// Market with protection (no price).
        Market = 1,
        Limit = 2,
        /// Stop with protection: StopPx, no price (futures).
        Stop = 3,
        /// Stop-limit: StopPx and a limit price.
        StopLimit = 4,
        /// Market-limit (wire `K`): fills at the best price, the rest rests there (no price).
        MarketLimit = 5,
    }
);
code_enum!(
    /// Time in force (FIX codes). FOK goes to CME as FAK with MinQty = OrderQty.
    TimeInForce: u8 { Day = 0, Gtc = 1, Fak = 3, Fok = 4, Gtd = 6 }
);
code_enum!(
    /// State of one iLink 3 session, as seen by strategies.
    LinkStatus: u8 { Down = 0, Connecting = 1, Up = 2 }
);
code_enum!(
    /// Why a request was refused.
    RejectReason: u16 {
        /// The record broke the format (unknown kind, reserved bytes, ...).
        Malformed = 1,
        InvalidSide = 2,
        InvalidQuantity = 3,
        /// Missing or forbidden price, or price out of range.
        InvalidPrice = 4,
        PriceNotOnTick = 5,
        UnknownInstrument = 6,
        /// Session index outside the strategy's sessions.
        UnknownSession = 7,
        SessionDown = 8,
        /// Cancel/replace of an order the daemon does not know for this strategy.
        UnknownOrder = 9,
        DuplicateOrderId = 10,
        RiskLimit = 11,
        Throttled = 12,
        /// Refused by the exchange (text from the exchange).
        Exchange = 13,
        InvalidOrderType = 14,
        InvalidTimeInForce = 15,
        ShuttingDown = 16,
        /// Refused by the session's messaging-control limiter (CME thresholds).
        MessagingControl = 17,
        /// Order type / time in force / MinQty / DisplayQty / StopPx / ExpireDate combination
        /// CME does not accept.
        InvalidCombination = 18,
        /// An operator's kill switch (`ilinkd kill`) blocks new orders and modifies.
        KillSwitch = 19,
        /// The order names party details (`[[ilink3.party]]`) not registered on the session:
        /// no accepting PartyDetailsDefinitionRequestAck (519) yet, or refused; the text names
        /// the party.
        PartyNotRegistered = 20,
    }
);

/// Up to [`TEXT_LEN`] bytes of UTF-8, NUL-padded; longer text is cut at a char boundary.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Text([u8; TEXT_LEN]);

impl Text {
    /// `s` truncated to fit.
    pub fn new(s: &str) -> Self {
        let mut t = Text::default();
        fmt::Write::write_str(&mut t, s).ok();
        t
    }

    /// The raw bytes, NUL-padded.
    pub fn as_bytes(&self) -> &[u8; TEXT_LEN] {
        &self.0
    }

    /// Bytes before the first NUL.
    fn used(&self) -> usize {
        self.0.iter().position(|&b| b == 0).unwrap_or(TEXT_LEN)
    }

    /// The text (up to the first NUL); `None` if those bytes are not UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        self.0
            .get(..self.used())
            .and_then(|b| std::str::from_utf8(b).ok())
    }
}

impl fmt::Write for Text {
    /// Appends as much of `s` as fits (cut at a char boundary); never fails, never allocates.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let used = self.used();
        let room = TEXT_LEN - used;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        if let (Some(dst), Some(src)) = (self.0.get_mut(used..used + n), s.as_bytes().get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => fmt::Debug::fmt(s, f),
            None => write!(f, "{:?}", &self.0[..]),
        }
    }
}

/// An order as a strategy describes it (new order, or the new terms of a replace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// Index into the strategy's configured sessions.
    pub session: u16,
    /// CME security id (> 0).
    pub security_id: i32,
    pub side: Side,
    /// Quantity (> 0).
    pub qty: u32,
    /// Limit price mantissa (exponent -9); `None` for market orders.
    pub price: Option<i64>,
    pub ord_type: OrdType,
    pub tif: TimeInForce,
    /// StopPx mantissa of a stop or stop-limit order.
    pub stop_px: Option<i64>,
    /// MinQty (FAK only).
    pub min_qty: Option<u32>,
    /// DisplayQty (iceberg), at most `qty`.
    pub display_qty: Option<u32>,
    /// ExpireDate of a GTD order: days since 1970-01-01 (CME LocalMktDate).
    pub expire_date: Option<u16>,
}

impl Order {
    /// A Day limit order with no qualifiers.
    pub fn limit(session: u16, security_id: i32, side: Side, qty: u32, price: i64) -> Self {
        Order {
            session,
            security_id,
            side,
            qty,
            price: Some(price),
            ord_type: OrdType::Limit,
            tif: TimeInForce::Day,
            stop_px: None,
            min_qty: None,
            display_qty: None,
            expire_date: None,
        }
    }
}

/// Scope of a mass cancel (CME MassActionScope).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MassScope {
    /// One instrument when `security_id` is given, else every order of the strategy on the
    /// session (sent to CME as the session's market segment(s)).
    #[default]
    Default,
    /// Scope 1: the instrument `security_id`.
    Instrument,
    /// Scope 9: the market segment of instrument `security_id` (MarketSegmentID).
    MarketSegment,
    /// Scope 10: the instrument group (SecurityGroup) of instrument `security_id`.
    InstrumentGroup,
}

impl MassScope {
    /// The record code (the CME MassActionScope value; 0 for `Default`).
    pub fn code(self) -> u8 {
        match self {
            MassScope::Default => 0,
            MassScope::Instrument => 1,
            MassScope::MarketSegment => 9,
            MassScope::InstrumentGroup => 10,
        }
    }
    /// The scope of a record code, `None` if unknown.
    pub fn from_code(c: u8) -> Option<Self> {
        match c {
            0 => Some(MassScope::Default),
            1 => Some(MassScope::Instrument),
            9 => Some(MassScope::MarketSegment),
            10 => Some(MassScope::InstrumentGroup),
            _ => None,
        }
    }
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestBody {
    /// A new order; its client order id is the request id.
    NewOrder(Order),
    /// Cancel the order with client order id `order_id`.
    Cancel { session: u16, order_id: u64 },
    /// Replace the terms of order `order_id` (which keeps its client order id).
    Replace { order_id: u64, order: Order },
    /// Cancel every order of this strategy on `session`, optionally only one instrument and/or
    /// one side, order type (Limit or StopLimit) and time in force (Day, Gtc, Gtd); `scope`
    /// widens it to the instrument's market segment or instrument group (a strategy alone on
    /// its session only; otherwise its own matching orders are cancelled one by one).
    MassCancel {
        session: u16,
        security_id: Option<i32>,
        side: Option<Side>,
        scope: MassScope,
        ord_type: Option<OrdType>,
        tif: Option<TimeInForce>,
    },
    /// Ask the exchange for the status of order `order_id` (OrderStatusRequest 533); the
    /// answer is a `Status` event (`restatement` = OrdStatus) echoing this request id.
    OrderStatus { session: u16, order_id: u64 },
}

/// A validated request read from a strategy's request ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Strategy-chosen, non-zero; echoed in the events answering the request.
    pub request_id: u64,
    /// When the client enqueued it (CLOCK_REALTIME ns, as written by the client).
    pub enqueue_ns: u64,
    pub body: RequestBody,
}

impl Request {
    /// The session index the request is for.
    pub fn session(&self) -> u16 {
        match self.body {
            RequestBody::NewOrder(o) | RequestBody::Replace { order: o, .. } => o.session,
            RequestBody::Cancel { session, .. }
            | RequestBody::MassCancel { session, .. }
            | RequestBody::OrderStatus { session, .. } => session,
        }
    }

    /// The request's kind.
    pub fn kind(&self) -> RequestKind {
        match self.body {
            RequestBody::NewOrder(_) => RequestKind::NewOrder,
            RequestBody::Cancel { .. } => RequestKind::Cancel,
            RequestBody::Replace { .. } => RequestKind::Replace,
            RequestBody::MassCancel { .. } => RequestKind::MassCancel,
            RequestBody::OrderStatus { .. } => RequestKind::OrderStatus,
        }
    }

    /// The record bytes.
    pub fn encode(&self) -> [u8; REQUEST_RECORD_SIZE] {
        use request_offsets as o;
        let mut b = [0u8; REQUEST_RECORD_SIZE];
        put_u8(&mut b, o::KIND, self.kind().code());
        put_u64(&mut b, o::REQUEST_ID, self.request_id);
        put_u64(&mut b, o::ENQUEUE_NS, self.enqueue_ns);
        let order = |b: &mut [u8; REQUEST_RECORD_SIZE], ord: &Order| {
            put_u8(b, o::SIDE, ord.side.code());
            put_u8(b, o::ORD_TYPE, ord.ord_type.code());
            put_u8(b, o::TIF, ord.tif.code());
            put_u16(b, o::SESSION, ord.session);
            put_i32(b, o::SECURITY_ID, ord.security_id);
            put_u32(b, o::QTY, ord.qty);
            put_i64(b, o::PRICE, ord.price.unwrap_or(PRICE_NULL));
            put_i64(b, o::STOP_PX, ord.stop_px.unwrap_or(PRICE_NULL));
            put_u32(b, o::MIN_QTY, ord.min_qty.unwrap_or(0));
            put_u32(b, o::DISPLAY_QTY, ord.display_qty.unwrap_or(0));
            put_u16(b, o::EXPIRE_DATE, ord.expire_date.unwrap_or(0));
        };
        match &self.body {
            RequestBody::NewOrder(ord) => order(&mut b, ord),
            RequestBody::Replace {
                order_id,
                order: ord,
            } => {
                order(&mut b, ord);
                put_u64(&mut b, o::ORDER_ID, *order_id);
            }
            RequestBody::Cancel { session, order_id }
            | RequestBody::OrderStatus { session, order_id } => {
                put_u16(&mut b, o::SESSION, *session);
                put_u64(&mut b, o::ORDER_ID, *order_id);
            }
            RequestBody::MassCancel {
                session,
                security_id,
                side,
                scope,
                ord_type,
                tif,
            } => {
                put_u16(&mut b, o::SESSION, *session);
                put_i32(&mut b, o::SECURITY_ID, security_id.unwrap_or(0));
                put_u8(&mut b, o::SIDE, side.map_or(0, Side::code));
                put_u8(&mut b, o::MASS_SCOPE, scope.code());
                put_u8(&mut b, o::ORD_TYPE, ord_type.map_or(0, OrdType::code));
                put_u8(&mut b, o::TIF, tif.map_or(0, TimeInForce::code));
                put_u8(&mut b, o::MASS_TIF_FILTER, u8::from(tif.is_some()));
            }
        }
        b
    }

    /// Validates a record: kind, side, order type, time in force, qty > 0, security id > 0,
    /// session index `< sessions`, price present for limit orders and absent for market
    /// orders, non-zero ids, unused fields and reserved bytes zero. Checks that need the
    /// daemon's state (tick size, known instrument, session up, known order) are the router's.
    ///
    /// A valid new order (the hot path) is read by a straight-line check inlined into the
    /// caller, writing the result in place; every other record, and any new order that breaks
    /// a rule, goes through the full decoder, which says what is wrong. The fast path accepts
    /// exactly the records the full decoder accepts as new orders, with the same result.
    #[inline(always)]
    pub fn decode(b: &[u8; REQUEST_RECORD_SIZE], sessions: u16) -> Result<Request, Problem> {
        use request_offsets as o;
        // The checks of `decode_full` for a new order and `order_of`, each leaving for the full
        // decoder on failure; the request is then built once, in place.
        'fast: {
            if get_u8(b, o::KIND) != RequestKind::NewOrder.code() {
                break 'fast;
            }
            let Some(side) = Side::from_code(get_u8(b, o::SIDE)) else {
                break 'fast;
            };
            let Some(ord_type) = OrdType::from_code(get_u8(b, o::ORD_TYPE)) else {
                break 'fast;
            };
            let Some(tif) = TimeInForce::from_code(get_u8(b, o::TIF)) else {
                break 'fast;
            };
            let request_id = get_u64(b, o::REQUEST_ID);
            let session = get_u16(b, o::SESSION);
            let security_id = get_i32(b, o::SECURITY_ID);
            let qty = get_u32(b, o::QTY);
            let price = get_i64(b, o::PRICE);
            let stop_px = get_i64(b, o::STOP_PX);
            let priced = matches!(ord_type, OrdType::Limit | OrdType::StopLimit);
            let stopped = matches!(ord_type, OrdType::Stop | OrdType::StopLimit);
            let price_ok = if priced {
                price != PRICE_NULL
            } else {
                price == PRICE_NULL
            };
            let stop_ok = if stopped {
                stop_px != PRICE_NULL
            } else {
                stop_px == PRICE_NULL || stop_px == 0
            };
            if request_id == 0
                || session >= sessions
                || get_u64(b, o::ORDER_ID) != 0
                || qty == 0
                || security_id <= 0
                || !price_ok
                || !stop_ok
            {
                break 'fast;
            }
            let (min_qty, display_qty) = (get_u32(b, o::MIN_QTY), get_u32(b, o::DISPLAY_QTY));
            let expire_date = get_u16(b, o::EXPIRE_DATE);
            return Ok(Request {
                request_id,
                enqueue_ns: get_u64(b, o::ENQUEUE_NS),
                body: RequestBody::NewOrder(Order {
                    session,
                    security_id,
                    side,
                    qty,
                    price: priced.then_some(price),
                    ord_type,
                    tif,
                    stop_px: stopped.then_some(stop_px),
                    min_qty: (min_qty != 0).then_some(min_qty),
                    display_qty: (display_qty != 0).then_some(display_qty),
                    expire_date: (expire_date != 0).then_some(expire_date),
                }),
            });
        }
        Self::decode_full(b, sessions)
    }

    /// The full decoder (every kind, every error).
    #[inline(never)]
    fn decode_full(b: &[u8; REQUEST_RECORD_SIZE], sessions: u16) -> Result<Request, Problem> {
        use request_offsets as o;
        let kind_code = get_u8(b, o::KIND);
        let kind = RequestKind::from_code(kind_code).ok_or(Problem::UnknownKind(kind_code))?;
        let request_id = get_u64(b, o::REQUEST_ID);
        if request_id == 0 {
            return Err(Problem::ZeroRequestId);
        }
        let session = get_u16(b, o::SESSION);
        if session >= sessions {
            return Err(Problem::SessionOutOfRange { session, sessions });
        }
        let order_id = get_u64(b, o::ORDER_ID);
        let side = get_u8(b, o::SIDE);
        let ord_type = get_u8(b, o::ORD_TYPE);
        let tif = get_u8(b, o::TIF);
        let security_id = get_i32(b, o::SECURITY_ID);
        let qty = get_u32(b, o::QTY);
        let price = get_i64(b, o::PRICE);
        let stop_px = get_i64(b, o::STOP_PX);
        let min_qty = get_u32(b, o::MIN_QTY);
        let display_qty = get_u32(b, o::DISPLAY_QTY);
        let expire_date = get_u16(b, o::EXPIRE_DATE);
        let unused = |checks: &[(&'static str, bool)]| -> Result<(), Problem> {
            match checks.iter().find(|(_, zero)| !zero) {
                Some((field, _)) => Err(Problem::UnusedNotZero { field }),
                None => Ok(()),
            }
        };
        let order = || order_of(b, session);
        let body = match kind {
            RequestKind::NewOrder => {
                unused(&[("order_id", order_id == 0)])?;
                RequestBody::NewOrder(order()?)
            }
            RequestKind::Replace => {
                if order_id == 0 {
                    return Err(Problem::ZeroOrderId);
                }
                RequestBody::Replace {
                    order_id,
                    order: order()?,
                }
            }
            RequestKind::Cancel | RequestKind::OrderStatus => {
                if order_id == 0 {
                    return Err(Problem::ZeroOrderId);
                }
                unused(&[
                    ("side", side == 0),
                    ("ord_type", ord_type == 0),
                    ("tif", tif == 0),
                    ("security_id", security_id == 0),
                    ("qty", qty == 0),
                    ("price", price == 0),
                    ("expire_date", expire_date == 0),
                    ("stop_px", stop_px == 0),
                    ("min_qty", min_qty == 0),
                    ("display_qty", display_qty == 0),
                ])?;
                if kind == RequestKind::OrderStatus {
                    RequestBody::OrderStatus { session, order_id }
                } else {
                    RequestBody::Cancel { session, order_id }
                }
            }
            RequestKind::MassCancel => {
                unused(&[
                    ("order_id", order_id == 0),
                    ("qty", qty == 0),
                    ("price", price == 0),
                    ("stop_px", stop_px == 0),
                    ("min_qty", min_qty == 0),
                    ("display_qty", display_qty == 0),
                ])?;
                let scope_code = get_u8(b, o::MASS_SCOPE);
                let scope =
                    MassScope::from_code(scope_code).ok_or(Problem::BadScope(scope_code))?;
                let ord_type = match ord_type {
                    0 => None,
                    c => Some(OrdType::from_code(c).ok_or(Problem::BadOrdType(c))?),
                };
                let tif = match get_u8(b, o::MASS_TIF_FILTER) {
                    0 if tif == 0 => None,
                    0 => return Err(Problem::UnusedNotZero { field: "tif" }),
                    1 => Some(TimeInForce::from_code(tif).ok_or(Problem::BadTif(tif))?),
                    _ => {
                        return Err(Problem::Reserved {
                            offset: o::MASS_TIF_FILTER,
                        })
                    }
                };
                let side = match side {
                    0 => None,
                    s => Some(Side::from_code(s).ok_or(Problem::BadSide(s))?),
                };
                let security_id = match security_id {
                    0 => None,
                    s if s > 0 => Some(s),
                    s => return Err(Problem::BadSecurityId(s)),
                };
                if scope != MassScope::Default && security_id.is_none() {
                    return Err(Problem::ScopeWithoutInstrument);
                }
                RequestBody::MassCancel {
                    session,
                    security_id,
                    side,
                    scope,
                    ord_type,
                    tif,
                }
            }
        };
        Ok(Request {
            request_id,
            enqueue_ns: get_u64(b, o::ENQUEUE_NS),
            body,
        })
    }
}

/// The order fields of a new order or replace record (see [`Request::decode`]); always inlined
/// (it is on the hot path of every new order; a closure called from two arms was not).
#[inline(always)]
fn order_of(b: &[u8; REQUEST_RECORD_SIZE], session: u16) -> Result<Order, Problem> {
    use request_offsets as o;
    let side = get_u8(b, o::SIDE);
    let ord_type = get_u8(b, o::ORD_TYPE);
    let tif = get_u8(b, o::TIF);
    let security_id = get_i32(b, o::SECURITY_ID);
    let qty = get_u32(b, o::QTY);
    let price = get_i64(b, o::PRICE);
    let stop_px = get_i64(b, o::STOP_PX);
    let min_qty = get_u32(b, o::MIN_QTY);
    let display_qty = get_u32(b, o::DISPLAY_QTY);
    let expire_date = get_u16(b, o::EXPIRE_DATE);
    let side = Side::from_code(side).ok_or(Problem::BadSide(side))?;
    let ord_type = OrdType::from_code(ord_type).ok_or(Problem::BadOrdType(ord_type))?;
    let tif = TimeInForce::from_code(tif).ok_or(Problem::BadTif(tif))?;
    if qty == 0 {
        return Err(Problem::ZeroQty);
    }
    if security_id <= 0 {
        return Err(Problem::BadSecurityId(security_id));
    }
    let priced = matches!(ord_type, OrdType::Limit | OrdType::StopLimit);
    let price = match (priced, price) {
        (true, PRICE_NULL) => return Err(Problem::MissingPrice),
        (true, p) => Some(p),
        (false, PRICE_NULL) => None,
        (false, p) => return Err(Problem::PriceOnMarketOrder(p)),
    };
    let stopped = matches!(ord_type, OrdType::Stop | OrdType::StopLimit);
    let stop_px = match (stopped, stop_px) {
        (true, PRICE_NULL) => return Err(Problem::MissingStopPx),
        (true, p) => Some(p),
        (false, PRICE_NULL | 0) => None,
        (false, p) => return Err(Problem::StopPxOnNonStopOrder(p)),
    };
    Ok(Order {
        session,
        security_id,
        side,
        qty,
        price,
        ord_type,
        tif,
        stop_px,
        min_qty: (min_qty != 0).then_some(min_qty),
        display_qty: (display_qty != 0).then_some(display_qty),
        expire_date: (expire_date != 0).then_some(expire_date),
    })
}

/// What is wrong with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("unknown kind {0}")]
    UnknownKind(u8),
    #[error("reserved byte at offset {offset} is not zero")]
    Reserved { offset: usize },
    #[error("request id is 0")]
    ZeroRequestId,
    #[error("target order id is 0")]
    ZeroOrderId,
    #[error("session index {session} out of range (strategy has {sessions})")]
    SessionOutOfRange { session: u16, sessions: u16 },
    #[error("bad side {0}")]
    BadSide(u8),
    #[error("bad order type {0}")]
    BadOrdType(u8),
    #[error("bad time in force {0}")]
    BadTif(u8),
    #[error("quantity is 0")]
    ZeroQty,
    #[error("bad security id {0}")]
    BadSecurityId(i32),
    #[error("limit order without a price")]
    MissingPrice,
    #[error("stop order without a stop price")]
    MissingStopPx,
    #[error("stop price {0} on an order that is not a stop")]
    StopPxOnNonStopOrder(i64),
    #[error("bad mass cancel scope {0}")]
    BadScope(u8),
    #[error("a mass cancel scope needs an instrument (security id)")]
    ScopeWithoutInstrument,
    #[error("market order with price {0}")]
    PriceOnMarketOrder(i64),
    #[error("field {field} is unused by this kind and must be 0")]
    UnusedNotZero { field: &'static str },
    #[error("bad session state {0}")]
    BadSessionState(u8),
    #[error("bad reject reason {0}")]
    BadReason(u16),
}

impl Problem {
    /// The reject reason reported to the strategy for a request with this problem.
    pub fn reject_reason(&self) -> RejectReason {
        match self {
            Problem::BadSide(_) => RejectReason::InvalidSide,
            Problem::ZeroQty => RejectReason::InvalidQuantity,
            Problem::MissingPrice
            | Problem::PriceOnMarketOrder(_)
            | Problem::MissingStopPx
            | Problem::StopPxOnNonStopOrder(_) => RejectReason::InvalidPrice,
            Problem::ScopeWithoutInstrument => RejectReason::UnknownInstrument,
            Problem::SessionOutOfRange { .. } => RejectReason::UnknownSession,
            Problem::BadSecurityId(_) => RejectReason::UnknownInstrument,
            Problem::BadOrdType(_) => RejectReason::InvalidOrderType,
            Problem::BadTif(_) => RejectReason::InvalidTimeInForce,
            Problem::UnknownKind(_)
            | Problem::Reserved { .. }
            | Problem::ZeroRequestId
            | Problem::ZeroOrderId
            | Problem::UnusedNotZero { .. }
            | Problem::BadSessionState(_)
            | Problem::BadScope(_)
            | Problem::BadReason(_) => RejectReason::Malformed,
        }
    }
}

/// An event for a strategy: one flat record; which fields are meaningful depends on `kind`
/// (unused ones are zero / `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub side: Option<Side>,
    /// Meaningful for [`EventKind::SessionState`].
    pub session_state: LinkStatus,
    pub session: u16,
    /// Reject, cancel reject, and the reason of an unsolicited cancel.
    pub reason: Option<RejectReason>,
    /// CME ExecRestatementReason of an unsolicited cancel or elimination (0: none); the
    /// OrdStatus code for a `Status` event.
    pub restatement: u8,
    /// The request this event answers (0 for unsolicited events).
    pub request_id: u64,
    /// Client order id of the order concerned.
    pub order_id: u64,
    pub security_id: i32,
    pub qty: u32,
    pub price: Option<i64>,
    pub exchange_order_id: u64,
    pub last_px: Option<i64>,
    pub last_qty: u32,
    pub leaves_qty: u32,
    pub cum_qty: u32,
    /// Orders affected by a mass cancel.
    pub count: u32,
    pub exchange_ns: u64,
    pub daemon_ns: u64,
    /// The answered request's `enqueue_ns`, echoed for latency measurement.
    pub request_enqueue_ns: u64,
    pub text: Text,
}

impl Event {
    /// An event of `kind` with every other field zero / `None`.
    pub fn new(kind: EventKind) -> Self {
        Event {
            kind,
            side: None,
            session_state: LinkStatus::Down,
            session: 0,
            reason: None,
            restatement: 0,
            request_id: 0,
            order_id: 0,
            security_id: 0,
            qty: 0,
            price: None,
            exchange_order_id: 0,
            last_px: None,
            last_qty: 0,
            leaves_qty: 0,
            cum_qty: 0,
            count: 0,
            exchange_ns: 0,
            daemon_ns: 0,
            request_enqueue_ns: 0,
            text: Text::default(),
        }
    }

    /// The record as its 16 native-endian words, in slot order (the bytes of [`Event::encode`]).
    /// Built word by word, nothing staged in a byte buffer: this is what the daemon's publish
    /// stores into an event ring slot on the hot path. Every byte is defined (unused fields and
    /// reserved bytes zero).
    #[inline]
    pub fn encode_words(&self) -> [u64; EVENT_WORDS] {
        let head = word_of_parts([
            u16::from_ne_bytes([self.kind.code(), self.side.map_or(0, Side::code)]),
            u16::from_ne_bytes([self.session_state.code(), self.restatement]),
            self.session,
            self.reason.map_or(0, RejectReason::code),
        ]);
        let mut text = [0u64; TEXT_LEN / 8];
        for (w, c) in text.iter_mut().zip(self.text.0.chunks_exact(8)) {
            *w = u64::from_ne_bytes(c.try_into().unwrap_or([0; 8]));
        }
        let [t0, t1, t2, t3] = text;
        [
            head,
            self.request_id,
            self.order_id,
            word_of_pair(self.security_id as u32, self.qty),
            self.price.unwrap_or(PRICE_NULL) as u64,
            self.exchange_order_id,
            self.last_px.unwrap_or(PRICE_NULL) as u64,
            word_of_pair(self.last_qty, self.leaves_qty),
            word_of_pair(self.cum_qty, self.count),
            self.exchange_ns,
            self.daemon_ns,
            self.request_enqueue_ns,
            t0,
            t1,
            t2,
            t3,
        ]
    }

    /// The record bytes.
    pub fn encode(&self) -> [u8; EVENT_RECORD_SIZE] {
        use event_offsets as o;
        let mut b = [0u8; EVENT_RECORD_SIZE];
        put_u8(&mut b, o::KIND, self.kind.code());
        put_u8(&mut b, o::SIDE, self.side.map_or(0, Side::code));
        put_u8(&mut b, o::SESSION_STATE, self.session_state.code());
        put_u8(&mut b, o::RESTATEMENT, self.restatement);
        put_u16(&mut b, o::SESSION, self.session);
        put_u16(&mut b, o::REASON, self.reason.map_or(0, RejectReason::code));
        put_u64(&mut b, o::REQUEST_ID, self.request_id);
        put_u64(&mut b, o::ORDER_ID, self.order_id);
        put_i32(&mut b, o::SECURITY_ID, self.security_id);
        put_u32(&mut b, o::QTY, self.qty);
        put_i64(&mut b, o::PRICE, self.price.unwrap_or(PRICE_NULL));
        put_u64(&mut b, o::EXCHANGE_ORDER_ID, self.exchange_order_id);
        put_i64(&mut b, o::LAST_PX, self.last_px.unwrap_or(PRICE_NULL));
        put_u32(&mut b, o::LAST_QTY, self.last_qty);
        put_u32(&mut b, o::LEAVES_QTY, self.leaves_qty);
        put_u32(&mut b, o::CUM_QTY, self.cum_qty);
        put_u32(&mut b, o::COUNT, self.count);
        put_u64(&mut b, o::EXCHANGE_NS, self.exchange_ns);
        put_u64(&mut b, o::DAEMON_NS, self.daemon_ns);
        put_u64(&mut b, o::REQUEST_ENQUEUE_NS, self.request_enqueue_ns);
        if let Some(t) = b.get_mut(o::TEXT..o::TEXT + TEXT_LEN) {
            t.copy_from_slice(&self.text.0);
        }
        b
    }

    /// Decodes an event record (kind, side, session state and reason codes must be known).
    pub fn decode(b: &[u8; EVENT_RECORD_SIZE]) -> Result<Event, Problem> {
        use event_offsets as o;
        let kind_code = get_u8(b, o::KIND);
        let kind = EventKind::from_code(kind_code).ok_or(Problem::UnknownKind(kind_code))?;
        let side = match get_u8(b, o::SIDE) {
            0 => None,
            s => Some(Side::from_code(s).ok_or(Problem::BadSide(s))?),
        };
        let st = get_u8(b, o::SESSION_STATE);
        let session_state = LinkStatus::from_code(st).ok_or(Problem::BadSessionState(st))?;
        let reason = match get_u16(b, o::REASON) {
            0 => None,
            r => Some(RejectReason::from_code(r).ok_or(Problem::BadReason(r))?),
        };
        let price = |off| Some(get_i64(b, off)).filter(|&p| p != PRICE_NULL);
        let mut text = Text::default();
        if let Some(t) = b.get(o::TEXT..o::TEXT + TEXT_LEN) {
            text.0.copy_from_slice(t);
        }
        Ok(Event {
            kind,
            side,
            session_state,
            session: get_u16(b, o::SESSION),
            reason,
            restatement: get_u8(b, o::RESTATEMENT),
            request_id: get_u64(b, o::REQUEST_ID),
            order_id: get_u64(b, o::ORDER_ID),
            security_id: get_i32(b, o::SECURITY_ID),
            qty: get_u32(b, o::QTY),
            price: price(o::PRICE),
            exchange_order_id: get_u64(b, o::EXCHANGE_ORDER_ID),
            last_px: price(o::LAST_PX),
            last_qty: get_u32(b, o::LAST_QTY),
            leaves_qty: get_u32(b, o::LEAVES_QTY),
            cum_qty: get_u32(b, o::CUM_QTY),
            count: get_u32(b, o::COUNT),
            exchange_ns: get_u64(b, o::EXCHANGE_NS),
            daemon_ns: get_u64(b, o::DAEMON_NS),
            request_enqueue_ns: get_u64(b, o::REQUEST_ENQUEUE_NS),
            text,
        })
    }
}

// Fixed-offset field access. Offsets are the constants above, all in range for the record
// arrays; `get` keeps an out-of-range offset (a bug) from panicking: it reads as 0 / is not
// written.
fn field<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = b.get(off..off + N) {
        out.copy_from_slice(s);
    }
    out
}
fn put<const N: usize>(b: &mut [u8], off: usize, v: [u8; N]) {
    if let Some(s) = b.get_mut(off..off + N) {
        s.copy_from_slice(&v);
    }
}
fn get_u8(b: &[u8], off: usize) -> u8 {
    u8::from_ne_bytes(field(b, off))
}
fn get_u16(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes(field(b, off))
}
fn get_u32(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(field(b, off))
}
fn get_i32(b: &[u8], off: usize) -> i32 {
    i32::from_ne_bytes(field(b, off))
}
fn get_u64(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(field(b, off))
}
fn get_i64(b: &[u8], off: usize) -> i64 {
    i64::from_ne_bytes(field(b, off))
}
/// The native-endian word whose bytes are `lo`'s (first) then `hi`'s.
#[inline(always)]
fn word_of_pair(lo: u32, hi: u32) -> u64 {
    if cfg!(target_endian = "little") {
        u64::from(lo) | (u64::from(hi) << 32)
    } else {
        (u64::from(lo) << 32) | u64::from(hi)
    }
}

/// The native-endian `u32` whose bytes are `lo`'s (first) then `hi`'s.
#[inline(always)]
fn u32_of_pair(lo: u16, hi: u16) -> u32 {
    if cfg!(target_endian = "little") {
        u32::from(lo) | (u32::from(hi) << 16)
    } else {
        (u32::from(lo) << 16) | u32::from(hi)
    }
}

/// The native-endian word whose bytes are those of four `u16`s, in order.
#[inline(always)]
fn word_of_parts([a, b, c, d]: [u16; 4]) -> u64 {
    word_of_pair(u32_of_pair(a, b), u32_of_pair(c, d))
}

fn put_u8(b: &mut [u8], off: usize, v: u8) {
    put(b, off, v.to_ne_bytes())
}
fn put_u16(b: &mut [u8], off: usize, v: u16) {
    put(b, off, v.to_ne_bytes())
}
fn put_u32(b: &mut [u8], off: usize, v: u32) {
    put(b, off, v.to_ne_bytes())
}
fn put_i32(b: &mut [u8], off: usize, v: i32) {
    put(b, off, v.to_ne_bytes())
}
fn put_u64(b: &mut [u8], off: usize, v: u64) {
    put(b, off, v.to_ne_bytes())
}
fn put_i64(b: &mut [u8], off: usize, v: i64) {
    put(b, off, v.to_ne_bytes())
}

// Each field fits its record and the layouts are contiguous as documented.
const _: () = {
    use request_offsets as r;
    assert!(r::EXPIRE_DATE == r::SESSION + 2 && r::REQUEST_ID == 8 && r::ENQUEUE_NS + 8 == 48);
    assert!(r::MASS_TIF_FILTER == r::MASS_SCOPE + 1 && r::MASS_TIF_FILTER + 1 == r::REQUEST_ID);
    assert!(r::STOP_PX == 48 && r::MIN_QTY == 56 && r::DISPLAY_QTY + 4 == REQUEST_RECORD_SIZE);
    use event_offsets as e;
    assert!(e::REASON + 2 == e::REQUEST_ID && e::COUNT + 4 == e::EXCHANGE_NS);
    assert!(e::TEXT + TEXT_LEN == EVENT_RECORD_SIZE);
    // The word order of `Event::encode_words`.
    assert!(e::KIND == 0 && e::SIDE == 1 && e::SESSION_STATE == 2 && e::RESTATEMENT == 3);
    assert!(e::SESSION == 4 && e::REASON == 6 && e::REQUEST_ID == 8 && e::ORDER_ID == 16);
    assert!(e::SECURITY_ID == 24 && e::QTY == 28 && e::PRICE == 32);
    assert!(e::EXCHANGE_ORDER_ID == 40 && e::LAST_PX == 48 && e::LAST_QTY == 56);
    assert!(e::LEAVES_QTY == 60 && e::CUM_QTY == 64 && e::COUNT == 68 && e::EXCHANGE_NS == 72);
    assert!(e::DAEMON_NS == 80 && e::REQUEST_ENQUEUE_NS == 88 && e::TEXT == 96);
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The inline new-order path of [`Request::decode`] must give exactly what the full
    /// decoder gives, for valid new orders and for every way one can be broken (each field
    /// set to boundary values and random bytes, one or two fields at a time).
    #[test]
    fn decode_fast_path_agrees_with_the_full_decoder() {
        use request_offsets as o;
        let base = Request {
            request_id: 7,
            enqueue_ns: 99,
            body: RequestBody::NewOrder(Order::limit(1, 42, Side::Sell, 3, 4_500_000_000_000)),
        }
        .encode();
        assert_eq!(Request::decode(&base, 2), Request::decode_full(&base, 2));
        assert!(Request::decode(&base, 2).is_ok());
        // (offset, width) of every field, and values worth trying in each.
        let fields: [(usize, usize); 15] = [
            (o::KIND, 1),
            (o::SIDE, 1),
            (o::ORD_TYPE, 1),
            (o::TIF, 1),
            (o::SESSION, 2),
            (o::EXPIRE_DATE, 2),
            (o::REQUEST_ID, 8),
            (o::ORDER_ID, 8),
            (o::SECURITY_ID, 4),
            (o::QTY, 4),
            (o::PRICE, 8),
            (o::ENQUEUE_NS, 8),
            (o::STOP_PX, 8),
            (o::MIN_QTY, 4),
            (o::DISPLAY_QTY, 4),
        ];
        let values: [i64; 12] = [
            0,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            -1,
            PRICE_NULL,
            i64::MIN,
            4_500_000_000_000,
        ];
        let set = |b: &mut [u8; REQUEST_RECORD_SIZE], (off, w): (usize, usize), v: i64| {
            b[off..off + w].copy_from_slice(&v.to_ne_bytes()[..w]);
        };
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut checked = 0;
        for &f in &fields {
            for &v in &values {
                for &g in &fields {
                    for &u in &values {
                        let mut b = base;
                        set(&mut b, f, v);
                        set(&mut b, g, u);
                        for sessions in [1, 2] {
                            assert_eq!(
                                Request::decode(&b, sessions),
                                Request::decode_full(&b, sessions),
                                "{b:?}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
            for _ in 0..200 {
                let mut b = base;
                set(&mut b, f, next() as i64);
                assert_eq!(Request::decode(&b, 2), Request::decode_full(&b, 2), "{b:?}");
            }
        }
        assert!(checked > 10_000);
    }

    #[test]
    fn text_is_cut_at_a_char_boundary_and_appends() {
        let t = Text::new(&"é".repeat(20));
        assert_eq!(t.as_str(), Some("é".repeat(16).as_str()));
        let t = Text::new(&format!("a{}", "é".repeat(20)));
        assert_eq!(t.as_str().map(str::len), Some(31), "no half character");
        let mut t = Text::new("qty ");
        fmt::Write::write_fmt(&mut t, format_args!("{}", 42)).unwrap();
        assert_eq!(t.as_str(), Some("qty 42"));
        assert_eq!(&t.as_bytes()[6..], &[0u8; 26]);
        let mut raw = Text::default();
        raw.0[0] = 0xff;
        assert_eq!(raw.as_str(), None);
    }

    #[test]
    fn event_decode_rejects_unknown_codes() {
        let good = Event::new(EventKind::Fill).encode();
        let bad = |off: usize, v: &[u8]| {
            let mut b = good;
            b[off..off + v.len()].copy_from_slice(v);
            Event::decode(&b)
        };
        use event_offsets as o;
        assert_eq!(bad(o::KIND, &[0]), Err(Problem::UnknownKind(0)));
        assert_eq!(bad(o::SIDE, &[3]), Err(Problem::BadSide(3)));
        assert_eq!(
            bad(o::SESSION_STATE, &[9]),
            Err(Problem::BadSessionState(9))
        );
        assert_eq!(
            bad(o::REASON, &999u16.to_ne_bytes()),
            Err(Problem::BadReason(999))
        );
        let mut restated = Event::new(EventKind::Cancelled);
        restated.restatement = 100;
        assert_eq!(Event::decode(&restated.encode()), Ok(restated));
        assert_eq!(Event::decode(&good), Ok(Event::new(EventKind::Fill)));
    }

    #[test]
    fn event_words_are_the_record_bytes_in_slot_order() {
        let full = Event {
            kind: EventKind::Fill,
            side: Some(Side::Sell),
            session_state: LinkStatus::Up,
            session: 0x0102,
            reason: Some(RejectReason::Exchange),
            restatement: 103,
            request_id: 0x1112_1314_1516_1718,
            order_id: 0x2122_2324_2526_2728,
            security_id: -42,
            qty: 0x3132_3334,
            price: Some(-4_500_000_000_000),
            exchange_order_id: 0x4142_4344_4546_4748,
            last_px: Some(7),
            last_qty: 0x5152_5354,
            leaves_qty: 0x6162_6364,
            cum_qty: 0x7172_7374,
            count: 0x0A0B_0C0D,
            exchange_ns: 1_700_000_000_000_000_001,
            daemon_ns: 1_700_000_000_000_000_002,
            request_enqueue_ns: 1_700_000_000_000_000_003,
            text: Text::new("a text that fills all 32 bytes.."),
        };
        let mut unset = Event::new(EventKind::Ack);
        unset.text = Text::new("ok");
        for e in [full, unset, Event::new(EventKind::Cancelled)] {
            let words: [u64; EVENT_WORDS] = e.encode_words();
            let mut bytes = [0u8; EVENT_RECORD_SIZE];
            for (chunk, w) in bytes.chunks_exact_mut(8).zip(words) {
                chunk.copy_from_slice(&w.to_ne_bytes());
            }
            assert_eq!(bytes, e.encode(), "{:?}", e.kind);
            assert_eq!(Event::decode(&bytes), Ok(e));
        }
    }

    #[test]
    fn every_code_round_trips_and_unknown_codes_are_none() {
        for k in [1, 2, 3, 4, 5] {
            assert_eq!(RequestKind::from_code(k).map(RequestKind::code), Some(k));
        }
        assert_eq!(RequestKind::from_code(6), None);
        for k in 1..=18 {
            assert_eq!(EventKind::from_code(k).map(EventKind::code), Some(k));
        }
        assert_eq!(EventKind::from_code(19), None);
        for r in 1..=18 {
            assert_eq!(RejectReason::from_code(r).map(RejectReason::code), Some(r));
        }
        assert_eq!(RejectReason::from_code(0), None);
        assert_eq!(TimeInForce::from_code(2), None);
    }

    #[test]
    fn market_orders_carry_the_null_price() {
        let req = Request {
            request_id: 3,
            enqueue_ns: 0,
            body: RequestBody::NewOrder(Order {
                session: 0,
                security_id: 1,
                side: Side::Sell,
                qty: 1,
                price: None,
                ord_type: OrdType::Market,
                tif: TimeInForce::Fok,
                stop_px: None,
                min_qty: None,
                display_qty: None,
                expire_date: None,
            }),
        };
        let b = req.encode();
        assert_eq!(get_i64(&b, request_offsets::PRICE), PRICE_NULL);
        assert_eq!(Request::decode(&b, 1), Ok(req));
        assert_eq!(
            Request::decode(&b, 0),
            Err(Problem::SessionOutOfRange {
                session: 0,
                sessions: 0
            })
        );
    }

    #[test]
    fn order_qualifiers_and_mass_cancel_filters_round_trip() {
        let stop = Request {
            request_id: 4,
            enqueue_ns: 1,
            body: RequestBody::NewOrder(Order {
                ord_type: OrdType::StopLimit,
                tif: TimeInForce::Gtd,
                stop_px: Some(-5),
                min_qty: Some(2),
                display_qty: Some(3),
                expire_date: Some(20_500),
                ..Order::limit(0, 7, Side::Buy, 5, 100)
            }),
        };
        assert_eq!(Request::decode(&stop.encode(), 1), Ok(stop));
        let mut b = stop.encode();
        put_i64(&mut b, request_offsets::STOP_PX, PRICE_NULL);
        assert_eq!(Request::decode(&b, 1), Err(Problem::MissingStopPx));
        let limit = Request {
            request_id: 5,
            enqueue_ns: 1,
            body: RequestBody::NewOrder(Order::limit(0, 7, Side::Buy, 5, 100)),
        };
        let mut b = limit.encode();
        put_i64(&mut b, request_offsets::STOP_PX, 0);
        assert_eq!(
            Request::decode(&b, 1),
            Ok(limit),
            "zero reads as no stop price"
        );
        put_i64(&mut b, request_offsets::STOP_PX, 9);
        assert_eq!(
            Request::decode(&b, 1),
            Err(Problem::StopPxOnNonStopOrder(9))
        );
        for tif in [None, Some(TimeInForce::Day), Some(TimeInForce::Gtd)] {
            let mass = Request {
                request_id: 6,
                enqueue_ns: 1,
                body: RequestBody::MassCancel {
                    session: 0,
                    security_id: Some(7),
                    side: Some(Side::Sell),
                    scope: MassScope::InstrumentGroup,
                    ord_type: Some(OrdType::StopLimit),
                    tif,
                },
            };
            assert_eq!(Request::decode(&mass.encode(), 1), Ok(mass));
        }
        let status = Request {
            request_id: 8,
            enqueue_ns: 1,
            body: RequestBody::OrderStatus {
                session: 0,
                order_id: 5,
            },
        };
        assert_eq!(Request::decode(&status.encode(), 1), Ok(status));
        let mut b = status.encode();
        put_u64(&mut b, request_offsets::ORDER_ID, 0);
        assert_eq!(Request::decode(&b, 1), Err(Problem::ZeroOrderId));
        let mut b = Request {
            request_id: 6,
            enqueue_ns: 1,
            body: RequestBody::MassCancel {
                session: 0,
                security_id: None,
                side: None,
                scope: MassScope::Default,
                ord_type: None,
                tif: None,
            },
        }
        .encode();
        put_u8(&mut b, request_offsets::MASS_SCOPE, 9);
        assert_eq!(Request::decode(&b, 1), Err(Problem::ScopeWithoutInstrument));
        put_u8(&mut b, request_offsets::MASS_SCOPE, 3);
        assert_eq!(Request::decode(&b, 1), Err(Problem::BadScope(3)));
    }
}
