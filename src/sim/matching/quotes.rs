//! Mass quoting and user-defined instruments, CME's way:
//! - MassQuote (517) → MassQuoteAck (545): each entry's bid and offer rest in the book as
//!   Day limit orders named by their QuoteEntryID (fills report it as ClOrdID); a new quote
//!   for an entry replaces the old one. Fills on quotes are ExecutionReportTradeOutright (525).
//! - Mass quote protection: once the quantity filled on a session's quotes in one instrument
//!   group reaches [`MatchingEngine::set_quote_protection`], every quote of that session in the
//!   group is cancelled with an unsolicited QuoteCancelAck (563, QuoteStatus 3 "per instrument
//!   group", UnsolicitedCancelType F "mass quote protection", CancelledSymbol = the group), and
//!   later quotes for the group are rejected (545 QuoteStatus 5) until a MassQuote carries
//!   MMProtectionReset(9773)=1.
//! - QuoteCancel (528) → QuoteCancelAck (563): by quote set (QuoteCancelType 100; BidSize=0 or
//!   OfferSize=0 cancels only that side), by instrument (1), instrument group (3) or all (4);
//!   NoProcessedEntries counts the quotes cancelled.
//! - SecurityDefinitionRequest (560) → SecurityDefinitionResponse (561): a user-defined
//!   spread of at least two distinct listed outright legs is created (SecurityResponseType 1,
//!   a new SecurityID); anything else is refused (SecurityResponseType 5, Text says why).

use super::{
    FixedText, InstrumentInfo, MatchingEngine, Report, ReportKind, Req, RestingOrder, SpreadLegDef,
    BUY, LIMIT, SELL, TIF_DAY,
};
use crate::ilink3::{
    EncodeError, MassQuote, MassQuoteAckWriter, OrderCancelRequest, QuoteCancel,
    QuoteCancelAckWriter, SecurityDefinitionRequest, SecurityDefinitionResponseWriter,
};
use crate::sim::SessionKey;
use std::collections::HashMap;

/// QuoteStatus(297) of a MassQuoteAck: accepted.
pub const QUOTE_ACCEPTED: u8 = 0;
/// QuoteStatus(297) of a MassQuoteAck or QuoteCancelAck: rejected.
pub const QUOTE_REJECTED: u8 = 5;
/// QuoteCancelType / QuoteStatus: per instrument.
pub const QUOTE_CXL_INSTRUMENT: u8 = 1;
/// QuoteCancelType / QuoteStatus: per instrument group.
pub const QUOTE_CXL_GROUP: u8 = 3;
/// QuoteCancelType / QuoteStatus: all quotes.
pub const QUOTE_CXL_ALL: u8 = 4;
/// QuoteCancelType / QuoteStatus: per quote set.
pub const QUOTE_CXL_SET: u8 = 100;
/// UnsolicitedCancelType(9775) of a cancel triggered by mass quote protection.
pub const UNSOLICITED_MM_PROTECTION: u8 = b'F';
/// SecurityResponseType(323): accept the proposal as is.
pub const SEC_RSP_ACCEPT: u8 = 1;
/// SecurityResponseType(323): reject the proposal.
pub const SEC_RSP_REJECT: u8 = 5;
/// First SecurityID given to a user-defined spread.
pub const UDS_FIRST_ID: i32 = 900_000;

/// What a resting quote order is.
#[derive(Debug, Clone, Copy)]
struct QuoteRef {
    entry_id: u32,
    set_id: u16,
    group: FixedText<6>,
}

/// Quote state of the engine.
#[derive(Debug, Default)]
pub(super) struct Quotes {
    by_order: HashMap<u64, QuoteRef>,
    /// (session, instrument group) → (quantity filled on quotes since the last reset, tripped).
    mm: HashMap<(SessionKey, FixedText<6>), (u32, bool)>,
    /// Quantity filled on quotes of one instrument group that trips protection (0: off).
    protection_qty: u32,
    next_response_id: u64,
    next_uds: i32,
}

fn blank_req(m_sender: &[u8], m_location: &[u8], party: u64) -> Req {
    Req {
        cl_ord_id: FixedText::default(),
        sender_id: FixedText::new(m_sender),
        location: FixedText::new(m_location),
        party,
        order_request_id: 0,
        security_id: 0,
        side: 0,
        price: None,
        qty: 0,
        ord_type: 0,
        tif: None,
    }
}

impl MatchingEngine {
    /// Mass quote protection: the quantity filled on a session's quotes in one instrument
    /// group that cancels all its quotes there (0: off, the default).
    pub fn set_quote_protection(&mut self, qty: u32) {
        self.ext.quotes.protection_qty = qty;
    }

    /// Live quote orders (both sides count).
    pub fn live_quotes(&self) -> usize {
        self.ext
            .quotes
            .by_order
            .keys()
            .filter(|id| self.orders.contains_key(id))
            .count()
    }

    fn group_of(&self, security_id: i32) -> Option<FixedText<6>> {
        self.books.get(&security_id).map(|b| b.group)
    }

    /// Removes `owner`'s quote orders that `pick` selects (no reports); returns how many.
    fn pull_quotes(
        &mut self,
        owner: SessionKey,
        mut pick: impl FnMut(&RestingOrder, &QuoteRef) -> bool,
    ) -> u32 {
        let ids: Vec<u64> = self
            .ext
            .quotes
            .by_order
            .iter()
            .filter_map(|(id, q)| {
                let o = self.orders.get(id)?;
                (o.owner == owner && pick(o, q)).then_some(*id)
            })
            .collect();
        let mut n = 0;
        for id in ids {
            self.ext.quotes.by_order.remove(&id);
            if let Some(o) = self.orders.get(&id).copied() {
                self.remove_order(&o);
                n += 1;
            }
        }
        n
    }

    pub(super) fn mass_quote(
        &mut self,
        owner: SessionKey,
        now: u64,
        m: &MassQuote<'_>,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        let req = blank_req(
            m.sender_id().as_bytes(),
            m.location().as_bytes(),
            m.party_details_list_req_id(),
        );
        let reset = m.mm_protection_reset() == 1;
        let entries: Vec<_> = m
            .quote_entries()
            .iter()
            .map(|e| {
                (
                    e.quote_entry_id(),
                    e.security_id(),
                    e.quote_set_id(),
                    e.bid_px().zip(e.bid_size()),
                    e.offer_px().zip(e.offer_size()),
                )
            })
            .collect();
        let ack = |engine: &mut Self, status, text, processed| {
            let kind = ReportKind::QuoteAck {
                quote_id: m.quote_id(),
                status,
                text,
                processed,
                mm_reset: reset,
            };
            engine.report(kind, &req, 0, now)
        };
        if entries.iter().any(|e| self.group_of(e.1).is_none()) {
            let r = ack(
                self,
                QUOTE_REJECTED,
                "unknown SecurityID in a quote entry",
                0,
            );
            out.push((owner, r));
            return;
        }
        let groups: Vec<FixedText<6>> = entries.iter().filter_map(|e| self.group_of(e.1)).collect();
        if reset {
            for g in &groups {
                self.ext.quotes.mm.insert((owner, *g), (0, false));
            }
        }
        let tripped = groups
            .iter()
            .any(|g| self.ext.quotes.mm.get(&(owner, *g)).is_some_and(|s| s.1));
        if tripped {
            let text = "mass quote protection triggered: resend with MMProtectionReset=1";
            let r = ack(self, QUOTE_REJECTED, text, 0);
            out.push((owner, r));
            return;
        }
        let processed = u8::try_from(entries.len()).unwrap_or(u8::MAX);
        let r = ack(self, QUOTE_ACCEPTED, "", processed);
        out.push((owner, r));
        let start = out.len();
        for (entry_id, security_id, set_id, bid, offer) in entries {
            // A new quote for an entry replaces the old one.
            self.pull_quotes(owner, |_, q| q.entry_id == entry_id);
            let group = self.group_of(security_id).unwrap_or_default();
            for (side, px_qty) in [(BUY, bid), (SELL, offer)] {
                let Some((price, qty)) = px_qty.filter(|&(_, q)| q > 0) else {
                    continue;
                };
                let mut ib = itoa::Buffer::new();
                let order_id = self.next_order_id;
                self.next_order_id += 1;
                let mut o = RestingOrder {
                    owner,
                    order_id,
                    cl_ord_id: FixedText::new(ib.format(entry_id).as_bytes()),
                    sender_id: req.sender_id,
                    location: req.location,
                    party_details_list_req_id: req.party,
                    order_request_id: u64::from(m.quote_id()),
                    security_id,
                    side,
                    price,
                    order_qty: qty,
                    cum_qty: 0,
                    ord_type: LIMIT,
                    time_in_force: Some(TIF_DAY),
                    stop_px: None,
                    pending_stop: false,
                    min_qty: 0,
                    expire_date: None,
                    smp_id: 0,
                    smp_cancel_newest: false,
                };
                self.ext.quotes.by_order.insert(
                    order_id,
                    QuoteRef {
                        entry_id,
                        set_id,
                        group,
                    },
                );
                self.match_incoming(&mut o, now, out);
                self.finish_incoming(o, now, out);
            }
        }
        self.check_quote_protection(now, out, start);
    }

    /// Counts fills on quotes in `out[start..]`; trips protection where the filled quantity
    /// reached the limit (unsolicited QuoteCancelAck, quotes of the group pulled).
    pub(super) fn check_quote_protection(
        &mut self,
        now: u64,
        out: &mut Vec<(SessionKey, Report)>,
        start: usize,
    ) {
        if self.ext.quotes.by_order.is_empty() {
            return;
        }
        let limit = self.ext.quotes.protection_qty;
        let mut trip = Vec::new();
        for (k, r) in out.iter().skip(start) {
            let ReportKind::Trade { last_qty, .. } = r.kind else {
                continue;
            };
            let Some(q) = self.ext.quotes.by_order.get(&r.order_id).copied() else {
                continue;
            };
            let s = self
                .ext
                .quotes
                .mm
                .entry((*k, q.group))
                .or_insert((0, false));
            s.0 = s.0.saturating_add(last_qty);
            if limit > 0 && s.0 >= limit && !s.1 {
                s.1 = true;
                trip.push((
                    *k,
                    q.group,
                    r.sender_id,
                    r.location,
                    r.party_details_list_req_id,
                ));
            }
        }
        for (k, group, sender, location, party) in trip {
            let n = self.pull_quotes(k, |_, q| q.group == group);
            let mut req = blank_req(sender.as_bytes(), location.as_bytes(), party);
            req.sender_id = sender;
            let kind = ReportKind::QuoteCancelAck {
                quote_id: 0,
                status: QUOTE_CXL_GROUP,
                processed: n,
                unsolicited: Some(UNSOLICITED_MM_PROTECTION),
                group,
                mm_reset: false,
                text: "mass quote protection triggered",
            };
            let r = self.report(kind, &req, 0, now);
            out.push((k, r));
        }
    }

    pub(super) fn quote_cancel(
        &mut self,
        owner: SessionKey,
        now: u64,
        m: &QuoteCancel<'_>,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        let req = blank_req(
            m.sender_id().as_bytes(),
            m.location().as_bytes(),
            m.party_details_list_req_id(),
        );
        let ty = m.quote_cancel_type();
        let mut group = FixedText::default();
        let (status, processed, text) = match ty {
            QUOTE_CXL_SET => {
                let sets: Vec<(u16, bool, bool)> = m
                    .quote_sets()
                    .iter()
                    .map(|s| {
                        // BidSize=0: cancel the bids only; OfferSize=0: the offers only.
                        let bids_only = s.bid_size() == Some(0) && s.offer_size() != Some(0);
                        let offers_only = s.offer_size() == Some(0) && s.bid_size() != Some(0);
                        (s.quote_set_id(), !offers_only, !bids_only)
                    })
                    .collect();
                if sets.is_empty() {
                    (QUOTE_REJECTED, 0, "QuoteCancelType 100 without a quote set")
                } else {
                    let n = self.pull_quotes(owner, |o, q| {
                        sets.iter().any(|&(id, bids, offers)| {
                            q.set_id == id
                                && ((o.side == BUY && bids) || (o.side == SELL && offers))
                        })
                    });
                    (QUOTE_CXL_SET, n, "")
                }
            }
            QUOTE_CXL_INSTRUMENT => {
                let secs: Vec<i32> = m
                    .quote_entries()
                    .iter()
                    .filter_map(|e| e.security_id())
                    .collect();
                let n = self.pull_quotes(owner, |o, _| secs.contains(&o.security_id));
                (QUOTE_CXL_INSTRUMENT, n, "")
            }
            QUOTE_CXL_GROUP => {
                let groups: Vec<FixedText<6>> = m
                    .quote_entries()
                    .iter()
                    .map(|e| FixedText::new(e.security_group().as_bytes()))
                    .collect();
                group = groups.first().copied().unwrap_or_default();
                let n = self.pull_quotes(owner, |_, q| groups.contains(&q.group));
                (QUOTE_CXL_GROUP, n, "")
            }
            QUOTE_CXL_ALL => (QUOTE_CXL_ALL, self.pull_quotes(owner, |_, _| true), ""),
            _ => (QUOTE_REJECTED, 0, "QuoteCancelType must be 1, 3, 4 or 100"),
        };
        let kind = ReportKind::QuoteCancelAck {
            quote_id: m.quote_id(),
            status,
            processed,
            unsolicited: None,
            group,
            mm_reset: false,
            text,
        };
        let r = self.report(kind, &req, 0, now);
        out.push((owner, r));
    }

    pub(super) fn security_definition(
        &mut self,
        owner: SessionKey,
        now: u64,
        m: &SecurityDefinitionRequest<'_>,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        let req = blank_req(
            m.sender_id().as_bytes(),
            m.location().as_bytes(),
            m.party_details_list_req_id(),
        );
        let legs: Vec<(i32, u8, u8)> = m
            .legs()
            .iter()
            .map(|l| {
                (
                    l.leg_security_id(),
                    l.leg_side(),
                    l.leg_ratio_qty().unwrap_or(1),
                )
            })
            .collect();
        let refusal = if legs.len() < 2 {
            Some("a user-defined spread needs at least two legs")
        } else if legs.iter().any(|l| !self.books.contains_key(&l.0)) {
            Some("unknown LegSecurityID")
        } else if legs
            .iter()
            .any(|l| self.books.get(&l.0).is_some_and(|b| !b.legs.is_empty()))
        {
            Some("a leg is itself a spread")
        } else if legs
            .iter()
            .enumerate()
            .any(|(i, l)| legs[..i].iter().any(|p| p.0 == l.0))
        {
            Some("the same leg twice")
        } else if legs.iter().any(|l| l.1 != BUY && l.1 != SELL) {
            Some("LegSide must be 1 (buy) or 2 (sell)")
        } else {
            None
        };
        self.ext.quotes.next_response_id += 1;
        let response_id = self.ext.quotes.next_response_id;
        let (response_type, security_id, text) = match refusal {
            Some(text) => (SEC_RSP_REJECT, None, text),
            None => {
                let id = UDS_FIRST_ID + self.ext.quotes.next_uds;
                self.ext.quotes.next_uds += 1;
                let first = legs.first().map_or(0, |l| l.0);
                let tick = self.books.get(&first).map_or(1, |b| b.tick);
                let (segment, group) = self
                    .books
                    .get(&first)
                    .map(|b| (b.segment, b.group))
                    .unwrap_or_default();
                self.add_instrument(super::Instrument {
                    security_id: id,
                    tick,
                });
                let side0 = legs.first().map_or(BUY, |l| l.1);
                self.set_instrument_info(&InstrumentInfo {
                    security_id: id,
                    market_segment_id: segment,
                    security_group: String::from_utf8_lossy(group.as_bytes()).into_owned(),
                    legs: legs
                        .iter()
                        .map(|l| SpreadLegDef {
                            security_id: l.0,
                            ratio: u32::from(l.2.max(1)),
                            same_side: l.1 == side0,
                        })
                        .collect(),
                });
                (SEC_RSP_ACCEPT, Some(id), "")
            }
        };
        let kind = ReportKind::SecDef {
            req_id: m.security_req_id(),
            response_id,
            response_type,
            security_id,
            text,
        };
        let r = self.report(kind, &req, 0, now);
        out.push((owner, r));
    }
}

impl MatchingEngine {
    /// Cancel on Behalf (COB): session `requester` cancels an order of `original` (another
    /// session of the same firm, named by the request's OrigOrderUser). Both sessions get the
    /// ExecutionReportCancel (534), carrying OrigOrderUser = `orig_user` and CancelText = `by`
    /// (the on-behalf sender comp); a refusal (OrderCancelReject 535) goes to the requester
    /// only.
    #[allow(clippy::too_many_arguments)]
    pub fn cancel_on_behalf(
        &mut self,
        original: SessionKey,
        requester: SessionKey,
        orig_user: FixedText<8>,
        by: FixedText<8>,
        now: u64,
        m: &OrderCancelRequest<'_>,
        out: &mut Vec<(SessionKey, Report)>,
    ) {
        self.aux.clear();
        let start = out.len();
        self.cancel(original, now, m, out);
        let mut copies = Vec::new();
        for (k, r) in out.iter_mut().skip(start) {
            match &mut r.kind {
                ReportKind::Cancel { on_behalf, .. } => {
                    *on_behalf = Some((orig_user, by));
                    copies.push((requester, *r));
                }
                ReportKind::CancelReject { .. } => *k = requester,
                _ => {}
            }
        }
        out.extend(copies);
    }
}

impl Report {
    /// Encodes 545, 563 and 561.
    pub(super) fn encode_quotes(
        &self,
        seq: u32,
        uuid: u64,
        sending_time: u64,
        buf: &mut [u8],
    ) -> Result<usize, EncodeError> {
        match self.kind {
            ReportKind::QuoteAck {
                quote_id,
                status,
                text,
                processed,
                mm_reset,
            } => {
                let mut w = MassQuoteAckWriter::new(buf)?;
                w.set_text(text)?
                    .set_sender_id(self.sender_id.as_bytes())?
                    .set_location(self.location.as_bytes())?;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(self.party_details_list_req_id)
                    .set_request_time(self.transact_time)
                    .set_sending_time_epoch(sending_time)
                    .set_quote_id(quote_id)
                    .set_quote_status(status)
                    .set_no_processed_entries(processed)
                    .set_mm_protection_reset(u8::from(mm_reset));
                Ok(w.finish())
            }
            ReportKind::QuoteCancelAck {
                quote_id,
                status,
                processed,
                unsolicited,
                group,
                mm_reset,
                text,
            } => {
                let mut w = QuoteCancelAckWriter::new(buf)?;
                w.set_text(text)?
                    .set_sender_id(self.sender_id.as_bytes())?
                    .set_location(self.location.as_bytes())?
                    .set_cancelled_symbol(group.as_bytes())?;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(self.party_details_list_req_id)
                    .set_request_time(self.transact_time)
                    .set_sending_time_epoch(sending_time)
                    .set_quote_id(quote_id)
                    .set_quote_status(status)
                    .set_no_processed_entries(processed)
                    .set_mm_protection_reset(u8::from(mm_reset))
                    .set_unsolicited_cancel_type(unsolicited);
                Ok(w.finish())
            }
            ReportKind::SecDef {
                req_id,
                response_id,
                response_type,
                security_id,
                text,
            } => {
                let mut w = SecurityDefinitionResponseWriter::new(buf)?;
                w.set_text(text)?
                    .set_sender_id(self.sender_id.as_bytes())?
                    .set_location(self.location.as_bytes())?;
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_party_details_list_req_id(self.party_details_list_req_id)
                    .set_security_req_id(req_id)
                    .set_security_response_id(response_id)
                    .set_sending_time_epoch(sending_time)
                    .set_security_id(security_id)
                    .set_security_response_type(response_type);
                Ok(w.finish())
            }
            _ => Err(EncodeError::BufferTooSmall {
                need: 0,
                have: buf.len(),
            }),
        }
    }
}
