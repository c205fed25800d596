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
            firm: FirmFields {
                sender_id: "TRADER".into(),
                location: "US,IL".into(),
                party_details_list_req_id: 7,
            },
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
            self.r.on_message(key.0 as usize, &m, &mut |reply: Reply| {
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
    let found = r.not_applied(0, 39, 3, &mut |reply: Reply| got.push(reply));
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
