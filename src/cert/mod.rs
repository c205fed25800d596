//! `ilinkd cert`: the AutoCert+ scenarios of CERTIFICATION.md sections 1 and 2, run against the
//! embedded simulator (`sim::Exchange`, sans-IO) with a virtual clock: deterministic, no
//! sockets, every frame recorded both ways (decoded one line each) with the checks made.
//!
//! The client side is our own FIXP session ([`FixpSession`]) and the iLink 3 codec writers;
//! certification's 10 messages/second cap is honoured by pacing business messages at least
//! 100 ms (virtual) apart, and checked. `--break SCENARIO` corrupts, in the simulator's
//! answers during that scenario only, the field its checks read, so that scenario fails
//! naming the message and the field.
//!
//! Against a configured gateway (CME's certification environment), [`guided`] runs the same
//! scenarios with the real clock over TCP, printing AutoCert+'s instructions and answers.

mod dropcopy;
pub mod guided;
pub mod guided_dc;
mod report;
mod scenarios;

pub use report::{write_report, write_report_against, ReportError};
pub use scenarios::{scenarios, Scenario};

use crate::auth::HmacSigner;
use crate::ilink3::session::{
    ConnectMode, Credentials, FixpEvent, FixpSession, NotAppliedPolicy, SessionConfig,
    SessionSeqState,
};
use crate::ilink3::{decode_header, EncodeError, Frames, MESSAGES};
use crate::sim::{
    ConnId, EngineMode, Exchange, GatewayConfig, Instrument, InstrumentInfo, MatchingEngine,
    SessionAccount, SessionRegistry, SpreadLegDef,
};
use crate::types::{Nanos, Now, WallNanos};
use std::collections::HashMap;

pub(crate) const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
pub(crate) const KEY_ID: &str = "AKIDAAAAAAAAAAAAAAA1";
pub(crate) const KA_MS: u16 = 5000;
pub(crate) const MS: u64 = 1_000_000;
/// Wednesday 2026-11-18 14:00:00 UTC: the exchange's clock at the start of each scenario.
pub(crate) const T0: u64 = 1_795_010_400_000_000_000;
const M0: u64 = 5_000_000_000;
/// Certification caps order entry at 10 messages per second.
pub const CERT_MAX_PER_SECOND: usize = 10;
pub(crate) const ES: i32 = 42;
pub(crate) const NQ: i32 = 43;
/// The ES-NQ calendar-style spread (legs ES buy, NQ sell) on segment 99.
pub(crate) const SPREAD: i32 = 44;
/// Two more outrights of instrument group ES (mass quoting across a group).
pub(crate) const ESM: i32 = 45;
pub(crate) const ESU: i32 = 46;
pub(crate) const TICK: i64 = 250_000_000;

/// How a scenario ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skipped(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail(_) => "FAIL",
            Outcome::Skipped(_) => "SKIPPED",
        }
    }
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Pass => None,
            Outcome::Fail(r) | Outcome::Skipped(r) => Some(r),
        }
    }
}

/// Direction of a recorded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Sent,
    Received,
}

/// One recorded frame, decoded on one line.
#[derive(Debug, Clone)]
pub struct Line {
    /// Virtual milliseconds since the scenario started.
    pub at_ms: u64,
    pub dir: Dir,
    pub text: String,
}

/// One check made.
#[derive(Debug, Clone)]
pub struct Check {
    pub what: String,
    pub ok: bool,
}

/// A scenario's result.
#[derive(Debug, Clone)]
pub struct Result_ {
    pub name: &'static str,
    pub suite: &'static str,
    pub outcome: Outcome,
    pub lines: Vec<Line>,
    pub checks: Vec<Check>,
}

/// Records the check `what` in `checks`; `Err(what)` when it failed (every runner's checks).
pub(crate) fn record_check(checks: &mut Vec<Check>, what: String, ok: bool) -> Result<(), String> {
    checks.push(Check {
        what: what.clone(),
        ok,
    });
    if ok {
        Ok(())
    } else {
        Err(what)
    }
}

impl Result_ {
    /// The result of scenario `s` whose steps ended with `r` (`Err` names the failed check).
    pub(crate) fn of(
        s: &Scenario,
        r: Result<(), String>,
        lines: Vec<Line>,
        checks: Vec<Check>,
    ) -> Result_ {
        Result_ {
            name: s.name,
            suite: s.suite,
            outcome: match r {
                Ok(()) => Outcome::Pass,
                Err(e) => Outcome::Fail(e),
            },
            lines,
            checks,
        }
    }
}

/// One line per frame: `Name500 Field=value ...` (null fields left out).
pub fn render(frame: &[u8]) -> String {
    let Ok((h, body)) = decode_header(frame) else {
        return format!("<undecodable {} bytes>", frame.len());
    };
    let Some(d) = MESSAGES.iter().find(|d| d.template_id == h.template_id) else {
        return format!("template {} ({} bytes)", h.template_id, frame.len());
    };
    let mut s = String::from(d.name);
    for f in d.fields {
        if let Some(v) = field_in(body, usize::from(h.block_length), f) {
            s.push(' ');
            s.push_str(f.name);
            s.push('=');
            s.push_str(&v);
        }
    }
    s
}

fn field_in(body: &[u8], block: usize, f: &crate::ilink3::FieldDesc) -> Option<String> {
    if f.offset + f.size > block {
        return None;
    }
    let b = body.get(f.offset..f.offset + f.size)?;
    use crate::ilink3::Primitive as P;
    if f.primitive == P::Char {
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        if end == 0 {
            return None;
        }
        let b = &b[..end];
        if b.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
            return Some(String::from_utf8_lossy(b).into_owned());
        }
        return Some(b.iter().map(|c| format!("{c:02x}")).collect());
    }
    let n = f.primitive.size();
    let mut v = [0u8; 8];
    v[..n].copy_from_slice(&b[..n]);
    let raw = u64::from_le_bytes(v);
    let val: i128 = match f.primitive {
        P::Int8 => i128::from(raw as u8 as i8),
        P::Int32 => i128::from(raw as u32 as i32),
        P::Int64 => i128::from(raw as i64),
        _ => i128::from(raw),
    };
    if f.null_value == Some(val) {
        return None;
    }
    Some(val.to_string())
}

/// The value of root field `name` in `frame` (`None`: null, absent or not decodable).
pub fn field(frame: &[u8], name: &str) -> Option<String> {
    let (h, body) = decode_header(frame).ok()?;
    let d = MESSAGES.iter().find(|d| d.template_id == h.template_id)?;
    let f = d.fields.iter().find(|f| f.name == name)?;
    field_in(body, usize::from(h.block_length), f)
}

/// Flips the lowest bit of field `name`'s first byte in `frame` (the `--break` fault).
fn corrupt(frame: &mut [u8], name: &str) -> bool {
    let Ok((h, body)) = decode_header(frame) else {
        return false;
    };
    let start = frame.len() - body.len();
    let Some(d) = MESSAGES.iter().find(|d| d.template_id == h.template_id) else {
        return false;
    };
    let Some(f) = d.fields.iter().find(|f| f.name == name) else {
        return false;
    };
    match frame.get_mut(start + f.offset) {
        Some(b) => {
            *b ^= 1;
            true
        }
        None => false,
    }
}

fn template(frame: &[u8]) -> u16 {
    decode_header(frame)
        .map(|(h, _)| h.template_id)
        .unwrap_or(0)
}

fn message_name(t: u16) -> &'static str {
    MESSAGES
        .iter()
        .find(|d| d.template_id == t)
        .map(|d| d.name)
        .unwrap_or("?")
}

/// A scenario's world: our FIXP session, the simulated exchange, a virtual clock, and the
/// record of every frame and check.
pub struct Ctx {
    pub ex: Exchange,
    pub session: FixpSession,
    pub conn: Option<ConnId>,
    mono: u64,
    pub lines: Vec<Line>,
    pub checks: Vec<Check>,
    /// Every frame received, in order.
    pub received: Vec<Vec<u8>>,
    pub events: Vec<FixpEvent>,
    /// Virtual times of business messages sent (the 10/s cap).
    sends: Vec<u64>,
    breaker: Option<(u16, &'static str)>,
    /// The exchange's answers are held back (a silent exchange).
    pub mute: bool,
    /// A second session of the firm (XYZ), when a scenario needs one.
    pub peer: Option<Peer>,
}

/// Another session of the same firm, on its own connection.
pub struct Peer {
    pub session: FixpSession,
    pub conn: ConnId,
    /// Every frame it received, in order.
    pub received: Vec<Vec<u8>>,
}

fn exchange() -> Exchange {
    let mut keys = HashMap::new();
    keys.insert(KEY_ID.to_string(), HmacSigner::new(KEY));
    // ABC is ours; XYZ is another session of the same firm (GFID 007), the one whose orders
    // Cancel on Behalf acts on.
    let cfg = GatewayConfig::new(
        ["ABC", "XYZ"]
            .into_iter()
            .map(|id| SessionAccount {
                session_id: id.into(),
                firm_id: "007".into(),
                access_key_ids: vec![KEY_ID.into()],
            })
            .collect(),
        keys,
    );
    let mut engine = MatchingEngine::new(
        EngineMode::Book,
        &[
            Instrument {
                security_id: ES,
                tick: TICK,
            },
            Instrument {
                security_id: NQ,
                tick: TICK,
            },
            Instrument {
                security_id: SPREAD,
                tick: TICK,
            },
            Instrument {
                security_id: ESM,
                tick: TICK,
            },
            Instrument {
                security_id: ESU,
                tick: TICK,
            },
        ],
    );
    for id in [ESM, ESU] {
        engine.set_instrument_info(&InstrumentInfo {
            security_id: id,
            market_segment_id: Some(99),
            security_group: "ES".into(),
            legs: Vec::new(),
        });
    }
    engine.set_instrument_info(&InstrumentInfo {
        security_id: ES,
        market_segment_id: Some(99),
        security_group: "ES".into(),
        legs: Vec::new(),
    });
    engine.set_instrument_info(&InstrumentInfo {
        security_id: NQ,
        market_segment_id: Some(98),
        security_group: "NQ".into(),
        legs: Vec::new(),
    });
    engine.set_instrument_info(&InstrumentInfo {
        security_id: SPREAD,
        market_segment_id: Some(99),
        security_group: "ES".into(),
        legs: vec![
            SpreadLegDef {
                security_id: ES,
                ratio: 1,
                same_side: true,
            },
            SpreadLegDef {
                security_id: NQ,
                ratio: 1,
                same_side: false,
            },
        ],
    });
    Exchange::new(SessionRegistry::new(cfg), engine)
}

fn session(id: &str) -> FixpSession {
    FixpSession::new(
        SessionConfig {
            session_id: id.into(),
            firm_id: "007".into(),
            trading_system_name: "ilinkd".into(),
            trading_system_version: env!("CARGO_PKG_VERSION").into(),
            trading_system_vendor: "ilinkd".into(),
            keepalive_ms: KA_MS,
            not_applied: NotAppliedPolicy::GapFill,
        },
        Credentials {
            access_key_id: KEY_ID.into(),
            signer: HmacSigner::new(KEY),
        },
        SessionSeqState::default(),
    )
}

impl Ctx {
    fn new(breaker: Option<(u16, &'static str)>) -> Ctx {
        Ctx {
            ex: exchange(),
            session: session("ABC"),
            peer: None,
            conn: None,
            mono: M0,
            lines: Vec::new(),
            checks: Vec::new(),
            received: Vec::new(),
            events: Vec::new(),
            sends: Vec::new(),
            breaker,
            mute: false,
        }
    }

    /// The exchange's clock.
    pub fn cme_ns(&self) -> u64 {
        T0 + (self.mono - M0)
    }

    pub fn now(&self) -> Now {
        Now {
            mono: Nanos(self.mono),
            wall: WallNanos(self.cme_ns()),
        }
    }

    fn at_ms(&self) -> u64 {
        (self.mono - M0) / MS
    }

    /// Moves bytes both ways until nothing moves.
    pub fn pump(&mut self) {
        while self.pump_once() {}
    }

    /// One round: each side hands over what it has (at most one transmit each); `true` when
    /// something moved.
    pub fn pump_once(&mut self) -> bool {
        let moved_peer = self.pump_peer();
        {
            let mut moved = moved_peer;
            let now = self.now();
            while let Some(ev) = self.session.poll_event() {
                moved = true;
                if let FixpEvent::NewUuid { uuid, .. } = ev {
                    let _ = self.session.uuid_persisted(now, uuid, true);
                }
                self.events.push(ev);
            }
            if let Some(b) = self.session.poll_transmit() {
                let b = b.to_vec();
                moved = true;
                for f in Frames::new(&b).flatten() {
                    let text = render(f);
                    self.lines.push(Line {
                        at_ms: self.at_ms(),
                        dir: Dir::Sent,
                        text,
                    });
                }
                if let Some(c) = self.conn {
                    let t = self.cme_ns();
                    self.ex.handle_input(c, t, &b);
                }
            }
            if let (Some(c), false) = (self.conn, self.mute) {
                if let Some(b) = self.ex.poll_transmit(c) {
                    let b = b.to_vec();
                    moved = true;
                    let mut out = Vec::with_capacity(b.len());
                    for f in Frames::new(&b).flatten() {
                        let mut f = f.to_vec();
                        if let Some((t, name)) = self.breaker {
                            if template(&f) == t {
                                corrupt(&mut f, name);
                            }
                        }
                        self.lines.push(Line {
                            at_ms: self.at_ms(),
                            dir: Dir::Received,
                            text: render(&f),
                        });
                        out.extend_from_slice(&f);
                        self.received.push(f);
                    }
                    self.session.handle_input(now, &out);
                }
                while self.ex.poll_event(c).is_some() {}
            }
            moved
        }
    }

    /// The peer session's round (its frames are recorded with a `[XYZ]` prefix).
    fn pump_peer(&mut self) -> bool {
        let now = self.now();
        let t = self.cme_ns();
        let at_ms = self.at_ms();
        let Some(p) = self.peer.as_mut() else {
            return false;
        };
        let mut moved = false;
        while let Some(ev) = p.session.poll_event() {
            moved = true;
            if let FixpEvent::NewUuid { uuid, .. } = ev {
                let _ = p.session.uuid_persisted(now, uuid, true);
            }
        }
        if let Some(b) = p.session.poll_transmit() {
            let b = b.to_vec();
            moved = true;
            for f in Frames::new(&b).flatten() {
                self.lines.push(Line {
                    at_ms,
                    dir: Dir::Sent,
                    text: format!("[XYZ] {}", render(f)),
                });
            }
            self.ex.handle_input(p.conn, t, &b);
        }
        if let Some(b) = self.ex.poll_transmit(p.conn) {
            let b = b.to_vec();
            moved = true;
            for f in Frames::new(&b).flatten() {
                self.lines.push(Line {
                    at_ms,
                    dir: Dir::Received,
                    text: format!("[XYZ] {}", render(f)),
                });
                p.received.push(f.to_vec());
            }
            p.session.handle_input(now, &b);
        }
        while self.ex.poll_event(p.conn).is_some() {}
        moved
    }

    /// Connects and establishes the firm's other session (XYZ).
    pub fn connect_peer(&mut self) -> Result<(), String> {
        let conn = self.ex.accept(self.cme_ns());
        let mut session = session("XYZ");
        let now = self.now();
        session
            .connect(now, ConnectMode::NewUuid)
            .map_err(|e| format!("connect XYZ: {e}"))?;
        self.peer = Some(Peer {
            session,
            conn,
            received: Vec::new(),
        });
        self.pump();
        self.advance(10);
        Ok(())
    }

    /// Sends one business message on the peer session and lets the exchange answer.
    pub fn send_peer(
        &mut self,
        encode: impl FnOnce(u32, u64, &mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<u32, String> {
        self.pace();
        let now = self.now();
        let p = self.peer.as_mut().ok_or("no peer session")?;
        let seq = p
            .session
            .send_business(now, encode)
            .map_err(|e| format!("send XYZ: {e}"))?;
        self.sends.push(self.mono);
        self.pump();
        self.advance(1);
        Ok(seq)
    }

    /// Runs both sides' timers for `ms` virtual milliseconds.
    pub fn advance(&mut self, ms: u64) {
        let until = self.mono + ms * MS;
        loop {
            let mut next = until;
            if let Some(d) = self.session.next_deadline() {
                next = next.min(d.0.max(self.mono));
            }
            for c in self.conns() {
                if let Some(d) = self.ex.next_deadline(c) {
                    next = next.min((M0 + d.saturating_sub(T0)).max(self.mono));
                }
            }
            if let Some(d) = self.peer.as_ref().and_then(|p| p.session.next_deadline()) {
                next = next.min(d.0.max(self.mono));
            }
            next = next.max(self.mono + MS / 1000);
            self.mono = next.min(until).max(self.mono);
            for c in self.conns() {
                if self.ex.next_deadline(c).is_some_and(|d| d <= self.cme_ns()) {
                    let t = self.cme_ns();
                    self.ex.handle_timeout(c, t);
                }
            }
            let now = self.now();
            if let Some(p) = self.peer.as_mut() {
                if p.session.next_deadline().is_some_and(|d| d <= now.mono) {
                    p.session.handle_timeout(now);
                }
            }
            if self
                .session
                .next_deadline()
                .is_some_and(|d| d.0 <= self.mono)
            {
                let now = self.now();
                self.session.handle_timeout(now);
            }
            self.pump();
            if self.mono >= until {
                break;
            }
        }
    }

    /// Our connection and the peer's.
    fn conns(&self) -> Vec<ConnId> {
        self.conn
            .into_iter()
            .chain(self.peer.as_ref().map(|p| p.conn))
            .collect()
    }

    /// A TCP connection to the simulator's primary gateway, then Negotiate/Establish (or
    /// Establish).
    pub fn connect(&mut self, mode: ConnectMode) -> Result<(), String> {
        let c = self.ex.accept(self.cme_ns());
        self.logon_on(c, mode)
    }

    /// The same to the backup gateway (which refuses logons: DesignatedBackup).
    pub fn connect_backup(&mut self, mode: ConnectMode) -> Result<(), String> {
        let c = self.ex.accept_backup(self.cme_ns());
        self.logon_on(c, mode)
    }

    fn logon_on(&mut self, c: ConnId, mode: ConnectMode) -> Result<(), String> {
        self.conn = Some(c);
        let now = self.now();
        self.session
            .connect(now, mode)
            .map_err(|e| format!("connect: {e}"))?;
        self.pump();
        self.advance(10);
        Ok(())
    }

    /// The TCP connection goes (either side).
    pub fn disconnect(&mut self) {
        self.mute = false;
        if let Some(c) = self.conn.take() {
            self.ex.close(c);
        }
        self.session.on_disconnected();
    }

    /// Sends one business message, paced to the certification cap, and lets the exchange
    /// answer.
    pub fn send(
        &mut self,
        encode: impl FnOnce(u32, u64, &mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<u32, String> {
        self.pace();
        let seq = self.send_quiet(encode)?;
        self.pump();
        self.advance(1);
        Ok(seq)
    }

    /// Waits (running timers) until the certification cap allows the next message.
    fn pace(&mut self) {
        if let Some(&last) = self.sends.last() {
            let gap = 1000 * MS / CERT_MAX_PER_SECOND as u64;
            if self.mono < last + gap {
                self.advance((last + gap - self.mono).div_ceil(MS));
            }
        }
    }

    /// Queues one business message without moving any bytes (the caller pumps); the clock
    /// jumps, without running timers, to where the certification cap allows it.
    pub fn send_quiet(
        &mut self,
        encode: impl FnOnce(u32, u64, &mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<u32, String> {
        if let Some(&last) = self.sends.last() {
            let gap = 1000 * MS / CERT_MAX_PER_SECOND as u64;
            self.mono = self.mono.max(last + gap);
        }
        let now = self.now();
        let seq = self
            .session
            .send_business(now, encode)
            .map_err(|e| format!("send: {e}"))?;
        self.sends.push(self.mono);
        Ok(seq)
    }

    /// Sent frames whose decoded line starts with `prefix` (e.g. `"RetransmitRequest508"`).
    pub fn sent(&self, prefix: &str) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| l.dir == Dir::Sent && l.text.starts_with(prefix))
            .map(|l| l.text.as_str())
            .collect()
    }

    /// Received frames of template `t`, oldest first.
    pub fn received_of(&self, t: u16) -> Vec<&[u8]> {
        self.received
            .iter()
            .filter(|f| template(f) == t)
            .map(|f| f.as_slice())
            .collect()
    }

    /// Records a check on a condition without a field.
    pub fn check(&mut self, what: impl Into<String>, ok: bool) -> Result<(), String> {
        record_check(&mut self.checks, what.into(), ok)
    }

    /// Checks that `n` frames of template `t` were received.
    pub fn expect_count(&mut self, t: u16, n: usize) -> Result<(), String> {
        let got = self.received_of(t).len();
        self.check(
            format!("{} received {n} time(s) (got {got})", message_name(t)),
            got == n,
        )
    }

    /// Checks field `name` of the `nth` (0-based) received frame of template `t`.
    pub fn expect(&mut self, t: u16, nth: usize, name: &str, want: &str) -> Result<(), String> {
        let got = self.received_of(t).get(nth).map(|f| field(f, name));
        let m = message_name(t);
        let (ok, what) = match got {
            None => (
                false,
                format!("{m} #{} not received (wanted {name}={want})", nth + 1),
            ),
            Some(v) => {
                let v = v.unwrap_or_else(|| "null".into());
                (
                    v == want,
                    format!("{m} #{} field {name}: expected {want}, got {v}", nth + 1),
                )
            }
        };
        self.check(what, ok)
    }

    /// The value of field `name` of the `nth` received frame of template `t`.
    pub fn value(&self, t: u16, nth: usize, name: &str) -> Option<String> {
        self.received_of(t).get(nth).and_then(|f| field(f, name))
    }

    /// The certification cap held: at most 10 business messages in any 1 s window.
    fn check_rate(&mut self) -> Result<(), String> {
        let worst = self
            .sends
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                self.sends[i..]
                    .iter()
                    .take_while(|&&u| u < t + 1000 * MS)
                    .count()
            })
            .max()
            .unwrap_or(0);
        self.check(
            format!("at most {CERT_MAX_PER_SECOND} messages/second (peak {worst})"),
            worst <= CERT_MAX_PER_SECOND,
        )
    }
}

/// Selects scenarios whose name contains `pattern` (case-insensitive).
pub fn matches(s: &Scenario, pattern: &str) -> bool {
    s.name.to_lowercase().contains(&pattern.to_lowercase())
}

/// Runs one scenario; `broken` injects its fault.
pub fn run(s: &Scenario, broken: bool) -> Result_ {
    let Some(f) = s.run else {
        return Result_ {
            name: s.name,
            suite: s.suite,
            outcome: Outcome::Skipped(s.skip.unwrap_or("not yet automated").into()),
            lines: Vec::new(),
            checks: Vec::new(),
        };
    };
    let mut ctx = Ctx::new(if broken { Some(s.breaks) } else { None });
    let r = f(&mut ctx).and_then(|()| ctx.check_rate());
    Result_::of(s, r, ctx.lines, ctx.checks)
}

#[cfg(test)]
mod tests;
