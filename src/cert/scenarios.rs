//! The scenarios, named as AutoCert+ names them (CERTIFICATION.md sections 1 and 2), each with
//! the fault `--break` injects.

use super::{Ctx, ES, ESM, ESU, NQ, SPREAD, T0};
use crate::ilink3::session::ConnectMode;
use crate::ilink3::{
    EncodeError, MassQuoteWriter, NewOrderSingleWriter, OrderCancelReplaceRequestWriter,
    OrderCancelRequestWriter, OrderMassActionRequestWriter, OrderMassStatusRequestWriter,
    OrderStatusRequestWriter, PartyDetailsDefinitionRequestWriter, QuoteCancelWriter,
    SecurityDefinitionRequestWriter,
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
        auto(
            "Mid-Week Connection (Initialization and Binding) with New UUID",
            S,
            mid_week_new_uuid,
            (509, "LastUUID"),
        ),
        auto(
            "Process Real-Time Messages During a Resend Response from CME Globex",
            S,
            realtime_during_resend,
            (509, "MsgCount"),
        ),
        auto(
            "MSGW Failover from Primary to Backup Components (Binding without Initialization)",
            S,
            msgw_failover,
            (504, "FaultToleranceIndicator"),
        ),
        auto(
            "Primary Gateway Connection Enforcement Test",
            S,
            primary_enforcement,
            (505, "ErrorCodes"),
        ),
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
        auto(
            "Order Cancel without OrderID / Order Cancel Replace without OrderID",
            A,
            without_order_id,
            (534, "OrderID"),
        ),
        auto("FAK / FOK, GTC / GTD", A, fak_fok_gtd, (524, "CumQty")),
        auto(
            "Spread Complete Order",
            A,
            spread_complete,
            (526, "LastQty"),
        ),
        auto(
            "Outright complete order (ack, fill, elimination, correction, bust)",
            A,
            outright_complete,
            (548, "LastPx"),
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
        auto(
            "Process a Security Definition Reject in Response to a Security Definition Request",
            A,
            secdef_reject,
            (561, "SecurityResponseType"),
        ),
        auto(
            "Party details define / acknowledge",
            A,
            party_define,
            (519, "PartyDetailRequestStatus"),
        ),
        auto(
            "Self-match prevention",
            A,
            self_match,
            (534, "ExecRestatementReason"),
        ),
        auto(
            "Business Reject",
            A,
            business_reject,
            (521, "BusinessRejectReason"),
        ),
        auto(
            "Mass Quote Protection / Quote Cancellation (Quote Set ID Level)",
            A,
            mass_quote_protection,
            (563, "UnsolicitedCancelType"),
        ),
        auto(
            "Cancel on Behalf (COB)",
            A,
            cancel_on_behalf,
            (534, "OrigOrderUser"),
        ),
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
    /// PartyDetailsListReqID the order names.
    party: u64,
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
        party: 7,
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
            .set_party_details_list_req_id(o.party)
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
    terminate_cleanly(ctx)?;
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

/// The client's Terminate (code 0, Finished) and CME's Terminate back with ErrorCodes 0.
fn terminate_cleanly(ctx: &mut Ctx) -> Result<(), String> {
    let now = ctx.now();
    ctx.session.terminate(now, 0).map_err(|e| e.to_string())?;
    ctx.pump();
    ctx.advance(10);
    ctx.expect(507, 0, "ErrorCodes", "0")
}

fn terminate(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    terminate_cleanly(ctx)?;
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

fn mid_week_new_uuid(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    let old = ctx.session.stored_state().uuid;
    // The order goes out; the connection is lost before its ack is read.
    ctx.mute = true;
    new_order(ctx, limit(1, BUY, 4500, 1))?;
    ctx.disconnect();
    ctx.advance(1000);
    // Mid-week: a new UUID on the same segment, then the old UUID's ack by LastUUID.
    ctx.connect(ConnectMode::NewUuid)?;
    let new = ctx.session.stored_state().uuid;
    ctx.check(format!("new UUID {new} larger than {old}"), new > old)?;
    ctx.expect(509, 0, "LastUUID", &old.to_string())?;
    ctx.expect(509, 0, "FromSeqNo", "1")?;
    ctx.expect(504, 1, "UUID", &new.to_string())?;
    let asked = ctx
        .sent("RetransmitRequest508")
        .iter()
        .any(|l| l.contains(&format!("LastUUID={old}")));
    ctx.check(
        format!("RetransmitRequest sent with LastUUID={old} (the old UUID)"),
        asked,
    )?;
    ctx.expect(522, 0, "ClOrdID", "CERT1")?;
    ctx.expect(522, 0, "PossRetransFlag", "1")?;
    ctx.expect(522, 0, "UUID", &old.to_string())
}

fn realtime_during_resend(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    let c = ctx.conn.ok_or("not connected")?;
    // The acks of the first two orders are lost on the way (a gap); the replay is handed out
    // one message at a time so live messages interleave with it.
    if let Some(conn) = ctx.ex.connection_mut(c) {
        conn.faults_mut().skip_outbound = Some(crate::sim::SkipOutbound { after: 0, count: 2 });
    }
    ctx.ex.registry_mut().set_replay_bytes_per_poll(1);
    new_order(ctx, limit(1, BUY, 4490, 1))?;
    new_order(ctx, limit(2, BUY, 4491, 1))?;
    let t = ctx.cme_ns();
    ctx.send_quiet(move |seq, _uuid, buf| encode_order(limit(3, BUY, 4492, 1), seq, t, buf))?;
    // Until the client asks for the gap (the third ack shows it) and the replay starts...
    let mut rounds = 0;
    while ctx.sent("RetransmitRequest508").is_empty() && rounds < 100 {
        ctx.pump_once();
        rounds += 1;
    }
    // ...then a fourth order whose ack is live, in the middle of the replay.
    let t = ctx.cme_ns();
    ctx.send_quiet(move |seq, _uuid, buf| encode_order(limit(4, BUY, 4489, 1), seq, t, buf))?;
    ctx.pump();
    ctx.advance(10);
    ctx.expect(509, 0, "FromSeqNo", "1")?;
    ctx.expect(509, 0, "MsgCount", "2")?;
    let asks = ctx.sent("RetransmitRequest508").len();
    ctx.check(
        format!("exactly one RetransmitRequest ({asks} sent)"),
        asks == 1,
    )?;
    ctx.expect_count(522, 4)?;
    // Order of arrival: the acks' SeqNum and whether they were replayed.
    let order: Vec<(String, bool)> = ctx
        .received_of(522)
        .iter()
        .map(|f| {
            (
                super::field(f, "ClOrdID").unwrap_or_default(),
                super::field(f, "PossRetransFlag").as_deref() == Some("1"),
            )
        })
        .collect();
    let live4 = order.iter().position(|(id, r)| id == "CERT4" && !r);
    let last_replayed = order.iter().rposition(|(_, r)| *r);
    ctx.check(
        format!("the live ack of CERT4 arrived during the replay ({order:?})"),
        matches!((live4, last_replayed), (Some(l), Some(r)) if l < r),
    )?;
    let lost = ctx
        .events
        .iter()
        .any(|e| matches!(e, crate::ilink3::session::FixpEvent::MessagesLost { .. }));
    ctx.check("no message given up as lost", !lost)?;
    // Then a Sequence.
    ctx.advance(u64::from(super::KA_MS) + 100);
    let seqs = ctx.sent("Sequence506").len();
    ctx.check(
        format!("Sequence sent after the replay ({seqs})"),
        seqs >= 1,
    )
}

fn encode_order(o: O, seq: u32, t: u64, buf: &mut [u8]) -> Result<usize, EncodeError> {
    let mut w = NewOrderSingleWriter::new(buf)?;
    w.set_sender_id("TRADER")?
        .set_cl_ord_id(cl(o.id))?
        .set_location("US,IL")?;
    w.set_price(o.price)
        .set_order_qty(o.qty)
        .set_security_id(o.sec)
        .set_side(o.side)
        .set_ord_type(o.ord_type)
        .set_time_in_force(Some(o.tif))
        .set_seq_num(seq)
        .set_sending_time_epoch(t)
        .set_party_details_list_req_id(o.party)
        .set_order_request_id(o.id);
    Ok(w.finish())
}

fn msgw_failover(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    let uuid = ctx.session.stored_state().uuid;
    new_order(ctx, limit(1, BUY, 4490, 1))?;
    ctx.expect_count(522, 1)?;
    // An order whose ack is in flight when the primary is lost.
    ctx.mute = true;
    new_order(ctx, limit(2, BUY, 4491, 1))?;
    let dropped = ctx.ex.fail_over();
    ctx.check(
        format!("the primary's connections dropped ({})", dropped.len()),
        dropped.len() == 1,
    )?;
    ctx.conn = None;
    ctx.disconnect();
    ctx.advance(2000);
    // Binding without initialization: Establish the same UUID on the newly promoted primary.
    ctx.connect(ConnectMode::Auto)?;
    ctx.expect(504, 1, "FaultToleranceIndicator", "1")?;
    ctx.expect(504, 1, "UUID", &uuid.to_string())?;
    let negotiates = ctx.sent("Negotiate500").len();
    ctx.check(
        format!("no Negotiate after the fail-over ({negotiates} in all)"),
        negotiates == 1,
    )?;
    ctx.expect(509, 0, "FromSeqNo", "2")?;
    ctx.expect(522, 1, "ClOrdID", "CERT2")?;
    ctx.expect(522, 1, "PossRetransFlag", "1")?;
    // Trading goes on, then Sequence and Terminate.
    new_order(ctx, limit(3, BUY, 4492, 1))?;
    ctx.expect(522, 2, "ClOrdID", "CERT3")?;
    ctx.advance(u64::from(super::KA_MS) + 100);
    let seqs = ctx.sent("Sequence506").len();
    ctx.check(format!("Sequence sent ({seqs})"), seqs >= 1)?;
    terminate_cleanly(ctx)
}

fn primary_enforcement(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    ctx.expect(504, 0, "FaultToleranceIndicator", "1")?;
    // CME's assisted fail-over: the backup is promoted, the old primary is now the backup.
    ctx.ex.fail_over();
    ctx.conn = None;
    ctx.disconnect();
    ctx.advance(3000);
    ctx.connect_backup(ConnectMode::Auto)?;
    ctx.expect(505, 0, "ErrorCodes", "27")?;
    ctx.expect(505, 0, "FaultToleranceIndicator", "0")?;
    ctx.disconnect();
    ctx.advance(3000);
    ctx.connect(ConnectMode::Auto)?;
    ctx.expect_count(504, 2)?;
    ctx.expect(504, 1, "FaultToleranceIndicator", "1")?;
    ctx.advance(u64::from(super::KA_MS) + 100);
    let seqs = ctx.sent("Sequence506").len();
    ctx.check(format!("Sequence sent ({seqs})"), seqs >= 1)?;
    terminate_cleanly(ctx)
}

fn without_order_id(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    let o = limit(1, BUY, 4490, 2);
    new_order(ctx, o)?;
    let id = order_id(ctx, 0)?;
    // Order Cancel Replace without OrderID: by ClOrdID only.
    let t = ctx.cme_ns();
    ctx.send(move |seq, _uuid, buf| -> Result<usize, EncodeError> {
        let mut w = OrderCancelReplaceRequestWriter::new(buf)?;
        w.set_sender_id("TRADER")?
            .set_cl_ord_id(cl(1))?
            .set_location("US,IL")?;
        w.set_price(Some(px(4489)))
            .set_order_qty(3)
            .set_security_id(ES)
            .set_side(BUY)
            .set_order_id(None)
            .set_ord_type(LIMIT)
            .set_time_in_force(Some(DAY))
            .set_seq_num(seq)
            .set_sending_time_epoch(t)
            .set_party_details_list_req_id(7)
            .set_order_request_id(2);
        Ok(w.finish())
    })?;
    ctx.expect(531, 0, "OrderID", &id.to_string())?;
    ctx.expect(531, 0, "OrderQty", "3")?;
    // Order Cancel without OrderID.
    let t = ctx.cme_ns();
    ctx.send(move |seq, _uuid, buf| -> Result<usize, EncodeError> {
        let mut w = OrderCancelRequestWriter::new(buf)?;
        w.set_sender_id("TRADER")?
            .set_cl_ord_id(cl(1))?
            .set_location("US,IL")?;
        w.set_order_id(None)
            .set_security_id(ES)
            .set_side(BUY)
            .set_seq_num(seq)
            .set_sending_time_epoch(t)
            .set_party_details_list_req_id(7)
            .set_order_request_id(3);
        Ok(w.finish())
    })?;
    let sent_id = ctx
        .sent("OrderCancelRequest516")
        .iter()
        .any(|l| l.contains("OrderID="));
    ctx.check("OrderCancelRequest sent without OrderID", !sent_id)?;
    ctx.expect(534, 0, "OrderID", &id.to_string())?;
    ctx.expect(534, 0, "ClOrdID", "CERT1")?;
    let live = ctx.ex.engine().live_orders();
    ctx.check(format!("the order is gone ({live} live)"), live == 0)
}

fn sec_exec_id(ctx: &Ctx, t: u16, nth: usize) -> Result<u64, String> {
    ctx.value(t, nth, "SecExecID")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{} #{} has no SecExecID", super::message_name(t), nth + 1))
}

fn spread_complete(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    ctx.ex.engine_mut().set_trade_faults(0, 0, true);
    // A spread FAK with nothing to trade against: eliminated.
    let mut fak = limit(1, BUY, 1, 1);
    fak.sec = SPREAD;
    fak.tif = FAK;
    new_order(ctx, fak)?;
    ctx.expect(524, 0, "SecurityID", &SPREAD.to_string())?;
    ctx.expect(524, 0, "CumQty", "0")?;
    // A spread order of qty 1 filled (CME's counter-order is ours here): Trade Spread and one
    // Trade Spread Leg per leg, to each side.
    let mut sell = limit(2, SELL, 1, 1);
    sell.sec = SPREAD;
    new_order(ctx, sell)?;
    let mut buy = sell;
    buy.side = BUY;
    buy.id = 3;
    new_order(ctx, buy)?;
    ctx.expect(526, 0, "LastQty", "1")?;
    ctx.expect(526, 0, "LastPx", &px(1).to_string())?;
    ctx.expect(526, 0, "OrdStatus", "2")?;
    ctx.expect(526, 0, "OrderQty", "1")?;
    ctx.expect_count(526, 2)?;
    ctx.expect_count(527, 4)?;
    ctx.expect(527, 0, "SecurityID", &ES.to_string())?;
    ctx.expect(527, 1, "SecurityID", &NQ.to_string())?;
    // Trade Addendum Spread (bust) for the spread and each leg.
    let trade = sec_exec_id(ctx, 526, 0)?;
    let now = ctx.cme_ns();
    let busted = ctx.ex.bust_trade(now, trade);
    ctx.check("the simulator busts the spread trade", busted)?;
    ctx.advance(10);
    ctx.expect_count(549, 2)?;
    ctx.expect(549, 0, "ExecType", "H")?;
    ctx.expect_count(550, 4)?;
    // Another spread fill, then a price correction.
    let mut sell = limit(4, SELL, 2, 1);
    sell.sec = SPREAD;
    new_order(ctx, sell)?;
    let mut buy = sell;
    buy.side = BUY;
    buy.id = 5;
    new_order(ctx, buy)?;
    let trade = sec_exec_id(ctx, 526, 2)?;
    let now = ctx.cme_ns();
    let corrected = ctx.ex.correct_trade(now, trade, px(2) + super::TICK);
    ctx.check("the simulator corrects the spread trade", corrected)?;
    ctx.advance(10);
    ctx.expect(549, 2, "ExecType", "G")?;
    ctx.expect(549, 2, "LastPx", &(px(2) + super::TICK).to_string())
}

fn outright_complete(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    ctx.ex.engine_mut().set_trade_faults(0, 0, true);
    // Ack.
    new_order(ctx, limit(1, SELL, 4500, 2))?;
    ctx.expect(522, 0, "ClOrdID", "CERT1")?;
    // Fill (partial then complete).
    new_order(ctx, limit(2, BUY, 4500, 1))?;
    new_order(ctx, limit(3, BUY, 4500, 1))?;
    ctx.expect_count(525, 4)?;
    // The resting sell: partially filled, then filled.
    ctx.expect(525, 1, "ClOrdID", "CERT1")?;
    ctx.expect(525, 1, "OrdStatus", "1")?;
    ctx.expect(525, 3, "CumQty", "2")?;
    ctx.expect(525, 3, "OrdStatus", "2")?;
    // Elimination: a FAK that finds nothing.
    let mut fak = limit(4, BUY, 4500, 1);
    fak.tif = FAK;
    new_order(ctx, fak)?;
    ctx.expect(524, 0, "ClOrdID", "CERT4")?;
    // Correction (ExecType G) then bust (H) of the second trade.
    let trade = sec_exec_id(ctx, 525, 2)?;
    let now = ctx.cme_ns();
    let corrected = ctx.ex.correct_trade(now, trade, px(4500) + super::TICK);
    ctx.check("the simulator corrects the trade", corrected)?;
    ctx.advance(10);
    ctx.expect(548, 0, "ExecType", "G")?;
    ctx.expect(548, 0, "LastPx", &(px(4500) + super::TICK).to_string())?;
    ctx.expect(548, 0, "OrigSecondaryExecutionID", &trade.to_string())?;
    let new_trade = sec_exec_id(ctx, 548, 0)?;
    let now = ctx.cme_ns();
    let busted = ctx.ex.bust_trade(now, new_trade);
    ctx.check("the simulator busts the corrected trade", busted)?;
    ctx.advance(10);
    ctx.expect(548, 2, "ExecType", "H")?;
    ctx.expect(548, 2, "OrdStatus", "H")
}

fn define_party(ctx: &mut Ctx, id: u64, smp: Option<(u64, u8)>) -> Result<u32, String> {
    let t = ctx.cme_ns();
    ctx.send(move |seq, _uuid, buf| -> Result<usize, EncodeError> {
        let mut w = PartyDetailsDefinitionRequestWriter::new(buf)?;
        w.set_memo("cert")?;
        w.set_party_details_list_req_id(id)
            .set_sending_time_epoch(t)
            .set_list_update_action(b'A')
            .set_seq_num(seq)
            .set_self_match_prevention_id(smp.map(|s| s.0))
            .set_self_match_prevention_instruction(smp.map(|s| s.1));
        Ok(w.finish())
    })
}

fn party_define(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    // Pre-registered party details are required for orders on this session.
    ctx.ex.engine_mut().set_parties_required(true);
    define_party(ctx, 9001, None)?;
    ctx.expect(519, 0, "PartyDetailsListReqID", "9001")?;
    ctx.expect(519, 0, "PartyDetailRequestStatus", "0")?;
    ctx.expect(519, 0, "ListUpdateAction", "A")?;
    let mut o = limit(1, BUY, 4490, 1);
    o.party = 9001;
    new_order(ctx, o)?;
    ctx.expect(522, 0, "PartyDetailsListReqID", "9001")?;
    ctx.expect_count(521, 0)
}

fn self_match(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    // Two definitions with the same SMP id: cancel oldest (O) and cancel newest (N).
    define_party(ctx, 71, Some((55, b'O')))?;
    define_party(ctx, 72, Some((55, b'N')))?;
    ctx.expect(519, 0, "SelfMatchPreventionID", "55")?;
    let mut sell = limit(1, SELL, 4500, 1);
    sell.party = 71;
    new_order(ctx, sell)?;
    let mut buy = limit(2, BUY, 4500, 1);
    buy.party = 71;
    new_order(ctx, buy)?;
    // Instruction O: the resting (oldest) order is cancelled, 378=103.
    ctx.expect(534, 0, "ClOrdID", "CERT1")?;
    ctx.expect(534, 0, "ExecRestatementReason", "103")?;
    // Instruction N: the incoming (newest) order is cancelled, 378=107.
    let mut sell = limit(3, SELL, 4500, 1);
    sell.party = 72;
    new_order(ctx, sell)?;
    ctx.expect(534, 1, "ClOrdID", "CERT3")?;
    ctx.expect(534, 1, "ExecRestatementReason", "107")?;
    ctx.expect_count(525, 0)
}

fn business_reject(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    ctx.ex.engine_mut().set_parties_required(true);
    // An order naming a PartyDetailsListReqID never defined.
    let mut o = limit(1, BUY, 4490, 1);
    o.party = 4242;
    let seq = new_order(ctx, o)?;
    ctx.expect(521, 0, "BusinessRejectReason", "1")?;
    ctx.expect(521, 0, "RefSeqNum", &seq.to_string())?;
    ctx.expect(521, 0, "RefTagID", "1505")?;
    ctx.expect(521, 0, "RefMsgType", "D")?;
    let text = ctx.value(521, 0, "Text").unwrap_or_default();
    ctx.check(
        format!("BusinessReject521 Text says why ({text})"),
        !text.is_empty(),
    )?;
    ctx.expect_count(522, 0)
}

fn secdef(ctx: &mut Ctx, req_id: u64, legs: &'static [(i32, u8)]) -> Result<u32, String> {
    let t = ctx.cme_ns();
    ctx.send(move |seq, _uuid, buf| -> Result<usize, EncodeError> {
        let n = u8::try_from(legs.len()).unwrap_or(u8::MAX);
        let mut w = SecurityDefinitionRequestWriter::with_counts(buf, [n, 0])?;
        for (i, &(sec, side)) in legs.iter().enumerate() {
            if let Some(mut l) = w.leg_mut(i) {
                l.set_leg_security_id(sec)
                    .set_leg_side(side)
                    .set_leg_ratio_qty(Some(1));
            }
        }
        w.set_sender_id("TRADER")?
            .set_location("US,IL")?
            .set_security_sub_type("COMBO")?;
        w.set_party_details_list_req_id(7)
            .set_security_req_id(req_id)
            .set_seq_num(seq)
            .set_sending_time_epoch(t);
        Ok(w.finish())
    })
}

fn secdef_reject(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    // A combo whose second leg CME does not list: refused.
    secdef(ctx, 501, &[(ES, BUY), (777, SELL)])?;
    ctx.expect(561, 0, "SecurityResponseType", "5")?;
    ctx.expect(561, 0, "SecurityReqID", "501")?;
    ctx.expect(561, 0, "SecurityID", "null")?;
    let text = ctx.value(561, 0, "Text").unwrap_or_default();
    ctx.check(
        format!("SecurityDefinitionResponse561 Text says why ({text})"),
        text.contains("LegSecurityID"),
    )?;
    // A valid combo is created (a new SecurityID), so the reject was about that request.
    secdef(ctx, 502, &[(ES, BUY), (NQ, SELL)])?;
    ctx.expect(561, 1, "SecurityResponseType", "1")?;
    ctx.expect(561, 1, "SecurityID", &crate::sim::UDS_FIRST_ID.to_string())
}

/// One quote entry: (QuoteEntryID, SecurityID, QuoteSetID, bid, offer, size).
type Q = (u32, i32, u16, i64, i64, u32);

fn mass_quote(
    ctx: &mut Ctx,
    quote_id: u32,
    reset: bool,
    entries: &'static [Q],
) -> Result<u32, String> {
    let t = ctx.cme_ns();
    ctx.send(move |seq, _uuid, buf| -> Result<usize, EncodeError> {
        let n = u8::try_from(entries.len()).unwrap_or(u8::MAX);
        let mut w = MassQuoteWriter::with_counts(buf, [n])?;
        for (i, &(id, sec, set, bid, offer, size)) in entries.iter().enumerate() {
            if let Some(mut e) = w.quote_entry_mut(i) {
                e.set_quote_entry_id(id)
                    .set_security_id(sec)
                    .set_quote_set_id(set)
                    .set_bid_px(Some(px(bid)))
                    .set_bid_size(Some(size))
                    .set_offer_px(Some(px(offer)))
                    .set_offer_size(Some(size));
            }
        }
        w.set_sender_id("TRADER")?.set_location("US,IL")?;
        w.set_party_details_list_req_id(7)
            .set_sending_time_epoch(t)
            .set_seq_num(seq)
            .set_quote_id(quote_id)
            .set_tot_no_quote_entries(n)
            .set_mm_protection_reset(u8::from(reset));
        Ok(w.finish())
    })
}

fn mass_quote_protection(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    ctx.connect_peer()?;
    // Protection trips once 50 lots of our quotes in one instrument group have traded.
    ctx.ex.engine_mut().set_quote_protection(50);
    // Two-sided quotes, more than one in group ES, each above 100 lots.
    mass_quote(
        ctx,
        1,
        false,
        &[(1, ES, 1, 4490, 4510, 120), (2, ESM, 1, 4480, 4520, 120)],
    )?;
    ctx.expect(545, 0, "QuoteStatus", "0")?;
    ctx.expect(545, 0, "NoProcessedEntries", "2")?;
    // A second quote, another instrument of the group; CME's counter-order (here the firm's
    // other session) partially fills it past the protection quantity.
    mass_quote(ctx, 2, false, &[(3, ESU, 1, 4470, 4530, 120)])?;
    ctx.expect(545, 1, "QuoteStatus", "0")?;
    let t = ctx.cme_ns();
    ctx.send_peer(move |seq, _uuid, buf| {
        let mut o = limit(90, SELL, 4470, 60);
        o.sec = ESU;
        encode_order(o, seq, t, buf)
    })?;
    ctx.expect(525, 0, "ClOrdID", "3")?;
    ctx.expect(525, 0, "OrdStatus", "1")?;
    ctx.expect(525, 0, "LastQty", "60")?;
    // The unsolicited cancel of every quote in the group.
    ctx.expect(563, 0, "UnsolicitedCancelType", "F")?;
    ctx.expect(563, 0, "QuoteStatus", "3")?;
    ctx.expect(563, 0, "CancelledSymbol", "ES")?;
    ctx.expect(563, 0, "NoProcessedEntries", "6")?;
    let live = ctx.ex.engine().live_quotes();
    ctx.check(format!("no quote left in the group ({live})"), live == 0)?;
    // Quoting again is rejected until protection is reset.
    mass_quote(ctx, 3, false, &[(3, ESU, 1, 4470, 4530, 120)])?;
    ctx.expect(545, 2, "QuoteStatus", "5")?;
    mass_quote(
        ctx,
        4,
        true,
        &[(4, ESU, 2, 4460, 4540, 120), (5, ESM, 3, 4460, 4540, 120)],
    )?;
    ctx.expect(545, 3, "QuoteStatus", "0")?;
    ctx.expect(545, 3, "MMProtectionReset", "1")?;
    // Quote Cancellation (Quote Set ID level): set 2 goes, set 3 stays.
    let t = ctx.cme_ns();
    ctx.send(move |seq, _uuid, buf| -> Result<usize, EncodeError> {
        let mut w = QuoteCancelWriter::with_counts(buf, [0, 1])?;
        if let Some(mut s) = w.quote_set_mut(0) {
            s.set_quote_set_id(2);
        }
        w.set_sender_id("TRADER")?.set_location("US,IL")?;
        w.set_party_details_list_req_id(7)
            .set_sending_time_epoch(t)
            .set_seq_num(seq)
            .set_quote_id(5)
            .set_quote_cancel_type(100);
        Ok(w.finish())
    })?;
    ctx.expect(563, 1, "QuoteStatus", "100")?;
    ctx.expect(563, 1, "QuoteID", "5")?;
    ctx.expect(563, 1, "NoProcessedEntries", "2")?;
    let live = ctx.ex.engine().live_quotes();
    ctx.check(
        format!("quote set 3 still quoted ({live} sides)"),
        live == 2,
    )
}

fn cancel_on_behalf(ctx: &mut Ctx) -> Result<(), String> {
    established(ctx)?;
    // The Original SenderComp (XYZ, same firm) rests a Limit Day order.
    ctx.connect_peer()?;
    let t = ctx.cme_ns();
    ctx.send_peer(move |seq, _uuid, buf| encode_order(limit(11, BUY, 4480, 2), seq, t, buf))?;
    let peer_ack = ctx
        .peer
        .as_ref()
        .and_then(|p| {
            p.received
                .iter()
                .find(|f| super::template(f) == 522)
                .and_then(|f| super::field(f, "OrderID"))
        })
        .and_then(|v| v.parse::<u64>().ok());
    ctx.check(
        format!("the original session's order acknowledged ({peer_ack:?})"),
        peer_ack.is_some(),
    )?;
    let id = peer_ack.unwrap_or(0);
    // Our session (On-Behalf SenderComp) cancels it, naming XYZ in OrigOrderUser.
    let t = ctx.cme_ns();
    ctx.send(move |seq, _uuid, buf| -> Result<usize, EncodeError> {
        let mut w = OrderCancelRequestWriter::new(buf)?;
        w.set_sender_id("TRADER")?
            .set_cl_ord_id(cl(11))?
            .set_location("US,IL")?
            .set_orig_order_user("XYZ007")?;
        w.set_order_id(Some(id))
            .set_security_id(ES)
            .set_side(BUY)
            .set_seq_num(seq)
            .set_sending_time_epoch(t)
            .set_party_details_list_req_id(7)
            .set_order_request_id(12);
        Ok(w.finish())
    })?;
    ctx.expect(534, 0, "OrigOrderUser", "XYZ007")?;
    ctx.expect(534, 0, "CancelText", "ABC007")?;
    ctx.expect(534, 0, "OrderID", &id.to_string())?;
    let peer_cancel = ctx.peer.as_ref().and_then(|p| {
        p.received
            .iter()
            .find(|f| super::template(f) == 534)
            .and_then(|f| super::field(f, "OrigOrderUser"))
    });
    ctx.check(
        format!("the original session got the cancel too (OrigOrderUser {peer_cancel:?})"),
        peer_cancel.as_deref() == Some("XYZ007"),
    )?;
    let live = ctx.ex.engine().live_orders();
    ctx.check(format!("the order is gone ({live} live)"), live == 0)
}
