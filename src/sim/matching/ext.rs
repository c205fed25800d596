//! The matching engine beyond plain limit orders (kept out of the limit-order path): stop
//! triggers, market protection, spreads and their legs, trade busts and corrections, the
//! close (Day/GTD expiry), Cancel on Disconnect, party details, self-match ids, mass actions
//! by scope with fragments, order and mass status.

use super::{
    AffectedOrder, InstrumentInfo, LegFill, MatchingEngine, Report, ReportAux, ReportKind, Req,
    RestingOrder, BUY, SELL, STOP_PROTECT, TIF_GTC, TIF_GTD,
};
use crate::ilink3::{
    BusinessRejectWriter, EncodeError, ExecutionReportEliminationWriter,
    ExecutionReportStatusWriter, ExecutionReportTradeAddendumOutrightWriter,
    ExecutionReportTradeAddendumSpreadLegWriter, ExecutionReportTradeAddendumSpreadWriter,
    ExecutionReportTradeSpreadLegWriter, ExecutionReportTradeSpreadWriter, Message,
    OrderMassActionRequest, OrderMassStatusRequest, OrderStatusRequest,
    PartyDetailsDefinitionRequest, PartyDetailsDefinitionRequestAckWriter,
    PartyDetailsListReportWriter, PartyDetailsListRequest,
};
use crate::sim::{FixedText, SessionKey};
use std::collections::{BTreeMap, HashMap};

/// Largest NoAffectedOrders group of one OrderMassActionReport fragment.
pub const MAX_AFFECTED_PER_FRAGMENT: usize = 100;
/// ExecRestatementReason of a Cancel on Disconnect.
pub const RESTATEMENT_COD: u8 = 100;
/// BusinessRejectReason 1 (unknown ID) for an unregistered PartyDetailsListReqID.
pub const BUSINESS_REJECT_UNKNOWN_ID: u16 = 1;

/// A registered PartyDetailsDefinitionRequest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartyDef {
    pub smp_id: Option<u64>,
    /// SelfMatchPreventionInstruction: `b'N'` cancel newest, `b'O'` (or absent) cancel oldest.
    pub smp_instruction: Option<u8>,
}

/// State of the non-limit features.
#[derive(Debug, Default)]
pub(super) struct Ext {
    /// Business messages must name a registered PartyDetailsListReqID.
    pub parties_required: bool,
    pub parties: BTreeMap<u64, PartyDef>,
    pub smp_active: bool,
    /// Protection band of market and stop-with-protection orders, in ticks (0: 10 ticks).
    pub protection_ticks: i64,
    /// Busts/corrections injected: every Nth trade.
    pub trade_faults_on: bool,
    pub bust_every: u64,
    pub correct_every: u64,
    pub trade_count: u64,
    /// Reports of each trade (only while trade faults are on, for busts and corrections).
    pub trades: HashMap<u64, Vec<(SessionKey, Report)>>,
    pub next_list_report_id: u64,
    /// Mass quotes and user-defined spreads.
    pub quotes: super::quotes::Quotes,
}

/// What a BusinessReject (521) says.
#[derive(Debug, Clone, Copy)]
pub struct BusinessRejectInfo {
    pub reason: u16,
    pub ref_tag: Option<u16>,
    pub ref_seq: u32,
    pub ref_msg_type: [u8; 2],
    pub text: &'static str,
    pub party: u64,
    pub sender_id: FixedText<20>,
    pub location: FixedText<5>,
}

impl MatchingEngine {
    /// A BusinessReject report (the gateway's messaging controls use it).
    pub fn business_reject(&mut self, b: BusinessRejectInfo, now: u64) -> Report {
        let req = Req {
            cl_ord_id: FixedText::default(),
            sender_id: b.sender_id,
            location: b.location,
            party: b.party,
            order_request_id: 0,
            security_id: 0,
            side: 0,
            price: None,
            qty: 0,
            ord_type: 0,
            tif: None,
        };
        let kind = ReportKind::BusinessReject {
            reason: b.reason,
            ref_tag: b.ref_tag,
            ref_seq: b.ref_seq,
            ref_msg_type: b.ref_msg_type,
            text: b.text,
        };
        self.report(kind, &req, 0, now)
    }

    /// Market segment, security group and spread legs of an instrument (which must exist).
    pub fn set_instrument_info(&mut self, info: &InstrumentInfo) {
        if let Some(book) = self.books.get_mut(&info.security_id) {
            book.segment = info.market_segment_id;
            book.group = FixedText::new(info.security_group.as_bytes());
            book.legs = info.legs.clone();
        }
    }

    /// Business messages must name a PartyDetailsListReqID registered with a
    /// PartyDetailsDefinitionRequest (or [`MatchingEngine::register_party`]); others get a
    /// BusinessReject (521, reason 1 unknown ID, RefTagID 1505).
    pub fn set_parties_required(&mut self, on: bool) {
        self.ext.parties_required = on;
    }

    /// A pre-registered party definition.
    pub fn register_party(&mut self, id: u64, def: PartyDef) {
        self.ext.smp_active |= def.smp_id.is_some();
        self.ext.parties.insert(id, def);
    }

    /// Protection band of market-with-protection and stop-with-protection orders, in ticks.
    pub fn set_protection_ticks(&mut self, ticks: i64) {
        self.ext.protection_ticks = ticks;
    }

    /// Fault injection: bust every `bust_every`-th trade and correct every `correct_every`-th
    /// (by one tick) right after it prints (0: never). Keeps every trade for
    /// [`MatchingEngine::bust_trade`] / [`MatchingEngine::correct_trade`].
    pub fn set_trade_faults(&mut self, bust_every: u64, correct_every: u64, keep: bool) {
        self.ext.bust_every = bust_every;
        self.ext.correct_every = correct_every;
        self.ext.trade_faults_on = keep || bust_every > 0 || correct_every > 0;
    }

    pub(super) fn party_known(
        &mut self,
        owner: SessionKey,
        msg: &Message<'_>,
        now: u64,
        out: &mut Vec<(SessionKey, Report)>,
    ) -> bool {
        let (party, seq, msg_type, sender, location) = match msg {
            Message::NewOrderSingle(m) => (
                m.party_details_list_req_id(),
                m.seq_num(),
                *b"D\0",
                m.sender_id().as_bytes(),
                m.location().as_bytes(),
            ),
            Message::OrderCancelReplaceRequest(m) => (
                m.party_details_list_req_id(),
                m.seq_num(),
                *b"G\0",
                m.sender_id().as_bytes(),
                m.location().as_bytes(),
            ),
            Message::OrderCancelRequest(m) => (
                m.party_details_list_req_id(),
                m.seq_num(),
                *b"F\0",
                m.sender_id().as_bytes(),
                m.location().as_bytes(),
            ),
            Message::OrderMassActionRequest(m) => (
                m.party_details_list_req_id(),
                m.seq_num(),
                *b"CA",
                m.sender_id().as_bytes(),
                m.location().as_bytes(),
            ),
            _ => return true,
        };
        if self.ext.parties.contains_key(&party) {
            return true;
        }
        let req = Req {
            cl_ord_id: FixedText::default(),
            sender_id: FixedText::new(sender),
            location: FixedText::new(location),
            party,
            order_request_id: 0,
            security_id: 0,
            side: 0,
            price: None,
            qty: 0,
            ord_type: 0,
            tif: None,
        };
        let kind = ReportKind::BusinessReject {
            reason: BUSINESS_REJECT_UNKNOWN_ID,
            ref_tag: Some(1505),
            ref_seq: seq,
            ref_msg_type: msg_type,
            text: "PartyDetailsListReqID not registered",
        };
        let r = self.report(kind, &req, 0, now);
        out.push((owner, r));
        false
    }

    pub(super) fn smp_of(&self, party: u64) -> (u64, bool) {
        if !self.ext.smp_active {
            return (0, false);
        }
        match self.ext.parties.get(&party) {
            Some(PartyDef {
                smp_id: Some(id),
                smp_instruction,
            }) => (*id, *smp_instruction == Some(b'N')),
            _ => (0, false),
        }
    }

    pub(super) fn protection_limit(&self, security_id: i32, side: u8, px: i64) -> i64 {
        let tick = self.books.get(&security_id).map_or(1, |b| b.tick);
        let ticks = if self.ext.protection_ticks > 0 {
            self.ext.protection_ticks
        } else {
            10
        };
        if side == BUY {
            px.saturating_add(ticks.saturating_mul(tick))
        } else {
            px.saturating_sub(ticks.saturating_mul(tick))
        }
    }

    /// CME refuses a buy stop at or below the last trade (a sell stop at or above it).
    pub(super) fn stop_already_through(&self, o: &RestingOrder) -> Option<&'static str> {
        let last = self.books.get(&o.security_id)?.last_px?;
        let stop = o.stop_px?;
        if o.side == BUY && stop <= last {
            return Some("buy StopPx must be above the last trade price");
        }
        if o.side == SELL && stop >= last {
            return Some("sell StopPx must be below the last trade price");
        }
        None
    }

    /// Triggers the stops a trade reached: each gets a second ExecutionReportNew, then trades
    /// as a limit order (stop-limit: at its price; stop with protection: StopPx plus the
    /// protection band). Triggered orders may trade and trigger more stops.
    pub(super) fn trigger_stops(
        &mut self,
        security_id: i32,
        now: u64,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        loop {
            let Some(book) = self.books.get_mut(&security_id) else {
                return;
            };
            if book.stops.is_empty() {
                return;
            }
            let Some(last) = book.last_px else {
                return;
            };
            let orders = &self.orders;
            let hit = book.stops.iter().position(|id| {
                orders.get(id).is_some_and(|o| match o.stop_px {
                    Some(s) if o.side == BUY => last >= s,
                    Some(s) => last <= s,
                    None => true,
                })
            });
            let Some(i) = hit else {
                return;
            };
            let id = book.stops.remove(i);
            let Some(mut o) = self.orders.remove(&id) else {
                continue;
            };
            o.pending_stop = false;
            if o.ord_type == STOP_PROTECT {
                o.price = self.protection_limit(security_id, o.side, o.stop_px.unwrap_or(last));
            }
            let ack = self.order_report(ReportKind::New, &o, now);
            out.push((o.owner, ack));
            self.match_incoming(&mut o, now, out);
            self.finish_incoming(o, now, out);
        }
    }

    /// Reports of one spread match: TradeSpread (526) to both sides, then one SpreadLeg (527)
    /// per leg and side. Leg 1 prints at its book's last price (the spread price when none),
    /// leg 2 at leg 1 minus the spread price.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn spread_trade(
        &mut self,
        active: &RestingOrder,
        passive: &RestingOrder,
        px: i64,
        qty: u32,
        trade_id: u64,
        now: u64,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        let legs = self
            .books
            .get(&active.security_id)
            .map(|b| b.legs.clone())
            .unwrap_or_default();
        let first_px = legs
            .first()
            .and_then(|l| self.books.get(&l.security_id))
            .and_then(|b| b.last_px)
            .unwrap_or(px);
        let start = self.aux.legs.len();
        let mut first = None;
        for (side_of, is_active) in [(active, true), (passive, false)] {
            let legs_start = u16::try_from(self.aux.legs.len()).unwrap_or(u16::MAX);
            let mut leg_reports = Vec::with_capacity(legs.len());
            for (i, leg) in legs.iter().enumerate() {
                let leg_px = if i == 0 { first_px } else { first_px - px };
                let leg_side = match (leg.same_side, side_of.side) {
                    (true, s) => s,
                    (false, BUY) => SELL,
                    (false, _) => BUY,
                };
                let leg_qty = qty.saturating_mul(leg.ratio.max(1));
                let leg_trade = self.next_trade_id;
                self.next_trade_id += 1;
                self.aux.legs.push(LegFill {
                    security_id: leg.security_id,
                    last_px: leg_px,
                    last_qty: leg_qty,
                    side: leg_side,
                    trade_id: leg_trade,
                });
                let mut r = self.order_report(
                    ReportKind::SpreadLeg {
                        last_px: leg_px,
                        last_qty: leg_qty,
                        sec_exec_id: leg_trade,
                    },
                    side_of,
                    now,
                );
                r.security_id = leg.security_id;
                r.side = leg_side;
                r.cum_qty = side_of.cum_qty.saturating_mul(leg.ratio.max(1));
                leg_reports.push((side_of.owner, r));
            }
            let kind = ReportKind::TradeSpread {
                last_px: px,
                last_qty: qty,
                sec_exec_id: trade_id,
                aggressor: is_active,
                legs_start,
                legs_count: u8::try_from(legs.len()).unwrap_or(u8::MAX),
            };
            let r = self.order_report(kind, side_of, now);
            out.push((side_of.owner, r));
            out.extend(leg_reports);
            if first.is_none() {
                first = Some(start);
            }
        }
        if self.ext.trade_faults_on {
            self.after_trade(trade_id, now, out);
        }
    }

    /// Keeps a trade's reports (from the last ones in `out`) and busts/corrects it when the
    /// fault says so.
    pub(super) fn after_trade(
        &mut self,
        trade_id: u64,
        now: u64,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        let of_trade: Vec<(SessionKey, Report)> = out
            .iter()
            .filter(|(_, r)| match r.kind {
                ReportKind::Trade { sec_exec_id, .. }
                | ReportKind::TradeSpread { sec_exec_id, .. } => sec_exec_id == trade_id,
                _ => false,
            })
            .copied()
            .collect();
        // The spread's leg reports follow their spread report.
        let mut kept = Vec::new();
        let mut take = false;
        for (k, r) in out.iter() {
            match r.kind {
                ReportKind::Trade { sec_exec_id, .. }
                | ReportKind::TradeSpread { sec_exec_id, .. } => {
                    take = sec_exec_id == trade_id;
                    if take {
                        kept.push((*k, *r));
                    }
                }
                ReportKind::SpreadLeg { .. } if take => kept.push((*k, *r)),
                _ => take = false,
            }
        }
        debug_assert!(kept.len() >= of_trade.len());
        self.ext.trades.insert(trade_id, kept);
        self.ext.trade_count += 1;
        let n = self.ext.trade_count;
        if self.ext.bust_every > 0 && n.is_multiple_of(self.ext.bust_every) {
            self.bust_trade(trade_id, now, out);
        } else if self.ext.correct_every > 0 && n.is_multiple_of(self.ext.correct_every) {
            let tick = out
                .last()
                .and_then(|(_, r)| self.books.get(&r.security_id))
                .map_or(1, |b| b.tick);
            let px = of_trade.first().map_or(0, |(_, r)| match r.kind {
                ReportKind::Trade { last_px, .. } | ReportKind::TradeSpread { last_px, .. } => {
                    last_px
                }
                _ => 0,
            });
            self.correct_trade(trade_id, px + tick, now, out);
        }
    }

    /// Busts a kept trade: TradeAddendum (548, or 549 + 550 per leg for a spread) with
    /// ExecType H to every side. False if the trade is not kept.
    pub fn bust_trade(
        &mut self,
        sec_exec_id: u64,
        now: u64,
        out: &mut Vec<(SessionKey, Report)>,
    ) -> bool {
        self.addendum(sec_exec_id, b'H', None, now, out)
    }

    /// Corrects a kept trade's price to `new_px`: TradeAddendum with ExecType G.
    pub fn correct_trade(
        &mut self,
        sec_exec_id: u64,
        new_px: i64,
        now: u64,
        out: &mut Vec<(SessionKey, Report)>,
    ) -> bool {
        self.addendum(sec_exec_id, b'G', Some(new_px), now, out)
    }

    fn addendum(
        &mut self,
        sec_exec_id: u64,
        exec_type: u8,
        new_px: Option<i64>,
        now: u64,
        out: &mut Vec<(SessionKey, Report)>,
    ) -> bool {
        let Some(reports) = self.ext.trades.remove(&sec_exec_id) else {
            return false;
        };
        let new_id = self.next_trade_id;
        self.next_trade_id += 1;
        for (k, r) in &reports {
            let (template, last_px, last_qty, orig) = match r.kind {
                ReportKind::Trade {
                    last_px,
                    last_qty,
                    sec_exec_id,
                    ..
                } => (548, new_px.unwrap_or(last_px), last_qty, sec_exec_id),
                ReportKind::TradeSpread {
                    last_px,
                    last_qty,
                    sec_exec_id,
                    ..
                } => (549, new_px.unwrap_or(last_px), last_qty, sec_exec_id),
                ReportKind::SpreadLeg {
                    last_px,
                    last_qty,
                    sec_exec_id,
                } => (550, last_px, last_qty, sec_exec_id),
                _ => continue,
            };
            let mut a = *r;
            a.kind = ReportKind::Addendum {
                template,
                exec_type,
                last_px,
                last_qty,
                sec_exec_id: if exec_type == b'G' { new_id } else { orig },
                orig_sec_exec_id: orig,
            };
            a.exec_id = self.exec_id();
            a.transact_time = now;
            out.push((*k, a));
        }
        if exec_type == b'G' {
            self.ext.trades.insert(new_id, reports);
        }
        true
    }

    /// The close of the trading day `trade_date` (days since the Unix epoch): every Day order
    /// and every GTD order expiring on or before it is eliminated (524); GTC orders stay.
    pub fn close_day(&mut self, trade_date: u16, now: u64, out: &mut Vec<(SessionKey, Report)>) {
        self.aux.clear();
        let mut ids: Vec<u64> = self
            .orders
            .values()
            .filter(|o| match o.time_in_force {
                Some(TIF_GTC) => false,
                Some(TIF_GTD) => o.expire_date.is_some_and(|d| d <= trade_date),
                _ => true,
            })
            .map(|o| o.order_id)
            .collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(o) = self.orders.get(&id).copied() {
                self.remove_order(&o);
                let r = self.order_report(ReportKind::Elimination, &o, now);
                out.push((o.owner, r));
            }
        }
    }

    /// Cancel on Disconnect for `owner`: its resting orders other than GTC and GTD are
    /// cancelled with ExecRestatementReason 100. Returns how many.
    pub fn cancel_on_disconnect(
        &mut self,
        owner: SessionKey,
        now: u64,
        out: &mut Vec<(SessionKey, Report)>,
    ) -> usize {
        self.aux.clear();
        let mut ids: Vec<u64> = self
            .orders
            .values()
            .filter(|o| o.owner == owner)
            .filter(|o| !matches!(o.time_in_force, Some(TIF_GTC) | Some(TIF_GTD)))
            .map(|o| o.order_id)
            .collect();
        ids.sort_unstable();
        for &id in &ids {
            if let Some(o) = self.orders.get(&id).copied() {
                self.remove_order(&o);
                let kind = ReportKind::Cancel {
                    text: "COD",
                    restatement: Some(RESTATEMENT_COD),
                    on_behalf: None,
                };
                let r = self.order_report(kind, &o, now);
                out.push((owner, r));
            }
        }
        ids.len()
    }

    fn ord_status(o: &RestingOrder) -> u8 {
        if o.cum_qty > 0 {
            b'1'
        } else {
            b'0'
        }
    }

    pub(super) fn order_status(
        &mut self,
        owner: SessionKey,
        now: u64,
        m: &OrderStatusRequest<'_>,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        let req_id = Some(m.ord_status_req_id());
        let found = self
            .orders
            .get(&m.order_id())
            .filter(|o| o.owner == owner)
            .copied();
        let r = match found {
            Some(o) => {
                let kind = ReportKind::Status {
                    ord_status: Self::ord_status(&o),
                    ord_status_req_id: req_id,
                    mass_status_req_id: None,
                    last: true,
                    text: "",
                };
                self.order_report(kind, &o, now)
            }
            None => {
                let req = Req {
                    cl_ord_id: FixedText::default(),
                    sender_id: FixedText::new(m.sender_id().as_bytes()),
                    location: FixedText::new(m.location().as_bytes()),
                    party: m.party_details_list_req_id(),
                    order_request_id: 0,
                    security_id: 0,
                    side: 0,
                    price: None,
                    qty: 0,
                    ord_type: 0,
                    tif: None,
                };
                let kind = ReportKind::Status {
                    ord_status: b'U',
                    ord_status_req_id: req_id,
                    mass_status_req_id: None,
                    last: true,
                    text: "unknown order",
                };
                self.report(kind, &req, m.order_id(), now)
            }
        };
        out.push((owner, r));
    }

    /// Does order `o` fall in the scope? `scope`: 1 instrument, 3/10 instrument group, 9/100
    /// market segment, 7 all.
    fn in_scope(
        &self,
        o: &RestingOrder,
        scope: u8,
        security: Option<i32>,
        group: &[u8],
        segment: Option<u8>,
    ) -> bool {
        let book = self.books.get(&o.security_id);
        match scope {
            1 => security == Some(o.security_id),
            3 | 10 => book.is_some_and(|b| b.group.as_bytes() == group),
            9 | 100 => book.is_some_and(|b| b.segment.is_some() && b.segment == segment),
            _ => true,
        }
    }

    pub(super) fn mass_status(
        &mut self,
        owner: SessionKey,
        now: u64,
        m: &OrderMassStatusRequest<'_>,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        let scope = m.mass_status_req_type();
        let group = FixedText::<6>::new(m.security_group().as_bytes());
        let tif = m.time_in_force();
        let mut ids: Vec<u64> = self
            .orders
            .values()
            .filter(|o| o.owner == owner)
            .filter(|o| {
                self.in_scope(
                    o,
                    scope,
                    m.security_id(),
                    group.as_bytes(),
                    m.market_segment_id(),
                )
            })
            .filter(|o| tif.is_none_or(|t| o.time_in_force.unwrap_or(0) == t))
            .map(|o| o.order_id)
            .collect();
        ids.sort_unstable();
        let mass_id = Some(m.mass_status_req_id());
        if ids.is_empty() {
            let req = Req {
                cl_ord_id: FixedText::default(),
                sender_id: FixedText::new(m.sender_id().as_bytes()),
                location: FixedText::new(m.location().as_bytes()),
                party: m.party_details_list_req_id(),
                order_request_id: 0,
                security_id: m.security_id().unwrap_or(0),
                side: 0,
                price: None,
                qty: 0,
                ord_type: 0,
                tif: None,
            };
            let kind = ReportKind::Status {
                ord_status: b'U',
                ord_status_req_id: None,
                mass_status_req_id: mass_id,
                last: true,
                text: "no orders",
            };
            let r = self.report(kind, &req, 0, now);
            out.push((owner, r));
            return;
        }
        let n = ids.len();
        for (i, id) in ids.into_iter().enumerate() {
            if let Some(o) = self.orders.get(&id).copied() {
                let kind = ReportKind::Status {
                    ord_status: Self::ord_status(&o),
                    ord_status_req_id: None,
                    mass_status_req_id: mass_id,
                    last: i + 1 == n,
                    text: "",
                };
                let r = self.order_report(kind, &o, now);
                out.push((owner, r));
            }
        }
    }

    pub(super) fn define_party(
        &mut self,
        owner: SessionKey,
        now: u64,
        m: &PartyDetailsDefinitionRequest<'_>,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        let id = m.party_details_list_req_id();
        let def = PartyDef {
            smp_id: m.self_match_prevention_id(),
            smp_instruction: m.self_match_prevention_instruction(),
        };
        // Definitions cannot be modified: a second definition of an id is rejected.
        let status = if id == 0 || self.ext.parties.get(&id).is_some_and(|d| *d != def) {
            2
        } else {
            self.register_party(id, def);
            0
        };
        let req = Req {
            cl_ord_id: FixedText::default(),
            sender_id: FixedText::default(),
            location: FixedText::default(),
            party: id,
            order_request_id: 0,
            security_id: 0,
            side: 0,
            price: None,
            qty: 0,
            ord_type: 0,
            tif: None,
        };
        let kind = ReportKind::PartyAck {
            smp_id: def.smp_id,
            smp_instruction: def.smp_instruction,
            status,
        };
        let r = self.report(kind, &req, 0, now);
        out.push((owner, r));
    }

    pub(super) fn list_parties(
        &mut self,
        owner: SessionKey,
        now: u64,
        _m: &PartyDetailsListRequest<'_>,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        self.ext.next_list_report_id += 1;
        let report_id = self.ext.next_list_report_id;
        let defs: Vec<(u64, PartyDef)> = self.ext.parties.iter().map(|(k, v)| (*k, *v)).collect();
        let total = u16::try_from(defs.len()).unwrap_or(u16::MAX);
        let n = defs.len();
        for (i, (id, def)) in defs.into_iter().enumerate() {
            let req = Req {
                cl_ord_id: FixedText::default(),
                sender_id: FixedText::default(),
                location: FixedText::default(),
                party: id,
                order_request_id: 0,
                security_id: 0,
                side: 0,
                price: None,
                qty: 0,
                ord_type: 0,
                tif: None,
            };
            let kind = ReportKind::PartyList {
                report_id,
                total,
                last: i + 1 == n,
                smp_id: def.smp_id,
                smp_instruction: def.smp_instruction,
            };
            let r = self.report(kind, &req, 0, now);
            out.push((owner, r));
        }
        if n == 0 {
            let req = Req {
                cl_ord_id: FixedText::default(),
                sender_id: FixedText::default(),
                location: FixedText::default(),
                party: 0,
                order_request_id: 0,
                security_id: 0,
                side: 0,
                price: None,
                qty: 0,
                ord_type: 0,
                tif: None,
            };
            let kind = ReportKind::PartyList {
                report_id,
                total: 0,
                last: true,
                smp_id: None,
                smp_instruction: None,
            };
            let r = self.report(kind, &req, 0, now);
            out.push((owner, r));
        }
    }

    /// OrderMassActionRequest: scope 1 (SecurityID), 9 (MarketSegmentID), 10 (SecurityGroup),
    /// filtered by Side, OrdType and TimeInForce; one OrderMassActionReport per 100 affected
    /// orders (same MassActionReportID, LastFragment on the last), then a cancel per order.
    pub(super) fn mass_action(
        &mut self,
        owner: SessionKey,
        now: u64,
        m: &OrderMassActionRequest<'_>,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        let scope = m.mass_action_scope();
        let security = m.security_id();
        let segment = m.market_segment_id();
        let group = FixedText::<6>::new(m.security_group().as_bytes());
        let (side, ord_type, tif) = (m.side(), m.ord_type(), m.time_in_force());
        let req = Req {
            cl_ord_id: FixedText::default(),
            sender_id: FixedText::new(m.sender_id().as_bytes()),
            location: FixedText::new(m.location().as_bytes()),
            party: m.party_details_list_req_id(),
            order_request_id: m.order_request_id(),
            security_id: security.unwrap_or(0),
            side: side.unwrap_or(0),
            price: None,
            qty: 0,
            ord_type: 0,
            tif: None,
        };
        let report_id = self.exec_id();
        let kind = |accepted: bool, reject: Option<u8>, total: u32, last: bool, start, count| {
            ReportKind::MassAction {
                accepted,
                reject_reason: reject,
                scope,
                total_affected: total,
                mass_action_report_id: report_id,
                security_filter: security,
                side_filter: side,
                market_segment: segment,
                security_group: group,
                ord_type_filter: ord_type,
                tif_filter: tif,
                last_fragment: last,
                affected_start: start,
                affected_count: count,
            }
        };
        if let super::EngineMode::Benchmark { .. } = self.mode {
            let r = self.report(kind(true, None, 0, true, 0, 0), &req, 0, now);
            out.push((owner, r));
            return;
        }
        // MassActionRejectReason: 0 not supported, 1 unknown security, 8 unknown market
        // segment, 9 unknown security group, 99 other.
        let reject = match scope {
            1 => match security {
                None => Some(1),
                Some(s) if !self.books.contains_key(&s) => Some(1),
                _ => None,
            },
            9 => match segment {
                Some(seg) if self.books.values().any(|b| b.segment == Some(seg)) => None,
                _ => Some(8),
            },
            10 => {
                if !group.is_empty() && self.books.values().any(|b| b.group == group) {
                    None
                } else {
                    Some(9)
                }
            }
            _ => Some(0),
        };
        let reject = reject.or_else(|| {
            let bad_ord_type = ord_type.is_some_and(|t| t != b'2' && t != b'4');
            let bad_tif = tif.is_some_and(|t| ![0, 1, 6].contains(&t));
            (bad_ord_type || bad_tif).then_some(99)
        });
        if reject.is_some() {
            let r = self.report(kind(false, reject, 0, true, 0, 0), &req, 0, now);
            out.push((owner, r));
            return;
        }
        let mut ids = std::mem::take(&mut self.scratch);
        ids.clear();
        ids.extend(
            self.orders
                .values()
                .filter(|o| o.owner == owner)
                .filter(|o| self.in_scope(o, scope, security, group.as_bytes(), segment))
                .filter(|o| side.is_none_or(|s| o.side == s))
                .filter(|o| ord_type.is_none_or(|t| o.ord_type == t))
                .filter(|o| tif.is_none_or(|t| o.time_in_force.unwrap_or(0) == t))
                .map(|o| o.order_id),
        );
        ids.sort_unstable();
        let total = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        let mut cancelled = Vec::with_capacity(ids.len());
        for &id in &ids {
            if let Some(o) = self.orders.get(&id).copied() {
                self.remove_order(&o);
                self.aux.affected.push(AffectedOrder {
                    cl_ord_id: o.cl_ord_id,
                    order_id: o.order_id,
                    cxl_qty: o.leaves_qty(),
                });
                cancelled.push(o);
            }
        }
        let chunks = cancelled.len().div_ceil(MAX_AFFECTED_PER_FRAGMENT).max(1);
        for c in 0..chunks {
            let start = c * MAX_AFFECTED_PER_FRAGMENT;
            let count =
                (cancelled.len() - start.min(cancelled.len())).min(MAX_AFFECTED_PER_FRAGMENT);
            let k = kind(
                true,
                None,
                total,
                c + 1 == chunks,
                u32::try_from(start).unwrap_or(u32::MAX),
                u8::try_from(count).unwrap_or(u8::MAX),
            );
            let r = self.report(k, &req, 0, now);
            out.push((owner, r));
        }
        for o in &cancelled {
            let kind = ReportKind::Cancel {
                text: "MASS",
                restatement: None,
                on_behalf: None,
            };
            let r = self.order_report(kind, o, now);
            out.push((owner, r));
        }
        self.scratch = ids;
    }

    /// Live orders of `owner`, by OrderID (tests and displays).
    pub fn orders_of(&self, owner: SessionKey) -> Vec<RestingOrder> {
        let mut v: Vec<RestingOrder> = self
            .orders
            .values()
            .filter(|o| o.owner == owner)
            .copied()
            .collect();
        v.sort_unstable_by_key(|o| o.order_id);
        v
    }
}

impl Report {
    /// Encodes the report kinds beyond the plain order flow.
    pub(super) fn encode_ext(
        &self,
        seq: u32,
        uuid: u64,
        sending_time: u64,
        buf: &mut [u8],
        aux: &ReportAux,
    ) -> Result<usize, EncodeError> {
        let mut ib = itoa::Buffer::new();
        let exec_id = ib.format(self.exec_id);
        let ord_type = (self.ord_type != 0).then_some(self.ord_type);
        let px = self.price.unwrap_or(0);
        let expire = self.expire_date;
        let min_qty = (self.min_qty > 0).then_some(self.min_qty);
        match self.kind {
            ReportKind::Elimination => {
                let mut w = ExecutionReportEliminationWriter::new(buf)?;
                w.set_exec_id(exec_id)?
                    .set_sender_id(self.sender_id.as_bytes())?
                    .set_cl_ord_id(self.cl_ord_id.as_bytes())?
                    .set_location(self.location.as_bytes())?;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(self.party_details_list_req_id)
                    .set_order_id(self.order_id)
                    .set_price(px)
                    .set_stop_px(self.stop_px)
                    .set_transact_time(self.transact_time)
                    .set_sending_time_epoch(sending_time)
                    .set_order_request_id(self.order_request_id)
                    .set_security_id(self.security_id)
                    .set_cum_qty(self.cum_qty)
                    .set_order_qty(self.order_qty)
                    .set_min_qty(min_qty)
                    .set_expire_date(expire)
                    .set_ord_type(ord_type)
                    .set_side(self.side)
                    .set_time_in_force(self.time_in_force);
                Ok(w.finish())
            }
            ReportKind::TradeSpread {
                last_px,
                last_qty,
                sec_exec_id,
                aggressor,
                legs_start,
                legs_count,
            } => {
                let start = usize::from(legs_start);
                let legs = aux
                    .legs
                    .get(start..start + usize::from(legs_count))
                    .unwrap_or_default();
                let n = u8::try_from(legs.len()).unwrap_or(u8::MAX);
                let mut w = ExecutionReportTradeSpreadWriter::with_counts(buf, [0, n, 0])?;
                for (i, l) in legs.iter().enumerate() {
                    if let Some(mut e) = w.leg_mut(i) {
                        e.set_leg_exec_id(l.trade_id)
                            .set_leg_last_px(l.last_px)
                            .set_leg_security_id(l.security_id)
                            .set_leg_trade_id(
                                u32::try_from(l.trade_id % 4_000_000_000).unwrap_or(0),
                            )
                            .set_leg_last_qty(l.last_qty)
                            .set_leg_side(l.side);
                    }
                }
                w.set_exec_id(exec_id)?
                    .set_sender_id(self.sender_id.as_bytes())?
                    .set_cl_ord_id(self.cl_ord_id.as_bytes())?
                    .set_location(self.location.as_bytes())?;
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
                    .set_ord_status(if self.leaves_qty == 0 { 2 } else { 1 })
                    .set_ord_type(ord_type)
                    .set_side(self.side)
                    .set_time_in_force(self.time_in_force)
                    .set_aggressor_indicator(u8::from(aggressor))
                    .set_total_num_securities(n);
                Ok(w.finish())
            }
            ReportKind::SpreadLeg {
                last_px,
                last_qty,
                sec_exec_id,
            } => {
                let mut w = ExecutionReportTradeSpreadLegWriter::new(buf)?;
                w.set_exec_id(exec_id)?
                    .set_sender_id(self.sender_id.as_bytes())?
                    .set_cl_ord_id(self.cl_ord_id.as_bytes())?
                    .set_location(self.location.as_bytes())?;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(self.party_details_list_req_id)
                    .set_last_px(last_px)
                    .set_order_id(self.order_id)
                    .set_transact_time(self.transact_time)
                    .set_sending_time_epoch(sending_time)
                    .set_sec_exec_id(sec_exec_id)
                    .set_security_id(self.security_id)
                    .set_last_qty(last_qty)
                    .set_cum_qty(self.cum_qty)
                    .set_side_trade_id(u32::try_from(sec_exec_id % 4_000_000_000).unwrap_or(0))
                    .set_ord_status(if self.leaves_qty == 0 { 2 } else { 1 })
                    .set_ord_type(ord_type)
                    .set_side(self.side);
                Ok(w.finish())
            }
            ReportKind::Addendum {
                template,
                exec_type,
                last_px,
                last_qty,
                sec_exec_id,
                orig_sec_exec_id,
            } => {
                let side_trade = u32::try_from(sec_exec_id % 4_000_000_000).unwrap_or(0);
                let orig_side_trade = u32::try_from(orig_sec_exec_id % 4_000_000_000).ok();
                let status = if exec_type == b'H' { b'H' } else { b'G' };
                match template {
                    548 => {
                        let mut w = ExecutionReportTradeAddendumOutrightWriter::new(buf)?;
                        w.set_exec_id(exec_id)?
                            .set_sender_id(self.sender_id.as_bytes())?
                            .set_cl_ord_id(self.cl_ord_id.as_bytes())?
                            .set_location(self.location.as_bytes())?;
                        w.set_seq_num(seq)
                            .set_uuid(uuid)
                            .set_party_details_list_req_id(self.party_details_list_req_id)
                            .set_last_px(last_px)
                            .set_order_id(self.order_id)
                            .set_transact_time(self.transact_time)
                            .set_sending_time_epoch(sending_time)
                            .set_sec_exec_id(sec_exec_id)
                            .set_orig_secondary_execution_id(Some(orig_sec_exec_id))
                            .set_security_id(self.security_id)
                            .set_last_qty(last_qty)
                            .set_side_trade_id(side_trade)
                            .set_orig_side_trade_id(orig_side_trade)
                            .set_ord_status(status)
                            .set_exec_type(exec_type)
                            .set_side(self.side);
                        Ok(w.finish())
                    }
                    549 => {
                        let mut w = ExecutionReportTradeAddendumSpreadWriter::new(buf)?;
                        w.set_exec_id(exec_id)?
                            .set_sender_id(self.sender_id.as_bytes())?
                            .set_cl_ord_id(self.cl_ord_id.as_bytes())?
                            .set_location(self.location.as_bytes())?;
                        w.set_seq_num(seq)
                            .set_uuid(uuid)
                            .set_party_details_list_req_id(self.party_details_list_req_id)
                            .set_last_px(last_px)
                            .set_order_id(self.order_id)
                            .set_transact_time(self.transact_time)
                            .set_sending_time_epoch(sending_time)
                            .set_sec_exec_id(sec_exec_id)
                            .set_orig_secondary_execution_id(Some(orig_sec_exec_id))
                            .set_security_id(self.security_id)
                            .set_last_qty(last_qty)
                            .set_side_trade_id(side_trade)
                            .set_orig_side_trade_id(orig_side_trade)
                            .set_ord_status(status)
                            .set_exec_type(exec_type)
                            .set_ord_type(ord_type)
                            .set_side(self.side);
                        Ok(w.finish())
                    }
                    _ => {
                        let mut w = ExecutionReportTradeAddendumSpreadLegWriter::new(buf)?;
                        w.set_exec_id(exec_id)?
                            .set_sender_id(self.sender_id.as_bytes())?
                            .set_cl_ord_id(self.cl_ord_id.as_bytes())?
                            .set_location(self.location.as_bytes())?;
                        w.set_seq_num(seq)
                            .set_uuid(uuid)
                            .set_party_details_list_req_id(self.party_details_list_req_id)
                            .set_last_px(last_px)
                            .set_order_id(self.order_id)
                            .set_transact_time(self.transact_time)
                            .set_sending_time_epoch(sending_time)
                            .set_sec_exec_id(sec_exec_id)
                            .set_orig_secondary_execution_id(Some(orig_sec_exec_id))
                            .set_security_id(self.security_id)
                            .set_last_qty(last_qty)
                            .set_side_trade_id(side_trade)
                            .set_orig_side_trade_id(orig_side_trade)
                            .set_ord_status(status)
                            .set_exec_type(exec_type)
                            .set_side(self.side);
                        Ok(w.finish())
                    }
                }
            }
            ReportKind::Status {
                ord_status,
                ord_status_req_id,
                mass_status_req_id,
                last,
                text,
            } => {
                let mut w = ExecutionReportStatusWriter::new(buf)?;
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
                    .set_stop_px(self.stop_px)
                    .set_transact_time(self.transact_time)
                    .set_sending_time_epoch(sending_time)
                    .set_order_request_id(self.order_request_id)
                    .set_ord_status_req_id(ord_status_req_id)
                    .set_mass_status_req_id(mass_status_req_id)
                    .set_security_id(self.security_id)
                    .set_order_qty(self.order_qty)
                    .set_cum_qty(self.cum_qty)
                    .set_leaves_qty(self.leaves_qty)
                    .set_min_qty(min_qty)
                    .set_expire_date(expire)
                    .set_ord_status(ord_status)
                    .set_ord_type(ord_type)
                    .set_side(self.side)
                    .set_time_in_force(self.time_in_force)
                    .set_last_rpt_requested(mass_status_req_id.map(|_| u8::from(last)));
                Ok(w.finish())
            }
            ReportKind::PartyAck {
                smp_id,
                smp_instruction,
                status,
            } => {
                let mut w = PartyDetailsDefinitionRequestAckWriter::new(buf)?;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(self.party_details_list_req_id)
                    .set_sending_time_epoch(sending_time)
                    .set_self_match_prevention_id(smp_id)
                    .set_self_match_prevention_instruction(smp_instruction)
                    .set_party_detail_request_status(status)
                    .set_list_update_action(b'A')
                    .set_party_detail_definition_status(status);
                Ok(w.finish())
            }
            ReportKind::PartyList {
                report_id,
                total,
                last,
                smp_id,
                smp_instruction,
            } => {
                let mut w = PartyDetailsListReportWriter::new(buf)?;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(self.party_details_list_req_id)
                    .set_party_details_list_report_id(report_id)
                    .set_sending_time_epoch(sending_time)
                    .set_self_match_prevention_id(smp_id)
                    .set_self_match_prevention_instruction(smp_instruction)
                    .set_tot_num_parties(total)
                    .set_request_result(0)
                    .set_last_fragment(u8::from(last));
                Ok(w.finish())
            }
            ReportKind::BusinessReject {
                reason,
                ref_tag,
                ref_seq,
                ref_msg_type,
                text,
            } => {
                let mut w = BusinessRejectWriter::new(buf)?;
                let n = ref_msg_type.iter().position(|&b| b == 0).unwrap_or(2);
                w.set_text(text)?
                    .set_sender_id(self.sender_id.as_bytes())?
                    .set_location(self.location.as_bytes())?
                    .set_ref_msg_type(ref_msg_type.get(..n).unwrap_or_default())?;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(Some(self.party_details_list_req_id))
                    .set_sending_time_epoch(sending_time)
                    .set_ref_seq_num(Some(ref_seq))
                    .set_ref_tag_id(ref_tag)
                    .set_business_reject_reason(reason);
                Ok(w.finish())
            }
            _ => self.encode_quotes(seq, uuid, sending_time, buf),
        }
    }
}
