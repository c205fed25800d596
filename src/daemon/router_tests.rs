//! Router scenarios, sans-IO: requests are routed, encoded with `wire::encode`, decoded and fed
//! to the simulator's matching engine; its execution reports are encoded, decoded and handed
//! back to the router.

use super::*;
use crate::daemon::wire::{encode, FirmFields};
use crate::ilink3::decode;
use crate::shm::strategy::{OrdType, Order, Request, RequestBody, Side, TimeInForce};
use crate::sim::{EngineMode, Instrument, MatchingEngine, SessionKey};

const ES: i32 = 42;
const TICK: i64 = 250_000_000;
const PX: i64 = 4_500_000_000_000;

fn risk() -> RiskConfig {
    RiskConfig {
        max_order_qty: 100,
        max_open_orders: 8,
        max_orders_per_second: 1_000,
        ..RiskConfig::default()
    }
}

/// Two strategies: 0 and 1 share session 0; strategy 1 also has session 1 alone.
fn router() -> Router {
    Router::new(RouterConfig {
        prefix: cl_ord_id_prefix(1_772_461_800_123_456, 0),
        strategies: vec![
            StrategyRoute {
                sessions: vec![0],
                cancel_on_exit: true,
            },
            StrategyRoute {
                sessions: vec![0, 1],
                cancel_on_exit: false,
            },
        ],
        sessions: 2,
        instruments: vec![(ES, TICK)],
        risk: risk(),
        seq_memory: 64,
        scopes: Vec::new(),
    })
}

struct Harness {
    r: Router,
    engine: MatchingEngine,
    seq: [u32; 2],
    up: [bool; 2],
    now: u64,
    next_id: u64,
    firm: FirmFields,
    /// Frames sent, per session, in order.
    sent: Vec<(usize, u16)>,
}

impl Harness {
    fn new() -> Self {
        Harness {
            r: router(),
            engine: MatchingEngine::new(
                EngineMode::Book,
                &[Instrument {
                    security_id: ES,
                    tick: TICK,
                }],
            ),
            seq: [1, 1],
            up: [true, true],
            now: 1_000_000_000,
            next_id: 1,
            firm: FirmFields::new("TRADER", "US,IL", 7),
            sent: Vec::new(),
        }
    }

    fn req(&mut self, body: RequestBody) -> Request {
        let id = self.next_id;
        self.next_id += 1;
        Request {
            request_id: id,
            enqueue_ns: 1000 + id,
            body,
        }
    }

    /// Routes a request; when it is sent, runs it through the engine. Returns every event.
    fn run(&mut self, strategy: usize, req: &Request) -> Vec<(usize, Event)> {
        let up = self.up;
        let routed = self
            .r
            .on_request(strategy, req, self.now, |s| up.get(s) == Some(&true));
        self.now += 1_000;
        match routed {
            Routed::Reply(e) => vec![(strategy, e)],
            Routed::Send(out) => self.transmit(&out),
        }
    }

    fn transmit(&mut self, out: &Outbound) -> Vec<(usize, Event)> {
        let s = out.session;
        let seq = self.seq[s];
        self.seq[s] += 1;
        let mut buf = [0u8; 512];
        let n = encode(out, &self.firm, seq, self.now, &mut buf).expect("encodes");
        self.r.sent(out, seq, Stamp(5));
        let frame = &buf[..n];
        let msg = decode(frame).expect("decodes");
        self.sent.push((s, msg.template_id()));
        let mut reports = Vec::new();
        assert!(self
            .engine
            .on_message(SessionKey(s as u32), self.now, &msg, &mut reports));
        let mut events = Vec::new();
        for (key, rep) in reports {
            let mut rb = [0u8; 1024];
            let n = rep.encode(1, 1, self.now, &mut rb).expect("report encodes");
            let m = decode(&rb[..n]).expect("report decodes");
            self.r.on_message(key.0 as usize, &m, &mut |reply: &Reply| {
                events.push((reply.strategy, reply.event))
            });
        }
        events
    }

    fn new_order(&mut self, _owner: usize, side: Side, px: i64, qty: u32) -> Request {
        self.req(RequestBody::NewOrder(Order {
            session: 0,
            security_id: ES,
            side,
            qty,
            price: Some(px),
            ord_type: OrdType::Limit,
            tif: TimeInForce::Day,
            stop_px: None,
            min_qty: None,
            display_qty: None,
            expire_date: None,
        }))
    }
}

fn kinds(evs: &[(usize, Event)]) -> Vec<(usize, EventKind)> {
    evs.iter().map(|(s, e)| (*s, e.kind)).collect()
}

#[test]
fn cl_ord_ids_are_short_unique_and_parse_back() {
    let p0 = cl_ord_id_prefix(1_772_461_800_123_456, 0);
    let p1 = cl_ord_id_prefix(1_772_461_800_123_457, 0);
    let p2 = cl_ord_id_prefix(1_772_461_800_123_456, 1);
    assert_ne!(p0, p1);
    assert_ne!(p0, p2);
    for key in [0u64, 1, 35, 36, (1 << 24) - 1, MAX_KEY] {
        let id = make_cl_ord_id(&p0, key);
        assert!(id.as_bytes().len() <= CL_ORD_ID_LEN, "{id:?}");
        assert!(id.as_bytes().iter().all(u8::is_ascii_alphanumeric));
        assert_eq!(parse_cl_ord_id(&p0, id.as_bytes()), Some(key));
        assert_eq!(
            parse_cl_ord_id(&p1, id.as_bytes()),
            None,
            "another run's id"
        );
    }
    assert_eq!(parse_cl_ord_id(&p0, b"garbage"), None);
}

#[test]
fn orders_ack_fill_replace_and_cancel_reach_their_owner() {
    let mut h = Harness::new();
    // Strategy 0 rests a buy; strategy 1 sells into it: both fill, each told on its own ring.
    let buy = h.new_order(0, Side::Buy, PX, 5);
    let ev = h.run(0, &buy);
    assert_eq!(kinds(&ev), vec![(0, EventKind::Ack)]);
    assert_eq!(ev[0].1.request_id, buy.request_id);
    assert_eq!(ev[0].1.order_id, buy.request_id);
    assert_eq!(ev[0].1.request_enqueue_ns, buy.enqueue_ns);
    assert!(ev[0].1.exchange_order_id > 0);
    assert_eq!(h.r.open_orders(0), 1);

    let sell = h.new_order(1, Side::Sell, PX, 3);
    let ev = h.run(1, &sell);
    assert_eq!(
        kinds(&ev),
        vec![
            (1, EventKind::Ack),
            (1, EventKind::Fill),
            (0, EventKind::Fill)
        ]
    );
    let (_, s_fill) = ev[1];
    assert_eq!(
        (s_fill.last_qty, s_fill.leaves_qty, s_fill.cum_qty),
        (3, 0, 3)
    );
    assert_eq!(s_fill.order_id, sell.request_id);
    let (_, b_fill) = ev[2];
    assert_eq!((b_fill.last_qty, b_fill.leaves_qty), (3, 2));
    assert_eq!(b_fill.last_px, Some(PX));
    assert_eq!(b_fill.order_id, buy.request_id);
    assert_eq!(h.r.open_orders(1), 0, "the filled sell is done");

    // Replace the rest of the buy, then cancel it.
    let rep = h.req(RequestBody::Replace {
        order_id: buy.request_id,
        order: Order {
            session: 0,
            security_id: ES,
            side: Side::Buy,
            qty: 6,
            price: Some(PX - TICK),
            ord_type: OrdType::Limit,
            tif: TimeInForce::Day,
            stop_px: None,
            min_qty: None,
            display_qty: None,
            expire_date: None,
        },
    });
    let ev = h.run(0, &rep);
    assert_eq!(kinds(&ev), vec![(0, EventKind::Replaced)]);
    assert_eq!(ev[0].1.request_id, rep.request_id);
    assert_eq!((ev[0].1.qty, ev[0].1.price), (6, Some(PX - TICK)));
    let cxl = h.req(RequestBody::Cancel {
        session: 0,
        order_id: buy.request_id,
    });
    let ev = h.run(0, &cxl);
    assert_eq!(kinds(&ev), vec![(0, EventKind::Cancelled)]);
    assert_eq!(ev[0].1.request_id, cxl.request_id);
    assert_eq!(h.r.open_orders(0), 0);
    // The order is gone: a second cancel is refused locally.
    let again = h.req(RequestBody::Cancel {
        session: 0,
        order_id: buy.request_id,
    });
    let ev = h.run(0, &again);
    assert_eq!(ev[0].1.reason, Some(RejectReason::UnknownOrder));
    assert_eq!(
        h.sent.iter().map(|&(_, t)| t).collect::<Vec<_>>(),
        vec![514, 514, 515, 516]
    );
}

#[test]
fn every_check_refuses_with_its_reason() {
    let mut h = Harness::new();
    let check = |h: &mut Harness, strategy: usize, req: Request, want: RejectReason| {
        let ev = h.run(strategy, &req);
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0].1.kind, EventKind::Reject, "{ev:?}");
        assert_eq!(ev[0].1.reason, Some(want), "{:?}", ev[0].1.text);
        assert_eq!(ev[0].1.request_id, req.request_id);
        assert!(!ev[0].1.text.as_str().unwrap_or("").is_empty());
    };
    let big = h.new_order(0, Side::Buy, PX, 101);
    check(&mut h, 0, big, RejectReason::InvalidQuantity);
    let off_tick = h.new_order(0, Side::Buy, PX + 1, 1);
    check(&mut h, 0, off_tick, RejectReason::PriceNotOnTick);
    let unknown = h.req(RequestBody::NewOrder(Order {
        session: 0,
        security_id: 99,
        side: Side::Buy,
        qty: 1,
        price: Some(PX),
        ord_type: OrdType::Limit,
        tif: TimeInForce::Day,
        stop_px: None,
        min_qty: None,
        display_qty: None,
        expire_date: None,
    }));
    check(&mut h, 0, unknown, RejectReason::UnknownInstrument);
    let no_session = h.req(RequestBody::Cancel {
        session: 3,
        order_id: 1,
    });
    check(&mut h, 0, no_session, RejectReason::UnknownSession);
    let cxl_unknown = h.req(RequestBody::Cancel {
        session: 0,
        order_id: 12345,
    });
    check(&mut h, 0, cxl_unknown, RejectReason::UnknownOrder);
    h.up[0] = false;
    let down = h.new_order(0, Side::Buy, PX, 1);
    check(&mut h, 0, down, RejectReason::SessionDown);
    h.up[0] = true;

    // max_open_orders = 8 per strategy.
    for i in 0..8 {
        let o = h.new_order(0, Side::Buy, PX - (i + 1) * TICK, 1);
        assert_eq!(h.run(0, &o)[0].1.kind, EventKind::Ack);
    }
    let ninth = h.new_order(0, Side::Buy, PX, 1);
    check(&mut h, 0, ninth, RejectReason::RiskLimit);
    // The other strategy has its own limit.
    let other = h.new_order(1, Side::Buy, PX - 20 * TICK, 1);
    assert_eq!(h.run(1, &other)[0].1.kind, EventKind::Ack);

    h.r.shut_down();
    let late = h.new_order(1, Side::Buy, PX, 1);
    check(&mut h, 1, late, RejectReason::ShuttingDown);
}

#[test]
fn the_token_bucket_throttles_new_orders_but_not_cancels() {
    let mut r = router();
    r.set_risk(RiskConfig {
        max_order_qty: 100,
        max_open_orders: 1000,
        max_orders_per_second: 4,
        ..RiskConfig::default()
    });
    let order = |id: u64| Request {
        request_id: id,
        enqueue_ns: 0,
        body: RequestBody::NewOrder(Order {
            session: 0,
            security_id: ES,
            side: Side::Buy,
            qty: 1,
            price: Some(PX),
            ord_type: OrdType::Limit,
            tif: TimeInForce::Day,
            stop_px: None,
            min_qty: None,
            display_qty: None,
            expire_date: None,
        }),
    };
    let now = 5_000_000_000;
    // A full bucket holds one second of orders (4); the fifth at the same instant is refused.
    for id in 1..=4 {
        assert!(matches!(
            r.on_request(0, &order(id), now, |_| true),
            Routed::Send(_)
        ));
    }
    match r.on_request(0, &order(5), now, |_| true) {
        Routed::Reply(e) => assert_eq!(e.reason, Some(RejectReason::Throttled)),
        other => panic!("{other:?}"),
    }
    // The other strategy is not affected.
    assert!(matches!(
        r.on_request(1, &order(6), now, |_| true),
        Routed::Send(_)
    ));
    // A cancel still goes.
    let cxl = Request {
        request_id: 7,
        enqueue_ns: 0,
        body: RequestBody::Cancel {
            session: 0,
            order_id: 1,
        },
    };
    assert!(matches!(
        r.on_request(0, &cxl, now, |_| true),
        Routed::Send(_)
    ));
    // A quarter of a second later one more order fits.
    assert!(matches!(
        r.on_request(0, &order(8), now + 250_000_000, |_| true),
        Routed::Send(_)
    ));
    assert!(matches!(
        r.on_request(0, &order(9), now + 250_000_000, |_| true),
        Routed::Reply(_)
    ));
}

#[test]
fn mass_cancel_sweeps_only_the_strategys_orders_on_a_shared_session() {
    let mut h = Harness::new();
    let mut mine = Vec::new();
    for i in 0..3 {
        let o = h.new_order(0, Side::Buy, PX - (i + 1) * TICK, 1);
        h.run(0, &o);
        mine.push(o.request_id);
    }
    let theirs = h.new_order(1, Side::Buy, PX - 10 * TICK, 1);
    h.run(1, &theirs);
    let mass = h.req(RequestBody::MassCancel {
        session: 0,
        security_id: None,
        side: None,
        scope: MassScope::Default,
        ord_type: None,
        tif: None,
    });
    let ev = h.run(0, &mass);
    assert_eq!(kinds(&ev), vec![(0, EventKind::MassCancelAck)]);
    assert_eq!(ev[0].1.count, 3);
    let mut cancelled = Vec::new();
    while let Some(out) = h.r.poll_sweep(0, 1000, h.now, |_| true) {
        assert_eq!(out.kind, OutKind::Cancel);
        for (s, e) in h.transmit(&out) {
            assert_eq!((s, e.kind), (0, EventKind::Cancelled));
            cancelled.push(e.order_id);
        }
    }
    cancelled.sort_unstable();
    assert_eq!(cancelled, mine);
    assert!(!h.r.sweeping(0));
    assert_eq!(h.r.open_orders(0), 0);
    assert_eq!(h.r.open_orders(1), 1, "the other strategy's order stays");
}

#[test]
fn mass_cancel_on_a_sessions_only_strategy_is_one_529() {
    let mut h = Harness::new();
    let o = Request {
        request_id: 50,
        enqueue_ns: 9,
        body: RequestBody::NewOrder(Order {
            session: 1,
            security_id: ES,
            side: Side::Sell,
            qty: 2,
            price: Some(PX),
            ord_type: OrdType::Limit,
            tif: TimeInForce::Day,
            stop_px: None,
            min_qty: None,
            display_qty: None,
            expire_date: None,
        }),
    };
    assert_eq!(h.run(1, &o)[0].1.kind, EventKind::Ack);
    let mass = Request {
        request_id: 51,
        enqueue_ns: 10,
        body: RequestBody::MassCancel {
            session: 1,
            security_id: Some(ES),
            side: None,
            scope: MassScope::Default,
            ord_type: None,
            tif: None,
        },
    };
    let ev = h.run(1, &mass);
    assert_eq!(
        kinds(&ev),
        vec![(1, EventKind::MassCancelAck), (1, EventKind::Cancelled)]
    );
    assert_eq!(ev[0].1.count, 1);
    assert_eq!(ev[0].1.request_id, 51);
    assert_eq!(ev[1].1.order_id, 50);
    assert_eq!(ev[1].1.request_id, 0, "unsolicited");
    assert_eq!(h.sent.last(), Some(&(1, 529)));
    assert_eq!(h.r.open_orders(1), 0);
}

#[test]
fn a_dead_strategys_orders_are_cancelled_when_configured() {
    let mut h = Harness::new();
    for i in 0..2 {
        let o = h.new_order(0, Side::Buy, PX - (i + 1) * TICK, 1);
        h.run(0, &o);
        let o = h.new_order(1, Side::Buy, PX - (i + 5) * TICK, 1);
        h.run(1, &o);
    }
    assert_eq!(h.r.strategy_died(0), 2);
    assert_eq!(
        h.r.strategy_died(1),
        0,
        "strategy 1 has cancel_on_exit = false"
    );
    let mut n = 0;
    while let Some(out) = h.r.poll_sweep(0, 1000, h.now, |_| true) {
        assert_eq!(out.request_id, 0);
        n += h.transmit(&out).len();
    }
    assert_eq!(n, 2);
    assert_eq!(h.r.open_orders(0), 0);
    assert_eq!(h.r.open_orders(1), 2);
}

#[test]
fn not_applied_tells_the_owner_and_forgets_the_order() {
    let mut r = router();
    let order = Request {
        request_id: 3,
        enqueue_ns: 77,
        body: RequestBody::NewOrder(Order {
            session: 0,
            security_id: ES,
            side: Side::Buy,
            qty: 1,
            price: Some(PX),
            ord_type: OrdType::Limit,
            tif: TimeInForce::Day,
            stop_px: None,
            min_qty: None,
            display_qty: None,
            expire_date: None,
        }),
    };
    let Routed::Send(out) = r.on_request(1, &order, 0, |_| true) else {
        panic!("sent")
    };
    r.sent(&out, 40, Stamp(1));
    assert_eq!(r.open_orders(1), 1);
    let mut got = Vec::new();
    let found = r.not_applied(0, 39, 3, &mut |reply: &Reply| got.push(*reply));
    assert_eq!(found, 1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].strategy, 1);
    assert_eq!(got[0].event.kind, EventKind::NotApplied);
    assert_eq!((got[0].event.request_id, got[0].event.order_id), (3, 3));
    assert_eq!(got[0].event.request_enqueue_ns, 77);
    assert_eq!(r.open_orders(1), 0);
    // The id is free again.
    assert!(matches!(
        r.on_request(1, &order, 0, |_| true),
        Routed::Send(_)
    ));
}

#[test]
fn a_failed_send_is_undone() {
    let mut r = router();
    let order = Request {
        request_id: 9,
        enqueue_ns: 0,
        body: RequestBody::NewOrder(Order {
            session: 0,
            security_id: ES,
            side: Side::Sell,
            qty: 1,
            price: Some(PX),
            ord_type: OrdType::Limit,
            tif: TimeInForce::Fak,
            stop_px: None,
            min_qty: None,
            display_qty: None,
            expire_date: None,
        }),
    };
    let Routed::Send(out) = r.on_request(0, &order, 0, |_| true) else {
        panic!()
    };
    let e = r.send_failed(&out, RejectReason::SessionDown, "connection lost");
    assert_eq!(e.reason, Some(RejectReason::SessionDown));
    assert_eq!((e.request_id, e.order_id), (9, 9));
    assert_eq!(r.open_orders(0), 0);
    assert!(matches!(
        r.on_request(0, &order, 0, |_| true),
        Routed::Send(_)
    ));
}

#[test]
fn reports_of_another_run_are_counted_not_routed() {
    let mut h = Harness::new();
    let o = h.new_order(0, Side::Buy, PX, 1);
    h.run(0, &o);
    let mut other = router();
    other.prefix = cl_ord_id_prefix(1, 0);
    let mut buf = [0u8; 512];
    let Routed::Send(out) = other.on_request(0, &h.new_order(0, Side::Buy, PX, 1), 0, |_| true)
    else {
        panic!()
    };
    let n = encode(&out, &h.firm, 1, 0, &mut buf).unwrap();
    let mut reports = Vec::new();
    h.engine
        .on_message(SessionKey(0), 0, &decode(&buf[..n]).unwrap(), &mut reports);
    let mut rb = [0u8; 1024];
    let n = reports[0].1.encode(1, 1, 0, &mut rb).unwrap();
    let mut events = 0;
    h.r.on_message(0, &decode(&rb[..n]).unwrap(), &mut |_| events += 1);
    assert_eq!(events, 0);
    assert_eq!(h.r.stats().unknown_reports, 1);
}

#[test]
fn strategies_may_reuse_each_others_order_ids() {
    let mut h = Harness::new();
    let order = |h: &mut Harness, px: i64| {
        let mut r = h.new_order(0, Side::Buy, px, 1);
        r.request_id = 77;
        r
    };
    let a = order(&mut h, PX - TICK);
    assert_eq!(kinds(&h.run(0, &a)), vec![(0, EventKind::Ack)]);
    let b = order(&mut h, PX - 2 * TICK);
    assert_eq!(kinds(&h.run(1, &b)), vec![(1, EventKind::Ack)]);
    let dup = order(&mut h, PX - 3 * TICK);
    let ev = h.run(0, &dup);
    assert_eq!(ev[0].1.reason, Some(RejectReason::DuplicateOrderId));

    // Strategy 1's cancel of its order 77 reaches its order, not strategy 0's.
    let cxl = h.req(RequestBody::Cancel {
        session: 0,
        order_id: 77,
    });
    assert_eq!(kinds(&h.run(1, &cxl)), vec![(1, EventKind::Cancelled)]);
    assert_eq!((h.r.open_orders(0), h.r.open_orders(1)), (1, 0));
}

#[test]
fn client_ids_on_the_same_cell_stay_distinct_through_removals() {
    // Four entries on a table of 8 cells: strategy 0's ids 1, 9 and 17 share home cell 1, and
    // strategy 1's id 5 lands there too (offset 4 for the second of two strategies).
    let mut idx = ClientIndex::new(4, 2);
    assert_eq!(idx.cells.len(), 8);
    let keys = [(0u16, 1u64), (0, 9), (1, 5), (0, 17)];
    let mut orders = vec![OrderRec::FREE; keys.len()];
    for (slot, &(strategy, client_id)) in keys.iter().enumerate() {
        orders[slot].strategy = strategy;
        orders[slot].client_id = client_id;
        assert_eq!(idx.home(strategy, client_id), 1);
        assert!(idx.insert(strategy, client_id, slot as u32));
    }
    assert!(idx.full(), "at most half the cells are used");
    assert_eq!(idx.displaced, 3);
    assert!(!idx.insert(0, 2, 9));
    for (slot, &(strategy, client_id)) in keys.iter().enumerate() {
        assert_eq!(
            idx.find(&orders, strategy, client_id).map(|(_, s)| s),
            Some(slot as u32)
        );
    }
    assert_eq!(idx.find(&orders, 1, 1), None, "same id, other strategy");
    assert_eq!(idx.find(&orders, 0, 25), None);
    // Removing the head of the chain shifts the others back: all still found.
    idx.remove(&orders, 0, 1);
    assert_eq!(idx.find(&orders, 0, 1), None);
    for (slot, &(strategy, client_id)) in keys.iter().enumerate().skip(1) {
        assert_eq!(
            idx.find(&orders, strategy, client_id).map(|(_, s)| s),
            Some(slot as u32)
        );
    }
    idx.remove(&orders, 1, 5);
    assert_eq!(idx.find(&orders, 0, 17).map(|(_, s)| s), Some(3));
    assert_eq!(idx.find(&orders, 0, 9).map(|(_, s)| s), Some(1));
    assert!(idx.insert(0, 1, 0));
    assert_eq!(idx.find(&orders, 0, 1).map(|(_, s)| s), Some(0));
    // Entries at home need no shifting when removed: the count says so.
    for &(strategy, client_id) in &[(0u16, 1u64), (0, 9), (0, 17)] {
        idx.remove(&orders, strategy, client_id);
    }
    assert_eq!((idx.len, idx.displaced), (0, 0));
    assert!(idx.cells.iter().all(|&c| c == NONE));
}

#[test]
fn the_tick_test_agrees_with_the_remainder() {
    let ticks = [
        1i64,
        2,
        3,
        5,
        12,
        25,
        250_000_000,
        5_000_000,
        7_812_500,
        0,
        -4,
    ];
    for tick in ticks {
        let t = Tick::new(ES, tick);
        for px in (-1_000i64..1_000)
            .chain((0..1000).map(|k| 4_500_000_000_000 + k * 1_953_125))
            .chain([i64::MIN, i64::MAX, i64::MIN + 1])
        {
            let want = tick <= 0 || px % tick == 0;
            assert_eq!(t.on_tick(px), want, "price {px} tick {tick}");
        }
    }
}

// ---- Certification (issue 13): every report, order types, mass action scopes, messaging
// controls. Reports the simulator does not send are built here with the codec's writers.

use crate::ilink3::{
    ExecutionReportCancelWriter, ExecutionReportEliminationWriter, ExecutionReportNewWriter,
    ExecutionReportPendingCancelWriter, ExecutionReportStatusWriter,
    ExecutionReportTradeAddendumOutrightWriter, ExecutionReportTradeAddendumSpreadLegWriter,
    ExecutionReportTradeOutrightWriter, ExecutionReportTradeSpreadLegWriter,
    ExecutionReportTradeSpreadWriter, OrderMassActionReportWriter,
};
use crate::shm::strategy::MassScope;

const SPREAD: i32 = 77;
const ES_SEGMENT: u8 = 99;

/// One strategy alone on session 0 (any mass action scope), a second strategy sharing
/// session 1 with it.
fn cert_router(risk: RiskConfig) -> Router {
    let mut group = [0u8; 6];
    group[..2].copy_from_slice(b"ES");
    Router::new(RouterConfig {
        prefix: cl_ord_id_prefix(1_772_461_800_123_456, 0),
        strategies: vec![
            StrategyRoute {
                sessions: vec![0, 1],
                cancel_on_exit: false,
            },
            StrategyRoute {
                sessions: vec![1],
                cancel_on_exit: false,
            },
        ],
        sessions: 2,
        instruments: vec![(ES, TICK), (SPREAD, TICK)],
        scopes: vec![
            InstrumentScope {
                security_id: ES,
                market_segment_id: Some(ES_SEGMENT),
                security_group: group,
            },
            InstrumentScope {
                security_id: SPREAD,
                market_segment_id: Some(ES_SEGMENT),
                security_group: group,
            },
        ],
        risk,
        seq_memory: 64,
    })
}

fn cert_risk() -> RiskConfig {
    RiskConfig {
        max_order_qty: 100,
        max_open_orders: 64,
        max_orders_per_second: 1_000_000,
        session_cancels_per_second: 0,
        session_orders_per_second: 0,
        certification: false,
    }
}

fn send(r: &mut Router, strategy: usize, id: u64, body: RequestBody, now: u64) -> Routed {
    let req = Request {
        request_id: id,
        enqueue_ns: id,
        body,
    };
    r.on_request(strategy, &req, now, |_| true)
}

fn sent(routed: Routed) -> Outbound {
    match routed {
        Routed::Send(out) => out,
        Routed::Reply(e) => panic!("refused: {e:?}"),
    }
}

fn refused(routed: Routed) -> Event {
    match routed {
        Routed::Reply(e) => e,
        Routed::Send(out) => panic!("sent: {out:?}"),
    }
}

fn feed(r: &mut Router, session: usize, frame: &[u8]) -> Vec<(usize, Event)> {
    let m = decode(frame).expect("report decodes");
    let mut evs = Vec::new();
    r.on_message(session, &m, &mut |rep: &Reply| {
        evs.push((rep.strategy, rep.event))
    });
    evs
}

/// The wire message of an outbound decision.
fn wire_frame(out: &Outbound) -> Vec<u8> {
    let firm = FirmFields::new("TRADER", "US,IL", 7);
    let mut buf = [0u8; 512];
    let n = encode(out, &firm, 1, 5, &mut buf).expect("encodes");
    buf[..n].to_vec()
}

fn ack_frame(out: &Outbound, exch: u64) -> Vec<u8> {
    let mut b = vec![0u8; 1024];
    let mut w = ExecutionReportNewWriter::new(&mut b).unwrap();
    w.set_cl_ord_id(out.cl_ord_id.as_bytes()).unwrap();
    w.set_order_id(exch)
        .set_order_request_id(out.order_request_id)
        .set_security_id(out.security_id)
        .set_order_qty(out.qty)
        .set_side(out.side);
    let n = w.finish();
    b.truncate(n);
    b
}

fn fill_frame(out: &Outbound, exch: u64, qty: u32, cum: u32, leaves: u32) -> Vec<u8> {
    let mut b = vec![0u8; 1024];
    let mut w = ExecutionReportTradeOutrightWriter::new(&mut b).unwrap();
    w.set_cl_ord_id(out.cl_ord_id.as_bytes()).unwrap();
    w.set_order_id(exch)
        .set_last_px(PX)
        .set_last_qty(qty)
        .set_cum_qty(cum)
        .set_leaves_qty(leaves)
        .set_security_id(out.security_id)
        .set_side(out.side);
    let n = w.finish();
    b.truncate(n);
    b
}

fn elimination_frame(out: &Outbound, exch: u64, cum: u32) -> Vec<u8> {
    let mut b = vec![0u8; 1024];
    let mut w = ExecutionReportEliminationWriter::new(&mut b).unwrap();
    w.set_cl_ord_id(out.cl_ord_id.as_bytes()).unwrap();
    w.set_order_id(exch)
        .set_order_request_id(out.order_request_id)
        .set_cum_qty(cum)
        .set_order_qty(out.qty)
        .set_security_id(out.security_id)
        .set_side(out.side)
        .set_time_in_force(Some(3));
    let n = w.finish();
    b.truncate(n);
    b
}

fn cancel_frame(out: &Outbound, orid: u64, restatement: Option<u8>) -> Vec<u8> {
    let mut b = vec![0u8; 1024];
    let mut w = ExecutionReportCancelWriter::new(&mut b).unwrap();
    w.set_cl_ord_id(out.cl_ord_id.as_bytes()).unwrap();
    w.set_order_request_id(orid)
        .set_security_id(out.security_id)
        .set_side(out.side)
        .set_exec_restatement_reason(restatement);
    let n = w.finish();
    b.truncate(n);
    b
}

fn order(security_id: i32, qty: u32, ord_type: OrdType, tif: TimeInForce) -> Order {
    let priced = matches!(ord_type, OrdType::Limit | OrdType::StopLimit);
    Order {
        ord_type,
        tif,
        price: priced.then_some(PX),
        ..Order::limit(0, security_id, Side::Buy, qty, PX)
    }
}

#[test]
fn autocert_fak_remainder_is_eliminated_and_the_order_finished_in_the_router() {
    let mut r = cert_router(cert_risk());
    let out = sent(send(
        &mut r,
        0,
        1,
        RequestBody::NewOrder(order(ES, 5, OrdType::Limit, TimeInForce::Fak)),
        1,
    ));
    assert_eq!(out.tif, Some(3));
    assert_eq!(r.open_orders(0), 1);
    assert_eq!(
        kinds(&feed(&mut r, 0, &ack_frame(&out, 900))),
        vec![(0, EventKind::Ack)]
    );
    let f = feed(&mut r, 0, &fill_frame(&out, 900, 2, 2, 3));
    assert_eq!(kinds(&f), vec![(0, EventKind::Fill)]);
    let ev = feed(&mut r, 0, &elimination_frame(&out, 900, 2));
    assert_eq!(kinds(&ev), vec![(0, EventKind::Eliminated)]);
    assert_eq!(
        (ev[0].1.order_id, ev[0].1.cum_qty, ev[0].1.leaves_qty),
        (1, 2, 0)
    );
    assert_eq!(r.open_orders(0), 0, "the FAK is finished");
    // Its id is free again and a late report of it is not routed.
    assert!(feed(&mut r, 0, &elimination_frame(&out, 900, 2)).is_empty());
    assert_eq!(r.stats().unknown_reports, 1);
    // An FAK eliminated at once (no ack first) answers its New request.
    let out = sent(send(
        &mut r,
        0,
        2,
        RequestBody::NewOrder(order(ES, 5, OrdType::Limit, TimeInForce::Fak)),
        2,
    ));
    let ev = feed(&mut r, 0, &elimination_frame(&out, 901, 0));
    assert_eq!(ev[0].1.request_id, 2);
    assert_eq!(r.open_orders(0), 0);
}

#[test]
fn max_open_orders_is_exact_after_100000_mixed_orders_including_fak_eliminations() {
    let mut r = cert_router(RiskConfig {
        max_open_orders: 40,
        ..cert_risk()
    });
    let mut resting: Vec<(Outbound, u64)> = Vec::new();
    let mut expected: u32 = 0;
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 1..=100_000u64 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let exch = 10_000 + i;
        if expected == 40 || (rng.is_multiple_of(7) && !resting.is_empty()) {
            // Cancel (or mass-cancel-report, or exchange-cancel) a resting order.
            let (out, _) = resting.swap_remove((rng as usize / 7) % resting.len());
            let c = sent(send(
                &mut r,
                0,
                1_000_000 + i,
                RequestBody::Cancel {
                    session: 0,
                    order_id: out.request_id,
                },
                i,
            ));
            feed(&mut r, 0, &cancel_frame(&out, c.order_request_id, None));
            expected -= 1;
            assert_eq!(r.open_orders(0), expected, "step {i}");
            continue;
        }
        let tif = if rng.is_multiple_of(3) {
            TimeInForce::Day
        } else {
            TimeInForce::Fak
        };
        let out = sent(send(
            &mut r,
            0,
            i,
            RequestBody::NewOrder(order(ES, 4, OrdType::Limit, tif)),
            i,
        ));
        expected += 1;
        match (tif, (rng >> 8) % 5) {
            (TimeInForce::Fak, 0) => {
                feed(&mut r, 0, &elimination_frame(&out, exch, 0));
                expected -= 1;
            }
            (TimeInForce::Fak, 1) => {
                feed(&mut r, 0, &ack_frame(&out, exch));
                feed(&mut r, 0, &fill_frame(&out, exch, 4, 4, 0));
                expected -= 1;
            }
            (TimeInForce::Fak, _) => {
                feed(&mut r, 0, &ack_frame(&out, exch));
                feed(&mut r, 0, &fill_frame(&out, exch, 1, 1, 3));
                feed(&mut r, 0, &elimination_frame(&out, exch, 1));
                expected -= 1;
            }
            (_, 0) => {
                // Rejected by the exchange (no ack).
                let mut b = vec![0u8; 1024];
                let mut w = crate::ilink3::ExecutionReportRejectWriter::new(&mut b).unwrap();
                w.set_cl_ord_id(out.cl_ord_id.as_bytes()).unwrap();
                w.set_order_request_id(out.order_request_id);
                let n = w.finish();
                feed(&mut r, 0, &b[..n]);
                expected -= 1;
            }
            _ => {
                feed(&mut r, 0, &ack_frame(&out, exch));
                feed(&mut r, 0, &fill_frame(&out, exch, 1, 1, 3));
                resting.push((out, exch));
            }
        }
        assert_eq!(r.open_orders(0), expected, "step {i}");
    }
    assert_eq!(r.open_orders(0), resting.len() as u32);
    assert_eq!(r.stats().unknown_reports, 0);
    assert_eq!(r.stats().unmatched_responses, 0);
}

#[test]
fn autocert_fok_is_fak_with_min_qty_equal_to_order_qty_on_the_wire() {
    let mut r = cert_router(cert_risk());
    let out = sent(send(
        &mut r,
        0,
        1,
        RequestBody::NewOrder(order(ES, 7, OrdType::Limit, TimeInForce::Fok)),
        1,
    ));
    let frame = wire_frame(&out);
    let Ok(crate::ilink3::Message::NewOrderSingle(m)) = decode(&frame) else {
        panic!("a 514");
    };
    assert_eq!((m.time_in_force(), m.min_qty()), (Some(3), Some(7)));
    // An FOK whose MinQty differs from its quantity is refused here.
    let bad = Order {
        min_qty: Some(3),
        ..order(ES, 7, OrdType::Limit, TimeInForce::Fok)
    };
    let e = refused(send(&mut r, 0, 2, RequestBody::NewOrder(bad), 2));
    assert_eq!(e.reason, Some(RejectReason::InvalidCombination));
}

#[test]
fn autocert_market_limit_and_market_with_protection_orders() {
    let mut r = cert_router(cert_risk());
    for (id, ot, code) in [(1, OrdType::MarketLimit, b'K'), (2, OrdType::Market, b'1')] {
        let out = sent(send(
            &mut r,
            0,
            id,
            RequestBody::NewOrder(order(ES, 3, ot, TimeInForce::Day)),
            id,
        ));
        let frame = wire_frame(&out);
        let Ok(crate::ilink3::Message::NewOrderSingle(m)) = decode(&frame) else {
            panic!("a 514");
        };
        assert_eq!((m.ord_type(), m.price(), m.stop_px()), (code, None, None));
    }
}

#[test]
fn autocert_stop_and_stop_limit_orders_carry_stop_px_on_the_wire() {
    let mut r = cert_router(cert_risk());
    let stop_limit = Order {
        stop_px: Some(PX - TICK),
        ..order(ES, 2, OrdType::StopLimit, TimeInForce::Gtc)
    };
    let out = sent(send(&mut r, 0, 1, RequestBody::NewOrder(stop_limit), 1));
    let frame = wire_frame(&out);
    let Ok(crate::ilink3::Message::NewOrderSingle(m)) = decode(&frame) else {
        panic!("a 514");
    };
    assert_eq!(
        (m.ord_type(), m.price(), m.stop_px(), m.time_in_force()),
        (b'4', Some(PX), Some(PX - TICK), Some(1))
    );
    let stop = Order {
        stop_px: Some(PX),
        ..order(ES, 2, OrdType::Stop, TimeInForce::Day)
    };
    let out = sent(send(&mut r, 0, 2, RequestBody::NewOrder(stop), 2));
    let frame = wire_frame(&out);
    let Ok(crate::ilink3::Message::NewOrderSingle(m)) = decode(&frame) else {
        panic!("a 514");
    };
    assert_eq!(
        (m.ord_type(), m.price(), m.stop_px()),
        (b'3', None, Some(PX))
    );
    // Refused here: a buy stop-limit whose limit is below its trigger, a FAK stop, a stop
    // price off the tick.
    for (id, bad) in [
        (
            3,
            Order {
                stop_px: Some(PX + TICK),
                ..order(ES, 2, OrdType::StopLimit, TimeInForce::Day)
            },
        ),
        (
            4,
            Order {
                stop_px: Some(PX),
                ..order(ES, 2, OrdType::Stop, TimeInForce::Fak)
            },
        ),
    ] {
        let e = refused(send(&mut r, 0, id, RequestBody::NewOrder(bad), id));
        assert_eq!(e.reason, Some(RejectReason::InvalidCombination), "{id}");
    }
    let off_tick = Order {
        stop_px: Some(PX + 1),
        ..order(ES, 2, OrdType::Stop, TimeInForce::Day)
    };
    let e = refused(send(&mut r, 0, 5, RequestBody::NewOrder(off_tick), 5));
    assert_eq!(e.reason, Some(RejectReason::PriceNotOnTick));
}

#[test]
fn gtd_carries_expire_date_and_other_combinations_are_refused_locally() {
    let mut r = cert_router(cert_risk());
    let gtd = Order {
        expire_date: Some(20_600),
        display_qty: Some(2),
        ..order(ES, 9, OrdType::Limit, TimeInForce::Gtd)
    };
    let out = sent(send(&mut r, 0, 1, RequestBody::NewOrder(gtd), 1));
    let frame = wire_frame(&out);
    let Ok(crate::ilink3::Message::NewOrderSingle(m)) = decode(&frame) else {
        panic!("a 514");
    };
    assert_eq!(
        (m.time_in_force(), m.expire_date(), m.display_qty()),
        (Some(6), Some(20_600), Some(2))
    );
    let cases = [
        order(ES, 9, OrdType::Limit, TimeInForce::Gtd),
        Order {
            expire_date: Some(20_600),
            ..order(ES, 9, OrdType::Limit, TimeInForce::Day)
        },
        Order {
            min_qty: Some(2),
            ..order(ES, 9, OrdType::Limit, TimeInForce::Day)
        },
        Order {
            min_qty: Some(10),
            ..order(ES, 9, OrdType::Limit, TimeInForce::Fak)
        },
        Order {
            display_qty: Some(2),
            ..order(ES, 9, OrdType::Limit, TimeInForce::Fak)
        },
        Order {
            display_qty: Some(10),
            ..order(ES, 9, OrdType::Limit, TimeInForce::Day)
        },
    ];
    for (i, bad) in cases.into_iter().enumerate() {
        let id = 10 + i as u64;
        let e = refused(send(&mut r, 0, id, RequestBody::NewOrder(bad), id));
        assert_eq!(e.reason, Some(RejectReason::InvalidCombination), "case {i}");
        assert!(
            !e.text.as_str().unwrap_or("").is_empty(),
            "case {i} says why"
        );
    }
    // FAK with a MinQty is fine.
    let fak = Order {
        min_qty: Some(3),
        ..order(ES, 9, OrdType::Limit, TimeInForce::Fak)
    };
    let out = sent(send(&mut r, 0, 20, RequestBody::NewOrder(fak), 20));
    assert_eq!(out.min_qty, Some(3));
}

#[test]
fn autocert_spread_complete_order_fill_with_legs_then_bust_and_correction() {
    let mut r = cert_router(cert_risk());
    let out = sent(send(
        &mut r,
        0,
        1,
        RequestBody::NewOrder(order(SPREAD, 1, OrdType::Limit, TimeInForce::Day)),
        1,
    ));
    feed(&mut r, 0, &ack_frame(&out, 500));
    let mut b = vec![0u8; 1024];
    let mut w = ExecutionReportTradeSpreadWriter::new(&mut b).unwrap();
    w.set_cl_ord_id(out.cl_ord_id.as_bytes()).unwrap();
    w.set_order_id(500)
        .set_last_px(TICK)
        .set_last_qty(1)
        .set_cum_qty(1)
        .set_leaves_qty(0)
        .set_security_id(SPREAD)
        .set_side(1)
        .set_total_num_securities(2);
    let n = w.finish();
    let ev = feed(&mut r, 0, &b[..n]);
    assert_eq!(kinds(&ev), vec![(0, EventKind::Fill)]);
    assert_eq!(r.open_orders(0), 0);
    for (leg, side, px) in [(1001, 1u8, PX), (1002, 2u8, PX - TICK)] {
        let mut b = vec![0u8; 1024];
        let mut w = ExecutionReportTradeSpreadLegWriter::new(&mut b).unwrap();
        w.set_cl_ord_id(out.cl_ord_id.as_bytes()).unwrap();
        w.set_order_id(500)
            .set_last_px(px)
            .set_last_qty(1)
            .set_cum_qty(1)
            .set_security_id(leg)
            .set_side(side);
        let n = w.finish();
        let ev = feed(&mut r, 0, &b[..n]);
        assert_eq!(kinds(&ev), vec![(0, EventKind::LegFill)], "leg {leg}");
        let e = ev[0].1;
        assert_eq!(
            (e.order_id, e.security_id, e.side.map(Side::code), e.last_px),
            (1, leg, Some(side), Some(px))
        );
    }
    // The order has left the table: a bust and a correction still reach its owner.
    let mut b = vec![0u8; 1024];
    let mut w = ExecutionReportTradeAddendumOutrightWriter::new(&mut b).unwrap();
    w.set_cl_ord_id(out.cl_ord_id.as_bytes()).unwrap();
    w.set_order_id(500)
        .set_exec_type(b'H')
        .set_last_px(TICK)
        .set_last_qty(1)
        .set_side_trade_id(31)
        .set_security_id(SPREAD)
        .set_side(1);
    let n = w.finish();
    let ev = feed(&mut r, 0, &b[..n]);
    assert_eq!(kinds(&ev), vec![(0, EventKind::TradeBust)]);
    assert_eq!((ev[0].1.order_id, ev[0].1.count), (1, 31));
    let mut b = vec![0u8; 1024];
    let mut w = ExecutionReportTradeAddendumSpreadLegWriter::new(&mut b).unwrap();
    w.set_cl_ord_id(out.cl_ord_id.as_bytes()).unwrap();
    w.set_order_id(500)
        .set_exec_type(b'G')
        .set_last_px(PX + TICK)
        .set_last_qty(1)
        .set_security_id(1001)
        .set_side(1);
    let n = w.finish();
    let ev = feed(&mut r, 0, &b[..n]);
    assert_eq!(kinds(&ev), vec![(0, EventKind::TradeCorrected)]);
    assert_eq!(
        (ev[0].1.order_id, ev[0].1.security_id, ev[0].1.last_px),
        (1, 1001, Some(PX + TICK))
    );
}

fn mass(
    r: &mut Router,
    strategy: usize,
    session: u16,
    id: u64,
    scope: MassScope,
    filters: (Option<OrdType>, Option<TimeInForce>),
) -> Routed {
    send(
        r,
        strategy,
        id,
        RequestBody::MassCancel {
            session,
            security_id: Some(ES),
            side: None,
            scope,
            ord_type: filters.0,
            tif: filters.1,
        },
        id,
    )
}

#[test]
fn autocert_order_mass_action_request_by_market_segment_instrument_group_and_instrument() {
    let mut r = cert_router(cert_risk());
    let expect = [
        (MassScope::MarketSegment, 9u8),
        (MassScope::InstrumentGroup, 10),
        (MassScope::Instrument, 1),
    ];
    for (i, (scope, code)) in expect.into_iter().enumerate() {
        let out = sent(mass(
            &mut r,
            0,
            0,
            i as u64 + 1,
            scope,
            (Some(OrdType::Limit), Some(TimeInForce::Gtc)),
        ));
        let frame = wire_frame(&out);
        let Ok(crate::ilink3::Message::OrderMassActionRequest(m)) = decode(&frame) else {
            panic!("a 529");
        };
        assert_eq!(m.mass_action_scope(), code);
        assert_eq!(m.market_segment_id(), (code == 9).then_some(ES_SEGMENT));
        assert_eq!(
            m.security_group().as_str(),
            Some(if code == 10 { "ES" } else { "" })
        );
        assert_eq!(m.security_id(), (code == 1).then_some(ES));
        assert_eq!((m.ord_type(), m.time_in_force()), (Some(b'2'), Some(1)));
    }
    // A session-wide mass cancel names the instruments' one market segment.
    let out = sent(send(
        &mut r,
        0,
        9,
        RequestBody::MassCancel {
            session: 0,
            security_id: None,
            side: None,
            scope: MassScope::Default,
            ord_type: None,
            tif: None,
        },
        9,
    ));
    assert_eq!(
        (out.mass_scope, out.market_segment_id),
        (9, Some(ES_SEGMENT))
    );
    // Filters CME does not take are refused here.
    let e = refused(mass(
        &mut r,
        0,
        0,
        10,
        MassScope::Instrument,
        (Some(OrdType::Market), None),
    ));
    assert_eq!(e.reason, Some(RejectReason::InvalidOrderType));
    let e = refused(mass(
        &mut r,
        0,
        0,
        11,
        MassScope::Instrument,
        (None, Some(TimeInForce::Fak)),
    ));
    assert_eq!(e.reason, Some(RejectReason::InvalidTimeInForce));
    // On a shared session the scope becomes the strategy's own single cancels.
    // (Strategy 1's session 0 is strategy 0's session 1.)
    let o = order(ES, 1, OrdType::Limit, TimeInForce::Day);
    sent(send(&mut r, 1, 20, RequestBody::NewOrder(o), 20));
    let shared = Order { session: 1, ..o };
    sent(send(&mut r, 0, 21, RequestBody::NewOrder(shared), 21));
    let ack = refused(mass(
        &mut r,
        1,
        0,
        22,
        MassScope::MarketSegment,
        (None, None),
    ));
    assert_eq!((ack.kind, ack.count), (EventKind::MassCancelAck, 1));
    let c = r.poll_sweep(1, 1000, 30, |_| true).expect("one cancel");
    assert_eq!((c.kind, c.strategy), (OutKind::Cancel, 1));
    assert!(r.poll_sweep(1, 1000, 31, |_| true).is_none());
}

#[test]
fn mass_action_report_fragments_ack_once_and_finish_the_affected_orders() {
    let mut r = cert_router(cert_risk());
    let mut outs = Vec::new();
    for id in 1..=3 {
        let out = sent(send(
            &mut r,
            0,
            id,
            RequestBody::NewOrder(order(ES, 1, OrdType::Limit, TimeInForce::Day)),
            id,
        ));
        feed(&mut r, 0, &ack_frame(&out, 100 + id));
        outs.push(out);
    }
    let m = sent(mass(&mut r, 0, 0, 9, MassScope::Instrument, (None, None)));
    let report = |frag: &[&Outbound], last: u8| {
        let mut b = vec![0u8; 2048];
        let mut w = OrderMassActionReportWriter::with_counts(&mut b, [frag.len() as u8]).unwrap();
        w.set_order_request_id(m.order_request_id)
            .set_mass_action_response(1)
            .set_mass_action_scope(1)
            .set_total_affected_orders(3)
            .set_last_fragment(last);
        for (i, o) in frag.iter().enumerate() {
            let mut e = w.affected_order_mut(i).unwrap();
            e.set_orig_ci_ord_id(o.cl_ord_id.as_bytes()).unwrap();
            e.set_cxl_quantity(1);
        }
        let n = w.finish();
        b.truncate(n);
        b
    };
    let ev = feed(&mut r, 0, &report(&[&outs[0], &outs[1]], 0));
    assert_eq!(
        kinds(&ev),
        vec![
            (0, EventKind::MassCancelAck),
            (0, EventKind::Cancelled),
            (0, EventKind::Cancelled)
        ]
    );
    assert_eq!(ev[0].1.count, 3);
    let ev = feed(&mut r, 0, &report(&[&outs[2]], 1));
    assert_eq!(kinds(&ev), vec![(0, EventKind::Cancelled)], "acked once");
    assert_eq!(r.open_orders(0), 0);
    // A per-order cancel report after the fact is tolerated, not repeated.
    assert!(feed(&mut r, 0, &cancel_frame(&outs[2], 0, None)).is_empty());
}

#[test]
fn unsolicited_cancels_carry_their_restatement_reason() {
    let mut r = cert_router(cert_risk());
    for (id, why) in [(1u64, 100u8), (2, 103), (3, 104), (4, 106), (5, 110)] {
        let out = sent(send(
            &mut r,
            0,
            id,
            RequestBody::NewOrder(order(ES, 1, OrdType::Limit, TimeInForce::Day)),
            id,
        ));
        feed(&mut r, 0, &ack_frame(&out, id));
        let ev = feed(&mut r, 0, &cancel_frame(&out, 0, Some(why)));
        assert_eq!(kinds(&ev), vec![(0, EventKind::Cancelled)]);
        assert_eq!((ev[0].1.restatement, ev[0].1.request_id), (why, 0));
    }
    assert_eq!(r.open_orders(0), 0);
}

#[test]
fn status_and_pending_cancel_reports_become_events() {
    let mut r = cert_router(cert_risk());
    let out = sent(send(
        &mut r,
        0,
        1,
        RequestBody::NewOrder(order(ES, 4, OrdType::Limit, TimeInForce::Day)),
        1,
    ));
    feed(&mut r, 0, &ack_frame(&out, 77));
    let c = sent(send(
        &mut r,
        0,
        2,
        RequestBody::Cancel {
            session: 0,
            order_id: 1,
        },
        2,
    ));
    let mut b = vec![0u8; 1024];
    let mut w = ExecutionReportPendingCancelWriter::new(&mut b).unwrap();
    w.set_cl_ord_id(out.cl_ord_id.as_bytes()).unwrap();
    w.set_order_request_id(c.order_request_id).set_order_id(77);
    let n = w.finish();
    let ev = feed(&mut r, 0, &b[..n]);
    assert_eq!(kinds(&ev), vec![(0, EventKind::PendingCancel)]);
    assert_eq!(ev[0].1.request_id, 2);
    let mut b = vec![0u8; 1024];
    let mut w = ExecutionReportStatusWriter::new(&mut b).unwrap();
    w.set_cl_ord_id(out.cl_ord_id.as_bytes()).unwrap();
    w.set_order_id(77)
        .set_ord_status(b'4')
        .set_cum_qty(0)
        .set_leaves_qty(0);
    let n = w.finish();
    let ev = feed(&mut r, 0, &b[..n]);
    assert_eq!(kinds(&ev), vec![(0, EventKind::Status)]);
    assert_eq!(ev[0].1.restatement, b'4');
    assert_eq!(r.open_orders(0), 0, "a cancelled status finishes the order");
}

/// CME "Order Status Request" for an order it does not know: the 532 carries OrdStatus U, the
/// OrderID asked about and no ClOrdID. It reaches the owner by OrderID, echoing the status
/// request id, and the order is over (nothing at CME to cancel).
#[test]
fn a_status_u_without_cl_ord_id_reaches_the_owner_by_order_id_and_finishes_the_order() {
    let mut r = cert_router(cert_risk());
    let out = sent(send(
        &mut r,
        0,
        1,
        RequestBody::NewOrder(order(ES, 4, OrdType::Limit, TimeInForce::Day)),
        1,
    ));
    feed(&mut r, 0, &ack_frame(&out, 77));
    let status = |order_id: u64| {
        let mut b = vec![0u8; 1024];
        let mut w = ExecutionReportStatusWriter::new(&mut b).unwrap();
        w.set_order_id(order_id)
            .set_ord_status(b'U')
            .set_ord_status_req_id(Some(5))
            .set_cum_qty(0)
            .set_leaves_qty(0);
        let n = w.finish();
        b.truncate(n);
        b
    };
    // Another OrderID: nobody's order, counted as unknown, no event.
    assert!(feed(&mut r, 0, &status(78)).is_empty());
    assert_eq!(r.open_orders(0), 1);
    let ev = feed(&mut r, 0, &status(77));
    assert_eq!(kinds(&ev), vec![(0, EventKind::Status)]);
    assert_eq!(
        (ev[0].1.restatement, ev[0].1.request_id, ev[0].1.order_id),
        (b'U', 5, 1)
    );
    assert_eq!(r.open_orders(0), 0, "an order CME does not know is over");
}

#[test]
fn messaging_controls_reject_locally_per_session_and_count() {
    let mut r = cert_router(RiskConfig {
        session_cancels_per_second: 3,
        session_orders_per_second: 2,
        ..cert_risk()
    });
    let new = |r: &mut Router, id: u64, now: u64| {
        send(
            r,
            0,
            id,
            RequestBody::NewOrder(order(ES, 1, OrdType::Limit, TimeInForce::Day)),
            now,
        )
    };
    let t = 5_000_000_000;
    sent(new(&mut r, 1, t));
    sent(new(&mut r, 2, t));
    let e = refused(new(&mut r, 3, t));
    assert_eq!(e.reason, Some(RejectReason::MessagingControl));
    assert_eq!(r.messaging_control_rejects(0), [0, 1]);
    // Cancels have their own budget.
    for id in [1, 2] {
        sent(send(
            &mut r,
            0,
            10 + id,
            RequestBody::Cancel {
                session: 0,
                order_id: id,
            },
            t,
        ));
    }
    sent(mass(&mut r, 0, 0, 20, MassScope::Instrument, (None, None)));
    let e = refused(mass(&mut r, 0, 0, 21, MassScope::Instrument, (None, None)));
    assert_eq!(e.reason, Some(RejectReason::MessagingControl));
    assert_eq!(r.messaging_control_rejects(0), [1, 1]);
    assert_eq!(r.messaging_control_rejects(1), [0, 0], "per session");
    // Half a second later one new order's credit is back.
    sent(new(&mut r, 4, t + 500_000_000));
    assert!(matches!(new(&mut r, 5, t + 500_000_000), Routed::Reply(_)));
    assert_eq!(r.stats().messaging_control_rejects, 3);
}

#[test]
fn certification_mode_caps_every_session_at_10_messages_a_second() {
    let mut r = cert_router(RiskConfig {
        certification: true,
        ..cert_risk()
    });
    let t = 5_000_000_000;
    for id in 1..=10 {
        sent(send(
            &mut r,
            0,
            id,
            RequestBody::NewOrder(order(ES, 1, OrdType::Limit, TimeInForce::Day)),
            t,
        ));
    }
    let e = refused(send(
        &mut r,
        0,
        11,
        RequestBody::Cancel {
            session: 0,
            order_id: 1,
        },
        t,
    ));
    assert_eq!(e.reason, Some(RejectReason::MessagingControl));
    sent(send(
        &mut r,
        0,
        12,
        RequestBody::Cancel {
            session: 0,
            order_id: 1,
        },
        t + 100_000_000,
    ));
}

/// The router of a restarted daemon: same strategies and sessions, another ClOrdID prefix.
fn restarted_router() -> Router {
    let mut r = router();
    r.prefix = cl_ord_id_prefix(1_772_461_900_000_000, 0);
    r
}

#[test]
fn order_snapshots_encode_and_decode_back() {
    let s = OrderSnapshot {
        strategy: 3,
        strategy_session: 1,
        session: 2,
        client_id: 0x0102_0304_0506_0708,
        cl_ord_id: *b"0abcdefghij0000000k1",
        security_id: -7,
        side: 2,
        ord_type: b'4',
        tif: Some(6),
        qty: 17,
        price: Some(-PX),
        stop_px: None,
        display_qty: Some(5),
        expire_date: None,
        exchange_id: Some(99),
        cum_qty: 4,
    };
    let b = s.encode();
    assert_eq!(OrderSnapshot::decode(&b), Ok(s));
    let empty = OrderSnapshot {
        tif: None,
        price: None,
        stop_px: Some(PX),
        display_qty: None,
        expire_date: Some(20_000),
        exchange_id: None,
        ..s
    };
    assert_eq!(OrderSnapshot::decode(&empty.encode()), Ok(empty));
    assert_eq!(
        OrderSnapshot::decode(&b[..10]),
        Err(RestoreError::Length { len: 10 })
    );
}

#[test]
fn restored_orders_keep_their_ids_recover_to_their_owner_and_can_be_cancelled() {
    let mut h = Harness::new();
    let a = h.new_order(0, Side::Buy, PX - TICK, 2);
    let b = h.new_order(1, Side::Sell, PX + TICK, 3);
    let c = h.new_order(0, Side::Buy, PX - 2 * TICK, 4);
    for (st, req) in [(0, &a), (1, &b), (0, &c)] {
        assert_eq!(kinds(&h.run(st, req)), vec![(st, EventKind::Ack)]);
    }
    let snaps = h.r.open_snapshots();
    assert_eq!(snaps.len(), 3);
    // The journal's bytes, read back after a restart.
    let bytes: Vec<[u8; SNAPSHOT_LEN]> = snaps.iter().map(OrderSnapshot::encode).collect();
    let read: Vec<OrderSnapshot> = bytes
        .iter()
        .map(|b| OrderSnapshot::decode(b).expect("decodes"))
        .collect();
    h.r = restarted_router();
    assert_eq!(h.r.restore(&read), Ok(3));
    assert_eq!((h.r.open_orders(0), h.r.open_orders(1)), (2, 1));
    assert_eq!(h.r.open_snapshots(), snaps, "same orders, same ClOrdIDs");

    let mut rec = Vec::new();
    assert_eq!(h.r.recovered(0, &mut |r: &Reply| rec.push(*r)), 2);
    assert!(rec
        .iter()
        .all(|r| r.strategy == 0 && r.event.kind == EventKind::Recovered));
    let mut ids: Vec<(u64, u32, u32)> = rec
        .iter()
        .map(|r| (r.event.order_id, r.event.qty, r.event.leaves_qty))
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![(a.request_id, 2, 2), (c.request_id, 4, 4)]);
    assert!(rec.iter().all(|r| r.event.exchange_order_id > 0));

    // A strategy's new order may not reuse a recovered order id.
    let dup = h.req(RequestBody::NewOrder(Order::limit(0, ES, Side::Buy, 1, PX)));
    let dup = Request {
        request_id: a.request_id,
        ..dup
    };
    let ev = h.run(0, &dup);
    assert_eq!(ev[0].1.reason, Some(RejectReason::DuplicateOrderId));

    // The exchange still knows the old ClOrdIDs: cancels of recovered orders go through and
    // their reports find the order.
    for (st, id) in [(0, a.request_id), (1, b.request_id), (0, c.request_id)] {
        let cxl = h.req(RequestBody::Cancel {
            session: 0,
            order_id: id,
        });
        let ev = h.run(st, &cxl);
        assert_eq!(kinds(&ev), vec![(st, EventKind::Cancelled)], "{id}");
        assert_eq!(ev[0].1.order_id, id);
    }
    assert_eq!((h.r.open_orders(0), h.r.open_orders(1)), (0, 0));
    assert_eq!(h.r.stats().unknown_reports, 0);
    assert!(h.r.open_snapshots().is_empty());
    assert!(
        h.r.restored.is_empty(),
        "freed slots leave the restored index"
    );
}

#[test]
fn reconciliation_finishes_restored_orders_the_exchange_no_longer_has() {
    let mut h = Harness::new();
    let a = h.new_order(0, Side::Buy, PX - TICK, 2);
    let b = h.new_order(0, Side::Buy, PX - 2 * TICK, 2);
    h.run(0, &a);
    h.run(0, &b);
    let snaps = h.r.open_snapshots();
    let keep = snaps
        .iter()
        .find(|s| s.client_id == b.request_id)
        .expect("b is open")
        .cl_ord_id;
    let mut r = restarted_router();
    r.restore(&snaps).expect("restores");
    let mut ev = Vec::new();
    let gone = r.reconcile(0, |id| id == keep, &mut |rep: &Reply| ev.push(*rep));
    assert_eq!(gone, 1);
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].strategy, ev[0].event.kind, ev[0].event.order_id),
        (0, EventKind::Cancelled, a.request_id)
    );
    assert_eq!(r.open_orders(0), 1);
    // Restoring onto a route the configuration no longer has is an error that names it.
    let mut bad = snaps[0];
    bad.strategy = 7;
    let err = restarted_router().restore(&[bad]).unwrap_err();
    assert!(err.to_string().contains("strategy 7"), "{err}");
}

/// Sweeps every strategy's cancels through the engine; returns (strategy, order id) cancelled.
fn drain_kill_sweeps(h: &mut Harness) -> Vec<(usize, u64)> {
    let mut cancelled = Vec::new();
    for st in 0..2 {
        while let Some(out) = h.r.poll_sweep(st, 1000, h.now, |_| true) {
            assert_eq!(out.kind, OutKind::Cancel);
            for (s, e) in h.transmit(&out) {
                assert_eq!(e.kind, EventKind::Cancelled);
                cancelled.push((s, e.order_id));
            }
        }
        assert!(!h.r.sweeping(st));
    }
    cancelled.sort_unstable();
    cancelled
}

#[test]
fn kill_switch_on_everything_cancels_all_open_orders_and_refuses_new_ones_until_released() {
    let mut h = Harness::new();
    let a = h.new_order(0, Side::Buy, PX - TICK, 1);
    h.run(0, &a);
    let b = h.new_order(1, Side::Buy, PX - 2 * TICK, 1);
    h.run(1, &b);
    assert_eq!(h.r.set_kill(true, |_| false, |_| false), 2);
    assert_eq!(
        drain_kill_sweeps(&mut h),
        vec![(0, a.request_id), (1, b.request_id)]
    );
    assert_eq!((h.r.open_orders(0), h.r.open_orders(1)), (0, 0));
    for st in 0..2 {
        let o = h.new_order(st, Side::Buy, PX - TICK, 1);
        let ev = h.run(st, &o);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].1.kind, EventKind::Reject);
        assert_eq!(ev[0].1.reason, Some(RejectReason::KillSwitch));
        assert_eq!(ev[0].1.text.as_str(), Some("kill switch"));
    }
    // Released: trading again.
    assert_eq!(h.r.set_kill(false, |_| false, |_| false), 0);
    let o = h.new_order(0, Side::Buy, PX - TICK, 1);
    assert_eq!(kinds(&h.run(0, &o)), vec![(0, EventKind::Ack)]);
}

#[test]
fn kill_switch_on_one_session_leaves_the_others_trading_and_cancels_still_pass() {
    let mut h = Harness::new();
    let on0 = h.new_order(1, Side::Buy, PX - TICK, 1);
    h.run(1, &on0);
    let mut o = match h.new_order(1, Side::Buy, PX - 3 * TICK, 1).body {
        RequestBody::NewOrder(o) => o,
        _ => unreachable!(),
    };
    o.session = 1;
    let on1 = h.req(RequestBody::NewOrder(o));
    h.run(1, &on1);
    assert_eq!(h.r.open_orders(1), 2);
    // Engine session 0 killed: strategy 1's order there goes, the one on session 1 stays.
    assert_eq!(h.r.set_kill(false, |e| e == 0, |_| false), 1);
    assert_eq!(drain_kill_sweeps(&mut h), vec![(1, on0.request_id)]);
    assert_eq!(h.r.open_orders(1), 1);
    let blocked = h.new_order(1, Side::Buy, PX - TICK, 1);
    let ev = h.run(1, &blocked);
    assert_eq!(ev[0].1.reason, Some(RejectReason::KillSwitch));
    // A cancel on the live session passes; so does a new order there.
    let cancel = h.req(RequestBody::Cancel {
        session: 1,
        order_id: on1.request_id,
    });
    assert_eq!(kinds(&h.run(1, &cancel)), vec![(1, EventKind::Cancelled)]);
    let on1b = h.req(RequestBody::NewOrder(o));
    assert_eq!(kinds(&h.run(1, &on1b)), vec![(1, EventKind::Ack)]);
}

#[test]
fn kill_switch_sweep_survives_a_strategys_own_mass_cancel() {
    let mut h = Harness::new();
    let a = h.new_order(0, Side::Buy, PX - TICK, 1);
    h.run(0, &a);
    let b = h.new_order(0, Side::Sell, PX + 5 * TICK, 1);
    h.run(0, &b);
    assert_eq!(h.r.set_kill(false, |_| false, |s| s == 0), 2);
    // Before the kill sweep runs, the strategy asks for a buy-side mass cancel only.
    let mass = h.req(RequestBody::MassCancel {
        session: 0,
        security_id: Some(ES),
        side: Some(Side::Buy),
        scope: MassScope::Default,
        ord_type: None,
        tif: None,
    });
    h.run(0, &mass);
    let mut cancelled = Vec::new();
    while let Some(out) = h.r.poll_sweep(0, 1000, h.now, |_| true) {
        cancelled.extend(h.transmit(&out).into_iter().map(|(_, e)| e.order_id));
    }
    cancelled.sort_unstable();
    assert_eq!(cancelled, vec![a.request_id, b.request_id]);
    assert_eq!(h.r.open_orders(0), 0);
}

/// The order journal's records through a whole life: sent (Open), acknowledged, filled in
/// part, replaced (each an Update carrying the new state), cancelled (Finished); replaying
/// them restores the order as it stood at each step, and nothing once it is finished.
#[test]
fn every_change_of_an_order_makes_one_order_journal_record_with_its_new_state() {
    use crate::daemon::order_journal::OrderChange::{Finished, Open, Update};
    let mut h = Harness::new();
    let take = |h: &mut Harness| {
        let mut v = Vec::new();
        assert_eq!(h.r.take_changes(|c, s| v.push((c, *s))), 0, "none lost");
        v
    };
    let buy = h.new_order(0, Side::Buy, PX, 5);
    h.run(0, &buy);
    let recs = take(&mut h);
    assert_eq!(
        recs.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        vec![Open, Update]
    );
    assert_eq!(recs[0].1.exchange_id, None);
    let acked = recs[1].1;
    assert!(acked.exchange_id.is_some());
    assert_eq!(
        (acked.client_id, acked.qty, acked.cum_qty, acked.price),
        (buy.request_id, 5, 0, Some(PX))
    );
    // Strategy 1's sell fills 3 of the buy and is done itself.
    let sell = h.new_order(1, Side::Sell, PX, 3);
    h.run(1, &sell);
    let recs = take(&mut h);
    let buy_recs: Vec<_> = recs
        .iter()
        .filter(|(_, s)| s.strategy == 0)
        .map(|(c, s)| (*c, s.cum_qty))
        .collect();
    assert_eq!(buy_recs, vec![(Update, 3)]);
    let sell_recs: Vec<_> = recs
        .iter()
        .filter(|(_, s)| s.strategy == 1)
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(sell_recs.first(), Some(&Open));
    assert_eq!(sell_recs.last(), Some(&Finished));
    // Replace: the Update carries the new quantity and price.
    let rep = h.req(RequestBody::Replace {
        order_id: buy.request_id,
        order: Order {
            qty: 6,
            price: Some(PX - TICK),
            ..Order::limit(0, ES, Side::Buy, 6, PX - TICK)
        },
    });
    h.run(0, &rep);
    let recs = take(&mut h);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0].0, Update);
    assert_eq!((recs[0].1.qty, recs[0].1.price), (6, Some(PX - TICK)));
    assert_eq!(recs[0].1.cl_ord_id, acked.cl_ord_id);
    let cxl = h.req(RequestBody::Cancel {
        session: 0,
        order_id: buy.request_id,
    });
    h.run(0, &cxl);
    let recs = take(&mut h);
    assert_eq!(
        recs.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        vec![Finished]
    );
    assert_eq!(recs[0].1.cl_ord_id, acked.cl_ord_id);
    // A request that changes no order (a refused cancel) makes no record.
    let again = h.req(RequestBody::Cancel {
        session: 0,
        order_id: buy.request_id,
    });
    h.run(0, &again);
    assert!(take(&mut h).is_empty());
}

/// CME Party Details Definition Request (CERTIFICATION.md section 3): while a strategy's
/// party is not accepted on a session, its new orders and modifies there are refused locally
/// with the reason and the party named; cancels still pass, other strategies trade.
#[test]
fn party_details_not_acknowledged_refuses_new_orders_locally_and_names_the_party() {
    let mut h = Harness::new();
    let resting = h.new_order(0, Side::Buy, PX - TICK, 1);
    assert_eq!(kinds(&h.run(0, &resting)), vec![(0, EventKind::Ack)]);
    h.r.set_party_block(0, 0, Some(Text::new("party desk1 awaiting 519")));
    let o = h.new_order(0, Side::Buy, PX - 2 * TICK, 1);
    let ev = h.run(0, &o);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].1.kind, EventKind::Reject);
    assert_eq!(ev[0].1.reason, Some(RejectReason::PartyNotRegistered));
    assert_eq!(ev[0].1.text.as_str(), Some("party desk1 awaiting 519"));
    assert_eq!(ev[0].1.request_id, o.request_id);
    // A modify names the party too: refused, the resting order unchanged.
    let rep = h.req(RequestBody::Replace {
        order_id: resting.request_id,
        order: Order {
            session: 0,
            security_id: ES,
            side: Side::Buy,
            qty: 2,
            price: Some(PX - TICK),
            ord_type: OrdType::Limit,
            tif: TimeInForce::Day,
            stop_px: None,
            min_qty: None,
            display_qty: None,
            expire_date: None,
        },
    });
    let ev = h.run(0, &rep);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].1.reason, Some(RejectReason::PartyNotRegistered));
    assert_eq!(h.r.open_orders(0), 1);
    // Strategy 1 names no blocked party: it trades.
    let other = h.new_order(1, Side::Buy, PX - 2 * TICK, 1);
    assert_eq!(kinds(&h.run(1, &other)), vec![(1, EventKind::Ack)]);
    // A cancel of the resting order is not blocked.
    let cancel = h.req(RequestBody::Cancel {
        session: 0,
        order_id: resting.request_id,
    });
    assert_eq!(kinds(&h.run(0, &cancel)), vec![(0, EventKind::Cancelled)]);
    // Accepted (519): orders go again.
    h.r.set_party_block(0, 0, None);
    let o = h.new_order(0, Side::Buy, PX - 2 * TICK, 1);
    assert_eq!(kinds(&h.run(0, &o)), vec![(0, EventKind::Ack)]);
}

/// The ClOrdID parser (a SWAR conversion) against a digit-by-digit reference: every key
/// made is read back, and a byte that is not a base-32 digit at any key position, a foreign
/// prefix or a wrong length is refused.
#[test]
fn cl_ord_id_parser_reads_back_every_key_and_refuses_every_bad_byte() {
    let prefix = cl_ord_id_prefix(1_772_461_800_123_456, 3);
    let reference = |id: &[u8]| -> Option<u64> {
        let rest = id.strip_prefix(prefix.as_slice())?;
        if rest.len() != KEY_LEN {
            return None;
        }
        rest.iter().try_fold(0u64, |v, &b| {
            let d = B32.iter().position(|&c| c == b)?;
            Some((v << 5) | d as u64)
        })
    };
    let mut key = 0u64;
    let mut keys = vec![0, 1, 31, 32, MAX_KEY, MAX_KEY - 1, 1 << 40, (1 << 40) - 1];
    for _ in 0..2000 {
        key = key
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        keys.push(key & MAX_KEY);
    }
    for &k in &keys {
        let id = make_cl_ord_id(&prefix, k);
        assert_eq!(reference(id.as_bytes()), Some(k), "{id:?}");
        assert_eq!(parse_cl_ord_id(&prefix, id.as_bytes()), Some(k), "{id:?}");
    }
    let base = make_cl_ord_id(&prefix, 0x0123_4567_89ab & MAX_KEY);
    for pos in PREFIX_LEN..CL_ORD_ID_LEN {
        for b in 0..=255u8 {
            let mut id = base.as_bytes().to_vec();
            id[pos] = b;
            let got = parse_cl_ord_id(&prefix, &id);
            assert_eq!(got, reference(&id), "byte {b:#x} at {pos}");
            assert_eq!(got.is_some(), B32.contains(&b), "byte {b:#x} at {pos}");
        }
    }
    let other = cl_ord_id_prefix(1_772_461_800_123_457, 3);
    let id = make_cl_ord_id(&other, 5);
    assert_eq!(parse_cl_ord_id(&prefix, id.as_bytes()), None);
    let id = make_cl_ord_id(&prefix, 5);
    assert_eq!(parse_cl_ord_id(&prefix, &id.as_bytes()[..19]), None);
    let mut long = id.as_bytes().to_vec();
    long.push(b'0');
    assert_eq!(parse_cl_ord_id(&prefix, &long), None);
}
