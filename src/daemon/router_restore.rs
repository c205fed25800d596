//! Order state across restarts: fixed-size snapshots of open orders (what the order journal
//! stores), restoring them into a fresh router with their old ClOrdIDs, the `Recovered` events a
//! re-attaching strategy gets, and reconciliation with the exchange's mass status.

use super::{
    ClOrdId, MassPending, OrdState, OrderRec, OutKind, Outbound, Reply, Router, CL_ORD_ID_LEN,
    MAX_PENDING, NONE,
};
use crate::daemon::order_journal::OrderChange;
use crate::latency::Stamp;
use crate::shm::strategy::{Event, EventKind, RejectReason, Text};

/// Order-journal records the router holds between two takes by the engine (one report or
/// request makes at most a few; a mass action report one per affected order).
pub(super) const CHANGES_CAPACITY: usize = 4096;
/// Orders one report may name whose updates are journaled (a mass action report's affected
/// orders are finished, which is journaled without this list).
pub(super) const TOUCHED_CAPACITY: usize = 64;

/// What of an order the journal keeps and a report can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fingerprint {
    open: bool,
    qty: u32,
    cum_qty: u32,
    price: Option<i64>,
    stop_px: Option<i64>,
    display_qty: Option<u32>,
    exchange_id: Option<u64>,
    security_id: i32,
}

impl Fingerprint {
    fn of(o: &OrderRec) -> Fingerprint {
        Fingerprint {
            open: o.open(),
            qty: o.qty,
            cum_qty: o.cum_qty,
            price: o.price,
            stop_px: o.stop_px,
            display_qty: o.display_qty,
            exchange_id: o.exchange_id,
            security_id: o.security_id,
        }
    }
}

/// What the exchange's mass status (530 → 532) told about one engine session, once its last
/// report arrived.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MassStatusOutcome {
    /// Reports naming an open order of ours.
    pub open_known: u32,
    /// Orders the exchange reports open that this daemon does not know (not ours, or lost).
    pub unknown: u32,
    /// Restored orders the exchange no longer has: finished, their owners told (`Cancelled`).
    pub finished: u32,
    /// Orders the exchange reported filled, cancelled or expired: finished too.
    pub done_at_exchange: u32,
}

/// The strategy index of requests the daemon makes itself (their answers go to no strategy).
pub const DAEMON: usize = u16::MAX as usize;
/// MassStatusReqType 7: all orders of the session.
pub const MASS_STATUS_ALL: u8 = 7;

/// OrdStatus values of an order still working at the exchange.
fn working(ord_status: u8) -> bool {
    matches!(ord_status, b'0' | b'1' | b'5' | b'6' | b'A' | b'E')
}

/// Bytes of one encoded [`OrderSnapshot`].
pub const SNAPSHOT_LEN: usize = 96;

/// One open order, as the journal keeps it: who owns it (strategy and its order id), where it
/// trades, its ClOrdID and what the exchange told us so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderSnapshot {
    pub strategy: u16,
    /// The strategy's index of the session.
    pub strategy_session: u16,
    /// Engine session.
    pub session: u16,
    /// The strategy's order id.
    pub client_id: u64,
    pub cl_ord_id: [u8; CL_ORD_ID_LEN],
    pub security_id: i32,
    pub side: u8,
    /// iLink 3 OrdType character.
    pub ord_type: u8,
    pub tif: Option<u8>,
    pub qty: u32,
    pub price: Option<i64>,
    pub stop_px: Option<i64>,
    pub display_qty: Option<u32>,
    pub expire_date: Option<u16>,
    pub exchange_id: Option<u64>,
    pub cum_qty: u32,
}

/// Why snapshots could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("order snapshot: {len} bytes, expected {SNAPSHOT_LEN}")]
    Length { len: usize },
    #[error("order snapshot: ClOrdID {0:?} is not ASCII")]
    ClOrdId(String),
    #[error(
        "restored order {client_id} of strategy {strategy}: no such strategy or session {session}"
    )]
    Route {
        strategy: u16,
        session: u16,
        client_id: u64,
    },
    #[error("restored order {client_id} of strategy {strategy}: the order id is already open")]
    Duplicate { strategy: u16, client_id: u64 },
    #[error("restored order {client_id} of strategy {strategy}: the order table is full")]
    Full { strategy: u16, client_id: u64 },
}

const NONE8: u8 = u8::MAX;

fn opt_i64(v: Option<i64>) -> i64 {
    v.unwrap_or(i64::MIN)
}

fn get<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut a = [0u8; N];
    if let Some(s) = b.get(at..at + N) {
        a.copy_from_slice(s);
    }
    a
}

impl OrderSnapshot {
    /// The fixed little-endian encoding.
    pub fn encode(&self) -> [u8; SNAPSHOT_LEN] {
        let mut b = [0u8; SNAPSHOT_LEN];
        let mut put = |at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
        put(0, &self.strategy.to_le_bytes());
        put(2, &self.strategy_session.to_le_bytes());
        put(4, &self.session.to_le_bytes());
        put(6, &[self.side, self.ord_type]);
        put(8, &self.client_id.to_le_bytes());
        put(16, &self.cl_ord_id);
        put(36, &self.security_id.to_le_bytes());
        put(40, &self.qty.to_le_bytes());
        put(44, &self.cum_qty.to_le_bytes());
        put(48, &opt_i64(self.price).to_le_bytes());
        put(56, &opt_i64(self.stop_px).to_le_bytes());
        put(64, &self.exchange_id.unwrap_or(0).to_le_bytes());
        put(72, &self.display_qty.unwrap_or(u32::MAX).to_le_bytes());
        put(76, &self.expire_date.unwrap_or(u16::MAX).to_le_bytes());
        put(78, &[self.tif.unwrap_or(NONE8)]);
        b
    }

    /// Reads [`OrderSnapshot::encode`]'s bytes.
    pub fn decode(b: &[u8]) -> Result<OrderSnapshot, RestoreError> {
        if b.len() != SNAPSHOT_LEN {
            return Err(RestoreError::Length { len: b.len() });
        }
        let cl_ord_id: [u8; CL_ORD_ID_LEN] = get(b, 16);
        if !cl_ord_id.is_ascii() {
            return Err(RestoreError::ClOrdId(
                String::from_utf8_lossy(&cl_ord_id).into_owned(),
            ));
        }
        let i64_at = |at| {
            let v = i64::from_le_bytes(get(b, at));
            (v != i64::MIN).then_some(v)
        };
        let display = u32::from_le_bytes(get(b, 72));
        let expire = u16::from_le_bytes(get(b, 76));
        let exchange = u64::from_le_bytes(get(b, 64));
        let [side, ord_type] = get(b, 6);
        let [tif] = get(b, 78);
        Ok(OrderSnapshot {
            strategy: u16::from_le_bytes(get(b, 0)),
            strategy_session: u16::from_le_bytes(get(b, 2)),
            session: u16::from_le_bytes(get(b, 4)),
            client_id: u64::from_le_bytes(get(b, 8)),
            cl_ord_id,
            security_id: i32::from_le_bytes(get(b, 36)),
            side,
            ord_type,
            tif: (tif != NONE8).then_some(tif),
            qty: u32::from_le_bytes(get(b, 40)),
            price: i64_at(48),
            stop_px: i64_at(56),
            display_qty: (display != u32::MAX).then_some(display),
            expire_date: (expire != u16::MAX).then_some(expire),
            exchange_id: (exchange != 0).then_some(exchange),
            cum_qty: u32::from_le_bytes(get(b, 44)),
        })
    }
}

impl Router {
    /// Queues one order-journal record for order `slot` (dropped and counted when the
    /// engine has not taken the previous ones).
    pub(super) fn journal_change(&mut self, change: OrderChange, slot: u32) {
        self.journal_change_as(change, slot, self.cl_ord_id_of(slot));
    }

    /// [`Router::journal_change`] for an order whose ClOrdID the caller has at hand (a new
    /// order just sent): the snapshot takes it rather than building it again.
    #[inline]
    pub(super) fn journal_change_as(&mut self, change: OrderChange, slot: u32, cl_ord_id: ClOrdId) {
        if self.changes.len() >= CHANGES_CAPACITY {
            self.changes_lost += 1;
            return;
        }
        let s = self.snapshot_as(slot, cl_ord_id);
        self.changes.push((change, s));
    }

    /// A report named order `slot`: remember its state before the report.
    pub(super) fn touch(&mut self, slot: u32) {
        if self.touched.len() < TOUCHED_CAPACITY && !self.touched.iter().any(|&(s, _)| s == slot) {
            let f = Fingerprint::of(self.orders.get(slot as usize).unwrap_or(&OrderRec::FREE));
            self.touched.push((slot, f));
        }
    }

    /// After a report: an `Update` record for each order it changed that is still open
    /// (finished ones were journaled by `finish`).
    #[inline]
    pub(super) fn journal_touched(&mut self) {
        for i in 0..self.touched.len() {
            let Some(&(slot, before)) = self.touched.get(i) else {
                break;
            };
            let o = self.orders.get(slot as usize).unwrap_or(&OrderRec::FREE);
            if o.open() && Fingerprint::of(o) != before {
                self.journal_change(OrderChange::Update, slot);
            }
        }
        self.touched.clear();
    }

    /// Hands over the order-journal records made since the last call (no allocation) and
    /// returns how many were lost because more than [`CHANGES_CAPACITY`] piled up. Each
    /// snapshot is lent mutably, so that the taker can rewrite its indices in place rather
    /// than copy it first.
    #[inline]
    pub fn take_changes(&mut self, mut f: impl FnMut(OrderChange, &mut OrderSnapshot)) -> u64 {
        for (c, s) in &mut self.changes {
            f(*c, s);
        }
        self.changes.clear();
        std::mem::take(&mut self.changes_lost)
    }

    fn daemon_outbound(&mut self, kind: OutKind, session: usize) -> Outbound {
        let orid = self.next_orid();
        Outbound {
            kind,
            session,
            strategy: DAEMON,
            request_id: 0,
            enqueue_ns: 0,
            cl_ord_id: super::make_cl_ord_id(&self.prefix, 0),
            order_request_id: orid,
            exchange_order_id: None,
            security_id: 0,
            side: 0,
            qty: 0,
            price: None,
            ord_type: 0,
            tif: None,
            stop_px: None,
            min_qty: None,
            display_qty: None,
            expire_date: None,
            mass_scope: 0,
            market_segment_id: None,
            security_group: [0; 6],
            order: NONE,
        }
    }

    /// The OrderMassStatusRequest (530, all orders) the daemon sends on engine `session` once
    /// it is established after a restart; its MassStatusReqID is `order_request_id`.
    pub fn mass_status_request(&mut self, session: usize) -> Outbound {
        let mut out = self.daemon_outbound(OutKind::MassStatus, session);
        out.mass_scope = MASS_STATUS_ALL;
        out
    }

    /// The next mass cancel (529) of those that cover every order on engine `session`
    /// (`on_restart = "cancel"`): one per market segment of the configured instruments (scope
    /// 9 with its MarketSegmentID), one per instrument without a segment (scope 1). `cursor`
    /// starts at 0; `None` when done (at once when no instrument is configured: no scope CME
    /// accepts covers the session then).
    pub fn restart_mass_cancel(&mut self, session: usize, cursor: &mut usize) -> Option<Outbound> {
        while let Some(sc) = self.scopes.get(*cursor).copied() {
            let at = *cursor;
            *cursor += 1;
            let (scope, segment, security) = match sc.market_segment_id {
                Some(m)
                    if self
                        .scopes
                        .iter()
                        .take(at)
                        .any(|x| x.market_segment_id == Some(m)) =>
                {
                    continue
                }
                Some(m) => (9, Some(m), 0),
                None => (1, None, sc.security_id),
            };
            let free = self.mass.iter().position(|m| m.is_none())?;
            let mut out = self.daemon_outbound(OutKind::MassCancel, session);
            out.mass_scope = scope;
            out.market_segment_id = segment;
            out.security_id = security;
            if let Some(m) = self.mass.get_mut(free) {
                *m = Some(MassPending {
                    orid: out.order_request_id,
                    strategy: DAEMON as u16,
                    strategy_session: 0,
                    request_id: 0,
                    enqueue_ns: 0,
                    submitted: Stamp::NONE,
                    acked: false,
                });
            }
            return Some(out);
        }
        None
    }

    /// A strategy's OrderStatusRequest (533) for its open order `order_id`: needs the
    /// exchange's OrderID (the order was acknowledged, or restored). OrdStatusReqID is the
    /// request id; the Status report (532) answering it becomes a `Status` event echoing it.
    pub(super) fn order_status(
        &mut self,
        strategy: usize,
        session: usize,
        ss: u16,
        (rid, enq): (u64, u64),
        order_id: u64,
    ) -> super::Routed {
        let no = |r: RejectReason, t: &str| {
            let mut e = super::reject(rid, order_id, ss, enq, r);
            e.text = Text::new(t);
            super::Routed::Reply(e)
        };
        let Some(slot) = self.find_open(strategy, order_id) else {
            return no(RejectReason::UnknownOrder, "no such open order");
        };
        let o = self.order(slot);
        if usize::from(o.session) != session {
            return no(RejectReason::UnknownOrder, "order is on another session");
        }
        if o.exchange_id.is_none() {
            return no(
                RejectReason::UnknownOrder,
                "order not acknowledged yet: no exchange OrderID to ask about",
            );
        }
        let orid = self.next_orid();
        super::Routed::Send(self.outbound_for(slot, OutKind::OrderStatus, rid, enq, orid))
    }

    /// How many orders restored from a previous run are still open on engine `session`.
    pub fn restored_open_on(&self, session: usize) -> u32 {
        self.restored
            .iter()
            .filter(|&&(_, s)| {
                let o = self.order(s);
                o.open() && usize::from(o.session) == session
            })
            .count() as u32
    }

    /// Starts reconciling engine `session` with a mass status: forgets what an earlier one
    /// reported there.
    pub fn mass_status_begin(&mut self, session: usize) {
        for (slot, seen) in self.mass_seen.iter_mut().enumerate() {
            if self
                .orders
                .get(slot)
                .is_some_and(|o| usize::from(o.session) == session)
            {
                *seen = false;
            }
        }
    }

    /// One Status report (532) answering the mass status request on engine `session`:
    /// the order it names is marked as still at the exchange (its fill quantity and OrderID
    /// taken), or finished when the exchange says it is done. `outcome` accumulates; on the
    /// `last` report every restored order on the session the exchange did not report is
    /// finished and its owner gets a `Cancelled` event. Returns whether this was the last.
    #[allow(clippy::too_many_arguments)]
    pub fn mass_status_report(
        &mut self,
        session: usize,
        cl_ord_id: &[u8],
        order_id: u64,
        (ord_status, cum_qty, leaves_qty): (u8, u32, u32),
        last: bool,
        outcome: &mut MassStatusOutcome,
        emit: &mut impl FnMut(&Reply),
    ) -> bool {
        // OrdStatus U: "no orders" (or an order the exchange does not know).
        if ord_status != b'U' {
            let slot = self.slot_of(cl_ord_id);
            self.touched.clear();
            match slot {
                Some(slot) if self.order(slot).open() => {
                    if let Some(o) = self.orders.get_mut(slot as usize) {
                        o.exchange_id = Some(order_id);
                        o.cum_qty = cum_qty;
                        if o.state == OrdState::PendingNew {
                            o.state = OrdState::Live;
                        }
                    }
                    if working(ord_status) && leaves_qty > 0 {
                        outcome.open_known += 1;
                        if let Some(seen) = self.mass_seen.get_mut(slot as usize) {
                            *seen = true;
                        }
                        self.journal_change(OrderChange::Update, slot);
                    } else {
                        outcome.done_at_exchange += 1;
                        let o = self.order(slot);
                        let mut e = self.order_event(&o, EventKind::Status);
                        e.restatement = ord_status;
                        e.leaves_qty = 0;
                        e.cum_qty = cum_qty;
                        self.finish(slot);
                        emit(&Reply::to_owner(&o, e, None));
                    }
                }
                Some(_) => {}
                None if working(ord_status) => outcome.unknown += 1,
                None => {}
            }
        }
        if last {
            outcome.finished += self.finish_unseen(session, emit);
        }
        last
    }

    /// Finishes every restored order open on engine `session` that the mass status did not
    /// report (no allocation: a walk over the table).
    fn finish_unseen(&mut self, session: usize, emit: &mut impl FnMut(&Reply)) -> u32 {
        if self.restored.is_empty() {
            return 0;
        }
        let mut n = 0;
        for slot in 0..self.orders.len() as u32 {
            let o = self.order(slot);
            let seen = self.mass_seen.get(slot as usize).copied().unwrap_or(false);
            if o.open() && o.restored && usize::from(o.session) == session && !seen {
                let e = Event {
                    leaves_qty: 0,
                    ..self.order_event(&o, EventKind::Cancelled)
                };
                self.finish(slot);
                emit(&Reply::to_owner(&o, e, None));
                n += 1;
            }
        }
        n
    }

    /// The ClOrdID of order `slot`: this run's prefix and key, or the one it had in the run
    /// that sent it.
    pub(super) fn cl_ord_id_of(&self, slot: u32) -> ClOrdId {
        if self.orders.get(slot as usize).is_some_and(|o| o.restored) {
            if let Some(&(id, _)) = self.restored.iter().find(|&&(_, s)| s == slot) {
                return id;
            }
        }
        super::make_cl_ord_id(&self.prefix, self.key(slot))
    }

    /// The slot of a restored order by its old ClOrdID.
    pub(super) fn restored_slot(&self, cl_ord_id: &[u8]) -> Option<u32> {
        if self.restored.is_empty() {
            return None;
        }
        let i = self
            .restored
            .binary_search_by(|(id, _)| id.as_bytes().cmp(cl_ord_id))
            .ok()?;
        self.restored.get(i).map(|&(_, s)| s)
    }

    /// The snapshot of order `slot` (fixed size, no allocation: for the order journal).
    fn snapshot_of(&self, slot: u32) -> OrderSnapshot {
        self.snapshot_as(slot, self.cl_ord_id_of(slot))
    }

    /// The snapshot of order `slot`, whose ClOrdID is `cl_ord_id`.
    #[inline]
    fn snapshot_as(&self, slot: u32, cl_ord_id: ClOrdId) -> OrderSnapshot {
        // By reference: the record is 176 bytes.
        let o = self.orders.get(slot as usize).unwrap_or(&OrderRec::FREE);
        OrderSnapshot {
            strategy: o.strategy,
            strategy_session: o.strategy_session,
            session: o.session,
            client_id: o.client_id,
            cl_ord_id: cl_ord_id.0,
            security_id: o.security_id,
            side: o.side,
            ord_type: o.ord_type,
            tif: o.tif,
            qty: o.qty,
            price: o.price,
            stop_px: o.stop_px,
            display_qty: o.display_qty,
            expire_date: o.expire_date,
            exchange_id: o.exchange_id,
            cum_qty: o.cum_qty,
        }
    }

    /// Every open order (for compacting the order journal, or a clean shutdown).
    pub fn open_snapshots(&self) -> Vec<OrderSnapshot> {
        (0..self.orders.len() as u32)
            .filter(|&s| self.order(s).open())
            .map(|s| self.snapshot_of(s))
            .collect()
    }

    /// Restores open orders of a previous run (before any strategy attaches): each keeps its
    /// owner, order id and ClOrdID, so the exchange's reports on it and the strategy's cancels
    /// and replaces find it. Returns how many were restored.
    pub fn restore(&mut self, snaps: &[OrderSnapshot]) -> Result<usize, RestoreError> {
        for s in snaps {
            let route_ok = self
                .strategies
                .get(usize::from(s.strategy))
                .and_then(|st| st.route.sessions.get(usize::from(s.strategy_session)))
                .is_some_and(|&e| e == usize::from(s.session));
            if !route_ok {
                return Err(RestoreError::Route {
                    strategy: s.strategy,
                    session: s.session,
                    client_id: s.client_id,
                });
            }
            if self
                .by_client
                .find(&self.orders, s.strategy, s.client_id)
                .is_some()
            {
                return Err(RestoreError::Duplicate {
                    strategy: s.strategy,
                    client_id: s.client_id,
                });
            }
            let full = RestoreError::Full {
                strategy: s.strategy,
                client_id: s.client_id,
            };
            if self.by_client.full() {
                return Err(full);
            }
            let Some(slot) = self.free.pop_front() else {
                return Err(full);
            };
            let Some(rec) = self.orders.get_mut(slot as usize) else {
                return Err(full);
            };
            *rec = OrderRec {
                gen: rec.gen,
                state: OrdState::Live,
                strategy: s.strategy,
                session: s.session,
                strategy_session: s.strategy_session,
                client_id: s.client_id,
                security_id: s.security_id,
                side: s.side,
                qty: s.qty,
                price: s.price,
                ord_type: s.ord_type,
                tif: s.tif,
                stop_px: s.stop_px,
                display_qty: s.display_qty,
                expire_date: s.expire_date,
                exchange_id: s.exchange_id,
                cum_qty: s.cum_qty,
                legs_due: 0,
                last_enqueue_ns: 0,
                cancel_pending: false,
                restored: true,
                pending: [None; MAX_PENDING],
            };
            self.by_client.insert(s.strategy, s.client_id, slot);
            if let Some(st) = self.strategies.get_mut(usize::from(s.strategy)) {
                st.open += 1;
            }
            let id = ClOrdId(s.cl_ord_id);
            let at = self
                .restored
                .partition_point(|(k, _)| k.as_bytes() < id.as_bytes());
            self.restored.insert(at, (id, slot));
        }
        if self.mass_seen.len() != self.orders.len() {
            self.mass_seen = vec![false; self.orders.len()];
        }
        Ok(snaps.len())
    }

    /// One `Recovered` event per open order `strategy` owns (when it attaches after a
    /// restart): its order id, instrument, side, quantities, price and exchange OrderID.
    pub fn recovered(&self, strategy: usize, emit: &mut impl FnMut(&Reply)) -> u32 {
        let mut n = 0;
        for o in self.orders.iter().filter(|o| o.open()) {
            if usize::from(o.strategy) == strategy && o.restored {
                emit(&Reply::to_owner(
                    o,
                    self.order_event(o, EventKind::Recovered),
                    None,
                ));
                n += 1;
            }
        }
        n
    }

    /// Reconciles engine session `session` with the exchange's mass status: every restored
    /// order on it that the exchange no longer reports open (`open_at_exchange(ClOrdID)` is
    /// false) is finished, and its owner gets a `Cancelled` event. Returns how many.
    pub fn reconcile(
        &mut self,
        session: usize,
        open_at_exchange: impl Fn(&[u8]) -> bool,
        emit: &mut impl FnMut(&Reply),
    ) -> u32 {
        let gone: Vec<u32> = self
            .restored
            .iter()
            .filter(|&&(id, slot)| {
                let o = self.order(slot);
                o.open() && usize::from(o.session) == session && !open_at_exchange(id.as_bytes())
            })
            .map(|&(_, slot)| slot)
            .collect();
        for &slot in &gone {
            let o = self.order(slot);
            let e = Event {
                leaves_qty: 0,
                ..self.order_event(&o, EventKind::Cancelled)
            };
            self.finish(slot);
            emit(&Reply::to_owner(&o, e, None));
        }
        gone.len() as u32
    }
}
