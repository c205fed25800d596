//! Drop Copy ↔ iLink 3 reconciliation: every execution report seen on the firm's iLink 3
//! sessions is matched against the Drop Copy stream, by ExecID.
//!
//! What matches (CME, "Drop Copy 4.0" and "Drop Copy for iLink 3 Binary Order Entry"): Drop
//! Copy carries real-time copies of the Execution Report and Acknowledgment messages sent on
//! the source iLink sessions; the Drop Copy group is configured to receive trade execution
//! reports (fills and trade cancels/corrections), acknowledgments, or both. Drop Copy tag
//! 17-ExecID ("globally unique for each message published") is the copied message's ExecID;
//! for fills CME's payload mapping names iLink 3 tag 1506-SideTradeID as the trade number
//! embedded in 17-ExecID. So a Drop Copy report matches an iLink 3 report when the ExecIDs are
//! equal, or, for a fill, when the digits that end the Drop Copy ExecID are the iLink 3
//! SideTradeID.
//!
//! Scope (`[daemon] reconcile`): `"trades"` (default) matches fills (525, 526, 527) and trade
//! cancels/corrections (548, 549, 550) against Drop Copy reports with ExecType 1, 2, F, G or H;
//! `"all"` adds every other iLink 3 execution report with an ExecID (522 new, 523 reject, 524
//! elimination, 531 modify, 534 cancel, 564/565 pending) against every Drop Copy report with an
//! ExecID. Never matched: 532 ExecutionReportStatus (the answer to the client's own status
//! request; its Drop Copy copy, ExecType I, is skipped too) and 535/536 cancel/replace rejects
//! (Drop Copy sends those as 35=9 OrderCancelReject, skipped on this side too whether or not it
//! carries an ExecID). A Drop Copy report whose source session (the embedded message's
//! 56-TargetCompID,
//! whose leftmost characters are the session ID) is not one of this daemon's iLink 3 sessions
//! is ignored; one without a known source counts.
//!
//! The engines push a fixed-size [`ExecCopy`] per report (no allocation); the housekeeping
//! thread journals them (per UTC day, see [`exec_journal_path`]) and feeds a [`Reconciler`].
//! A report still unmatched `reconcile_delay_ms` after it arrived is reported once (a log line
//! with its ExecID, the `ilinkd_reconcile_unmatched{side}` gauge); a late counterpart still
//! matches it and takes it off the gauge. Unmatched entries are forgotten after a day (they stay
//! in the journals: `ilinkd dropcopy reconcile` reads those).

use crate::dropcopy::report::ReportParser;
use crate::ilink3::Message;
use crate::store::journal::{self, Journal};
use crate::types::FsyncPolicy;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Bytes of ExecID an [`ExecCopy`] holds (iLink 3 ExecID is String40).
pub const EXEC_ID_BYTES: usize = 40;
/// Bytes of ClOrdID (String20).
pub const CL_ORD_ID_BYTES: usize = 20;
/// How long an unmatched report is remembered (ns).
pub const FORGET_AFTER_NS: u64 = 86_400_000_000_000;

/// `[daemon] reconcile`: which reports are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    Off,
    /// Fills and trade cancels/corrections (a Drop Copy group receiving execution reports).
    #[default]
    Trades,
    /// Acknowledgments too (a Drop Copy group receiving everything).
    All,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Off => "off",
            Scope::Trades => "trades",
            Scope::All => "all",
        }
    }

    /// Whether an iLink 3 report of `template` is reconciled.
    pub fn covers_template(self, template: u16) -> bool {
        match self {
            Scope::Off => false,
            Scope::Trades => is_trade_template(template),
            Scope::All => true,
        }
    }

    /// Whether a Drop Copy report of ExecType `exec_type` is reconciled. A copy of an order
    /// status report (ExecType I, the iLink 3 532 answering a status or mass status request,
    /// which the daemon sends after every restart) never is: 532 is not matched.
    pub fn covers_exec_type(self, exec_type: Option<u8>) -> bool {
        match self {
            Scope::Off => false,
            Scope::Trades => exec_type.is_some_and(is_trade_exec_type),
            Scope::All => exec_type != Some(b'I'),
        }
    }
}

/// Fills and trade addenda (cancel / correction).
pub fn is_trade_template(template: u16) -> bool {
    matches!(template, 525..=527 | 548..=550)
}

/// Drop Copy (FIX 4.2) ExecType of a fill, partial fill, trade correction or trade cancel.
pub fn is_trade_exec_type(t: u8) -> bool {
    matches!(t, b'1' | b'2' | b'F' | b'G' | b'H')
}

/// One iLink 3 execution report, as the hot thread hands it over (fixed size, `Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecCopy {
    /// Global iLink 3 session index.
    pub session: u16,
    pub template: u16,
    /// 1506-SideTradeID of a fill (0: none).
    pub side_trade_id: u32,
    /// When the engine decoded it (wall clock, ns since the epoch).
    pub wall: u64,
    exec_id_len: u8,
    cl_ord_id_len: u8,
    exec_id: [u8; EXEC_ID_BYTES],
    cl_ord_id: [u8; CL_ORD_ID_BYTES],
}

fn fit<const N: usize>(s: &[u8]) -> ([u8; N], u8) {
    let mut out = [0u8; N];
    let n = s.len().min(N);
    out[..n].copy_from_slice(&s[..n]);
    (out, n as u8)
}

impl ExecCopy {
    pub fn new(
        session: u16,
        template: u16,
        exec_id: &[u8],
        cl_ord_id: &[u8],
        side_trade_id: u32,
        wall: u64,
    ) -> Self {
        let (e, el) = fit::<EXEC_ID_BYTES>(exec_id);
        let (c, cl) = fit::<CL_ORD_ID_BYTES>(cl_ord_id);
        ExecCopy {
            session,
            template,
            side_trade_id,
            wall,
            exec_id_len: el,
            cl_ord_id_len: cl,
            exec_id: e,
            cl_ord_id: c,
        }
    }

    /// The copy of a decoded inbound message that carries an ExecID and is reconciled in some
    /// scope; `None` for everything else. Allocation-free.
    pub fn of(m: &Message<'_>, session: u16, wall: u64) -> Option<Self> {
        let (template, exec_id, cl_ord_id, trade) = match m {
            Message::ExecutionReportNew(r) => (522, r.exec_id(), r.cl_ord_id(), 0),
            Message::ExecutionReportReject(r) => (523, r.exec_id(), r.cl_ord_id(), 0),
            Message::ExecutionReportElimination(r) => (524, r.exec_id(), r.cl_ord_id(), 0),
            Message::ExecutionReportTradeOutright(r) => {
                (525, r.exec_id(), r.cl_ord_id(), r.side_trade_id())
            }
            Message::ExecutionReportTradeSpread(r) => {
                (526, r.exec_id(), r.cl_ord_id(), r.side_trade_id())
            }
            Message::ExecutionReportTradeSpreadLeg(r) => {
                (527, r.exec_id(), r.cl_ord_id(), r.side_trade_id())
            }
            Message::ExecutionReportModify(r) => (531, r.exec_id(), r.cl_ord_id(), 0),
            Message::ExecutionReportCancel(r) => (534, r.exec_id(), r.cl_ord_id(), 0),
            Message::ExecutionReportTradeAddendumOutright(r) => {
                (548, r.exec_id(), r.cl_ord_id(), r.side_trade_id())
            }
            Message::ExecutionReportTradeAddendumSpread(r) => {
                (549, r.exec_id(), r.cl_ord_id(), r.side_trade_id())
            }
            Message::ExecutionReportTradeAddendumSpreadLeg(r) => {
                (550, r.exec_id(), r.cl_ord_id(), r.side_trade_id())
            }
            Message::ExecutionReportPendingCancel(r) => (564, r.exec_id(), r.cl_ord_id(), 0),
            Message::ExecutionReportPendingReplace(r) => (565, r.exec_id(), r.cl_ord_id(), 0),
            _ => return None,
        };
        if exec_id.is_empty() {
            return None;
        }
        Some(ExecCopy::new(
            session,
            template,
            exec_id.as_bytes(),
            cl_ord_id.as_bytes(),
            trade,
            wall,
        ))
    }

    pub fn exec_id(&self) -> &str {
        std::str::from_utf8(&self.exec_id[..usize::from(self.exec_id_len)]).unwrap_or("")
    }

    pub fn cl_ord_id(&self) -> &str {
        std::str::from_utf8(&self.cl_ord_id[..usize::from(self.cl_ord_id_len)]).unwrap_or("")
    }
}

/// The digits that end a Drop Copy ExecID, as a number (the embedded trade number of a fill).
pub fn trailing_number(exec_id: &str) -> Option<u32> {
    let digits = exec_id.bytes().rev().take_while(u8::is_ascii_digit).count();
    let tail = exec_id.get(exec_id.len() - digits..)?;
    if tail.is_empty() {
        return None;
    }
    tail.parse::<u64>().ok().and_then(|n| u32::try_from(n).ok())
}

/// The source iLink session of a Drop Copy message: the embedded message's 56-TargetCompID
/// (35=n), else `None`.
pub fn source_session(inner: Option<&[u8]>) -> Option<&str> {
    let inner = inner?;
    let at = if inner.starts_with(b"56=") {
        0
    } else {
        inner.windows(4).position(|w| w == b"\x0156=")? + 1
    };
    let v = inner.get(at + 3..)?;
    let end = v.iter().position(|&c| c == 1).unwrap_or(v.len());
    std::str::from_utf8(v.get(..end)?).ok()
}

/// Which side a report was seen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Ilink3,
    DropCopy,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Ilink3 => "ilink3",
            Side::DropCopy => "dropcopy",
        }
    }
}

/// A report waiting for its counterpart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub exec_id: String,
    /// iLink 3 session name (iLink 3 side) or Drop Copy session name.
    pub session: String,
    pub cl_ord_id: String,
    /// Template (iLink 3) or ExecType (Drop Copy, as a char code).
    pub kind: u16,
    /// SideTradeID (iLink 3 fills; 0 otherwise).
    pub side_trade_id: u32,
    /// When it arrived (ns, the reconciler's clock).
    pub seen: u64,
    /// Reported unmatched already.
    pub reported: bool,
}

/// What happened to one report fed to the [`Reconciler`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its counterpart was waiting; `late` when that one had been reported unmatched.
    Matched { late: bool },
    /// Waits for its counterpart.
    Pending,
    /// Its ExecID was already seen on this side (a duplicate): ignored.
    Duplicate,
}

/// Matches iLink 3 reports against Drop Copy reports (see the module documentation).
#[derive(Debug)]
pub struct Reconciler {
    delay_ns: u64,
    ilink: HashMap<String, Pending>,
    /// SideTradeID → ExecID of pending iLink 3 fills.
    by_trade: HashMap<u32, String>,
    /// Embedded trade number → ExecID of pending Drop Copy fills.
    dc_by_trade: HashMap<u32, String>,
    dropcopy: HashMap<String, Pending>,
    /// ExecIDs matched recently (a duplicate on either side is not a new report).
    matched: HashMap<String, u64>,
    matched_total: u64,
    unmatched: [u64; 2],
}

impl Reconciler {
    pub fn new(delay_ns: u64) -> Self {
        Reconciler {
            delay_ns,
            ilink: HashMap::new(),
            by_trade: HashMap::new(),
            dc_by_trade: HashMap::new(),
            dropcopy: HashMap::new(),
            matched: HashMap::new(),
            matched_total: 0,
            unmatched: [0; 2],
        }
    }

    fn uncount(&mut self, p: &Pending, side: Side) {
        if p.reported {
            let i = side as usize;
            self.unmatched[i] = self.unmatched[i].saturating_sub(1);
        }
    }

    fn matched(&mut self, exec_id: String, now: u64, late: bool) -> Outcome {
        self.matched_total += 1;
        self.matched.insert(exec_id, now);
        Outcome::Matched { late }
    }

    /// An iLink 3 report (`p.seen` is its arrival time).
    pub fn on_ilink3(&mut self, p: Pending) -> Outcome {
        if self.matched.contains_key(&p.exec_id) || self.ilink.contains_key(&p.exec_id) {
            return Outcome::Duplicate;
        }
        let dc_key = if self.dropcopy.contains_key(&p.exec_id) {
            Some(p.exec_id.clone())
        } else if p.side_trade_id != 0 {
            self.dc_by_trade.get(&p.side_trade_id).cloned()
        } else {
            None
        };
        if let Some(k) = dc_key {
            if let Some(d) = self.dropcopy.remove(&k) {
                if let Some(n) = trailing_number(&k) {
                    self.dc_by_trade.remove(&n);
                }
                self.uncount(&d, Side::DropCopy);
                self.matched.insert(k, p.seen);
                return self.matched(p.exec_id, p.seen, d.reported);
            }
        }
        if p.side_trade_id != 0 {
            self.by_trade.insert(p.side_trade_id, p.exec_id.clone());
        }
        self.ilink.insert(p.exec_id.clone(), p);
        Outcome::Pending
    }

    /// A Drop Copy report (`p.kind` = its ExecType).
    pub fn on_dropcopy(&mut self, p: Pending) -> Outcome {
        if self.matched.contains_key(&p.exec_id) || self.dropcopy.contains_key(&p.exec_id) {
            return Outcome::Duplicate;
        }
        let key = if self.ilink.contains_key(&p.exec_id) {
            Some(p.exec_id.clone())
        } else if is_trade_exec_type(p.kind as u8) {
            trailing_number(&p.exec_id).and_then(|n| self.by_trade.get(&n).cloned())
        } else {
            None
        };
        if let Some(k) = key {
            if let Some(i) = self.ilink.remove(&k) {
                if i.side_trade_id != 0 {
                    self.by_trade.remove(&i.side_trade_id);
                }
                self.uncount(&i, Side::Ilink3);
                self.matched.insert(k, p.seen);
                return self.matched(p.exec_id, p.seen, i.reported);
            }
        }
        if is_trade_exec_type(p.kind as u8) {
            if let Some(n) = trailing_number(&p.exec_id) {
                self.dc_by_trade.insert(n, p.exec_id.clone());
            }
        }
        self.dropcopy.insert(p.exec_id.clone(), p);
        Outcome::Pending
    }

    /// Reports now unmatched for longer than the delay (each once), oldest first; forgets
    /// what is older than [`FORGET_AFTER_NS`].
    pub fn tick(&mut self, now: u64) -> Vec<(Side, Pending)> {
        let mut out = Vec::new();
        let delay = self.delay_ns;
        for (side, map) in [
            (Side::Ilink3, &mut self.ilink),
            (Side::DropCopy, &mut self.dropcopy),
        ] {
            for p in map.values_mut() {
                if !p.reported && now.saturating_sub(p.seen) >= delay {
                    p.reported = true;
                    self.unmatched[side as usize] += 1;
                    out.push((side, p.clone()));
                }
            }
        }
        let old = |seen: u64| now.saturating_sub(seen) >= FORGET_AFTER_NS.max(delay);
        let mut forgot = [0u64; 2];
        self.ilink.retain(|_, p| {
            let keep = !old(p.seen);
            if !keep && p.reported {
                forgot[0] += 1;
            }
            keep
        });
        self.dropcopy.retain(|_, p| {
            let keep = !old(p.seen);
            if !keep && p.reported {
                forgot[1] += 1;
            }
            keep
        });
        let ilink = &self.ilink;
        self.by_trade.retain(|_, e| ilink.contains_key(e));
        let dropcopy = &self.dropcopy;
        self.dc_by_trade.retain(|_, e| dropcopy.contains_key(e));
        self.matched.retain(|_, &mut t| !old(t));
        for (u, f) in self.unmatched.iter_mut().zip(forgot) {
            *u = u.saturating_sub(f);
        }
        out.sort_by_key(|(_, p)| p.seen);
        out
    }

    /// Reports waiting on `side` (reported or not), oldest first.
    pub fn pending(&self, side: Side) -> Vec<&Pending> {
        let map = match side {
            Side::Ilink3 => &self.ilink,
            Side::DropCopy => &self.dropcopy,
        };
        let mut v: Vec<&Pending> = map.values().collect();
        v.sort_by(|a, b| (a.seen, &a.exec_id).cmp(&(b.seen, &b.exec_id)));
        v
    }

    /// Reports past the delay without a counterpart, per side.
    pub fn unmatched(&self, side: Side) -> u64 {
        self.unmatched[side as usize]
    }

    pub fn matched_total(&self) -> u64 {
        self.matched_total
    }
}

/// The iLink 3 execution journal of UTC day `date` (`YYYY-MM-DD`):
/// `<state_dir>/reconcile/ilink3-exec-<date>.journal`.
pub fn exec_journal_path(state_dir: &Path, date: &str) -> PathBuf {
    state_dir
        .join("reconcile")
        .join(format!("ilink3-exec-{date}.journal"))
}

/// Journal payload of one iLink 3 report: tab-separated `wall session template exec_id
/// side_trade_id cl_ord_id`.
pub fn encode_record(c: &ExecCopy, session: &str) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        c.wall,
        session,
        c.template,
        c.exec_id(),
        c.side_trade_id,
        c.cl_ord_id()
    )
}

/// A journal payload back: (wall, session, template, exec_id, side_trade_id, cl_ord_id).
pub fn decode_record(payload: &[u8]) -> Option<(u64, &str, u16, &str, u32, &str)> {
    let s = std::str::from_utf8(payload).ok()?;
    let mut f = s.split('\t');
    let wall = f.next()?.parse().ok()?;
    let session = f.next()?;
    let template = f.next()?.parse().ok()?;
    let exec_id = f.next()?;
    let trade = f.next()?.parse().ok()?;
    let cl = f.next().unwrap_or("");
    Some((wall, session, template, exec_id, trade, cl))
}

/// UTC date (`YYYY-MM-DD`) of a wall-clock time in ns since the epoch.
pub fn utc_date(wall_ns: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(wall_ns))
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

/// The housekeeping side: journals iLink 3 reports per UTC day, parses Drop Copy reports and
/// runs the [`Reconciler`] (times are wall-clock ns, passed in).
pub struct ReconcileState {
    scope: Scope,
    rec: Reconciler,
    state_dir: PathBuf,
    fsync: FsyncPolicy,
    /// (date, journal) of the day being written.
    journal: Option<(String, Journal)>,
    journal_failed: bool,
    parser: ReportParser,
    /// Per global iLink 3 session: (name, CME session ID).
    ilink: Vec<(String, String)>,
    /// Per Drop Copy session: name.
    dropcopy: Vec<String>,
    delay_ms: u64,
}

impl ReconcileState {
    /// `ilink`: per global iLink 3 session (name, session ID); `dropcopy`: Drop Copy session
    /// names.
    pub fn new(
        scope: Scope,
        delay_ms: u64,
        state_dir: &Path,
        fsync: FsyncPolicy,
        ilink: Vec<(String, String)>,
        dropcopy: Vec<String>,
    ) -> Self {
        ReconcileState {
            scope,
            rec: Reconciler::new(delay_ms.saturating_mul(1_000_000)),
            state_dir: state_dir.to_path_buf(),
            fsync,
            journal: None,
            journal_failed: false,
            parser: ReportParser::new(),
            ilink,
            dropcopy,
            delay_ms,
        }
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    fn journal_for(&mut self, date: &str) -> Option<&mut Journal> {
        if self.journal.as_ref().is_none_or(|(d, _)| d != date) {
            self.journal = None;
            let path = exec_journal_path(&self.state_dir, date);
            let opened = path
                .parent()
                .map_or(Ok(()), crate::store::create_dir_private)
                .and_then(|()| Journal::open(&path, self.fsync));
            match opened {
                Ok((j, _)) => {
                    self.journal = Some((date.to_string(), j));
                    self.journal_failed = false;
                }
                Err(e) => {
                    if !self.journal_failed {
                        tracing::error!(path = %path.display(), "reconcile: exec journal: {e}");
                    }
                    self.journal_failed = true;
                }
            }
        }
        self.journal.as_mut().map(|(_, j)| j)
    }

    /// An iLink 3 report from an engine: journaled (always), then matched (in scope).
    pub fn on_exec(&mut self, c: &ExecCopy, now_ns: u64) {
        let (name, _) = self
            .ilink
            .get(usize::from(c.session))
            .cloned()
            .unwrap_or_default();
        let date = utc_date(c.wall);
        let line = encode_record(c, &name);
        if let Some(j) = self.journal_for(&date) {
            let seq = j.last_seq().map_or(1, |s| s + 1);
            if let Err(e) = j.append(journal::kind::INBOUND, seq, line.as_bytes()) {
                tracing::error!("reconcile: exec journal append: {e}");
            }
        }
        if !self.scope.covers_template(c.template) {
            return;
        }
        let out = self.rec.on_ilink3(Pending {
            exec_id: c.exec_id().to_string(),
            session: name,
            cl_ord_id: c.cl_ord_id().to_string(),
            kind: c.template,
            side_trade_id: c.side_trade_id,
            seen: now_ns,
            reported: false,
        });
        self.log_late(&out, c.exec_id());
    }

    /// A Drop Copy message recorded (published) by Drop Copy session `dc`.
    pub fn on_dropcopy(&mut self, dc: usize, raw: &[u8], now_ns: u64) {
        let Ok(r) = self.parser.parse(raw) else {
            return;
        };
        if r.reject.is_some() {
            return;
        }
        let Some(exec_id) = r.exec_id.filter(|e| !e.is_empty()) else {
            return;
        };
        if !self.scope.covers_exec_type(r.exec_type) {
            return;
        }
        if let Some(src) = source_session(r.inner) {
            if !self
                .ilink
                .iter()
                .any(|(_, id)| src.starts_with(id.as_str()))
            {
                return;
            }
        }
        let p = Pending {
            exec_id: exec_id.to_string(),
            session: self.dropcopy.get(dc).cloned().unwrap_or_default(),
            cl_ord_id: r.cl_ord_id.unwrap_or("").to_string(),
            kind: u16::from(r.exec_type.unwrap_or(b'?')),
            side_trade_id: 0,
            seen: now_ns,
            reported: false,
        };
        let exec_id = p.exec_id.clone();
        let out = self.rec.on_dropcopy(p);
        self.log_late(&out, &exec_id);
    }

    fn log_late(&self, out: &Outcome, exec_id: &str) {
        if *out == (Outcome::Matched { late: true }) {
            tracing::info!(exec_id, "reconcile: late copy matched an unmatched report");
        }
    }

    /// Reports unmatched past the delay: one log line each. Returns them.
    pub fn tick(&mut self, now_ns: u64) -> Vec<(Side, Pending)> {
        let due = self.rec.tick(now_ns);
        for (side, p) in &due {
            let missing = match side {
                Side::Ilink3 => "no Drop Copy copy",
                Side::DropCopy => "not seen on any iLink 3 session",
            };
            tracing::warn!(
                side = side.name(),
                exec_id = %p.exec_id,
                session = %p.session,
                cl_ord_id = %p.cl_ord_id,
                "reconcile: ExecID {} unmatched after {} ms: {missing}",
                p.exec_id,
                self.delay_ms
            );
        }
        if let Some((_, j)) = self.journal.as_mut() {
            if let Err(e) = j.sync() {
                tracing::error!("reconcile: exec journal sync: {e}");
            }
        }
        due
    }

    pub fn reconciler(&self) -> &Reconciler {
        &self.rec
    }
}

/// What `ilinkd dropcopy reconcile` found for one UTC day.
#[derive(Debug, Default)]
pub struct DayReport {
    pub matched: u64,
    /// iLink 3 reports of the day without a Drop Copy copy.
    pub ilink3_only: Vec<Pending>,
    /// Drop Copy reports of the day seen on no iLink 3 session.
    pub dropcopy_only: Vec<Pending>,
    /// Journals read.
    pub journals: Vec<PathBuf>,
}

/// Why a day could not be reconciled.
#[derive(Debug, thiserror::Error)]
pub enum DayError {
    #[error("{date:?} is not a date (expected YYYY-MM-DD)")]
    BadDate { date: String },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("{path}: {source}")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

const DAY_NS: u64 = 86_400_000_000_000;

/// Matches the reports of UTC day `date` from the journals: the iLink 3 exec journals and
/// every Drop Copy journal (current and archived weeks) of the named sessions. Reports of the
/// days either side take part in the matching (a fill at 23:59:59.9 copied after midnight), but
/// only the day's own are reported.
pub fn reconcile_day(
    state_dir: &Path,
    scope: Scope,
    ilink: &[(String, String)],
    dropcopy: &[String],
    date: &str,
) -> Result<DayReport, DayError> {
    let bad = || DayError::BadDate { date: date.into() };
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(date, &fmt).map_err(|_| bad())?;
    let start = day.midnight().assume_utc().unix_timestamp_nanos();
    let start = u64::try_from(start).map_err(|_| bad())?;
    let in_day = |t: u64| t >= start && t < start + DAY_NS;
    let near = |t: u64| t + DAY_NS >= start && t < start + 2 * DAY_NS;
    let mut rec = Reconciler::new(0);
    let mut out = DayReport::default();
    for d in [start.saturating_sub(DAY_NS), start, start + DAY_NS] {
        let path = exec_journal_path(state_dir, &utc_date(d));
        if !path.exists() {
            continue;
        }
        let (j, _) = Journal::open_read_only(&path)?;
        for r in j.iter() {
            let r = r?;
            let Some((wall, session, template, exec_id, trade, cl)) = decode_record(&r.payload)
            else {
                continue;
            };
            if !scope.covers_template(template) {
                continue;
            }
            rec.on_ilink3(Pending {
                exec_id: exec_id.into(),
                session: session.into(),
                cl_ord_id: cl.into(),
                kind: template,
                side_trade_id: trade,
                seen: wall,
                reported: false,
            });
        }
        out.journals.push(path);
    }
    let mut parser = ReportParser::new();
    for name in dropcopy {
        let dir = state_dir.join(name);
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        n.starts_with("dropcopy-inbound") && n.ends_with(".journal")
                    })
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(DayError::Dir { path: dir, source }),
        };
        files.sort();
        for path in files {
            let (j, _) = Journal::open_read_only(&path)?;
            for r in j.iter() {
                let r = r?;
                if r.kind != journal::kind::INBOUND {
                    continue;
                }
                let Ok(m) = parser.parse(&r.payload) else {
                    continue;
                };
                if m.reject.is_some() {
                    continue;
                }
                let Some(exec_id) = m.exec_id.filter(|e| !e.is_empty()) else {
                    continue;
                };
                let Ok(sent) = m.sending_time_ns() else {
                    continue;
                };
                if !near(sent) || !scope.covers_exec_type(m.exec_type) {
                    continue;
                }
                if let Some(src) = source_session(m.inner) {
                    if !ilink.iter().any(|(_, id)| src.starts_with(id.as_str())) {
                        continue;
                    }
                }
                rec.on_dropcopy(Pending {
                    exec_id: exec_id.into(),
                    session: name.clone(),
                    cl_ord_id: m.cl_ord_id.unwrap_or("").into(),
                    kind: u16::from(m.exec_type.unwrap_or(b'?')),
                    side_trade_id: 0,
                    seen: sent,
                    reported: false,
                });
            }
            out.journals.push(path);
        }
    }
    out.matched = rec.matched_total();
    out.ilink3_only = rec
        .pending(Side::Ilink3)
        .into_iter()
        .filter(|p| in_day(p.seen))
        .cloned()
        .collect();
    out.dropcopy_only = rec
        .pending(Side::DropCopy)
        .into_iter()
        .filter(|p| in_day(p.seen))
        .cloned()
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn il(id: &str, trade: u32, seen: u64) -> Pending {
        Pending {
            exec_id: id.into(),
            session: "S1".into(),
            cl_ord_id: "c".into(),
            kind: 525,
            side_trade_id: trade,
            seen,
            reported: false,
        }
    }

    fn dc(id: &str, exec_type: u8, seen: u64) -> Pending {
        Pending {
            exec_id: id.into(),
            session: "DC".into(),
            cl_ord_id: "c".into(),
            kind: u16::from(exec_type),
            side_trade_id: 0,
            seen,
            reported: false,
        }
    }

    #[test]
    fn equal_exec_ids_match_from_either_side_and_duplicates_are_ignored() {
        let mut r = Reconciler::new(30 * S);
        assert_eq!(r.on_ilink3(il("7", 1, 0)), Outcome::Pending);
        assert_eq!(
            r.on_dropcopy(dc("7", b'2', S)),
            Outcome::Matched { late: false }
        );
        assert_eq!(r.on_dropcopy(dc("8", b'1', 2 * S)), Outcome::Pending);
        assert_eq!(
            r.on_ilink3(il("8", 2, 3 * S)),
            Outcome::Matched { late: false }
        );
        assert_eq!(r.on_dropcopy(dc("8", b'1', 4 * S)), Outcome::Duplicate);
        assert_eq!(r.matched_total(), 2);
        assert!(r.tick(100 * S).is_empty());
        assert_eq!(r.unmatched(Side::Ilink3) + r.unmatched(Side::DropCopy), 0);
    }

    #[test]
    fn a_fill_matches_by_the_trade_number_that_ends_the_drop_copy_exec_id() {
        let mut r = Reconciler::new(30 * S);
        r.on_ilink3(il("A9", 12345, 0));
        assert_eq!(
            r.on_dropcopy(dc("64952:M:1234567TN0012345", b'2', S)),
            Outcome::Matched { late: false }
        );
        // An acknowledgment never matches by trade number.
        r.on_ilink3(il("B1", 77, 0));
        assert_eq!(r.on_dropcopy(dc("X77", b'0', S)), Outcome::Pending);
        assert_eq!(trailing_number("ABC"), None);
        assert_eq!(trailing_number("TN0012345"), Some(12345));
    }

    #[test]
    fn unmatched_after_the_delay_is_reported_once_and_a_late_copy_clears_it() {
        // Fake clock: ns passed in.
        let mut r = Reconciler::new(30 * S);
        r.on_ilink3(il("1", 1, 0));
        r.on_ilink3(il("2", 2, 10 * S));
        r.on_dropcopy(dc("1", b'2', 5 * S));
        r.on_dropcopy(dc("99", b'1', 12 * S));
        assert!(r.tick(39 * S).is_empty(), "nothing is past the delay yet");
        let due = r.tick(40 * S);
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].0, due[0].1.exec_id.as_str()), (Side::Ilink3, "2"));
        assert_eq!(r.unmatched(Side::Ilink3), 1);
        assert!(r.tick(41 * S).is_empty(), "reported once");
        let due = r.tick(42 * S);
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].0, due[0].1.exec_id.as_str()),
            (Side::DropCopy, "99")
        );
        assert_eq!(r.unmatched(Side::DropCopy), 1);
        // The withheld copy comes after all: matched late, off the gauge.
        assert_eq!(
            r.on_dropcopy(dc("2", b'2', 50 * S)),
            Outcome::Matched { late: true }
        );
        assert_eq!(r.unmatched(Side::Ilink3), 0);
        assert_eq!(r.matched_total(), 2);
        // Forgotten after a day.
        r.tick(42 * S + FORGET_AFTER_NS);
        assert_eq!(r.unmatched(Side::DropCopy), 0);
        assert!(r.pending(Side::DropCopy).is_empty());
    }

    #[test]
    fn scopes() {
        assert!(Scope::Trades.covers_template(525));
        assert!(Scope::Trades.covers_template(549));
        assert!(!Scope::Trades.covers_template(522));
        assert!(Scope::All.covers_template(522));
        assert!(!Scope::Off.covers_template(525));
        assert!(Scope::Trades.covers_exec_type(Some(b'F')));
        assert!(!Scope::Trades.covers_exec_type(Some(b'0')));
        assert!(Scope::All.covers_exec_type(None));
    }

    #[test]
    fn source_session_is_the_embedded_target_comp_id() {
        let inner = b"8=FIX.4.2\x019=10\x0135=8\x0149=CME\x0156=S1F\x0157=FRM\x01";
        assert_eq!(source_session(Some(inner)), Some("S1F"));
        assert_eq!(source_session(None), None);
        assert_eq!(source_session(Some(b"35=8\x01")), None);
    }

    #[test]
    fn exec_copy_is_truncated_to_its_fields_and_round_trips_the_journal() {
        let long = "X".repeat(60);
        let c = ExecCopy::new(3, 525, long.as_bytes(), b"CL1", 42, 77);
        assert_eq!(c.exec_id().len(), EXEC_ID_BYTES);
        let line = encode_record(&ExecCopy::new(3, 525, b"E1", b"CL1", 42, 77), "eq");
        assert_eq!(
            decode_record(line.as_bytes()),
            Some((77, "eq", 525, "E1", 42, "CL1"))
        );
    }
}

/// Housekeeping-level: the state the housekeeping thread runs, with a fake clock, then the
/// day's journals read back as `ilinkd dropcopy reconcile` does.
#[cfg(test)]
mod house_tests {
    use super::*;
    use crate::dropcopy::codec::checksum;

    const S: u64 = 1_000_000_000;
    /// 2024-03-15 13:30:00 UTC.
    const T0: u64 = 1_710_509_400 * S;

    fn framed(body: &str) -> Vec<u8> {
        let body = body.replace('|', "\x01");
        let mut m = format!("8=FIX.4.2\x019={}\x01{}", body.len(), body).into_bytes();
        let sum = checksum(&m);
        m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
        m
    }

    /// A Drop Copy 35=8 fill of `exec_id`, from source session `src` (35=n form) or unknown.
    fn dc_fill(seq: u64, exec_id: &str, exec_type: char, src: Option<&str>) -> Vec<u8> {
        let fields = format!(
            "37=7364212|11=ORD-1|17={exec_id}|150={exec_type}|39=1|55=ESM4|48=5602|54=1|\
             38=10|44=5250.75|32=4|31=5250.5|14=4|151=6|60=20240315-13:30:00.120123456|"
        );
        let Some(src) = src else {
            return framed(&format!(
                "35=8|34={seq}|49=CME|56=ABC123N|50=G|52=20240315-13:30:00.125|{fields}"
            ));
        };
        let inner = framed(&format!(
            "35=8|34=9{seq}|49=CME|56={src}|52=20240315-13:30:00.120|{fields}"
        ));
        let data = [&b"<RTRF>"[..], &inner, b"</RTRF>"].concat();
        let mut body = format!(
            "35=n|34={seq}|49=CME|56=ABC123N|56={src}|50=G|52=20240315-13:30:00.125|212={}|213=",
            data.len()
        )
        .replace('|', "\x01")
        .into_bytes();
        body.extend_from_slice(&data);
        body.push(1);
        let mut m = format!("8=FIX.4.2\x019={}\x01", body.len()).into_bytes();
        m.extend_from_slice(&body);
        let sum = checksum(&m);
        m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
        m
    }

    fn state(dir: &Path) -> ReconcileState {
        ReconcileState::new(
            Scope::Trades,
            30_000,
            dir,
            FsyncPolicy::Never,
            vec![("eq".into(), "S1".into())],
            vec!["dc".into()],
        )
    }

    fn fill(id: &str, wall: u64) -> ExecCopy {
        ExecCopy::new(0, 525, id.as_bytes(), b"ORD-1", 9, wall)
    }

    #[test]
    fn drop_copy_4_0_a_withheld_copy_is_unmatched_after_the_delay_and_in_the_day_report() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = state(dir.path());
        let mut dc_journal = {
            let p = dir.path().join("dc").join("dropcopy-inbound.journal");
            crate::store::create_dir_private(p.parent().unwrap()).unwrap();
            Journal::open(&p, FsyncPolicy::Never).unwrap().0
        };
        let mut copy = |st: &mut ReconcileState, seq: u64, raw: Vec<u8>, now: u64| {
            dc_journal
                .append(journal::kind::INBOUND, seq, &raw)
                .unwrap();
            st.on_dropcopy(0, &raw, now);
        };
        // Fills 1..=3 on the iLink 3 session; Drop Copy copies 1 and 3 (2 withheld).
        for (k, id) in ["101", "102", "103"].iter().enumerate() {
            st.on_exec(&fill(id, T0 + k as u64 * S), T0 + k as u64 * S);
        }
        // An acknowledgment is journaled but not reconciled in the "trades" scope.
        st.on_exec(&ExecCopy::new(0, 522, b"100", b"ORD-1", 0, T0), T0);
        copy(&mut st, 1, dc_fill(1, "101", '1', Some("S1")), T0 + S);
        copy(&mut st, 2, dc_fill(2, "103", '1', None), T0 + 3 * S);
        // Another firm's session on the same Drop Copy group: not ours, ignored.
        copy(&mut st, 3, dc_fill(3, "555", '1', Some("ZZ9")), T0 + 3 * S);
        // A Drop Copy fill nobody sent on iLink 3.
        copy(&mut st, 4, dc_fill(4, "777", '2', Some("S1F")), T0 + 4 * S);
        assert!(st.tick(T0 + 30 * S).is_empty(), "nothing past 30 s yet");
        assert_eq!(st.reconciler().matched_total(), 2);
        let due = st.tick(T0 + 31 * S);
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].0, due[0].1.exec_id.as_str()), (Side::Ilink3, "102"));
        assert_eq!(st.reconciler().unmatched(Side::Ilink3), 1);
        let due = st.tick(T0 + 34 * S);
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].0, due[0].1.exec_id.as_str()),
            (Side::DropCopy, "777")
        );
        assert_eq!(st.reconciler().unmatched(Side::DropCopy), 1);
        assert!(
            st.tick(T0 + 60 * S).is_empty(),
            "each ExecID is reported once"
        );
        drop(st);

        let r = reconcile_day(
            dir.path(),
            Scope::Trades,
            &[("eq".into(), "S1".into())],
            &["dc".into()],
            "2024-03-15",
        )
        .unwrap();
        assert_eq!(r.matched, 2);
        let ids = |v: &[Pending]| v.iter().map(|p| p.exec_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&r.ilink3_only), ["102"]);
        assert_eq!(ids(&r.dropcopy_only), ["777"]);
        assert_eq!(r.ilink3_only[0].session, "eq");
        // The next day has none of it; a bad date says what it expected.
        let next =
            reconcile_day(dir.path(), Scope::Trades, &[], &["dc".into()], "2024-03-17").unwrap();
        assert!(next.ilink3_only.is_empty() && next.dropcopy_only.is_empty());
        let e = reconcile_day(dir.path(), Scope::Trades, &[], &[], "15/03/2024").unwrap_err();
        assert!(e.to_string().contains("YYYY-MM-DD"), "{e}");
        // "all": the acknowledgment has no copy either.
        let all = reconcile_day(
            dir.path(),
            Scope::All,
            &[("eq".into(), "S1".into())],
            &["dc".into()],
            "2024-03-15",
        )
        .unwrap();
        assert_eq!(ids(&all.ilink3_only), ["100", "102"]);
    }
}
