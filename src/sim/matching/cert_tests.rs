//! Certification scenarios on the engine, named after the AutoCert+ case or CME page they cover
//! (CERTIFICATION.md sections 1.2, 3, 4, 5).

use super::*;
use crate::ilink3::{
    decode, ExecutionReportCancel, ExecutionReportElimination, ExecutionReportNew,
    ExecutionReportStatus, ExecutionReportTradeAddendumOutright, ExecutionReportTradeSpread,
    NewOrderSingleWriter, OrderMassActionReport, OrderMassActionRequestWriter,
    OrderMassStatusRequestWriter, OrderStatusRequestWriter, PartyDetailsDefinitionRequestWriter,
    PartyDetailsListRequestWriter,
};
use crate::ilink3::{
    MassQuoteAck, MassQuoteWriter, QuoteCancelAck, QuoteCancelWriter,
    SecurityDefinitionRequestWriter, SecurityDefinitionResponse,
};

const ES: i32 = 42;
const NQ: i32 = 43;
const SPREAD: i32 = 44;
const TICK: i64 = 250_000_000;
const A: SessionKey = SessionKey(0);
const B: SessionKey = SessionKey(1);

fn px(p: f64) -> i64 {
    (p * 1e9).round() as i64
}

fn engine() -> MatchingEngine {
    let mut e = MatchingEngine::new(
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
        ],
    );
    e.set_instrument_info(&InstrumentInfo {
        security_id: ES,
        market_segment_id: Some(99),
        security_group: "ES".into(),
        legs: Vec::new(),
    });
    e.set_instrument_info(&InstrumentInfo {
        security_id: NQ,
        market_segment_id: Some(98),
        security_group: "NQ".into(),
        legs: Vec::new(),
    });
    e.set_instrument_info(&InstrumentInfo {
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
    e
}

#[derive(Clone, Copy)]
struct O {
    sec: i32,
    side: u8,
    ord_type: u8,
    price: Option<i64>,
    stop: Option<i64>,
    qty: u32,
    min_qty: Option<u32>,
    tif: Option<u8>,
    expire: Option<u16>,
    party: u64,
}

fn limit(side: u8, p: f64, qty: u32) -> O {
    O {
        sec: ES,
        side,
        ord_type: LIMIT,
        price: Some(px(p)),
        stop: None,
        qty,
        min_qty: None,
        tif: Some(TIF_DAY),
        expire: None,
        party: 0,
    }
}

fn frame(o: O) -> Vec<u8> {
    let mut buf = vec![0u8; 512];
    let mut w = NewOrderSingleWriter::new(&mut buf).unwrap();
    w.set_cl_ord_id("C").unwrap();
    w.set_price(o.price)
        .set_stop_px(o.stop)
        .set_order_qty(o.qty)
        .set_min_qty(o.min_qty)
        .set_security_id(o.sec)
        .set_side(o.side)
        .set_ord_type(o.ord_type)
        .set_time_in_force(o.tif)
        .set_expire_date(o.expire)
        .set_party_details_list_req_id(o.party)
        .set_order_request_id(7);
    let n = w.finish();
    buf.truncate(n);
    buf
}

fn run(e: &mut MatchingEngine, owner: SessionKey, frame: &[u8]) -> Vec<(SessionKey, Report)> {
    let mut out = Vec::new();
    assert!(e.on_message(owner, 1, &decode(frame).unwrap(), &mut out));
    out
}

fn kinds(out: &[(SessionKey, Report)]) -> Vec<(SessionKey, u16)> {
    out.iter().map(|(k, r)| (*k, r.template_id())).collect()
}

fn encode(e: &MatchingEngine, r: &Report) -> Vec<u8> {
    let mut buf = vec![0u8; 8192];
    let n = r.encode_with(1, 1, 1, &mut buf, e.aux()).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn market_limit_order_test_fills_at_best_and_rests_the_rest_there() {
    let mut e = engine();
    run(&mut e, B, &frame(limit(SELL, 100.0, 2)));
    run(&mut e, B, &frame(limit(SELL, 101.0, 5)));
    let mut o = limit(BUY, 0.0, 3);
    o.ord_type = MARKET_LIMIT;
    o.price = None;
    let out = run(&mut e, A, &frame(o));
    assert_eq!(kinds(&out), vec![(A, 522), (A, 525), (B, 525)]);
    let rest = e.orders_of(A);
    assert_eq!(rest.len(), 1);
    assert_eq!((rest[0].price, rest[0].leaves_qty()), (px(100.0), 1));
    // No opposite side: rejected.
    let mut e = engine();
    let out = run(&mut e, A, &frame(o));
    assert_eq!(kinds(&out), vec![(A, 523)]);
}

#[test]
fn market_order_test_with_protection_stops_at_the_band() {
    let mut e = engine();
    e.set_protection_ticks(4);
    run(&mut e, B, &frame(limit(SELL, 100.0, 1)));
    run(&mut e, B, &frame(limit(SELL, 102.0, 1)));
    let mut o = limit(BUY, 0.0, 2);
    o.ord_type = MARKET_PROTECT;
    o.price = None;
    let out = run(&mut e, A, &frame(o));
    // Fills 1 at 100; 102 is beyond 100 + 4 ticks: the rest rests at 101.
    assert_eq!(kinds(&out), vec![(A, 522), (A, 525), (B, 525)]);
    assert_eq!(e.orders_of(A)[0].price, px(101.0));
}

#[test]
fn stop_limit_order_test_rests_untriggered_then_acks_again_and_trades() {
    let mut e = engine();
    run(&mut e, B, &frame(limit(SELL, 101.0, 1)));
    run(&mut e, B, &frame(limit(SELL, 102.0, 5)));
    let mut stop = limit(BUY, 102.0, 3);
    stop.ord_type = STOP_LIMIT;
    stop.stop = Some(px(101.0));
    let out = run(&mut e, A, &frame(stop));
    assert_eq!(kinds(&out), vec![(A, 522)]);
    let ack_bytes = encode(&e, &out[0].1);
    let ack = ExecutionReportNew::decode(&ack_bytes).unwrap();
    assert_eq!(ack.stop_px(), Some(px(101.0)));
    // Untriggered: not in the book.
    assert!(e.levels(ES, BUY).is_empty());
    // A trade at 101 triggers it: second New, then it trades at 102.
    let out = run(&mut e, B, &frame(limit(BUY, 101.0, 1)));
    assert_eq!(
        kinds(&out),
        vec![(B, 522), (B, 525), (B, 525), (A, 522), (A, 525), (B, 525)]
    );
    let (_, fill) = out[4];
    assert!(
        matches!(fill.kind, ReportKind::Trade { last_px, last_qty: 3, .. } if last_px == px(102.0))
    );
    // A buy stop at or below the last trade is refused.
    let mut late = stop;
    late.stop = Some(px(101.0));
    let out = run(&mut e, A, &frame(late));
    assert_eq!(kinds(&out), vec![(A, 523)]);
}

#[test]
fn stop_order_with_protection_triggers_into_a_protected_limit() {
    let mut e = engine();
    e.set_protection_ticks(2);
    let mut stop = limit(SELL, 0.0, 1);
    stop.ord_type = STOP_PROTECT;
    stop.price = None;
    stop.stop = Some(px(99.0));
    assert_eq!(kinds(&run(&mut e, A, &frame(stop))), vec![(A, 522)]);
    run(&mut e, B, &frame(limit(BUY, 99.0, 1)));
    let out = run(&mut e, B, &frame(limit(SELL, 99.0, 1)));
    // Trade at 99 triggers; no bid left, so it rests at 99 - 2 ticks.
    assert_eq!(kinds(&out), vec![(B, 522), (B, 525), (B, 525), (A, 522)]);
    assert_eq!(e.orders_of(A)[0].price, px(98.5));
    // Cancel of the triggered order works as for any order.
    assert!(!e.orders_of(A)[0].pending_stop);
}

#[test]
fn fok_is_fak_with_min_qty_equal_to_order_qty_eliminated_without_fills() {
    let mut e = engine();
    run(&mut e, B, &frame(limit(SELL, 100.0, 2)));
    let mut fok = limit(BUY, 100.0, 3);
    fok.tif = Some(TIF_FAK);
    fok.min_qty = Some(3);
    let out = run(&mut e, A, &frame(fok));
    assert_eq!(kinds(&out), vec![(A, 522), (A, 524)]);
    let el_bytes = encode(&e, &out[1].1);
    let el = ExecutionReportElimination::decode(&el_bytes).unwrap();
    assert_eq!((el.cum_qty(), el.order_qty()), (0, 3));
    // MinQty 2 is available: it fills 2 and the remainder is eliminated.
    fok.min_qty = Some(2);
    let out = run(&mut e, A, &frame(fok));
    assert_eq!(kinds(&out), vec![(A, 522), (A, 525), (B, 525), (A, 524)]);
    assert_eq!(e.live_orders(), 0);
}

#[test]
fn gtd_and_day_orders_expire_at_the_close_gtc_survives() {
    let mut e = engine();
    let day = limit(BUY, 90.0, 1);
    let mut gtc = day;
    gtc.tif = Some(TIF_GTC);
    let mut gtd_today = day;
    gtd_today.tif = Some(TIF_GTD);
    gtd_today.expire = Some(20_000);
    let mut gtd_later = gtd_today;
    gtd_later.expire = Some(20_005);
    let mut gtd_missing = gtd_today;
    gtd_missing.expire = None;
    for o in [day, gtc, gtd_today, gtd_later] {
        assert_eq!(kinds(&run(&mut e, A, &frame(o))), vec![(A, 522)]);
    }
    assert_eq!(kinds(&run(&mut e, A, &frame(gtd_missing))), vec![(A, 523)]);
    let mut out = Vec::new();
    e.close_day(20_000, 5, &mut out);
    assert_eq!(kinds(&out), vec![(A, 524), (A, 524)]);
    let left: Vec<_> = e.orders_of(A).iter().map(|o| o.time_in_force).collect();
    assert_eq!(left, vec![Some(TIF_GTC), Some(TIF_GTD)]);
    out.clear();
    e.close_day(20_005, 6, &mut out);
    assert_eq!(kinds(&out), vec![(A, 524)]);
    assert_eq!(e.live_orders(), 1);
}

#[test]
fn spread_complete_order_fill_reports_trade_spread_and_one_leg_per_leg() {
    let mut e = engine();
    let mut s = limit(SELL, 1.0, 1);
    s.sec = SPREAD;
    run(&mut e, B, &frame(s));
    let mut b = s;
    b.side = BUY;
    let out = run(&mut e, A, &frame(b));
    assert_eq!(
        kinds(&out),
        vec![
            (A, 522),
            (A, 526),
            (A, 527),
            (A, 527),
            (B, 526),
            (B, 527),
            (B, 527)
        ]
    );
    let ts_bytes = encode(&e, &out[1].1);
    let ts = ExecutionReportTradeSpread::decode(&ts_bytes).unwrap();
    assert_eq!(ts.legs().len(), 2);
    assert_eq!(ts.total_num_securities(), 2);
    let leg = ts.legs().get(1).unwrap();
    assert_eq!((leg.leg_security_id(), leg.leg_side()), (NQ, SELL));
    // Leg prices differ by the spread price.
    let (l1, l2) = (out[2].1, out[3].1);
    let p = |r: Report| match r.kind {
        ReportKind::SpreadLeg { last_px, .. } => last_px,
        _ => 0,
    };
    assert_eq!(p(l1) - p(l2), px(1.0));
    assert_eq!(
        (l1.security_id, l1.side, l2.security_id, l2.side),
        (ES, BUY, NQ, SELL)
    );
}

#[test]
fn outright_bust_and_correction_send_trade_addendum_h_and_g() {
    let mut e = engine();
    e.set_trade_faults(0, 0, true);
    run(&mut e, B, &frame(limit(SELL, 100.0, 1)));
    let out = run(&mut e, A, &frame(limit(BUY, 100.0, 1)));
    let trade = match out[1].1.kind {
        ReportKind::Trade { sec_exec_id, .. } => sec_exec_id,
        _ => panic!("no trade"),
    };
    let mut adds = Vec::new();
    assert!(e.correct_trade(trade, px(100.25), 2, &mut adds));
    assert_eq!(kinds(&adds), vec![(A, 548), (B, 548)]);
    let g_bytes = encode(&e, &adds[0].1);
    let g = ExecutionReportTradeAddendumOutright::decode(&g_bytes).unwrap();
    assert_eq!((g.exec_type(), g.last_px()), (b'G', px(100.25)));
    assert_eq!(g.orig_secondary_execution_id(), Some(trade));
    let corrected = g.sec_exec_id();
    adds.clear();
    assert!(e.bust_trade(corrected, 3, &mut adds));
    let h_bytes = encode(&e, &adds[1].1);
    let h = ExecutionReportTradeAddendumOutright::decode(&h_bytes).unwrap();
    assert_eq!((h.exec_type(), h.ord_status()), (b'H', b'H'));
    assert!(
        !e.bust_trade(corrected, 4, &mut adds),
        "a busted trade is gone"
    );
}

#[test]
fn spread_bust_fault_flag_sends_549_and_550_per_leg() {
    let mut e = engine();
    e.set_trade_faults(1, 0, false);
    let mut s = limit(SELL, 1.0, 1);
    s.sec = SPREAD;
    run(&mut e, B, &frame(s));
    s.side = BUY;
    let out = run(&mut e, A, &frame(s));
    let adds: Vec<u16> = out
        .iter()
        .map(|(_, r)| r.template_id())
        .filter(|t| *t >= 548)
        .collect();
    assert_eq!(adds, vec![549, 550, 550, 549, 550, 550]);
}

fn define_party(e: &mut MatchingEngine, id: u64, smp: Option<u64>, instr: Option<u8>) -> Report {
    let mut buf = vec![0u8; 512];
    let mut w = PartyDetailsDefinitionRequestWriter::new(&mut buf).unwrap();
    w.set_party_details_list_req_id(id)
        .set_self_match_prevention_id(smp)
        .set_self_match_prevention_instruction(instr)
        .set_list_update_action(b'A');
    let n = w.finish();
    buf.truncate(n);
    let out = run(e, A, &buf);
    assert_eq!(kinds(&out), vec![(A, 519)]);
    out[0].1
}

#[test]
fn self_match_prevention_cancels_oldest_103_or_newest_107() {
    let mut e = engine();
    define_party(&mut e, 7, Some(55), Some(b'O'));
    define_party(&mut e, 8, Some(55), Some(b'N'));
    let mut sell = limit(SELL, 100.0, 1);
    sell.party = 7;
    run(&mut e, B, &frame(sell));
    let mut buy = limit(BUY, 100.0, 1);
    buy.party = 7;
    let out = run(&mut e, A, &frame(buy));
    assert_eq!(kinds(&out), vec![(A, 522), (B, 534)]);
    let c_bytes = encode(&e, &out[1].1);
    let c = ExecutionReportCancel::decode(&c_bytes).unwrap();
    assert_eq!(c.exec_restatement_reason(), Some(103));
    assert_eq!(e.orders_of(A).len(), 1, "the incoming order rests");
    // Instruction N: the incoming (newest) order is cancelled, the resting one stays.
    let mut sell8 = limit(SELL, 100.0, 1);
    sell8.party = 8;
    let out = run(&mut e, B, &frame(sell8));
    assert_eq!(kinds(&out), vec![(B, 522), (B, 534)]);
    let c_bytes = encode(&e, &out[1].1);
    let c = ExecutionReportCancel::decode(&c_bytes).unwrap();
    assert_eq!(c.exec_restatement_reason(), Some(107));
    assert_eq!(e.orders_of(A).len(), 1);
}

#[test]
fn party_details_definition_request_ack_and_an_order_with_an_unknown_id() {
    let mut e = engine();
    e.set_parties_required(true);
    let mut o = limit(BUY, 100.0, 1);
    o.party = 9;
    let out = run(&mut e, A, &frame(o));
    assert_eq!(kinds(&out), vec![(A, 521)]);
    let rej_bytes = encode(&e, &out[0].1);
    let rej = crate::ilink3::BusinessReject::decode(&rej_bytes).unwrap();
    assert_eq!(
        (rej.business_reject_reason(), rej.ref_tag_id()),
        (1, Some(1505))
    );
    let ack = define_party(&mut e, 9, None, None);
    let ack_bytes = encode(&e, &ack);
    let ack = crate::ilink3::PartyDetailsDefinitionRequestAck::decode(&ack_bytes).unwrap();
    assert_eq!(
        (
            ack.party_details_list_req_id(),
            ack.party_detail_request_status()
        ),
        (9, 0)
    );
    assert_eq!(kinds(&run(&mut e, A, &frame(o))), vec![(A, 522)]);
    // PartyDetailsListRequest lists the definition.
    let mut buf = vec![0u8; 256];
    let n = PartyDetailsListRequestWriter::new(&mut buf)
        .unwrap()
        .finish();
    let out = run(&mut e, A, &buf[..n]);
    assert_eq!(kinds(&out), vec![(A, 538)]);
    let rep_bytes = encode(&e, &out[0].1);
    let rep = crate::ilink3::PartyDetailsListReport::decode(&rep_bytes).unwrap();
    assert_eq!(
        (
            rep.party_details_list_req_id(),
            rep.tot_num_parties(),
            rep.last_fragment()
        ),
        (9, 1, 1)
    );
}

fn mass(scope: u8, sec: Option<i32>, seg: Option<u8>, group: &str, side: Option<u8>) -> Vec<u8> {
    let mut buf = vec![0u8; 512];
    let mut w = OrderMassActionRequestWriter::new(&mut buf).unwrap();
    w.set_security_group(group).unwrap();
    w.set_mass_action_scope(scope)
        .set_security_id(sec)
        .set_market_segment_id(seg)
        .set_side(side)
        .set_order_request_id(3);
    let n = w.finish();
    buf.truncate(n);
    buf
}

#[test]
fn ilink_order_mass_action_request_by_market_segment_id_needs_1300_and_fragments() {
    let mut e = engine();
    let out = run(&mut e, A, &mass(9, None, None, "", None));
    assert_eq!(kinds(&out), vec![(A, 562)]);
    let r_bytes = encode(&e, &out[0].1);
    let r = OrderMassActionReport::decode(&r_bytes).unwrap();
    assert_eq!(
        (r.mass_action_response(), r.mass_action_reject_reason()),
        (0, Some(8))
    );
    for i in 0..150 {
        run(&mut e, A, &frame(limit(BUY, 90.0 - f64::from(i % 10), 1)));
    }
    let mut nq = limit(BUY, 90.0, 1);
    nq.sec = NQ;
    run(&mut e, A, &frame(nq));
    let out = run(&mut e, A, &mass(9, None, Some(99), "", None));
    let k = kinds(&out);
    assert_eq!(k[..2], [(A, 562), (A, 562)]);
    assert_eq!(k.len(), 2 + 150);
    let f1_bytes = encode(&e, &out[0].1);
    let f1 = OrderMassActionReport::decode(&f1_bytes).unwrap();
    let f2_bytes = encode(&e, &out[1].1);
    let f2 = OrderMassActionReport::decode(&f2_bytes).unwrap();
    assert_eq!(
        (
            f1.mass_action_response(),
            f1.market_segment_id(),
            f1.mass_action_scope()
        ),
        (1, Some(99), 9)
    );
    assert_eq!(
        (
            f1.total_affected_orders(),
            f1.last_fragment(),
            f1.affected_orders().len()
        ),
        (150, 0, 100)
    );
    assert_eq!(
        (
            f2.total_affected_orders(),
            f2.last_fragment(),
            f2.affected_orders().len()
        ),
        (150, 1, 50)
    );
    assert_eq!(f1.mass_action_report_id(), f2.mass_action_report_id());
    // The order on segment 98 survives.
    assert_eq!(e.orders_of(A).len(), 1);
}

#[test]
fn ilink_order_mass_action_request_by_instrument_group_and_by_instrument() {
    let mut e = engine();
    run(&mut e, A, &frame(limit(BUY, 90.0, 1)));
    run(&mut e, A, &frame(limit(SELL, 110.0, 1)));
    let mut nq = limit(BUY, 90.0, 1);
    nq.sec = NQ;
    run(&mut e, A, &frame(nq));
    // Unknown group: rejected with 9.
    let out = run(&mut e, A, &mass(10, None, None, "ZZ", None));
    let r_bytes = encode(&e, &out[0].1);
    let r = OrderMassActionReport::decode(&r_bytes).unwrap();
    assert_eq!(r.mass_action_reject_reason(), Some(9));
    // Group ES, sells only.
    let out = run(&mut e, A, &mass(10, None, None, "ES", Some(SELL)));
    assert_eq!(kinds(&out), vec![(A, 562), (A, 534)]);
    let r_bytes = encode(&e, &out[0].1);
    let r = OrderMassActionReport::decode(&r_bytes).unwrap();
    assert_eq!((r.mass_action_scope(), r.total_affected_orders()), (10, 1));
    // Instrument ES: the NQ order survives.
    let out = run(&mut e, A, &mass(1, Some(ES), None, "", None));
    assert_eq!(kinds(&out), vec![(A, 562), (A, 534)]);
    assert_eq!(
        e.orders_of(A)
            .iter()
            .map(|o| o.security_id)
            .collect::<Vec<_>>(),
        vec![NQ]
    );
    // Scope 1 without SecurityID: rejected.
    let out = run(&mut e, A, &mass(1, None, None, "", None));
    let r_bytes = encode(&e, &out[0].1);
    let r = OrderMassActionReport::decode(&r_bytes).unwrap();
    assert_eq!(
        (r.mass_action_response(), r.mass_action_reject_reason()),
        (0, Some(1))
    );
}

#[test]
fn order_status_request_and_mosr_for_a_market_segment() {
    let mut e = engine();
    run(&mut e, A, &frame(limit(BUY, 90.0, 2)));
    run(&mut e, A, &frame(limit(BUY, 91.0, 2)));
    run(&mut e, B, &frame(limit(SELL, 91.0, 1)));
    let ids: Vec<u64> = e.orders_of(A).iter().map(|o| o.order_id).collect();
    let mut buf = vec![0u8; 256];
    let mut w = OrderStatusRequestWriter::new(&mut buf).unwrap();
    w.set_order_id(ids[1]).set_ord_status_req_id(77);
    let n = w.finish();
    let out = run(&mut e, A, &buf[..n]);
    assert_eq!(kinds(&out), vec![(A, 532)]);
    let s_bytes = encode(&e, &out[0].1);
    let s = ExecutionReportStatus::decode(&s_bytes).unwrap();
    assert_eq!(
        (s.ord_status(), s.ord_status_req_id(), s.cum_qty()),
        (b'1', Some(77), 1)
    );
    // Mass status by market segment 99.
    let mut buf = vec![0u8; 256];
    let mut w = OrderMassStatusRequestWriter::new(&mut buf).unwrap();
    w.set_mass_status_req_id(5)
        .set_mass_status_req_type(100)
        .set_market_segment_id(Some(99));
    let n = w.finish();
    let out = run(&mut e, A, &buf[..n]);
    assert_eq!(kinds(&out), vec![(A, 532), (A, 532)]);
    let last_bytes = encode(&e, &out[1].1);
    let last = ExecutionReportStatus::decode(&last_bytes).unwrap();
    assert_eq!(
        (last.mass_status_req_id(), last.last_rpt_requested()),
        (Some(5), Some(1))
    );
    let first_bytes = encode(&e, &out[0].1);
    let first = ExecutionReportStatus::decode(&first_bytes).unwrap();
    assert_eq!(
        (first.ord_status(), first.last_rpt_requested()),
        (b'0', Some(0))
    );
}

#[test]
fn cancel_on_disconnect_cancels_day_orders_with_378_100_and_keeps_gt_orders() {
    let mut e = engine();
    run(&mut e, A, &frame(limit(BUY, 90.0, 1)));
    let mut gtc = limit(BUY, 90.0, 1);
    gtc.tif = Some(TIF_GTC);
    run(&mut e, A, &frame(gtc));
    run(&mut e, B, &frame(limit(BUY, 90.0, 1)));
    let mut out = Vec::new();
    assert_eq!(e.cancel_on_disconnect(A, 9, &mut out), 1);
    let c_bytes = encode(&e, &out[0].1);
    let c = ExecutionReportCancel::decode(&c_bytes).unwrap();
    assert_eq!(c.exec_restatement_reason(), Some(100));
    assert_eq!((e.orders_of(A).len(), e.orders_of(B).len()), (1, 1));
}

/// `(QuoteEntryID, SecurityID, QuoteSetID, bid, offer, size)`.
fn quote(id: u32, reset: bool, entries: &[(u32, i32, u16, f64, f64, u32)]) -> Vec<u8> {
    let mut buf = vec![0u8; 1024];
    let n = u8::try_from(entries.len()).unwrap();
    let mut w = MassQuoteWriter::with_counts(&mut buf, [n]).unwrap();
    for (i, &(entry, sec, set, bid, offer, size)) in entries.iter().enumerate() {
        let mut e = w.quote_entry_mut(i).unwrap();
        e.set_quote_entry_id(entry)
            .set_security_id(sec)
            .set_quote_set_id(set)
            .set_bid_px(Some(px(bid)))
            .set_bid_size(Some(size))
            .set_offer_px(Some(px(offer)))
            .set_offer_size(Some(size));
    }
    w.set_quote_id(id)
        .set_tot_no_quote_entries(n)
        .set_mm_protection_reset(u8::from(reset));
    let n = w.finish();
    buf.truncate(n);
    buf
}

fn quote_status(e: &MatchingEngine, r: &Report) -> (u8, u8) {
    let b = encode(e, r);
    let a = MassQuoteAck::decode(&b).unwrap();
    (a.quote_status(), a.no_processed_entries())
}

#[test]
fn mass_quote_protection_cancels_the_group_rejects_quotes_until_reset() {
    let mut e = engine();
    e.set_quote_protection(50);
    let out = run(
        &mut e,
        A,
        &quote(
            1,
            false,
            &[(1, ES, 1, 99.0, 101.0, 120), (2, SPREAD, 1, 1.0, 2.0, 120)],
        ),
    );
    assert_eq!(kinds(&out), vec![(A, 545)]);
    assert_eq!(quote_status(&e, &out[0].1), (QUOTE_ACCEPTED, 2));
    assert_eq!(e.live_quotes(), 4);
    // A new quote for entry 1 replaces it (still four sides).
    run(&mut e, A, &quote(2, false, &[(1, ES, 1, 99.5, 100.5, 120)]));
    assert_eq!(e.live_quotes(), 4);
    // 40 lots trade: below the protection quantity; the fill names the QuoteEntryID.
    let out = run(&mut e, B, &frame(limit(SELL, 99.5, 40)));
    assert_eq!(kinds(&out), vec![(B, 522), (B, 525), (A, 525)]);
    assert_eq!(out[2].1.cl_ord_id.as_bytes(), b"1");
    assert_eq!(e.live_quotes(), 4);
    // 20 more: 60 >= 50, every quote of A in group ES goes, unsolicited (F).
    let out = run(&mut e, B, &frame(limit(SELL, 99.5, 20)));
    assert_eq!(kinds(&out), vec![(B, 522), (B, 525), (A, 525), (A, 563)]);
    let b = encode(&e, &out[3].1);
    let c = QuoteCancelAck::decode(&b).unwrap();
    assert_eq!(c.unsolicited_cancel_type(), Some(UNSOLICITED_MM_PROTECTION));
    assert_eq!(c.quote_status(), QUOTE_CXL_GROUP);
    assert_eq!(c.cancelled_symbol().as_bytes(), b"ES");
    assert_eq!(c.no_processed_entries(), 4);
    assert_eq!(e.live_quotes(), 0);
    // Rejected until MMProtectionReset=1.
    let out = run(&mut e, A, &quote(3, false, &[(1, ES, 1, 99.0, 101.0, 10)]));
    assert_eq!(quote_status(&e, &out[0].1), (QUOTE_REJECTED, 0));
    assert_eq!(e.live_quotes(), 0);
    let out = run(&mut e, A, &quote(4, true, &[(1, ES, 1, 99.0, 101.0, 10)]));
    assert_eq!(quote_status(&e, &out[0].1), (QUOTE_ACCEPTED, 1));
    assert_eq!(e.live_quotes(), 2);
    // Other groups were never affected: NQ quotes of A are accepted throughout.
    let out = run(&mut e, A, &quote(5, false, &[(9, NQ, 1, 99.0, 101.0, 10)]));
    assert_eq!(quote_status(&e, &out[0].1), (QUOTE_ACCEPTED, 1));
}

fn quote_cancel(ty: u8, sets: &[(u16, Option<u32>, Option<u32>)]) -> Vec<u8> {
    let mut buf = vec![0u8; 512];
    let n = u8::try_from(sets.len()).unwrap();
    let mut w = QuoteCancelWriter::with_counts(&mut buf, [0, n]).unwrap();
    for (i, &(set, bid, offer)) in sets.iter().enumerate() {
        let mut s = w.quote_set_mut(i).unwrap();
        s.set_quote_set_id(set)
            .set_bid_size(bid)
            .set_offer_size(offer);
    }
    w.set_quote_id(77).set_quote_cancel_type(ty);
    let n = w.finish();
    buf.truncate(n);
    buf
}

#[test]
fn quote_cancellation_by_quote_set_id_counts_the_quotes_cancelled() {
    let mut e = engine();
    run(
        &mut e,
        A,
        &quote(
            1,
            false,
            &[(1, ES, 1, 99.0, 101.0, 5), (2, NQ, 2, 99.0, 101.0, 5)],
        ),
    );
    run(&mut e, B, &quote(1, false, &[(1, ES, 1, 98.0, 102.0, 5)]));
    // Set 1, bids only (BidSize=0: cancel the bids of the set).
    let out = run(
        &mut e,
        A,
        &quote_cancel(QUOTE_CXL_SET, &[(1, Some(0), None)]),
    );
    let b = encode(&e, &out[0].1);
    let c = QuoteCancelAck::decode(&b).unwrap();
    assert_eq!(
        (c.quote_status(), c.no_processed_entries(), c.quote_id()),
        (QUOTE_CXL_SET, 1, 77)
    );
    assert_eq!(c.unsolicited_cancel_type(), None);
    assert!(e.levels(ES, BUY).iter().all(|l| l.price != px(99.0)));
    assert_eq!(e.levels(ES, SELL).first().map(|l| l.price), Some(px(101.0)));
    // The whole of set 1 now (its offer), then set 2: B's set 1 is not A's.
    let out = run(
        &mut e,
        A,
        &quote_cancel(QUOTE_CXL_SET, &[(1, None, None), (2, None, None)]),
    );
    let b = encode(&e, &out[0].1);
    assert_eq!(
        QuoteCancelAck::decode(&b).unwrap().no_processed_entries(),
        3
    );
    assert_eq!(e.live_quotes(), 2, "B's quotes stay");
    // An unknown cancel type is rejected.
    let out = run(&mut e, A, &quote_cancel(9, &[]));
    let b = encode(&e, &out[0].1);
    assert_eq!(
        QuoteCancelAck::decode(&b).unwrap().quote_status(),
        QUOTE_REJECTED
    );
}

fn sec_def(legs: &[(i32, u8)]) -> Vec<u8> {
    let mut buf = vec![0u8; 512];
    let n = u8::try_from(legs.len()).unwrap();
    let mut w = SecurityDefinitionRequestWriter::with_counts(&mut buf, [n, 0]).unwrap();
    for (i, &(sec, side)) in legs.iter().enumerate() {
        let mut l = w.leg_mut(i).unwrap();
        l.set_leg_security_id(sec)
            .set_leg_side(side)
            .set_leg_ratio_qty(Some(1));
    }
    w.set_security_req_id(31);
    let n = w.finish();
    buf.truncate(n);
    buf
}

#[test]
fn security_definition_request_creates_a_uds_or_is_rejected_with_the_reason() {
    let mut e = engine();
    for (legs, why) in [
        (vec![(ES, BUY)], "at least two legs"),
        (vec![(ES, BUY), (777, SELL)], "unknown LegSecurityID"),
        (vec![(ES, BUY), (SPREAD, SELL)], "itself a spread"),
        (vec![(ES, BUY), (ES, SELL)], "the same leg twice"),
    ] {
        let out = run(&mut e, A, &sec_def(&legs));
        assert_eq!(kinds(&out), vec![(A, 561)]);
        let b = encode(&e, &out[0].1);
        let r = SecurityDefinitionResponse::decode(&b).unwrap();
        assert_eq!(r.security_response_type(), SEC_RSP_REJECT, "{why}");
        assert_eq!(r.security_req_id(), 31);
        assert_eq!(r.security_id(), None);
        assert!(String::from_utf8_lossy(r.text().as_bytes()).contains(why));
    }
    let out = run(&mut e, A, &sec_def(&[(ES, BUY), (NQ, SELL)]));
    let b = encode(&e, &out[0].1);
    let r = SecurityDefinitionResponse::decode(&b).unwrap();
    assert_eq!(r.security_response_type(), SEC_RSP_ACCEPT);
    assert_eq!(r.security_id(), Some(UDS_FIRST_ID));
    // The new instrument trades as a spread.
    let mut s = limit(SELL, 1.0, 1);
    s.sec = UDS_FIRST_ID;
    run(&mut e, B, &frame(s));
    s.side = BUY;
    let out = run(&mut e, A, &frame(s));
    assert!(kinds(&out).contains(&(A, 526)), "{:?}", kinds(&out));
}
