//! The simulator's matching engine: one limit order book per SecurityID with price-time
//! priority, producing the execution reports CME sends.
//!
//! - NewOrderSingle (514) → ExecutionReportNew (522), then ExecutionReportTradeOutright (525)
//!   to both sides of every cross (the resting order's owner may be another session), and an
//!   ExecutionReportCancel (534) for the unfilled rest of a FillAndKill / FillOrKill order.
//! - OrderCancelReplaceRequest (515) → ExecutionReportModify (531) (priority kept only for a
//!   quantity decrease at the same price) or OrderCancelReplaceReject (536).
//! - OrderCancelRequest (516) → ExecutionReportCancel (534) or OrderCancelReject (535).
//! - OrderMassActionRequest (529) → OrderMassActionReport (562), then one cancel per order.
//! - Input the engine cannot accept (unknown instrument, off-tick price, quantity 0, bad side,
//!   unsupported order type) → ExecutionReportReject (523) with a reason code and text.
//!
//! [`EngineMode::Benchmark`] answers every order with an ack (and optionally a full fill at its
//! price) without a book and without any per-order heap allocation.
//!
//! The engine returns [`Report`]s (plain `Copy` values) with the session they go to; the gateway
//! assigns SeqNum/UUID when it journals and sends them ([`Report::encode`]).

use super::{FixedText, SessionKey};
use crate::ilink3::{
    EncodeError, ExecutionReportCancelWriter, ExecutionReportModifyWriter,
    ExecutionReportNewWriter, ExecutionReportRejectWriter, ExecutionReportTradeOutrightWriter,
    Message, NewOrderSingle, OrderCancelRejectWriter, OrderCancelReplaceRejectWriter,
    OrderCancelReplaceRequest, OrderCancelRequest, OrderMassActionReportWriter,
    OrderMassActionRequest,
};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// `OrdRejReason` / `CxlRejReason` values the simulator uses (FIX semantics; CME reports its
/// own numbers, the text says what was wrong).
pub mod reason {
    /// Unknown symbol (SecurityID not listed).
    pub const UNKNOWN_INSTRUMENT: u16 = 1;
    /// Unknown order (cancel/modify of an order that is not live for this session).
    pub const UNKNOWN_ORDER: u16 = 1;
    /// Order quantity invalid (zero, or not above the filled quantity on a modify).
    pub const INVALID_QUANTITY: u16 = 13;
    /// Unsupported order characteristic (side, order type, time in force).
    pub const UNSUPPORTED: u16 = 11;
    /// Price not on the instrument's tick (or missing on a limit order).
    pub const INVALID_PRICE: u16 = 2;
    /// Other.
    pub const OTHER: u16 = 99;
}

/// One tradable instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instrument {
    pub security_id: i32,
    /// Minimum price increment as a PRICE9 mantissa (e.g. 0.25 = 250_000_000).
    pub tick: i64,
}

/// How orders are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineMode {
    /// Real books, price-time priority.
    Book,
    /// No book: every order is acknowledged (and fully filled at its price when `fill`).
    Benchmark { fill: bool },
}

/// What a report says, beyond the fields every report shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// ExecutionReportNew (522).
    New,
    /// ExecutionReportReject (523).
    Reject { reason: u16, text: &'static str },
    /// ExecutionReportTradeOutright (525): one side of one match.
    Trade {
        last_px: i64,
        last_qty: u32,
        /// Exchange trade id shared by both sides (SecExecID).
        sec_exec_id: u64,
        /// This side was the incoming order.
        aggressor: bool,
    },
    /// ExecutionReportModify (531).
    Modify,
    /// ExecutionReportCancel (534); `text` goes to CancelText (8 characters).
    Cancel { text: &'static str },
    /// OrderCancelReject (535).
    CancelReject { reason: u16, text: &'static str },
    /// OrderCancelReplaceReject (536).
    ReplaceReject { reason: u16, text: &'static str },
    /// OrderMassActionReport (562).
    MassAction {
        /// MassActionResponse: 1 accepted, 0 rejected.
        accepted: bool,
        reject_reason: Option<u8>,
        scope: u8,
        total_affected: u32,
        mass_action_report_id: u64,
        security_filter: Option<i32>,
        side_filter: Option<u8>,
    },
}

/// An execution report for one session, without SeqNum/UUID (the gateway adds them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub kind: ReportKind,
    pub cl_ord_id: FixedText<20>,
    pub sender_id: FixedText<20>,
    pub location: FixedText<5>,
    pub party_details_list_req_id: u64,
    /// Exchange-assigned OrderID (0 when the order never existed).
    pub order_id: u64,
    pub order_request_id: u64,
    pub security_id: i32,
    /// Side (1 buy, 2 sell; as received on rejects).
    pub side: u8,
    /// Order price (PRICE9 mantissa; `None` for rejects without one).
    pub price: Option<i64>,
    pub order_qty: u32,
    pub cum_qty: u32,
    pub leaves_qty: u32,
    pub ord_type: u8,
    pub time_in_force: Option<u8>,
    /// ExecID (unique per report).
    pub exec_id: u64,
    pub transact_time: u64,
}

/// SBE writers take a text; ExecID is a decimal number here.
fn exec_id_text(buf: &mut itoa::Buffer, id: u64) -> &str {
    buf.format(id)
}

impl Report {
    /// Template id of the message this report becomes.
    pub fn template_id(&self) -> u16 {
        match self.kind {
            ReportKind::New => 522,
            ReportKind::Reject { .. } => 523,
            ReportKind::Trade { .. } => 525,
            ReportKind::Modify => 531,
            ReportKind::Cancel { .. } => 534,
            ReportKind::CancelReject { .. } => 535,
            ReportKind::ReplaceReject { .. } => 536,
            ReportKind::MassAction { .. } => 562,
        }
    }

    /// Encodes the report as a frame with the receiving session's `seq`/`uuid`; returns its
    /// length. No heap allocation.
    pub fn encode(
        &self,
        seq: u32,
        uuid: u64,
        sending_time: u64,
        buf: &mut [u8],
    ) -> Result<usize, EncodeError> {
        let mut ib = itoa::Buffer::new();
        let exec_id = exec_id_text(&mut ib, self.exec_id);
        let tif = self.time_in_force;
        let ord_type = (self.ord_type != 0).then_some(self.ord_type);
        let px = self.price.unwrap_or(0);
        match self.kind {
            ReportKind::New => {
                let mut w = ExecutionReportNewWriter::new(buf)?;
                w.set_exec_id(exec_id)?
                    .set_sender_id(self.sender_id.as_bytes())?
                    .set_cl_ord_id(self.cl_ord_id.as_bytes())?
                    .set_location(self.location.as_bytes())?;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(self.party_details_list_req_id)
                    .set_order_id(self.order_id)
                    .set_price(px)
                    .set_transact_time(self.transact_time)
                    .set_sending_time_epoch(sending_time)
                    .set_order_request_id(self.order_request_id)
                    .set_security_id(self.security_id)
                    .set_order_qty(self.order_qty)
                    .set_ord_type(ord_type)
                    .set_side(self.side)
                    .set_time_in_force(tif);
                Ok(w.finish())
            }
            ReportKind::Reject { reason, text } => {
                let mut w = ExecutionReportRejectWriter::new(buf)?;
                w.set_text(text)?
                    .set_exec_id(exec_id)?
                    .set_sender_id(self.sender_id.as_bytes())?
                    .set_cl_ord_id(self.cl_ord_id.as_bytes())?
                    .set_location(self.location.as_bytes())?;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(self.party_details_list_req_id)
                    .set_order_id(self.order_id)
                    .set_price(self.price)
                    .set_transact_time(self.transact_time)
                    .set_sending_time_epoch(sending_time)
                    .set_order_request_id(self.order_request_id)
                    .set_security_id(self.security_id)
                    .set_order_qty(self.order_qty)
                    .set_ord_rej_reason(reason)
                    .set_ord_type(ord_type)
                    .set_side(self.side)
                    .set_time_in_force(tif);
                Ok(w.finish())
            }
            ReportKind::Trade {
                last_px,
                last_qty,
                sec_exec_id,
                aggressor,
            } => {
                let mut w = ExecutionReportTradeOutrightWriter::new(buf)?;
                w.set_exec_id(exec_id)?
                    .set_sender_id(self.sender_id.as_bytes())?
                    .set_cl_ord_id(self.cl_ord_id.as_bytes())?
                    .set_location(self.location.as_bytes())?;
                let filled = self.leaves_qty == 0;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(self.party_details_list_req_id)
                    .set_last_px(last_px)
                    .set_order_id(self.order_id)
                    .set_price(px)
                    .set_transact_time(self.transact_time)
                    .set_sending_time_epoch(sending_time)
                    .set_order_request_id(self.order_request_id)
                    .set_sec_exec_id(sec_exec_id)
                    .set_security_id(self.security_id)
                    .set_order_qty(self.order_qty)
                    .set_last_qty(last_qty)
                    .set_cum_qty(self.cum_qty)
                    .set_md_trade_entry_id(u32::try_from(sec_exec_id % 4_000_000_000).unwrap_or(0))
                    .set_side_trade_id(u32::from(!aggressor) + 1)
                    .set_leaves_qty(self.leaves_qty)
                    .set_ord_status(if filled { 2 } else { 1 })
                    .set_ord_type(ord_type)
                    .set_side(self.side)
                    .set_time_in_force(tif)
                    .set_aggressor_indicator(u8::from(aggressor));
                Ok(w.finish())
            }
            ReportKind::Modify => {
                let mut w = ExecutionReportModifyWriter::new(buf)?;
                w.set_exec_id(exec_id)?
                    .set_sender_id(self.sender_id.as_bytes())?
                    .set_cl_ord_id(self.cl_ord_id.as_bytes())?
                    .set_location(self.location.as_bytes())?;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(self.party_details_list_req_id)
                    .set_order_id(self.order_id)
                    .set_price(px)
                    .set_transact_time(self.transact_time)
                    .set_sending_time_epoch(sending_time)
                    .set_order_request_id(self.order_request_id)
                    .set_security_id(self.security_id)
                    .set_order_qty(self.order_qty)
                    .set_cum_qty(self.cum_qty)
                    .set_leaves_qty(self.leaves_qty)
                    .set_ord_type(ord_type)
                    .set_side(self.side)
                    .set_time_in_force(tif);
                Ok(w.finish())
            }
            ReportKind::Cancel { text } => {
                let mut w = ExecutionReportCancelWriter::new(buf)?;
                w.set_exec_id(exec_id)?
                    .set_sender_id(self.sender_id.as_bytes())?
                    .set_cl_ord_id(self.cl_ord_id.as_bytes())?
                    .set_location(self.location.as_bytes())?
                    .set_cancel_text(text)?;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(self.party_details_list_req_id)
                    .set_order_id(self.order_id)
                    .set_price(px)
                    .set_transact_time(self.transact_time)
                    .set_sending_time_epoch(sending_time)
                    .set_order_request_id(self.order_request_id)
                    .set_security_id(self.security_id)
                    .set_order_qty(self.order_qty)
                    .set_cum_qty(self.cum_qty)
                    .set_ord_type(ord_type)
                    .set_side(self.side)
                    .set_time_in_force(tif);
                Ok(w.finish())
            }
            ReportKind::CancelReject { reason, text } => {
                let mut w = OrderCancelRejectWriter::new(buf)?;
                w.set_text(text)?
                    .set_exec_id(exec_id)?
                    .set_sender_id(self.sender_id.as_bytes())?
                    .set_cl_ord_id(self.cl_ord_id.as_bytes())?
                    .set_location(self.location.as_bytes())?;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(self.party_details_list_req_id)
                    .set_order_id(self.order_id)
                    .set_transact_time(self.transact_time)
                    .set_sending_time_epoch(sending_time)
                    .set_order_request_id(self.order_request_id)
                    .set_cxl_rej_reason(reason);
                Ok(w.finish())
            }
            ReportKind::ReplaceReject { reason, text } => {
                let mut w = OrderCancelReplaceRejectWriter::new(buf)?;
                w.set_text(text)?
                    .set_exec_id(exec_id)?
                    .set_sender_id(self.sender_id.as_bytes())?
                    .set_cl_ord_id(self.cl_ord_id.as_bytes())?
                    .set_location(self.location.as_bytes())?;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(self.party_details_list_req_id)
                    .set_order_id(self.order_id)
                    .set_transact_time(self.transact_time)
                    .set_sending_time_epoch(sending_time)
                    .set_order_request_id(self.order_request_id)
                    .set_cxl_rej_reason(reason);
                Ok(w.finish())
            }
            ReportKind::MassAction {
                accepted,
                reject_reason,
                scope,
                total_affected,
                mass_action_report_id,
                security_filter,
                side_filter,
            } => {
                let mut w = OrderMassActionReportWriter::new(buf)?;
                w.set_sender_id(self.sender_id.as_bytes())?
                    .set_location(self.location.as_bytes())?;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(self.party_details_list_req_id)
                    .set_transact_time(self.transact_time)
                    .set_sending_time_epoch(sending_time)
                    .set_order_request_id(self.order_request_id)
                    .set_mass_action_report_id(mass_action_report_id)
                    .set_security_id(security_filter)
                    .set_mass_action_response(u8::from(accepted))
                    .set_mass_action_scope(scope)
                    .set_total_affected_orders(total_affected)
                    .set_last_fragment(1)
                    .set_mass_action_reject_reason(reject_reason)
                    .set_side(side_filter);
                Ok(w.finish())
            }
        }
    }
}

/// A live order in a book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestingOrder {
    pub owner: SessionKey,
    pub order_id: u64,
    pub cl_ord_id: FixedText<20>,
    pub sender_id: FixedText<20>,
    pub location: FixedText<5>,
    pub party_details_list_req_id: u64,
    pub order_request_id: u64,
    pub security_id: i32,
    pub side: u8,
    pub price: i64,
    pub order_qty: u32,
    pub cum_qty: u32,
    pub ord_type: u8,
    pub time_in_force: Option<u8>,
}

impl RestingOrder {
    pub fn leaves_qty(&self) -> u32 {
        self.order_qty.saturating_sub(self.cum_qty)
    }
}

const BUY: u8 = 1;
const SELL: u8 = 2;
const LIMIT: u8 = b'2';
const TIF_FAK: u8 = 3;
const TIF_FOK: u8 = 4;

/// One instrument's book: price levels of order ids in time order.
#[derive(Debug, Default)]
struct Book {
    tick: i64,
    bids: BTreeMap<i64, VecDeque<u64>>,
    asks: BTreeMap<i64, VecDeque<u64>>,
}

impl Book {
    fn side(&mut self, side: u8) -> &mut BTreeMap<i64, VecDeque<u64>> {
        if side == BUY {
            &mut self.bids
        } else {
            &mut self.asks
        }
    }

    fn remove(&mut self, side: u8, price: i64, order_id: u64) {
        let levels = self.side(side);
        if let Some(level) = levels.get_mut(&price) {
            level.retain(|&id| id != order_id);
            if level.is_empty() {
                levels.remove(&price);
            }
        }
    }

    /// Best opposite price that an order on `side` at `limit` can trade with.
    fn best_cross(&self, side: u8, limit: i64) -> Option<i64> {
        if side == BUY {
            self.asks.keys().next().copied().filter(|&p| p <= limit)
        } else {
            self.bids
                .keys()
                .next_back()
                .copied()
                .filter(|&p| p >= limit)
        }
    }
}

/// A view of one side of a book level, for tests and displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub price: i64,
    pub qty: u32,
    /// Order ids in priority order.
    pub orders: Vec<u64>,
}

/// The order books plus the id counters.
#[derive(Debug)]
pub struct MatchingEngine {
    mode: EngineMode,
    books: HashMap<i32, Book>,
    orders: HashMap<u64, RestingOrder>,
    next_order_id: u64,
    next_exec_id: u64,
    next_trade_id: u64,
    scratch: Vec<u64>,
}

/// Shared fields of a report from a new-order request (rejects and acks).
struct Req {
    cl_ord_id: FixedText<20>,
    sender_id: FixedText<20>,
    location: FixedText<5>,
    party: u64,
    order_request_id: u64,
    security_id: i32,
    side: u8,
    price: Option<i64>,
    qty: u32,
    ord_type: u8,
    tif: Option<u8>,
}

impl MatchingEngine {
    pub fn new(mode: EngineMode, instruments: &[Instrument]) -> Self {
        let books = instruments
            .iter()
            .map(|i| {
                (
                    i.security_id,
                    Book {
                        tick: i.tick.max(1),
                        ..Book::default()
                    },
                )
            })
            .collect();
        MatchingEngine {
            mode,
            books,
            orders: HashMap::new(),
            next_order_id: 1,
            next_exec_id: 1,
            next_trade_id: 1,
            scratch: Vec::with_capacity(256),
        }
    }

    /// Starts OrderIDs, ExecIDs and trade ids at `base` at least (a restarted exchange must not
    /// reuse the ids of its earlier runs; pass e.g. the wall clock in microseconds).
    pub fn set_id_base(&mut self, base: u64) {
        self.next_order_id = self.next_order_id.max(base);
        self.next_exec_id = self.next_exec_id.max(base);
        self.next_trade_id = self.next_trade_id.max(base);
    }

    pub fn mode(&self) -> EngineMode {
        self.mode
    }

    /// Adds (or replaces the tick of) an instrument.
    pub fn add_instrument(&mut self, i: Instrument) {
        self.books.entry(i.security_id).or_default().tick = i.tick.max(1);
    }

    /// A live order by OrderID.
    pub fn order(&self, order_id: u64) -> Option<&RestingOrder> {
        self.orders.get(&order_id)
    }

    /// Number of live orders.
    pub fn live_orders(&self) -> usize {
        self.orders.len()
    }

    /// Levels of one side (`1` bids best first, `2` asks best first).
    pub fn levels(&self, security_id: i32, side: u8) -> Vec<Level> {
        let Some(book) = self.books.get(&security_id) else {
            return Vec::new();
        };
        let to_level = |(p, ids): (&i64, &VecDeque<u64>)| Level {
            price: *p,
            qty: ids
                .iter()
                .filter_map(|id| self.orders.get(id))
                .map(|o| o.leaves_qty())
                .sum(),
            orders: ids.iter().copied().collect(),
        };
        if side == BUY {
            book.bids.iter().rev().map(to_level).collect()
        } else {
            book.asks.iter().map(to_level).collect()
        }
    }

    /// Handles one business message from `owner`; reports are appended to `out`. Returns false
    /// for templates the engine does not handle (nothing is appended).
    pub fn on_message(
        &mut self,
        owner: SessionKey,
        now: u64,
        msg: &Message<'_>,
        out: &mut Vec<(SessionKey, Report)>,
    ) -> bool {
        match msg {
            Message::NewOrderSingle(m) => self.new_order(owner, now, m, out),
            Message::OrderCancelReplaceRequest(m) => self.replace(owner, now, m, out),
            Message::OrderCancelRequest(m) => self.cancel(owner, now, m, out),
            Message::OrderMassActionRequest(m) => self.mass_action(owner, now, m, out),
            _ => return false,
        }
        true
    }

    fn exec_id(&mut self) -> u64 {
        let id = self.next_exec_id;
        self.next_exec_id += 1;
        id
    }

    fn report(&mut self, kind: ReportKind, r: &Req, order_id: u64, now: u64) -> Report {
        Report {
            kind,
            cl_ord_id: r.cl_ord_id,
            sender_id: r.sender_id,
            location: r.location,
            party_details_list_req_id: r.party,
            order_id,
            order_request_id: r.order_request_id,
            security_id: r.security_id,
            side: r.side,
            price: r.price,
            order_qty: r.qty,
            cum_qty: 0,
            leaves_qty: r.qty,
            ord_type: r.ord_type,
            time_in_force: r.tif,
            exec_id: self.exec_id(),
            transact_time: now,
        }
    }

    fn order_report(&mut self, kind: ReportKind, o: &RestingOrder, now: u64) -> Report {
        Report {
            kind,
            cl_ord_id: o.cl_ord_id,
            sender_id: o.sender_id,
            location: o.location,
            party_details_list_req_id: o.party_details_list_req_id,
            order_id: o.order_id,
            order_request_id: o.order_request_id,
            security_id: o.security_id,
            side: o.side,
            price: Some(o.price),
            order_qty: o.order_qty,
            cum_qty: o.cum_qty,
            leaves_qty: o.leaves_qty(),
            ord_type: o.ord_type,
            time_in_force: o.time_in_force,
            exec_id: self.exec_id(),
            transact_time: now,
        }
    }

    fn new_order(
        &mut self,
        owner: SessionKey,
        now: u64,
        m: &NewOrderSingle<'_>,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        let req = Req {
            cl_ord_id: FixedText::new(m.cl_ord_id().as_bytes()),
            sender_id: FixedText::new(m.sender_id().as_bytes()),
            location: FixedText::new(m.location().as_bytes()),
            party: m.party_details_list_req_id(),
            order_request_id: m.order_request_id(),
            security_id: m.security_id(),
            side: m.side(),
            price: m.price(),
            qty: m.order_qty(),
            ord_type: m.ord_type(),
            tif: m.time_in_force(),
        };
        if let EngineMode::Benchmark { fill } = self.mode {
            let order_id = self.next_order_id;
            self.next_order_id += 1;
            let ack = self.report(ReportKind::New, &req, order_id, now);
            out.push((owner, ack));
            if fill {
                let trade_id = self.next_trade_id;
                self.next_trade_id += 1;
                let mut t = self.report(
                    ReportKind::Trade {
                        last_px: req.price.unwrap_or(0),
                        last_qty: req.qty,
                        sec_exec_id: trade_id,
                        aggressor: true,
                    },
                    &req,
                    order_id,
                    now,
                );
                t.cum_qty = req.qty;
                t.leaves_qty = 0;
                out.push((owner, t));
            }
            return;
        }
        if let Some((reason, text)) = self.validate_new(&req) {
            let r = self.report(ReportKind::Reject { reason, text }, &req, 0, now);
            out.push((owner, r));
            return;
        }
        let price = req.price.unwrap_or(0);
        let order_id = self.next_order_id;
        self.next_order_id += 1;
        let mut order = RestingOrder {
            owner,
            order_id,
            cl_ord_id: req.cl_ord_id,
            sender_id: req.sender_id,
            location: req.location,
            party_details_list_req_id: req.party,
            order_request_id: req.order_request_id,
            security_id: req.security_id,
            side: req.side,
            price,
            order_qty: req.qty,
            cum_qty: 0,
            ord_type: req.ord_type,
            time_in_force: req.tif,
        };
        let ack = self.order_report(ReportKind::New, &order, now);
        out.push((owner, ack));
        if req.tif == Some(TIF_FOK) && self.available(&order) < order.leaves_qty() {
            let r = self.order_report(ReportKind::Cancel { text: "FOK" }, &order, now);
            out.push((owner, r));
            return;
        }
        self.match_incoming(&mut order, now, out);
        self.finish_incoming(order, now, out);
    }

    fn validate_new(&self, r: &Req) -> Option<(u16, &'static str)> {
        let Some(book) = self.books.get(&r.security_id) else {
            return Some((reason::UNKNOWN_INSTRUMENT, "unknown SecurityID"));
        };
        if r.qty == 0 {
            return Some((reason::INVALID_QUANTITY, "OrderQty must be positive"));
        }
        if r.side != BUY && r.side != SELL {
            return Some((reason::UNSUPPORTED, "Side must be 1 (buy) or 2 (sell)"));
        }
        if r.ord_type != LIMIT {
            return Some((
                reason::UNSUPPORTED,
                "only limit orders (OrdType 2) are simulated",
            ));
        }
        let Some(price) = r.price else {
            return Some((reason::INVALID_PRICE, "limit order without a price"));
        };
        if price % book.tick != 0 {
            return Some((reason::INVALID_PRICE, "price is not on the tick"));
        }
        if matches!(r.tif, Some(t) if ![0, 1, TIF_FAK, TIF_FOK, 6, 99].contains(&t)) {
            return Some((reason::UNSUPPORTED, "TimeInForce not supported"));
        }
        None
    }

    /// Quantity the book offers against `o` at its limit.
    fn available(&self, o: &RestingOrder) -> u32 {
        let Some(book) = self.books.get(&o.security_id) else {
            return 0;
        };
        let leaves = |ids: &VecDeque<u64>| -> u32 {
            ids.iter()
                .filter_map(|id| self.orders.get(id))
                .map(|r| r.leaves_qty())
                .fold(0u32, |a, q| a.saturating_add(q))
        };
        if o.side == BUY {
            book.asks
                .range(..=o.price)
                .map(|(_, ids)| leaves(ids))
                .fold(0u32, |a, q| a.saturating_add(q))
        } else {
            book.bids
                .range(o.price..)
                .map(|(_, ids)| leaves(ids))
                .fold(0u32, |a, q| a.saturating_add(q))
        }
    }

    /// Matches `o` against the opposite side while it crosses.
    fn match_incoming(
        &mut self,
        o: &mut RestingOrder,
        now: u64,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        let opposite = if o.side == BUY { SELL } else { BUY };
        while o.leaves_qty() > 0 {
            let Some(book) = self.books.get_mut(&o.security_id) else {
                return;
            };
            let Some(px) = book.best_cross(o.side, o.price) else {
                return;
            };
            let Some(level) = book.side(opposite).get_mut(&px) else {
                return;
            };
            let Some(&resting_id) = level.front() else {
                book.side(opposite).remove(&px);
                continue;
            };
            let Some(resting) = self.orders.get_mut(&resting_id) else {
                level.pop_front();
                continue;
            };
            let qty = resting.leaves_qty().min(o.leaves_qty());
            resting.cum_qty += qty;
            o.cum_qty += qty;
            let resting = *resting;
            if resting.leaves_qty() == 0 {
                level.pop_front();
                if level.is_empty() {
                    book.side(opposite).remove(&px);
                }
                self.orders.remove(&resting_id);
            }
            let trade_id = self.next_trade_id;
            self.next_trade_id += 1;
            let passive = self.order_report(
                ReportKind::Trade {
                    last_px: px,
                    last_qty: qty,
                    sec_exec_id: trade_id,
                    aggressor: false,
                },
                &resting,
                now,
            );
            let active = self.order_report(
                ReportKind::Trade {
                    last_px: px,
                    last_qty: qty,
                    sec_exec_id: trade_id,
                    aggressor: true,
                },
                o,
                now,
            );
            out.push((o.owner, active));
            out.push((resting.owner, passive));
        }
    }

    /// Rests what is left of an incoming order, or cancels it (FAK/FOK).
    fn finish_incoming(&mut self, o: RestingOrder, now: u64, out: &mut Vec<(SessionKey, Report)>) {
        if o.leaves_qty() == 0 {
            return;
        }
        if matches!(o.time_in_force, Some(TIF_FAK) | Some(TIF_FOK)) {
            let r = self.order_report(ReportKind::Cancel { text: "FAK" }, &o, now);
            out.push((o.owner, r));
            return;
        }
        if let Some(book) = self.books.get_mut(&o.security_id) {
            book.side(o.side)
                .entry(o.price)
                .or_default()
                .push_back(o.order_id);
            self.orders.insert(o.order_id, o);
        }
    }

    /// The live order a cancel/modify refers to: by OrderID, else by ClOrdID; it must belong to
    /// `owner`.
    fn find(&self, owner: SessionKey, order_id: Option<u64>, cl_ord_id: &[u8]) -> Option<u64> {
        match order_id {
            Some(id) => self
                .orders
                .get(&id)
                .filter(|o| o.owner == owner)
                .map(|o| o.order_id),
            None => self
                .orders
                .values()
                .find(|o| o.owner == owner && o.cl_ord_id.as_bytes() == cl_ord_id)
                .map(|o| o.order_id),
        }
    }

    fn cancel(
        &mut self,
        owner: SessionKey,
        now: u64,
        m: &OrderCancelRequest<'_>,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        let req = Req {
            cl_ord_id: FixedText::new(m.cl_ord_id().as_bytes()),
            sender_id: FixedText::new(m.sender_id().as_bytes()),
            location: FixedText::new(m.location().as_bytes()),
            party: m.party_details_list_req_id(),
            order_request_id: m.order_request_id(),
            security_id: m.security_id(),
            side: m.side(),
            price: None,
            qty: 0,
            ord_type: 0,
            tif: None,
        };
        if let EngineMode::Benchmark { .. } = self.mode {
            let id = m.order_id().unwrap_or(0);
            let r = self.report(ReportKind::Cancel { text: "" }, &req, id, now);
            out.push((owner, r));
            return;
        }
        let found = self
            .find(owner, m.order_id(), req.cl_ord_id.as_bytes())
            .and_then(|id| self.orders.get(&id).copied());
        let Some(mut o) = found.filter(|o| o.security_id == req.security_id && o.side == req.side)
        else {
            let kind = ReportKind::CancelReject {
                reason: reason::UNKNOWN_ORDER,
                text: "unknown order (not live for this session, or SecurityID/Side differ)",
            };
            let r = self.report(kind, &req, m.order_id().unwrap_or(0), now);
            out.push((owner, r));
            return;
        };
        self.remove_order(&o);
        o.cl_ord_id = req.cl_ord_id;
        o.order_request_id = req.order_request_id;
        let r = self.order_report(ReportKind::Cancel { text: "" }, &o, now);
        out.push((owner, r));
    }

    fn remove_order(&mut self, o: &RestingOrder) {
        if let Some(book) = self.books.get_mut(&o.security_id) {
            book.remove(o.side, o.price, o.order_id);
        }
        self.orders.remove(&o.order_id);
    }

    fn replace(
        &mut self,
        owner: SessionKey,
        now: u64,
        m: &OrderCancelReplaceRequest<'_>,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        let req = Req {
            cl_ord_id: FixedText::new(m.cl_ord_id().as_bytes()),
            sender_id: FixedText::new(m.sender_id().as_bytes()),
            location: FixedText::new(m.location().as_bytes()),
            party: m.party_details_list_req_id(),
            order_request_id: m.order_request_id(),
            security_id: m.security_id(),
            side: m.side(),
            price: m.price(),
            qty: m.order_qty(),
            ord_type: m.ord_type(),
            tif: m.time_in_force(),
        };
        let order_id = m.order_id().unwrap_or(0);
        if let EngineMode::Benchmark { .. } = self.mode {
            let r = self.report(ReportKind::Modify, &req, order_id, now);
            out.push((owner, r));
            return;
        }
        let reject = |engine: &mut Self, reason: u16, text: &'static str| {
            let r = engine.report(
                ReportKind::ReplaceReject { reason, text },
                &req,
                order_id,
                now,
            );
            (owner, r)
        };
        let found = self
            .find(owner, m.order_id(), req.cl_ord_id.as_bytes())
            .and_then(|id| self.orders.get(&id).copied());
        let Some(old) = found.filter(|o| o.security_id == req.security_id && o.side == req.side)
        else {
            let r = reject(
                self,
                reason::UNKNOWN_ORDER,
                "unknown order (not live for this session, or SecurityID/Side differ)",
            );
            out.push(r);
            return;
        };
        let tick = self.books.get(&old.security_id).map_or(1, |b| b.tick);
        let Some(price) = req.price else {
            out.push(reject(
                self,
                reason::INVALID_PRICE,
                "limit order without a price",
            ));
            return;
        };
        if price % tick != 0 {
            out.push(reject(
                self,
                reason::INVALID_PRICE,
                "price is not on the tick",
            ));
            return;
        }
        if req.qty <= old.cum_qty {
            out.push(reject(
                self,
                reason::INVALID_QUANTITY,
                "OrderQty must exceed the filled quantity",
            ));
            return;
        }
        if req.ord_type != LIMIT {
            out.push(reject(
                self,
                reason::UNSUPPORTED,
                "only limit orders (OrdType 2) are simulated",
            ));
            return;
        }
        let keeps_priority = price == old.price && req.qty <= old.order_qty;
        let mut o = old;
        o.cl_ord_id = req.cl_ord_id;
        o.sender_id = req.sender_id;
        o.location = req.location;
        o.order_request_id = req.order_request_id;
        o.order_qty = req.qty;
        o.price = price;
        o.time_in_force = req.tif.or(old.time_in_force);
        if keeps_priority {
            self.orders.insert(o.order_id, o);
            let r = self.order_report(ReportKind::Modify, &o, now);
            out.push((owner, r));
            return;
        }
        self.remove_order(&old);
        let r = self.order_report(ReportKind::Modify, &o, now);
        out.push((owner, r));
        self.match_incoming(&mut o, now, out);
        self.finish_incoming(o, now, out);
    }

    fn mass_action(
        &mut self,
        owner: SessionKey,
        now: u64,
        m: &OrderMassActionRequest<'_>,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        let req = Req {
            cl_ord_id: FixedText::default(),
            sender_id: FixedText::new(m.sender_id().as_bytes()),
            location: FixedText::new(m.location().as_bytes()),
            party: m.party_details_list_req_id(),
            order_request_id: m.order_request_id(),
            security_id: m.security_id().unwrap_or(0),
            side: m.side().unwrap_or(0),
            price: None,
            qty: 0,
            ord_type: 0,
            tif: None,
        };
        let security = m.security_id();
        let side = m.side();
        let report_id = self.exec_id();
        let kind = |accepted: bool, reject_reason: Option<u8>, total: u32| ReportKind::MassAction {
            accepted,
            reject_reason,
            scope: m.mass_action_scope(),
            total_affected: total,
            mass_action_report_id: report_id,
            security_filter: security,
            side_filter: side,
        };
        if let EngineMode::Benchmark { .. } = self.mode {
            let r = self.report(kind(true, None, 0), &req, 0, now);
            out.push((owner, r));
            return;
        }
        if security.is_some_and(|s| !self.books.contains_key(&s)) {
            // MassActionRejectReason 99 = Other (unknown instrument).
            let r = self.report(kind(false, Some(99), 0), &req, 0, now);
            out.push((owner, r));
            return;
        }
        let mut ids = std::mem::take(&mut self.scratch);
        ids.clear();
        ids.extend(
            self.orders
                .values()
                .filter(|o| o.owner == owner)
                .filter(|o| security.filter(|&s| o.security_id != s).is_none())
                .filter(|o| side.filter(|&s| o.side != s).is_none())
                .map(|o| o.order_id),
        );
        ids.sort_unstable();
        let total = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        let r = self.report(kind(true, None, total), &req, 0, now);
        out.push((owner, r));
        for &id in &ids {
            if let Some(o) = self.orders.get(&id).copied() {
                self.remove_order(&o);
                let r = self.order_report(ReportKind::Cancel { text: "MASS" }, &o, now);
                out.push((owner, r));
            }
        }
        self.scratch = ids;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ilink3::{
        decode, NewOrderSingleWriter, OrderCancelReplaceRequestWriter, OrderCancelRequestWriter,
        OrderMassActionRequestWriter,
    };

    const ES: i32 = 42;
    const TICK: i64 = 250_000_000;
    const A: SessionKey = SessionKey(0);
    const B: SessionKey = SessionKey(1);

    fn px(p: f64) -> i64 {
        (p * 1e9).round() as i64
    }

    fn engine() -> MatchingEngine {
        MatchingEngine::new(
            EngineMode::Book,
            &[Instrument {
                security_id: ES,
                tick: TICK,
            }],
        )
    }

    fn nos(cl: &str, side: u8, price: Option<i64>, qty: u32, tif: Option<u8>) -> Vec<u8> {
        let mut buf = vec![0u8; 512];
        let mut w = NewOrderSingleWriter::new(&mut buf).unwrap();
        w.set_cl_ord_id(cl).unwrap();
        w.set_price(price)
            .set_order_qty(qty)
            .set_security_id(ES)
            .set_side(side)
            .set_ord_type(LIMIT)
            .set_order_request_id(7)
            .set_time_in_force(tif);
        let n = w.finish();
        buf.truncate(n);
        buf
    }

    fn run(e: &mut MatchingEngine, owner: SessionKey, frame: &[u8]) -> Vec<(SessionKey, Report)> {
        let mut out = Vec::new();
        assert!(e.on_message(owner, 1, &decode(frame).unwrap(), &mut out));
        out
    }

    fn kinds(out: &[(SessionKey, Report)]) -> Vec<(SessionKey, u16)> {
        out.iter().map(|(k, r)| (*k, r.template_id())).collect()
    }

    #[test]
    fn price_time_priority_and_partial_fills() {
        let mut e = engine();
        let a1 = run(&mut e, A, &nos("A1", SELL, Some(px(100.25)), 5, None));
        let b1 = run(&mut e, B, &nos("B1", SELL, Some(px(100.25)), 5, None));
        let a2 = run(&mut e, A, &nos("A2", SELL, Some(px(100.0)), 2, None));
        let (id_a1, id_b1, id_a2) = (a1[0].1.order_id, b1[0].1.order_id, a2[0].1.order_id);
        assert_eq!(e.levels(ES, SELL)[0].orders, vec![id_a2]);
        assert_eq!(e.levels(ES, SELL)[1].orders, vec![id_a1, id_b1]);
        // Buy 8 @ 100.50: takes 2 @ 100.00 (best price), then 5 from A1 (earlier), then 1 of B1.
        let out = run(&mut e, B, &nos("B2", BUY, Some(px(100.5)), 8, None));
        assert_eq!(
            kinds(&out),
            vec![
                (B, 522),
                (B, 525),
                (A, 525),
                (B, 525),
                (A, 525),
                (B, 525),
                (B, 525)
            ]
        );
        let trades: Vec<(SessionKey, u64, i64, u32, bool, u32, u32)> = out[1..]
            .iter()
            .map(|(k, r)| match r.kind {
                ReportKind::Trade {
                    last_px,
                    last_qty,
                    aggressor,
                    ..
                } => (
                    *k,
                    r.order_id,
                    last_px,
                    last_qty,
                    aggressor,
                    r.cum_qty,
                    r.leaves_qty,
                ),
                _ => panic!("not a trade"),
            })
            .collect();
        let b2 = out[0].1.order_id;
        assert_eq!(
            trades,
            vec![
                (B, b2, px(100.0), 2, true, 2, 6),
                (A, id_a2, px(100.0), 2, false, 2, 0),
                (B, b2, px(100.25), 5, true, 7, 1),
                (A, id_a1, px(100.25), 5, false, 5, 0),
                (B, b2, px(100.25), 1, true, 8, 0),
                (B, id_b1, px(100.25), 1, false, 1, 4),
            ]
        );
        // Both sides of one match share the trade id.
        let ids: Vec<u64> = out[1..]
            .iter()
            .map(|(_, r)| match r.kind {
                ReportKind::Trade { sec_exec_id, .. } => sec_exec_id,
                _ => 0,
            })
            .collect();
        assert_eq!(ids[0], ids[1]);
        assert_ne!(ids[0], ids[2]);
        // B1 rests with 4 left; the buyer is fully filled and not in the book.
        let asks = e.levels(ES, SELL);
        assert_eq!(asks.len(), 1);
        assert_eq!((asks[0].price, asks[0].qty), (px(100.25), 4));
        assert!(e.levels(ES, BUY).is_empty());
        assert_eq!(e.live_orders(), 1);
    }

    #[test]
    fn reports_carry_the_request_fields_and_encode() {
        let mut e = engine();
        let out = run(&mut e, A, &nos("ORDER-1", BUY, Some(px(99.75)), 3, Some(1)));
        let (_, r) = out[0];
        let mut buf = [0u8; 1024];
        let n = r.encode(17, 555, 9, &mut buf).unwrap();
        let Message::ExecutionReportNew(m) = decode(&buf[..n]).unwrap() else {
            panic!("not 522")
        };
        assert_eq!(m.seq_num(), 17);
        assert_eq!(m.uuid(), 555);
        assert_eq!(m.cl_ord_id().as_bytes(), b"ORDER-1");
        assert_eq!(m.order_id(), r.order_id);
        assert!(m.order_id() > 0);
        assert_eq!(m.order_request_id(), 7);
        assert_eq!(m.price(), px(99.75));
        assert_eq!(m.order_qty(), 3);
        assert_eq!(m.side(), BUY);
        assert_eq!(m.security_id(), ES);
        assert_eq!(m.sending_time_epoch(), 9);
        assert_eq!(m.time_in_force(), Some(1));
    }

    #[test]
    fn bad_orders_are_rejected_with_a_reason() {
        let mut e = engine();
        let cases: [(Vec<u8>, u16); 4] = [
            (
                nos("Q0", BUY, Some(px(100.0)), 0, None),
                reason::INVALID_QUANTITY,
            ),
            (
                nos("OFF", BUY, Some(px(100.1)), 1, None),
                reason::INVALID_PRICE,
            ),
            (nos("NOPX", BUY, None, 1, None), reason::INVALID_PRICE),
            (
                nos("SIDE", 9, Some(px(100.0)), 1, None),
                reason::UNSUPPORTED,
            ),
        ];
        for (frame, want) in cases {
            let out = run(&mut e, A, &frame);
            assert_eq!(kinds(&out), vec![(A, 523)]);
            assert!(matches!(out[0].1.kind, ReportKind::Reject { reason, .. } if reason == want));
        }
        let mut buf = vec![0u8; 512];
        let mut w = NewOrderSingleWriter::new(&mut buf).unwrap();
        w.set_security_id(7)
            .set_order_qty(1)
            .set_side(BUY)
            .set_price(Some(px(1.0)))
            .set_ord_type(LIMIT);
        let n = w.finish();
        let out = run(&mut e, A, &buf[..n]);
        assert!(matches!(
            out[0].1.kind,
            ReportKind::Reject {
                reason: reason::UNKNOWN_INSTRUMENT,
                ..
            }
        ));
        assert_eq!(e.live_orders(), 0);
    }

    fn cancel_frame(order_id: Option<u64>, side: u8) -> Vec<u8> {
        let mut buf = vec![0u8; 512];
        let mut w = OrderCancelRequestWriter::new(&mut buf).unwrap();
        w.set_cl_ord_id("CXL").unwrap();
        w.set_order_id(order_id)
            .set_security_id(ES)
            .set_side(side)
            .set_order_request_id(9);
        let n = w.finish();
        buf.truncate(n);
        buf
    }

    fn replace_frame(order_id: Option<u64>, price: i64, qty: u32) -> Vec<u8> {
        let mut buf = vec![0u8; 512];
        let mut w = OrderCancelReplaceRequestWriter::new(&mut buf).unwrap();
        w.set_cl_ord_id("MOD").unwrap();
        w.set_order_id(order_id)
            .set_price(Some(price))
            .set_order_qty(qty)
            .set_security_id(ES)
            .set_side(BUY)
            .set_ord_type(LIMIT)
            .set_order_request_id(11);
        let n = w.finish();
        buf.truncate(n);
        buf
    }

    #[test]
    fn cancel_and_modify_of_unknown_or_foreign_orders_are_rejected() {
        let mut e = engine();
        let out = run(&mut e, A, &cancel_frame(Some(999), BUY));
        assert_eq!(kinds(&out), vec![(A, 535)]);
        assert!(matches!(
            out[0].1.kind,
            ReportKind::CancelReject {
                reason: reason::UNKNOWN_ORDER,
                ..
            }
        ));
        let out = run(&mut e, A, &replace_frame(Some(999), px(100.0), 1));
        assert_eq!(kinds(&out), vec![(A, 536)]);
        // An order of A cannot be cancelled by B.
        let ack = run(&mut e, A, &nos("A1", BUY, Some(px(100.0)), 1, None));
        let id = ack[0].1.order_id;
        let out = run(&mut e, B, &cancel_frame(Some(id), BUY));
        assert_eq!(kinds(&out), vec![(B, 535)]);
        assert_eq!(e.live_orders(), 1);
        // The owner can, once.
        let out = run(&mut e, A, &cancel_frame(Some(id), BUY));
        assert_eq!(kinds(&out), vec![(A, 534)]);
        assert_eq!(out[0].1.order_id, id);
        assert_eq!(out[0].1.cl_ord_id.as_bytes(), b"CXL");
        assert_eq!(out[0].1.order_request_id, 9);
        let out = run(&mut e, A, &cancel_frame(Some(id), BUY));
        assert_eq!(kinds(&out), vec![(A, 535)]);
        assert!(e.levels(ES, BUY).is_empty());
    }

    #[test]
    fn modify_keeps_priority_only_for_a_quantity_decrease() {
        let mut e = engine();
        let a = run(&mut e, A, &nos("A", BUY, Some(px(100.0)), 5, None))[0]
            .1
            .order_id;
        let b = run(&mut e, B, &nos("B", BUY, Some(px(100.0)), 5, None))[0]
            .1
            .order_id;
        let out = run(&mut e, A, &replace_frame(Some(a), px(100.0), 3));
        assert_eq!(kinds(&out), vec![(A, 531)]);
        assert_eq!((out[0].1.order_qty, out[0].1.leaves_qty), (3, 3));
        assert_eq!(e.levels(ES, BUY)[0].orders, vec![a, b]);
        let out = run(&mut e, A, &replace_frame(Some(a), px(100.0), 4));
        assert_eq!(kinds(&out), vec![(A, 531)]);
        assert_eq!(e.levels(ES, BUY)[0].orders, vec![b, a]);
        // Off tick: rejected, order unchanged.
        let out = run(&mut e, A, &replace_frame(Some(a), px(100.1), 4));
        assert_eq!(kinds(&out), vec![(A, 536)]);
        assert_eq!(e.order(a).map(|o| o.price), Some(px(100.0)));
        // A modify that crosses trades.
        run(&mut e, B, &nos("S", SELL, Some(px(101.0)), 2, None));
        let out = run(&mut e, A, &replace_frame(Some(a), px(101.0), 4));
        assert_eq!(kinds(&out), vec![(A, 531), (A, 525), (B, 525)]);
        assert_eq!(
            e.order(a).map(|o| (o.cum_qty, o.leaves_qty())),
            Some((2, 2))
        );
        // Quantity at or below the filled quantity: rejected.
        let out = run(&mut e, A, &replace_frame(Some(a), px(101.0), 2));
        assert_eq!(kinds(&out), vec![(A, 536)]);
    }

    #[test]
    fn fill_and_kill_cancels_the_rest_and_fill_or_kill_needs_it_all() {
        let mut e = engine();
        run(&mut e, B, &nos("S", SELL, Some(px(100.0)), 2, None));
        let out = run(
            &mut e,
            A,
            &nos("FOK", BUY, Some(px(100.0)), 3, Some(TIF_FOK)),
        );
        assert_eq!(kinds(&out), vec![(A, 522), (A, 534)]);
        let out = run(
            &mut e,
            A,
            &nos("FAK", BUY, Some(px(100.0)), 3, Some(TIF_FAK)),
        );
        assert_eq!(kinds(&out), vec![(A, 522), (A, 525), (B, 525), (A, 534)]);
        assert_eq!(out[3].1.cum_qty, 2);
        assert_eq!(e.live_orders(), 0);
    }

    #[test]
    fn mass_cancel_takes_only_the_owners_orders_matching_the_filter() {
        let mut e = engine();
        e.add_instrument(Instrument {
            security_id: 43,
            tick: TICK,
        });
        let a1 = run(&mut e, A, &nos("A1", BUY, Some(px(99.0)), 1, None))[0]
            .1
            .order_id;
        let a2 = run(&mut e, A, &nos("A2", SELL, Some(px(101.0)), 1, None))[0]
            .1
            .order_id;
        run(&mut e, B, &nos("B1", BUY, Some(px(99.0)), 1, None));
        let mut buf = vec![0u8; 512];
        let mut w = OrderMassActionRequestWriter::new(&mut buf).unwrap();
        w.set_security_id(Some(ES))
            .set_mass_action_scope(1)
            .set_order_request_id(77);
        let n = w.finish();
        let out = run(&mut e, A, &buf[..n]);
        assert_eq!(kinds(&out), vec![(A, 562), (A, 534), (A, 534)]);
        assert!(matches!(
            out[0].1.kind,
            ReportKind::MassAction {
                accepted: true,
                total_affected: 2,
                ..
            }
        ));
        assert_eq!(out[0].1.order_request_id, 77);
        let mut cancelled = vec![out[1].1.order_id, out[2].1.order_id];
        cancelled.sort_unstable();
        assert_eq!(cancelled, vec![a1, a2]);
        assert_eq!(e.live_orders(), 1);
        // An unknown instrument is rejected.
        let mut w = OrderMassActionRequestWriter::new(&mut buf).unwrap();
        w.set_security_id(Some(999)).set_mass_action_scope(1);
        let n = w.finish();
        let out = run(&mut e, A, &buf[..n]);
        assert!(matches!(
            out[0].1.kind,
            ReportKind::MassAction {
                accepted: false,
                ..
            }
        ));
        assert_eq!(e.live_orders(), 1);
    }

    #[test]
    fn benchmark_mode_acks_and_fills_without_a_book() {
        let mut e = MatchingEngine::new(EngineMode::Benchmark { fill: true }, &[]);
        let out = run(&mut e, A, &nos("X", BUY, Some(px(1.0)), 4, None));
        assert_eq!(kinds(&out), vec![(A, 522), (A, 525)]);
        assert_eq!(out[0].1.order_id, out[1].1.order_id);
        assert_eq!((out[1].1.cum_qty, out[1].1.leaves_qty), (4, 0));
        assert_eq!(e.live_orders(), 0);
        let out = run(&mut e, A, &nos("Y", BUY, Some(px(1.0)), 4, None));
        assert_eq!(out[0].1.order_id, 2);
    }
}
