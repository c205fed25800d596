//! The scenarios, named as AutoCert+ names them (CERTIFICATION.md sections 1 and 2); those the
//! runner cannot drive yet are listed with the reason they are skipped.

use super::{Ctx, ES, NQ, T0};
use crate::ilink3::session::ConnectMode;
use crate::ilink3::{
    EncodeError, NewOrderSingleWriter, OrderCancelReplaceRequestWriter, OrderCancelRequestWriter,
    OrderMassActionRequestWriter, OrderMassStatusRequestWriter, OrderStatusRequestWriter,
};

/// A scenario's body: Err names the failed check.
pub type Step = fn(&mut Ctx) -> Result<(), String>;

/// One certification scenario.
pub struct Scenario {
    pub name: &'static str,
    /// `"iLink 3 session"`, `"iLink 3 application"` or `"Drop Copy 4.0"`.
    pub suite: &'static str,
    /// `None`: listed but not automated (see `skip`).
    pub run: Option<Step>,
    pub skip: Option<&'static str>,
    /// The `--break` fault: (template, field) corrupted in the simulator's answers.
    pub breaks: (u16, &'static str),
}

const S: &str = "iLink 3 session";
const A: &str = "iLink 3 application";
const NOT_YET: &str = "not yet automated";

const fn auto(
    name: &'static str,
    suite: &'static str,
    run: fn(&mut Ctx) -> Result<(), String>,
    breaks: (u16, &'static str),
) -> Scenario {
    Scenario {
        name,
        suite,
        run: Some(run),
        skip: None,
        breaks,
    }
}

const fn todo(name: &'static str, suite: &'static str) -> Scenario {
    Scenario {
        name,
        suite,
        run: None,
        skip: Some(NOT_YET),
        breaks: (0, ""),
    }
}

/// Every scenario, in CERTIFICATION.md order.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        auto(
            "Weekly (beginning-of-week) initialization",
            S,
            weekly_init,
            (504, "NextSeqNo"),
        ),
        auto(
            "Verify Sequence Warning KeepAliveInterval Lapsing Procedure/Methodology",
            S,
            keepalive_lapse,
            (506, "NextSeqNo"),
        ),
        auto("Re-Setting UUID", S, resetting_uuid, (504, "NextSeqNo")),
        todo(
            "Mid-Week Connection (Initialization and Binding) with New UUID",
            S,
        ),
        todo(
            "Process Real-Time Messages During a Resend Response from CME Globex",
            S,
        ),
        todo(
            "MSGW Failover from Primary to Backup Components (Binding without Initialization)",
            S,
        ),
        todo("Primary Gateway Connection Enforcement Test", S),
        auto(
            "Negotiate/Establish rejected for a bad HMAC, timestamp or ids",
            S,
            bad_hmac,
            (502, "UUID"),
        ),
        auto(
            "CME-detected gap in the client stream (NotApplied)",
            S,
            not_applied,
            (513, "FromSeqNo"),
        ),
        auto(
            "Client- and CME-initiated Terminate",
            S,
            terminate,
            (507, "ErrorCodes"),
        ),
        auto("Market-Limit Order Test", A, market_limit, (525, "LastQty")),
        auto("Stop Limit Order Test", A, stop_limit, (522, "StopPx")),
        auto(
            "Limit Day order, modify, cancel",
            A,
            limit_modify_cancel,
            (531, "OrderQty"),
        ),
        todo(
            "Order Cancel without OrderID / Order Cancel Replace without OrderID",
            A,
        ),
        auto("FAK / FOK, GTC / GTD", A, fak_fok_gtd, (524, "CumQty")),
        todo("Spread Complete Order", A),
        todo(
            "Outright complete order (ack, fill, elimination, correction, bust)",
            A,
        ),
        auto(
            "iLink Order Mass Action Request by Market Segment ID",
            A,
            mass_by_segment,
            (562, "MarketSegmentID"),
        ),
        auto(
            "iLink Order Mass Action Request by Instrument Group",
            A,
            mass_by_group,
            (562, "MassActionScope"),
        ),
        auto(
            "iLink Order Mass Action Request by Instrument",
            A,
            mass_by_instrument,
            (562, "TotalAffectedOrders"),
        ),
        auto("Order Status Request", A, order_status, (532, "OrdStatus")),
        auto(
            "Support MOSR Functionality for a Particular Market Segment",
            A,
            mosr,
            (532, "MassStatusReqID"),
        ),
        todo(
            "Process a Security Definition Reject in Response to a Security Definition Request",
            A,
        ),
        todo("Party details define / acknowledge", A),
        todo("Self-match prevention", A),
        todo("Business Reject", A),
        todo(
            "Mass Quote Protection / Quote Cancellation (Quote Set ID Level)",
            A,
        ),
        todo("Cancel on Behalf (COB)", A),
    ]
    .into_iter()
    .chain(super::dropcopy::scenarios())
    .collect()
}

const BUY: u8 = 1;
const SELL: u8 = 2;
const LIMIT: u8 = b'2';
const STOP_LIMIT: u8 = b'4';
const MARKET_LIMIT: u8 = b'K';
const DAY: u8 = 0;
const FAK: u8 = 3;
const GTD: u8 = 6;

fn px(p: i64) -> i64 {
    p * 1_000_000_000
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
    tif: u8,
    expire: Option<u16>,
    id: u64,
}

fn limit(id: u64, side: u8, p: i64, qty: u32) -> O {
    O {
        sec: ES,
        side,
        ord_type: LIMIT,
        price: Some(px(p)),
        stop: None,
        qty,
        min_qty: None,
        tif: DAY,
        expire: None,
        id,
    }
}

fn cl(id: u64) -> String {
    format!("CERT{id}")
}

fn new_order(ctx: &mut Ctx, o: O) -> Result<u32, String> {
    let t = ctx.cme_ns();
    ctx.send(move |seq, _uuid, buf| -> Result<usize, EncodeError> {
        let mut w = NewOrderSingleWriter::new(buf)?;
        w.set_sender_id("TRADER")?
            .set_cl_ord_id(cl(o.id))?
            .set_location("US,IL")?;
        w.set_price(o.price)
            .set_stop_px(o.stop)
            .set_order_qty(o.qty)
            .set_min_qty(o.min_qty)
            .set_security_id(o.sec)
            .set_side(o.side)
            .set_ord_type(o.ord_type)
            .set_time_in_force(Some(o.tif))
            .set_expire_date(o.expire)
            .set_seq_num(seq)
            .set_sending_time_epoch(t)
            .set_party_details_list_req_id(7)
            .set_order_request_id(o.id);
        Ok(w.finish())
    })
}

fn order_id(ctx: &Ctx, nth_ack: usize) -> Result<u64, String> {
    ctx.value(522, nth_ack, "OrderID")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("ExecutionReportNew522 #{} has no OrderID", nth_ack + 1))
}

fn cancel(ctx: &mut Ctx, o: O, order_id: u64) -> Result<u32, String> {
    let t = ctx.cme_ns();
    ctx.send(move |seq, _uuid, buf| -> Result<usize, EncodeError> {
        let mut w = OrderCancelRequestWriter::new(buf)?;
        w.set_sender_id("TRADER")?
            .set_cl_ord_id(cl(o.id))?
            .set_location("US,IL")?;
        w.set_order_id(Some(order_id))
            .set_security_id(o.sec)
            .set_side(o.side)
            .set_seq_num(seq)
            .set_sending_time_epoch(t)
            .set_party_details_list_req_id(7)
            .set_order_request_id(o.id);
        Ok(w.finish())
    })
}

fn established(ctx: &mut Ctx) -> Result<(), String> {
    ctx.connect(ConnectMode::NewUuid)?;
    ctx.expect_count(504, 1)
}

fn weekly_init(ctx: &mut Ctx) -> Result<(), String> {
    ctx.connect(ConnectMode::Auto)?;
    ctx.expect(504, 0, "NextSeqNo", "1")?;
    let uuid = ctx.session.stored_state().uuid.to_string();
    ctx.expect(501, 0, "UUID", &uuid)?;
    ctx.expect(504, 0, "UUID", &uuid)
}

fn keepalive_lapse(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    // Silence from both sides past the keepalive interval: CME's Sequence warns with
    // KeepAliveIntervalLapsed=1 (ours too), then we Terminate.
    ctx.advance(u64::from(super::KA_MS) + 100);
    ctx.expect(506, 0, "NextSeqNo", "1")?;
    // The exchange goes silent for a keepalive interval: our next Sequence says it lapsed.
    ctx.mute = true;
    ctx.advance(u64::from(super::KA_MS) * 2 + 100);
    ctx.mute = false;
    let lapsed = ctx.lines.iter().any(|l| {
        l.dir == super::Dir::Sent
            && l.text.starts_with("Sequence506")
            && l.text.contains("KeepAliveIntervalLapsed=1")
    });
    ctx.check("Sequence sent with KeepAliveIntervalLapsed=1", lapsed)?;
    let now = ctx.now();
    ctx.session.terminate(now, 0).map_err(|e| e.to_string())?;
    ctx.pump();
    ctx.advance(10);
    ctx.expect_count(507, 1)
}

fn resetting_uuid(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    let old = ctx.session.stored_state().uuid;
    ctx.disconnect();
    ctx.advance(1000);
    ctx.connect(ConnectMode::NewUuid)?;
    let new = ctx.session.stored_state().uuid;
    ctx.check(format!("new UUID {new} larger than {old}"), new > old)?;
    ctx.expect(501, 1, "UUID", &new.to_string())?;
    ctx.expect(504, 1, "NextSeqNo", "1")
}

fn bad_hmac(ctx: &mut Ctx) -> Result<(), String> {
    let c = ctx.ex.accept(ctx.cme_ns());
    if let Some(conn) = ctx.ex.connection_mut(c) {
        conn.faults_mut().reject_signatures = true;
    }
    ctx.conn = Some(c);
    let now = ctx.now();
    ctx.session
        .connect(now, ConnectMode::NewUuid)
        .map_err(|e| e.to_string())?;
    ctx.pump();
    ctx.advance(10);
    let uuid = ctx
        .session
        .pending_uuid()
        .unwrap_or(ctx.session.stored_state().uuid);
    ctx.expect(502, 0, "UUID", &uuid.to_string())?;
    let rejected = ctx
        .events
        .iter()
        .any(|e| matches!(e, crate::ilink3::session::FixpEvent::Rejected { .. }));
    ctx.check("NegotiationReject reported as a rejection", rejected)?;
    ctx.expect_count(504, 0)
}

fn not_applied(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    new_order(ctx, limit(1, BUY, 4500, 1))?;
    new_order(ctx, limit(2, BUY, 4500, 1))?;
    let c = ctx.conn.ok_or("not connected")?;
    ctx.ex.inject_not_applied(c, 1, 2);
    ctx.pump();
    ctx.advance(10);
    ctx.expect(513, 0, "FromSeqNo", "1")?;
    ctx.expect(513, 0, "MsgCount", "2")?;
    // Gap-fill policy: a Sequence moves the stream past the gap.
    let seq_sent = ctx
        .lines
        .iter()
        .rev()
        .any(|l| l.dir == super::Dir::Sent && l.text.starts_with("Sequence506"));
    ctx.check("Sequence sent after NotApplied", seq_sent)
}

fn terminate(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    let now = ctx.now();
    ctx.session.terminate(now, 0).map_err(|e| e.to_string())?;
    ctx.pump();
    ctx.advance(10);
    ctx.expect(507, 0, "ErrorCodes", "0")?;
    let uuid = ctx.session.stored_state().uuid.to_string();
    ctx.expect(507, 0, "UUID", &uuid)
}

fn market_limit(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    new_order(ctx, limit(1, SELL, 4500, 2))?;
    let mut o = limit(2, BUY, 0, 3);
    o.ord_type = MARKET_LIMIT;
    o.price = None;
    new_order(ctx, o)?;
    ctx.expect(522, 1, "ClOrdID", "CERT2")?;
    // Our own sell and buy both trade: two Trade Outright reports, 2 lots each.
    ctx.expect(525, 0, "LastQty", "2")?;
    ctx.expect(525, 1, "LastQty", "2")?;
    let id = order_id(ctx, 1)?;
    cancel(ctx, o, id)?;
    ctx.expect(534, 0, "ClOrdID", "CERT2")?;
    ctx.expect(534, 0, "CumQty", "2")
}

fn stop_limit(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    let mut stop = limit(1, BUY, 4502, 3);
    stop.ord_type = STOP_LIMIT;
    stop.stop = Some(px(4501));
    new_order(ctx, stop)?;
    ctx.expect(522, 0, "StopPx", &px(4501).to_string())?;
    // A trade at 4501 triggers it: second New ack for the stop.
    new_order(ctx, limit(2, SELL, 4501, 1))?;
    new_order(ctx, limit(3, BUY, 4501, 1))?;
    new_order(ctx, limit(4, SELL, 4502, 1))?;
    let acks = ctx.received_of(522).len();
    ctx.check(
        format!("second New ack when the stop triggers ({acks} acks)"),
        acks >= 5,
    )?;
    let again = ctx
        .received_of(522)
        .iter()
        .skip(1)
        .position(|f| super::super::cert::field(f, "ClOrdID").as_deref() == Some("CERT1"))
        .map_or(0, |i| i + 1);
    ctx.expect(522, again, "ClOrdID", "CERT1")?;
    ctx.check("a second New ack for the stop", again > 0)?;
    let fills = ctx.received_of(525).len();
    ctx.check(
        format!("the triggered stop traded ({fills} fills)"),
        fills >= 4,
    )?;
    let id = order_id(ctx, 0)?;
    cancel(ctx, stop, id)?;
    ctx.expect(534, 0, "CumQty", "1")
}

fn limit_modify_cancel(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    let o = limit(1, BUY, 4500, 2);
    new_order(ctx, o)?;
    ctx.expect(522, 0, "ClOrdID", "CERT1")?;
    let id = order_id(ctx, 0)?;
    let t = ctx.cme_ns();
    ctx.send(move |seq, _uuid, buf| -> Result<usize, EncodeError> {
        let mut w = OrderCancelReplaceRequestWriter::new(buf)?;
        w.set_sender_id("TRADER")?
            .set_cl_ord_id(cl(1))?
            .set_location("US,IL")?;
        w.set_price(Some(px(4499)))
            .set_order_qty(5)
            .set_security_id(ES)
            .set_side(BUY)
            .set_order_id(Some(id))
            .set_ord_type(LIMIT)
            .set_time_in_force(Some(DAY))
            .set_seq_num(seq)
            .set_sending_time_epoch(t)
            .set_party_details_list_req_id(7)
            .set_order_request_id(2);
        Ok(w.finish())
    })?;
    ctx.expect(531, 0, "OrderQty", "5")?;
    ctx.expect(531, 0, "Price", &px(4499).to_string())?;
    cancel(ctx, o, id)?;
    ctx.expect(534, 0, "ClOrdID", "CERT1")
}

fn fak_fok_gtd(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    // FAK with nothing to trade against: eliminated.
    let mut fak = limit(1, BUY, 4500, 2);
    fak.tif = FAK;
    new_order(ctx, fak)?;
    ctx.expect(524, 0, "CumQty", "0")?;
    // FOK (FAK with MinQty = OrderQty) larger than the book: eliminated without fills.
    new_order(ctx, limit(2, SELL, 4500, 1))?;
    let mut fok = limit(3, BUY, 4500, 3);
    fok.tif = FAK;
    fok.min_qty = Some(3);
    new_order(ctx, fok)?;
    ctx.expect(524, 1, "CumQty", "0")?;
    ctx.expect_count(525, 0)?;
    // GTD expiring today: eliminated at the close.
    let today = (T0 / 86_400_000_000_000) as u16;
    let mut gtd = limit(4, BUY, 4400, 1);
    gtd.tif = GTD;
    gtd.expire = Some(today);
    new_order(ctx, gtd)?;
    ctx.expect(522, 3, "ExpireDate", &today.to_string())?;
    let now = ctx.cme_ns();
    ctx.ex.close_day(now, today);
    ctx.advance(10);
    let n = ctx.received_of(524).len();
    ctx.check(
        format!("Day and GTD orders eliminated at the close ({n} eliminations)"),
        n >= 4,
    )
}

fn mass(
    ctx: &mut Ctx,
    scope: u8,
    sec: Option<i32>,
    seg: Option<u8>,
    group: &'static str,
) -> Result<u32, String> {
    let t = ctx.cme_ns();
    ctx.send(move |seq, _uuid, buf| -> Result<usize, EncodeError> {
        let mut w = OrderMassActionRequestWriter::new(buf)?;
        w.set_sender_id("TRADER")?
            .set_location("US,IL")?
            .set_security_group(group)?;
        w.set_mass_action_scope(scope)
            .set_market_segment_id(seg)
            .set_security_id(sec)
            .set_seq_num(seq)
            .set_sending_time_epoch(t)
            .set_party_details_list_req_id(7)
            .set_order_request_id(99);
        Ok(w.finish())
    })
}

fn rest_three(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    new_order(ctx, limit(1, BUY, 4490, 1))?;
    new_order(ctx, limit(2, BUY, 4491, 1))?;
    let mut other = limit(3, SELL, 15000, 1);
    other.sec = NQ;
    new_order(ctx, other)?;
    ctx.expect_count(522, 3)
}

fn mass_by_segment(ctx: &mut Ctx) -> Result<(), String> {
    rest_three(ctx)?;
    mass(ctx, 9, None, Some(99), "")?;
    ctx.expect(562, 0, "MarketSegmentID", "99")?;
    ctx.expect(562, 0, "MassActionScope", "9")?;
    ctx.expect(562, 0, "TotalAffectedOrders", "2")
}

fn mass_by_group(ctx: &mut Ctx) -> Result<(), String> {
    rest_three(ctx)?;
    mass(ctx, 10, None, None, "ES")?;
    ctx.expect(562, 0, "MassActionScope", "10")?;
    ctx.expect(562, 0, "TotalAffectedOrders", "2")
}

fn mass_by_instrument(ctx: &mut Ctx) -> Result<(), String> {
    rest_three(ctx)?;
    mass(ctx, 1, Some(NQ), None, "")?;
    ctx.expect(562, 0, "TotalAffectedOrders", "1")?;
    ctx.expect(562, 0, "MassActionScope", "1")?;
    let live = ctx.ex.engine().live_orders();
    ctx.check(
        format!("the other instrument's orders survive ({live} live)"),
        live == 2,
    )
}

fn order_status(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    new_order(ctx, limit(1, BUY, 4500, 2))?;
    let id = order_id(ctx, 0)?;
    let t = ctx.cme_ns();
    ctx.send(move |seq, _uuid, buf| -> Result<usize, EncodeError> {
        let mut w = OrderStatusRequestWriter::new(buf)?;
        w.set_sender_id("TRADER")?.set_location("US,IL")?;
        w.set_order_id(id)
            .set_seq_num(seq)
            .set_sending_time_epoch(t)
            .set_party_details_list_req_id(7);
        Ok(w.finish())
    })?;
    ctx.expect(532, 0, "OrdStatus", "0")?;
    ctx.expect(532, 0, "OrderID", &id.to_string())
}

fn mosr(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    new_order(ctx, limit(1, BUY, 4490, 1))?;
    new_order(ctx, limit(2, BUY, 4491, 1))?;
    let t = ctx.cme_ns();
    ctx.send(move |seq, _uuid, buf| -> Result<usize, EncodeError> {
        let mut w = OrderMassStatusRequestWriter::new(buf)?;
        w.set_sender_id("TRADER")?.set_location("US,IL")?;
        w.set_mass_status_req_id(77)
            .set_mass_status_req_type(100)
            .set_market_segment_id(Some(99))
            .set_seq_num(seq)
            .set_sending_time_epoch(t)
            .set_party_details_list_req_id(7);
        Ok(w.finish())
    })?;
    ctx.expect_count(532, 2)?;
    ctx.expect(532, 0, "MassStatusReqID", "77")?;
    ctx.expect(532, 1, "MassStatusReqID", "77")?;
    ctx.expect(532, 1, "LastRptRequested", "1")
}
