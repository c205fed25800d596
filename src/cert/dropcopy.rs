//! The Drop Copy 4.0 AutoCert+ scenarios (CERTIFICATION.md section 2), run sans-IO like the
//! iLink 3 ones: our Drop Copy session ([`crate::dropcopy::session::DropCopySession`]) against
//! the simulator's Drop Copy gateway ([`crate::sim::DropCopySession`] on a
//! [`DropCopyRegistry`]), on the same virtual clock as the scenario's [`Ctx`]. Business content
//! comes from the scenario's iLink 3 session trading on the simulated exchange: every report the
//! matching engine produces is copied to Drop Copy as CME does (35=n, the FIX message wrapped in
//! `<RTRF>` in 213; mass action reports as an embedded 35=BZ).
//!
//! Every FIX message is recorded on one line (tag=value, `|` for SOH; `[segment]` first when a
//! scenario logs on to several market segments). A Drop Copy scenario's `--break` fault
//! ([`Scenario::breaks`]) reads as (tag, MsgType): the simulator changes the first character of
//! that tag's value in each message of that type it sends (inside `<RTRF>` too, checksums kept
//! valid), and the scenario's check of that field fails naming `35=<MsgType>` and the tag.

use super::scenarios::Scenario;
use super::{Ctx, Dir, Line, ES, KEY, KEY_ID, M0, MS, NQ, T0};
use crate::auth::{AccessKeyId, HmacSigner};
use crate::dropcopy::codec::{frame, parse, FieldIndex, Frame, SOH};
use crate::dropcopy::report::{Decimal9, ReportParser};
use crate::dropcopy::session::{
    DisconnectReason, DropCopyEvent, DropCopySession, DropCopyState, SeqNums, SessionConfig,
};
use crate::ilink3::session::ConnectMode;
use crate::ilink3::{EncodeError, NewOrderSingleWriter, OrderMassActionRequestWriter};
use crate::sim::{
    DcState, DropCopyAccount, DropCopyGatewayConfig, DropCopyRegistry, FailoverJump,
    InstrumentInfo, ReportKind, SkipOutbound,
};
use std::collections::HashMap;

const D: &str = "Drop Copy 4.0";
/// Our SenderCompID (session `DC7`, fault-tolerance indicator N).
const COMP: &str = "DC7N";
const FIRM: &str = "007";
const HB_S: u32 = 30;
const BUY: u8 = 1;
const SELL: u8 = 2;

fn dc(
    name: &'static str,
    run: fn(&mut Ctx) -> Result<(), String>,
    tag: u16,
    mt: &'static str,
) -> Scenario {
    Scenario {
        name,
        suite: D,
        run: Some(run),
        skip: None,
        breaks: (tag, mt),
    }
}

/// The Drop Copy 4.0 scenarios, in CERTIFICATION.md order.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        dc("Logon Message (CGW)", logon_cgw, 108, "A"),
        dc("Receive Message Stream (CGW)", stream_cgw, 38, "n"),
        dc("Receive Message Stream (MSGW)", stream_msgw, 55, "n"),
        dc("Respond to Resend Request", respond_to_resend, 7, "2"),
        dc(
            "Process Real-Time Messages During a Resend Response",
            realtime_during_resend,
            43,
            "n",
        ),
        dc(
            "Receive Encapsulated Message from Simulated Order Mass Action Messages",
            mass_action,
            533,
            "n",
        ),
        dc("Logon Process with Failover", failover, 36, "4"),
        dc("Mid Week Logon", mid_week_logon, 789, "5"),
        dc(
            "Bi-Directional Resend Request Scenario",
            bidirectional_resend,
            16,
            "2",
        ),
    ]
}

/// A tag's name in check texts.
pub(super) fn tag_name(tag: u32) -> &'static str {
    match tag {
        7 => "BeginSeqNo",
        11 => "ClOrdID",
        14 => "CumQty",
        16 => "EndSeqNo",
        19 => "ExecRefID",
        31 => "LastPx",
        32 => "LastQty",
        34 => "MsgSeqNum",
        36 => "NewSeqNo",
        37 => "OrderID",
        38 => "OrderQty",
        39 => "OrdStatus",
        41 => "OrigClOrdID",
        43 => "PossDupFlag",
        44 => "Price",
        50 => "SenderSubID",
        55 => "Symbol",
        56 => "TargetCompID",
        58 => "Text",
        84 => "CxlQty",
        98 => "EncryptMethod",
        108 => "HeartBtInt",
        112 => "TestReqID",
        123 => "GapFillFlag",
        150 => "ExecType",
        151 => "LeavesQty",
        527 => "SecondaryExecID",
        533 => "TotalAffectedOrders",
        534 => "NoAffectedOrders",
        535 => "AffectedOrderID",
        789 => "NextExpectedMsgSeqNum",
        893 => "LastFragment",
        1151 => "SecurityGroup",
        1300 => "MarketSegmentID",
        1373 => "MassActionType",
        1374 => "MassActionScope",
        1375 => "MassActionResponse",
        _ => "",
    }
}

/// One line per FIX message: SOH shown as `|`.
pub(super) fn render(raw: &[u8]) -> String {
    let s: String = raw
        .iter()
        .map(|&b| if b == SOH { '|' } else { char::from(b) })
        .collect();
    s.trim_end_matches('|').to_string()
}

/// `tag`'s value in `raw`; for a 35=n, from the embedded message when the outer has none.
pub(super) fn value(raw: &[u8], tag: u32) -> Option<String> {
    let mut idx = FieldIndex::new();
    let m = parse(raw, &mut idx).ok()?;
    if let Some(v) = m.get(tag) {
        return Some(String::from_utf8_lossy(v).into_owned());
    }
    let inner = embedded(raw)?;
    let m = parse(&inner, &mut idx).ok()?;
    m.get(tag).map(|v| String::from_utf8_lossy(v).into_owned())
}

/// The message in a 35=n's 213 (without `<RTRF>`).
fn embedded(raw: &[u8]) -> Option<Vec<u8>> {
    ReportParser::new()
        .parse(raw)
        .ok()?
        .inner
        .map(<[u8]>::to_vec)
}

fn msg_type(raw: &[u8]) -> String {
    value(raw, 35).unwrap_or_default()
}

/// `n(BZ)` for a 35=n embedding a 35=BZ, else the MsgType.
pub(super) fn kind(raw: &[u8]) -> String {
    let mt = msg_type(raw);
    if mt == "n" {
        if let Some(inner) = embedded(raw) {
            return format!("n({})", msg_type(&inner));
        }
    }
    mt
}

fn seq(raw: &[u8]) -> u64 {
    value(raw, 34).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The checksum (10) of the message `m` (which ends with `10=NNN<SOH>`) made right again.
fn fix_checksum(m: &mut [u8]) {
    let Some(at) = m.windows(4).rposition(|w| w == b"\x0110=") else {
        return;
    };
    let sum = m[..=at].iter().fold(0u32, |a, &b| a + u32::from(b)) % 256;
    let digits = format!("{sum:03}");
    if let Some(dst) = m.get_mut(at + 4..at + 7) {
        dst.copy_from_slice(digits.as_bytes());
    }
}

/// The `--break` fault: changes the first character of `tag`'s first value in `m` (keeping its
/// length), then repairs the checksums (the embedded message's too). False if `m` lacks `tag`.
fn corrupt(m: &mut [u8], tag: u16) -> bool {
    let pat = format!("\x01{tag}=");
    let Some(at) = m.windows(pat.len()).position(|w| w == pat.as_bytes()) else {
        return false;
    };
    let p = at + pat.len();
    let Some(b) = m.get_mut(p) else {
        return false;
    };
    *b = match *b {
        b'0'..=b'8' => *b + 1,
        b'9' => b'0',
        b'Y' => b'N',
        b'N' => b'Y',
        c if c.is_ascii_alphabetic() => c ^ 1,
        c => c,
    };
    let open = m.windows(6).position(|w| w == b"<RTRF>");
    let close = m.windows(7).position(|w| w == b"</RTRF>");
    if let (Some(o), Some(c)) = (open, close) {
        if o < p && p < c {
            if let Some(inner) = m.get_mut(o + 6..c) {
                fix_checksum(inner);
            }
        }
    }
    fix_checksum(m);
    true
}

/// One Drop Copy connection pair: our session and the simulator's gateway for one market
/// segment (`G` for the Convenience Gateway).
struct Seg {
    name: &'static str,
    reg: DropCopyRegistry,
    gw: Option<crate::sim::DropCopySession>,
    gw_closing: bool,
    client: DropCopySession,
    /// While `Some`, our bytes wait here instead of reaching the gateway (in flight).
    gate: Option<Vec<u8>>,
    received: Vec<Vec<u8>>,
    sent: Vec<Vec<u8>>,
    /// Application messages delivered by our session: (MsgSeqNum, PossDup).
    apps: Vec<(u64, bool)>,
    resends: Vec<(u64, u64)>,
    disconnects: Vec<DisconnectReason>,
    logons: usize,
}

fn registry() -> DropCopyRegistry {
    let mut keys = HashMap::new();
    keys.insert(KEY_ID.to_string(), HmacSigner::new(KEY));
    let mut cfg = DropCopyGatewayConfig::new(
        vec![DropCopyAccount {
            sender_comp_id: COMP.into(),
            firm_ids: vec![FIRM.into()],
            access_key_ids: vec![KEY_ID.into()],
            xml_non_fix: true,
        }],
        keys,
    );
    cfg.symbols.insert(ES, "ES".into());
    cfg.symbols.insert(NQ, "NQ".into());
    DropCopyRegistry::new(cfg)
}

fn client(segment: &str, seqs: SeqNums) -> Result<DropCopySession, String> {
    let key = AccessKeyId::parse(KEY_ID).map_err(|e| e.to_string())?;
    DropCopySession::new(
        SessionConfig {
            sender_comp_id: COMP.into(),
            sender_sub_id: "TRADER".into(),
            target_comp_id: "CME".into(),
            target_sub_id: segment.into(),
            sender_location_id: "US,IL".into(),
            heartbeat_s: HB_S,
            app_system_name: "ilinkd".into(),
            app_system_version: env!("CARGO_PKG_VERSION").into(),
            app_system_vendor: "ilinkd".into(),
            logon_timeout_s: 5,
            logout_timeout_s: 5,
        },
        key,
        HmacSigner::new(KEY),
        seqs,
    )
    .map_err(|e| e.to_string())
}

/// The Drop Copy side of a scenario.
struct Dc {
    segs: Vec<Seg>,
    /// (tag, MsgType) corrupted in the gateway's messages.
    breaker: Option<(u16, &'static str)>,
}

impl Dc {
    /// Drop Copy sessions on `segments` (`G`: CGW; market segment ids: MSGW), and the exchange's
    /// reports copied to them.
    fn new(ctx: &mut Ctx, segments: &[&'static str]) -> Result<Dc, String> {
        ctx.ex.set_report_tap(true);
        ctx.ex.engine_mut().set_trade_faults(0, 0, true);
        let mut segs = Vec::new();
        for &name in segments {
            segs.push(Seg {
                name,
                reg: registry(),
                gw: None,
                gw_closing: false,
                client: client(name, SeqNums::BEGINNING_OF_WEEK)?,
                gate: None,
                received: Vec::new(),
                sent: Vec::new(),
                apps: Vec::new(),
                resends: Vec::new(),
                disconnects: Vec::new(),
                logons: 0,
            });
        }
        Ok(Dc {
            segs,
            breaker: ctx.breaker,
        })
    }

    fn seg(&mut self, i: usize) -> Result<&mut Seg, String> {
        self.segs
            .get_mut(i)
            .ok_or_else(|| format!("no Drop Copy segment #{i}"))
    }

    fn line(&self, ctx: &mut Ctx, seg: usize, dir: Dir, raw: &[u8]) {
        let mut text = render(raw);
        if self.segs.len() > 1 {
            text = format!("[{}] {text}", self.segs[seg].name);
        }
        ctx.lines.push(Line {
            at_ms: ctx.at_ms(),
            dir,
            text,
        });
    }

    /// Moves bytes both ways until nothing moves.
    fn pump(&mut self, ctx: &mut Ctx) {
        loop {
            let mut moved = false;
            for i in 0..self.segs.len() {
                moved |= self.pump_seg(ctx, i);
            }
            if !moved {
                break;
            }
        }
    }

    fn pump_seg(&mut self, ctx: &mut Ctx, i: usize) -> bool {
        let now = ctx.now();
        let wall = ctx.cme_ns();
        let breaker = self.breaker;
        let mut moved = false;
        let mut lines: Vec<(Dir, Vec<u8>)> = Vec::new();
        {
            let s = &mut self.segs[i];
            while let Some(ev) = s.client.poll_event() {
                moved = true;
                match ev {
                    DropCopyEvent::Application { seq, poss_dup, .. } => {
                        s.apps.push((seq, poss_dup))
                    }
                    DropCopyEvent::ResendRequested { from, to } => s.resends.push((from, to)),
                    DropCopyEvent::LoggedOn { .. } => s.logons += 1,
                    DropCopyEvent::Disconnect { reason } => s.disconnects.push(reason),
                    _ => {}
                }
            }
            if let Some(b) = s.client.poll_transmit() {
                let b = b.to_vec();
                moved = true;
                let mut off = 0;
                while let Frame::Complete(n) = frame(&b[off..]) {
                    lines.push((Dir::Sent, b[off..off + n].to_vec()));
                    s.sent.push(b[off..off + n].to_vec());
                    off += n;
                }
                match (&mut s.gate, &mut s.gw) {
                    (Some(held), _) => held.extend_from_slice(&b),
                    (None, Some(gw)) => gw.handle_input(&mut s.reg, wall, &b),
                    (None, None) => {}
                }
            }
            if let Some(gw) = &mut s.gw {
                if let Some(b) = gw.poll_transmit(&mut s.reg) {
                    let b = b.to_vec();
                    moved = true;
                    let mut out = Vec::with_capacity(b.len());
                    let mut off = 0;
                    while let Frame::Complete(n) = frame(&b[off..]) {
                        let mut m = b[off..off + n].to_vec();
                        off += n;
                        if let Some((tag, mt)) = breaker {
                            if msg_type(&m) == mt {
                                corrupt(&mut m, tag);
                            }
                        }
                        out.extend_from_slice(&m);
                        lines.push((Dir::Received, m.clone()));
                        s.received.push(m);
                    }
                    s.client.handle_input(now, &out);
                }
                while let Some(e) = gw.poll_event() {
                    if e == crate::sim::DcEvent::Disconnect {
                        s.gw_closing = true;
                    }
                }
                if s.gw_closing && gw.state() == DcState::Closed {
                    // Everything pending was sent: the gateway closes the connection.
                    s.gw = None;
                    s.gw_closing = false;
                    s.client.connection_lost();
                    moved = true;
                }
            }
        }
        for (dir, m) in lines {
            self.line(ctx, i, dir, &m);
        }
        moved
    }

    /// Runs every timer (ours, the gateway's, the iLink 3 side's) for `ms` virtual ms.
    fn advance(&mut self, ctx: &mut Ctx, ms: u64) {
        let until = ctx.mono + ms * MS;
        loop {
            let mut next = until;
            for s in &self.segs {
                if let Some(d) = s.client.next_deadline() {
                    next = next.min(d.0);
                }
                if let Some(d) = s.gw.as_ref().and_then(|g| g.next_deadline(&s.reg)) {
                    next = next.min(M0 + d.saturating_sub(T0));
                }
            }
            // At least a millisecond: the clock moves even if a timer stays due.
            let step = next.saturating_sub(ctx.mono).div_ceil(MS).max(1);
            ctx.advance(step);
            let now = ctx.now();
            let wall = ctx.cme_ns();
            for s in &mut self.segs {
                if s.client.next_deadline().is_some_and(|d| d <= now.mono) {
                    s.client.handle_timeout(now);
                }
                if let Some(gw) = &mut s.gw {
                    if gw.next_deadline(&s.reg).is_some_and(|d| d <= wall) {
                        gw.handle_timeout(&mut s.reg, wall);
                    }
                }
            }
            self.pump(ctx);
            if ctx.mono >= until {
                break;
            }
        }
    }

    /// TCP up to the segment's gateway, then our Logon; checks CME's Logon answer.
    fn logon(&mut self, ctx: &mut Ctx, i: usize) -> Result<(), String> {
        self.connect(ctx, i, None)?;
        let s = self.seg(i)?;
        let (ok, name) = (s.client.state() == DropCopyState::Active, s.name);
        ctx.check(format!("[{name}] logged on (35=A answered)"), ok)
    }

    fn connect(
        &mut self,
        ctx: &mut Ctx,
        i: usize,
        jump: Option<FailoverJump>,
    ) -> Result<(), String> {
        let wall = ctx.cme_ns();
        let now = ctx.now();
        let s = self.seg(i)?;
        let mut gw = crate::sim::DropCopySession::new(&mut s.reg, wall);
        gw.faults_mut().failover_jump = jump;
        s.gw = Some(gw);
        s.client
            .connect(now)
            .map_err(|e| format!("Drop Copy connect: {e}"))?;
        self.pump(ctx);
        self.advance(ctx, 10);
        Ok(())
    }

    /// The connection drops without a Logout (a gateway failure).
    fn drop_connection(&mut self, i: usize) -> Result<(), String> {
        let s = self.seg(i)?;
        if let Some(mut gw) = s.gw.take() {
            gw.on_disconnected(&mut s.reg);
        }
        s.client.connection_lost();
        Ok(())
    }

    fn logout(&mut self, ctx: &mut Ctx, i: usize) -> Result<(), String> {
        let now = ctx.now();
        let s = self.seg(i)?;
        s.client
            .logout(now, "")
            .map_err(|e| format!("Drop Copy logout: {e}"))?;
        self.pump(ctx);
        self.advance(ctx, 10);
        let s = self.seg(i)?;
        let done = s.disconnects.last() == Some(&DisconnectReason::LogoutComplete);
        let name = s.name;
        ctx.check(format!("[{name}] Logout answered by CME's Logout"), done)
    }

    /// CME's certification tool sends a TestRequest.
    fn test_request(&mut self, ctx: &mut Ctx, i: usize) -> Result<(), String> {
        let wall = ctx.cme_ns();
        let s = self.seg(i)?;
        let sent = match &mut s.gw {
            Some(gw) => gw.send_test_request(&mut s.reg, wall),
            None => false,
        };
        ctx.check("CME's TestRequest sent", sent)?;
        self.pump(ctx);
        self.advance(ctx, 10);
        Ok(())
    }

    /// CME's certification tool asks for our messages `from..=to` (0: to the latest).
    fn resend_request(
        &mut self,
        ctx: &mut Ctx,
        i: usize,
        from: u64,
        to: u64,
    ) -> Result<(), String> {
        let wall = ctx.cme_ns();
        let s = self.seg(i)?;
        let sent = match &mut s.gw {
            Some(gw) => gw.send_resend_request(&mut s.reg, wall, from, to),
            None => false,
        };
        ctx.check("CME's ResendRequest sent", sent)?;
        self.pump(ctx);
        Ok(())
    }

    /// Holds our messages back from the gateway (they are in flight) until [`Dc::release`].
    fn hold(&mut self, i: usize) -> Result<(), String> {
        self.seg(i)?.gate = Some(Vec::new());
        Ok(())
    }

    fn release(&mut self, ctx: &mut Ctx, i: usize) -> Result<(), String> {
        let wall = ctx.cme_ns();
        let s = self.seg(i)?;
        if let (Some(held), Some(gw)) = (s.gate.take(), &mut s.gw) {
            gw.handle_input(&mut s.reg, wall, &held);
        }
        self.pump(ctx);
        self.advance(ctx, 10);
        Ok(())
    }

    /// Copies the exchange's reports to Drop Copy as CME does; with several segments, each
    /// instrument's to its own (ES: the first, NQ: the second).
    fn route(&mut self, ctx: &mut Ctx) {
        let mut reports = Vec::new();
        ctx.ex.take_reports(&mut reports);
        let wall = ctx.cme_ns();
        for (k, r) in &reports {
            let sid = ctx
                .ex
                .registry()
                .session_id(*k)
                .unwrap_or("ABC")
                .to_string();
            let i = if self.segs.len() > 1 && r.security_id == NQ {
                1
            } else {
                0
            };
            let Some(s) = self.segs.get_mut(i) else {
                continue;
            };
            if let ReportKind::MassAction {
                affected_start,
                affected_count,
                ..
            } = r.kind
            {
                let start = affected_start as usize;
                let aux = &ctx.ex.engine().aux().affected;
                let affected = aux
                    .get(start..start + usize::from(affected_count))
                    .unwrap_or_default();
                s.reg.publish_mass_action(FIRM, &sid, wall, r, affected);
            } else {
                s.reg.publish_report(FIRM, &sid, wall, r);
            }
        }
        self.pump(ctx);
        self.advance(ctx, 1);
    }

    /// Received messages of `kind` (`A`, `n(8)`, `n(BZ)`, ...) on segment `i`.
    fn received(&self, i: usize, kind_: &str) -> Vec<&[u8]> {
        self.segs.get(i).map_or_else(Vec::new, |s| {
            s.received
                .iter()
                .filter(|m| kind(m) == kind_)
                .map(Vec::as_slice)
                .collect()
        })
    }

    fn sent(&self, i: usize, kind_: &str) -> Vec<&[u8]> {
        self.segs.get(i).map_or_else(Vec::new, |s| {
            s.sent
                .iter()
                .filter(|m| kind(m) == kind_)
                .map(Vec::as_slice)
                .collect()
        })
    }

    /// Checks `tag` of the `nth` (0-based) received message of `kind_` on segment `i`.
    fn expect(
        &self,
        ctx: &mut Ctx,
        i: usize,
        kind_: &str,
        nth: usize,
        tag: u32,
        want: &str,
    ) -> Result<(), String> {
        let got = self.received(i, kind_).get(nth).map(|m| value(m, tag));
        let what = format!("35={kind_} #{} received", nth + 1);
        self.field_check(ctx, i, what, (tag, want), got)
    }

    /// Checks `tag` of the `nth` message of `kind_` we sent on segment `i`.
    fn expect_sent(
        &self,
        ctx: &mut Ctx,
        i: usize,
        kind_: &str,
        nth: usize,
        tag: u32,
        want: &str,
    ) -> Result<(), String> {
        let got = self.sent(i, kind_).get(nth).map(|m| value(m, tag));
        let what = format!("35={kind_} #{} sent", nth + 1);
        self.field_check(ctx, i, what, (tag, want), got)
    }

    /// Records the check of `tag` (wanted `want`) in the message `what` names (`got`: `None`
    /// when there is no such message, `Some(None)` when it lacks the tag).
    fn field_check(
        &self,
        ctx: &mut Ctx,
        i: usize,
        what: String,
        (tag, want): (u32, &str),
        got: Option<Option<String>>,
    ) -> Result<(), String> {
        let seg = match self.segs.get(i) {
            Some(s) if self.segs.len() > 1 => format!("[{}] ", s.name),
            _ => String::new(),
        };
        let name = tag_name(tag);
        let (ok, text) = match got {
            None => (
                false,
                format!("{seg}{what}: not there (wanted {tag} {name}={want})"),
            ),
            Some(v) => {
                let v = v.unwrap_or_else(|| "absent".into());
                (
                    v == want,
                    format!("{seg}{what}: {tag} {name} expected {want}, got {v}"),
                )
            }
        };
        ctx.check(text, ok)
    }

    /// The first received `n(8)` report on segment `i` whose fields match every `(tag, value)`.
    fn report(&self, i: usize, filter: &[(u32, &str)]) -> Option<usize> {
        self.received(i, "n(8)").iter().position(|m| {
            filter
                .iter()
                .all(|(t, v)| value(m, *t).as_deref() == Some(*v))
        })
    }

    /// Checks `tag` of the report matching `filter` (see [`Dc::report`]).
    fn expect_report(
        &self,
        ctx: &mut Ctx,
        i: usize,
        filter: &[(u32, &str)],
        tag: u32,
        want: &str,
    ) -> Result<(), String> {
        let f: Vec<String> = filter.iter().map(|(t, v)| format!("{t}={v}")).collect();
        let f = f.join(" ");
        match self.report(i, filter) {
            Some(nth) => self.expect(ctx, i, "n(8)", nth, tag, want),
            None => ctx.check(
                format!(
                    "35=n(8) with {f} received (wanted {tag} {}={want})",
                    tag_name(tag)
                ),
                false,
            ),
        }
    }
}

fn px(p: i64) -> i64 {
    p * 1_000_000_000
}

fn dec(p: i64) -> String {
    Decimal9(px(p)).to_string()
}

fn cl(id: u64) -> String {
    format!("CERT{id}")
}

/// A Day limit order on the iLink 3 session; its reports go to Drop Copy.
fn order(
    ctx: &mut Ctx,
    dc: &mut Dc,
    id: u64,
    sec: i32,
    side: u8,
    p: i64,
    qty: u32,
) -> Result<(), String> {
    let t = ctx.cme_ns();
    ctx.send(move |seq, _uuid, buf| -> Result<usize, EncodeError> {
        let mut w = NewOrderSingleWriter::new(buf)?;
        w.set_sender_id("TRADER")?
            .set_cl_ord_id(cl(id))?
            .set_location("US,IL")?;
        w.set_price(Some(px(p)))
            .set_order_qty(qty)
            .set_security_id(sec)
            .set_side(side)
            .set_ord_type(b'2')
            .set_time_in_force(Some(0))
            .set_seq_num(seq)
            .set_sending_time_epoch(t)
            .set_party_details_list_req_id(7)
            .set_order_request_id(id);
        Ok(w.finish())
    })?;
    dc.route(ctx);
    Ok(())
}

/// An OrderMassActionRequest for market segment `seg`.
fn mass_cancel(ctx: &mut Ctx, dc: &mut Dc, seg: u8) -> Result<(), String> {
    let t = ctx.cme_ns();
    ctx.send(move |seq, _uuid, buf| -> Result<usize, EncodeError> {
        let mut w = OrderMassActionRequestWriter::new(buf)?;
        w.set_sender_id("TRADER")?
            .set_location("US,IL")?
            .set_security_group("")?;
        w.set_mass_action_scope(9)
            .set_market_segment_id(Some(seg))
            .set_security_id(None)
            .set_seq_num(seq)
            .set_sending_time_epoch(t)
            .set_party_details_list_req_id(7)
            .set_order_request_id(99);
        Ok(w.finish())
    })?;
    dc.route(ctx);
    Ok(())
}

fn ilink(ctx: &mut Ctx) -> Result<(), String> {
    ctx.connect(ConnectMode::NewUuid)?;
    ctx.expect_count(504, 1)
}

/// Log on in time with a valid heartbeat interval, process the Logon reply and a TestRequest,
/// answer with a Heartbeat, log out cleanly.
fn logon_cgw(ctx: &mut Ctx) -> Result<(), String> {
    let mut dc = Dc::new(ctx, &["G"])?;
    dc.logon(ctx, 0)?;
    dc.expect_sent(ctx, 0, "A", 0, 108, &HB_S.to_string())?;
    dc.expect(ctx, 0, "A", 0, 108, &HB_S.to_string())?;
    dc.expect(ctx, 0, "A", 0, 34, "1")?;
    dc.test_request(ctx, 0)?;
    dc.expect(ctx, 0, "1", 0, 112, "SIMTEST1")?;
    dc.expect_sent(ctx, 0, "0", 0, 112, "SIMTEST1")?;
    // A heartbeat interval with nothing to say: Heartbeats both ways, no TestRequest from CME.
    dc.advance(ctx, u64::from(HB_S) * 1000 + 500);
    let beats = dc.sent(0, "0").len();
    ctx.check(
        format!("Heartbeats sent within the interval ({beats})"),
        beats >= 2,
    )?;
    let probes = dc.received(0, "1").len();
    ctx.check(
        format!("no further TestRequest from CME ({probes} in all)"),
        probes == 1,
    )?;
    dc.logout(ctx, 0)?;
    dc.expect(ctx, 0, "5", 0, 58, "Logout acknowledged")
}

/// Unpack 35=n: order creation (44, 38), partial fill (44, 151), trade correction (31), trade
/// cancellation (bust).
fn stream_cgw(ctx: &mut Ctx) -> Result<(), String> {
    let mut dc = Dc::new(ctx, &["G"])?;
    ilink(ctx)?;
    dc.logon(ctx, 0)?;
    order(ctx, &mut dc, 1, ES, BUY, 4500, 5)?;
    dc.expect_report(ctx, 0, &[(11, "CERT1"), (150, "0")], 38, "5")?;
    dc.expect_report(ctx, 0, &[(11, "CERT1"), (150, "0")], 44, &dec(4500))?;
    dc.expect_report(ctx, 0, &[(11, "CERT1"), (150, "0")], 39, "0")?;
    order(ctx, &mut dc, 2, ES, SELL, 4500, 2)?;
    let fill = [(11, "CERT1"), (150, "1")];
    dc.expect_report(ctx, 0, &fill, 44, &dec(4500))?;
    dc.expect_report(ctx, 0, &fill, 151, "3")?;
    dc.expect_report(ctx, 0, &fill, 31, &dec(4500))?;
    let trade = dc
        .report(0, &fill)
        .and_then(|n| value(dc.received(0, "n(8)")[n], 527))
        .and_then(|v| v.parse::<u64>().ok());
    ctx.check(
        "the partial fill carries 527 SecondaryExecID (the trade)",
        trade.is_some(),
    )?;
    let trade = trade.unwrap_or(0);
    let now = ctx.cme_ns();
    let corrected = ctx.ex.correct_trade(now, trade, px(4501));
    ctx.check("the exchange corrects the trade", corrected)?;
    dc.route(ctx);
    let corr = [(11, "CERT1"), (150, "G")];
    dc.expect_report(ctx, 0, &corr, 31, &dec(4501))?;
    dc.expect_report(ctx, 0, &corr, 19, &trade.to_string())?;
    let new_trade = dc
        .report(0, &corr)
        .and_then(|n| value(dc.received(0, "n(8)")[n], 527))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let now = ctx.cme_ns();
    let busted = ctx.ex.bust_trade(now, new_trade);
    ctx.check("the exchange busts the corrected trade", busted)?;
    dc.route(ctx);
    // The bust names the trade as first printed.
    dc.expect_report(ctx, 0, &[(11, "CERT1"), (150, "H")], 19, &trade.to_string())?;
    dc.expect_report(ctx, 0, &[(11, "CERT2"), (150, "H")], 32, "2")?;
    let s = dc.seg(0)?;
    let (apps, next) = (s.apps.len(), s.client.seq_nums().next_in);
    let n = dc.received(0, "n(8)").len();
    ctx.check(
        format!("every 35=n delivered in sequence ({apps} of {n}; next expected {next})"),
        apps == n && next == n as u64 + 2,
    )?;
    dc.logout(ctx, 0)
}

/// Logged on to two market segments at once (99 and 70); the same SessionID and MsgSeqNum on
/// both; corrections and busts per segment.
fn stream_msgw(ctx: &mut Ctx) -> Result<(), String> {
    ctx.ex.engine_mut().set_instrument_info(&InstrumentInfo {
        security_id: NQ,
        market_segment_id: Some(70),
        security_group: "NQ".into(),
        legs: Vec::new(),
    });
    let mut dc = Dc::new(ctx, &["99", "70"])?;
    ilink(ctx)?;
    dc.logon(ctx, 0)?;
    dc.logon(ctx, 1)?;
    order(ctx, &mut dc, 1, ES, BUY, 4500, 2)?;
    order(ctx, &mut dc, 2, NQ, BUY, 15000, 2)?;
    dc.expect_report(ctx, 0, &[(11, "CERT1"), (150, "0")], 55, "ES")?;
    dc.expect_report(ctx, 1, &[(11, "CERT2"), (150, "0")], 55, "NQ")?;
    for i in 0..2 {
        dc.expect(ctx, i, "A", 0, 34, "1")?;
        dc.expect(ctx, i, "n(8)", 0, 34, "2")?;
        dc.expect(ctx, i, "n(8)", 0, 56, COMP)?;
        // CME's SenderSubID is G on every segment (Drop Copy 4.0 standard header).
        dc.expect(ctx, i, "n(8)", 0, 50, "G")?;
    }
    order(ctx, &mut dc, 3, ES, SELL, 4500, 1)?;
    order(ctx, &mut dc, 4, NQ, SELL, 15000, 1)?;
    let trade = |dc: &Dc, i: usize, id: &str| {
        dc.report(i, &[(11, id), (150, "1")])
            .and_then(|n| value(dc.received(i, "n(8)")[n], 527))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (es, nq) = (trade(&dc, 0, "CERT1"), trade(&dc, 1, "CERT2"));
    ctx.check(
        format!("a fill on each segment (trades {es}, {nq})"),
        es > 0 && nq > 0,
    )?;
    let now = ctx.cme_ns();
    ctx.ex.correct_trade(now, es, px(4501));
    ctx.ex.bust_trade(now, nq);
    dc.route(ctx);
    dc.expect_report(ctx, 0, &[(11, "CERT1"), (150, "G")], 31, &dec(4501))?;
    dc.expect_report(ctx, 1, &[(11, "CERT2"), (150, "H")], 19, &nq.to_string())?;
    for (i, other) in [(0, "NQ"), (1, "ES")] {
        let crossed = dc.report(i, &[(55, other)]).is_some();
        let name = dc.segs[i].name;
        ctx.check(format!("[{name}] carries no {other} report"), !crossed)?;
    }
    let counts: Vec<u64> = dc
        .segs
        .iter()
        .map(|s| s.client.seq_nums().next_in)
        .collect();
    ctx.check(
        format!("one sequence stream per segment, in step (next expected {counts:?})"),
        counts[0] == counts[1] && dc.segs.iter().all(|s| s.resends.is_empty()),
    )?;
    dc.logout(ctx, 0)?;
    dc.logout(ctx, 1)
}

/// CME asks for a resend; we answer with SequenceReset-GapFill (123=Y), then heartbeat.
fn respond_to_resend(ctx: &mut Ctx) -> Result<(), String> {
    let mut dc = Dc::new(ctx, &["G"])?;
    dc.logon(ctx, 0)?;
    dc.advance(ctx, 60_000);
    let next_out = dc.seg(0)?.client.seq_nums().next_out;
    dc.resend_request(ctx, 0, 1, 0)?;
    dc.expect(ctx, 0, "2", 0, 7, "1")?;
    dc.expect(ctx, 0, "2", 0, 16, "0")?;
    dc.expect_sent(ctx, 0, "4", 0, 34, "1")?;
    dc.expect_sent(ctx, 0, "4", 0, 123, "Y")?;
    dc.expect_sent(ctx, 0, "4", 0, 43, "Y")?;
    dc.expect_sent(ctx, 0, "4", 0, 36, &next_out.to_string())?;
    let beats = dc.sent(0, "0").len();
    dc.advance(ctx, u64::from(HB_S) * 1000);
    let after = dc.sent(0, "0").len();
    ctx.check(
        format!("Heartbeats after the GapFill ({} more)", after - beats),
        after > beats,
    )?;
    let s = dc.seg(0)?;
    let theirs = s.reg.seq_nums(crate::sim::DcKey(0)).map_or(0, |(_, n)| n);
    let ours = s.client.seq_nums().next_out;
    let up =
        s.gw.as_ref()
            .is_some_and(|g| g.state() == DcState::LoggedOn);
    ctx.check(
        format!("CME expects our next MsgSeqNum {ours} (expects {theirs}), still logged on"),
        theirs == ours && up,
    )?;
    dc.logout(ctx, 0)
}

/// A gap: one ResendRequest; live messages interleaved with the replay are accepted without a
/// second request.
fn realtime_during_resend(ctx: &mut Ctx) -> Result<(), String> {
    let mut dc = Dc::new(ctx, &["G"])?;
    ilink(ctx)?;
    dc.logon(ctx, 0)?;
    if let Some(gw) = &mut dc.seg(0)?.gw {
        gw.faults_mut().skip_outbound = Some(SkipOutbound { after: 1, count: 2 });
    }
    dc.hold(0)?;
    for id in 1..=4 {
        order(ctx, &mut dc, id, ES, BUY, 4400 + id as i64, 1)?;
    }
    let asked = dc.seg(0)?.resends.clone();
    ctx.check(
        format!("gap 3-4 detected, ResendRequest {asked:?}"),
        asked == [(3, 4)],
    )?;
    // Live messages while our ResendRequest is in flight.
    for id in 5..=6 {
        order(ctx, &mut dc, id, ES, BUY, 4400 + id as i64, 1)?;
    }
    dc.release(ctx, 0)?;
    order(ctx, &mut dc, 7, ES, BUY, 4407, 1)?;
    let replay: Vec<u64> = dc
        .received(0, "n(8)")
        .iter()
        .filter(|m| value(m, 122).is_some())
        .map(|m| seq(m))
        .collect();
    ctx.check(format!("the replay is 3-4 ({replay:?})"), replay == [3, 4])?;
    let first = dc
        .received(0, "n(8)")
        .iter()
        .position(|m| seq(m) == 3)
        .unwrap_or(0);
    dc.expect(ctx, 0, "n(8)", first, 43, "Y")?;
    let s = dc.seg(0)?;
    let apps: Vec<u64> = s.apps.iter().map(|a| a.0).collect();
    let resends = s.resends.clone();
    let next = s.client.seq_nums().next_in;
    ctx.check(
        format!("one ResendRequest only ({resends:?})"),
        resends.len() == 1 && dc.sent(0, "2").len() == 1,
    )?;
    ctx.check(
        format!("every message delivered once, in order ({apps:?}; next expected {next})"),
        apps == (2..=8).collect::<Vec<_>>() && next == 9,
    )?;
    dc.logout(ctx, 0)
}

/// An encapsulated OrderMassActionReport (35=BZ in 35=n): 1300, 1374, 1375, 533, 534, 41, 84,
/// 535, 893; then an Accepted report with no orders cancelled (533=0).
fn mass_action(ctx: &mut Ctx) -> Result<(), String> {
    let mut dc = Dc::new(ctx, &["G"])?;
    ilink(ctx)?;
    dc.logon(ctx, 0)?;
    order(ctx, &mut dc, 1, ES, BUY, 4490, 1)?;
    order(ctx, &mut dc, 2, ES, BUY, 4491, 2)?;
    let oid = dc
        .report(0, &[(11, "CERT1"), (150, "0")])
        .and_then(|n| value(dc.received(0, "n(8)")[n], 37))
        .unwrap_or_default();
    mass_cancel(ctx, &mut dc, 99)?;
    let bz = "n(BZ)";
    dc.expect(ctx, 0, bz, 0, 533, "2")?;
    dc.expect(ctx, 0, bz, 0, 1300, "99")?;
    dc.expect(ctx, 0, bz, 0, 1374, "9")?;
    dc.expect(ctx, 0, bz, 0, 1375, "1")?;
    dc.expect(ctx, 0, bz, 0, 534, "2")?;
    dc.expect(ctx, 0, bz, 0, 41, "CERT1")?;
    dc.expect(ctx, 0, bz, 0, 84, "1")?;
    dc.expect(ctx, 0, bz, 0, 535, &oid)?;
    dc.expect(ctx, 0, bz, 0, 893, "Y")?;
    let rtrf = dc
        .received(0, bz)
        .first()
        .is_some_and(|m| render(m).contains("|213=<RTRF>8=FIX.4.2|"));
    ctx.check("35=BZ embedded in 213 as <RTRF>8=FIX.4.2|...</RTRF>", rtrf)?;
    dc.expect_report(ctx, 0, &[(11, "CERT2"), (150, "4")], 39, "4")?;
    // Nothing left to cancel: accepted, no orders affected.
    mass_cancel(ctx, &mut dc, 99)?;
    dc.expect(ctx, 0, bz, 1, 533, "0")?;
    dc.expect(ctx, 0, bz, 1, 1375, "1")?;
    dc.expect(ctx, 0, bz, 1, 534, "absent")?;
    dc.logout(ctx, 0)
}

/// Primary, then the backup (now primary) after a fail-over: MsgSeqNum jumps by about 4000;
/// ResendRequests of at most 2500; GapFills for admin numbers, 35=n with 43=Y for business.
fn failover(ctx: &mut Ctx) -> Result<(), String> {
    let mut dc = Dc::new(ctx, &["G"])?;
    ilink(ctx)?;
    dc.logon(ctx, 0)?;
    order(ctx, &mut dc, 1, ES, BUY, 4400, 1)?;
    // The primary fails; business goes on meanwhile.
    dc.drop_connection(0)?;
    order(ctx, &mut dc, 2, ES, BUY, 4401, 1)?;
    order(ctx, &mut dc, 3, ES, BUY, 4402, 1)?;
    dc.advance(ctx, 2000);
    dc.connect(ctx, 0, Some(FailoverJump { after: 0, by: 4000 }))?;
    ctx.check("logged on to the backup", dc.seg(0)?.logons == 2)?;
    order(ctx, &mut dc, 4, ES, BUY, 4403, 1)?;
    dc.advance(ctx, 100);
    dc.expect(ctx, 0, "4", 0, 36, "2506")?;
    dc.expect(ctx, 0, "4", 0, 123, "Y")?;
    let s = dc.seg(0)?;
    let resends = s.resends.clone();
    let apps: Vec<(u64, bool)> = s.apps.clone();
    let next = s.client.seq_nums().next_in;
    ctx.check(
        format!("ResendRequests {resends:?}, each at most 2500"),
        resends == [(3, 4), (6, 2505), (2506, 4005)],
    )?;
    let jump = apps.last().map_or(0, |a| a.0).saturating_sub(5);
    ctx.check(
        format!("MsgSeqNum jumped by about 4000 ({jump})"),
        jump >= 4000,
    )?;
    ctx.check(
        format!("missed business resent with 43=Y ({apps:?})"),
        apps == [(2, false), (3, true), (4, true), (4006, false)] && next == 4007,
    )?;
    dc.advance(ctx, u64::from(HB_S) * 1000);
    ctx.check("Heartbeats after the recovery", !dc.sent(0, "0").is_empty())?;
    dc.logout(ctx, 0)
}

/// Log on with a wrong sequence, receive Logout with 789, log on with that value, answer the
/// TestRequest.
fn mid_week_logon(ctx: &mut Ctx) -> Result<(), String> {
    let mut dc = Dc::new(ctx, &["G"])?;
    dc.logon(ctx, 0)?;
    dc.test_request(ctx, 0)?;
    dc.logout(ctx, 0)?;
    let before = dc.seg(0)?.client.seq_nums();
    dc.advance(ctx, 60_000);
    // Mid-week, a session that lost its outbound number logs on with 34=1.
    let s = dc.seg(0)?;
    s.client = client(
        "G",
        SeqNums {
            next_out: 1,
            next_in: before.next_in,
        },
    )?;
    dc.connect(ctx, 0, None)?;
    dc.expect(ctx, 0, "5", 1, 789, &before.next_out.to_string())?;
    let s = dc.seg(0)?;
    let out = s.client.seq_nums().next_out;
    ctx.check(
        format!("789 adopted as our next MsgSeqNum ({out})"),
        out == before.next_out,
    )?;
    dc.advance(ctx, 1000);
    dc.logon(ctx, 0)?;
    dc.expect_sent(ctx, 0, "A", 2, 34, &before.next_out.to_string())?;
    dc.test_request(ctx, 0)?;
    dc.expect(ctx, 0, "1", 1, 112, "SIMTEST1")?;
    dc.expect_sent(ctx, 0, "0", 1, 112, "SIMTEST1")?;
    dc.logout(ctx, 0)
}

/// We send a ResendRequest and answer CME's ResendRequest with a GapFill while both are in
/// flight.
fn bidirectional_resend(ctx: &mut Ctx) -> Result<(), String> {
    let mut dc = Dc::new(ctx, &["G"])?;
    ilink(ctx)?;
    dc.logon(ctx, 0)?;
    if let Some(gw) = &mut dc.seg(0)?.gw {
        gw.faults_mut().skip_outbound = Some(SkipOutbound { after: 1, count: 1 });
    }
    dc.hold(0)?;
    for id in 1..=3 {
        order(ctx, &mut dc, id, ES, BUY, 4400 + id as i64, 1)?;
    }
    ctx.check(
        "our ResendRequest 3-3 in flight",
        dc.seg(0)?.resends == [(3, 3)],
    )?;
    let next_out = dc.seg(0)?.client.seq_nums().next_out;
    // CME's ResendRequest crosses ours.
    dc.resend_request(ctx, 0, 1, 0)?;
    dc.expect(ctx, 0, "2", 0, 16, "0")?;
    dc.expect(ctx, 0, "2", 0, 7, "1")?;
    dc.expect_sent(ctx, 0, "4", 0, 123, "Y")?;
    dc.expect_sent(ctx, 0, "4", 0, 36, &next_out.to_string())?;
    dc.release(ctx, 0)?;
    dc.expect_sent(ctx, 0, "2", 0, 7, "3")?;
    dc.expect_sent(ctx, 0, "2", 0, 16, "3")?;
    let s = dc.seg(0)?;
    let apps: Vec<u64> = s.apps.iter().map(|a| a.0).collect();
    let (ours, theirs_next) = (s.client.seq_nums(), s.reg.seq_nums(crate::sim::DcKey(0)));
    let up =
        s.gw.as_ref()
            .is_some_and(|g| g.state() == DcState::LoggedOn);
    ctx.check(
        format!(
            "the replay fills our gap ({apps:?}; next expected {})",
            ours.next_in
        ),
        apps == [2, 3, 4],
    )?;
    ctx.check(
        format!("both streams in step and still logged on (ours {ours:?}, CME's {theirs_next:?})"),
        theirs_next == Some((ours.next_in, ours.next_out)) && up,
    )?;
    dc.logout(ctx, 0)
}
