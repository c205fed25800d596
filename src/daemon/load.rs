//! `ilinkd load`: a strategy process (through [`crate::client`]) that sends a paced mix of new
//! orders, replaces and cancels, some crossing so that they fill, and checks that every request
//! gets its answer and every order reaches a terminal state.
//!
//! The mix repeats a 5-request pattern at `rate` requests per second:
//! - a buy resting 10 ticks below the base price, then a replace (qty 2 → 3, one tick up), then
//!   a cancel: Ack, Replaced, Cancelled;
//! - a sell at the base price, then a buy at the base price: each is acknowledged and filled
//!   (each sell is sent before its buy on the same session, so every buy finds a resting sell,
//!   whichever strategies share the book);
//! - a leftover single request is an immediate-or-cancel buy far below the market: Ack, then
//!   Cancelled.
//!
//! A request is answered by the event carrying its request id (ack, reject, replaced, cancelled,
//! cancel reject, not applied); an order is finished by a fill with nothing left, a cancel or a
//! reject. The latency summary is strategy enqueue → event dequeue (both stamped in this
//! process) over every event that echoes a request's enqueue time.

use crate::client::{
    now_ns, Client, ClientError, Event, EventKind, LinkStatus, OrdType, Order, Side, TimeInForce,
};
use crate::runtime::idle::{IdleStrategy, Idler};
use hdrhistogram::Histogram;
use nohash_hasher::{IntMap, IntSet};
use rustix::event::{PollFd, PollFlags, Timespec};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Events read back to back before the pacing loop looks at the clock again.
const EVENT_BURST: u32 = 64;

/// What to send.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The strategy's segment (a bare name means `/dev/shm/ilinkd-strategy-<name>`).
    pub segment: PathBuf,
    /// Requests to send.
    pub orders: u64,
    /// Requests per second.
    pub rate: u64,
    /// Strategy session index.
    pub session: u16,
    pub security_id: i32,
    /// Tick size (price mantissa, exponent -9).
    pub tick: i64,
    /// The crossing price (mantissa).
    pub base_price: i64,
    /// How long to wait for the session to come up, and for the last answers.
    pub timeout: Duration,
}

/// What happened.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub sent_new: u64,
    pub sent_replace: u64,
    pub sent_cancel: u64,
    /// Times the request ring was full (the request was retried).
    pub ring_full: u64,
    pub events: HashMap<&'static str, u64>,
    pub rejects_by_reason: HashMap<String, u64>,
    pub unanswered_requests: u64,
    pub unfinished_orders: u64,
    /// Events delivered twice: an answer to a request already answered, a fill whose
    /// cumulative quantity does not grow, a second terminal event for an order.
    pub duplicate_events: u64,
    /// The daemon went away while requests were outstanding.
    pub daemon_lost: bool,
    /// A few of the missing ones, for the message.
    pub missing: Vec<String>,
    pub send_duration: Duration,
    pub total_duration: Duration,
    /// Strategy enqueue → event dequeue, nanoseconds.
    pub latency: Option<Histogram<u64>>,
}

impl LoadReport {
    pub fn ok(&self) -> bool {
        self.unanswered_requests == 0 && self.unfinished_orders == 0 && self.duplicate_events == 0
    }

    /// One machine-readable line (`ilinkd soak` reads it): `totals: key value ...`.
    pub fn totals_line(&self) -> String {
        let down = self
            .rejects_by_reason
            .iter()
            .filter(|(k, _)| k.starts_with("Some(SessionDown)"))
            .map(|(_, n)| n)
            .sum::<u64>();
        format!(
            "totals: requests {} unanswered {} unfinished {} duplicate_events {} not_applied {} session_down {} daemon_lost {}",
            self.sent_new + self.sent_replace + self.sent_cancel,
            self.unanswered_requests,
            self.unfinished_orders,
            self.duplicate_events,
            self.count("not_applied"),
            down,
            u8::from(self.daemon_lost)
        )
    }

    pub fn count(&self, kind: &str) -> u64 {
        self.events.get(kind).copied().unwrap_or(0)
    }

    /// The human summary `ilinkd load` prints.
    pub fn summary(&self) -> String {
        let sent = self.sent_new + self.sent_replace + self.sent_cancel;
        let secs = self.send_duration.as_secs_f64().max(1e-9);
        let mut s = format!(
            "sent {sent} requests in {:.2} s ({:.0}/s): {} new, {} replace, {} cancel; ring full {} time(s)\n",
            secs,
            sent as f64 / secs,
            self.sent_new,
            self.sent_replace,
            self.sent_cancel,
            self.ring_full
        );
        let mut kinds: Vec<_> = self.events.iter().collect();
        kinds.sort();
        s.push_str("events:");
        for (k, n) in kinds {
            s.push_str(&format!(" {k} {n},"));
        }
        s.pop();
        s.push('\n');
        if !self.rejects_by_reason.is_empty() {
            let mut r: Vec<_> = self.rejects_by_reason.iter().collect();
            r.sort();
            s.push_str(&format!("rejects: {r:?}\n"));
        }
        if self.duplicate_events > 0 {
            s.push_str(&format!(
                "DUPLICATES: {} event(s) delivered twice\n",
                self.duplicate_events
            ));
        }
        if self.ok() {
            s.push_str("every request answered, every order finished\n");
        } else {
            s.push_str(&format!(
                "MISSING: {} unanswered request(s), {} unfinished order(s), e.g. {}\n",
                self.unanswered_requests,
                self.unfinished_orders,
                self.missing.join("; ")
            ));
        }
        if let Some(h) = &self.latency {
            let us = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
            s.push_str(&format!(
                "latency strategy enqueue -> event dequeue (us): count {} p50 {:.1} p90 {:.1} p99 {:.1} p99.9 {:.1} max {:.1}\n",
                h.len(),
                us(0.5),
                us(0.9),
                us(0.99),
                us(0.999),
                h.max() as f64 / 1000.0
            ));
        }
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReqKind {
    New,
    Replace,
    Cancel,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    kind: ReqKind,
    order: u64,
}

/// One step of the pattern.
#[derive(Debug, Clone, Copy)]
enum Step {
    New {
        side: Side,
        px: i64,
        qty: u32,
        tif: TimeInForce,
    },
    Replace {
        px: i64,
        qty: u32,
    },
    Cancel,
}

fn kind_name(k: EventKind) -> &'static str {
    match k {
        EventKind::Ack => "ack",
        EventKind::Reject => "reject",
        EventKind::Fill => "fill",
        EventKind::Cancelled => "cancelled",
        EventKind::Replaced => "replaced",
        EventKind::CancelReject => "cancel_reject",
        EventKind::SessionState => "session_state",
        EventKind::NotApplied => "not_applied",
        EventKind::MassCancelAck => "mass_cancel_ack",
        EventKind::MessagesLost => "messages_lost",
        EventKind::Eliminated => "eliminated",
        EventKind::TradeBust => "trade_bust",
        EventKind::TradeCorrected => "trade_corrected",
        EventKind::LegFill => "leg_fill",
        EventKind::Status => "status",
        EventKind::PendingCancel => "pending_cancel",
        EventKind::PendingReplace => "pending_replace",
        EventKind::Recovered => "recovered",
    }
}

/// The plan: `(step, which order of the unit it concerns)`, unit by unit.
fn plan(opts: &LoadOptions) -> Vec<Vec<Step>> {
    let (p, t) = (opts.base_price, opts.tick);
    let resting = vec![
        Step::New {
            side: Side::Buy,
            px: p - 10 * t,
            qty: 2,
            tif: TimeInForce::Day,
        },
        Step::Replace {
            px: p - 9 * t,
            qty: 3,
        },
        Step::Cancel,
    ];
    let cross = vec![
        Step::New {
            side: Side::Sell,
            px: p,
            qty: 1,
            tif: TimeInForce::Day,
        },
        Step::New {
            side: Side::Buy,
            px: p,
            qty: 1,
            tif: TimeInForce::Day,
        },
    ];
    let ioc = vec![Step::New {
        side: Side::Buy,
        px: p - 20 * t,
        qty: 1,
        tif: TimeInForce::Fak,
    }];
    let mut units = Vec::new();
    let mut left = opts.orders;
    while left >= 5 {
        units.push(resting.clone());
        units.push(cross.clone());
        left -= 5;
    }
    match left {
        4 => {
            units.push(resting.clone());
            units.push(ioc.clone());
        }
        3 => units.push(resting),
        2 => units.push(cross),
        1 => units.push(ioc),
        _ => {}
    }
    units
}

/// Runs the load; `Err` only when the segment cannot be used at all.
pub fn run(opts: &LoadOptions) -> Result<LoadReport, ClientError> {
    let mut client = Client::attach(&opts.segment)?;
    let mut report = LoadReport {
        latency: Histogram::new_with_bounds(1, 60_000_000_000, 3).ok(),
        ..LoadReport::default()
    };
    let started = Instant::now();
    client.heartbeat(now_ns());
    // Wait for the session to be up (the daemon tells a strategy its sessions' state when it
    // attaches).
    let deadline = started + opts.timeout;
    let mut up = false;
    while !up && Instant::now() < deadline {
        match client.poll_event() {
            Some(Ok(e)) if e.kind == EventKind::SessionState && e.session == opts.session => {
                up = e.session_state == LinkStatus::Up;
            }
            Some(_) => {}
            None => {
                client.heartbeat(now_ns());
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    if !up {
        report.missing.push(format!(
            "session {} not established within {:?}",
            opts.session, opts.timeout
        ));
        report.unanswered_requests = opts.orders;
        report.total_duration = started.elapsed();
        return Ok(report);
    }
    drive(&mut client, opts, report, started)
}

/// Runs the load on a client whose session is known to be up (the caller attached it and saw
/// the session's state, e.g. a benchmark that measured round trips first).
pub fn run_attached(client: &mut Client, opts: &LoadOptions) -> LoadReport {
    let report = LoadReport {
        latency: Histogram::new_with_bounds(1, 60_000_000_000, 3).ok(),
        ..LoadReport::default()
    };
    client.heartbeat(now_ns());
    match drive(client, opts, report, Instant::now()) {
        Ok(r) => r,
        Err(e) => LoadReport {
            missing: vec![e.to_string()],
            unanswered_requests: opts.orders,
            ..LoadReport::default()
        },
    }
}

fn drive(
    client: &mut Client,
    opts: &LoadOptions,
    mut report: LoadReport,
    started: Instant,
) -> Result<LoadReport, ClientError> {
    let units = plan(opts);
    // Keyed by the client's sequential request ids, unhashed: neighbouring ids sit in
    // neighbouring buckets, so the tables stay cache-friendly at millions of requests (a hashed
    // table the size of the whole run cost the generator a cache miss per request).
    let mut pending: IntMap<u64, Pending> = IntMap::default();
    let mut open: IntMap<u64, ()> = IntMap::default();
    let mut seen = Seen::default();
    let interval_ns = 1_000_000_000 / opts.rate.max(1);
    let send_start = Instant::now();
    let mut sent: u64 = 0;
    let mut last_hb = Instant::now();
    let mut last_alive_check = Instant::now();
    let order = |side, px, qty, tif| Order {
        session: opts.session,
        security_id: opts.security_id,
        side,
        qty,
        price: Some(px),
        ord_type: OrdType::Limit,
        tif,
        stop_px: None,
        min_qty: None,
        display_qty: None,
        expire_date: None,
    };

    let mut counts = KindCounts([0; 256]);
    let mut handle = |client: &mut Client,
                      report: &mut LoadReport,
                      pending: &mut IntMap<u64, Pending>,
                      open: &mut IntMap<u64, ()>|
     -> bool {
        let Some(ev) = client.poll_event() else {
            return false;
        };
        let now = now_ns();
        match ev {
            Ok(e) => {
                if seen.duplicate(&e) {
                    report.duplicate_events += 1;
                    if report.missing.len() < 5 {
                        report.missing.push(format!("duplicate event {e:?}"));
                    }
                }
                account(report, &mut counts, pending, open, &e, now)
            }
            Err(e) => {
                report.missing.push(format!("bad event: {e}"));
            }
        }
        true
    };

    for unit in &units {
        let mut order_id = 0u64;
        for step in unit {
            // Pace. Answers are read whatever the pace (also when the generator is late), so
            // the event ring never fills behind it; the clock is read when the event ring is
            // empty, or every `EVENT_BURST` events.
            let due = send_start + Duration::from_nanos(sent.saturating_mul(interval_ns));
            let mut burst = 0u32;
            loop {
                let got = handle(client, &mut report, &mut pending, &mut open);
                if got && burst < EVENT_BURST {
                    burst += 1;
                    continue;
                }
                burst = 0;
                if Instant::now() >= due {
                    break;
                }
                if !got {
                    std::hint::spin_loop();
                }
            }
            loop {
                let r = match *step {
                    Step::New { side, px, qty, tif } => {
                        client.new_order(&order(side, px, qty, tif)).map(|id| {
                            order_id = id;
                            (id, ReqKind::New)
                        })
                    }
                    Step::Replace { px, qty } => client
                        .replace(order_id, &order(Side::Buy, px, qty, TimeInForce::Day))
                        .map(|id| (id, ReqKind::Replace)),
                    Step::Cancel => client
                        .cancel(opts.session, order_id)
                        .map(|id| (id, ReqKind::Cancel)),
                };
                match r {
                    Ok((id, kind)) => {
                        pending.insert(
                            id,
                            Pending {
                                kind,
                                order: order_id,
                            },
                        );
                        match kind {
                            ReqKind::New => {
                                open.insert(id, ());
                                report.sent_new += 1;
                            }
                            ReqKind::Replace => report.sent_replace += 1,
                            ReqKind::Cancel => report.sent_cancel += 1,
                        }
                        break;
                    }
                    Err(ClientError::Full { .. }) => {
                        report.ring_full += 1;
                        // `daemon_alive` stats /proc: not on every retry.
                        let check = last_alive_check.elapsed() > Duration::from_millis(10);
                        if check {
                            last_alive_check = Instant::now();
                        }
                        if check && client.daemon_alive() == Some(false)
                            || client.state_flags() & crate::client::FLAG_CLOSED != 0
                        {
                            report.missing.push("the daemon went away".into());
                            report.daemon_lost = true;
                            report.unanswered_requests = pending.len() as u64 + 1;
                            report.unfinished_orders = open.len() as u64;
                            report.send_duration = send_start.elapsed();
                            report.total_duration = started.elapsed();
                            counts.fold_into(&mut report.events);
                            return Ok(report);
                        }
                        // Every answer waiting is read before yielding: a generator that
                        // read one event per retry let the event ring fill (the daemon then
                        // drops events: orders never seen finished).
                        let mut got = false;
                        while handle(client, &mut report, &mut pending, &mut open) {
                            got = true;
                        }
                        if !got {
                            std::thread::yield_now();
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            sent += 1;
            if last_hb.elapsed() > Duration::from_millis(50) {
                client.heartbeat(now_ns());
                last_hb = Instant::now();
            }
        }
    }
    report.send_duration = send_start.elapsed();
    let deadline = Instant::now() + opts.timeout;
    while (!pending.is_empty() || !open.is_empty()) && Instant::now() < deadline {
        if !handle(client, &mut report, &mut pending, &mut open) {
            std::thread::sleep(Duration::from_micros(50));
        }
        if last_hb.elapsed() > Duration::from_millis(50) {
            client.heartbeat(now_ns());
            last_hb = Instant::now();
        }
    }
    counts.fold_into(&mut report.events);
    report.unanswered_requests = pending.len() as u64;
    report.unfinished_orders = open.len() as u64;
    let mut missing: Vec<_> = pending
        .iter()
        .map(|(id, p)| format!("request {id} ({:?} of order {})", p.kind, p.order))
        .collect();
    missing.sort();
    missing.truncate(5);
    report.missing.extend(missing);
    let mut unfinished: Vec<_> = open
        .keys()
        .map(|id| format!("order {id} not finished"))
        .collect();
    unfinished.sort();
    unfinished.truncate(5);
    report.missing.extend(unfinished);
    report.total_duration = started.elapsed();
    Ok(report)
}

/// What was delivered, to catch an event delivered twice.
#[derive(Default)]
struct Seen {
    /// Answers (ack / replaced / cancelled / reject / not applied) by request id: a bit per
    /// event kind code.
    answered: IntMap<u64, u32>,
    /// Cumulative filled quantity per order.
    cum: IntMap<u64, u32>,
    /// Orders that got a terminal event (cancelled, or filled with nothing left).
    finished: IntSet<u64>,
}

impl Seen {
    fn duplicate(&mut self, e: &Event) -> bool {
        match e.kind {
            EventKind::Fill => {
                let before = self.cum.insert(e.order_id, e.cum_qty).unwrap_or(0);
                let dup = e.cum_qty <= before;
                if e.leaves_qty == 0 {
                    return !self.finished.insert(e.order_id) || dup;
                }
                dup
            }
            EventKind::Ack
            | EventKind::Replaced
            | EventKind::Cancelled
            | EventKind::Reject
            | EventKind::CancelReject
            | EventKind::NotApplied
                if e.request_id != 0 =>
            {
                let bit = 1u32 << (e.kind.code() % 32);
                let kinds = self.answered.entry(e.request_id).or_default();
                let dup = *kinds & bit != 0;
                *kinds |= bit;
                if e.kind == EventKind::Cancelled {
                    return !self.finished.insert(e.order_id) || dup;
                }
                dup
            }
            _ => false,
        }
    }
}

/// Events received, by [`EventKind`] code (folded into [`LoadReport::events`] at the end: a
/// string-keyed map per event cost the generator more than the daemon spent on it).
struct KindCounts([u64; 256]);

impl KindCounts {
    fn add(&mut self, k: EventKind) {
        if let Some(c) = self.0.get_mut(usize::from(k.code())) {
            *c += 1;
        }
    }

    fn fold_into(&self, events: &mut HashMap<&'static str, u64>) {
        for (code, &n) in self.0.iter().enumerate() {
            let kind = u8::try_from(code).ok().and_then(EventKind::from_code);
            if let (Some(kind), true) = (kind, n > 0) {
                *events.entry(kind_name(kind)).or_default() += n;
            }
        }
    }
}

fn account(
    report: &mut LoadReport,
    counts: &mut KindCounts,
    pending: &mut IntMap<u64, Pending>,
    open: &mut IntMap<u64, ()>,
    e: &Event,
    now: u64,
) {
    counts.add(e.kind);
    if e.request_enqueue_ns != 0 && e.kind != EventKind::SessionState {
        if let Some(h) = report.latency.as_mut() {
            let _ = h.record(now.saturating_sub(e.request_enqueue_ns).max(1));
        }
    }
    if matches!(e.kind, EventKind::Reject | EventKind::CancelReject) {
        let reason = format!(
            "{:?}: {}",
            e.reason,
            e.text.as_str().unwrap_or("").trim_end_matches('\0')
        );
        *report.rejects_by_reason.entry(reason).or_default() += 1;
    }
    let answered = match e.kind {
        EventKind::Ack => Some(ReqKind::New),
        EventKind::Replaced => Some(ReqKind::Replace),
        EventKind::Cancelled => Some(ReqKind::Cancel),
        EventKind::Reject | EventKind::CancelReject | EventKind::NotApplied => None,
        _ => return finish_order(open, e),
    };
    if e.request_id != 0 {
        if let Some(p) = pending.get(&e.request_id) {
            let matches = match answered {
                Some(k) => k == p.kind,
                None => true,
            };
            if matches {
                let p = pending.remove(&e.request_id);
                // A refused new order will never exist.
                if let Some(p) = p {
                    if p.kind == ReqKind::New
                        && matches!(e.kind, EventKind::Reject | EventKind::NotApplied)
                    {
                        open.remove(&p.order);
                    }
                }
            }
        }
    }
    finish_order(open, e);
}

fn finish_order(open: &mut IntMap<u64, ()>, e: &Event) {
    let done = match e.kind {
        EventKind::Fill => e.leaves_qty == 0,
        EventKind::Cancelled | EventKind::Eliminated => true,
        EventKind::Reject => e.request_id == e.order_id,
        _ => false,
    };
    if done {
        open.remove(&e.order_id);
    }
}

/// Frame sizes of the order path (SOFH + SBE header + root block): a NewOrderSingle514 out, an
/// ExecutionReportNew522 back. The loopback floor exchanges messages of these sizes.
pub const FLOOR_REQUEST_LEN: usize = 128;
pub const FLOOR_RESPONSE_LEN: usize = 224;

/// Where and how the threads of a round trip run: the daemon's hot thread (core, idle strategy)
/// and the exchange's (the embedded simulator's core and idle strategy).
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    pub hot_core: Option<usize>,
    pub hot_idle: IdleStrategy,
    pub exchange_core: Option<usize>,
    pub exchange_idle: IdleStrategy,
}

fn pin(core: Option<usize>) {
    if let Some(id) = core {
        // Best effort: an unpinned floor is still a floor (the caller says where it ran).
        let _ = core_affinity::set_for_current(core_affinity::CoreId { id });
    }
}

/// How the simulator waits when idle (see `crate::sim::server`): spin, yield a few turns then
/// block on readiness, or block at once.
fn exchange_wait(stream: &TcpStream, idle: IdleStrategy, idle_turns: u32) {
    match idle {
        IdleStrategy::Spin => std::hint::spin_loop(),
        IdleStrategy::SpinThenYield if idle_turns <= 16 => std::thread::yield_now(),
        _ => {
            let mut fds = [PollFd::new(stream, PollFlags::IN)];
            let t = Timespec {
                tv_sec: 0,
                tv_nsec: 50_000_000,
            };
            let _ = rustix::event::poll(&mut fds, Some(&t));
        }
    }
}

fn write_all_nonblocking(s: &mut TcpStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        match s.write(buf) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = buf.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::hint::spin_loop(),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The loopback TCP floor of an order round trip: a bare ping-pong over 127.0.0.1 between a
/// "hot" thread (the daemon's core and idle strategy, non-blocking socket, sends a
/// NewOrderSingle-sized message and reads an ExecutionReportNew-sized answer) and an "exchange"
/// thread that waits the way the simulator does. `warmup` + `samples` round trips, one in
/// flight; returns the samples (ns, send to the answer's last byte), sorted.
pub fn tcp_floor(samples: usize, warmup: usize, at: Placement) -> std::io::Result<Vec<u64>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let exchange = std::thread::Builder::new()
        .name("floor-exchange".into())
        .spawn(move || -> std::io::Result<()> {
            pin(at.exchange_core);
            let (mut s, _) = listener.accept()?;
            s.set_nonblocking(true)?;
            s.set_nodelay(true)?;
            let mut buf = [0u8; 4096];
            let resp = [7u8; FLOOR_RESPONSE_LEN];
            let mut have = 0usize;
            let mut idle_turns = 0u32;
            loop {
                match s.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => {
                        idle_turns = 0;
                        have += n;
                        while have >= FLOOR_REQUEST_LEN {
                            have -= FLOOR_REQUEST_LEN;
                            write_all_nonblocking(&mut s, &resp)?;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        idle_turns = idle_turns.saturating_add(1);
                        exchange_wait(&s, at.exchange_idle, idle_turns);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        })?;
    let hot = std::thread::Builder::new().name("floor-hot".into()).spawn(
        move || -> std::io::Result<Vec<u64>> {
            pin(at.hot_core);
            let mut s = TcpStream::connect(addr)?;
            s.set_nonblocking(true)?;
            s.set_nodelay(true)?;
            let mut idler = Idler::new(at.hot_idle);
            let req = [1u8; FLOOR_REQUEST_LEN];
            let mut buf = [0u8; 4096];
            let mut out = Vec::with_capacity(samples);
            for i in 0..warmup + samples {
                let t = Instant::now();
                write_all_nonblocking(&mut s, &req)?;
                let mut got = 0;
                while got < FLOOR_RESPONSE_LEN {
                    match s.read(&mut buf) {
                        Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                        Ok(n) => {
                            got += n;
                            idler.idle(true);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => idler.idle(false),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                if i >= warmup {
                    out.push(t.elapsed().as_nanos() as u64);
                }
            }
            Ok(out)
        },
    )?;
    let out = hot
        .join()
        .map_err(|_| std::io::Error::other("floor hot thread panicked"))?;
    let _ = exchange.join();
    let mut out = out?;
    out.sort_unstable();
    Ok(out)
}

/// Order round trips, one in flight: `warmup` + `samples` limit buys far below the market
/// (each rests in the book and gets exactly one ack), timed from the strategy's enqueue to the
/// ack's dequeue; the resting orders are mass-cancelled at the end. Waiting, the strategy
/// yields its core (`yield_wait`) or spins. Returns the samples (ns), sorted.
pub fn order_round_trips(
    client: &mut Client,
    session: u16,
    security_id: i32,
    tick: i64,
    samples: usize,
    warmup: usize,
    yield_wait: bool,
) -> Result<Vec<u64>, String> {
    let mut out = Vec::with_capacity(samples);
    let mut last_hb = Instant::now();
    client.heartbeat(now_ns());
    for i in 0..warmup + samples {
        // The daemon takes a strategy silent for a second for dead.
        if last_hb.elapsed() > Duration::from_millis(50) {
            client.heartbeat(now_ns());
            last_hb = Instant::now();
        }
        let order = Order {
            session,
            security_id,
            side: Side::Buy,
            qty: 1,
            price: Some((4_000 + (i as i64 % 100)) * tick),
            ord_type: OrdType::Limit,
            tif: TimeInForce::Day,
            stop_px: None,
            min_qty: None,
            display_qty: None,
            expire_date: None,
        };
        let t = Instant::now();
        let id = client.new_order(&order).map_err(|e| e.to_string())?;
        let give_up = t + Duration::from_secs(5);
        loop {
            match client.poll_event() {
                Some(Ok(e)) if e.order_id == id && e.kind == EventKind::Ack => break,
                Some(Ok(e)) if e.order_id == id => {
                    return Err(format!("order {id}: {:?} instead of an ack", e.kind))
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("event: {e}")),
                None => {
                    if Instant::now() > give_up {
                        return Err(format!("no ack for order {id} within 5 s"));
                    }
                    if yield_wait {
                        std::thread::yield_now();
                    } else {
                        std::hint::spin_loop();
                    }
                }
            }
        }
        if i >= warmup {
            out.push(t.elapsed().as_nanos() as u64);
        }
    }
    // Leave an empty book behind.
    let _ = client.mass_cancel(session, Some(security_id), None);
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(300) {
        client.heartbeat(now_ns());
        if client.poll_event().is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The `p`-quantile of sorted samples (0 when empty).
pub fn quantile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p) as usize;
    sorted.get(i).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(n: u64) -> LoadOptions {
        LoadOptions {
            segment: PathBuf::from("x"),
            orders: n,
            rate: 1000,
            session: 0,
            security_id: 42,
            tick: 250_000_000,
            base_price: 4_500_000_000_000,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn an_event_delivered_twice_is_counted_once_as_a_duplicate() {
        let mut seen = Seen::default();
        let mut ack = Event::new(EventKind::Ack);
        ack.request_id = 7;
        ack.order_id = 7;
        let mut fill = Event::new(EventKind::Fill);
        fill.order_id = 7;
        fill.cum_qty = 1;
        fill.leaves_qty = 1;
        let mut last = fill;
        last.cum_qty = 2;
        last.leaves_qty = 0;
        assert!(!seen.duplicate(&ack));
        assert!(!seen.duplicate(&fill));
        assert!(!seen.duplicate(&last));
        assert!(seen.duplicate(&ack));
        assert!(seen.duplicate(&fill));
        assert!(seen.duplicate(&last));
        let mut cancelled = Event::new(EventKind::Cancelled);
        cancelled.request_id = 9;
        cancelled.order_id = 8;
        assert!(!seen.duplicate(&cancelled));
        assert!(seen.duplicate(&cancelled));
    }

    #[test]
    fn event_counts_fold_into_the_report_by_kind_name() {
        let mut counts = KindCounts([0; 256]);
        for k in [
            EventKind::Ack,
            EventKind::Fill,
            EventKind::Ack,
            EventKind::Cancelled,
        ] {
            counts.add(k);
        }
        let mut events = HashMap::new();
        events.insert("ack", 5);
        counts.fold_into(&mut events);
        assert_eq!(events.get("ack"), Some(&7));
        assert_eq!(events.get("fill"), Some(&1));
        assert_eq!(events.get("cancelled"), Some(&1));
        assert_eq!(events.len(), 3);
    }

    #[test]
    fn the_plan_has_exactly_the_requested_number_of_requests() {
        for n in 0..23 {
            let total: usize = plan(&opts(n)).iter().map(Vec::len).sum();
            assert_eq!(total as u64, n);
        }
        let p = plan(&opts(5));
        assert!(matches!(
            p[1][0],
            Step::New {
                side: Side::Sell,
                ..
            }
        ));
        assert!(matches!(
            p[1][1],
            Step::New {
                side: Side::Buy,
                ..
            }
        ));
    }
}
