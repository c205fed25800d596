//! The simulator over real loopback TCP: the project's own clients (`ilink3::session::FixpSession`,
//! `dropcopy::session::DropCopySession`) driven by a small blocking driver (a `TcpStream` with a short read
//! timeout, the real clock) against `SimServer`, through every fault; and hand-built frames that
//! break each logon rule, checked for CME's exact answer over the socket.
//!
//! Every loop is bounded by a deadline of a few seconds; reads block for at most a few
//! milliseconds (no busy spinning).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ilinkd::auth::keys::KeyFile;
use ilinkd::auth::{AccessKeyId, EstablishCanonical, FixSignature, HmacSigner, NegotiateCanonical};
use ilinkd::config::NotAppliedPolicy;
use ilinkd::dropcopy::session::{
    DisconnectReason as FixDisconnect, DropCopyEvent, DropCopySession, SeqNums,
    SessionConfig as FixConfig,
};
use ilinkd::dropcopy::{Encoder, FieldIndex, ReportParser, ReportSource};
use ilinkd::ilink3::session::{
    ConnectMode, Credentials, DisconnectReason, FixpEvent, FixpSession, FixpState,
    NotAppliedAction, SessionConfig, SessionError, SessionSeqState, Stage,
};
use ilinkd::ilink3::{
    decode, EstablishWriter, Frames, Message, NegotiateWriter, NewOrderSingleWriter,
};
use ilinkd::sim::config::{
    AfterBy, AfterCount, DropCopyEndpoint, Ilink3Endpoint, SessionFaults, SimKey,
};
use ilinkd::sim::{Instrument, SimConfig, SimHandle, SimServer, Summary};
use ilinkd::store::keys::today_utc;
use ilinkd::types::{Nanos, Now, WallNanos};

const ES: i32 = 42;
const TICK: i64 = 250_000_000;
const PX: i64 = 4_500_000_000_000;
const DEADLINE: Duration = Duration::from_secs(5);
const READ_WAIT: Duration = Duration::from_millis(3);

/// The sessions' clocks: monotonic (from the first call) for timers, wall for the wire.
fn clocks() -> Now {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let origin = *ORIGIN.get_or_init(std::time::Instant::now);
    Now {
        mono: Nanos(origin.elapsed().as_nanos() as u64 + 1),
        wall: WallNanos(now_ns()),
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn demo_key(name: &str) -> (String, HmacSigner) {
    let kf = KeyFile::demo(name, today_utc());
    let k = kf.active();
    (k.access_key_id.as_str().to_string(), k.signer())
}

fn sim_key(name: &str) -> SimKey {
    let (access_key_id, signer) = demo_key(name);
    SimKey {
        access_key_id,
        signer,
    }
}

/// iLink 3 sessions `AAA`, `BBB` (firm 001) and `CCC` (firm 002); Drop Copy `DC1` (firm 001,
/// 35=8) and `DC2` (firm 001, 35=n). Short keepalive/heartbeat limits keep the timer tests fast.
fn base_config() -> SimConfig {
    let mut cfg = SimConfig::new();
    cfg.keepalive_min_ms = 100;
    cfg.heartbeat_min_s = 1;
    cfg.instruments = vec![Instrument {
        security_id: ES,
        tick: TICK,
    }];
    cfg.symbols.insert(ES, "ESZ6".into());
    for (id, firm) in [("AAA", "001"), ("BBB", "001"), ("CCC", "002")] {
        cfg.ilink3.push(Ilink3Endpoint {
            session_id: id.into(),
            firm_id: firm.into(),
            keys: vec![sim_key(&format!("il-{id}"))],
            port: 0,
            faults: SessionFaults::default(),
        });
    }
    for (comp, xml) in [("DC1", false), ("DC2", true)] {
        cfg.dropcopy.push(DropCopyEndpoint {
            sender_comp_id: comp.into(),
            firms: vec!["001".into()],
            keys: vec![sim_key(&format!("dc-{comp}"))],
            port: 0,
            xml_non_fix: xml,
            faults: SessionFaults::default(),
        });
    }
    cfg
}

fn start(cfg: SimConfig) -> SimHandle {
    SimServer::start(cfg).expect("simulator starts")
}

fn with_ilink3_faults(session: &str, faults: SessionFaults) -> SimConfig {
    let mut cfg = base_config();
    cfg.ilink3
        .iter_mut()
        .find(|e| e.session_id == session)
        .unwrap()
        .faults = faults;
    cfg
}

fn with_dropcopy_faults(comp: &str, faults: SessionFaults) -> SimConfig {
    let mut cfg = base_config();
    cfg.dropcopy
        .iter_mut()
        .find(|e| e.sender_comp_id == comp)
        .unwrap()
        .faults = faults;
    cfg
}

fn connect_tcp(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect to the simulator");
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(READ_WAIT)).unwrap();
    s
}

/// Reads what is there (waiting at most READ_WAIT); `None` on EOF or a reset.
fn read_some(sock: &mut TcpStream, buf: &mut [u8]) -> Option<usize> {
    match sock.read(buf) {
        Ok(0) => None,
        Ok(n) => Some(n),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Some(0),
        Err(e) if e.kind() == ErrorKind::Interrupted => Some(0),
        Err(_) => None,
    }
}

// ---- iLink 3 client driver ------------------------------------------------------------------

struct Ilink3Client {
    s: FixpSession,
    addr: SocketAddr,
    sock: Option<TcpStream>,
    events: Vec<FixpEvent>,
    /// `(seq, template, retransmitted)` of delivered business messages.
    delivered: Vec<(u32, u16, bool)>,
    /// The simulator closed the connection.
    peer_closed: u32,
    next_cl: u32,
}

impl Ilink3Client {
    fn new(sim: &SimHandle, session: &str, firm: &str, keepalive_ms: u16) -> Self {
        let (access_key_id, signer) = demo_key(&format!("il-{session}"));
        let cfg = SessionConfig {
            session_id: session.into(),
            firm_id: firm.into(),
            trading_system_name: "ilinkd".into(),
            trading_system_version: "test".into(),
            trading_system_vendor: "ilinkd".into(),
            keepalive_ms,
            not_applied: NotAppliedPolicy::GapFill,
        };
        Ilink3Client {
            s: FixpSession::new(
                cfg,
                Credentials {
                    access_key_id,
                    signer,
                },
                SessionSeqState::default(),
            ),
            addr: sim.ilink3_addr(session).unwrap(),
            sock: None,
            events: Vec::new(),
            delivered: Vec::new(),
            peer_closed: 0,
            next_cl: 1,
        }
    }

    fn connect(&mut self) -> Result<(), SessionError> {
        let sock = connect_tcp(self.addr);
        self.s.connect(clocks(), ConnectMode::Auto)?;
        if let Some(uuid) = self.s.pending_uuid() {
            self.s.uuid_persisted(clocks(), uuid, true)?;
        }
        self.sock = Some(sock);
        Ok(())
    }

    fn close(&mut self) {
        if let Some(s) = self.sock.take() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        self.s.on_disconnected();
    }

    /// One round: send, read (waits up to READ_WAIT), timers, events.
    fn pump(&mut self) {
        let Some(sock) = self.sock.as_mut() else {
            return;
        };
        if let Some(b) = self.s.poll_transmit() {
            if sock.write_all(b).is_err() {
                self.close();
                return;
            }
        }
        let mut buf = [0u8; 1 << 16];
        match read_some(sock, &mut buf) {
            None => {
                self.peer_closed += 1;
                self.close();
            }
            Some(0) => {}
            Some(n) => self.s.handle_input(clocks(), &buf[..n]),
        }
        let now = clocks();
        if self.s.next_deadline().is_some_and(|d| d <= now.mono) {
            self.s.handle_timeout(now);
        }
        let mut disconnect = false;
        while let Some(e) = self.s.poll_event() {
            if let FixpEvent::Business(b) = e {
                self.delivered.push((b.seq, b.template_id, b.retransmitted));
            }
            disconnect |= matches!(e, FixpEvent::Disconnect(_));
            self.events.push(e);
        }
        if disconnect {
            if let (Some(sock), Some(b)) = (self.sock.as_mut(), self.s.poll_transmit()) {
                let _ = sock.write_all(b);
            }
            self.close();
        }
    }

    fn run_until(&mut self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let end = Instant::now() + DEADLINE;
        while !done(self) {
            assert!(
                Instant::now() < end,
                "timed out waiting for {what}; events: {:?}",
                self.events
            );
            self.pump();
        }
    }

    fn establish(&mut self) {
        self.connect().unwrap();
        self.run_until("Established", |c| c.s.state() == FixpState::Established);
    }

    fn order(&mut self, side: u8, price: i64, qty: u32) -> u32 {
        let cl = format!("CL{}", self.next_cl);
        self.next_cl += 1;
        self.s
            .send_business(clocks(), |seq, _uuid, buf| {
                let mut w = NewOrderSingleWriter::new(buf)?;
                w.set_cl_ord_id(&cl)?;
                w.set_sender_id("TRADER")?;
                w.set_seq_num(seq)
                    .set_price(Some(price))
                    .set_order_qty(qty)
                    .set_security_id(ES)
                    .set_side(side)
                    .set_ord_type(b'2')
                    .set_order_request_id(u64::from(seq));
                Ok(w.finish())
            })
            .unwrap()
    }

    fn count(&self, f: impl Fn(&FixpEvent) -> bool) -> usize {
        self.events.iter().filter(|e| f(e)).count()
    }
}

// ---- Drop Copy client driver ----------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    LoggedOn,
    App { seq: u64, poss_dup: bool },
    ResendRequested { from: u64, to: u64 },
    GapFilled { next_in: u64 },
    LoggedOut { next_expected: Option<u64> },
    Disconnect(FixDisconnect),
    Other(String),
}

struct DcClient {
    s: DropCopySession,
    addr: SocketAddr,
    sock: Option<TcpStream>,
    seen: Vec<Seen>,
    raws: Vec<Vec<u8>>,
}

impl DcClient {
    fn new(sim: &SimHandle, comp: &str, heartbeat_s: u32, seqs: SeqNums) -> Self {
        let (id, signer) = demo_key(&format!("dc-{comp}"));
        let cfg = FixConfig {
            sender_comp_id: comp.into(),
            sender_sub_id: "OPS".into(),
            target_comp_id: "CME".into(),
            target_sub_id: "G".into(),
            sender_location_id: "US,IL".into(),
            heartbeat_s,
            app_system_name: "ilinkd".into(),
            app_system_version: "test".into(),
            app_system_vendor: "ilinkd".into(),
            logon_timeout_s: 3,
            logout_timeout_s: 2,
        };
        DcClient {
            s: DropCopySession::new(cfg, AccessKeyId::parse(&id).unwrap(), signer, seqs).unwrap(),
            addr: sim.dropcopy_addr(comp).unwrap(),
            sock: None,
            seen: Vec::new(),
            raws: Vec::new(),
        }
    }

    fn connect(&mut self) {
        self.sock = Some(connect_tcp(self.addr));
        self.s.connect(clocks()).unwrap();
    }

    fn close(&mut self) {
        if let Some(s) = self.sock.take() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        self.s.connection_lost();
    }

    fn pump(&mut self) {
        let Some(sock) = self.sock.as_mut() else {
            return;
        };
        if let Some(b) = self.s.poll_transmit() {
            if sock.write_all(b).is_err() {
                self.close();
                return;
            }
        }
        let mut buf = [0u8; 1 << 16];
        match read_some(sock, &mut buf) {
            None => self.close(),
            Some(0) => {}
            Some(n) => self.s.handle_input(clocks(), &buf[..n]),
        }
        let now = clocks();
        if self.s.next_deadline().is_some_and(|d| d <= now.mono) {
            self.s.handle_timeout(now);
        }
        let mut disconnect = false;
        while let Some(e) = self.s.poll_event() {
            let seen = match e {
                DropCopyEvent::LoggedOn { .. } => Seen::LoggedOn,
                DropCopyEvent::Application { seq, poss_dup, raw } => {
                    self.raws.push(raw.to_vec());
                    Seen::App { seq, poss_dup }
                }
                DropCopyEvent::ResendRequested { from, to } => Seen::ResendRequested { from, to },
                DropCopyEvent::GapFilled { next_in } => Seen::GapFilled { next_in },
                DropCopyEvent::LoggedOut { next_expected, .. } => Seen::LoggedOut { next_expected },
                DropCopyEvent::Disconnect { reason } => {
                    disconnect = true;
                    Seen::Disconnect(reason)
                }
                other => Seen::Other(format!("{other:?}")),
            };
            self.seen.push(seen);
        }
        if disconnect {
            if let (Some(sock), Some(b)) = (self.sock.as_mut(), self.s.poll_transmit()) {
                let _ = sock.write_all(b);
            }
            if let Some(s) = self.sock.take() {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    fn run_until(&mut self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let end = Instant::now() + DEADLINE;
        while !done(self) {
            assert!(
                Instant::now() < end,
                "timed out waiting for {what}; seen: {:?}",
                self.seen
            );
            self.pump();
        }
    }

    fn logon(&mut self) {
        self.connect();
        self.run_until("Logon", |c| c.seen.contains(&Seen::LoggedOn));
    }

    fn apps(&self) -> Vec<(u64, bool)> {
        self.seen
            .iter()
            .filter_map(|s| match s {
                Seen::App { seq, poss_dup } => Some((*seq, *poss_dup)),
                _ => None,
            })
            .collect()
    }
}

/// Pumps several clients together until `done` or the deadline.
fn pump_all(
    what: &str,
    il: &mut [&mut Ilink3Client],
    dc: &mut [&mut DcClient],
    mut done: impl FnMut(&[&mut Ilink3Client], &[&mut DcClient]) -> bool,
) {
    let end = Instant::now() + DEADLINE;
    while !done(il, dc) {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        for c in il.iter_mut() {
            c.pump();
        }
        for c in dc.iter_mut() {
            c.pump();
        }
    }
}

fn wait_summary(sim: &SimHandle, what: &str, f: impl Fn(&Summary) -> bool) -> Summary {
    let end = Instant::now() + DEADLINE;
    loop {
        let s = sim.summary();
        if f(&s) {
            return s;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}: {s:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---- scenarios --------------------------------------------------------------------------------

#[test]
fn orders_cross_and_every_report_reaches_both_sessions_and_drop_copy() {
    let _g = crate::timers();
    let sim = start(base_config());
    let mut a = Ilink3Client::new(&sim, "AAA", "001", 5000);
    let mut b = Ilink3Client::new(&sim, "BBB", "001", 5000);
    let mut dc1 = DcClient::new(&sim, "DC1", 5, SeqNums::BEGINNING_OF_WEEK);
    let mut dc2 = DcClient::new(&sim, "DC2", 5, SeqNums::BEGINNING_OF_WEEK);
    a.establish();
    b.establish();
    dc1.logon();
    dc2.logon();
    a.order(1, PX, 2);
    pump_all("A's ack", &mut [&mut a], &mut [], |il, _| {
        il[0].delivered.len() == 1
    });
    b.order(2, PX, 2);
    // A: ack + fill; B: ack + fill; Drop Copy (firm 001 = both): 4 reports each.
    pump_all(
        "fills and drop copies",
        &mut [&mut a, &mut b],
        &mut [&mut dc1, &mut dc2],
        |il, dc| {
            il.iter().all(|c| c.delivered.len() == 2) && dc.iter().all(|c| c.apps().len() == 4)
        },
    );
    assert_eq!(
        a.delivered.iter().map(|d| d.1).collect::<Vec<_>>(),
        vec![522, 525]
    );
    assert_eq!(
        b.delivered.iter().map(|d| d.1).collect::<Vec<_>>(),
        vec![522, 525]
    );
    let mut parser = ReportParser::new();
    let kinds: Vec<(u8, Option<u8>)> = dc1
        .raws
        .iter()
        .map(|r| {
            let rep = parser.parse(r).unwrap();
            assert_eq!(rep.source, ReportSource::ExecutionReport);
            assert_eq!(rep.symbol, Some("ESZ6"));
            (rep.exec_type.unwrap(), rep.side)
        })
        .collect();
    assert_eq!(kinds.iter().filter(|k| k.0 == b'0').count(), 2, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| k.0 == b'2').count(), 2, "{kinds:?}");
    assert!(kinds.contains(&(b'2', Some(b'1'))) && kinds.contains(&(b'2', Some(b'2'))));
    for r in &dc2.raws {
        let rep = parser.parse(r).unwrap();
        assert!(matches!(
            rep.source,
            ReportSource::XmlNonFix {
                inner_msg_type: ilinkd::dropcopy::MsgType::EXECUTION_REPORT
            }
        ));
        assert!(rep.exec_id.is_some() && rep.cl_ord_id.is_some());
    }
    let s = sim.stop();
    assert_eq!(s.orders, 2);
    assert_eq!((s.acks, s.fills), (2, 2));
    assert_eq!(s.ilink3_logons_ok, 2);
    assert_eq!(s.dropcopy_logons_ok, 2);
    assert_eq!(s.dropcopy_reports, 8);
}

#[test]
fn skipped_sequence_numbers_are_requested_and_retransmitted() {
    let _g = crate::timers();
    let sim = start(with_ilink3_faults(
        "AAA",
        SessionFaults {
            skip: Some(AfterCount { after: 1, count: 2 }),
            ..SessionFaults::default()
        },
    ));
    let mut a = Ilink3Client::new(&sim, "AAA", "001", 5000);
    a.establish();
    for _ in 0..4 {
        a.order(1, PX - 10 * TICK, 1);
    }
    a.run_until("4 acks", |c| c.delivered.len() == 4);
    assert_eq!(
        a.delivered,
        vec![
            (1, 522, false),
            (2, 522, true),
            (3, 522, true),
            (4, 522, false)
        ]
    );
    assert_eq!(
        a.count(|e| matches!(
            e,
            FixpEvent::RetransmitRequested {
                from_seq: 2,
                count: 2,
                ..
            }
        )),
        1
    );
    let s = sim.stop();
    assert_eq!(s.retransmit_requests.len(), 1);
    assert_eq!(
        (s.retransmit_requests[0].from, s.retransmit_requests[0].to),
        (2, 3)
    );
}

#[test]
fn not_applied_is_answered_with_a_gap_fill() {
    let _g = crate::timers();
    let sim = start(with_ilink3_faults(
        "AAA",
        SessionFaults {
            not_applied: Some(AfterCount { after: 2, count: 1 }),
            ..SessionFaults::default()
        },
    ));
    let mut a = Ilink3Client::new(&sim, "AAA", "001", 5000);
    a.establish();
    for _ in 0..3 {
        a.order(1, PX - 10 * TICK, 1);
    }
    a.run_until("NotApplied and 3 acks", |c| {
        c.delivered.len() == 3 && c.count(|e| matches!(e, FixpEvent::NotApplied { .. })) == 1
    });
    assert!(a.events.contains(&FixpEvent::NotApplied {
        from_seq: 2,
        count: 1,
        action: NotAppliedAction::GapFilled
    }));
    // The gap fill is accepted: the session stays up and the next order is acknowledged.
    a.order(1, PX - 10 * TICK, 1);
    a.run_until("4th ack", |c| c.delivered.len() == 4);
    assert_eq!(a.s.state(), FixpState::Established);
    let s = sim.stop();
    assert_eq!(s.not_applied_sent, 1);
    assert!(s.terminates.is_empty(), "{:?}", s.terminates);
}

#[test]
fn dropped_connection_is_reconnected_and_re_established() {
    let _g = crate::timers();
    let sim = start(with_ilink3_faults(
        "AAA",
        SessionFaults {
            connections: Some(1),
            disconnect_after: Some(2),
            ..SessionFaults::default()
        },
    ));
    let mut a = Ilink3Client::new(&sim, "AAA", "001", 5000);
    a.establish();
    a.order(1, PX - 10 * TICK, 1);
    a.order(1, PX - 10 * TICK, 1);
    a.run_until("the drop", |c| c.peer_closed == 1);
    assert_eq!(a.s.state(), FixpState::Idle);
    // Same UUID mid-week: Establish only, sequences kept, anything missed is retransmitted.
    a.establish();
    a.order(1, PX - 10 * TICK, 1);
    a.run_until("3 acks", |c| c.delivered.len() == 3);
    let negotiated = a.count(|e| matches!(e, FixpEvent::Negotiated { .. }));
    let established = a.count(|e| matches!(e, FixpEvent::Established { .. }));
    assert_eq!((negotiated, established), (1, 2));
    let seqs: Vec<u32> = a.delivered.iter().map(|d| d.0).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    let s = sim.stop();
    assert_eq!(s.ilink3_logons_ok, 2);
    assert_eq!(s.orders, 3);
}

#[test]
fn silent_gateway_lapses_the_keepalive_and_the_client_terminates_with_20() {
    let _g = crate::timers();
    let sim = start(with_ilink3_faults(
        "AAA",
        SessionFaults {
            silent: true,
            ..SessionFaults::default()
        },
    ));
    let mut a = Ilink3Client::new(&sim, "AAA", "001", 200);
    a.establish();
    a.run_until("Terminate 20", |c| {
        c.count(|e| matches!(e, FixpEvent::Disconnect(_))) == 1
    });
    assert_eq!(a.count(|e| *e == FixpEvent::KeepAliveLapsed), 1);
    assert!(a.events.iter().any(|e| matches!(
        e,
        FixpEvent::Terminated {
            code: 20,
            by_exchange: false,
            ..
        }
    )));
    let s = wait_summary(&sim, "the client's Terminate", |s| {
        s.terminates
            .keys()
            .any(|k| k.starts_with("20 ") && k.ends_with("by client"))
    });
    assert_eq!(s.ilink3_logons_ok, 1);
}

#[test]
fn rejected_signatures_are_not_retried_into_a_port_closure() {
    let _g = crate::timers();
    let sim = start(with_ilink3_faults(
        "AAA",
        SessionFaults {
            reject_signatures: true,
            ..SessionFaults::default()
        },
    ));
    let mut a = Ilink3Client::new(&sim, "AAA", "001", 5000);
    let mut refused = None;
    for _ in 0..8 {
        match a.connect() {
            Ok(()) => a.run_until("the reject", |c| c.sock.is_none()),
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    assert!(
        matches!(
            refused,
            Some(SessionError::LogonThrottled { failures: 4, .. })
        ),
        "{refused:?}"
    );
    let rejects = a.count(|e| {
        matches!(
            e,
            FixpEvent::Rejected {
                stage: Stage::Negotiate,
                code: 0,
                ..
            }
        )
    });
    assert_eq!(rejects, 4);
    assert!(a
        .events
        .contains(&FixpEvent::Disconnect(DisconnectReason::Rejected)));
    let s = wait_summary(&sim, "4 failed logons", |s| {
        s.ilink3_logons_failed.values().sum::<u64>() == 4
    });
    assert_eq!(
        s.ilink3_logons_failed
            .get("negotiate 0 HMACNotAuthenticated")
            .copied(),
        Some(4),
        "{:?}",
        s.ilink3_logons_failed
    );
    assert_eq!(s.ports_closed, 0);
}

#[test]
fn delayed_answers_arrive_no_sooner_than_the_delay() {
    let _g = crate::timers();
    let sim = start(with_ilink3_faults(
        "AAA",
        SessionFaults {
            delay_ms: Some(150),
            ..SessionFaults::default()
        },
    ));
    let mut a = Ilink3Client::new(&sim, "AAA", "001", 5000);
    let t0 = Instant::now();
    a.establish();
    // Negotiate and Establish each wait for a delayed answer.
    assert!(
        t0.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t0.elapsed()
    );
    a.order(1, PX - 10 * TICK, 1);
    a.run_until("the ack", |c| c.delivered.len() == 1);
}

#[test]
fn duplicated_messages_are_dropped_by_both_clients() {
    let _g = crate::timers();
    let mut cfg = with_ilink3_faults(
        "AAA",
        SessionFaults {
            duplicate: true,
            ..SessionFaults::default()
        },
    );
    cfg.dropcopy[0].faults.duplicate = true;
    let sim = start(cfg);
    let mut a = Ilink3Client::new(&sim, "AAA", "001", 5000);
    let mut dc = DcClient::new(&sim, "DC1", 5, SeqNums::BEGINNING_OF_WEEK);
    a.establish();
    dc.logon();
    for _ in 0..3 {
        a.order(1, PX - 10 * TICK, 1);
    }
    pump_all(
        "3 acks and 3 drop copies",
        &mut [&mut a],
        &mut [&mut dc],
        |il, d| il[0].delivered.len() == 3 && d[0].apps().len() == 3,
    );
    // Let any further copies arrive; none may be delivered twice.
    let end = Instant::now() + Duration::from_millis(100);
    while Instant::now() < end {
        a.pump();
        dc.pump();
    }
    assert_eq!(a.delivered.len(), 3);
    assert!(a.delivered.iter().all(|d| !d.2));
    assert_eq!(dc.apps().len(), 3);
    assert_eq!(dc.s.stats().duplicates_dropped, 3);
    assert_eq!(a.s.state(), FixpState::Established);
}

#[test]
fn drop_copy_gap_is_resent_with_poss_dup() {
    let _g = crate::timers();
    let sim = start(with_dropcopy_faults(
        "DC1",
        SessionFaults {
            skip: Some(AfterCount { after: 1, count: 2 }),
            ..SessionFaults::default()
        },
    ));
    let mut a = Ilink3Client::new(&sim, "AAA", "001", 5000);
    let mut dc = DcClient::new(&sim, "DC1", 5, SeqNums::BEGINNING_OF_WEEK);
    a.establish();
    dc.logon();
    for _ in 0..4 {
        a.order(1, PX - 10 * TICK, 1);
    }
    pump_all("4 drop copies", &mut [&mut a], &mut [&mut dc], |_, d| {
        d[0].apps().len() == 4
    });
    // Logon = 1, reports 2..=5; 3 and 4 were skipped and resent with PossDup.
    assert_eq!(
        dc.apps(),
        vec![(2, false), (3, true), (4, true), (5, false)]
    );
    assert!(dc.seen.contains(&Seen::ResendRequested { from: 3, to: 4 }));
    let s = sim.stop();
    assert_eq!(s.resend_requests.len(), 1);
    assert_eq!((s.resend_requests[0].from, s.resend_requests[0].to), (3, 4));
}

#[test]
fn drop_copy_failover_jump_is_requested_in_chunks_of_at_most_2500() {
    let _g = crate::timers();
    let sim = start(with_dropcopy_faults(
        "DC1",
        SessionFaults {
            failover_jump: Some(AfterBy { after: 1, by: 4000 }),
            ..SessionFaults::default()
        },
    ));
    let mut a = Ilink3Client::new(&sim, "AAA", "001", 5000);
    let mut dc = DcClient::new(&sim, "DC1", 5, SeqNums::BEGINNING_OF_WEEK);
    a.establish();
    dc.logon();
    a.order(1, PX - 10 * TICK, 1);
    a.order(1, PX - 10 * TICK, 1);
    pump_all(
        "the jump recovered",
        &mut [&mut a],
        &mut [&mut dc],
        |_, d| {
            d[0].apps().len() == 2
                && d[0].s.resend_in_flight().is_none()
                && d[0]
                    .seen
                    .iter()
                    .any(|s| matches!(s, Seen::GapFilled { .. }))
        },
    );
    // Logon 1, report 2, then 3..=4002 never carried a message; the next report is 4003.
    assert_eq!(dc.apps(), vec![(2, false), (4003, false)]);
    let requests: Vec<(u64, u64)> = dc
        .seen
        .iter()
        .filter_map(|s| match s {
            Seen::ResendRequested { from, to } => Some((*from, *to)),
            _ => None,
        })
        .collect();
    assert_eq!(requests, vec![(3, 2502), (2503, 4002)]);
    assert!(requests.iter().all(|(f, t)| t - f < 2500));
    assert_eq!(dc.s.seq_nums().next_in, 4004);
    let s = sim.stop();
    assert_eq!(s.resend_requests.len(), 2);
}

#[test]
fn drop_copy_silent_gateway_is_detected_by_the_test_request() {
    let _g = crate::timers();
    let sim = start(with_dropcopy_faults(
        "DC1",
        SessionFaults {
            silent: true,
            ..SessionFaults::default()
        },
    ));
    let mut dc = DcClient::new(&sim, "DC1", 1, SeqNums::BEGINNING_OF_WEEK);
    dc.logon();
    dc.run_until("the disconnect", |c| {
        c.seen.iter().any(|s| matches!(s, Seen::Disconnect(_)))
    });
    assert!(dc
        .seen
        .contains(&Seen::Disconnect(FixDisconnect::TestRequestUnanswered)));
    assert_eq!(dc.s.stats().test_requests_sent, 1);
}

#[test]
fn drop_copy_state_survives_a_restart_and_a_low_logon_sequence_gets_789() {
    let _g = crate::timers();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = base_config();
    cfg.state_dir = Some(dir.path().to_path_buf());
    let sim = start(cfg.clone());
    let mut a = Ilink3Client::new(&sim, "AAA", "001", 5000);
    let mut dc = DcClient::new(&sim, "DC1", 5, SeqNums::BEGINNING_OF_WEEK);
    a.establish();
    dc.logon();
    for _ in 0..3 {
        a.order(1, PX - 10 * TICK, 1);
    }
    pump_all("3 drop copies", &mut [&mut a], &mut [&mut dc], |_, d| {
        d[0].apps().len() == 3
    });
    let before = dc.s.seq_nums();
    drop(sim.stop());

    // A new simulator on the same state; a client that lost its own state (sequence 1).
    let sim = start(cfg);
    let mut fresh = DcClient::new(&sim, "DC1", 5, SeqNums::BEGINNING_OF_WEEK);
    fresh.connect();
    fresh.run_until("the Logout with 789", |c| {
        c.seen.iter().any(|s| matches!(s, Seen::Disconnect(_)))
    });
    assert!(fresh.seen.contains(&Seen::LoggedOut {
        next_expected: Some(before.next_out)
    }));
    assert_eq!(fresh.s.seq_nums().next_out, before.next_out);
    // Logging on again with it works; everything sent before the restart is resent.
    fresh.logon();
    fresh.run_until("the resent reports", |c| c.apps().len() == 3);
    assert!(fresh.apps().iter().all(|(_, dup)| *dup));
    assert_eq!(
        fresh.apps().iter().map(|a| a.0).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    let s = sim.stop();
    assert_eq!(s.dropcopy_logons_ok, 1);
    assert_eq!(
        s.dropcopy_logons_failed
            .get("MsgSeqNum too low (Logout with 789)")
            .copied(),
        Some(1)
    );
}

// ---- hand-built frames over the socket ------------------------------------------------------

struct RawLogon {
    ts: u64,
    uuid: u64,
    session: &'static str,
    next_seq: u32,
    corrupt_sig: bool,
}

fn firm_of(session: &str) -> &'static str {
    if session == "CCC" {
        "002"
    } else {
        "001"
    }
}

fn raw_negotiate(l: &RawLogon) -> Vec<u8> {
    let (id, signer) = demo_key(&format!("il-{}", l.session));
    let mut sig = signer.sign(&NegotiateCanonical {
        request_timestamp: l.ts,
        uuid: l.uuid,
        session: l.session,
        firm: firm_of(l.session),
    });
    if l.corrupt_sig {
        sig[0] ^= 1;
    }
    let mut buf = vec![0u8; 512];
    let mut w = NegotiateWriter::new(&mut buf).unwrap();
    w.set_hmac_signature(sig)
        .unwrap()
        .set_access_key_id(&id)
        .unwrap()
        .set_session(l.session)
        .unwrap()
        .set_firm(firm_of(l.session))
        .unwrap();
    w.set_uuid(l.uuid).set_request_timestamp(l.ts);
    let n = w.finish();
    buf.truncate(n);
    buf
}

fn raw_establish(l: &RawLogon) -> Vec<u8> {
    let (id, signer) = demo_key(&format!("il-{}", l.session));
    let sig = signer.sign(&EstablishCanonical {
        request_timestamp: l.ts,
        uuid: l.uuid,
        session: l.session,
        firm: firm_of(l.session),
        trading_system_name: "raw",
        trading_system_version: "1",
        trading_system_vendor: "test",
        next_seq_no: l.next_seq,
        keep_alive_interval: 5000,
    });
    let mut buf = vec![0u8; 512];
    let mut w = EstablishWriter::new(&mut buf).unwrap();
    w.set_hmac_signature(sig)
        .unwrap()
        .set_access_key_id(&id)
        .unwrap()
        .set_trading_system_name("raw")
        .unwrap()
        .set_trading_system_version("1")
        .unwrap()
        .set_trading_system_vendor("test")
        .unwrap()
        .set_session(l.session)
        .unwrap()
        .set_firm(firm_of(l.session))
        .unwrap();
    w.set_uuid(l.uuid)
        .set_request_timestamp(l.ts)
        .set_next_seq_no(l.next_seq)
        .set_keep_alive_interval(5000);
    let n = w.finish();
    buf.truncate(n);
    buf
}

fn raw_order(seq: u32) -> Vec<u8> {
    let mut buf = vec![0u8; 512];
    let mut w = NewOrderSingleWriter::new(&mut buf).unwrap();
    w.set_cl_ord_id("RAW").unwrap();
    w.set_seq_num(seq)
        .set_price(Some(PX))
        .set_order_qty(1)
        .set_security_id(ES)
        .set_side(1)
        .set_ord_type(b'2')
        .set_order_request_id(u64::from(seq));
    let n = w.finish();
    buf.truncate(n);
    buf
}

/// Sends `bytes` and reads until `want` whole frames arrived (or EOF); returns them and whether
/// the simulator closed the connection.
fn exchange_frames(sock: &mut TcpStream, bytes: &[u8], want: usize) -> (Vec<Vec<u8>>, bool) {
    sock.write_all(bytes).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + DEADLINE;
    let mut eof = false;
    loop {
        let frames: Vec<Vec<u8>> = Frames::new(&got)
            .filter_map(Result::ok)
            .map(<[u8]>::to_vec)
            .collect();
        if frames.len() >= want || eof {
            return (frames, eof);
        }
        assert!(Instant::now() < end, "no answer from the simulator");
        match read_some(sock, &mut buf) {
            None => eof = true,
            Some(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads until EOF (the simulator closes after a reject or terminate).
fn expect_eof(sock: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let end = Instant::now() + DEADLINE;
    while read_some(sock, &mut buf).is_some() {
        assert!(
            Instant::now() < end,
            "the simulator kept the connection open"
        );
    }
}

/// `(template, ErrorCodes)` of a reject/terminate.
fn code(frame: &[u8]) -> (u16, u16) {
    match decode(frame).unwrap() {
        Message::NegotiationReject(m) => (502, m.error_codes()),
        Message::EstablishmentReject(m) => (505, m.error_codes()),
        Message::Terminate(m) => (507, m.error_codes()),
        m => (m.template_id(), u16::MAX),
    }
}

fn one_answer(addr: SocketAddr, bytes: &[u8]) -> (u16, u16) {
    let mut s = connect_tcp(addr);
    let (frames, _) = exchange_frames(&mut s, bytes, 1);
    assert_eq!(frames.len(), 1);
    expect_eof(&mut s);
    code(&frames[0])
}

#[test]
fn every_broken_logon_rule_gets_cme_s_exact_code_over_tcp() {
    let _g = crate::timers();
    let sim = start(base_config());
    let now = now_ns();
    let logon = |session, uuid, ts| RawLogon {
        ts,
        uuid,
        session,
        next_seq: 1,
        corrupt_sig: false,
    };
    // AAA: a stale RequestTimestamp (NegotiationReject 3), a bad HMAC (0).
    let aaa = sim.ilink3_addr("AAA").unwrap();
    let stale = logon("AAA", now / 1000, now - 10_000_000_000);
    assert_eq!(one_answer(aaa, &raw_negotiate(&stale)), (502, 3));
    let bad_hmac = RawLogon {
        corrupt_sig: true,
        ..logon("AAA", now / 1000, now_ns())
    };
    assert_eq!(one_answer(aaa, &raw_negotiate(&bad_hmac)), (502, 0));

    // BBB: Establish without Negotiate (Terminate 2), then a reused UUID (Terminate 13).
    let bbb = sim.ilink3_addr("BBB").unwrap();
    let uuid = now / 1000;
    assert_eq!(
        one_answer(bbb, &raw_establish(&logon("BBB", uuid, now_ns()))),
        (507, 2)
    );
    let mut s = connect_tcp(bbb);
    let (f, _) = exchange_frames(&mut s, &raw_negotiate(&logon("BBB", uuid, now_ns())), 1);
    assert_eq!(decode(&f[0]).unwrap().template_id(), 501);
    drop(s);
    assert_eq!(
        one_answer(bbb, &raw_negotiate(&logon("BBB", uuid, now_ns()))),
        (507, 13)
    );

    // CCC: a business message with a sequence number already used (Terminate 11).
    let ccc = sim.ilink3_addr("CCC").unwrap();
    let mut s = connect_tcp(ccc);
    let l = logon("CCC", uuid, now_ns());
    let (f, _) = exchange_frames(&mut s, &raw_negotiate(&l), 1);
    assert_eq!(decode(&f[0]).unwrap().template_id(), 501);
    let (f, _) = exchange_frames(&mut s, &raw_establish(&l), 1);
    assert_eq!(decode(&f[0]).unwrap().template_id(), 504);
    let (f, _) = exchange_frames(&mut s, &raw_order(1), 1);
    assert_eq!(decode(&f[0]).unwrap().template_id(), 522);
    let (f, _) = exchange_frames(&mut s, &raw_order(1), 1);
    assert_eq!(code(&f[0]), (507, 11));
    expect_eof(&mut s);

    let s = wait_summary(&sim, "the violations", |s| {
        s.ilink3_logons_failed.len() >= 2 && s.terminates.keys().any(|k| k.starts_with("11 "))
    });
    for key in [
        "negotiate 3 InvalidTimestamp",
        "negotiate 0 HMACNotAuthenticated",
    ] {
        assert_eq!(
            s.ilink3_logons_failed.get(key).copied(),
            Some(1),
            "{key}: {:?}",
            s.ilink3_logons_failed
        );
    }
}

// ---- raw Drop Copy logons ---------------------------------------------------------------------

struct FixLogon {
    comp: &'static str,
    seq: u64,
    heartbeat: u64,
    with_122: bool,
    corrupt_sig: bool,
}

fn fix_logon(l: &FixLogon) -> Vec<u8> {
    let (id, signer) = demo_key(&format!("dc-{}", l.comp));
    let time = ilinkd::dropcopy::format_sending_time(now_ns());
    let time = std::str::from_utf8(&time).unwrap();
    let seq = l.seq.to_string();
    let hb = l.heartbeat.to_string();
    let values = [
        seq.as_str(),
        l.comp,
        "OPS",
        time,
        "G",
        hb.as_str(),
        "US,IL",
        "0",
        "raw",
        "1",
        "test",
    ];
    let mut sig = FixSignature::from_mac(&signer.sign_bytes(values.join("\n").as_bytes()))
        .as_str()
        .to_string();
    if l.corrupt_sig {
        sig = sig.replace(|c: char| c != 'A', "A");
    }
    let mut buf = vec![0u8; 1024];
    let mut e = Encoder::new(&mut buf, b"A");
    e.str(49, l.comp.as_bytes())
        .str(56, b"CME")
        .str(50, b"OPS")
        .str(57, b"G")
        .str(142, b"US,IL")
        .u64(34, l.seq)
        .str(52, time.as_bytes());
    if l.with_122 {
        e.str(122, time.as_bytes());
    }
    e.u64(369, 0)
        .u64(98, 0)
        .u64(108, l.heartbeat)
        .raw_data(354, 355, id.as_bytes())
        .str(1400, b"CME-1-SHA-256")
        .raw_data(1401, 1402, sig.as_bytes())
        .str(1603, b"raw")
        .str(1604, b"1")
        .str(1605, b"test");
    let n = e.finish_compact().unwrap();
    buf.truncate(n);
    buf
}

/// A FIX message as (MsgType, tag → value).
type FixMsg = (String, Vec<(u32, String)>);

/// `(MsgType, tag → value)` of every FIX message the simulator sends until EOF (or `stop`).
fn fix_answers(
    sock: &mut TcpStream,
    bytes: &[u8],
    stop: impl Fn(&[FixMsg]) -> bool,
) -> (Vec<FixMsg>, bool) {
    sock.write_all(bytes).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + DEADLINE;
    let mut index = FieldIndex::new();
    loop {
        let mut msgs = Vec::new();
        let mut off = 0;
        while let ilinkd::dropcopy::Frame::Complete(n) = ilinkd::dropcopy::frame(&got[off..]) {
            let m = ilinkd::dropcopy::parse(&got[off..off + n], &mut index).unwrap();
            let fields = m
                .fields()
                .iter()
                .map(|f| (f.tag, String::from_utf8_lossy(f.value).into_owned()))
                .collect();
            msgs.push((String::from_utf8_lossy(m.msg_type()).into_owned(), fields));
            off += n;
        }
        if stop(&msgs) {
            return (msgs, false);
        }
        assert!(
            Instant::now() < end,
            "no answer from the simulator: {msgs:?}"
        );
        match read_some(sock, &mut buf) {
            None => return (msgs, true),
            Some(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

fn tag(m: &FixMsg, t: u32) -> Option<&str> {
    m.1.iter().find(|f| f.0 == t).map(|f| f.1.as_str())
}

#[test]
fn drop_copy_logon_rules_over_tcp() {
    let _g = crate::timers();
    let sim = start(base_config());
    let addr = sim.dropcopy_addr("DC1").unwrap();
    let good = || FixLogon {
        comp: "DC1",
        seq: 1,
        heartbeat: 1,
        with_122: false,
        corrupt_sig: false,
    };
    let refused = |l: FixLogon| {
        let mut s = connect_tcp(addr);
        let (msgs, eof) = fix_answers(&mut s, &fix_logon(&l), |_| false);
        assert!(eof);
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert_eq!(msgs[0].0, "5");
        tag(&msgs[0], 58).unwrap_or_default().to_string()
    };
    // Each refused Logon takes a sequence number (1, 2, 3, 4), as the client counts it.
    assert!(refused(FixLogon {
        corrupt_sig: true,
        ..good()
    })
    .contains("signature invalid"));
    assert!(refused(FixLogon {
        with_122: true,
        ..good()
    })
    .contains("122"));
    assert!(refused(FixLogon {
        heartbeat: 61,
        ..good()
    })
    .contains("HeartBtInt"));

    // A valid Logon: answered, then TestRequest on silence, then Logout and disconnect.
    let mut s = connect_tcp(addr);
    let (msgs, eof) = fix_answers(&mut s, &fix_logon(&good()), |_| false);
    assert!(eof, "{msgs:?}");
    let types: Vec<&str> = msgs.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(types.first(), Some(&"A"), "{types:?}");
    assert!(types.contains(&"1"), "no TestRequest: {types:?}");
    assert_eq!(types.last(), Some(&"5"), "{types:?}");
    assert_eq!(tag(&msgs[0], 34), Some("4"));
    assert_eq!(
        tag(msgs.last().unwrap(), 58),
        Some("TestRequest unanswered")
    );

    // MsgSeqNum 1 again: below the expected 2, Logout with 789 = 2.
    let mut s = connect_tcp(addr);
    let (msgs, eof) = fix_answers(&mut s, &fix_logon(&good()), |_| false);
    assert!(eof);
    assert_eq!(msgs[0].0, "5");
    assert_eq!(tag(&msgs[0], 789), Some("2"));

    // Two more bad logons make five within 60 s: the port closes, even for a good Logon.
    for _ in 0..2 {
        refused(FixLogon {
            corrupt_sig: true,
            ..good()
        });
    }
    let text = refused(FixLogon { seq: 2, ..good() });
    assert!(text.contains("port closed"), "{text}");
    let s = sim.stop();
    assert_eq!(s.ports_closed, 1);
    assert_eq!(s.dropcopy_logons_ok, 1);
    assert_eq!(s.test_requests_sent, 1);
}

// ---- the command line -----------------------------------------------------------------------

#[test]
fn sim_command_line_runs_until_sigterm_and_writes_the_summary() {
    let _g = crate::timers();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sim.toml");
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{root}/config/sim.toml"))
        .unwrap()
        .replace("port = 19001", "port = 0")
        .replace("port = 19002", "port = 0");
    std::fs::write(&cfg, text).unwrap();
    let summary = dir.path().join("summary.json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ilinkd"))
        .args(["sim", "-c"])
        .arg(&cfg)
        .arg("--summary")
        .arg(&summary)
        .args(["--delay-ms", "1", "--fault-session", "DMO"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut text = String::new();
    let end = Instant::now() + DEADLINE;
    let mut buf = [0u8; 256];
    while !text.contains("dropcopy DMODC1N listening on 127.0.0.1:") {
        assert!(Instant::now() < end, "no listening line: {text}");
        let n = out.read(&mut buf).unwrap();
        assert!(n > 0, "sim exited early: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(
        text.contains("ilink3 DMO listening on 127.0.0.1:"),
        "{text}"
    );
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap();
    assert_eq!(code.code(), Some(0));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    for key in [
        "ilink3_logons_ok",
        "ilink3_logons_failed",
        "orders",
        "acks",
        "fills",
        "retransmit_requests",
        "terminates",
        "protocol_violations",
    ] {
        assert!(json.get(key).is_some(), "{key} missing: {json}");
    }
}

#[test]
fn sim_command_line_reports_config_errors_with_position_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sim.toml");
    std::fs::write(
        &cfg,
        "[sim]\nmode = \"book\"\nlisten = \"127.0.0.1\"\nbogus = 1\n",
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ilinkd"))
        .args(["sim", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("sim.toml:4:1: sim"), "{err}");
    assert!(err.contains("bogus"), "{err}");
}
