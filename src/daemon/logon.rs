//! Logon failure policy, sans-IO: when to dial again after a refused logon, and which lines to
//! log about it.
//!
//! One [`LogonPolicy`] per connection of the engine. It wraps the [`Reconnector`] (addresses,
//! ordinary back-off with jitter) and adds what CME watches for (PROTOCOL.md: "Fifth invalid
//! Negotiate/Establish within 60 s closes the ports"; the same for a Drop Copy Logon):
//!
//! - Every refused logon (NegotiationReject, EstablishmentReject, a Terminate before
//!   EstablishmentAck, no answer after the retry, a Drop Copy Logout before the Logon reply) is
//!   a *bad logon*. Four within 60 s: **throttled**, no TCP connection is opened until the
//!   oldest leaves the window.
//! - A refused logon is [`Retry::Transient`] (ordinary back-off, up to `reconnect_max_ms`) or
//!   [`Retry::Permanent`] (see `ilink3::codes`): permanent rejects back off exponentially from
//!   `reconnect_min_ms` to `reconnect_max_ms`, then from one minute to [`PERMANENT_CEILING_NS`],
//!   with jitter. A successful logon, or a new key, starts over.
//! - A TCP connect alone is not a success: the back-off continues until the session logs on.
//! - Logging: the policy returns a [`Say`] once per change of [`Mode`] or of reject code (with
//!   the wall-clock time of the next attempt); while a session keeps failing
//!   ([`LogonPolicy::quiet`]) the per-connection lines (connecting, connected, disconnecting,
//!   connection lost, a reject code already said) are left out.

use super::shared::Note;
use crate::ilink3::codes::Retry;
use crate::ilink3::session::{BAD_LOGON_WINDOW_NS, MAX_BAD_LOGONS};
use crate::net::{NetworkConfig, Reconnector};
use crate::types::{Nanos, Now, WallNanos};
use std::net::SocketAddr;

const MS: u64 = 1_000_000;
/// The first back-off after a permanent reject once `reconnect_max_ms` was reached.
pub const PERMANENT_MINUTES_NS: u64 = 60_000 * MS;
/// The longest back-off after permanent rejects.
pub const PERMANENT_CEILING_NS: u64 = 10 * PERMANENT_MINUTES_NS;

/// How the session is trying to log on (a change is logged once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Logged on, or no logon refused since the last one.
    Normal,
    /// Transient refusals: the ordinary reconnect schedule.
    Retrying,
    /// Permanent refusals: backing off towards minutes.
    BackingOff,
    /// Four bad logons within 60 s: no connection until the window allows one.
    Throttled,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::Retrying => "retrying",
            Mode::BackingOff => "backing off",
            Mode::Throttled => "throttled",
        }
    }
}

/// A refused logon (or a Terminate that ends the session for good).
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    /// What refused: `"Negotiate"`, `"Establish"`, `"Terminate"`, `"Logon"`, `"logon timeout"`.
    pub what: &'static str,
    /// CME's code (iLink 3); `None` for Drop Copy and timeouts.
    pub code: Option<u16>,
    /// CME's name for the code, or the Drop Copy Logout text.
    pub name: Note,
    pub retry: Retry,
}

impl Refusal {
    fn same(&self, o: &Refusal) -> bool {
        self.what == o.what && self.code == o.code && self.name.as_str() == o.name.as_str()
    }
}

/// A line the policy wants logged: the new mode, the refusal behind it, the next attempt.
#[derive(Debug, Clone, Copy)]
pub struct Say {
    pub mode: Mode,
    pub refusal: Option<Refusal>,
    /// Bad logons within the last 60 s.
    pub bad_logons: u32,
    /// When the next TCP connection may open.
    pub next_attempt: WallNanos,
    /// In [`Mode::Throttled`], when the window allows a logon again.
    pub throttled_until: Option<WallNanos>,
}

/// One connection's reconnect and logon-failure policy.
#[derive(Debug, Clone)]
pub struct LogonPolicy {
    reconnect: Reconnector,
    min_ns: u64,
    max_ns: u64,
    /// Bad logons within the window, oldest first.
    bad: [Nanos; MAX_BAD_LOGONS],
    bad_n: usize,
    /// Consecutive permanent refusals since the last logon.
    permanent: u32,
    /// The refusal on the current connection, if any.
    refused: Option<Refusal>,
    /// The last refusal (for status).
    last: Option<Refusal>,
    mode: Mode,
    /// What was said last: mode and refusal.
    said: Option<(Mode, Option<Refusal>)>,
    /// Throttled until (monotonic), while throttled.
    throttle_end: Option<Nanos>,
    rng: u64,
}

impl LogonPolicy {
    pub fn new(
        primary: SocketAddr,
        backup: Option<SocketAddr>,
        cfg: &NetworkConfig,
        seed: u64,
    ) -> LogonPolicy {
        let min_ns = u64::from(cfg.reconnect_min_ms.max(1)) * MS;
        LogonPolicy {
            reconnect: Reconnector::new(primary, backup, cfg, seed),
            min_ns,
            max_ns: (u64::from(cfg.reconnect_max_ms) * MS).max(min_ns),
            bad: [Nanos(0); MAX_BAD_LOGONS],
            bad_n: 0,
            permanent: 0,
            refused: None,
            last: None,
            mode: Mode::Normal,
            said: None,
            throttle_end: None,
            rng: seed ^ 0xA5A5_5A5A_0F0F_F0F0,
        }
    }

    /// The address to dial now, when an attempt is due (never while throttled).
    pub fn poll(&mut self, now: Now) -> Option<SocketAddr> {
        if self.throttle_end.is_some_and(|t| now.mono < t) {
            return None;
        }
        self.reconnect.poll(now.mono.0)
    }

    /// When the next attempt is due (monotonic), if one is scheduled.
    pub fn next_attempt(&self) -> Option<Nanos> {
        self.reconnect.next_deadline().map(Nanos)
    }

    /// The TCP connection is up (the back-off continues until the logon succeeds).
    pub fn on_open(&mut self) {
        self.refused = None;
        self.reconnect.on_open();
    }

    /// The session logged on: every back-off starts over.
    pub fn on_logged_on(&mut self) {
        self.reconnect.on_connected();
        self.permanent = 0;
        self.refused = None;
        self.mode = Mode::Normal;
        self.said = None;
        self.throttle_end = None;
    }

    /// A new signing key: a permanent back-off starts over (the throttle still holds).
    pub fn on_new_key(&mut self, now: Now) {
        if self.permanent > 0 {
            self.permanent = 0;
            self.reconnect
                .advance_to(now.mono.0.saturating_add(self.min_ns));
        }
    }

    /// The logon on this connection was refused; `bad_logon`: it counts towards CME's five
    /// within 60 s. Returns whether to log the refusal itself (not when the same refusal was
    /// already said while the session keeps failing).
    pub fn on_refused(&mut self, now: Now, r: Refusal, bad_logon: bool) -> bool {
        if bad_logon {
            self.prune(now);
            if self.bad_n < MAX_BAD_LOGONS {
                self.bad[self.bad_n] = now.mono;
                self.bad_n += 1;
            }
        }
        self.refused = Some(r);
        let repeat = self.last.is_some_and(|l| l.same(&r)) && self.mode != Mode::Normal;
        self.last = Some(r);
        !repeat
    }

    /// The session refused to sign a logon (its own count says a fifth could close the port):
    /// no connection before `until` (monotonic).
    pub fn on_session_throttled(&mut self, until: Nanos) {
        self.throttle_end = Some(self.throttle_end.map_or(until, |t| t.max(until)));
    }

    /// Whether per-connection lines are left out (the session keeps failing to log on).
    pub fn quiet(&self) -> bool {
        self.mode != Mode::Normal
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The last refusal since start.
    pub fn last_refusal(&self) -> Option<Refusal> {
        self.last
    }

    /// When the throttle ends (monotonic), while throttled.
    pub fn throttled_until(&self, now: Now) -> Option<Nanos> {
        self.throttle_end.filter(|&t| now.mono < t)
    }

    /// The connection is gone (or its connect failed): schedules the next attempt and returns
    /// a line to log when the mode or the refusal changed. Returns the next attempt's time
    /// (monotonic) too.
    pub fn on_closed(&mut self, now: Now) -> (Nanos, Option<Say>) {
        let refused = self.refused.take();
        let mut at = self.reconnect.on_disconnected(now.mono.0);
        let mode = match refused {
            Some(r) if r.retry == Retry::Permanent => {
                self.permanent = self.permanent.saturating_add(1);
                let d = self.permanent_delay();
                at = self
                    .reconnect
                    .defer_until(now.mono.0.saturating_add(d))
                    .unwrap_or(at);
                Mode::BackingOff
            }
            Some(_) => Mode::Retrying,
            // Lost without a refusal: the mode stays (a failing session stays quiet).
            None => self.mode,
        };
        self.prune(now);
        let mut mode = mode;
        if self.bad_n >= MAX_BAD_LOGONS {
            let end = self.bad[0].add_ns(BAD_LOGON_WINDOW_NS);
            self.throttle_end = Some(self.throttle_end.map_or(end, |t| t.max(end)));
        }
        if let Some(end) = self.throttle_end {
            if now.mono < end {
                at = self.reconnect.defer_until(end.0).unwrap_or(at);
                mode = Mode::Throttled;
            } else {
                self.throttle_end = None;
            }
        }
        self.mode = mode;
        let say = (mode != Mode::Normal).then_some(()).and_then(|()| {
            let key = (mode, refused.or(self.last));
            let changed = match self.said {
                None => true,
                Some((m, r)) => {
                    m != key.0
                        || match (r, key.1) {
                            (Some(a), Some(b)) => !a.same(&b),
                            (a, b) => a.is_some() != b.is_some(),
                        }
                }
            };
            self.said = Some(key);
            changed.then(|| Say {
                mode,
                refusal: key.1,
                bad_logons: self.bad_n as u32,
                next_attempt: wall_at(now, Nanos(at)),
                throttled_until: self
                    .throttle_end
                    .filter(|_| mode == Mode::Throttled)
                    .map(|t| wall_at(now, t)),
            })
        });
        (Nanos(at), say)
    }

    fn prune(&mut self, now: Now) {
        let mut kept = 0;
        for i in 0..self.bad_n {
            let t = self.bad[i];
            if now.mono < t.add_ns(BAD_LOGON_WINDOW_NS) {
                self.bad[kept] = t;
                kept += 1;
            }
        }
        self.bad_n = kept;
    }

    /// The back-off after the `permanent`-th consecutive permanent refusal: `min`, doubling to
    /// `max`, then one minute doubling to the ceiling; drawn from the upper quarter.
    fn permanent_delay(&mut self) -> u64 {
        let mut d = self.min_ns;
        let mut n = 1;
        while n < self.permanent && d < self.max_ns {
            d = d.saturating_mul(2).min(self.max_ns);
            n += 1;
        }
        if n < self.permanent {
            let extra = (self.permanent - n - 1).min(16);
            d = PERMANENT_MINUTES_NS
                .saturating_mul(1 << extra)
                .min(PERMANENT_CEILING_NS)
                .max(self.max_ns);
        }
        let jitter = self.next_random() % (d / 4 + 1);
        (d - jitter).max(self.min_ns)
    }

    /// splitmix64 (as the reconnect schedule's jitter).
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The wall-clock time of a monotonic instant, as seen from `now`.
pub fn wall_at(now: Now, at: Nanos) -> WallNanos {
    WallNanos(now.wall.0.saturating_add(at.0.saturating_sub(now.mono.0)))
}

/// `14:32:05 UTC` (what the log lines and `ilinkd status` show).
pub fn utc_hms(t: WallNanos) -> String {
    let fmt = time::macros::format_description!("[hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0))
        .ok()
        .and_then(|d| d.format(&fmt).ok())
        .unwrap_or_else(|| format!("{} ns since the epoch", t.0))
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let class = match self.retry {
            Retry::Transient => "transient",
            Retry::Permanent => "permanent",
        };
        match self.code {
            Some(c) => write!(f, "{} {c} {} ({class})", self.what, self.name),
            None => write!(f, "{}: {} ({class})", self.what, self.name),
        }
    }
}

impl std::fmt::Display for Say {
    /// One line: what happened and when the next attempt is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let last = self
            .refusal
            .map_or_else(String::new, |r| format!("; last refusal: {r}"));
        match (self.mode, self.throttled_until) {
            (Mode::Throttled, Some(until)) => write!(
                f,
                "logon throttled until {} ({} bad logons within 60 s; a fifth would close the port){last}; next attempt {}",
                utc_hms(until),
                self.bad_logons,
                utc_hms(self.next_attempt)
            ),
            (mode, _) => write!(
                f,
                "logon {}{last}; next attempt {}",
                mode.as_str(),
                utc_hms(self.next_attempt)
            ),
        }
    }
}

/// Drop Copy: a Logout before the Logon reply. With 789 NextExpectedMsgSeqNum (a mid-week
/// sequence correction), from a backup while the primary is up, or about 34=1, trying again
/// helps; anything else (signature, Access Key ID, CompIDs, a closed port) will be refused again.
pub fn dropcopy_logout_retry(text: &str, next_expected: Option<u64>) -> Retry {
    let t = text.to_ascii_lowercase();
    if next_expected.is_some() || t.contains("backup") || t.contains("34=1") {
        Retry::Transient
    } else {
        Retry::Permanent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn now(mono: u64) -> Now {
        Now {
            mono: Nanos(mono),
            wall: WallNanos(1_795_010_400 * S + mono),
        }
    }

    fn hmac() -> Refusal {
        Refusal {
            what: "Negotiate",
            code: Some(0),
            name: Note::new("HMACNotAuthenticated"),
            retry: Retry::Permanent,
        }
    }

    fn policy() -> LogonPolicy {
        LogonPolicy::new(
            "127.0.0.1:1".parse().unwrap(),
            Some("127.0.0.1:2".parse().unwrap()),
            &NetworkConfig::default(),
            9,
        )
    }

    /// Runs `secs` of a gateway refusing every logon with `r`; returns the dial times and the
    /// lines said.
    fn refuse_all(p: &mut LogonPolicy, r: Refusal, secs: u64) -> (Vec<u64>, Vec<Say>) {
        let (mut dials, mut says) = (Vec::new(), Vec::new());
        let mut t = 0;
        while t <= secs * S {
            if p.poll(now(t)).is_some() {
                dials.push(t);
                p.on_open();
                p.on_refused(now(t), r, true);
                let (at, say) = p.on_closed(now(t));
                assert!(at.0 > t);
                says.extend(say);
            }
            t += 10 * 1_000_000;
        }
        (dials, says)
    }

    /// PROTOCOL.md: "Fifth invalid Negotiate/Establish within 60 s closes the ports". Against a
    /// gateway refusing every logon, no 60 s window holds more than four attempts, the
    /// back-off reaches minutes, and a few lines say so.
    #[test]
    fn no_fifth_bad_logon_within_sixty_seconds_and_permanent_rejects_back_off_to_minutes() {
        let mut p = policy();
        let (dials, says) = refuse_all(&mut p, hmac(), 600);
        for (i, &t) in dials.iter().enumerate() {
            let within = dials[i..].iter().take_while(|&&u| u < t + 60 * S).count();
            assert!(
                within <= MAX_BAD_LOGONS,
                "{within} dials from {t}: {dials:?}"
            );
        }
        assert!(dials.len() <= 14, "{} dials in 10 minutes", dials.len());
        let gaps: Vec<u64> = dials.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            gaps.iter().rev().take(2).all(|&g| g >= 45 * S),
            "minutes apart at the end: {gaps:?}"
        );
        assert!(says.len() <= dials.len(), "{says:?}");
        assert_eq!(says[0].mode, Mode::BackingOff);
        assert!(says
            .iter()
            .any(|s| s.mode == Mode::Throttled && s.throttled_until.is_some()));
        // A logon resets it all.
        p.on_logged_on();
        assert_eq!(p.mode(), Mode::Normal);
        assert!(!p.quiet());
    }

    /// A transient refusal (DesignatedBackup) stays on the ordinary schedule (≤ reconnect_max)
    /// but is throttled all the same.
    #[test]
    fn transient_refusals_use_the_reconnect_schedule_and_are_throttled_too() {
        let mut p = policy();
        let r = Refusal {
            what: "Negotiate",
            code: Some(27),
            name: Note::new("DesignatedBackup"),
            retry: Retry::Transient,
        };
        let (dials, says) = refuse_all(&mut p, r, 130);
        assert!(dials.len() <= 3 * MAX_BAD_LOGONS, "{dials:?}");
        assert_eq!(says[0].mode, Mode::Retrying);
        assert!(says.iter().any(|s| s.mode == Mode::Throttled));
        assert!(dials[1] - dials[0] <= 5 * S);
    }

    /// A TCP connection that is lost without a refusal keeps the quiet mode; the refusal is
    /// said once, a different code is said again.
    #[test]
    fn a_refusal_is_said_once_and_a_new_code_again() {
        let mut p = policy();
        assert!(p.poll(now(0)).is_some());
        p.on_open();
        assert!(p.on_refused(now(0), hmac(), true), "first time: log it");
        let (at, say) = p.on_closed(now(0));
        assert!(say.is_some());
        assert!(p.quiet());
        assert!(p.poll(now(at.0)).is_some());
        p.on_open();
        assert!(!p.on_refused(now(at.0), hmac(), true), "same code: quiet");
        let (at, say) = p.on_closed(now(at.0));
        assert!(say.is_none());
        assert!(p.poll(now(at.0)).is_some());
        p.on_open();
        let other = Refusal {
            code: Some(12),
            name: Note::new("InvalidAccessKeyID"),
            ..hmac()
        };
        assert!(p.on_refused(now(at.0), other, true));
        let (_, say) = p.on_closed(now(at.0));
        assert_eq!(say.and_then(|s| s.refusal).and_then(|r| r.code), Some(12));
    }

    #[test]
    fn says_the_next_attempt_as_a_wall_clock_time() {
        let say = Say {
            mode: Mode::Throttled,
            refusal: Some(hmac()),
            bad_logons: 4,
            // Wednesday 2026-11-18 14:32:05 UTC.
            next_attempt: WallNanos(1_795_012_325 * S),
            throttled_until: Some(WallNanos(1_795_012_325 * S)),
        };
        assert_eq!(
            say.to_string(),
            "logon throttled until 14:32:05 UTC (4 bad logons within 60 s; a fifth would close \
             the port); last refusal: Negotiate 0 HMACNotAuthenticated (permanent); next attempt \
             14:32:05 UTC"
        );
    }

    #[test]
    fn drop_copy_logouts_are_classified() {
        assert_eq!(
            dropcopy_logout_retry("EncryptedPassword (1402) signature invalid", None),
            Retry::Permanent
        );
        assert_eq!(dropcopy_logout_retry("", Some(42)), Retry::Transient);
        assert_eq!(
            dropcopy_logout_retry("Backup session not allowed. Logout forced.", Some(7)),
            Retry::Transient
        );
    }
}
