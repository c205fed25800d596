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
    /// ExecutionReportCancel (534); `text` goes to CancelText (8 characters); `restatement`
    /// to ExecRestatementReason (100 Cancel on Disconnect, 103/107 self-match prevention).
    Cancel {
        text: &'static str,
        restatement: Option<u8>,
        /// Cancel on Behalf: (OrigOrderUser, the on-behalf sender comp) — the 534 carries
        /// them as OrigOrderUser(9937) and CancelText(2807) instead of `text`.
        on_behalf: Option<(FixedText<8>, FixedText<8>)>,
    },
    /// ExecutionReportElimination (524): an unfilled FAK/FOK remainder, or a Day/GTD order at
    /// the close.
    Elimination,
    /// ExecutionReportTradeSpread (526): one side of a spread match; its NoLegs group comes from
    /// [`ReportAux::legs`] (`legs_start..legs_start + legs_count`).
    TradeSpread {
        last_px: i64,
        last_qty: u32,
        sec_exec_id: u64,
        aggressor: bool,
        legs_start: u16,
        legs_count: u8,
    },
    /// ExecutionReportTradeSpreadLeg (527): one leg of a spread fill (`security_id`/`side` of
    /// the report are the leg's).
    SpreadLeg {
        last_px: i64,
        last_qty: u32,
        sec_exec_id: u64,
    },
    /// ExecutionReportTradeAddendum Outright/Spread/SpreadLeg (548/549/550): a bust (ExecType
    /// H) or a correction (G) of trade `orig_sec_exec_id`.
    Addendum {
        template: u16,
        exec_type: u8,
        last_px: i64,
        last_qty: u32,
        sec_exec_id: u64,
        orig_sec_exec_id: u64,
    },
    /// ExecutionReportStatus (532): OrdStatus of an order (`b'U'` when unknown), answering an
    /// OrderStatusRequest (`ord_status_req_id`) or an OrderMassStatusRequest
    /// (`mass_status_req_id`, `last` on the final report).
    Status {
        ord_status: u8,
        ord_status_req_id: Option<u64>,
        mass_status_req_id: Option<u64>,
        last: bool,
        text: &'static str,
    },
    /// PartyDetailsDefinitionRequestAck (519).
    PartyAck {
        smp_id: Option<u64>,
        smp_instruction: Option<u8>,
        /// PartyDetailRequestStatus: 0 accepted, 2 rejected.
        status: u8,
    },
    /// PartyDetailsListReport (538): one registered definition.
    PartyList {
        report_id: u64,
        total: u16,
        last: bool,
        smp_id: Option<u64>,
        smp_instruction: Option<u8>,
    },
    /// BusinessReject (521) of the client message `ref_seq` (FIX MsgType `ref_msg_type`).
    BusinessReject {
        reason: u16,
        ref_tag: Option<u16>,
        ref_seq: u32,
        ref_msg_type: [u8; 2],
        text: &'static str,
    },
    /// OrderCancelReject (535).
    CancelReject { reason: u16, text: &'static str },
    /// OrderCancelReplaceReject (536).
    ReplaceReject { reason: u16, text: &'static str },
    /// MassQuoteAck (545): QuoteStatus 0 accepted / 5 rejected (`text` says why).
    QuoteAck {
        quote_id: u32,
        status: u8,
        text: &'static str,
        processed: u8,
        mm_reset: bool,
    },
    /// QuoteCancelAck (563): answering a QuoteCancel, or unsolicited (`unsolicited` =
    /// UnsolicitedCancelType, e.g. F for mass quote protection); `group` = CancelledSymbol.
    QuoteCancelAck {
        quote_id: u32,
        status: u8,
        processed: u32,
        unsolicited: Option<u8>,
        group: FixedText<6>,
        mm_reset: bool,
        text: &'static str,
    },
    /// SecurityDefinitionResponse (561): SecurityResponseType 1 accepted (with the new
    /// SecurityID) or 5 rejected (`text` says why).
    SecDef {
        req_id: u64,
        response_id: u64,
        response_type: u8,
        security_id: Option<i32>,
        text: &'static str,
    },
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
        market_segment: Option<u8>,
        security_group: FixedText<6>,
        ord_type_filter: Option<u8>,
        tif_filter: Option<u8>,
        /// LastFragment(893) of this report.
        last_fragment: bool,
        /// NoAffectedOrders entries: [`ReportAux::affected`]`[start..start + count]`.
        affected_start: u32,
        affected_count: u8,
    },
}

/// One entry of an OrderMassActionReport's NoAffectedOrders group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AffectedOrder {
    pub cl_ord_id: FixedText<20>,
    pub order_id: u64,
    pub cxl_qty: u32,
}

/// One entry of an ExecutionReportTradeSpread's NoLegs group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegFill {
    pub security_id: i32,
    pub last_px: i64,
    pub last_qty: u32,
    pub side: u8,
    pub trade_id: u64,
}

/// What some reports refer to beyond their own fields (the engine fills it while it handles a
/// message; it stays valid until the engine's next call). Reports encoded without it
/// ([`Report::encode`]) carry empty groups.
#[derive(Debug, Default)]
pub struct ReportAux {
    pub affected: Vec<AffectedOrder>,
    pub legs: Vec<LegFill>,
}

impl ReportAux {
    const EMPTY: ReportAux = ReportAux {
        affected: Vec::new(),
        legs: Vec::new(),
    };

    fn clear(&mut self) {
        if !self.affected.is_empty() || !self.legs.is_empty() {
            self.affected.clear();
            self.legs.clear();
        }
    }
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
    /// StopPx of stop orders.
    pub stop_px: Option<i64>,
    /// MinQty (0: none).
    pub min_qty: u32,
    /// ExpireDate of GTD orders (days since the Unix epoch).
    pub expire_date: Option<u16>,
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
            ReportKind::Elimination => 524,
            ReportKind::TradeSpread { .. } => 526,
            ReportKind::SpreadLeg { .. } => 527,
            ReportKind::Addendum { template, .. } => template,
            ReportKind::Status { .. } => 532,
            ReportKind::PartyAck { .. } => 519,
            ReportKind::PartyList { .. } => 538,
            ReportKind::BusinessReject { .. } => 521,
            ReportKind::CancelReject { .. } => 535,
            ReportKind::ReplaceReject { .. } => 536,
            ReportKind::MassAction { .. } => 562,
            ReportKind::QuoteAck { .. } => 545,
            ReportKind::QuoteCancelAck { .. } => 563,
            ReportKind::SecDef { .. } => 561,
        }
    }

    /// Encodes the report as a frame with the receiving session's `seq`/`uuid`; returns its
    /// length. No heap allocation. Repeating groups that live in [`ReportAux`] are left empty
    /// (see [`Report::encode_with`]).
    pub fn encode(
        &self,
        seq: u32,
        uuid: u64,
        sending_time: u64,
        buf: &mut [u8],
    ) -> Result<usize, EncodeError> {
        self.encode_with(seq, uuid, sending_time, buf, &ReportAux::EMPTY)
    }

    /// [`Report::encode`] with the groups the engine keeps in `aux` (mass-action affected
    /// orders, spread legs).
    pub fn encode_with(
        &self,
        seq: u32,
        uuid: u64,
        sending_time: u64,
        buf: &mut [u8],
        aux: &ReportAux,
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
                    .set_time_in_force(tif)
                    .set_stop_px(self.stop_px)
                    .set_min_qty((self.min_qty > 0).then_some(self.min_qty))
                    .set_expire_date(self.expire_date);
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
            ReportKind::Cancel {
                text,
                restatement,
                on_behalf,
            } => {
                let mut w = ExecutionReportCancelWriter::new(buf)?;
                w.set_exec_restatement_reason(restatement)
                    .set_stop_px(self.stop_px)
                    .set_expire_date(self.expire_date);
                w.set_exec_id(exec_id)?
                    .set_sender_id(self.sender_id.as_bytes())?
                    .set_cl_ord_id(self.cl_ord_id.as_bytes())?
                    .set_location(self.location.as_bytes())?;
                match on_behalf {
                    Some((orig, by)) => {
                        w.set_orig_order_user(orig.as_bytes())?
                            .set_cancel_text(by.as_bytes())?;
                    }
                    None => {
                        w.set_cancel_text(text)?;
                    }
                }
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
                market_segment,
                security_group,
                ord_type_filter,
                tif_filter,
                last_fragment,
                affected_start,
                affected_count,
            } => {
                let start = usize::try_from(affected_start).unwrap_or(usize::MAX);
                let entries = aux
                    .affected
                    .get(start..start.saturating_add(usize::from(affected_count)))
                    .unwrap_or_default();
                let n = u8::try_from(entries.len()).unwrap_or(u8::MAX);
                let mut w = OrderMassActionReportWriter::with_counts(buf, [n])?;
                for (i, a) in entries.iter().enumerate() {
                    if let Some(mut e) = w.affected_order_mut(i) {
                        e.set_affected_order_id(a.order_id)
                            .set_cxl_quantity(a.cxl_qty)
                            .set_orig_ci_ord_id(a.cl_ord_id.as_bytes())?;
                    }
                }
                w.set_sender_id(self.sender_id.as_bytes())?
                    .set_location(self.location.as_bytes())?
                    .set_security_group(security_group.as_bytes())?;
                w.set_market_segment_id(market_segment)
                    .set_ord_type(ord_type_filter)
                    .set_time_in_force(tif_filter);
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
                    .set_last_fragment(u8::from(last_fragment))
                    .set_mass_action_reject_reason(reject_reason)
                    .set_side(side_filter);
                Ok(w.finish())
            }
            _ => self.encode_ext(seq, uuid, sending_time, buf, aux),
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
    /// StopPx of a stop order; `pending_stop` until a trade reaches it.
    pub stop_px: Option<i64>,
    pub pending_stop: bool,
    pub min_qty: u32,
    pub expire_date: Option<u16>,
    /// SelfMatchPreventionID of the order's party details (0: none) and whether its
    /// instruction is N (cancel newest) rather than O (cancel oldest).
    pub smp_id: u64,
    pub smp_cancel_newest: bool,
}

impl RestingOrder {
    pub fn leaves_qty(&self) -> u32 {
        self.order_qty.saturating_sub(self.cum_qty)
    }
}

const BUY: u8 = 1;
const SELL: u8 = 2;
const MARKET_PROTECT: u8 = b'1';
const LIMIT: u8 = b'2';
const STOP_PROTECT: u8 = b'3';
const STOP_LIMIT: u8 = b'4';
const MARKET_LIMIT: u8 = b'K';
const TIF_DAY: u8 = 0;
const TIF_GTC: u8 = 1;
const TIF_FAK: u8 = 3;
const TIF_FOK: u8 = 4;
const TIF_GTD: u8 = 6;

/// One leg of a spread instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpreadLegDef {
    pub security_id: i32,
    /// Leg quantity per spread lot.
    pub ratio: u32,
    /// `true`: the leg trades on the spread order's side; `false`: the opposite side.
    pub same_side: bool,
}

/// What the engine knows of an instrument beyond its tick (mass-action scopes, spreads).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstrumentInfo {
    pub security_id: i32,
    /// MarketSegmentID(1300) for mass action scope 9 and mass status.
    pub market_segment_id: Option<u8>,
    /// SecurityGroup(1151) for mass action scope 10 and mass status.
    pub security_group: String,
    /// Legs of a spread (empty for an outright). A spread price is leg 1 minus leg 2.
    pub legs: Vec<SpreadLegDef>,
}

/// One instrument's book: price levels of order ids in time order.
#[derive(Debug, Default)]
struct Book {
    tick: i64,
    bids: BTreeMap<i64, VecDeque<u64>>,
    asks: BTreeMap<i64, VecDeque<u64>>,
    /// Untriggered stop orders, in arrival order.
    stops: Vec<u64>,
    last_px: Option<i64>,
    segment: Option<u8>,
    group: FixedText<6>,
    legs: Vec<SpreadLegDef>,
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
    aux: ReportAux,
    ext: ext::Ext,
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
    /// Orders resting in the books, every session's.
    pub fn resting_orders(&self) -> usize {
        self.orders.len()
    }

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
            aux: ReportAux::default(),
            ext: ext::Ext::default(),
        }
    }

    /// Starts OrderIDs, ExecIDs and trade ids at `base` at least (a restarted exchange must not
    /// reuse the ids of its earlier runs; pass e.g. the wall clock in microseconds).
    pub fn set_id_base(&mut self, base: u64) {
        self.next_order_id = self.next_order_id.max(base);
        self.next_exec_id = self.next_exec_id.max(base);
        self.next_trade_id = self.next_trade_id.max(base);
    }

    /// Groups the reports of the last call refer to (pass to [`Report::encode_with`]).
    pub fn aux(&self) -> &ReportAux {
        &self.aux
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
        self.aux.clear();
        if self.ext.parties_required && !self.party_known(owner, msg, now, out) {
            return true;
        }
        let start = out.len();
        match msg {
            Message::NewOrderSingle(m) => self.new_order(owner, now, m, out),
            Message::OrderCancelReplaceRequest(m) => self.replace(owner, now, m, out),
            Message::OrderCancelRequest(m) => self.cancel(owner, now, m, out),
            Message::OrderMassActionRequest(m) => self.mass_action(owner, now, m, out),
            Message::OrderStatusRequest(m) => self.order_status(owner, now, m, out),
            Message::OrderMassStatusRequest(m) => self.mass_status(owner, now, m, out),
            Message::PartyDetailsDefinitionRequest(m) => self.define_party(owner, now, m, out),
            Message::PartyDetailsListRequest(m) => self.list_parties(owner, now, m, out),
            Message::MassQuote(m) => self.mass_quote(owner, now, m, out),
            Message::QuoteCancel(m) => self.quote_cancel(owner, now, m, out),
            Message::SecurityDefinitionRequest(m) => self.security_definition(owner, now, m, out),
            _ => return false,
        }
        if let Message::NewOrderSingle(_) | Message::OrderCancelReplaceRequest(_) = msg {
            self.check_quote_protection(now, out, start);
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
            stop_px: None,
            min_qty: 0,
            expire_date: None,
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
            stop_px: o.stop_px,
            min_qty: o.min_qty,
            expire_date: o.expire_date,
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
        let stop_px = m.stop_px();
        let min_qty = m.min_qty().unwrap_or(0);
        let expire_date = m.expire_date();
        if let Some((reason, text)) = self.validate_new(&req, stop_px, min_qty, expire_date) {
            let r = self.report(ReportKind::Reject { reason, text }, &req, 0, now);
            out.push((owner, r));
            return;
        }
        // Market-limit and market-with-protection take their price from the book.
        let price = match req.ord_type {
            MARKET_LIMIT | MARKET_PROTECT => {
                let best = self.books.get(&req.security_id).and_then(|b| {
                    b.best_cross(req.side, if req.side == BUY { i64::MAX } else { i64::MIN })
                });
                let Some(best) = best else {
                    let kind = ReportKind::Reject {
                        reason: reason::OTHER,
                        text: "no opposite side for a market order",
                    };
                    let r = self.report(kind, &req, 0, now);
                    out.push((owner, r));
                    return;
                };
                if req.ord_type == MARKET_LIMIT {
                    best
                } else {
                    self.protection_limit(req.security_id, req.side, best)
                }
            }
            _ => req.price.unwrap_or(0),
        };
        let (smp_id, smp_cancel_newest) = self.smp_of(req.party);
        let order_id = self.next_order_id;
        self.next_order_id += 1;
        let is_stop = matches!(req.ord_type, STOP_PROTECT | STOP_LIMIT);
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
            stop_px: if is_stop { stop_px } else { None },
            pending_stop: is_stop,
            min_qty,
            expire_date,
            smp_id,
            smp_cancel_newest,
        };
        if is_stop {
            if let Some(text) = self.stop_already_through(&order) {
                let kind = ReportKind::Reject {
                    reason: reason::INVALID_PRICE,
                    text,
                };
                let r = self.report(kind, &req, 0, now);
                out.push((owner, r));
                return;
            }
            let ack = self.order_report(ReportKind::New, &order, now);
            out.push((owner, ack));
            if let Some(book) = self.books.get_mut(&order.security_id) {
                book.stops.push(order_id);
            }
            self.orders.insert(order_id, order);
            return;
        }
        let ack = self.order_report(ReportKind::New, &order, now);
        out.push((owner, ack));
        let all_or_none = match req.tif {
            Some(TIF_FOK) => order.order_qty,
            Some(TIF_FAK) => min_qty,
            _ => 0,
        };
        if all_or_none > 0 && self.available(&order) < all_or_none {
            let r = self.order_report(ReportKind::Elimination, &order, now);
            out.push((owner, r));
            return;
        }
        self.match_incoming(&mut order, now, out);
        self.finish_incoming(order, now, out);
        self.trigger_stops(order.security_id, now, out);
    }

    fn validate_new(
        &self,
        r: &Req,
        stop_px: Option<i64>,
        min_qty: u32,
        expire_date: Option<u16>,
    ) -> Option<(u16, &'static str)> {
        let Some(book) = self.books.get(&r.security_id) else {
            return Some((reason::UNKNOWN_INSTRUMENT, "unknown SecurityID"));
        };
        if r.qty == 0 {
            return Some((reason::INVALID_QUANTITY, "OrderQty must be positive"));
        }
        if r.side != BUY && r.side != SELL {
            return Some((reason::UNSUPPORTED, "Side must be 1 (buy) or 2 (sell)"));
        }
        match r.ord_type {
            LIMIT | STOP_LIMIT => {
                let Some(price) = r.price else {
                    return Some((reason::INVALID_PRICE, "limit order without a price"));
                };
                if price % book.tick != 0 {
                    return Some((reason::INVALID_PRICE, "price is not on the tick"));
                }
            }
            MARKET_PROTECT | MARKET_LIMIT | STOP_PROTECT => {}
            _ => return Some((reason::UNSUPPORTED, "OrdType must be 1, 2, 3, 4 or K")),
        }
        if matches!(r.ord_type, STOP_PROTECT | STOP_LIMIT) {
            let Some(stop) = stop_px else {
                return Some((reason::INVALID_PRICE, "stop order without StopPx"));
            };
            if stop % book.tick != 0 {
                return Some((reason::INVALID_PRICE, "StopPx is not on the tick"));
            }
            if r.ord_type == STOP_LIMIT
                && r.price
                    .is_some_and(|p| (r.side == BUY && p < stop) || (r.side == SELL && p > stop))
            {
                return Some((
                    reason::INVALID_PRICE,
                    "stop-limit price on the wrong side of StopPx",
                ));
            }
            if matches!(r.tif, Some(TIF_FAK) | Some(TIF_FOK)) {
                return Some((reason::UNSUPPORTED, "stop orders cannot be FAK/FOK"));
            }
        }
        if matches!(r.tif, Some(t) if ![TIF_DAY, TIF_GTC, TIF_FAK, TIF_FOK, TIF_GTD, 99].contains(&t))
        {
            return Some((reason::UNSUPPORTED, "TimeInForce not supported"));
        }
        if r.tif == Some(TIF_GTD) && expire_date.is_none() {
            return Some((reason::UNSUPPORTED, "GTD order without ExpireDate"));
        }
        if min_qty > r.qty {
            return Some((reason::INVALID_QUANTITY, "MinQty above OrderQty"));
        }
        if min_qty > 0 && !matches!(r.tif, Some(TIF_FAK) | Some(TIF_FOK)) {
            return Some((reason::UNSUPPORTED, "MinQty only on FAK orders"));
        }
        None
    }

    /// Quantity the book offers against `o` at its limit (orders of the same self-match id
    /// do not count).
    fn available(&self, o: &RestingOrder) -> u32 {
        let Some(book) = self.books.get(&o.security_id) else {
            return 0;
        };
        let leaves = |ids: &VecDeque<u64>| -> u32 {
            ids.iter()
                .filter_map(|id| self.orders.get(id))
                .filter(|r| o.smp_id == 0 || r.smp_id != o.smp_id)
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
            if o.smp_id != 0 && resting.smp_id == o.smp_id {
                // Self-match prevention: N cancels the incoming (newest) order, else the
                // resting (oldest) one, and matching goes on.
                if o.smp_cancel_newest {
                    let r = self.order_report(
                        ReportKind::Cancel {
                            text: "SMP",
                            restatement: Some(107),
                            on_behalf: None,
                        },
                        o,
                        now,
                    );
                    out.push((o.owner, r));
                    o.order_qty = o.cum_qty;
                    return;
                }
                let victim = *resting;
                level.pop_front();
                if level.is_empty() {
                    book.side(opposite).remove(&px);
                }
                self.orders.remove(&resting_id);
                let r = self.order_report(
                    ReportKind::Cancel {
                        text: "SMP",
                        restatement: Some(103),
                        on_behalf: None,
                    },
                    &victim,
                    now,
                );
                out.push((victim.owner, r));
                continue;
            }
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
            book.last_px = Some(px);
            let trade_id = self.next_trade_id;
            self.next_trade_id += 1;
            if !book.legs.is_empty() {
                self.spread_trade(o, &resting, px, qty, trade_id, now, out);
                continue;
            }
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
            if self.ext.trade_faults_on {
                self.after_trade(trade_id, now, out);
            }
        }
    }

    /// Rests what is left of an incoming order, or eliminates it (FAK/FOK).
    fn finish_incoming(&mut self, o: RestingOrder, now: u64, out: &mut Vec<(SessionKey, Report)>) {
        if o.leaves_qty() == 0 {
            return;
        }
        if matches!(o.time_in_force, Some(TIF_FAK) | Some(TIF_FOK)) {
            let r = self.order_report(ReportKind::Elimination, &o, now);
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
            let kind = ReportKind::Cancel {
                text: "",
                restatement: None,
                on_behalf: None,
            };
            let r = self.report(kind, &req, id, now);
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
        let kind = ReportKind::Cancel {
            text: "",
            restatement: None,
            on_behalf: None,
        };
        let r = self.order_report(kind, &o, now);
        out.push((owner, r));
    }

    fn remove_order(&mut self, o: &RestingOrder) {
        if let Some(book) = self.books.get_mut(&o.security_id) {
            if o.pending_stop {
                book.stops.retain(|&id| id != o.order_id);
            } else {
                book.remove(o.side, o.price, o.order_id);
            }
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
        if old.pending_stop {
            out.push(reject(
                self,
                reason::UNSUPPORTED,
                "modify of an untriggered stop order is not simulated",
            ));
            return;
        }
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
        self.trigger_stops(o.security_id, now, out);
    }
}

mod ext;
mod quotes;
pub use ext::{BusinessRejectInfo, PartyDef, MAX_AFFECTED_PER_FRAGMENT, RESTATEMENT_COD};
pub use quotes::{
    QUOTE_ACCEPTED, QUOTE_CXL_ALL, QUOTE_CXL_GROUP, QUOTE_CXL_INSTRUMENT, QUOTE_CXL_SET,
    QUOTE_REJECTED, SEC_RSP_ACCEPT, SEC_RSP_REJECT, UDS_FIRST_ID, UNSOLICITED_MM_PROTECTION,
};

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
    fn fill_and_kill_eliminates_the_rest_and_fill_or_kill_needs_it_all() {
        let mut e = engine();
        run(&mut e, B, &nos("S", SELL, Some(px(100.0)), 2, None));
        let out = run(
            &mut e,
            A,
            &nos("FOK", BUY, Some(px(100.0)), 3, Some(TIF_FOK)),
        );
        assert_eq!(kinds(&out), vec![(A, 522), (A, 524)]);
        let out = run(
            &mut e,
            A,
            &nos("FAK", BUY, Some(px(100.0)), 3, Some(TIF_FAK)),
        );
        assert_eq!(kinds(&out), vec![(A, 522), (A, 525), (B, 525), (A, 524)]);
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

#[cfg(test)]
mod cert_tests;
