//! Core scenarios with a fake clock, named after the CME page they exercise. The core talks to
//! the simulator's exchange (`sim::Exchange`, sans-IO) over an in-memory pipe; the harness
//! plays housekeeping with a real session store (journal appends, new UUIDs, journal reads).

use super::*;
use crate::config::RiskConfig;
use crate::daemon::order_journal::{OnRestart, OrderChange, OrderJournal};
use crate::daemon::router::{cl_ord_id_prefix, OrderSnapshot, RouterConfig, StrategyRoute};
use crate::daemon::shared::{SessionKind, SessionShared, StrategyShared};
use crate::ilink3::session::{Credentials, NotAppliedPolicy, SessionConfig, SessionSeqState};
use crate::ilink3::{Frames, Message};
use crate::shm::strategy::{OrdType, Order, RequestBody, Side, TimeInForce};
use crate::sim::{
    ConnId, EngineMode, Exchange, GatewayConfig, Instrument, MatchingEngine, SessionAccount,
    SessionRegistry,
};
use crate::store::SessionStore;
use crate::types::{FsyncPolicy, LatencySlot, WallNanos};
use std::collections::{HashMap, VecDeque};

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const KEY_ID: &str = "AKIDAAAAAAAAAAAAAAA1";
const KA_MS: u16 = 5000;
const KA: u64 = KA_MS as u64 * 1_000_000;
const MS: u64 = 1_000_000;
/// Wednesday 2026-11-18 14:00:00 UTC (the exchange's clock, and ours unless stepped).
const T0: u64 = 1_795_010_400_000_000_000;
/// Where the fake monotonic clock starts (any origin will do).
const M0: u64 = 5_000_000_000;
/// The daemon's start time the ClOrdID prefix is made of.
const PREFIX_US: u64 = 1_772_461_800_123_456;
const ES: i32 = 42;
/// ES's MarketSegmentID.
const SEGMENT: u8 = 99;
const TICK: i64 = 250_000_000;
const PX: i64 = 4_500_000_000_000;
const S0: Peer = Peer::Ilink(LocalSessionIdx(0));

fn primary() -> SocketAddr {
    "127.0.0.1:9001".parse().unwrap()
}

fn backup() -> SocketAddr {
    "127.0.0.1:9002".parse().unwrap()
}

/// The connection side: records what the core asks for.
#[derive(Default)]
struct FakeWire {
    connects: Vec<(Peer, SocketAddr)>,
    closes: Vec<Peer>,
    /// Bytes handed over, not yet delivered to the exchange.
    out: VecDeque<Vec<u8>>,
}

impl Wire for FakeWire {
    fn connect(&mut self, peer: Peer, addr: SocketAddr) -> Result<(), Note> {
        self.connects.push((peer, addr));
        Ok(())
    }
    fn close(&mut self, peer: Peer) {
        self.closes.push(peer);
    }
    fn flushed(&self, _: Peer) -> bool {
        true
    }
    fn can_send(&self, _: Peer) -> bool {
        true
    }
    fn send(&mut self, _: Peer, bytes: Option<&[u8]>) -> Result<bool, &'static str> {
        match bytes {
            Some(b) => {
                self.out.push_back(b.to_vec());
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// Everything else the core emits.
#[derive(Default)]
struct FakeSink {
    events: Vec<(LocalStrategyIdx, Event)>,
    journal: VecDeque<JournalRec>,
    store: VecDeque<StoreReq>,
    logs: Vec<LogEvent>,
    exec: Vec<crate::daemon::reconcile::ExecCopy>,
    orders: Vec<(OrderChange, OrderSnapshot)>,
}

impl Sink for FakeSink {
    fn publish(&mut self, strategy: LocalStrategyIdx, ev: Event, _: Stamp, _: LatencySlot) {
        self.events.push((strategy, ev));
    }
    fn journal(&mut self, rec: &JournalRec) {
        self.journal.push_back(*rec);
    }
    fn store(&mut self, req: StoreReq) -> bool {
        self.store.push_back(req);
        true
    }
    fn exec_copy(&mut self, c: &crate::daemon::reconcile::ExecCopy) {
        self.exec.push(*c);
    }
    fn order_change(&mut self, change: OrderChange, s: &OrderSnapshot) {
        self.orders.push((change, *s));
    }
    fn dropcopy(&mut self, _: DcRec) {}
    fn log(&mut self, ev: LogEvent) {
        self.logs.push(ev);
    }
    fn stamp(&self) -> Stamp {
        Stamp::NONE
    }
    fn span(&mut self, _: LatencySlot, _: Hop, _: Stamp, _: Stamp) {}
    fn hop(&mut self, _: LatencySlot, _: Hop, _: u64) {}
    fn stamp_wall_ns(&self, _: Stamp) -> u64 {
        0
    }
}

fn exchange() -> Exchange {
    exchange_keeping(1 << 20)
}

/// The exchange, keeping `retention` business messages per UUID for retransmission.
fn exchange_keeping(retention: usize) -> Exchange {
    let mut keys = HashMap::new();
    keys.insert(KEY_ID.to_string(), crate::auth::HmacSigner::new(KEY));
    let cfg = GatewayConfig::new(
        vec![SessionAccount {
            session_id: "ABC".into(),
            firm_id: "007".into(),
            access_key_ids: vec![KEY_ID.into()],
        }],
        keys,
    );
    let cfg = GatewayConfig {
        journal_retention: retention,
        ..cfg
    };
    let mut engine = MatchingEngine::new(
        EngineMode::Book,
        &[Instrument {
            security_id: ES,
            tick: TICK,
        }],
    );
    engine.set_instrument_info(&crate::sim::InstrumentInfo {
        security_id: ES,
        market_segment_id: Some(SEGMENT),
        security_group: String::new(),
        legs: Vec::new(),
    });
    Exchange::new(SessionRegistry::new(cfg), engine)
}

fn fixp(policy: NotAppliedPolicy, stored: SessionSeqState) -> FixpSession {
    FixpSession::new(
        SessionConfig {
            session_id: "ABC".into(),
            firm_id: "007".into(),
            trading_system_name: "ilinkd".into(),
            trading_system_version: "0.1.0".into(),
            trading_system_vendor: "ACME".into(),
            keepalive_ms: KA_MS,
            not_applied: policy,
        },
        Credentials {
            access_key_id: KEY_ID.into(),
            signer: crate::auth::HmacSigner::new(KEY),
        },
        stored,
    )
}

/// One engine (one iLink 3 session, one strategy with cancel-on-exit), the exchange, and the
/// harness as housekeeping.
struct World {
    core: Core,
    wire: FakeWire,
    sink: FakeSink,
    store: SessionStore,
    shared: Arc<DaemonShared>,
    ex: Exchange,
    /// The exchange's end of the current connection.
    conn: Option<ConnId>,
    /// Fake monotonic time.
    mono: u64,
    /// Our wall clock minus the exchange's (an NTP step).
    wall_step: i64,
    /// Deliver what the core sends to the exchange.
    deliver: bool,
    /// Let housekeeping answer store requests.
    housekeeping: bool,
    /// Complete every TCP connect the core starts while time advances.
    auto_accept: bool,
    /// What the exchange received, frame by frame.
    to_exchange: Vec<Vec<u8>>,
    /// The exchange refuses every signature on new connections (`--reject-signatures`).
    reject_signatures: bool,
    /// Closes by the core already passed on to the exchange.
    closes_seen: usize,
    /// When (fake monotonic) each TCP connect was started.
    dial_times: Vec<u64>,
    next_id: u64,
    _dir: tempfile::TempDir,
}

impl World {
    fn new(policy: NotAppliedPolicy) -> World {
        let dir = tempfile::tempdir().unwrap();
        let (store, rec) = SessionStore::open(dir.path(), "cme-eq", FsyncPolicy::Never).unwrap();
        World::on_store(policy, dir, store, SessionSeqState::from(&rec), exchange())
    }

    fn on_store(
        policy: NotAppliedPolicy,
        dir: tempfile::TempDir,
        store: SessionStore,
        stored: SessionSeqState,
        ex: Exchange,
    ) -> World {
        World::restarted(
            policy,
            dir,
            store,
            stored,
            ex,
            (PREFIX_US, OnRestart::Recover),
            &[],
            Vec::new(),
        )
    }

    /// The session with `[[ilink3.party]]` definitions.
    fn with_parties(parties: Vec<crate::daemon::party::PartySpec>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let (store, rec) = SessionStore::open(dir.path(), "cme-eq", FsyncPolicy::Never).unwrap();
        let stored = SessionSeqState::from(&rec);
        World::restarted(
            NotAppliedPolicy::GapFill,
            dir,
            store,
            stored,
            exchange(),
            (PREFIX_US, OnRestart::Recover),
            &[],
            parties,
        )
    }

    /// A world whose router restored `snaps` (open orders of a previous run).
    #[allow(clippy::too_many_arguments)]
    fn restarted(
        policy: NotAppliedPolicy,
        dir: tempfile::TempDir,
        store: SessionStore,
        stored: SessionSeqState,
        ex: Exchange,
        (prefix_us, on_restart): (u64, OnRestart),
        snaps: &[OrderSnapshot],
        parties: Vec<crate::daemon::party::PartySpec>,
    ) -> World {
        let mut sh = SessionShared::new("cme-eq", SessionKind::Ilink3);
        sh.parties = parties
            .iter()
            .map(crate::daemon::party::PartyShared::new)
            .collect();
        let shared = Arc::new(DaemonShared::new(
            1,
            vec![sh],
            vec![StrategyShared::new("alpha")],
        ));
        let router = Router::new(RouterConfig {
            prefix: cl_ord_id_prefix(prefix_us, 0),
            strategies: vec![StrategyRoute {
                sessions: vec![0],
                cancel_on_exit: true,
            }],
            sessions: 1,
            instruments: vec![(ES, TICK)],
            risk: RiskConfig {
                max_order_qty: 100,
                max_open_orders: 64,
                max_orders_per_second: 1_000_000,
                ..RiskConfig::default()
            },
            seq_memory: 64,
            scopes: vec![crate::daemon::router::InstrumentScope {
                security_id: ES,
                market_segment_id: Some(SEGMENT),
                security_group: [0; 6],
            }],
        });
        let mut router = router;
        router.restore(snaps).expect("restores");
        let core = Core::new(
            crate::types::EngineIdx::new(0),
            vec![IlinkSpec {
                global: SessionIdx::new(0),
                session: fixp(policy, stored),
                handle: store.handle(),
                primary: primary(),
                backup: Some(backup()),
                firm: FirmFields::new("TRADER", "US,IL", 7),
                on_restart,
                parties,
            }],
            Vec::new(),
            vec![StrategySpec {
                global: StrategyIdx::new(0),
                sessions: vec![LocalSessionIdx::new(0)],
            }],
            router,
            &NetworkConfig::default(),
            shared.clone(),
            42,
        );
        World {
            core,
            wire: FakeWire::default(),
            sink: FakeSink::default(),
            store,
            shared,
            ex,
            conn: None,
            mono: M0,
            wall_step: 0,
            deliver: true,
            housekeeping: true,
            auto_accept: true,
            to_exchange: Vec::new(),
            reject_signatures: false,
            closes_seen: 0,
            dial_times: Vec::new(),
            next_id: 1,
            _dir: dir,
        }
    }

    /// The exchange's clock.
    fn cme_ns(&self) -> u64 {
        T0 + (self.mono - M0)
    }

    fn now(&self) -> Now {
        Now {
            mono: Nanos(self.mono),
            wall: WallNanos(self.cme_ns().wrapping_add_signed(self.wall_step)),
        }
    }

    /// The TCP connect the core asked for completes.
    fn accept(&mut self) {
        let now = self.now();
        let c = self.ex.accept(self.cme_ns());
        if let Some(conn) = self.ex.connection_mut(c) {
            conn.faults_mut().reject_signatures = self.reject_signatures;
        }
        self.conn = Some(c);
        self.core.on_connected(S0, now, &mut self.sink);
        self.pump();
    }

    /// The TCP connect fails.
    fn refuse(&mut self) {
        let now = self.now();
        let e = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        self.core.on_connect_failed(S0, &e, now, &mut self.sink);
    }

    /// Housekeeping: journal records, then store requests, answered over "control".
    fn housekeep(&mut self) -> bool {
        let mut any = false;
        while let Some(rec) = self.sink.journal.pop_front() {
            any = true;
            if self.store.uuid() == rec.uuid {
                self.store
                    .append_outbound(u64::from(rec.seq), rec.frame())
                    .unwrap();
            }
        }
        while self.housekeeping {
            let Some(req) = self.sink.store.pop_front() else {
                break;
            };
            any = true;
            let c = match req {
                StoreReq::NewUuid {
                    local,
                    uuid,
                    previous_uuid,
                    previous_next_inbound,
                    ..
                } => Control::UuidPersisted {
                    session: usize::from(local),
                    uuid,
                    result: self
                        .store
                        .new_uuid_after(uuid, previous_uuid, previous_next_inbound)
                        .map_err(|_| Note::new("store error")),
                },
                StoreReq::ReadOutbound {
                    local,
                    uuid,
                    from,
                    count,
                    ..
                } => Control::Resend {
                    session: usize::from(local),
                    uuid,
                    from,
                    count,
                    frames: self
                        .store
                        .read_outbound(uuid, u64::from(from), u64::from(count))
                        .map_err(|_| Note::new("read failed")),
                },
            };
            let now = self.now();
            self.core.on_control(c, now, &mut self.sink);
        }
        any
    }

    /// Moves bytes both ways (and housekeeping) until nothing moves.
    fn pump(&mut self) {
        loop {
            let now = self.now();
            let mut moved = self.core.service(now, &mut self.sink, &mut self.wire);
            moved |= self.housekeep();
            while let Some(b) = self.wire.out.pop_front() {
                moved = true;
                for f in Frames::new(&b) {
                    self.to_exchange.push(f.unwrap().to_vec());
                }
                if let (true, Some(c)) = (self.deliver, self.conn) {
                    let t = self.cme_ns();
                    self.ex.handle_input(c, t, &b);
                }
            }
            if let Some(c) = self.conn {
                if let Some(b) = self.ex.poll_transmit(c) {
                    let b = b.to_vec();
                    moved = true;
                    self.core.on_data(S0, &b, Stamp::NONE, now, &mut self.sink);
                }
                while self.ex.poll_event(c).is_some() {}
            }
            if !moved {
                break;
            }
        }
    }

    /// Runs both sides' timers up to `mono` (the exchange's only while `deliver`: a mute
    /// exchange never answers).
    fn advance_to(&mut self, until: u64) {
        loop {
            let mut next = until;
            if let Some(d) = self.core.next_deadline() {
                next = next.min(d.0.max(self.mono));
            }
            if let (true, Some(c)) = (self.deliver, self.conn) {
                if let Some(d) = self.ex.next_deadline(c) {
                    let d = M0 + d.saturating_sub(T0);
                    next = next.min(d.max(self.mono));
                }
            }
            // Reconnect and linger timers are not in next_deadline: step at most 10 ms.
            next = next.min(self.mono + 10 * MS).max(self.mono);
            self.mono = next;
            // The exchange's timers first: what it sends at this instant is on the wire
            // before our timers look at the silence.
            if let (true, Some(c)) = (self.deliver, self.conn) {
                if self.ex.next_deadline(c).is_some_and(|d| d <= self.cme_ns()) {
                    let t = self.cme_ns();
                    self.ex.handle_timeout(c, t);
                }
            }
            self.pump();
            let now = self.now();
            let dialed = self.wire.connects.len();
            self.core.timers(now, &mut self.sink, &mut self.wire);
            self.pump();
            if self.wire.closes.len() > self.closes_seen {
                self.closes_seen = self.wire.closes.len();
                if let Some(c) = self.conn.take() {
                    self.ex.close(c);
                }
            }
            for _ in dialed..self.wire.connects.len() {
                self.dial_times.push(self.mono);
            }
            if self.auto_accept && self.wire.connects.len() > dialed {
                self.accept();
            }
            if self.mono >= until {
                break;
            }
        }
    }

    /// First connect, Negotiate (after the store's answer), Establish.
    fn establish(&mut self) {
        let now = self.now();
        self.core.timers(now, &mut self.sink, &mut self.wire);
        assert_eq!(self.wire.connects.last(), Some(&(S0, primary())));
        self.accept();
        assert_eq!(
            self.core.link_state(S0),
            LinkState::Up,
            "{:?}",
            self.sink.logs
        );
    }

    fn order(&mut self, px: i64) {
        self.request(RequestBody::NewOrder(Order {
            session: 0,
            security_id: ES,
            side: Side::Buy,
            qty: 1,
            price: Some(px),
            ord_type: OrdType::Limit,
            tif: TimeInForce::Day,
            stop_px: None,
            min_qty: None,
            display_qty: None,
            expire_date: None,
        }));
    }

    fn cancel(&mut self, order_id: u64) {
        self.request(RequestBody::Cancel {
            session: 0,
            order_id,
        });
    }

    /// The strategy's next request (ids 1, 2, ...) through the core, then the answers.
    fn request(&mut self, body: RequestBody) {
        let id = self.next_id;
        self.next_id += 1;
        let req = Request {
            request_id: id,
            enqueue_ns: 0,
            body,
        };
        let now = self.now();
        self.core.on_request(
            LocalStrategyIdx::new(0),
            Ok(req),
            Stamp::NONE,
            now,
            &mut self.sink,
            &mut self.wire,
        );
        self.pump();
    }

    /// One engine pass of sweeps (where the `on_restart` request leaves), then the answers.
    fn sweep(&mut self) {
        let now = self.now();
        while self.core.sweep(now, &mut self.sink, &mut self.wire) {
            self.pump();
        }
        self.pump();
    }

    fn kinds(&self) -> Vec<EventKind> {
        self.sink.events.iter().map(|(_, e)| e.kind).collect()
    }

    fn templates_sent(&self) -> Vec<u16> {
        self.to_exchange
            .iter()
            .map(|f| decode(f).unwrap().template_id())
            .collect()
    }
}

fn count(kinds: &[EventKind], k: EventKind) -> usize {
    kinds.iter().filter(|&&x| x == k).count()
}

const NEGOTIATE: u16 = 500;
const ESTABLISH: u16 = 503;
const SEQUENCE: u16 = 506;
const TERMINATE: u16 = 507;
const NEW_ORDER: u16 = 514;
const CANCEL: u16 = 516;

/// iLink 3 "Negotiation": the Negotiate leaves only after housekeeping reports the new UUID
/// durable; the hot side never writes the store itself.
#[test]
fn negotiation_waits_for_the_durable_uuid() {
    let mut w = World::new(NotAppliedPolicy::GapFill);
    w.housekeeping = false;
    let now = w.now();
    w.core.timers(now, &mut w.sink, &mut w.wire);
    w.accept();
    assert!(
        w.to_exchange.is_empty(),
        "nothing before the store's answer"
    );
    assert!(matches!(
        w.sink.store.front(),
        Some(StoreReq::NewUuid { uuid, .. }) if *uuid == T0 / 1000
    ));
    assert_eq!(w.store.uuid(), 0);
    w.housekeeping = true;
    w.pump();
    assert_eq!(w.store.uuid(), T0 / 1000);
    assert_eq!(w.templates_sent()[..2], [NEGOTIATE, ESTABLISH]);
    assert_eq!(w.core.link_state(S0), LinkState::Up);
}

/// iLink 3 "Establishment" after a crash between the durable UUID and the
/// NegotiationResponse: the restarted daemon resumes the stored UUID (Establish; nothing new
/// is made up while the exchange may know it). The exchange answers Unnegotiated, so nothing
/// was ever sent on it: the next connect negotiates a fresh, higher UUID (durable first) with
/// both sequences at 1, and the session establishes.
#[test]
fn establishment_after_a_crash_between_uuid_persisted_and_negotiation_response() {
    let mut w = World::new(NotAppliedPolicy::GapFill);
    w.deliver = false; // the Negotiate never reaches the exchange: the process dies first
    let now = w.now();
    w.core.timers(now, &mut w.sink, &mut w.wire);
    w.accept();
    let uuid = w.store.uuid();
    assert_eq!(uuid, T0 / 1000);
    assert_eq!(w.templates_sent(), [NEGOTIATE]);
    // kill -9: reopen the store; the exchange still knows nothing of `uuid`.
    let World {
        store, _dir, ex, ..
    } = w;
    drop(store);
    let (store, rec) = SessionStore::open(_dir.path(), "cme-eq", FsyncPolicy::Never).unwrap();
    assert_eq!(rec.uuid, uuid, "the UUID survived the crash");
    let mut w = World::on_store(
        NotAppliedPolicy::GapFill,
        _dir,
        store,
        SessionSeqState::from(&rec),
        ex,
    );
    w.mono += 10 * MS;
    let now = w.now();
    w.core.timers(now, &mut w.sink, &mut w.wire);
    w.accept();
    assert_eq!(w.templates_sent()[0], ESTABLISH);
    let Message::Establish(e) = decode(&w.to_exchange[0]).unwrap() else {
        panic!()
    };
    assert_eq!(e.uuid(), uuid);
    assert!(w.sink.store.is_empty(), "no new UUID");
    // The exchange refuses the unnegotiated UUID; the reconnect replaces it.
    w.advance_to(w.mono + 6_000 * MS);
    let negotiates: Vec<u64> = w
        .to_exchange
        .iter()
        .filter_map(|f| match decode(f).unwrap() {
            Message::Negotiate(n) => Some(n.uuid()),
            _ => None,
        })
        .collect();
    assert_eq!(negotiates.len(), 1, "{:?}", w.sink.logs);
    assert!(negotiates[0] > uuid);
    assert_eq!(
        w.store.uuid(),
        negotiates[0],
        "durable before it was negotiated"
    );
    assert_eq!(
        w.store.previous_uuid(),
        0,
        "the unnegotiated UUID is skipped: the store's previous UUID is the one before it"
    );
    assert_eq!(w.core.link_state(S0), LinkState::Up, "{:?}", w.sink.logs);
    let last_establish = w
        .to_exchange
        .iter()
        .rev()
        .find_map(|f| match decode(f).unwrap() {
            Message::Establish(e) => Some((e.uuid(), e.next_seq_no())),
            _ => None,
        });
    assert_eq!(last_establish, Some((negotiates[0], 1)));
}

/// iLink 3 "NotApplied" with the default policy: a Sequence gap-fills, and the owners of the
/// requests the exchange never applied are told (NotApplied events).
#[test]
fn not_applied_gap_fill_tells_the_owners() {
    let mut w = World::new(NotAppliedPolicy::GapFill);
    w.establish();
    for k in 0..3 {
        w.order(PX - k * TICK);
    }
    assert_eq!(count(&w.kinds(), EventKind::Ack), 3);
    let c = w.conn.unwrap();
    w.to_exchange.clear();
    w.ex.inject_not_applied(c, 2, 2);
    w.pump();
    let Message::Sequence(q) = decode(&w.to_exchange[0]).unwrap() else {
        panic!(
            "expected a gap-filling Sequence, got {:?}",
            w.templates_sent()
        )
    };
    assert_eq!(q.next_seq_no(), 4);
    let told: Vec<u64> = w
        .sink
        .events
        .iter()
        .filter(|(_, e)| e.kind == EventKind::NotApplied)
        .map(|(_, e)| e.request_id)
        .collect();
    assert_eq!(told, [2, 3]);
    assert!(!w.templates_sent().contains(&NEW_ORDER), "nothing resent");
    assert_eq!(w.core.link_state(S0), LinkState::Up);
}

/// iLink 3 "NotApplied" with the resend policy: housekeeping reads the journal and the very
/// frames that were sent leave again; nobody is told of a loss.
#[test]
fn not_applied_resend_sends_the_journaled_frames_again() {
    let mut w = World::new(NotAppliedPolicy::Resend);
    w.establish();
    for k in 0..3 {
        w.order(PX - k * TICK);
    }
    let originals: Vec<Vec<u8>> = w
        .to_exchange
        .iter()
        .filter(|f| decode(f).unwrap().template_id() == NEW_ORDER)
        .cloned()
        .collect();
    let c = w.conn.unwrap();
    w.to_exchange.clear();
    w.deliver = false; // the sim would refuse sequence numbers it already has
    w.housekeeping = false;
    w.ex.inject_not_applied(c, 2, 2);
    w.pump();
    assert!(w.to_exchange.is_empty(), "waits for the journal read");
    assert!(matches!(
        w.sink.store.front(),
        Some(StoreReq::ReadOutbound {
            from: 2,
            count: 2,
            ..
        })
    ));
    w.housekeeping = true;
    w.pump();
    assert_eq!(w.to_exchange, originals[1..], "frames 2 and 3, unchanged");
    assert_eq!(count(&w.kinds(), EventKind::NotApplied), 0);
}

/// iLink 3 "Failover to backup": the primary refuses; the next attempt dials the backup, where
/// the session negotiates and establishes.
#[test]
fn failover_to_backup_after_primary_failure() {
    let mut w = World::new(NotAppliedPolicy::GapFill);
    let now = w.now();
    w.core.timers(now, &mut w.sink, &mut w.wire);
    assert_eq!(w.wire.connects, [(S0, primary())]);
    w.refuse();
    assert_eq!(w.core.link_state(S0), LinkState::Down);
    while w.wire.connects.len() < 2 {
        let t = w.mono + 10 * MS;
        w.advance_to(t);
        assert!(w.mono < M0 + 10_000 * MS, "no second attempt");
    }
    assert_eq!(w.wire.connects[1], (S0, backup()));
    assert_eq!(w.core.link_state(S0), LinkState::Up);
    assert_eq!(w.templates_sent()[..2], [NEGOTIATE, ESTABLISH]);
}

/// Shutdown (SIGTERM) with an exchange that never answers the Terminate: no new orders, a
/// Terminate with code 0, no reconnect, and the drain gives up after its timeout; the
/// connection is closed and the session reported stopped.
#[test]
fn drain_on_sigterm_with_a_session_that_never_answers() {
    let mut w = World::new(NotAppliedPolicy::GapFill);
    w.establish();
    w.to_exchange.clear();
    w.deliver = false;
    w.shared.advance(Phase::Draining);
    let now = w.now();
    w.core.start_drain(now, &mut w.sink);
    w.pump();
    let Message::Terminate(t) = decode(&w.to_exchange[0]).unwrap() else {
        panic!("expected Terminate, got {:?}", w.templates_sent())
    };
    assert_eq!(t.error_codes(), 0);
    w.order(PX);
    assert_eq!(
        w.sink.events.last().map(|(_, e)| (e.kind, e.reason)),
        Some((EventKind::Reject, Some(RejectReason::ShuttingDown)))
    );
    let connects = w.wire.connects.len();
    let start = w.mono;
    while !w.core.drained() && !w.core.drain_timed_out(w.now()) {
        let t = w.mono + 10 * MS;
        w.advance_to(t);
    }
    assert!(w.mono - start <= DRAIN_TIMEOUT_NS + 20 * MS);
    w.core.finish(&mut w.wire);
    assert!(w.core.drained());
    assert_eq!(w.wire.closes, [S0]);
    assert_eq!(
        w.wire.connects.len(),
        connects,
        "no reconnect while draining"
    );
    assert_eq!(w.shared.sessions[0].state(), LinkState::Stopped);
    assert_eq!(
        w.templates_sent()
            .iter()
            .filter(|&&t| t == TERMINATE)
            .count(),
        1
    );
}

/// A strategy dies with open orders: cancel-on-exit cancels each of them (OrderCancelRequest
/// per order), and the exchange's cancels close them.
#[test]
fn a_dead_strategys_open_orders_are_cancelled() {
    let mut w = World::new(NotAppliedPolicy::GapFill);
    w.establish();
    for k in 0..5 {
        w.order(PX - k * TICK);
    }
    assert_eq!(w.core.open_orders(LocalStrategyIdx::new(0)), 5);
    w.to_exchange.clear();
    let now = w.now();
    w.core
        .on_control(Control::StrategyDied { strategy: 0 }, now, &mut w.sink);
    while w.core.sweep(w.now(), &mut w.sink, &mut w.wire) {
        w.pump();
    }
    w.pump();
    assert_eq!(
        w.templates_sent().iter().filter(|&&t| t == CANCEL).count(),
        5
    );
    assert_eq!(w.core.open_orders(LocalStrategyIdx::new(0)), 0);
    assert!(w
        .sink
        .logs
        .iter()
        .any(|l| matches!(l, LogEvent::CancelOnExit { orders: 5, .. })));
}

/// iLink 3 "Keep Alive" across an NTP step of our wall clock (+10 and -10 minutes): the
/// keepalive Sequence leaves on the monotonic schedule, neither side lapses, nothing closes.
#[test]
fn keepalive_survives_a_ten_minute_wall_clock_step_either_way() {
    for step in [600_000_000_000i64, -600_000_000_000] {
        let mut w = World::new(NotAppliedPolicy::GapFill);
        w.establish();
        w.to_exchange.clear();
        w.wall_step = step;
        let start = w.mono;
        w.advance_to(start + 6 * KA);
        let ours = w
            .templates_sent()
            .iter()
            .filter(|&&t| t == SEQUENCE)
            .count();
        assert!(ours >= 5, "step {step}: {ours} keepalives in 6 intervals");
        for f in &w.to_exchange {
            if let Message::Sequence(q) = decode(f).unwrap() {
                assert_eq!(q.keep_alive_interval_lapsed(), 0, "step {step}");
            }
        }
        assert!(
            !w.sink.logs.iter().any(|l| matches!(
                l,
                LogEvent::KeepAliveLapsed { .. } | LogEvent::Terminated { .. }
            )),
            "step {step}: {:?}",
            w.sink.logs
        );
        assert!(w.wire.closes.is_empty());
        assert_eq!(w.core.link_state(S0), LinkState::Up);
    }
}

/// iLink 3 "Retransmit Reject" (OutOfRange) for messages the exchange no longer holds: the
/// session fixes the request once (MsgCount 0), accepts the loss, tells the strategy
/// (MessagesLost) and counts it; the live ack held behind the gap is then delivered.
#[test]
fn retransmit_reject_out_of_range_loss_reaches_the_strategy_and_the_metric() {
    let dir = tempfile::tempdir().unwrap();
    let (store, rec) = SessionStore::open(dir.path(), "cme-eq", FsyncPolicy::Never).unwrap();
    let stored = SessionSeqState::from(&rec);
    let ex = exchange_keeping(1);
    let mut w = World::on_store(NotAppliedPolicy::GapFill, dir, store, stored, ex);
    w.establish();
    let c = w.conn.unwrap();
    w.ex.connection_mut(c).unwrap().faults_mut().skip_outbound =
        Some(crate::sim::SkipOutbound { after: 1, count: 2 });
    for k in 0..4 {
        w.order(PX - k * TICK);
    }
    w.advance_to(w.mono + 100 * MS);
    let requests: Vec<(u32, u16)> = w
        .to_exchange
        .iter()
        .filter_map(|f| match decode(f).unwrap() {
            Message::RetransmitRequest(r) => Some((r.from_seq_no(), r.msg_count())),
            _ => None,
        })
        .collect();
    assert_eq!(requests, [(2, 2), (2, 0)], "asked, then fixed once");
    let lost: Vec<(u16, u32)> = w
        .sink
        .events
        .iter()
        .filter(|(_, e)| e.kind == EventKind::MessagesLost)
        .map(|(_, e)| (e.session, e.count))
        .collect();
    assert_eq!(
        lost,
        [(0, 2)],
        "the strategy is told once, on its session 0"
    );
    assert_eq!(
        w.shared.sessions[0].messages_lost.load(Ordering::Relaxed),
        2
    );
    assert_eq!(
        count(&w.kinds(), EventKind::Ack),
        2,
        "acks 1 and 4 delivered"
    );
    assert_eq!(w.core.link_state(S0), LinkState::Up);
}

/// CERTIFICATION.md "Negotiate/Establish rejected for a bad HMAC, timestamp or ids" and
/// PROTOCOL.md "Fifth invalid Negotiate/Establish within 60 s closes the ports": against a
/// gateway that refuses every signature (the simulator's `--reject-signatures`), a minute holds
/// at most five TCP connections (four bad logons, then nothing until the window ends) and at
/// most ten log lines; the port stays open; status shows the throttle and the reject code;
/// HMACNotAuthenticated is permanent, so the back-off reaches minutes.
#[test]
fn negotiation_reject_hmac_not_authenticated_never_makes_a_fifth_bad_logon_within_60_s() {
    let mut w = World::new(NotAppliedPolicy::GapFill);
    w.reject_signatures = true;
    let key = w.ex.registry().key("ABC").unwrap();
    let start = w.mono;
    let minute = 60_000 * MS;
    w.advance_to(start + minute);
    let connects = w.wire.connects.len();
    let lines = w.sink.logs.len();
    assert!(
        (4..=5).contains(&connects),
        "{connects} connections in 60 s"
    );
    assert!(lines <= 10, "{lines} log lines in 60 s: {:#?}", w.sink.logs);
    assert!(!w.ex.registry().port_closed(key), "CME closed the port");
    assert_eq!(
        w.sink
            .logs
            .iter()
            .filter(|l| matches!(l, LogEvent::LogonRejected { code: 0, .. }))
            .count(),
        1,
        "the reject is said once"
    );
    let says: Vec<_> = w
        .sink
        .logs
        .iter()
        .filter_map(|l| match l {
            LogEvent::LogonPolicy { say, .. } => Some(*say),
            _ => None,
        })
        .collect();
    assert_eq!(says[0].mode, crate::daemon::logon::Mode::BackingOff);
    let throttled = says
        .iter()
        .find(|s| s.mode == crate::daemon::logon::Mode::Throttled)
        .expect("a throttled line");
    let until = throttled.throttled_until.expect("with a wall-clock time");
    assert!(
        until.0 > T0 && until.0 <= T0 + minute + 1_000 * MS,
        "{until:?}"
    );
    assert!(throttled.to_string().contains(" UTC"), "{throttled}");
    assert!(!w
        .sink
        .logs
        .iter()
        .any(|l| matches!(l, LogEvent::SendFailed { .. } | LogEvent::Alert { .. })));
    let sh = &w.shared.sessions[0];
    assert_eq!(sh.last_reject_code.load(Ordering::Relaxed), 0);
    assert!(sh.next_attempt_wall.load(Ordering::Relaxed) > T0);

    // Ten more minutes: no 60 s window with more than five connections, the back-off in
    // minutes at the end, still no port closure, a few lines per minute at most.
    w.advance_to(start + 11 * minute);
    assert!(!w.ex.registry().port_closed(key));
    let dials = &w.dial_times;
    for (i, &t) in dials.iter().enumerate() {
        let within = dials[i..].iter().take_while(|&&u| u < t + minute).count();
        assert!(
            within <= 5,
            "{within} connections within 60 s from {t}: {dials:?}"
        );
    }
    let last_gaps: Vec<u64> = dials
        .windows(2)
        .rev()
        .take(2)
        .map(|p| p[1] - p[0])
        .collect();
    assert!(
        last_gaps.iter().all(|&g| g >= minute / 2),
        "minutes apart at the end: {dials:?}"
    );
    let total = w.wire.connects.len();
    assert!(total <= 5 * 11, "{total} connections in 11 minutes");
    assert!(
        w.sink.logs.len() <= 10 * 11,
        "{} lines in 11 minutes",
        w.sink.logs.len()
    );
}

/// Issue 13: an inbound business template the router does not act on (an
/// ExecutionReportElimination, 524) is counted per template, and a business frame that fails to
/// decode (an ExecutionReportNew whose block is cut short) is counted as a decode error; neither
/// is dropped silently, and the session stays up. Housekeeping logs and exports both.
#[test]
fn unhandled_and_undecodable_inbound_messages_are_counted() {
    use crate::ilink3::{ExecutionReportNewWriter, MassQuoteAckWriter, FRAME_HEADER_LEN};
    let mut w = World::new(NotAppliedPolicy::GapFill);
    w.establish();
    let uuid = w
        .to_exchange
        .iter()
        .find_map(|f| match decode(f).unwrap() {
            Message::Establish(e) => Some(e.uuid()),
            _ => None,
        })
        .unwrap();
    let mut buf = [0u8; 512];
    let mut frames = Vec::new();
    for seq in 1..=2 {
        // Mass quoting is not supported: its acks are unhandled.
        let mut x = MassQuoteAckWriter::new(&mut buf).unwrap();
        x.set_seq_num(seq).set_uuid(uuid);
        let n = x.finish();
        frames.push(buf[..n].to_vec());
    }
    // A 522 acted on by the router (no such order: not "unhandled").
    let mut x = ExecutionReportNewWriter::new(&mut buf).unwrap();
    x.set_seq_num(3).set_uuid(uuid);
    let n = x.finish();
    frames.push(buf[..n].to_vec());
    // A 522 whose root block is 20 bytes: SeqNum and UUID readable, the rest missing.
    let mut cut = buf[..FRAME_HEADER_LEN + 20].to_vec();
    let len = cut.len() as u16;
    cut[..2].copy_from_slice(&len.to_le_bytes());
    cut[4..6].copy_from_slice(&20u16.to_le_bytes());
    cut[FRAME_HEADER_LEN..FRAME_HEADER_LEN + 4].copy_from_slice(&4u32.to_le_bytes());
    frames.push(cut);
    for f in &frames {
        let now = w.now();
        w.core.on_data(S0, f, Stamp::NONE, now, &mut w.sink);
    }
    let inbound = &w.core.shared.sessions[0].inbound;
    assert_eq!(inbound.unhandled().collect::<Vec<_>>(), vec![(545, 2)]);
    assert_eq!(inbound.decode_errors(), (1, 522));
    assert_eq!(w.core.link_state(S0), LinkState::Up);
}

/// Drop Copy 4.0 (CME): every execution report with an ExecID goes to housekeeping for the
/// reconciliation, with its session, template and ExecID.
#[test]
fn drop_copy_4_0_every_execution_report_is_handed_over_for_reconciliation() {
    let mut w = World::new(NotAppliedPolicy::GapFill);
    w.establish();
    w.order(PX);
    w.order(PX - TICK);
    assert_eq!(count(&w.kinds(), EventKind::Ack), 2);
    assert_eq!(w.sink.exec.len(), 2, "{:?}", w.sink.exec);
    for c in &w.sink.exec {
        assert_eq!(c.template, 522);
        assert_eq!(c.session, 0);
        assert!(!c.exec_id().is_empty());
        assert!(!c.cl_ord_id().is_empty());
        assert_eq!(c.wall, w.now().wall.0);
    }
    assert_ne!(w.sink.exec[0].exec_id(), w.sink.exec[1].exec_id());
}

/// The order journal's start-up replay of `records`: the open orders it restores.
fn replay(records: &[(OrderChange, OrderSnapshot)]) -> Vec<OrderSnapshot> {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut j, _) = OrderJournal::open(dir.path(), FsyncPolicy::Never).unwrap();
        for (c, snap) in records {
            j.append(*c, snap).unwrap();
        }
    }
    OrderJournal::open(dir.path(), FsyncPolicy::Never)
        .unwrap()
        .1
}

/// The exchange of `w` (its orders kept), its connection closed, for the next run.
fn exchange_of(w: &mut World) -> Exchange {
    if let Some(c) = w.conn.take() {
        w.ex.close(c);
    }
    std::mem::replace(&mut w.ex, exchange())
}

/// A later run of the daemon (another ClOrdID prefix, a fresh store) against `ex`, with the
/// open orders `snaps` restored.
fn restart(ex: Exchange, on_restart: OnRestart, snaps: &[OrderSnapshot]) -> World {
    let dir = tempfile::tempdir().unwrap();
    let (store, rec) = SessionStore::open(dir.path(), "cme-eq", FsyncPolicy::Never).unwrap();
    let mut w = World::restarted(
        NotAppliedPolicy::GapFill,
        dir,
        store,
        SessionSeqState::from(&rec),
        ex,
        (PREFIX_US + 60_000_000, on_restart),
        snaps,
        Vec::new(),
    );
    // A minute later: a new UUID greater than the last run's.
    w.mono += 60_000 * MS;
    w
}

fn changes_of(w: &World, order_id: u64) -> Vec<OrderChange> {
    w.sink
        .orders
        .iter()
        .filter(|(_, s)| s.client_id == order_id)
        .map(|(c, _)| *c)
        .collect()
}

const MASS_STATUS: u16 = 530;

/// Every change of an order's state is handed over for the order journal: sent (Open),
/// acknowledged with its OrderID (Update), cancelled (Finished); a report that changes nothing
/// makes no record.
#[test]
fn every_order_state_change_is_handed_to_the_order_journal() {
    let mut w = World::new(NotAppliedPolicy::GapFill);
    w.establish();
    w.order(PX);
    assert_eq!(
        changes_of(&w, 1),
        vec![OrderChange::Open, OrderChange::Update]
    );
    let acked = w.sink.orders.last().unwrap().1;
    assert!(acked.exchange_id.is_some(), "{acked:?}");
    assert_eq!((acked.strategy, acked.session, acked.qty), (0, 0, 1));
    w.cancel(1);
    assert_eq!(
        changes_of(&w, 1),
        vec![
            OrderChange::Open,
            OrderChange::Update,
            OrderChange::Finished
        ]
    );
    let done = w.sink.orders.last().unwrap().1;
    assert_eq!(done.cl_ord_id, acked.cl_ord_id);
    assert!(replay(&w.sink.orders).is_empty());
}

/// CME "Order Mass Status Request" (530 → 532, CERTIFICATION.md: MOSR) after a restart: the
/// restored orders CME reports keep working (a re-attaching strategy gets them as `Recovered`
/// and can cancel them by their old ClOrdID); one CME no longer has (cancelled while its
/// record was lost) is finished and its owner told; one CME has that the journal lost is
/// logged and counted.
#[test]
fn mass_status_after_restart_keeps_reported_orders_finishes_missing_ones_counts_unknown() {
    let mut a = World::new(NotAppliedPolicy::GapFill);
    a.establish();
    for k in 0..4 {
        a.order(PX - k * TICK);
    }
    a.cancel(3);
    assert_eq!(a.core.open_orders(LocalStrategyIdx::new(0)), 3);
    // The journal as a crash left it: order 3's Finished record and all of order 4's lost.
    let kept: Vec<_> = a
        .sink
        .orders
        .iter()
        .filter(|(c, s)| s.client_id != 4 && !(s.client_id == 3 && *c == OrderChange::Finished))
        .copied()
        .collect();
    let snaps = replay(&kept);
    assert_eq!(
        snaps.iter().map(|s| s.client_id).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let ex = exchange_of(&mut a);

    let mut w = restart(ex, OnRestart::Recover, &snaps);
    assert_eq!(w.core.open_orders(LocalStrategyIdx::new(0)), 3);
    w.establish();
    w.sweep();
    w.sweep();
    assert_eq!(
        w.templates_sent()
            .iter()
            .filter(|&&t| t == MASS_STATUS)
            .count(),
        1,
        "one 530 per session, once"
    );
    let cancelled: Vec<u64> = w
        .sink
        .events
        .iter()
        .filter(|(_, e)| e.kind == EventKind::Cancelled)
        .map(|(_, e)| e.order_id)
        .collect();
    assert_eq!(cancelled, vec![3]);
    assert_eq!(w.core.open_orders(LocalStrategyIdx::new(0)), 2);
    let outcome = w.sink.logs.iter().find_map(|l| match l {
        LogEvent::MassStatusReconciled { outcome, .. } => Some(*outcome),
        _ => None,
    });
    assert_eq!(
        outcome,
        Some(MassStatusOutcome {
            open_known: 2,
            unknown: 1,
            finished: 1,
            done_at_exchange: 0,
        })
    );
    assert_eq!(
        w.shared.sessions[0]
            .restart_unknown_orders
            .load(Ordering::Relaxed),
        1
    );
    assert_eq!(changes_of(&w, 3), vec![OrderChange::Finished]);

    // The strategy re-attaches: its two working orders, same ids; it cancels one.
    w.sink.events.clear();
    w.core
        .strategy_attached(LocalStrategyIdx::new(0), false, &mut w.sink);
    let recovered: Vec<u64> = w
        .sink
        .events
        .iter()
        .filter(|(_, e)| e.kind == EventKind::Recovered)
        .map(|(_, e)| e.order_id)
        .collect();
    assert_eq!(recovered, vec![1, 2]);
    w.cancel(1);
    assert!(w
        .sink
        .events
        .iter()
        .any(|(_, e)| e.kind == EventKind::Cancelled && e.order_id == 1));
    assert_eq!(w.core.open_orders(LocalStrategyIdx::new(0)), 1);
    // ... and replaces the other (by its old ClOrdID and OrderID).
    let now = w.now();
    let replace = Request {
        request_id: 50,
        enqueue_ns: 0,
        body: RequestBody::Replace {
            order_id: 2,
            order: Order {
                session: 0,
                security_id: ES,
                side: Side::Buy,
                qty: 3,
                price: Some(PX - 5 * TICK),
                ord_type: OrdType::Limit,
                tif: TimeInForce::Day,
                stop_px: None,
                min_qty: None,
                display_qty: None,
                expire_date: None,
            },
        },
    };
    w.core.on_request(
        LocalStrategyIdx::new(0),
        Ok(replace),
        Stamp::NONE,
        now,
        &mut w.sink,
        &mut w.wire,
    );
    w.pump();
    let replaced = w
        .sink
        .events
        .iter()
        .find(|(_, e)| e.kind == EventKind::Replaced)
        .map(|(_, e)| (e.order_id, e.request_id, e.qty, e.price));
    assert_eq!(replaced, Some((2, 50, 3, Some(PX - 5 * TICK))));
    let at_exchange = w.ex.engine().orders_of(crate::sim::SessionKey(0));
    assert_eq!(
        at_exchange.len(),
        2,
        "order 2 replaced, order 4 unknown to us"
    );
    assert!(at_exchange
        .iter()
        .any(|o| o.price == PX - 5 * TICK && o.order_qty == 3));
}

/// `on_restart = "cancel"`: once established, one OrderMassActionRequest (529) by market
/// segment (scope 9 with MarketSegmentID, as CME requires) cancels every order of the
/// session; the restored orders finish and their owner is told.
#[test]
fn on_restart_cancel_mass_cancels_the_session_by_market_segment_once() {
    let mut a = World::new(NotAppliedPolicy::GapFill);
    a.establish();
    a.order(PX);
    a.order(PX - TICK);
    let snaps = replay(&a.sink.orders);
    assert_eq!(snaps.len(), 2);
    let ex = exchange_of(&mut a);

    let mut w = restart(ex, OnRestart::Cancel, &snaps);
    w.establish();
    w.sweep();
    w.sweep();
    let masses: Vec<(u8, Option<u8>)> = w
        .to_exchange
        .iter()
        .filter_map(|f| match decode(f).unwrap() {
            Message::OrderMassActionRequest(m) => {
                Some((m.mass_action_scope(), m.market_segment_id()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(masses, vec![(9, Some(SEGMENT))]);
    assert!(!w.templates_sent().contains(&MASS_STATUS));
    assert_eq!(w.core.open_orders(LocalStrategyIdx::new(0)), 0);
    let mut cancelled: Vec<u64> = w
        .sink
        .events
        .iter()
        .filter(|(_, e)| e.kind == EventKind::Cancelled)
        .map(|(_, e)| e.order_id)
        .collect();
    cancelled.sort_unstable();
    assert_eq!(cancelled, vec![1, 2]);
    assert!(w
        .ex
        .engine()
        .orders_of(crate::sim::SessionKey(0))
        .is_empty());
    let mut journal: Vec<_> = snaps.iter().map(|s| (OrderChange::Open, *s)).collect();
    journal.extend(w.sink.orders.iter().copied());
    assert!(replay(&journal).is_empty(), "{journal:?}");
    assert!(w.sink.logs.iter().any(|l| matches!(
        l,
        LogEvent::RestartAction {
            requests: 1,
            restored: 2,
            ..
        }
    )));
}

/// CME "Order Status Request" (533 → 532, CERTIFICATION.md): a strategy asks about its open
/// order; the Status report becomes a `Status` event echoing the request id with OrdStatus
/// in `restatement`. An order the strategy does not have is refused locally.
#[test]
fn order_status_request_is_answered_by_a_status_event_echoing_the_request_id() {
    let mut w = World::new(NotAppliedPolicy::GapFill);
    w.establish();
    w.order(PX);
    let ask = |w: &mut World, order_id: u64| {
        let now = w.now();
        let req = Request {
            request_id: 77 + order_id,
            enqueue_ns: 0,
            body: RequestBody::OrderStatus {
                session: 0,
                order_id,
            },
        };
        w.core.on_request(
            LocalStrategyIdx::new(0),
            Ok(req),
            Stamp::NONE,
            now,
            &mut w.sink,
            &mut w.wire,
        );
        w.pump();
    };
    w.sink.events.clear();
    ask(&mut w, 1);
    assert_eq!(w.templates_sent().last(), Some(&533));
    let status: Vec<&Event> = w
        .sink
        .events
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e.kind == EventKind::Status)
        .collect();
    assert_eq!(status.len(), 1, "{:?}", w.sink.events);
    let e = status[0];
    assert_eq!(
        (e.request_id, e.order_id, e.restatement, e.leaves_qty),
        (78, 1, b'0', 1)
    );
    assert!(e.exchange_order_id != 0);
    assert_eq!(w.core.open_orders(LocalStrategyIdx::new(0)), 1);
    w.sink.events.clear();
    ask(&mut w, 9);
    assert_eq!(w.sink.events.len(), 1);
    let e = w.sink.events[0].1;
    assert_eq!(
        (e.kind, e.reason, e.request_id),
        (EventKind::Reject, Some(RejectReason::UnknownOrder), 86)
    );
}

/// The connection goes before the mass status after a restart is answered: the restored
/// orders stay open, and the 530 goes out again after the next Establish, whose answer
/// reconciles them.
#[test]
fn mass_status_lost_with_the_connection_is_sent_again_after_the_next_establish() {
    let mut a = World::new(NotAppliedPolicy::GapFill);
    a.establish();
    a.order(PX);
    a.order(PX - TICK);
    let snaps = replay(&a.sink.orders);
    let ex = exchange_of(&mut a);

    let mut w = restart(ex, OnRestart::Recover, &snaps);
    w.establish();
    w.deliver = false;
    w.sweep();
    assert_eq!(w.templates_sent().last(), Some(&MASS_STATUS));
    let now = w.now();
    w.core
        .on_closed(S0, CloseReason::PeerClosed, now, &mut w.sink);
    if let Some(c) = w.conn.take() {
        w.ex.close(c);
    }
    w.deliver = true;
    assert!(!w
        .sink
        .logs
        .iter()
        .any(|l| matches!(l, LogEvent::MassStatusReconciled { .. })));
    let end = w.mono + 10_000 * MS;
    while w.core.link_state(S0) != LinkState::Up {
        let t = w.mono + 10 * MS;
        w.advance_to(t);
        assert!(w.mono < end, "no reconnect: {:?}", w.sink.logs);
    }
    w.sweep();
    assert_eq!(
        w.templates_sent()
            .iter()
            .filter(|&&t| t == MASS_STATUS)
            .count(),
        2
    );
    let outcome = w.sink.logs.iter().find_map(|l| match l {
        LogEvent::MassStatusReconciled { outcome, .. } => Some(*outcome),
        _ => None,
    });
    assert_eq!(outcome.map(|o| (o.open_known, o.finished)), Some((2, 0)));
    w.sweep();
    assert_eq!(
        w.templates_sent()
            .iter()
            .filter(|&&t| t == MASS_STATUS)
            .count(),
        2,
        "not a third time"
    );
}

const PARTY_DEFINITION: u16 = 518;

fn party(id: u64) -> crate::daemon::party::PartySpec {
    crate::daemon::party::PartySpec {
        name: "desk".into(),
        id,
        pre_registered: false,
        firm: FirmFields::new("DESK01", "US,NY", id),
        strategies: vec![StrategyIdx::new(0)],
        accepted_uuid: 0,
        roles: vec![
            (1, "007".into()),
            (24, "ACCT1".into()),
            (118, "DESK01".into()),
        ],
        cust_order_handling: Some(b'W'),
        cti: Some(2),
        clearing_account_type: Some(1),
        smp_id: None,
        smp_instruction: None,
        avg_px_group_id: String::new(),
        avg_px_indicator: None,
        clearing_trade_price_type: None,
        cmta_giveup: None,
    }
}

impl World {
    /// The exchange closes the connection; the core reconnects and establishes again (same
    /// UUID).
    fn reconnect(&mut self) {
        let c = self.conn.take().unwrap();
        self.ex.close(c);
        let now = self.now();
        self.core
            .on_closed(S0, CloseReason::PeerClosed, now, &mut self.sink);
        assert_ne!(self.core.link_state(S0), LinkState::Up);
        let until = self.mono + 10_000 * MS;
        while self.core.link_state(S0) != LinkState::Up {
            let t = self.mono + 10 * MS;
            self.advance_to(t);
            assert!(self.mono < until, "not established again");
        }
    }

    fn sent(&self, template: u16) -> usize {
        self.templates_sent()
            .iter()
            .filter(|&&t| t == template)
            .count()
    }

    fn business_events(&self) -> Vec<Event> {
        self.sink
            .events
            .iter()
            .map(|(_, e)| *e)
            .filter(|e| e.kind != EventKind::SessionState)
            .collect()
    }
}

/// AutoCert+ "Party details define / acknowledge" (CERTIFICATION.md sections 1.2 and 3):
/// right after Establish the on-demand party goes in a 518 with its roles, the 519 accepts it,
/// and an order naming it carries its PartyDetailsListReqID, SenderID and Location and is
/// accepted by an exchange that enforces registration. Re-establishing under the same UUID
/// does not define it again.
#[test]
fn party_details_define_acknowledge_then_an_order_naming_it_is_accepted() {
    let mut w = World::with_parties(vec![party(1001)]);
    w.ex.engine_mut().set_parties_required(true);
    w.establish();
    assert_eq!(
        w.templates_sent()[..3],
        [NEGOTIATE, ESTABLISH, PARTY_DEFINITION]
    );
    let def = w
        .to_exchange
        .iter()
        .find_map(|f| match decode(f).unwrap() {
            Message::PartyDetailsDefinitionRequest(m) => Some((
                m.party_details_list_req_id(),
                m.list_update_action(),
                m.cust_order_capacity(),
                m.party_details()
                    .into_iter()
                    .map(|e| e.party_detail_role())
                    .collect::<Vec<_>>(),
            )),
            _ => None,
        })
        .unwrap();
    assert_eq!(def, (1001, b'A', Some(2), vec![1, 24, 118]));
    assert_eq!(
        w.core.party_state(LocalSessionIdx::new(0), 0),
        Some(PartyState::Accepted)
    );
    let published = &w.shared.sessions[0].parties[0];
    assert_eq!(published.state(), PartyState::Accepted);
    assert_eq!(published.status.load(Ordering::Relaxed), 0);
    assert_ne!(published.answered_wall.load(Ordering::Relaxed), 0);

    w.order(PX);
    let ev = w.business_events();
    assert_eq!(
        ev.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [EventKind::Ack],
        "{ev:?}"
    );
    let nos = w
        .to_exchange
        .iter()
        .find_map(|f| match decode(f).unwrap() {
            Message::NewOrderSingle(m) => Some((
                m.party_details_list_req_id(),
                m.sender_id().as_bytes().to_vec(),
                m.location().as_bytes().to_vec(),
            )),
            _ => None,
        })
        .unwrap();
    assert_eq!(nos, (1001, b"DESK01".to_vec(), b"US,NY".to_vec()));

    // Same UUID: accepted this week, not defined again; orders still go.
    w.reconnect();
    assert_eq!(w.sent(PARTY_DEFINITION), 1);
    w.order(PX - TICK);
    assert_eq!(w.sent(NEW_ORDER), 2);
    assert_eq!(count(&w.kinds(), EventKind::Ack), 2);
}

/// CME rejects a business message quoting an unregistered PartyDetailsListReqID
/// (CERTIFICATION.md section 3): a party the 519 refused blocks its orders locally with the
/// party named (nothing reaches CME) and is defined again at the next Establish.
#[test]
fn party_details_refused_by_the_519_orders_naming_it_are_refused_locally() {
    // Id 0 is refused by the simulator (CME: ids are non-zero).
    let mut w = World::with_parties(vec![party(0)]);
    w.ex.engine_mut().set_parties_required(true);
    w.establish();
    assert_eq!(
        w.core.party_state(LocalSessionIdx::new(0), 0),
        Some(PartyState::Rejected)
    );
    assert_eq!(
        w.shared.sessions[0].parties[0]
            .status
            .load(Ordering::Relaxed),
        2
    );
    assert!(w.sink.logs.iter().any(|l| matches!(
        l,
        LogEvent::Party { refused: true, what, .. } if what.as_str().contains("refused (status 2)")
    )));
    w.order(PX);
    let ev = w.business_events();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].kind, EventKind::Reject);
    assert_eq!(ev[0].reason, Some(RejectReason::PartyNotRegistered));
    assert_eq!(ev[0].text.as_str(), Some("party desk refused by CME"));
    assert_eq!(w.sent(NEW_ORDER), 0, "refused locally, not sent");
    // The next Establish (same UUID) defines it again.
    w.reconnect();
    assert_eq!(w.sent(PARTY_DEFINITION), 2);
}

/// An order quoting a PartyDetailsListReqID the exchange does not know (a strategy naming
/// no `[[ilink3.party]]`, the session's unregistered `party_details_list_req_id`) is rejected
/// by the exchange (BusinessReject, reason 1, RefTagID 1505) and the strategy is told.
#[test]
fn an_order_with_an_unknown_party_id_is_rejected_by_the_exchange() {
    let mut w = World::new(NotAppliedPolicy::GapFill);
    w.ex.engine_mut().set_parties_required(true);
    w.establish();
    w.order(PX);
    assert_eq!(w.sent(NEW_ORDER), 1);
    let ev = w.business_events();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].kind, EventKind::Reject);
    assert_eq!(ev[0].reason, Some(RejectReason::Exchange));
    assert_eq!(w.core.open_orders(LocalStrategyIdx::new(0)), 0);
}

/// `ilinkd status --parties` (CME PartyDetailsListRequest 537 → PartyDetailsListReport 538):
/// the control socket's request makes the engine send one 537 for the firm on the
/// established session; the 538 listing the registered id is published for status.
#[test]
fn party_details_list_request_marks_the_ids_cme_lists() {
    let mut w = World::with_parties(vec![party(1001)]);
    w.ex.engine_mut().set_parties_required(true);
    w.establish();
    // The start-up mass status (530, `on_restart = "recover"`) goes out first.
    w.sweep();
    let listed = |w: &World| {
        w.shared.sessions[0].parties[0]
            .listed_wall
            .load(Ordering::Relaxed)
    };
    assert_eq!(listed(&w), 0);
    let now = w.now();
    assert!(
        !w.core.sweep(now, &mut w.sink, &mut w.wire),
        "nothing asked yet"
    );
    w.shared.party_list_gen.fetch_add(1, Ordering::AcqRel);
    let now = w.now();
    assert!(w.core.sweep(now, &mut w.sink, &mut w.wire));
    w.pump();
    assert_eq!(w.sent(537), 1);
    let req = w
        .to_exchange
        .iter()
        .find_map(|f| match decode(f).unwrap() {
            Message::PartyDetailsListRequest(m) => Some(
                m.requesting_party_ids()
                    .into_iter()
                    .map(|e| e.requesting_party_id().as_bytes().to_vec())
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .unwrap();
    assert_eq!(req, vec![b"007".to_vec()]);
    assert_eq!(listed(&w), w.now().wall.0);
    // Once per request.
    let now = w.now();
    w.core.sweep(now, &mut w.sink, &mut w.wire);
    w.pump();
    assert_eq!(w.sent(537), 1);
    assert!(w.core.shared.sessions[0]
        .inbound
        .unhandled()
        .next()
        .is_none());
}

/// CME may answer a 518 with a BusinessReject (RefMsgType CX) instead of a 519
/// (CERTIFICATION.md section 3, "handle both"): the party is refused and its orders are
/// refused locally.
#[test]
fn party_details_definition_business_reject_refuses_the_party() {
    use crate::ilink3::BusinessRejectWriter;
    let mut w = World::with_parties(vec![party(1001)]);
    w.establish();
    assert_eq!(
        w.core.party_state(LocalSessionIdx::new(0), 0),
        Some(PartyState::Accepted)
    );
    let st = w.core.fixp(LocalSessionIdx::new(0)).unwrap().stored_state();
    let (uuid, seq) = (st.uuid, st.next_inbound_seq);
    let mut buf = [0u8; 512];
    let mut x = BusinessRejectWriter::new(&mut buf).unwrap();
    x.set_ref_msg_type("CX").unwrap();
    x.set_seq_num(seq)
        .set_uuid(uuid)
        .set_party_details_list_req_id(Some(1001))
        .set_business_reject_reason(5)
        .set_ref_tag_id(Some(1505));
    let n = x.finish();
    let now = w.now();
    w.core.on_data(S0, &buf[..n], Stamp::NONE, now, &mut w.sink);
    assert_eq!(
        w.core.party_state(LocalSessionIdx::new(0), 0),
        Some(PartyState::Rejected)
    );
    assert_eq!(
        w.shared.sessions[0].parties[0]
            .status
            .load(Ordering::Relaxed),
        1005
    );
    w.order(PX);
    let ev = w.business_events();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].reason, Some(RejectReason::PartyNotRegistered));
    assert_eq!(w.sent(NEW_ORDER), 0);
}

/// iLink 3 NotApplied answered by a gap fill over a 518 whose 519 never came: the definition
/// did not reach CME, so it is sent again (not left pending until the next week).
#[test]
fn not_applied_over_a_pending_party_definition_sends_it_again() {
    let mut w = World::with_parties(vec![party(1001)]);
    w.establish();
    assert_eq!(w.sent(PARTY_DEFINITION), 1);
    // As if the 519 to that 518 (seq 1) never came.
    w.core.ilink[0].parties[0].state = PartyState::Pending;
    assert_eq!(w.core.ilink[0].parties[0].seq, 1);
    let c = w.conn.unwrap();
    w.ex.inject_not_applied(c, 1, 1);
    w.pump();
    assert_eq!(
        w.core.party_state(LocalSessionIdx::new(0), 0),
        Some(PartyState::Unregistered)
    );
    let t = w.mono + 10 * MS;
    w.advance_to(t);
    assert_eq!(w.sent(PARTY_DEFINITION), 2);
    assert_eq!(
        w.core.party_state(LocalSessionIdx::new(0), 0),
        Some(PartyState::Accepted)
    );
}
