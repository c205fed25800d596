//! The gateway and the matching engine together, sans-IO: what a TCP server (or an in-memory
//! test) drives.
//!
//! The server accepts a connection ([`Exchange::accept`]), feeds its bytes
//! ([`Exchange::handle_input`]) and timers ([`Exchange::handle_timeout`] at
//! [`Exchange::next_deadline`]), and after any input or timer polls **every** connection's
//! [`Exchange::poll_transmit`]: a fill on one connection's order produces a report for the
//! resting order's session, which its own connection streams from the registry's journal.
//! A report to a session with no connection up stays journaled; the client recovers it by
//! retransmission after it re-establishes.

use super::ilink3_gateway::{GatewayEvent, GatewaySession, SessionRegistry};
use super::matching::{MatchingEngine, Report};
use super::SessionKey;

/// A connection handle (slot index; reused after [`Exchange::close`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub usize);

/// CME's messaging controls for cancels and mass actions, per session and second: above
/// `reject_per_s` they are answered with a BusinessReject (reason 8, throttle limit
/// exceeded); above `logout_per_s` the session is terminated (Terminate 9 VolumeControls) and
/// Cancel on Disconnect cancels its resting orders (ExecRestatementReason 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessagingControls {
    pub reject_per_s: u32,
    pub logout_per_s: u32,
}

impl Default for MessagingControls {
    fn default() -> Self {
        MessagingControls {
            reject_per_s: 1000,
            logout_per_s: 1500,
        }
    }
}

/// One session's count of cancels and mass actions in the current second.
#[derive(Debug, Clone, Copy, Default)]
struct CancelWindow {
    second: u64,
    count: u32,
    /// Over the logout threshold: the rest of the input is dropped, then Terminate + COD.
    logout: bool,
}

/// Registry + engine + connections.
#[derive(Debug)]
pub struct Exchange {
    registry: SessionRegistry,
    engine: MatchingEngine,
    conns: Vec<Option<GatewaySession>>,
    reports: Vec<(SessionKey, Report)>,
    /// Reports that could not be journaled (session never negotiated).
    undeliverable: u64,
    /// Copies of every report, kept when [`Exchange::set_report_tap`] is on (Drop Copy).
    tap: Vec<(SessionKey, Report)>,
    tap_on: bool,
    /// ClOrdIDs of every NewOrderSingle received, per session (to catch an order sent twice).
    cl_ord_ids: std::collections::HashSet<(SessionKey, super::FixedText<20>)>,
    duplicate_cl_ord_ids: u64,
    /// What was received and reported, when recording.
    record: Option<super::record::SimRecord>,
    controls: MessagingControls,
    windows: Vec<CancelWindow>,
    /// Cancel on Disconnect when a connection drops without a Terminate.
    cod_on_disconnect: bool,
    /// Time of the last input or timer (the clock of a disconnect).
    last_now: u64,
    /// The instances swapped roles (odd number of fail-overs).
    primary_flipped: bool,
}

impl Exchange {
    pub fn new(registry: SessionRegistry, engine: MatchingEngine) -> Self {
        Exchange {
            registry,
            engine,
            conns: Vec::new(),
            reports: Vec::with_capacity(64),
            undeliverable: 0,
            tap: Vec::new(),
            tap_on: false,
            cl_ord_ids: std::collections::HashSet::new(),
            duplicate_cl_ord_ids: 0,
            record: None,
            controls: MessagingControls::default(),
            windows: Vec::new(),
            cod_on_disconnect: false,
            last_now: 0,
            primary_flipped: false,
        }
    }

    /// Sets the messaging-control thresholds.
    pub fn set_messaging_controls(&mut self, c: MessagingControls) {
        self.controls = c;
    }

    /// Cancel on Disconnect also when a connection drops without a Terminate (involuntary
    /// loss, CME's default for new sessions); off by default here. A messaging-control
    /// logout always invokes it.
    pub fn set_cancel_on_disconnect(&mut self, on: bool) {
        self.cod_on_disconnect = on;
    }

    /// Journals engine reports produced outside a client message (close, COD, busts).
    fn deliver(&mut self, now: u64, reports: &[(SessionKey, Report)]) {
        if self.tap_on {
            self.tap.extend_from_slice(reports);
        }
        for (k, r) in reports {
            if self
                .registry
                .send_report_with(*k, now, r, self.engine.aux())
                .is_err()
            {
                self.undeliverable += 1;
            }
        }
    }

    /// The simulated close of `trade_date` (days since the Unix epoch): Day orders and GTD
    /// orders expiring by then are eliminated (ExecutionReportElimination 524); GTC stay.
    pub fn close_day(&mut self, now: u64, trade_date: u16) {
        let mut out = Vec::new();
        self.engine.close_day(trade_date, now, &mut out);
        self.deliver(now, &out);
    }

    /// Busts a trade (kept while trade faults are on): TradeAddendum with ExecType H.
    pub fn bust_trade(&mut self, now: u64, sec_exec_id: u64) -> bool {
        let mut out = Vec::new();
        let ok = self.engine.bust_trade(sec_exec_id, now, &mut out);
        self.deliver(now, &out);
        ok
    }

    /// Corrects a trade's price: TradeAddendum with ExecType G.
    pub fn correct_trade(&mut self, now: u64, sec_exec_id: u64, new_px: i64) -> bool {
        let mut out = Vec::new();
        let ok = self
            .engine
            .correct_trade(sec_exec_id, new_px, now, &mut out);
        self.deliver(now, &out);
        ok
    }

    /// Cancel on Disconnect for a session now; returns how many orders it cancelled.
    pub fn cancel_on_disconnect(&mut self, now: u64, key: SessionKey) -> usize {
        let mut out = Vec::new();
        let n = self.engine.cancel_on_disconnect(key, now, &mut out);
        self.deliver(now, &out);
        n
    }

    pub fn registry(&self) -> &SessionRegistry {
        &self.registry
    }

    pub fn registry_mut(&mut self) -> &mut SessionRegistry {
        &mut self.registry
    }

    pub fn engine(&self) -> &MatchingEngine {
        &self.engine
    }

    pub fn engine_mut(&mut self) -> &mut MatchingEngine {
        &mut self.engine
    }

    /// Reports dropped because their session had no UUID (never negotiated).
    /// NewOrderSingles whose ClOrdID the same session had already used (an order sent twice).
    pub fn duplicate_cl_ord_ids(&self) -> u64 {
        self.duplicate_cl_ord_ids
    }

    pub fn undeliverable_reports(&self) -> u64 {
        self.undeliverable
    }

    /// Record every business message received and every report produced into `record`.
    pub fn set_record(&mut self, record: Option<super::record::SimRecord>) {
        self.record = record;
    }

    /// Keep a copy of every report the engine produces (for Drop Copy); drain them with
    /// [`Exchange::take_reports`].
    pub fn set_report_tap(&mut self, on: bool) {
        self.tap_on = on;
        if !on {
            self.tap.clear();
        }
    }

    /// Moves the reports kept since the last call into `out` (appended, in production order).
    pub fn take_reports(&mut self, out: &mut Vec<(SessionKey, Report)>) {
        out.append(&mut self.tap);
    }

    /// A new TCP connection.
    pub fn accept(&mut self, now: u64) -> ConnId {
        let conn = GatewaySession::new(&mut self.registry, now);
        if let Some(i) = self.conns.iter().position(Option::is_none) {
            if let Some(slot) = self.conns.get_mut(i) {
                *slot = Some(conn);
            }
            return ConnId(i);
        }
        self.conns.push(Some(conn));
        ConnId(self.conns.len() - 1)
    }

    /// A new TCP connection to the designated backup gateway instance: it refuses Negotiate
    /// and Establish (DesignatedBackup) until [`Exchange::fail_over`] promotes it.
    pub fn accept_backup(&mut self, now: u64) -> ConnId {
        let c = self.accept(now);
        if let Some(conn) = self.connection_mut(c) {
            conn.set_backup(true);
        }
        c
    }

    /// MSGW fail-over: the primary gateway instance is lost (every connection to it drops
    /// without a Terminate, as a TCP loss) and the backup becomes the primary; the old primary
    /// comes back as the backup. Sessions keep their UUID and sequence numbers (the journal
    /// is shared), so clients re-Establish on the new primary without a Negotiate. Returns
    /// the connections that dropped.
    pub fn fail_over(&mut self) -> Vec<ConnId> {
        let mut dropped = Vec::new();
        for i in 0..self.conns.len() {
            let backup = match self.conns.get(i) {
                Some(Some(conn)) => conn.is_backup(),
                _ => continue,
            };
            if backup {
                if let Some(Some(conn)) = self.conns.get_mut(i) {
                    conn.set_backup(false);
                }
            } else {
                self.close(ConnId(i));
                dropped.push(ConnId(i));
            }
        }
        self.primary_flipped = !self.primary_flipped;
        dropped
    }

    /// How many fail-overs happened, modulo 2 (`true`: the original backup is the primary).
    pub fn failed_over(&self) -> bool {
        self.primary_flipped
    }

    /// Live connection handles.
    pub fn connections(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.conns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_some())
            .map(|(i, _)| ConnId(i))
    }

    pub fn connection(&self, c: ConnId) -> Option<&GatewaySession> {
        self.conns.get(c.0).and_then(Option::as_ref)
    }

    /// The connection itself (fault injection).
    pub fn connection_mut(&mut self, c: ConnId) -> Option<&mut GatewaySession> {
        self.conns.get_mut(c.0).and_then(Option::as_mut)
    }

    /// Bytes received on `c`. Business messages go to the engine; its reports are journaled to
    /// every session they concern.
    pub fn handle_input(&mut self, c: ConnId, now: u64, bytes: &[u8]) {
        self.last_now = now;
        let Some(Some(conn)) = self.conns.get_mut(c.0) else {
            return;
        };
        let engine = &mut self.engine;
        let reports = &mut self.reports;
        let undeliverable = &mut self.undeliverable;
        let mut tap = self.tap_on.then_some(&mut self.tap);
        let seen = &mut self.cl_ord_ids;
        let duplicates = &mut self.duplicate_cl_ord_ids;
        let record = self.record.as_ref();
        let controls = self.controls;
        let windows = &mut self.windows;
        let mut logout = None;
        conn.handle_input(&mut self.registry, now, bytes, |reg, key, now, msg| {
            reports.clear();
            let nos = match msg {
                crate::ilink3::Message::NewOrderSingle(m) => Some(m.cl_ord_id()),
                _ => None,
            };
            if let (Some(rec), Some(seq)) = (record, super::ilink3_gateway::client_seq(msg)) {
                rec.lock().received.push(super::record::Received {
                    session: reg.session_id(key).unwrap_or_default().to_string(),
                    uuid: reg.sequences(key).map_or(0, |s| s.uuid),
                    seq,
                    template_id: msg.template_id(),
                    cl_ord_id: nos.map(|id| String::from_utf8_lossy(id.as_bytes()).into_owned()),
                });
            }
            match msg {
                crate::ilink3::Message::NewOrderSingle(m)
                    if !seen.insert((key, super::FixedText::new(m.cl_ord_id().as_bytes()))) =>
                {
                    *duplicates += 1;
                }
                crate::ilink3::Message::OrderCancelRequest(_)
                | crate::ilink3::Message::OrderMassActionRequest(_) => {
                    match count_cancel(windows, controls, key, now) {
                        Throttle::Pass => {}
                        Throttle::Reject => {
                            reports.push((key, throttle_reject(engine, msg, now)));
                        }
                        Throttle::Logout => logout = Some(key),
                    }
                }
                _ => {}
            }
            if logout.is_none() && reports.is_empty() {
                match (msg, on_behalf_of(reg, key, msg)) {
                    (crate::ilink3::Message::OrderCancelRequest(m), Some((orig, user, by))) => {
                        engine.cancel_on_behalf(orig, key, user, by, now, m, reports);
                    }
                    _ => {
                        engine.on_message(key, now, msg, reports);
                    }
                }
            }
            if let Some(rec) = record {
                let mut rec = rec.lock();
                for (k, r) in reports.iter() {
                    rec.reported.push(super::record::Reported {
                        session: reg.session_id(*k).unwrap_or_default().to_string(),
                        exec_id: r.exec_id,
                        template_id: r.template_id(),
                    });
                }
            }
            if let Some(t) = tap.as_mut() {
                t.extend_from_slice(reports);
            }
            for (k, r) in reports.iter() {
                if reg.send_report_with(*k, now, r, engine.aux()).is_err() {
                    *undeliverable += 1;
                }
            }
        });
        if let Some(key) = logout {
            if let Some(w) = self.windows.get_mut(key.0 as usize) {
                w.logout = false;
                w.count = 0;
            }
            if let Some(Some(conn)) = self.conns.get_mut(c.0) {
                conn.terminate_volume_controls(&mut self.registry, now);
            }
            self.cancel_on_disconnect(now, key);
        }
    }

    pub fn handle_timeout(&mut self, c: ConnId, now: u64) {
        self.last_now = now;
        if let Some(Some(conn)) = self.conns.get_mut(c.0) {
            conn.handle_timeout(&mut self.registry, now);
        }
    }

    pub fn next_deadline(&self, c: ConnId) -> Option<u64> {
        self.connection(c)
            .and_then(|conn| conn.next_deadline(&self.registry))
    }

    pub fn poll_transmit(&mut self, c: ConnId) -> Option<&[u8]> {
        let Some(Some(conn)) = self.conns.get_mut(c.0) else {
            return None;
        };
        conn.poll_transmit(&self.registry)
    }

    pub fn poll_event(&mut self, c: ConnId) -> Option<GatewayEvent> {
        self.connection_mut(c).and_then(GatewaySession::poll_event)
    }

    /// Fault injection: a NotApplied for `from..from+count` on `c` now.
    pub fn inject_not_applied(&mut self, c: ConnId, from: u32, count: u32) {
        if let Some(Some(conn)) = self.conns.get_mut(c.0) {
            conn.inject_not_applied(&self.registry, from, count);
        }
    }

    /// Fault injection: the exchange sends Terminate `code` on `c` now (the connection ends).
    pub fn terminate(&mut self, c: ConnId, now: u64, code: crate::ilink3::TerminateCode) {
        if let Some(Some(conn)) = self.conns.get_mut(c.0) {
            conn.terminate_now(&mut self.registry, now, code);
        }
    }

    /// The TCP connection is gone: frees the slot and the session for another connection.
    pub fn close(&mut self, c: ConnId) {
        if let Some(slot) = self.conns.get_mut(c.0) {
            if let Some(mut conn) = slot.take() {
                let involuntary = conn.state() == super::ilink3_gateway::ConnState::Established;
                let key = conn.session();
                conn.on_disconnected(&mut self.registry);
                if let (true, true, Some(key)) = (self.cod_on_disconnect, involuntary, key) {
                    let now = self.engine_clock();
                    self.cancel_on_disconnect(now, key);
                }
            }
        }
    }

    fn engine_clock(&self) -> u64 {
        self.last_now
    }
}

/// A session's sender comp as OrigOrderUser and CancelText carry it: Session ID then Firm ID
/// (`XYZ007`).
fn sender_comp(reg: &SessionRegistry, key: SessionKey) -> Option<super::FixedText<8>> {
    let id = reg.session_id(key)?;
    let firm = &reg
        .config()
        .sessions
        .iter()
        .find(|a| a.session_id == id)?
        .firm_id;
    Some(super::FixedText::new(format!("{id}{firm}").as_bytes()))
}

/// An OrderCancelRequest naming another session of the requester's firm in OrigOrderUser
/// (Session ID, then optionally the Firm ID and the fault-tolerance indicator): Cancel on
/// Behalf of that session. `(original session, OrigOrderUser, the requester's sender comp)`;
/// `None` for a plain cancel or an OrigOrderUser that names no session of the firm (the
/// cancel is then handled as the requester's own, and refused if the order is not theirs).
fn on_behalf_of(
    reg: &SessionRegistry,
    key: SessionKey,
    msg: &crate::ilink3::Message<'_>,
) -> Option<(SessionKey, super::FixedText<8>, super::FixedText<8>)> {
    let crate::ilink3::Message::OrderCancelRequest(m) = msg else {
        return None;
    };
    let user = m.orig_order_user().as_bytes();
    let sid = std::str::from_utf8(user.get(..3)?).ok()?;
    let orig = reg.key(sid)?;
    let firm_of = |k: SessionKey| {
        let id = reg.session_id(k)?;
        reg.config()
            .sessions
            .iter()
            .find(|a| a.session_id == id)
            .map(|a| a.firm_id.clone())
    };
    let firm = firm_of(key)?;
    let named_firm = user.get(3..).unwrap_or_default();
    let firm_ok = named_firm.is_empty() || named_firm.starts_with(firm.as_bytes());
    if orig == key || !firm_ok || firm_of(orig)? != firm {
        return None;
    }
    Some((orig, super::FixedText::new(user), sender_comp(reg, key)?))
}

enum Throttle {
    Pass,
    Reject,
    Logout,
}

/// Counts a cancel or mass action of `key` in the current second.
fn count_cancel(
    windows: &mut Vec<CancelWindow>,
    c: MessagingControls,
    key: SessionKey,
    now: u64,
) -> Throttle {
    let i = key.0 as usize;
    if windows.len() <= i {
        windows.resize(i + 1, CancelWindow::default());
    }
    let Some(w) = windows.get_mut(i) else {
        return Throttle::Pass;
    };
    if w.logout {
        return Throttle::Logout;
    }
    let second = now / 1_000_000_000;
    if w.second != second {
        w.second = second;
        w.count = 0;
    }
    w.count = w.count.saturating_add(1);
    if w.count > c.logout_per_s {
        w.logout = true;
        Throttle::Logout
    } else if w.count > c.reject_per_s {
        Throttle::Reject
    } else {
        Throttle::Pass
    }
}

/// BusinessReject 521 (reason 8, throttle limit exceeded) of a cancel or mass action.
fn throttle_reject(
    engine: &mut MatchingEngine,
    msg: &crate::ilink3::Message<'_>,
    now: u64,
) -> Report {
    let (seq, ty, party, sender, location) = match msg {
        crate::ilink3::Message::OrderCancelRequest(m) => (
            m.seq_num(),
            *b"F\0",
            m.party_details_list_req_id(),
            m.sender_id().as_bytes(),
            m.location().as_bytes(),
        ),
        crate::ilink3::Message::OrderMassActionRequest(m) => (
            m.seq_num(),
            *b"CA",
            m.party_details_list_req_id(),
            m.sender_id().as_bytes(),
            m.location().as_bytes(),
        ),
        _ => (0, [0; 2], 0, &[][..], &[][..]),
    };
    engine.business_reject(
        super::matching::BusinessRejectInfo {
            reason: 8,
            ref_tag: None,
            ref_seq: seq,
            ref_msg_type: ty,
            text: "messaging controls: cancel/mass action rate above 1000/s",
            party,
            sender_id: super::FixedText::new(sender),
            location: super::FixedText::new(location),
        },
        now,
    )
}
