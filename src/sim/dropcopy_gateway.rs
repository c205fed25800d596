//! CME's end of a Drop Copy 4.0 session (FIX 4.2 acceptor), sans-IO.
//!
//! Two pieces, as on the iLink 3 side:
//! - [`DropCopyRegistry`]: what outlives a TCP connection, per Drop Copy account (a client
//!   SenderCompID): the next sequence number both ways, every business message sent (for
//!   ResendRequest), the bad-logon history and the port-closure flag. Execution reports of the
//!   matching engine are published here ([`DropCopyRegistry::publish_report`]) whether or not a
//!   connection is up; a connection streams them. With a [`DropCopyStore`] the sequence state
//!   and the sent business messages survive a restart of the simulator.
//! - [`DropCopySession`]: one TCP connection. The server feeds it received bytes
//!   ([`DropCopySession::handle_input`]) and the time ([`DropCopySession::handle_timeout`] at
//!   [`DropCopySession::next_deadline`]), sends what [`DropCopySession::poll_transmit`] returns
//!   and logs what [`DropCopySession::poll_event`] returns.
//!
//! Rules (PROTOCOL.md "HMAC (Drop Copy 4.0 / iLink 2 FIX logon)" and "Drop Copy 4.0 session
//! rules"):
//! - The first message must be a Logon within 60 s of connect. The Logon is checked as CME does:
//!   known SenderCompID (49) and TargetCompID (56) `CME`; no OrigSendingTime (122); HeartBtInt
//!   (108) within 5–60 s; EncryptedPasswordMethod (1400) `CME-1-SHA-256`; a known Access Key ID
//!   (355) allowed for the account; and EncryptedPassword (1402) = unpadded base64url
//!   HMAC-SHA256 of the values of tags 34, 49, 50, 52, 57, 108, 142, 369, 1603, 1604, 1605 as
//!   sent, joined by `\n`. A failed Logon is answered with a Logout carrying the reason, and
//!   the connection is closed; the fifth failure of an account within 60 s closes its port
//!   until [`DropCopyRegistry::reopen_port`].
//! - A Logon whose MsgSeqNum is below the expected one gets a Logout with 789
//!   NextExpectedMsgSeqNum (the client logs on again with it); a higher one is adopted.
//! - Business messages are XMLnonFIX (35=n) as CME sends them (the default): 213 holds the FIX
//!   ExecutionReport wrapped in `<RTRF>...</RTRF>`, and the header carries a second 56 (the
//!   source iLink session); or plain ExecutionReports (35=8) when the account is configured so.
//!   Cancel and replace rejects are OrderCancelReject (35=9).
//! - ResendRequest (at most 2500 messages): business messages are resent with PossDupFlag (43=Y)
//!   and OrigSendingTime (122); sequence numbers of admin messages (and numbers that never
//!   carried a message) are covered by SequenceReset-GapFill.
//! - Heartbeat after one interval without sending; TestRequest after an interval (+20 %)
//!   without receiving; Logout and disconnect when it is not answered within an interval.
//! - A client Logout is answered with a Logout.
//! - Trade busts and corrections are ExecutionReports with 150=H / 150=G and 19 ExecRefID;
//!   OrderMassActionReports reach XMLnonFIX accounts through
//!   [`DropCopyRegistry::publish_mass_action`] as a 35=n embedding a FIX 35=BZ.
//! - CME's certification tool sends a TestRequest or a ResendRequest on demand
//!   ([`DropCopySession::send_test_request`], [`DropCopySession::send_resend_request`]).
//!
//! Fault injection: [`DropCopyFaults`] (skip outbound sequence numbers, reject every signature,
//! go silent after logon, drop the connection after K business messages, duplicate every
//! business message as a PossDup copy, a failover sequence jump), and per account
//! [`DropCopyRegistry::withhold_reports`] (execution reports never copied: for reconciliation).

use super::ilink3_gateway::SkipOutbound;
use super::matching::{AffectedOrder, Report, ReportKind};
use crate::auth::{FixSignature, HmacSigner};
use crate::dropcopy::codec::{frame, parse, Encoder, FieldIndex, Frame};
use crate::dropcopy::report::Decimal9;
use crate::dropcopy::time::format_sending_time;
use crate::store::StoreError;
use std::collections::{HashMap, VecDeque};
use std::io::Write as _;

const NS_PER_S: u64 = 1_000_000_000;
/// Largest ResendRequest range served.
pub const MAX_RESEND_RANGE: u64 = 2500;
/// Tags of the Logon canonical, in order.
pub const LOGON_CANONICAL_TAGS: [u32; 11] = [34, 49, 50, 52, 57, 108, 142, 369, 1603, 1604, 1605];
/// Room reserved per encoded message beyond its body.
const HEADER_ROOM: usize = 512;
/// `<RTRF>` + `</RTRF>` around an embedded message.
const RTRF_OVERHEAD: usize = 13;
/// Business bytes streamed per `poll_transmit` call.
const STREAM_BYTES_PER_POLL: usize = 1 << 18;

/// Index of a Drop Copy account in the [`DropCopyRegistry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DcKey(pub u32);

/// A Drop Copy account the gateway accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropCopyAccount {
    /// The client's SenderCompID (49), e.g. `ABC123N`.
    pub sender_comp_id: String,
    /// Firms whose iLink 3 executions this account receives; empty = every firm.
    pub firm_ids: Vec<String>,
    /// Access Key IDs that may sign for it; empty = any known key.
    pub access_key_ids: Vec<String>,
    /// Send reports as XMLnonFIX (35=n) carrying the FIX ExecutionReport in 213 inside
    /// `<RTRF>` (CME's format), rather than as bare 35=8.
    pub xml_non_fix: bool,
}

/// Gateway settings; [`DropCopyGatewayConfig::new`] gives CME's values.
#[derive(Debug, Clone)]
pub struct DropCopyGatewayConfig {
    pub accounts: Vec<DropCopyAccount>,
    /// Access Key ID → the gateway's copy of the secret.
    pub keys: HashMap<String, HmacSigner>,
    /// Accepted HeartBtInt (108), seconds (5..=60).
    pub heartbeat_min_s: u32,
    pub heartbeat_max_s: u32,
    /// A new connection must log on within this (60 s).
    pub logon_within_ns: u64,
    /// Bad logons within `bad_logon_window_ns` that close the port (5 in 60 s).
    pub bad_logon_limit: usize,
    pub bad_logon_window_ns: u64,
    /// Business messages kept per account for ResendRequest (older ones are gap-filled).
    pub retention: usize,
    /// Symbol (55) of a SecurityID; reports of others carry the SecurityID as symbol.
    pub symbols: HashMap<i32, String>,
}

impl DropCopyGatewayConfig {
    pub fn new(accounts: Vec<DropCopyAccount>, keys: HashMap<String, HmacSigner>) -> Self {
        DropCopyGatewayConfig {
            accounts,
            keys,
            heartbeat_min_s: 5,
            heartbeat_max_s: 60,
            logon_within_ns: 60 * NS_PER_S,
            bad_logon_limit: 5,
            bad_logon_window_ns: 60 * NS_PER_S,
            retention: 1 << 20,
            symbols: HashMap::new(),
        }
    }
}

/// A failover on CME's side: after `after` business messages the outbound sequence number
/// jumps by `by` (the client must request the whole range, in chunks of at most 2500).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailoverJump {
    pub after: u64,
    pub by: u64,
}

/// Faults a test or simulator scenario injects into one Drop Copy connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropCopyFaults {
    /// After streaming `after` business messages, skip the next `count` (they stay stored: the
    /// client sees a gap and requests them).
    pub skip_outbound: Option<SkipOutbound>,
    /// Every signature is "wrong".
    pub reject_signatures: bool,
    /// Once logged on, send nothing at all (the client's TestRequest goes unanswered).
    pub silent: bool,
    /// Drop the connection (no Logout) after streaming this many business messages.
    pub disconnect_after_outbound: Option<u64>,
    /// Follow every streamed business message with a PossDup copy (43=Y, 122).
    pub duplicate_poss_dup: bool,
    /// Sequence jump as after a failover.
    pub failover_jump: Option<FailoverJump>,
}

/// One business message as sent (header fields are rebuilt for each connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub seq: u64,
    /// SendingTime of the first send (OrigSendingTime of resends), ns since the epoch.
    pub sent_at: u64,
    /// MsgType (35), one character.
    pub msg_type: u8,
    /// Body fields after the standard header (`tag=value<SOH>`...).
    pub body: Vec<u8>,
}

/// What an account had before a restart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveredAccount {
    /// Next MsgSeqNum the gateway sends (0 = nothing recorded).
    pub next_out: u64,
    /// Next MsgSeqNum expected from the client (0 = nothing recorded).
    pub next_in: u64,
    /// Business messages in sequence order.
    pub messages: Vec<StoredMessage>,
}

/// Where the registry reports state that must survive a restart.
pub trait DropCopyStore: Send {
    fn business(&mut self, account: DcKey, msg: &StoredMessage) -> Result<(), StoreError>;
    fn next_out(&mut self, account: DcKey, next_out: u64) -> Result<(), StoreError>;
    fn next_in(&mut self, account: DcKey, next_in: u64) -> Result<(), StoreError>;
}

#[derive(Debug)]
struct AccountState {
    account: DropCopyAccount,
    next_out: u64,
    next_in: u64,
    log: VecDeque<StoredMessage>,
    bad_logons: VecDeque<u64>,
    port_closed: bool,
    bound: Option<u64>,
    /// Failover jump armed by a connection: business messages still to publish before it.
    jump: Option<(u64, u64)>,
    /// Fault: execution reports to let through before withholding, and how many to withhold.
    withhold: Option<SkipOutbound>,
    /// Execution reports offered to this account so far, and how many were withheld.
    offered: u64,
    withheld: u64,
}

impl AccountState {
    fn find(&self, seq: u64) -> usize {
        self.log.partition_point(|m| m.seq < seq)
    }
}

/// Drop Copy accounts and their state shared by every connection.
pub struct DropCopyRegistry {
    cfg: DropCopyGatewayConfig,
    accounts: Vec<AccountState>,
    by_comp: HashMap<String, DcKey>,
    store: Option<Box<dyn DropCopyStore>>,
    store_error: Option<StoreError>,
    next_conn_id: u64,
    body: Vec<u8>,
    inner: Vec<u8>,
}

impl std::fmt::Debug for DropCopyRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DropCopyRegistry")
            .field("accounts", &self.accounts.len())
            .field("persistent", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl DropCopyRegistry {
    /// An in-memory registry.
    pub fn new(cfg: DropCopyGatewayConfig) -> Self {
        let accounts = cfg
            .accounts
            .iter()
            .map(|a| AccountState {
                account: a.clone(),
                next_out: 1,
                next_in: 1,
                log: VecDeque::new(),
                bad_logons: VecDeque::with_capacity(8),
                port_closed: false,
                bound: None,
                jump: None,
                withhold: None,
                offered: 0,
                withheld: 0,
            })
            .collect();
        let by_comp = cfg
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.sender_comp_id.clone(), DcKey(i as u32)))
            .collect();
        DropCopyRegistry {
            cfg,
            accounts,
            by_comp,
            store: None,
            store_error: None,
            next_conn_id: 1,
            body: Vec::with_capacity(1024),
            inner: Vec::with_capacity(1024),
        }
    }

    /// A registry persisting through `store`, starting from `recovered` (one entry per
    /// configured account, in order; missing entries start fresh).
    pub fn with_store(
        cfg: DropCopyGatewayConfig,
        store: Box<dyn DropCopyStore>,
        recovered: Vec<RecoveredAccount>,
    ) -> Self {
        let mut reg = Self::new(cfg);
        let retention = reg.cfg.retention.max(1);
        for (a, r) in reg.accounts.iter_mut().zip(recovered) {
            let last = r.messages.last().map_or(0, |m| m.seq);
            a.next_out = r.next_out.max(last + 1).max(1);
            a.next_in = r.next_in.max(1);
            let skip = r.messages.len().saturating_sub(retention);
            a.log = r.messages.into_iter().skip(skip).collect();
        }
        reg.store = Some(store);
        reg
    }

    pub fn config(&self) -> &DropCopyGatewayConfig {
        &self.cfg
    }

    /// The account of a SenderCompID.
    pub fn key(&self, sender_comp_id: &str) -> Option<DcKey> {
        self.by_comp.get(sender_comp_id).copied()
    }

    pub fn sender_comp_id(&self, key: DcKey) -> Option<&str> {
        self.acct(key).map(|a| a.account.sender_comp_id.as_str())
    }

    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// (next MsgSeqNum the gateway sends, next MsgSeqNum expected from the client).
    pub fn seq_nums(&self, key: DcKey) -> Option<(u64, u64)> {
        self.acct(key).map(|a| (a.next_out, a.next_in))
    }

    /// Business messages kept for ResendRequest.
    pub fn stored(&self, key: DcKey) -> usize {
        self.acct(key).map_or(0, |a| a.log.len())
    }

    pub fn port_closed(&self, key: DcKey) -> bool {
        self.acct(key).is_some_and(|a| a.port_closed)
    }

    /// Reopens a port closed after repeated bad logons.
    pub fn reopen_port(&mut self, key: DcKey) {
        if let Some(a) = self.acct_mut(key) {
            a.port_closed = false;
            a.bad_logons.clear();
        }
    }

    pub fn is_bound(&self, key: DcKey) -> bool {
        self.acct(key).is_some_and(|a| a.bound.is_some())
    }

    /// The first persistence failure, if any (the registry keeps working in memory).
    pub fn store_error(&self) -> Option<&StoreError> {
        self.store_error.as_ref()
    }

    /// Fault: after `after` execution reports, the next `count` are never copied to this
    /// account (no sequence number is used: the client sees no gap; only a reconciliation
    /// against the iLink 3 sessions finds them missing).
    pub fn withhold_reports(&mut self, key: DcKey, after: u64, count: u32) {
        if let Some(a) = self.acct_mut(key) {
            a.withhold = Some(SkipOutbound { after, count });
        }
    }

    /// Execution reports withheld from the account by [`DropCopyRegistry::withhold_reports`].
    pub fn withheld(&self, key: DcKey) -> u64 {
        self.acct(key).map_or(0, |a| a.withheld)
    }

    /// Publishes an execution report of iLink 3 session `session_id` of `firm_id` to every
    /// account that receives that firm. Returns how many accounts got it.
    pub fn publish_report(
        &mut self,
        firm_id: &str,
        session_id: &str,
        now: u64,
        report: &Report,
    ) -> usize {
        let mut n = 0;
        for i in 0..self.accounts.len() {
            let Some(a) = self.accounts.get(i) else {
                continue;
            };
            if !(a.account.firm_ids.is_empty() || a.account.firm_ids.iter().any(|f| f == firm_id)) {
                continue;
            }
            if let Some(a) = self.accounts.get_mut(i) {
                a.offered += 1;
                if let Some(w) = a.withhold {
                    if a.offered > w.after && a.offered <= w.after + u64::from(w.count) {
                        a.withheld += 1;
                        continue;
                    }
                }
            }
            let Some(a) = self.accounts.get(i) else {
                continue;
            };
            let xml = a.account.xml_non_fix;
            let mut body = std::mem::take(&mut self.body);
            let mut inner = std::mem::take(&mut self.inner);
            body.clear();
            let symbol = self
                .cfg
                .symbols
                .get(&report.security_id)
                .map(String::as_str);
            let mt = report_body(report, firm_id, session_id, symbol, &mut body);
            let published = match mt {
                Some(b'8') if xml => wrap_rtrf(
                    b"8",
                    firm_id,
                    session_id,
                    report.transact_time,
                    &mut body,
                    &mut inner,
                )
                .then_some(b'n'),
                other => other,
            };
            if let Some(mt) = published {
                self.publish(DcKey(i as u32), now, mt, &body);
                n += 1;
            }
            self.body = body;
            self.inner = inner;
        }
        n
    }

    /// Publishes an iLink 3 OrderMassActionReport (562) of session `session_id` of `firm_id`,
    /// with its NoAffectedOrders entries, to every XMLnonFIX account receiving that firm: as
    /// CME copies it, a 35=n whose 213 holds the FIX OrderMassActionReport (35=BZ) in `<RTRF>`.
    /// Returns how many accounts got it.
    pub fn publish_mass_action(
        &mut self,
        firm_id: &str,
        session_id: &str,
        now: u64,
        report: &Report,
        affected: &[AffectedOrder],
    ) -> usize {
        let mut body = std::mem::take(&mut self.body);
        let mut inner = std::mem::take(&mut self.inner);
        let mut n = 0;
        for i in 0..self.accounts.len() {
            let Some(a) = self.accounts.get(i) else {
                continue;
            };
            if !a.account.xml_non_fix
                || !(a.account.firm_ids.is_empty()
                    || a.account.firm_ids.iter().any(|f| f == firm_id))
            {
                continue;
            }
            body.clear();
            if mass_action_body(report, affected, &mut body)
                && wrap_rtrf(
                    b"BZ",
                    firm_id,
                    session_id,
                    report.transact_time,
                    &mut body,
                    &mut inner,
                )
            {
                self.publish(DcKey(i as u32), now, b'n', &body);
                n += 1;
            }
        }
        self.body = body;
        self.inner = inner;
        n
    }

    /// Publishes a business message (`body` = fields after the standard header); returns its
    /// MsgSeqNum.
    pub fn publish(&mut self, key: DcKey, now: u64, msg_type: u8, body: &[u8]) -> Option<u64> {
        let retention = self.cfg.retention.max(1);
        let a = self.accounts.get_mut(key.0 as usize)?;
        if let Some((left, by)) = a.jump {
            if left == 0 {
                a.next_out += by;
                a.jump = None;
                let next = a.next_out;
                self.persist(|s| s.next_out(key, next));
            } else {
                a.jump = Some((left - 1, by));
            }
        }
        let a = self.accounts.get_mut(key.0 as usize)?;
        let msg = StoredMessage {
            seq: a.next_out,
            sent_at: now,
            msg_type,
            body: body.to_vec(),
        };
        a.next_out += 1;
        let seq = msg.seq;
        if let Some(store) = &mut self.store {
            if let Err(e) = store.business(key, &msg) {
                self.store_error.get_or_insert(e);
            }
        }
        a.log.push_back(msg);
        while a.log.len() > retention {
            a.log.pop_front();
        }
        Some(seq)
    }

    // ---- internals used by DropCopySession -----------------------------------------------

    fn acct(&self, key: DcKey) -> Option<&AccountState> {
        self.accounts.get(key.0 as usize)
    }

    fn acct_mut(&mut self, key: DcKey) -> Option<&mut AccountState> {
        self.accounts.get_mut(key.0 as usize)
    }

    fn persist(&mut self, f: impl FnOnce(&mut dyn DropCopyStore) -> Result<(), StoreError>) {
        if let Some(store) = &mut self.store {
            if let Err(e) = f(store.as_mut()) {
                self.store_error.get_or_insert(e);
            }
        }
    }

    /// Takes the next outbound MsgSeqNum for an admin message.
    fn take_admin_seq(&mut self, key: DcKey) -> u64 {
        let Some(a) = self.acct_mut(key) else {
            return 1;
        };
        let seq = a.next_out;
        a.next_out += 1;
        let next = a.next_out;
        self.persist(|s| s.next_out(key, next));
        seq
    }

    fn set_next_in(&mut self, key: DcKey, next_in: u64) {
        let Some(a) = self.acct_mut(key) else {
            return;
        };
        if a.next_in == next_in {
            return;
        }
        a.next_in = next_in;
        self.persist(|s| s.next_in(key, next_in));
    }

    /// Records a bad logon; true when it closes the port.
    fn bad_logon(&mut self, key: DcKey, now: u64) -> bool {
        let limit = self.cfg.bad_logon_limit;
        let window = self.cfg.bad_logon_window_ns;
        let Some(a) = self.acct_mut(key) else {
            return false;
        };
        while a
            .bad_logons
            .front()
            .is_some_and(|&t| now.saturating_sub(t) >= window)
        {
            a.bad_logons.pop_front();
        }
        a.bad_logons.push_back(now);
        if a.bad_logons.len() >= limit && !a.port_closed {
            a.port_closed = true;
            return true;
        }
        false
    }
}

// ---- report → FIX body ------------------------------------------------------------------------

fn put(out: &mut Vec<u8>, tag: u32, value: &[u8]) {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(tag).as_bytes());
    out.push(b'=');
    out.extend(value.iter().map(|&c| if c == 1 { b' ' } else { c }));
    out.push(1);
}

fn put_u64(out: &mut Vec<u8>, tag: u32, v: u64) {
    let mut b = itoa::Buffer::new();
    put(out, tag, b.format(v).as_bytes());
}

fn put_dec9(out: &mut Vec<u8>, tag: u32, v: i64) {
    let mut b = [0u8; 32];
    let mut cur = std::io::Cursor::new(&mut b[..]);
    if write!(cur, "{}", Decimal9(v)).is_ok() {
        let n = usize::try_from(cur.position()).unwrap_or(0);
        put(out, tag, b.get(..n).unwrap_or_default());
    }
}

/// CME's XMLnonFIX form of a business message: `body` (fields after the standard header of a
/// message of type `inner_type` of iLink session `session_id`) becomes a full FIX message,
/// wrapped in the XML element RTRF in 213 XMLData, and `body` is replaced by the 35=n body
/// (the second TargetCompID, the source session, then 212/213). False when it does not encode.
fn wrap_rtrf(
    inner_type: &[u8],
    firm_id: &str,
    session_id: &str,
    transact_time: u64,
    body: &mut Vec<u8>,
    inner: &mut Vec<u8>,
) -> bool {
    inner.clear();
    inner.resize(body.len() + HEADER_ROOM, 0);
    let mut e = Encoder::new(inner, inner_type);
    e.str(49, b"CME")
        .str(56, session_id.as_bytes())
        .str(57, firm_id.as_bytes());
    e.timestamp(52, transact_time);
    e.raw_fields(body);
    match e.finish_compact() {
        Ok(len) => {
            inner.truncate(len);
            body.clear();
            put(body, 56, session_id.as_bytes());
            put_u64(body, 212, (len + RTRF_OVERHEAD) as u64);
            body.extend_from_slice(b"213=<RTRF>");
            body.extend_from_slice(inner);
            body.extend_from_slice(b"</RTRF>");
            body.push(1);
            true
        }
        Err(_) => false,
    }
}

/// Writes the body of the FIX OrderMassActionReport (35=BZ) CME copies to Drop Copy for an
/// iLink 3 OrderMassActionReport (562) `r` with its NoAffectedOrders entries `affected`;
/// false when `r` is not a mass action report.
pub fn mass_action_body(r: &Report, affected: &[AffectedOrder], out: &mut Vec<u8>) -> bool {
    let ReportKind::MassAction {
        accepted,
        reject_reason,
        scope,
        total_affected,
        mass_action_report_id,
        security_filter,
        market_segment,
        security_group,
        last_fragment,
        ..
    } = r.kind
    else {
        return false;
    };
    put_u64(out, 2422, r.order_request_id);
    put_u64(out, 1369, mass_action_report_id);
    put(out, 1373, b"3");
    put_u64(out, 1374, u64::from(scope));
    put(out, 1375, if accepted { b"1" } else { b"0" });
    if let Some(reason) = reject_reason {
        put_u64(out, 1376, u64::from(reason));
    }
    if let Some(seg) = market_segment {
        put_u64(out, 1300, u64::from(seg));
    }
    if let Some(sec) = security_filter {
        let mut b = itoa::Buffer::new();
        put(out, 48, b.format(sec).as_bytes());
    }
    if !security_group.as_bytes().is_empty() {
        put(out, 1151, security_group.as_bytes());
    }
    put_u64(out, 533, u64::from(total_affected));
    if !affected.is_empty() {
        put_u64(out, 534, affected.len() as u64);
        for a in affected {
            put(out, 41, a.cl_ord_id.as_bytes());
            put_u64(out, 84, u64::from(a.cxl_qty));
            put_u64(out, 535, a.order_id);
        }
    }
    put(out, 893, if last_fragment { b"Y" } else { b"N" });
    put(out, 60, &format_sending_time(r.transact_time));
    true
}

/// Writes the body of the Drop Copy message for `r` into `out`; returns its MsgType, or `None`
/// for reports Drop Copy does not carry (mass action reports).
pub fn report_body(
    r: &Report,
    firm_id: &str,
    session_id: &str,
    symbol: Option<&str>,
    out: &mut Vec<u8>,
) -> Option<u8> {
    let order_id = |out: &mut Vec<u8>| {
        if r.order_id == 0 {
            put(out, 37, b"NONE");
        } else {
            put_u64(out, 37, r.order_id);
        }
    };
    match r.kind {
        ReportKind::MassAction { .. }
        | ReportKind::QuoteAck { .. }
        | ReportKind::QuoteCancelAck { .. }
        | ReportKind::SecDef { .. } => None,
        ReportKind::CancelReject { reason, text } | ReportKind::ReplaceReject { reason, text } => {
            order_id(out);
            put(out, 11, r.cl_ord_id.as_bytes());
            put(out, 41, r.cl_ord_id.as_bytes());
            // OrdStatus on a cancel (replace) reject is the constant U, Undefined (CME's Order
            // Cancel Reject pages; OrdStatusCxlRej / OrdStatusCxrRej in the v9 schema).
            put(out, 39, b"U");
            put(out, 1, session_id.as_bytes());
            put(out, 440, firm_id.as_bytes());
            let to = if matches!(r.kind, ReportKind::CancelReject { .. }) {
                b"1"
            } else {
                b"2"
            };
            put(out, 434, to);
            put_u64(out, 102, u64::from(reason));
            put(out, 58, text.as_bytes());
            put(out, 60, &format_sending_time(r.transact_time));
            Some(b'9')
        }
        kind => {
            let (exec_type, status): (u8, u8) = match kind {
                ReportKind::New => (b'0', b'0'),
                ReportKind::Reject { .. } => (b'8', b'8'),
                ReportKind::Trade { .. } if r.leaves_qty == 0 => (b'2', b'2'),
                ReportKind::Trade { .. } => (b'1', b'1'),
                ReportKind::Modify => (b'5', b'5'),
                ReportKind::Addendum { exec_type, .. } if r.leaves_qty == 0 => (exec_type, b'2'),
                ReportKind::Addendum { exec_type, .. } => (exec_type, b'1'),
                // The answer to an order (mass) status request: ExecType I, not a cancel.
                ReportKind::Status { ord_status, .. } => (b'I', ord_status),
                _ => (b'4', b'4'),
            };
            order_id(out);
            put(out, 11, r.cl_ord_id.as_bytes());
            let mut eb = itoa::Buffer::new();
            put(out, 17, eb.format(r.exec_id).as_bytes());
            put(out, 20, b"0");
            put(out, 150, &[exec_type]);
            put(out, 39, &[status]);
            put(out, 1, session_id.as_bytes());
            put(out, 440, firm_id.as_bytes());
            let mut sb = itoa::Buffer::new();
            let sec = sb.format(r.security_id);
            put(out, 48, sec.as_bytes());
            put(out, 22, b"8");
            put(out, 55, symbol.unwrap_or(sec).as_bytes());
            if (1..=9).contains(&r.side) {
                put(out, 54, &[b'0' + r.side]);
            }
            put_u64(out, 38, u64::from(r.order_qty));
            if r.ord_type != 0 {
                put(out, 40, &[r.ord_type]);
            }
            if let Some(p) = r.price {
                put_dec9(out, 44, p);
            }
            if let Some(t) = r.time_in_force.filter(|t| *t <= 9) {
                put(out, 59, &[b'0' + t]);
            }
            match kind {
                ReportKind::Trade {
                    last_px,
                    last_qty,
                    sec_exec_id,
                    aggressor,
                } => {
                    put_u64(out, 32, u64::from(last_qty));
                    put_dec9(out, 31, last_px);
                    put_dec9(out, 6, last_px);
                    put_u64(out, 527, sec_exec_id);
                    put(out, 1057, if aggressor { b"Y" } else { b"N" });
                }
                ReportKind::Addendum {
                    last_px,
                    last_qty,
                    sec_exec_id,
                    orig_sec_exec_id,
                    ..
                } => {
                    // A bust (150=H) or correction (150=G) of trade 19 ExecRefID.
                    put_u64(out, 32, u64::from(last_qty));
                    put_dec9(out, 31, last_px);
                    put_dec9(out, 6, last_px);
                    put_u64(out, 527, sec_exec_id);
                    put_u64(out, 19, orig_sec_exec_id);
                }
                _ => {
                    put(out, 32, b"0");
                    put(out, 31, b"0");
                    put(out, 6, b"0");
                }
            }
            put_u64(out, 14, u64::from(r.cum_qty));
            put_u64(out, 151, u64::from(r.leaves_qty));
            put(out, 60, &format_sending_time(r.transact_time));
            match kind {
                ReportKind::Reject { reason, text } => {
                    put_u64(out, 103, u64::from(reason));
                    put(out, 58, text.as_bytes());
                }
                ReportKind::Cancel { text, .. } if !text.is_empty() => {
                    put(out, 58, text.as_bytes())
                }
                _ => {}
            }
            Some(b'8')
        }
    }
}

// ---- the connection ---------------------------------------------------------------------------

/// Where a Drop Copy connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DcState {
    /// Connected, waiting for the Logon.
    AwaitingLogon,
    LoggedOn,
    /// Done (close after sending what is pending).
    Closed,
}

/// What happened on a Drop Copy connection; drain with [`DropCopySession::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcEvent {
    LoggedOn {
        account: DcKey,
        /// The client's Logon MsgSeqNum.
        client_seq: u64,
        /// MsgSeqNum of the gateway's Logon answer.
        gateway_seq: u64,
        heartbeat_s: u32,
    },
    LogonRejected {
        account: Option<DcKey>,
        reason: &'static str,
    },
    /// Logout with 789 NextExpectedMsgSeqNum: the client's MsgSeqNum was too low.
    SequenceTooLow {
        account: DcKey,
        received: u64,
        next_expected: u64,
    },
    /// Repeated bad logons closed the account's port.
    PortClosed {
        account: DcKey,
    },
    ResendServed {
        account: DcKey,
        from: u64,
        to: u64,
        resent: u64,
        gap_filled: u64,
    },
    ResendRejected {
        account: DcKey,
        from: u64,
        to: u64,
        reason: &'static str,
    },
    TestRequestSent {
        account: DcKey,
    },
    /// A Logout exchange or a forced end.
    LoggedOut {
        account: Option<DcKey>,
        by_client: bool,
        reason: &'static str,
    },
    ProtocolViolation {
        account: Option<DcKey>,
        what: &'static str,
    },
    /// Close the TCP connection (after sending what `poll_transmit` returns).
    Disconnect,
}

/// One Drop Copy connection. See the module documentation.
pub struct DropCopySession {
    id: u64,
    state: DcState,
    key: Option<DcKey>,
    since: u64,
    heartbeat_ns: u64,
    last_sent: u64,
    last_received: u64,
    test_request: Option<u64>,
    test_counter: u64,
    /// `49=CME|56=<client 49>|50=G|57=<client 50>|`
    header: Vec<u8>,
    stream_next: u64,
    streamed: u64,
    skipped: u32,
    /// The Logon answer was handed out (a `silent` fault mutes what follows).
    silence_armed: bool,
    tx: Vec<u8>,
    taken: bool,
    rx: Vec<u8>,
    index: FieldIndex,
    events: VecDeque<DcEvent>,
    faults: DropCopyFaults,
}

impl std::fmt::Debug for DropCopySession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DropCopySession")
            .field("id", &self.id)
            .field("state", &self.state)
            .field("account", &self.key)
            .finish_non_exhaustive()
    }
}

fn header_for(client_comp: &[u8], client_sub: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(64);
    put(&mut h, 49, b"CME");
    put(&mut h, 56, client_comp);
    put(&mut h, 50, b"G");
    if !client_sub.is_empty() {
        put(&mut h, 57, client_sub);
    }
    h
}

/// Why a Logon was refused (text of the Logout; also the summary's reason).
mod why {
    pub const UNKNOWN_COMP_ID: &str = "unknown SenderCompID (49)";
    pub const BAD_TARGET: &str = "TargetCompID (56) must be CME";
    pub const PORT_CLOSED: &str = "port closed after repeated invalid logons";
    pub const ORIG_SENDING_TIME: &str = "Logon must not carry OrigSendingTime (122)";
    pub const HEARTBEAT: &str = "HeartBtInt (108) out of range";
    pub const METHOD: &str = "EncryptedPasswordMethod (1400) must be CME-1-SHA-256";
    pub const MISSING_TAG: &str = "a tag of the signed Logon is missing";
    pub const MISSING_KEY_ID: &str = "Access Key ID (355) missing";
    pub const UNKNOWN_KEY_ID: &str = "unknown Access Key ID (355)";
    pub const KEY_NOT_ALLOWED: &str = "Access Key ID (355) not allowed for this session";
    pub const MISSING_SIGNATURE: &str = "EncryptedPassword (1402) missing";
    pub const BAD_SIGNATURE: &str = "EncryptedPassword (1402) signature invalid";
    pub const ALREADY_LOGGED_ON: &str = "session already logged on";
    pub const NOT_LOGON: &str = "first message must be a Logon";
    pub const BAD_SEQ: &str = "MsgSeqNum (34) missing or invalid";
}

impl DropCopySession {
    /// A new connection accepted at `now`.
    pub fn new(reg: &mut DropCopyRegistry, now: u64) -> Self {
        let id = reg.next_conn_id;
        reg.next_conn_id += 1;
        DropCopySession {
            id,
            state: DcState::AwaitingLogon,
            key: None,
            since: now,
            heartbeat_ns: 30 * NS_PER_S,
            last_sent: now,
            last_received: now,
            test_request: None,
            test_counter: 0,
            header: Vec::new(),
            stream_next: 0,
            streamed: 0,
            skipped: 0,
            silence_armed: false,
            tx: Vec::with_capacity(1 << 16),
            taken: false,
            rx: Vec::with_capacity(1 << 14),
            index: FieldIndex::new(),
            events: VecDeque::with_capacity(16),
            faults: DropCopyFaults::default(),
        }
    }

    pub fn state(&self) -> DcState {
        self.state
    }

    /// The account this connection logged on to.
    pub fn account(&self) -> Option<DcKey> {
        self.key
    }

    pub fn faults(&self) -> &DropCopyFaults {
        &self.faults
    }

    pub fn faults_mut(&mut self) -> &mut DropCopyFaults {
        &mut self.faults
    }

    /// Business messages streamed on this connection (not counting resends and copies).
    pub fn streamed(&self) -> u64 {
        self.streamed
    }

    pub fn poll_event(&mut self) -> Option<DcEvent> {
        self.events.pop_front()
    }

    /// The TCP connection is gone.
    pub fn on_disconnected(&mut self, reg: &mut DropCopyRegistry) {
        self.unbind(reg);
        self.state = DcState::Closed;
        self.rx.clear();
    }

    fn unbind(&mut self, reg: &mut DropCopyRegistry) {
        if let Some(k) = self.key {
            if let Some(a) = reg.acct_mut(k) {
                if a.bound == Some(self.id) {
                    a.bound = None;
                    a.jump = None;
                }
            }
        }
    }

    /// Bytes to send (all pending, concatenated); streams published business messages.
    pub fn poll_transmit(&mut self, reg: &mut DropCopyRegistry) -> Option<&[u8]> {
        self.reclaim();
        if self.state == DcState::LoggedOn {
            self.stream(reg, STREAM_BYTES_PER_POLL);
        }
        if self.faults.silent && self.silence_armed {
            self.tx.clear();
            return None;
        }
        if self.tx.is_empty() {
            return None;
        }
        self.silence_armed = self.state == DcState::LoggedOn;
        self.taken = true;
        Some(&self.tx)
    }

    /// When `handle_timeout` must next be called.
    pub fn next_deadline(&self, reg: &DropCopyRegistry) -> Option<u64> {
        let hb = self.heartbeat_ns;
        match self.state {
            DcState::Closed => None,
            DcState::AwaitingLogon => Some(self.since.saturating_add(reg.cfg.logon_within_ns)),
            DcState::LoggedOn => {
                let probe = match self.test_request {
                    Some(t) => t.saturating_add(hb),
                    None => self.last_received.saturating_add(hb + hb / 5),
                };
                Some(probe.min(self.last_sent.saturating_add(hb)))
            }
        }
    }

    /// Timers: logon timeout, heartbeat, TestRequest, unanswered TestRequest, Logout answer.
    pub fn handle_timeout(&mut self, reg: &mut DropCopyRegistry, now: u64) {
        let hb = self.heartbeat_ns;
        match self.state {
            DcState::Closed => {}
            DcState::AwaitingLogon => {
                if now >= self.since.saturating_add(reg.cfg.logon_within_ns) {
                    self.events.push_back(DcEvent::ProtocolViolation {
                        account: None,
                        what: "no Logon within 60 s",
                    });
                    self.close(reg);
                }
            }
            DcState::LoggedOn => {
                match self.test_request {
                    Some(t) if now >= t.saturating_add(hb) => {
                        self.logout(reg, now, "TestRequest unanswered", None);
                        self.events.push_back(DcEvent::LoggedOut {
                            account: self.key,
                            by_client: false,
                            reason: "TestRequest unanswered",
                        });
                        return self.close(reg);
                    }
                    None if now >= self.last_received.saturating_add(hb + hb / 5) => {
                        self.send_test_request(reg, now);
                    }
                    _ => {}
                }
                if now >= self.last_sent.saturating_add(hb) {
                    self.send_admin(reg, now, b'0', |_| {});
                }
            }
        }
    }

    /// Sends a TestRequest now (as CME's certification tool does on demand); false unless
    /// logged on.
    pub fn send_test_request(&mut self, reg: &mut DropCopyRegistry, now: u64) -> bool {
        if self.state != DcState::LoggedOn {
            return false;
        }
        self.test_counter += 1;
        let mut b = itoa::Buffer::new();
        let mut id = Vec::with_capacity(24);
        id.extend_from_slice(b"SIMTEST");
        id.extend_from_slice(b.format(self.test_counter).as_bytes());
        self.send_admin(reg, now, b'1', |e| {
            e.str(112, &id);
        });
        self.test_request = Some(now);
        if let Some(account) = self.key {
            self.events.push_back(DcEvent::TestRequestSent { account });
        }
        true
    }

    /// Sends a ResendRequest for the client's messages `from..=to` (`to` 0: up to the latest),
    /// as CME's certification tool does on demand; false unless logged on.
    pub fn send_resend_request(
        &mut self,
        reg: &mut DropCopyRegistry,
        now: u64,
        from: u64,
        to: u64,
    ) -> bool {
        if self.state != DcState::LoggedOn {
            return false;
        }
        self.send_admin(reg, now, b'2', |e| {
            e.u64(7, from).u64(16, to);
        });
        true
    }

    /// Feeds received bytes (any split of the stream).
    pub fn handle_input(&mut self, reg: &mut DropCopyRegistry, now: u64, bytes: &[u8]) {
        if self.state == DcState::Closed {
            return;
        }
        let mut rx = std::mem::take(&mut self.rx);
        let mut index = std::mem::replace(&mut self.index, FieldIndex::empty());
        rx.extend_from_slice(bytes);
        let mut off = 0;
        while self.state != DcState::Closed {
            let buf = rx.get(off..).unwrap_or_default();
            match frame(buf) {
                Frame::NeedMore => break,
                Frame::Garbled { skip, .. } => {
                    off += skip.max(1);
                    self.events.push_back(DcEvent::ProtocolViolation {
                        account: self.key,
                        what: "garbled FIX bytes",
                    });
                    if self.state == DcState::AwaitingLogon {
                        self.close(reg);
                    }
                }
                Frame::Complete(n) => {
                    let raw = buf.get(..n).unwrap_or_default();
                    off += n;
                    self.on_message(reg, now, raw, &mut index);
                }
            }
        }
        if self.state == DcState::Closed {
            rx.clear();
        } else {
            rx.drain(..off.min(rx.len()));
        }
        self.rx = rx;
        self.index = index;
    }

    // ---- internals ------------------------------------------------------------------------

    fn reclaim(&mut self) {
        if self.taken {
            self.tx.clear();
            self.taken = false;
        }
    }

    fn close(&mut self, reg: &mut DropCopyRegistry) {
        if self.state == DcState::Closed {
            return;
        }
        self.unbind(reg);
        self.state = DcState::Closed;
        self.events.push_back(DcEvent::Disconnect);
    }

    /// Encodes one message at the end of `tx`.
    fn write(
        &mut self,
        msg_type: u8,
        seq: u64,
        now: u64,
        room: usize,
        body: impl FnOnce(&mut Encoder<'_>),
    ) {
        self.reclaim();
        let old = self.tx.len();
        self.tx.resize(old + room + HEADER_ROOM, 0);
        let dst = self.tx.get_mut(old..).unwrap_or_default();
        let mut e = Encoder::new(dst, &[msg_type]);
        e.raw_fields(&self.header).u64(34, seq);
        e.timestamp(52, now);
        body(&mut e);
        match e.finish_compact() {
            Ok(n) => self.tx.truncate(old + n),
            Err(_) => self.tx.truncate(old),
        }
        self.last_sent = now;
    }

    /// An admin message with the account's next MsgSeqNum (pending business messages first, so
    /// the wire stays in sequence order).
    fn send_admin(
        &mut self,
        reg: &mut DropCopyRegistry,
        now: u64,
        msg_type: u8,
        body: impl FnOnce(&mut Encoder<'_>),
    ) {
        if self.state == DcState::LoggedOn {
            self.stream(reg, usize::MAX);
        }
        let seq = match self.key {
            Some(k) => reg.take_admin_seq(k),
            None => 1,
        };
        self.write(msg_type, seq, now, 512, body);
    }

    fn logout(
        &mut self,
        reg: &mut DropCopyRegistry,
        now: u64,
        text: &str,
        next_expected: Option<u64>,
    ) {
        self.send_admin(reg, now, b'5', |e| {
            if let Some(n) = next_expected {
                e.u64(789, n);
            }
            e.str(58, text.as_bytes());
        });
    }

    /// A stored business message, as first sent (`resend` = false) or as a PossDup copy.
    fn write_business(&mut self, m: &StoredMessage, now: u64, resend: bool) {
        let sent = if resend { now } else { m.sent_at };
        self.write(m.msg_type, m.seq, sent, m.body.len() + 64, |e| {
            if resend {
                e.char(43, b'Y');
                e.timestamp(122, m.sent_at);
            }
            e.raw_fields(&m.body);
        });
    }

    /// Streams published business messages (at most about `budget` bytes).
    fn stream(&mut self, reg: &mut DropCopyRegistry, budget: usize) {
        let Some(k) = self.key else {
            return;
        };
        let Some(a) = reg.acct(k) else {
            return;
        };
        if self.stream_next >= a.next_out {
            return;
        }
        let start_len = self.tx.len();
        let mut i = a.find(self.stream_next);
        let mut drop_now = false;
        while let Some(m) = a.log.get(i) {
            if self.tx.len().saturating_sub(start_len) >= budget {
                break;
            }
            i += 1;
            self.stream_next = m.seq + 1;
            if let Some(s) = self.faults.skip_outbound {
                if self.streamed == s.after && self.skipped < s.count {
                    self.skipped += 1;
                    continue;
                }
            }
            self.reclaim();
            self.write_business(m, m.sent_at, false);
            if self.faults.duplicate_poss_dup {
                self.write_business(m, m.sent_at, true);
            }
            self.streamed += 1;
            if self
                .faults
                .disconnect_after_outbound
                .is_some_and(|n| self.streamed >= n)
            {
                drop_now = true;
                break;
            }
        }
        if i >= a.log.len() {
            self.stream_next = a.next_out;
        }
        if drop_now {
            self.events.push_back(DcEvent::ProtocolViolation {
                account: self.key,
                what: "fault: connection dropped after K business messages",
            });
            self.close(reg);
        }
    }

    fn on_message(
        &mut self,
        reg: &mut DropCopyRegistry,
        now: u64,
        raw: &[u8],
        index: &mut FieldIndex,
    ) {
        let msg = match parse(raw, index) {
            Ok(m) => m,
            Err(_) => {
                self.events.push_back(DcEvent::ProtocolViolation {
                    account: self.key,
                    what: "FIX message failed validation (checksum, length or fields)",
                });
                if self.state == DcState::AwaitingLogon {
                    self.close(reg);
                }
                return;
            }
        };
        self.last_received = now;
        self.test_request = None;
        let seq = match msg.seq_num() {
            Ok(s) if s > 0 => s,
            _ => {
                self.events.push_back(DcEvent::ProtocolViolation {
                    account: self.key,
                    what: why::BAD_SEQ,
                });
                if self.state == DcState::AwaitingLogon {
                    self.close(reg);
                }
                return;
            }
        };
        let mt = msg.msg_type();
        if self.state == DcState::AwaitingLogon {
            if mt != b"A" {
                self.events.push_back(DcEvent::ProtocolViolation {
                    account: None,
                    what: why::NOT_LOGON,
                });
                return self.close(reg);
            }
            return self.on_logon(reg, now, &msg, seq);
        }
        let comp_ok = self
            .key
            .and_then(|k| reg.sender_comp_id(k))
            .is_some_and(|c| msg.get(49) == Some(c.as_bytes()))
            && msg.get(56) == Some(b"CME");
        if !comp_ok {
            self.events.push_back(DcEvent::ProtocolViolation {
                account: self.key,
                what: "CompID (49/56) does not match the session",
            });
            self.logout(reg, now, "CompID problem", None);
            return self.close(reg);
        }
        let Some(key) = self.key else {
            return self.close(reg);
        };
        let expected = reg.acct(key).map_or(1, |a| a.next_in);
        let gap_fill = mt == b"4" && msg.flag(123);
        if mt == b"4" && !gap_fill {
            // SequenceReset-Reset: applies whatever its MsgSeqNum.
            if let Ok(new) = msg.get_u64(36) {
                if new > expected {
                    reg.set_next_in(key, new);
                }
            }
            return;
        }
        if seq < expected {
            if msg.poss_dup() {
                return;
            }
            self.events.push_back(DcEvent::ProtocolViolation {
                account: Some(key),
                what: "MsgSeqNum too low without PossDupFlag",
            });
            let text = format!("MsgSeqNum too low, expecting {expected} but received {seq}");
            self.logout(reg, now, &text, None);
            return self.close(reg);
        }
        if seq > expected {
            self.events.push_back(DcEvent::ProtocolViolation {
                account: Some(key),
                what: "MsgSeqNum gap from the client (adopted)",
            });
        }
        reg.set_next_in(key, seq + 1);
        match mt {
            b"0" | b"3" => {}
            b"1" => {
                let id = msg.get(112).unwrap_or_default().to_vec();
                self.send_admin(reg, now, b'0', |e| {
                    e.str(112, &id);
                });
            }
            b"2" => self.on_resend_request(reg, now, &msg),
            b"4" => {
                if let Ok(new) = msg.get_u64(36) {
                    if new > seq + 1 {
                        reg.set_next_in(key, new);
                    }
                }
            }
            b"5" => {
                if self.state == DcState::LoggedOn {
                    self.logout(reg, now, "Logout acknowledged", None);
                }
                self.events.push_back(DcEvent::LoggedOut {
                    account: Some(key),
                    by_client: true,
                    reason: "client Logout",
                });
                self.close(reg);
            }
            b"A" => {
                self.events.push_back(DcEvent::ProtocolViolation {
                    account: Some(key),
                    what: "Logon on a logged-on session",
                });
                self.logout(reg, now, "already logged on", None);
                self.close(reg);
            }
            _ => {
                self.events.push_back(DcEvent::ProtocolViolation {
                    account: Some(key),
                    what: "unsupported MsgType from a Drop Copy client",
                });
                let t = mt.to_vec();
                self.send_admin(reg, now, b'3', |e| {
                    e.u64(45, seq).str(372, &t).u64(373, 11);
                    e.str(58, b"unsupported MsgType on Drop Copy");
                });
            }
        }
    }

    fn on_logon(
        &mut self,
        reg: &mut DropCopyRegistry,
        now: u64,
        msg: &crate::dropcopy::codec::Message<'_, '_>,
        seq: u64,
    ) {
        let comp = msg.get(49).unwrap_or_default();
        let sub = msg.get(50).unwrap_or_default();
        self.header = header_for(comp, sub);
        let key = std::str::from_utf8(comp).ok().and_then(|c| reg.key(c));
        let Some(key) = key else {
            return self.reject_logon(reg, now, None, why::UNKNOWN_COMP_ID);
        };
        self.key = Some(key);
        if reg.port_closed(key) {
            return self.reject_logon(reg, now, Some(key), why::PORT_CLOSED);
        }
        if let Some(reason) = self.check_logon(reg, key, msg) {
            return self.reject_logon(reg, now, Some(key), reason);
        }
        if reg.is_bound(key) {
            self.events.push_back(DcEvent::LogonRejected {
                account: Some(key),
                reason: why::ALREADY_LOGGED_ON,
            });
            self.write(b'5', 1, now, 64, |e| {
                e.str(58, why::ALREADY_LOGGED_ON.as_bytes());
            });
            self.key = None;
            return self.close(reg);
        }
        let expected = reg.acct(key).map_or(1, |a| a.next_in);
        if seq < expected {
            self.events.push_back(DcEvent::SequenceTooLow {
                account: key,
                received: seq,
                next_expected: expected,
            });
            let text = format!("MsgSeqNum too low, expecting {expected} but received {seq}");
            self.logout(reg, now, &text, Some(expected));
            self.key = None;
            return self.close(reg);
        }
        let hb_s = msg.get_u64(108).unwrap_or(30);
        self.heartbeat_ns = hb_s.saturating_mul(NS_PER_S);
        reg.set_next_in(key, seq + 1);
        let id = self.id;
        let jump = self.faults.failover_jump;
        if let Some(a) = reg.acct_mut(key) {
            a.bound = Some(id);
            a.jump = jump.map(|j| (j.after, j.by));
            self.stream_next = a.next_out;
        }
        self.state = DcState::LoggedOn;
        let gateway_seq = reg.acct(key).map_or(1, |a| a.next_out);
        self.send_admin(reg, now, b'A', |e| {
            e.u64(98, 0).u64(108, hb_s);
        });
        self.stream_next = self.stream_next.max(gateway_seq + 1);
        self.events.push_back(DcEvent::LoggedOn {
            account: key,
            client_seq: seq,
            gateway_seq,
            heartbeat_s: u32::try_from(hb_s).unwrap_or(u32::MAX),
        });
    }

    /// Every Logon rule but the sequence number; `Some(reason)` when it fails.
    fn check_logon(
        &self,
        reg: &DropCopyRegistry,
        key: DcKey,
        msg: &crate::dropcopy::codec::Message<'_, '_>,
    ) -> Option<&'static str> {
        let cfg = &reg.cfg;
        if msg.get(56) != Some(b"CME") {
            return Some(why::BAD_TARGET);
        }
        if msg.get(122).is_some() {
            return Some(why::ORIG_SENDING_TIME);
        }
        match msg.get_u64(108) {
            Ok(hb)
                if hb >= u64::from(cfg.heartbeat_min_s) && hb <= u64::from(cfg.heartbeat_max_s) => {
            }
            _ => return Some(why::HEARTBEAT),
        }
        if msg.get(1400) != Some(b"CME-1-SHA-256") {
            return Some(why::METHOD);
        }
        let Some(key_id) = msg.get(355) else {
            return Some(why::MISSING_KEY_ID);
        };
        let key_id = std::str::from_utf8(key_id).unwrap_or_default();
        let Some(signer) = cfg.keys.get(key_id) else {
            return Some(why::UNKNOWN_KEY_ID);
        };
        let allowed = reg.acct(key).is_some_and(|a| {
            a.account.access_key_ids.is_empty()
                || a.account.access_key_ids.iter().any(|k| k == key_id)
        });
        if !allowed {
            return Some(why::KEY_NOT_ALLOWED);
        }
        let Some(sig) = msg.get(1402) else {
            return Some(why::MISSING_SIGNATURE);
        };
        let mut canonical = Vec::with_capacity(160);
        for (i, tag) in LOGON_CANONICAL_TAGS.iter().enumerate() {
            let Some(v) = msg.get(*tag) else {
                return Some(why::MISSING_TAG);
            };
            if i > 0 {
                canonical.push(b'\n');
            }
            canonical.extend_from_slice(v);
        }
        let expected = FixSignature::from_mac(&signer.sign_bytes(&canonical));
        if self.faults.reject_signatures || expected.as_bytes() != sig {
            return Some(why::BAD_SIGNATURE);
        }
        None
    }

    fn reject_logon(
        &mut self,
        reg: &mut DropCopyRegistry,
        now: u64,
        key: Option<DcKey>,
        reason: &'static str,
    ) {
        self.events.push_back(DcEvent::LogonRejected {
            account: key,
            reason,
        });
        if let Some(k) = key {
            if reason != why::PORT_CLOSED && reg.bad_logon(k, now) {
                self.events.push_back(DcEvent::PortClosed { account: k });
            }
        }
        // The Logout takes the account's next MsgSeqNum, as the client counts it.
        self.send_admin(reg, now, b'5', |e| {
            e.str(58, reason.as_bytes());
        });
        self.key = None;
        self.close(reg);
    }

    fn on_resend_request(
        &mut self,
        reg: &mut DropCopyRegistry,
        now: u64,
        msg: &crate::dropcopy::codec::Message<'_, '_>,
    ) {
        let Some(key) = self.key else {
            return;
        };
        // Everything published so far goes first: the resend then covers it.
        self.stream(reg, usize::MAX);
        let next_out = reg.acct(key).map_or(1, |a| a.next_out);
        let (Ok(begin), Ok(end)) = (msg.get_u64(7), msg.get_u64(16)) else {
            return self.resend_reject(reg, now, key, 0, 0, "BeginSeqNo/EndSeqNo missing");
        };
        let last = next_out.saturating_sub(1);
        let end = if end == 0 || end > last { last } else { end };
        if begin == 0 || begin > end {
            return self.resend_reject(reg, now, key, begin, end, "range outside what was sent");
        }
        if end - begin + 1 > MAX_RESEND_RANGE {
            return self.resend_reject(reg, now, key, begin, end, "range exceeds 2500 messages");
        }
        let (mut resent, mut gap_filled) = (0u64, 0u64);
        let mut at = begin;
        let Some(a) = reg.acct(key) else {
            return;
        };
        let mut i = a.find(begin);
        while let Some(m) = a.log.get(i) {
            if m.seq > end {
                break;
            }
            if m.seq > at {
                self.gap_fill(at, m.seq, now);
                gap_filled += m.seq - at;
            }
            self.write_business(m, now, true);
            resent += 1;
            at = m.seq + 1;
            i += 1;
        }
        if at <= end {
            self.gap_fill(at, end + 1, now);
            gap_filled += end + 1 - at;
        }
        self.events.push_back(DcEvent::ResendServed {
            account: key,
            from: begin,
            to: end,
            resent,
            gap_filled,
        });
    }

    fn gap_fill(&mut self, seq: u64, new_seq: u64, now: u64) {
        self.write(b'4', seq, now, 64, |e| {
            e.char(43, b'Y');
            e.timestamp(122, now);
            e.char(123, b'Y').u64(36, new_seq);
        });
    }

    fn resend_reject(
        &mut self,
        reg: &mut DropCopyRegistry,
        now: u64,
        key: DcKey,
        from: u64,
        to: u64,
        reason: &'static str,
    ) {
        self.events.push_back(DcEvent::ResendRejected {
            account: key,
            from,
            to,
            reason,
        });
        let ref_seq = reg.acct(key).map_or(0, |a| a.next_in.saturating_sub(1));
        self.send_admin(reg, now, b'3', |e| {
            e.u64(45, ref_seq).str(372, b"2").u64(373, 5);
            e.str(58, reason.as_bytes());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::decode_secret;
    use crate::dropcopy::{ReportParser, ReportSource};
    use crate::sim::FixedText;

    const KEY_ID: &str = "AKIDPUBLICVECTOR0001";
    const T0: u64 = 1_795_010_400_000_000_000;

    fn registry(xml: bool) -> DropCopyRegistry {
        let key = decode_secret("2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4").unwrap();
        let mut keys = HashMap::new();
        keys.insert(KEY_ID.to_string(), HmacSigner::new(key.expose()));
        DropCopyRegistry::new(DropCopyGatewayConfig::new(
            vec![DropCopyAccount {
                sender_comp_id: "B08004N".into(),
                firm_ids: vec!["001".into()],
                access_key_ids: vec![KEY_ID.into()],
                xml_non_fix: xml,
            }],
            keys,
        ))
    }

    /// PROTOCOL.md's first public vector as a Logon (`sig` = tag 1402).
    fn vector_logon(sig: &str) -> Vec<u8> {
        let mut buf = vec![0u8; 1024];
        let mut e = Encoder::new(&mut buf, b"A");
        e.str(49, b"B08004N")
            .str(56, b"CME")
            .str(50, b"MSG")
            .str(57, b"92")
            .str(142, b"US,NY")
            .u64(34, 1)
            .str(52, b"20170623-14:48:42.855")
            .u64(369, 0)
            .u64(98, 0)
            .u64(108, 60)
            .raw_data(354, 355, KEY_ID.as_bytes())
            .str(1400, b"CME-1-SHA-256")
            .raw_data(1401, 1402, sig.as_bytes())
            .str(1603, b"BRIO")
            .str(1604, b"8.0")
            .str(1605, b"ABC");
        let n = e.finish_compact().unwrap();
        buf.truncate(n);
        buf
    }

    fn events(s: &mut DropCopySession) -> Vec<DcEvent> {
        std::iter::from_fn(|| s.poll_event()).collect()
    }

    /// (MsgType, MsgSeqNum, PossDup, NewSeqNo) of every message in `bytes`.
    fn messages(bytes: &[u8]) -> Vec<(u8, u64, bool, Option<u64>)> {
        let mut out = Vec::new();
        let mut idx = FieldIndex::new();
        let mut off = 0;
        while let Some(Frame::Complete(n)) = bytes.get(off..).map(frame) {
            let m = parse(&bytes[off..off + n], &mut idx).unwrap();
            out.push((
                m.msg_type()[0],
                m.seq_num().unwrap(),
                m.poss_dup(),
                m.opt_u64(36).unwrap(),
            ));
            off += n;
        }
        out
    }

    fn report(exec_id: u64, kind: ReportKind, leaves: u32) -> Report {
        Report {
            kind,
            cl_ord_id: FixedText::new(b"ORDER-1"),
            sender_id: FixedText::new(b"TRADER"),
            location: FixedText::new(b"US,IL"),
            party_details_list_req_id: 0,
            order_id: 77,
            order_request_id: 1,
            security_id: 42,
            side: 1,
            price: Some(4_500_250_000_000),
            order_qty: 2,
            cum_qty: 2 - leaves,
            leaves_qty: leaves,
            ord_type: b'2',
            time_in_force: Some(0),
            exec_id,
            transact_time: T0,
            stop_px: None,
            min_qty: 0,
            expire_date: None,
        }
    }

    #[test]
    fn the_public_vector_logs_on_and_a_changed_signature_does_not() {
        let mut reg = registry(false);
        let mut s = DropCopySession::new(&mut reg, T0);
        s.handle_input(
            &mut reg,
            T0,
            &vector_logon("oHZ2Dx1ihFAp7kHOFcJPkijm27xfApJFp-ZhsSCxr3s"),
        );
        let ev = events(&mut s);
        assert!(
            matches!(
                ev.first(),
                Some(DcEvent::LoggedOn {
                    client_seq: 1,
                    gateway_seq: 1,
                    heartbeat_s: 60,
                    ..
                })
            ),
            "{ev:?}"
        );
        let out = s.poll_transmit(&mut reg).unwrap().to_vec();
        assert_eq!(messages(&out), vec![(b'A', 1, false, None)]);

        let mut reg = registry(false);
        let mut s = DropCopySession::new(&mut reg, T0);
        s.handle_input(
            &mut reg,
            T0,
            &vector_logon("oHZ2Dx1ihFAp7kHOFcJPkijm27xfApJFp-ZhsSCxr3t"),
        );
        let ev = events(&mut s);
        assert_eq!(
            ev.first(),
            Some(&DcEvent::LogonRejected {
                account: Some(DcKey(0)),
                reason: why::BAD_SIGNATURE
            })
        );
        assert_eq!(ev.last(), Some(&DcEvent::Disconnect));
        assert_eq!(s.state(), DcState::Closed);
        let out = s.poll_transmit(&mut reg).unwrap().to_vec();
        assert_eq!(messages(&out), vec![(b'5', 1, false, None)]);
    }

    #[test]
    fn reports_sent_while_away_are_resent_with_gap_fills_for_admin_numbers() {
        let mut reg = registry(false);
        // Two reports while nobody is logged on: MsgSeqNum 1 and 2.
        for id in 1..=2 {
            reg.publish_report("001", "DMO", T0, &report(id, ReportKind::New, 2));
        }
        assert_eq!(
            reg.publish_report("002", "XYZ", T0, &report(9, ReportKind::New, 2)),
            0
        );
        let mut s = DropCopySession::new(&mut reg, T0);
        s.handle_input(
            &mut reg,
            T0,
            &vector_logon("oHZ2Dx1ihFAp7kHOFcJPkijm27xfApJFp-ZhsSCxr3s"),
        );
        assert_eq!(
            messages(s.poll_transmit(&mut reg).unwrap()),
            vec![(b'A', 3, false, None)]
        );
        let mut buf = vec![0u8; 512];
        let mut e = Encoder::new(&mut buf, b"2");
        e.str(49, b"B08004N")
            .str(56, b"CME")
            .u64(34, 2)
            .str(52, b"20170623-14:48:43.000")
            .u64(7, 1)
            .u64(16, 0);
        let n = e.finish_compact().unwrap();
        s.handle_input(&mut reg, T0 + NS_PER_S, &buf[..n]);
        let out = s.poll_transmit(&mut reg).unwrap().to_vec();
        // 1 and 2 resent with PossDup; 3 (the Logon) gap-filled to 4.
        assert_eq!(
            messages(&out),
            vec![
                (b'8', 1, true, None),
                (b'8', 2, true, None),
                (b'4', 3, true, Some(4))
            ]
        );
        assert!(events(&mut s).contains(&DcEvent::ResendServed {
            account: DcKey(0),
            from: 1,
            to: 3,
            resent: 2,
            gap_filled: 1
        }));
    }

    #[test]
    fn a_withheld_report_uses_no_sequence_number() {
        let mut reg = registry(true);
        let key = reg.key("B08004N").unwrap();
        reg.withhold_reports(key, 1, 1);
        let ack = ReportKind::New;
        for id in 1..=3 {
            reg.publish_report("001", "DMO", T0, &report(id, ack, 1));
        }
        assert_eq!(reg.withheld(key), 1);
        assert_eq!(reg.stored(key), 2);
        let mut p = ReportParser::new();
        let ids: Vec<(u64, String)> = reg
            .acct(key)
            .unwrap()
            .log
            .iter()
            .map(|m| {
                let mut buf = vec![0u8; m.body.len() + 256];
                let mut enc = Encoder::new(&mut buf, &[m.msg_type]);
                enc.str(49, b"CME")
                    .str(56, b"B08004N")
                    .u64(34, m.seq)
                    .timestamp(52, T0);
                enc.raw_fields(&m.body);
                let n = enc.finish_compact().unwrap();
                let r = p.parse(&buf[..n]).unwrap();
                (m.seq, r.exec_id.unwrap().to_string())
            })
            .collect();
        assert_eq!(ids, [(1, "1".to_string()), (2, "3".to_string())]);
    }

    #[test]
    fn report_bodies_parse_as_execution_reports_and_as_xml_non_fix() {
        for xml in [false, true] {
            let mut reg = registry(xml);
            let trade = ReportKind::Trade {
                last_px: 4_500_250_000_000,
                last_qty: 2,
                sec_exec_id: 5,
                aggressor: true,
            };
            reg.publish_report("001", "DMO", T0, &report(3, trade, 0));
            let mut s = DropCopySession::new(&mut reg, T0);
            s.handle_input(
                &mut reg,
                T0,
                &vector_logon("oHZ2Dx1ihFAp7kHOFcJPkijm27xfApJFp-ZhsSCxr3s"),
            );
            let _ = s.poll_transmit(&mut reg);
            reg.publish_report("001", "DMO", T0, &report(4, trade, 0));
            let out = s.poll_transmit(&mut reg).unwrap().to_vec();
            let mut p = ReportParser::new();
            let r = p.parse(&out).unwrap();
            assert_eq!(r.seq_num, 3);
            let want = if xml {
                ReportSource::XmlNonFix {
                    inner_msg_type: crate::dropcopy::MsgType::EXECUTION_REPORT,
                }
            } else {
                ReportSource::ExecutionReport
            };
            assert_eq!(r.source, want);
            assert_eq!((r.exec_type, r.ord_status), (Some(b'2'), Some(b'2')));
            assert_eq!(r.exec_id, Some("4"));
            assert_eq!(r.order_id, Some("77"));
            assert_eq!(r.last_px.map(|d| d.0), Some(4_500_250_000_000));
            assert_eq!(r.leaves_qty.map(|d| d.0), Some(0));
        }
    }

    /// The body of the first message of type `mt` published to account 0.
    fn published(reg: &DropCopyRegistry, mt: u8) -> Vec<u8> {
        let a = reg.acct(DcKey(0)).unwrap();
        a.log
            .iter()
            .find(|m| m.msg_type == mt)
            .unwrap()
            .body
            .clone()
    }

    #[test]
    fn mass_action_reports_are_copied_as_an_embedded_order_mass_action_report() {
        let mut reg = registry(true);
        let mut r = report(9, ReportKind::New, 0);
        r.kind = ReportKind::MassAction {
            accepted: true,
            reject_reason: None,
            scope: 9,
            total_affected: 1,
            mass_action_report_id: 31,
            security_filter: None,
            side_filter: None,
            market_segment: Some(99),
            security_group: FixedText::new(b""),
            ord_type_filter: None,
            tif_filter: None,
            last_fragment: true,
            affected_start: 0,
            affected_count: 1,
        };
        let affected = [AffectedOrder {
            cl_ord_id: FixedText::new(b"ORDER-1"),
            order_id: 77,
            cxl_qty: 2,
        }];
        // Drop Copy does not carry it as an execution report...
        assert_eq!(reg.publish_report("001", "DMO", T0, &r), 0);
        // ... but as CME's 35=n embedding a FIX OrderMassActionReport.
        assert_eq!(reg.publish_mass_action("001", "DMO", T0, &r, &affected), 1);
        let body = String::from_utf8(published(&reg, b'n'))
            .unwrap()
            .replace('\x01', "|");
        assert!(body.starts_with("56=DMO|212="), "{body}");
        assert!(body.contains("|213=<RTRF>8=FIX.4.2|"), "{body}");
        assert!(body.contains("|35=BZ|49=CME|56=DMO|57=001|"), "{body}");
        assert!(
            body.contains(
                "|1373=3|1374=9|1375=1|1300=99|533=1|534=1|41=ORDER-1|84=2|535=77|893=Y|"
            ),
            "{body}"
        );
        // Not for accounts taking bare 35=8.
        let mut bare = registry(false);
        assert_eq!(bare.publish_mass_action("001", "DMO", T0, &r, &affected), 0);
    }

    #[test]
    fn trade_busts_and_corrections_are_copied_with_their_exec_type() {
        for (exec_type, px) in [(b'H', 4_500_250_000_000), (b'G', 4_500_500_000_000)] {
            let mut reg = registry(false);
            let addendum = ReportKind::Addendum {
                template: 548,
                exec_type,
                last_px: px,
                last_qty: 2,
                sec_exec_id: 6,
                orig_sec_exec_id: 5,
            };
            reg.publish_report("001", "DMO", T0, &report(4, addendum, 0));
            let body = String::from_utf8(published(&reg, b'8'))
                .unwrap()
                .replace('\x01', "|");
            let want = format!("|150={}|39=2|", char::from(exec_type));
            assert!(body.contains(&want), "{body}");
            assert!(body.contains("|527=6|19=5|"), "{body}");
            let px = if exec_type == b'H' {
                "4500.25"
            } else {
                "4500.5"
            };
            assert!(body.contains(&format!("|31={px}|")), "{body}");
        }
    }

    #[test]
    fn state_survives_a_restart_through_the_file_store() {
        use crate::sim::dropcopy_store::DropCopyFileStore;
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            let (store, rec) =
                DropCopyFileStore::open(dir.path(), crate::types::FsyncPolicy::Never, &["B08004N"])
                    .unwrap();
            let cfg = registry(false).config().clone();
            DropCopyRegistry::with_store(cfg, Box::new(store), rec)
        };
        let mut reg = open();
        reg.publish_report("001", "DMO", T0, &report(1, ReportKind::New, 2));
        let mut s = DropCopySession::new(&mut reg, T0);
        s.handle_input(
            &mut reg,
            T0,
            &vector_logon("oHZ2Dx1ihFAp7kHOFcJPkijm27xfApJFp-ZhsSCxr3s"),
        );
        assert_eq!(reg.seq_nums(DcKey(0)), Some((3, 2)));
        drop(s);
        drop(reg);
        let reg = open();
        assert_eq!(reg.seq_nums(DcKey(0)), Some((3, 2)));
        assert_eq!(reg.stored(DcKey(0)), 1);
    }
}
