//! The guided mode's Drop Copy 4.0 scenarios: our [`DropCopySession`] over TCP with the real
//! clock against the config's `[[dropcopy]]` gateway. The client logs on and off (and back on
//! mid-week with its sequence numbers); the business content comes from CME's tool, so each
//! such step prints what to start in AutoCert+ and waits for the message (by MsgType, `n(BZ)`
//! for a 35=n embedding a mass action), then prints the tags AutoCert+ asks about.

use super::dropcopy::{kind, render, tag_name, value};
use super::guided::GuidedError;
use super::{Check, Dir, Line, Outcome, Result_, Scenario};
use crate::auth::{AccessKeyId, HmacSigner};
use crate::config::Config;
use crate::dropcopy::codec::{frame, Frame};
use crate::dropcopy::session::{
    DropCopyEvent, DropCopySession, DropCopyState, SeqNums, SessionConfig,
};
use crate::types::Now;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The Drop Copy gateway and session.
#[derive(Clone)]
pub struct DcTarget {
    pub name: String,
    pub addr: SocketAddr,
    pub session: SessionConfig,
    pub access_key_id: AccessKeyId,
    pub signer: HmacSigner,
    pub step_timeout: Duration,
    /// Where the guided runs keep the session's sequence numbers between logons (FIX
    /// sequence numbers last the week): `<state_dir>/cert-dropcopy-<name>.seq`.
    pub seq_file: PathBuf,
}

impl DcTarget {
    /// The sequence numbers of the last guided logon (the beginning of the week when none).
    fn load_seqs(&self) -> SeqNums {
        std::fs::read_to_string(&self.seq_file)
            .ok()
            .and_then(|t| {
                let mut it = t.split_whitespace().map(|v| v.parse::<u64>().ok());
                Some(SeqNums {
                    next_out: it.next()??,
                    next_in: it.next()??,
                })
            })
            .filter(|s| s.next_out > 0 && s.next_in > 0)
            .unwrap_or(SeqNums::BEGINNING_OF_WEEK)
    }

    fn save_seqs(&self, s: SeqNums) -> Result<(), String> {
        if let Some(dir) = self.seq_file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(&self.seq_file, format!("{} {}\n", s.next_out, s.next_in))
            .map_err(|e| format!("cannot write {}: {e}", self.seq_file.display()))
    }
}

impl DcTarget {
    /// The config's `[[dropcopy]]` session `name` (or its first one); `Ok(None)` when the
    /// config has none.
    pub fn from_config(
        cfg: &Config,
        name: Option<&str>,
        step_timeout: Duration,
        today: time::Date,
    ) -> Result<Option<DcTarget>, GuidedError> {
        let s = match name {
            None => match cfg.dropcopy.first() {
                Some(s) => s,
                None => return Ok(None),
            },
            Some(n) => cfg
                .dropcopy
                .iter()
                .find(|s| s.name == n || s.sender_comp_id == n)
                .ok_or_else(|| {
                    GuidedError::NoDropCopy(
                        n.into(),
                        cfg.dropcopy
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                })?,
        };
        let addr = s
            .primary
            .ok_or_else(|| GuidedError::NoAddress(s.name.clone()))?;
        let key = cfg
            .key_source(&s.key_file)
            .and_then(|src| src.load(today))
            .map_err(|source| GuidedError::Key {
                session: s.name.clone(),
                spec: s.key_file.clone(),
                source: Box::new(source),
            })?;
        let k = key.active();
        Ok(Some(DcTarget {
            name: s.name.clone(),
            addr,
            session: s.session_config(),
            access_key_id: k.access_key_id.clone(),
            signer: k.signer(),
            step_timeout,
            seq_file: cfg
                .daemon
                .state_dir
                .join(format!("cert-dropcopy-{}.seq", s.name)),
        }))
    }
}

/// A step of a guided Drop Copy scenario.
#[derive(Debug, Clone, Copy)]
pub enum DcStep {
    /// TCP connect and Logon (sequence numbers kept from the previous logon of the scenario).
    Logon,
    Logout,
    /// Wait for a message whose kind is one of `kinds` (`tag=value` when `with` is given),
    /// printing the tags of `ask`; `cme`: what to start in AutoCert+ first.
    Expect {
        kinds: &'static [&'static str],
        with: Option<(u32, &'static str)>,
        ask: &'static [u32],
        cme: Option<&'static str>,
    },
}

const REPORT: &[u32] = &[35, 11, 37, 39, 150, 14, 151, 32, 31, 55, 48, 1300];

fn wait(kinds: &'static [&'static str], ask: &'static [u32]) -> DcStep {
    DcStep::Expect {
        kinds,
        with: None,
        ask,
        cme: None,
    }
}

fn tool(kinds: &'static [&'static str], cme: &'static str, ask: &'static [u32]) -> DcStep {
    DcStep::Expect {
        kinds,
        with: None,
        ask,
        cme: Some(cme),
    }
}

/// The guided script of Drop Copy scenario `name`.
pub fn script(name: &str) -> Option<Vec<DcStep>> {
    let logon = [DcStep::Logon, wait(&["A"], &[34, 108, 98])];
    let body: Vec<DcStep> = match name {
        "Logon Message (CGW)" => vec![DcStep::Logout, wait(&["5"], &[34, 58])],
        "Receive Message Stream (CGW)" => vec![tool(
            &["n", "8"],
            "start the message stream step on the Convenience Gateway (the tool trades for \
             your firm)",
            REPORT,
        )],
        "Receive Message Stream (MSGW)" => vec![tool(
            &["n", "8"],
            "start the message stream step on the market segment gateway (target_sub_id is \
             the segment)",
            REPORT,
        )],
        "Respond to Resend Request" => vec![tool(
            &["2"],
            "start the step where CME sends a ResendRequest (ilinkd answers with the resend \
             or a SequenceReset-GapFill)",
            &[7, 16],
        )],
        "Process Real-Time Messages During a Resend Response" => vec![DcStep::Expect {
            kinds: &["n", "8", "4"],
            with: Some((43, "Y")),
            ask: &[35, 34, 43, 122, 39, 150],
            cme: Some(
                "start the resend step (CME skips sequence numbers; ilinkd asks with a \
                 ResendRequest and takes real-time messages during the resend)",
            ),
        }],
        "Receive Encapsulated Message from Simulated Order Mass Action Messages" => {
            vec![tool(
                &["n(BZ)"],
                "start the order mass action step (the tool cancels your firm's orders)",
                &[1373, 1374, 1375, 533, 1300, 1151],
            )]
        }
        "Logon Process with Failover" => vec![tool(
            &["4"],
            "fail the Drop Copy gateway over; ilinkd logs on to the backup (sequence \
             numbers jump: SequenceReset)",
            &[34, 36, 123],
        )],
        "Mid Week Logon" => vec![
            DcStep::Logout,
            wait(&["5"], &[34, 58]),
            DcStep::Logon,
            wait(&["A"], &[34, 108, 789]),
        ],
        "Bi-Directional Resend Request Scenario" => vec![tool(
            &["2"],
            "start the bi-directional resend step (both sides ask for a resend)",
            &[7, 16],
        )],
        _ => return None,
    };
    Some(logon.into_iter().chain(body).collect())
}

struct DcRun<'a> {
    t: &'a DcTarget,
    out: &'a mut dyn Write,
    session: Option<DropCopySession>,
    seqs: SeqNums,
    stream: Option<TcpStream>,
    rx: Vec<u8>,
    start: Instant,
    lines: Vec<Line>,
    checks: Vec<Check>,
    received: Vec<Vec<u8>>,
    used: Vec<bool>,
    broken: Option<String>,
}

fn now() -> Now {
    crate::daemon::engine::read_clocks()
}

impl DcRun<'_> {
    fn say(&mut self, text: &str) {
        let _ = writeln!(self.out, "  {text}");
        let _ = self.out.flush();
    }

    fn at_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn check(&mut self, what: String, ok: bool) -> Result<(), String> {
        super::record_check(&mut self.checks, what, ok)
    }

    /// Logs on; when CME logs out a Logon whose MsgSeqNum is too low (789 says what it
    /// expects), once more with that number.
    fn logon(&mut self) -> Result<(), String> {
        let before = self.seqs;
        self.logon_once()?;
        let timeout = self.t.step_timeout;
        self.pump_until(timeout, |r| {
            r.stream.is_none()
                || r.session
                    .as_ref()
                    .is_some_and(|s| s.state() == DropCopyState::Active)
        });
        if self.stream.is_none() && self.seqs.next_out > before.next_out {
            let n = self.seqs.next_out;
            self.say(&format!(
                "CME expects MsgSeqNum {n} (789): logging on again with it"
            ));
            self.logon_once()?;
        }
        Ok(())
    }

    fn logon_once(&mut self) -> Result<(), String> {
        if self.stream.is_some() {
            self.pump_until(Duration::from_secs(2), |r| r.stream.is_none());
        }
        self.close();
        // A new logon: what the previous connection received is answered already.
        self.used.iter_mut().for_each(|u| *u = true);
        let mut s = DropCopySession::new(
            self.t.session.clone(),
            self.t.access_key_id.clone(),
            self.t.signer.clone(),
            self.seqs,
        )
        .map_err(|e| format!("Drop Copy session: {e}"))?;
        let tcp = TcpStream::connect_timeout(&self.t.addr, self.t.step_timeout)
            .map_err(|e| format!("connect to {}: {e}", self.t.addr))?;
        tcp.set_read_timeout(Some(Duration::from_millis(5)))
            .map_err(|e| format!("socket: {e}"))?;
        s.connect(now()).map_err(|e| format!("logon: {e}"))?;
        self.stream = Some(tcp);
        self.session = Some(s);
        self.rx.clear();
        self.broken = None;
        self.flush_tx();
        Ok(())
    }

    fn close(&mut self) {
        if let Some(s) = self.stream.take() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        if let Some(s) = self.session.as_mut() {
            s.connection_lost();
            self.seqs = s.seq_nums();
            if let Err(e) = self.t.save_seqs(self.seqs) {
                self.broken.get_or_insert(e);
            }
        }
    }

    fn flush_tx(&mut self) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        while let Some(b) = s.poll_transmit() {
            let b = b.to_vec();
            let mut off = 0;
            while let Frame::Complete(n) = frame(&b[off..]) {
                self.lines.push(Line {
                    at_ms: u64::try_from(self.start.elapsed().as_millis()).unwrap_or(0),
                    dir: Dir::Sent,
                    text: render(&b[off..off + n]),
                });
                off += n;
            }
            if let Some(tcp) = self.stream.as_mut() {
                if let Err(e) = tcp.write_all(&b) {
                    self.broken = Some(format!("write: {e}"));
                    self.stream = None;
                    s.connection_lost();
                    return;
                }
            }
        }
    }

    fn pump(&mut self) {
        let n = now();
        let mut close = false;
        if let Some(s) = self.session.as_mut() {
            if s.next_deadline().is_some_and(|d| d <= n.mono) {
                s.handle_timeout(n);
            }
            while let Some(ev) = s.poll_event() {
                if let DropCopyEvent::Disconnect { reason } = ev {
                    self.broken.get_or_insert(format!("disconnected: {reason}"));
                    close = true;
                }
            }
        }
        self.flush_tx();
        if close {
            self.close();
        }
        let Some(tcp) = self.stream.as_mut() else {
            std::thread::sleep(Duration::from_millis(5));
            return;
        };
        let mut buf = [0u8; 65536];
        match tcp.read(&mut buf) {
            Ok(0) => {
                self.broken
                    .get_or_insert("the gateway closed the connection".into());
                self.close();
            }
            Ok(k) => {
                self.rx.extend_from_slice(&buf[..k]);
                let mut off = 0;
                loop {
                    match frame(&self.rx[off..]) {
                        Frame::Complete(m) => {
                            let raw = self.rx[off..off + m].to_vec();
                            self.lines.push(Line {
                                at_ms: self.at_ms(),
                                dir: Dir::Received,
                                text: render(&raw),
                            });
                            self.received.push(raw);
                            self.used.push(false);
                            off += m;
                        }
                        Frame::NeedMore => break,
                        Frame::Garbled { skip, .. } => off += skip.max(1).min(self.rx.len() - off),
                    }
                    if off >= self.rx.len() {
                        break;
                    }
                }
                let bytes: Vec<u8> = self.rx.drain(..off).collect();
                if let Some(s) = self.session.as_mut() {
                    s.handle_input(now(), &bytes);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => {
                self.broken = Some(format!("read: {e}"));
                self.close();
            }
        }
    }

    fn pump_until(&mut self, timeout: Duration, mut done: impl FnMut(&Self) -> bool) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            self.pump();
        }
    }

    fn find(&self, kinds: &[&str], with: Option<(u32, &str)>) -> Option<usize> {
        (0..self.received.len()).find(|&i| {
            let raw = &self.received[i];
            !self.used[i]
                && kinds.contains(&kind(raw).as_str())
                && with.is_none_or(|(tag, v)| value(raw, tag).as_deref() == Some(v))
        })
    }

    fn expect(
        &mut self,
        kinds: &[&str],
        with: Option<(u32, &str)>,
        ask: &[u32],
        cme: Option<&str>,
    ) -> Result<(), String> {
        let what = kinds
            .iter()
            .map(|k| format!("35={k}"))
            .collect::<Vec<_>>()
            .join(" or ")
            + &with
                .map(|(t, v)| format!(" with {t}={v}"))
                .unwrap_or_default();
        let secs = self.t.step_timeout.as_secs();
        if let Some(c) = cme {
            self.say(&format!(
                "In AutoCert+, {c}; waiting up to {secs} s for {what}"
            ));
        }
        if cme.is_some() {
            // CME's tool acts after the instruction: what came before does not count.
            self.used.iter_mut().for_each(|u| *u = true);
        }
        let timeout = self.t.step_timeout;
        let found = self.pump_until(timeout, |r| r.find(kinds, with).is_some());
        let Some(i) = self.find(kinds, with).filter(|_| found) else {
            let why = self
                .broken
                .clone()
                .map(|b| format!(" ({b})"))
                .unwrap_or_default();
            return self.check(format!("no {what} within {secs} s{why}"), false);
        };
        self.used[i] = true;
        let raw = self.received[i].clone();
        let k = kind(&raw);
        self.say(&format!("received 35={k}"));
        self.check(format!("35={k} received"), true)?;
        for tag in ask {
            let q = match tag_name(*tag) {
                "" if *tag == 35 => "MsgType (35)".to_string(),
                "" if *tag == 48 => "SecurityID (48)".to_string(),
                "" => tag.to_string(),
                n => format!("{n} ({tag})"),
            };
            let a = match value(&raw, *tag) {
                Some(v) => format!("Q: {q}? A: {v}"),
                None => format!("Q: {q}? A: (not set)"),
            };
            self.say(&format!("  {a}"));
            self.checks.push(Check {
                what: format!("35={k}: {a}"),
                ok: true,
            });
        }
        Ok(())
    }

    fn step(&mut self, s: DcStep) -> Result<(), String> {
        match s {
            DcStep::Logon => self.logon(),
            DcStep::Logout => {
                if let Some(s) = self.session.as_mut() {
                    s.logout(now(), "certification")
                        .map_err(|e| format!("logout: {e}"))?;
                }
                self.flush_tx();
                Ok(())
            }
            DcStep::Expect {
                kinds,
                with,
                ask,
                cme,
            } => self.expect(kinds, with, ask, cme),
        }
    }

    fn finish(&mut self) {
        let active = self
            .session
            .as_ref()
            .is_some_and(|s| s.state() == DropCopyState::Active);
        if active && self.stream.is_some() {
            let _ = self.step(DcStep::Logout);
            self.pump_until(Duration::from_secs(2), |r| r.stream.is_none());
        }
        self.close();
    }
}

/// Runs Drop Copy scenario `s` against `t` (`None`: the config names no Drop Copy session).
pub fn run_guided_dc(s: &Scenario, t: Option<&DcTarget>, out: &mut dyn Write) -> Result_ {
    let skipped = |why: &str| Result_ {
        name: s.name,
        suite: s.suite,
        outcome: Outcome::Skipped(why.into()),
        lines: Vec::new(),
        checks: Vec::new(),
    };
    let Some(steps) = script(s.name) else {
        return skipped("no guided script for this scenario");
    };
    let Some(t) = t else {
        return skipped("Drop Copy: the config names no [[dropcopy]] session");
    };
    let _ = writeln!(out, "== {} ({})", s.name, s.suite);
    let mut run = DcRun {
        t,
        out,
        session: None,
        seqs: t.load_seqs(),
        stream: None,
        rx: Vec::new(),
        start: Instant::now(),
        lines: Vec::new(),
        checks: Vec::new(),
        received: Vec::new(),
        used: Vec::new(),
        broken: None,
    };
    let r = steps.iter().try_for_each(|&st| run.step(st));
    run.finish();
    Result_::of(s, r, run.lines, run.checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drop_copy_scenario_has_a_guided_script() {
        for s in super::super::scenarios() {
            assert_eq!(
                script(s.name).is_some(),
                s.suite == "Drop Copy 4.0",
                "{}",
                s.name
            );
        }
    }
}
