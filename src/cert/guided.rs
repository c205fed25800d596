//! `ilinkd cert -c FILE --session S`: the guided mode, against a configured gateway (CME's
//! certification environment, or `ilinkd sim`).
//!
//! Each iLink 3 scenario is a short script of [`Step`]s: the client's steps are performed by our
//! own [`FixpSession`] over a plain TCP connection with the real clock; where CME's AutoCert+
//! tool acts (fills, busts, fail-over, ...) the runner prints an instruction and waits, up to
//! the step timeout, for the message that the tool's action produces. Every message awaited
//! prints the values the AutoCert+ questions ask for ("Q: OrdStatus? A: 2 (Filled)"), taken
//! from the message actually received. Business messages leave at most 10 per second (the
//! certification cap), and the cap is checked like in the simulator runs.
//!
//! This is a CLI job, not the hot path: blocking writes, reads with a short timeout.

use super::{field, message_name, render, template, Check, Dir, Line, Result_, Scenario};
use super::{CERT_MAX_PER_SECOND, MS};
use crate::auth::HmacSigner;
use crate::config::Config;
use crate::ilink3::session::{ConnectMode, Credentials, FixpEvent, FixpSession, SessionSeqState};
use crate::ilink3::{
    Frames, NewOrderSingleWriter, OrderCancelReplaceRequestWriter, OrderCancelRequestWriter,
    OrderMassActionRequestWriter, OrderMassStatusRequestWriter, OrderStatusRequestWriter,
    PartyDetailsDefinitionRequestWriter, SecurityDefinitionRequestWriter,
};
use crate::types::Now;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Why the guided mode cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GuidedError {
    #[error(
        "--session {0:?}: no [[ilink3]] session with that name or session_id in the config \
         (have: {1})"
    )]
    NoSession(String, String),
    #[error(
        "--dropcopy {0:?}: no [[dropcopy]] session with that name or sender_comp_id in the \
         config (have: {1})"
    )]
    NoDropCopy(String, String),
    #[error("session {0}: no primary address in the config (ilink3 primary = \"HOST:PORT\")")]
    NoAddress(String),
    #[error("session {session}: key {spec}: {source}")]
    Key {
        session: String,
        spec: String,
        source: Box<crate::auth::KeyError>,
    },
    #[error(
        "no instrument to trade: give --security-id, or configure an [[instrument]] (its \
         market_segment_id and security_group serve the mass actions)"
    )]
    NoInstrument,
    #[error("--price {0:?}: not a decimal price")]
    BadPrice(String),
}

/// What the guided scenarios trade.
#[derive(Debug, Clone)]
pub struct Instrument {
    pub security_id: i32,
    /// Another instrument (mass action by instrument, security definitions).
    pub other_security_id: i32,
    /// A price near the market, 9 decimals.
    pub price: i64,
    /// Minimum price increment, 9 decimals.
    pub tick: i64,
    pub market_segment_id: u8,
    pub security_group: String,
}

/// The gateway and session the guided scenarios run on.
#[derive(Clone)]
pub struct Target {
    pub name: String,
    pub addr: SocketAddr,
    /// The backup gateway: where a tool step reconnects when the primary drops (fail-over).
    pub backup: Option<SocketAddr>,
    pub session: crate::ilink3::session::SessionConfig,
    pub access_key_id: String,
    pub signer: HmacSigner,
    pub sender_id: String,
    pub location: String,
    pub party: u64,
    pub instrument: Instrument,
    /// How long to wait for each message (CME's tool included).
    pub step_timeout: Duration,
    /// The Drop Copy session for the Drop Copy 4.0 scenarios, when the config has one.
    pub dropcopy: Option<super::guided_dc::DcTarget>,
}

/// Choices the command line makes (each `None`: from the config).
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub security_id: Option<i32>,
    pub other_security_id: Option<i32>,
    pub price: Option<String>,
    pub market_segment_id: Option<u8>,
    pub security_group: Option<String>,
    /// The `[[dropcopy]]` session (name or SenderCompID; default: the config's first).
    pub dropcopy: Option<String>,
}

impl Target {
    /// The session `name` (local name or CME Session ID) of `cfg`, its key through the same
    /// loader the daemon uses.
    pub fn from_config(
        cfg: &Config,
        name: &str,
        choices: &Choices,
        step_timeout: Duration,
        today: time::Date,
    ) -> Result<Target, GuidedError> {
        let s = cfg
            .ilink3
            .iter()
            .find(|s| s.name == name || s.session_id == name)
            .ok_or_else(|| {
                GuidedError::NoSession(
                    name.into(),
                    cfg.ilink3
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            })?;
        let addr = s
            .primary
            .ok_or_else(|| GuidedError::NoAddress(s.name.clone()))?;
        let key = cfg
            .key_source(&s.key_file)
            .and_then(|src| src.load(today))
            .map_err(|source| GuidedError::Key {
                session: s.name.clone(),
                spec: s.key_file.clone(),
                source: Box::new(source),
            })?;
        let k = key.active();
        let first = match choices.security_id {
            Some(id) => cfg.instrument.iter().find(|i| i.security_id == id),
            None => cfg.instrument.first(),
        };
        let security_id = choices
            .security_id
            .or(first.map(|i| i.security_id))
            .ok_or(GuidedError::NoInstrument)?;
        let other_security_id = choices
            .other_security_id
            .or_else(|| {
                cfg.instrument
                    .iter()
                    .find(|i| i.security_id != security_id)
                    .map(|i| i.security_id)
            })
            .unwrap_or(security_id);
        let price_text = choices.price.clone().unwrap_or_else(|| "4500".into());
        let price = crate::config::parse_price9(&price_text)
            .ok_or_else(|| GuidedError::BadPrice(price_text.clone()))?;
        let tick = first.and_then(|i| i.tick_mantissa()).unwrap_or(super::TICK);
        Ok(Target {
            name: s.name.clone(),
            addr,
            backup: s.backup,
            session: s.session_config(),
            access_key_id: k.access_key_id.as_str().to_string(),
            signer: k.signer(),
            sender_id: s.sender_id.clone(),
            location: s.location.clone(),
            party: s.party_details_list_req_id,
            instrument: Instrument {
                security_id,
                other_security_id,
                price,
                tick,
                market_segment_id: choices
                    .market_segment_id
                    .or(first.and_then(|i| i.market_segment_id))
                    .unwrap_or(0),
                security_group: choices
                    .security_group
                    .clone()
                    .or(first.and_then(|i| i.security_group.clone()))
                    .unwrap_or_default(),
            },
            step_timeout,
            dropcopy: super::guided_dc::DcTarget::from_config(
                cfg,
                choices.dropcopy.as_deref(),
                step_timeout,
                today,
            )?,
        })
    }
}

// ---- the scripts --------------------------------------------------------------------------

const BUY: u8 = 1;
const SELL: u8 = 2;
const LIMIT: u8 = b'2';
const STOP_LIMIT: u8 = b'4';
const MARKET_LIMIT: u8 = b'K';
const DAY: u8 = 0;
const GTC: u8 = 1;
const FAK: u8 = 3;
const GTD: u8 = 6;

/// A new order: price and stop in ticks from the configured price.
#[derive(Debug, Clone, Copy)]
pub struct New {
    pub id: u64,
    pub side: u8,
    pub ord_type: u8,
    pub ticks: i64,
    pub stop_ticks: Option<i64>,
    pub qty: u32,
    pub min_qty: Option<u32>,
    pub tif: u8,
    /// The other instrument.
    pub other: bool,
    /// PartyDetailsListReqID instead of the session's.
    pub party: Option<u64>,
}

/// A client message of a script.
#[derive(Debug, Clone, Copy)]
pub enum Msg {
    New(New),
    /// Cancel/replace order `id` to `ticks`/`qty`, with or without its OrderID.
    Replace {
        id: u64,
        ticks: i64,
        qty: u32,
        with_order_id: bool,
    },
    Cancel {
        id: u64,
        with_order_id: bool,
    },
    Status {
        id: u64,
    },
    /// OrderMassActionRequest: 1 instrument, 9 market segment, 10 instrument group.
    Mass {
        scope: u8,
    },
    /// OrderMassStatusRequest for the market segment.
    Mosr,
    Party {
        id: u64,
        smp: Option<(u64, u8)>,
    },
    /// SecurityDefinitionRequest for a spread of the instrument and `leg2` (0: an unknown one).
    SecDef {
        req: u64,
        valid: bool,
    },
}

/// A step of a guided scenario.
#[derive(Debug, Clone)]
pub enum Step {
    /// TCP connect, Negotiate (new UUID), Establish.
    Logon,
    /// Disconnect and log on again with a new UUID.
    Relogon,
    Send(Msg),
    /// Wait for a message of `template` (of order `cl` when given) and print the values of
    /// `ask`; `cme`: what to do in AutoCert+ first (CME's tool produces the message).
    Expect {
        template: u16,
        cl: Option<u64>,
        ask: &'static [&'static str],
        cme: Option<&'static str>,
    },
    /// Client-initiated Terminate.
    Terminate,
}

fn order(id: u64, side: u8, ticks: i64, qty: u32) -> New {
    New {
        id,
        side,
        ord_type: LIMIT,
        ticks,
        stop_ticks: None,
        qty,
        min_qty: None,
        tif: DAY,
        other: false,
        party: None,
    }
}

fn send(n: New) -> Step {
    Step::Send(Msg::New(n))
}

fn cancel(id: u64) -> Step {
    Step::Send(Msg::Cancel {
        id,
        with_order_id: true,
    })
}

fn ours(template: u16, cl: u64, ask: &'static [&'static str]) -> Step {
    Step::Expect {
        template,
        cl: Some(cl),
        ask,
        cme: None,
    }
}

fn any(template: u16, ask: &'static [&'static str]) -> Step {
    Step::Expect {
        template,
        cl: None,
        ask,
        cme: None,
    }
}

fn tool(template: u16, cme: &'static str, ask: &'static [&'static str]) -> Step {
    Step::Expect {
        template,
        cl: None,
        ask,
        cme: Some(cme),
    }
}

const ACK: &[&str] = &["ClOrdID", "OrderID", "OrdStatus", "Price", "OrderQty"];
const FILL: &[&str] = &[
    "ClOrdID",
    "OrdStatus",
    "LastQty",
    "LastPx",
    "CumQty",
    "LeavesQty",
];
const CXL: &[&str] = &["ClOrdID", "OrderID", "OrdStatus", "CumQty"];
const ELIM: &[&str] = &["ClOrdID", "OrdStatus", "CumQty"];
const MASS: &[&str] = &[
    "MassActionResponse",
    "MassActionScope",
    "MarketSegmentID",
    "SecurityGroup",
    "SecurityID",
    "TotalAffectedOrders",
];

fn logon() -> Vec<Step> {
    vec![
        Step::Logon,
        any(501, &["UUID", "SecretKeyExpirationDate"]),
        any(504, &["UUID", "NextSeqNo", "KeepAliveInterval"]),
    ]
}

fn rest_three() -> Vec<Step> {
    let mut other = order(3, SELL, 40, 1);
    other.other = true;
    vec![
        send(order(1, BUY, -40, 1)),
        ours(522, 1, ACK),
        send(order(2, BUY, -36, 1)),
        ours(522, 2, ACK),
        send(other),
        ours(522, 3, ACK),
    ]
}

/// The guided script of iLink 3 scenario `name` (`None`: not an iLink 3 scenario).
pub fn script(name: &str) -> Option<Vec<Step>> {
    let mut s = logon();
    let body: Vec<Step> =
        match name {
            "Weekly (beginning-of-week) initialization" => {
                vec![Step::Terminate, any(507, &["ErrorCodes"])]
            }
            "Verify Sequence Warning KeepAliveInterval Lapsing Procedure/Methodology" => vec![
                tool(
                    506,
                    "start the KeepAliveInterval lapse step: CME's Sequence with \
                 KeepAliveIntervalLapsed=1",
                    &["NextSeqNo", "KeepAliveIntervalLapsed"],
                ),
                Step::Terminate,
                any(507, &["ErrorCodes"]),
            ],
            "Re-Setting UUID" => vec![
                Step::Relogon,
                any(501, &["UUID"]),
                any(504, &["UUID", "PreviousUUID", "NextSeqNo"]),
            ],
            "Mid-Week Connection (Initialization and Binding) with New UUID" => vec![
                send(order(1, BUY, -40, 1)),
                ours(522, 1, ACK),
                Step::Relogon,
                any(501, &["UUID"]),
                any(504, &["UUID", "PreviousUUID", "PreviousSeqNo", "NextSeqNo"]),
                cancel(1),
                ours(534, 1, CXL),
            ],
            "Process Real-Time Messages During a Resend Response from CME Globex" => vec![
                send(order(1, BUY, -40, 1)),
                ours(522, 1, ACK),
                tool(
                    509,
                    "start the resend step: CME skips sequence numbers and answers ilinkd's \
                 RetransmitRequest while real-time messages flow",
                    &["FromSeqNo", "MsgCount", "LastUUID"],
                ),
            ],
            "MSGW Failover from Primary to Backup Components (Binding without Initialization)" => {
                vec![tool(
                    504,
                    "fail over the MSGW primary to the backup (ilinkd reconnects, to the backup \
                 first, and Establishes the same UUID)",
                    &[
                        "UUID",
                        "NextSeqNo",
                        "PreviousSeqNo",
                        "FaultToleranceIndicator",
                    ],
                )]
            }
            "Primary Gateway Connection Enforcement Test" => vec![tool(
                505,
                "start the primary enforcement step: connect to the backup gateway; CME answers \
             EstablishmentReject 27",
                &["ErrorCodes", "FaultToleranceIndicator"],
            )],
            "Negotiate/Establish rejected for a bad HMAC, timestamp or ids" => vec![tool(
                502,
                "start the bad-credentials step (CME rejects the Negotiate of a session with a \
             wrong HMAC or id)",
                &["UUID", "ErrorCodes"],
            )],
            "CME-detected gap in the client stream (NotApplied)" => vec![
                send(order(1, BUY, -40, 1)),
                ours(522, 1, ACK),
                tool(
                    513,
                    "start the NotApplied step (CME reports a gap in ilinkd's stream)",
                    &["FromSeqNo", "MsgCount"],
                ),
            ],
            "Client- and CME-initiated Terminate" => {
                vec![Step::Terminate, any(507, &["UUID", "ErrorCodes"])]
            }
            "Market-Limit Order Test" => {
                let mut mkt = order(2, BUY, 0, 3);
                mkt.ord_type = MARKET_LIMIT;
                vec![
                    send(order(1, SELL, 0, 2)),
                    ours(522, 1, ACK),
                    send(mkt),
                    ours(522, 2, ACK),
                    ours(525, 2, FILL),
                    Step::Send(Msg::Cancel {
                        id: 2,
                        with_order_id: true,
                    }),
                    ours(534, 2, CXL),
                ]
            }
            "Stop Limit Order Test" => {
                let mut stop = order(1, BUY, 8, 3);
                stop.ord_type = STOP_LIMIT;
                stop.stop_ticks = Some(4);
                vec![
                    send(stop),
                    ours(
                        522,
                        1,
                        &["ClOrdID", "OrderID", "OrdStatus", "StopPx", "Price"],
                    ),
                    send(order(2, SELL, 4, 1)),
                    ours(522, 2, ACK),
                    send(order(3, BUY, 4, 1)),
                    ours(525, 3, FILL),
                    ours(522, 1, &["ClOrdID", "OrdStatus", "StopPx", "Price"]),
                    Step::Send(Msg::Cancel {
                        id: 1,
                        with_order_id: true,
                    }),
                    ours(534, 1, CXL),
                ]
            }
            "Limit Day order, modify, cancel" => vec![
                send(order(1, BUY, -40, 2)),
                ours(522, 1, ACK),
                Step::Send(Msg::Replace {
                    id: 1,
                    ticks: -44,
                    qty: 5,
                    with_order_id: true,
                }),
                ours(531, 1, &["ClOrdID", "OrdStatus", "Price", "OrderQty"]),
                Step::Send(Msg::Cancel {
                    id: 1,
                    with_order_id: true,
                }),
                ours(534, 1, CXL),
            ],
            "Order Cancel without OrderID / Order Cancel Replace without OrderID" => vec![
                send(order(1, BUY, -40, 2)),
                ours(522, 1, ACK),
                Step::Send(Msg::Replace {
                    id: 1,
                    ticks: -44,
                    qty: 3,
                    with_order_id: false,
                }),
                ours(
                    531,
                    1,
                    &["ClOrdID", "OrderID", "OrdStatus", "Price", "OrderQty"],
                ),
                Step::Send(Msg::Cancel {
                    id: 1,
                    with_order_id: false,
                }),
                ours(534, 1, CXL),
            ],
            "FAK / FOK, GTC / GTD" => {
                let mut fak = order(1, BUY, -40, 2);
                fak.tif = FAK;
                let mut fok = order(3, BUY, 0, 3);
                fok.tif = FAK;
                fok.min_qty = Some(3);
                let mut gtc = order(4, BUY, -60, 1);
                gtc.tif = GTC;
                let mut gtd = order(5, BUY, -64, 1);
                gtd.tif = GTD;
                vec![
                    send(fak),
                    ours(524, 1, ELIM),
                    send(order(2, SELL, 0, 1)),
                    ours(522, 2, ACK),
                    send(fok),
                    ours(524, 3, ELIM),
                    send(gtc),
                    ours(522, 4, &["ClOrdID", "OrdStatus", "TimeInForce"]),
                    send(gtd),
                    ours(
                        522,
                        5,
                        &["ClOrdID", "OrdStatus", "TimeInForce", "ExpireDate"],
                    ),
                    cancel(2),
                    ours(534, 2, CXL),
                    cancel(4),
                    ours(534, 4, CXL),
                    cancel(5),
                    ours(534, 5, CXL),
                ]
            }
            "Spread Complete Order" => vec![tool(
                526,
                "start the spread step: CME's tool trades against ilinkd's spread order (enter it \
             as the tool says) and sends the leg fills",
                &["SecurityID", "OrdStatus", "LastQty", "LastPx", "CumQty"],
            )],
            "Outright complete order (ack, fill, elimination, correction, bust)" => vec![
                send(order(1, SELL, 0, 2)),
                ours(522, 1, ACK),
                tool(
                    525,
                    "start the outright fill step: the tool buys against ilinkd's sell CERT1",
                    FILL,
                ),
                tool(
                    548,
                    "start the correction/bust step: the tool corrects, then busts the trade",
                    &[
                        "ExecType",
                        "OrdStatus",
                        "LastPx",
                        "OrigSecondaryExecutionID",
                    ],
                ),
            ],
            "iLink Order Mass Action Request by Market Segment ID" => {
                let mut v = rest_three();
                v.extend([Step::Send(Msg::Mass { scope: 9 }), any(562, MASS)]);
                v
            }
            "iLink Order Mass Action Request by Instrument Group" => {
                let mut v = rest_three();
                v.extend([Step::Send(Msg::Mass { scope: 10 }), any(562, MASS)]);
                v
            }
            "iLink Order Mass Action Request by Instrument" => {
                let mut v = rest_three();
                v.extend([Step::Send(Msg::Mass { scope: 1 }), any(562, MASS)]);
                v
            }
            "Order Status Request" => vec![
                send(order(1, BUY, -40, 2)),
                ours(522, 1, ACK),
                Step::Send(Msg::Status { id: 1 }),
                ours(
                    532,
                    1,
                    &["ClOrdID", "OrderID", "OrdStatus", "CumQty", "LeavesQty"],
                ),
                Step::Send(Msg::Cancel {
                    id: 1,
                    with_order_id: true,
                }),
                ours(534, 1, CXL),
            ],
            "Support MOSR Functionality for a Particular Market Segment" => vec![
                send(order(1, BUY, -40, 1)),
                ours(522, 1, ACK),
                send(order(2, BUY, -36, 1)),
                ours(522, 2, ACK),
                Step::Send(Msg::Mosr),
                ours(
                    532,
                    1,
                    &[
                        "MassStatusReqID",
                        "ClOrdID",
                        "OrdStatus",
                        "LastRptRequested",
                    ],
                ),
                ours(
                    532,
                    2,
                    &[
                        "MassStatusReqID",
                        "ClOrdID",
                        "OrdStatus",
                        "LastRptRequested",
                    ],
                ),
                Step::Send(Msg::Mass { scope: 9 }),
                any(562, MASS),
            ],
            "Process a Security Definition Reject in Response to a Security Definition Request" => {
                vec![
                    Step::Send(Msg::SecDef {
                        req: 501,
                        valid: false,
                    }),
                    any(561, &["SecurityReqID", "SecurityResponseType", "Text"]),
                    Step::Send(Msg::SecDef {
                        req: 502,
                        valid: true,
                    }),
                    any(
                        561,
                        &["SecurityReqID", "SecurityResponseType", "SecurityID"],
                    ),
                ]
            }
            "Party details define / acknowledge" => {
                let mut o = order(1, BUY, -40, 1);
                o.party = Some(9001);
                vec![
                    Step::Send(Msg::Party {
                        id: 9001,
                        smp: None,
                    }),
                    any(
                        519,
                        &[
                            "PartyDetailsListReqID",
                            "PartyDetailRequestStatus",
                            "ListUpdateAction",
                        ],
                    ),
                    send(o),
                    ours(522, 1, &["ClOrdID", "OrdStatus", "PartyDetailsListReqID"]),
                    Step::Send(Msg::Cancel {
                        id: 1,
                        with_order_id: true,
                    }),
                    ours(534, 1, CXL),
                ]
            }
            "Self-match prevention" => {
                let mut sell = order(1, SELL, 0, 1);
                sell.party = Some(71);
                let mut buy = order(2, BUY, 0, 1);
                buy.party = Some(71);
                vec![
                    Step::Send(Msg::Party {
                        id: 71,
                        smp: Some((55, b'O')),
                    }),
                    any(
                        519,
                        &[
                            "PartyDetailsListReqID",
                            "PartyDetailRequestStatus",
                            "SelfMatchPreventionID",
                        ],
                    ),
                    send(sell),
                    ours(522, 1, ACK),
                    send(buy),
                    ours(534, 1, &["ClOrdID", "OrdStatus", "ExecRestatementReason"]),
                    ours(522, 2, ACK),
                    cancel(2),
                    ours(534, 2, CXL),
                ]
            }
            "Business Reject" => {
                vec![tool(
            521,
            "start the Business Reject step (enter the order the tool asks for; CME rejects \
             it at the application level)",
            &["RefSeqNum", "RefTagID", "RefMsgType", "BusinessRejectReason", "Text"],
        )]
            }
            "Mass Quote Protection / Quote Cancellation (Quote Set ID Level)" => {
                vec![tool(
            563,
            "start the mass quote protection step (mass quote as the tool asks; its trades \
             trip the protection)",
            &["UnsolicitedCancelType", "QuoteStatus", "CancelledSymbol", "NoProcessedEntries"],
        )]
            }
            "Cancel on Behalf (COB)" => vec![tool(
                534,
                "start the Cancel on Behalf step (an order of your other session is cancelled \
             through this one)",
                &["ClOrdID", "OrderID", "OrigOrderUser", "CancelText"],
            )],
            _ => return None,
        };
    s.extend(body);
    Some(s)
}

// ---- the runner -----------------------------------------------------------------------------

fn meaning(field: &str, v: &str) -> Option<&'static str> {
    Some(match (field, v) {
        ("OrdStatus", "0") => "New",
        ("OrdStatus", "1") => "Partially filled",
        ("OrdStatus", "2") => "Filled",
        ("OrdStatus", "4") => "Canceled",
        ("OrdStatus", "5") => "Replaced",
        ("OrdStatus", "8") => "Rejected",
        ("OrdStatus", "C") => "Expired",
        ("OrdStatus", "H") => "Trade cancel",
        ("OrdStatus", "U") => "Undefined",
        ("ExecType", "G") => "Trade correct",
        ("ExecType", "H") => "Trade cancel",
        ("MassActionResponse", "0") => "Rejected",
        ("MassActionResponse", "1") => "Accepted",
        ("MassActionScope", "1") => "Instrument",
        ("MassActionScope", "9") => "Market segment",
        ("MassActionScope", "10") => "Instrument group",
        ("PartyDetailRequestStatus", "0") => "Accepted",
        ("SecurityResponseType", "1") => "Accept security proposal",
        ("SecurityResponseType", "5") => "Reject security proposal",
        ("TimeInForce", "0") => "Day",
        ("TimeInForce", "1") => "GTC",
        ("TimeInForce", "3") => "FAK",
        ("TimeInForce", "6") => "GTD",
        _ => return None,
    })
}

/// OrdStatus and ExecType are schema constants of some execution reports (not on the wire).
fn constant(t: u16, name: &str) -> Option<&'static str> {
    let v = match t {
        522 => "0",
        523 => "8",
        524 => "C",
        531 => "5",
        534 => "4",
        _ => return None,
    };
    matches!(name, "OrdStatus" | "ExecType").then_some(v)
}

/// `Q: OrdStatus? A: 2 (Filled)`; prices also as decimals.
fn answer(name: &str, v: Option<&str>) -> String {
    let Some(v) = v else {
        return format!("Q: {name}? A: (not set)");
    };
    if let Some(m) = meaning(name, v) {
        return format!("Q: {name}? A: {v} ({m})");
    }
    if name.ends_with("Px") || name == "Price" {
        if let Ok(n) = v.parse::<i64>() {
            return format!("Q: {name}? A: {v} ({})", decimal(n));
        }
    }
    format!("Q: {name}? A: {v}")
}

fn decimal(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    let n = n.unsigned_abs();
    let frac = format!("{:09}", n % 1_000_000_000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{}", n / 1_000_000_000)
    } else {
        format!("{sign}{}.{frac}", n / 1_000_000_000)
    }
}

struct Run<'a> {
    t: &'a Target,
    out: &'a mut dyn Write,
    session: FixpSession,
    stream: Option<TcpStream>,
    rx: Vec<u8>,
    start: Instant,
    lines: Vec<Line>,
    checks: Vec<Check>,
    received: Vec<Vec<u8>>,
    used: Vec<bool>,
    sends: Vec<Instant>,
    order_ids: HashMap<u64, u64>,
    /// Why the session cannot go on (a reject, a Terminate, a closed connection).
    broken: Option<String>,
}

fn cl(id: u64) -> String {
    format!("CERT{id}")
}

impl<'a> Run<'a> {
    fn new(t: &'a Target, out: &'a mut dyn Write) -> Self {
        let session = FixpSession::new(
            t.session.clone(),
            Credentials {
                access_key_id: t.access_key_id.clone(),
                signer: t.signer.clone(),
            },
            SessionSeqState::default(),
        );
        Run {
            t,
            out,
            session,
            stream: None,
            rx: Vec::new(),
            start: Instant::now(),
            lines: Vec::new(),
            checks: Vec::new(),
            received: Vec::new(),
            used: Vec::new(),
            sends: Vec::new(),
            order_ids: HashMap::new(),
            broken: None,
        }
    }

    fn say(&mut self, text: &str) {
        let _ = writeln!(self.out, "  {text}");
        let _ = self.out.flush();
    }

    fn at_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn now() -> Now {
        crate::daemon::engine::read_clocks()
    }

    fn connect(&mut self, mode: ConnectMode) -> Result<(), String> {
        self.connect_to(self.t.addr, mode)
    }

    fn connect_to(&mut self, addr: SocketAddr, mode: ConnectMode) -> Result<(), String> {
        let s = TcpStream::connect_timeout(&addr, self.t.step_timeout)
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        let _ = s.set_nodelay(true);
        s.set_read_timeout(Some(Duration::from_millis(5)))
            .map_err(|e| format!("socket: {e}"))?;
        self.stream = Some(s);
        self.rx.clear();
        self.broken = None;
        self.session
            .connect(Self::now(), mode)
            .map_err(|e| format!("connect: {e}"))
    }

    fn disconnect(&mut self) {
        if let Some(s) = self.stream.take() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        self.session.on_disconnected();
    }

    /// One round of IO and timers.
    fn pump(&mut self) {
        let now = Self::now();
        if self.session.next_deadline().is_some_and(|d| d <= now.mono) {
            self.session.handle_timeout(now);
        }
        while let Some(ev) = self.session.poll_event() {
            match ev {
                FixpEvent::NewUuid { uuid, .. } => {
                    let _ = self.session.uuid_persisted(now, uuid, true);
                }
                FixpEvent::Rejected { name, reason, .. } => {
                    self.broken = Some(format!("{name}: {reason:?}"));
                }
                FixpEvent::Terminated { name, reason, .. } => {
                    self.broken = Some(format!("terminated: {name} {reason:?}"));
                }
                FixpEvent::Disconnect(why) => {
                    self.broken.get_or_insert(format!("disconnected: {why:?}"));
                    self.flush_tx();
                    self.disconnect();
                }
                _ => {}
            }
        }
        self.flush_tx();
        let Some(s) = self.stream.as_mut() else {
            std::thread::sleep(Duration::from_millis(5));
            return;
        };
        let mut buf = [0u8; 65536];
        match s.read(&mut buf) {
            Ok(0) => {
                self.broken
                    .get_or_insert("the exchange closed the connection".into());
                self.disconnect();
            }
            Ok(n) => {
                self.rx.extend_from_slice(&buf[..n]);
                let mut frames = Frames::new(&self.rx);
                let mut got = Vec::new();
                for f in frames.by_ref() {
                    match f {
                        Ok(f) => got.push(f.to_vec()),
                        Err(e) => {
                            self.broken = Some(format!("undecodable input: {e}"));
                            break;
                        }
                    }
                }
                let used = frames.consumed();
                let at_ms = self.at_ms();
                for f in got {
                    self.lines.push(Line {
                        at_ms,
                        dir: Dir::Received,
                        text: render(&f),
                    });
                    self.received.push(f);
                    self.used.push(false);
                }
                let bytes: Vec<u8> = self.rx.drain(..used).collect();
                self.session.handle_input(Self::now(), &bytes);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => {
                self.broken = Some(format!("read: {e}"));
                self.disconnect();
            }
        }
    }

    fn flush_tx(&mut self) {
        while let Some(b) = self.session.poll_transmit() {
            let b = b.to_vec();
            let at_ms = self.at_ms();
            for f in Frames::new(&b).flatten() {
                self.lines.push(Line {
                    at_ms,
                    dir: Dir::Sent,
                    text: render(f),
                });
            }
            if let Some(s) = self.stream.as_mut() {
                if let Err(e) = s.write_all(&b) {
                    self.broken = Some(format!("write: {e}"));
                    self.stream = None;
                    self.session.on_disconnected();
                    return;
                }
            }
        }
    }

    /// Runs IO until `done` holds or `timeout` passes.
    fn pump_until(&mut self, timeout: Duration, mut done: impl FnMut(&Self) -> bool) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            self.pump();
        }
    }

    fn check(&mut self, what: String, ok: bool) -> Result<(), String> {
        super::record_check(&mut self.checks, what, ok)
    }

    fn logon(&mut self, mode: ConnectMode) -> Result<(), String> {
        self.connect(mode)?;
        let timeout = self.t.step_timeout;
        let ok = self.pump_until(timeout, |r| {
            r.broken.is_some()
                || r.session.state() == crate::ilink3::session::FixpState::Established
        });
        if let Some(why) = self.broken.clone() {
            return self.check(format!("logon refused: {why}"), false);
        }
        let secs = timeout.as_secs();
        let what = if ok {
            "session established".to_string()
        } else {
            format!("no EstablishmentAck504 within {secs} s")
        };
        self.check(what, ok)
    }

    /// Waits until the certification cap lets one more business message go.
    fn pace(&mut self) {
        if let Some(&last) = self.sends.last() {
            let gap = Duration::from_nanos(1000 * MS / CERT_MAX_PER_SECOND as u64);
            let until = last + gap;
            while Instant::now() < until {
                self.pump();
            }
        }
    }

    fn send(&mut self, m: Msg) -> Result<(), String> {
        self.pace();
        let t = self.t;
        let ins = &t.instrument;
        let price = |ticks: i64| ins.price + ticks * ins.tick;
        let order_id = |id: u64| self.order_ids.get(&id).copied();
        let need_id = |id: u64| {
            order_id(id).ok_or_else(|| format!("no OrderID known for {} (no ack)", cl(id)))
        };
        let party = t.party;
        let wall = Self::now().wall.0;
        let (sender, loc) = (t.sender_id.as_str(), t.location.as_str());
        let r = match m {
            Msg::New(o) => {
                let sec = if o.other {
                    ins.other_security_id
                } else {
                    ins.security_id
                };
                let px = (o.ord_type != MARKET_LIMIT).then(|| price(o.ticks));
                let expire = (o.tif == GTD).then_some((wall / 86_400_000_000_000) as u16);
                self.session.send_business(Self::now(), |seq, _, buf| {
                    let mut w = NewOrderSingleWriter::new(buf)?;
                    w.set_sender_id(sender)?
                        .set_cl_ord_id(cl(o.id))?
                        .set_location(loc)?;
                    w.set_price(px)
                        .set_stop_px(o.stop_ticks.map(price))
                        .set_order_qty(o.qty)
                        .set_min_qty(o.min_qty)
                        .set_security_id(sec)
                        .set_side(o.side)
                        .set_ord_type(o.ord_type)
                        .set_time_in_force(Some(o.tif))
                        .set_expire_date(expire)
                        .set_seq_num(seq)
                        .set_sending_time_epoch(wall)
                        .set_party_details_list_req_id(o.party.unwrap_or(party))
                        .set_order_request_id(o.id);
                    Ok(w.finish())
                })
            }
            Msg::Replace {
                id,
                ticks,
                qty,
                with_order_id,
            } => {
                let oid = if with_order_id {
                    Some(need_id(id)?)
                } else {
                    None
                };
                self.session.send_business(Self::now(), |seq, _, buf| {
                    let mut w = OrderCancelReplaceRequestWriter::new(buf)?;
                    w.set_sender_id(sender)?
                        .set_cl_ord_id(cl(id))?
                        .set_location(loc)?;
                    w.set_price(Some(price(ticks)))
                        .set_order_qty(qty)
                        .set_security_id(ins.security_id)
                        .set_side(BUY)
                        .set_order_id(oid)
                        .set_ord_type(LIMIT)
                        .set_time_in_force(Some(DAY))
                        .set_seq_num(seq)
                        .set_sending_time_epoch(wall)
                        .set_party_details_list_req_id(party)
                        .set_order_request_id(id + 100);
                    Ok(w.finish())
                })
            }
            Msg::Cancel { id, with_order_id } => {
                let oid = if with_order_id {
                    Some(need_id(id)?)
                } else {
                    None
                };
                let side = self.side_of(id).unwrap_or(BUY);
                self.session.send_business(Self::now(), |seq, _, buf| {
                    let mut w = OrderCancelRequestWriter::new(buf)?;
                    w.set_sender_id(sender)?
                        .set_cl_ord_id(cl(id))?
                        .set_location(loc)?;
                    w.set_order_id(oid)
                        .set_security_id(ins.security_id)
                        .set_side(side)
                        .set_seq_num(seq)
                        .set_sending_time_epoch(wall)
                        .set_party_details_list_req_id(party)
                        .set_order_request_id(id + 200);
                    Ok(w.finish())
                })
            }
            Msg::Status { id } => {
                let oid = need_id(id)?;
                self.session.send_business(Self::now(), |seq, _, buf| {
                    let mut w = OrderStatusRequestWriter::new(buf)?;
                    w.set_sender_id(sender)?.set_location(loc)?;
                    w.set_order_id(oid)
                        .set_seq_num(seq)
                        .set_sending_time_epoch(wall)
                        .set_party_details_list_req_id(party);
                    Ok(w.finish())
                })
            }
            Msg::Mass { scope } => {
                let group = if scope == 10 {
                    ins.security_group.as_str()
                } else {
                    ""
                };
                self.session.send_business(Self::now(), |seq, _, buf| {
                    let mut w = OrderMassActionRequestWriter::new(buf)?;
                    w.set_sender_id(sender)?
                        .set_location(loc)?
                        .set_security_group(group)?;
                    w.set_mass_action_scope(scope)
                        .set_market_segment_id((scope == 9).then_some(ins.market_segment_id))
                        .set_security_id((scope == 1).then_some(ins.other_security_id))
                        .set_seq_num(seq)
                        .set_sending_time_epoch(wall)
                        .set_party_details_list_req_id(party)
                        .set_order_request_id(99);
                    Ok(w.finish())
                })
            }
            Msg::Mosr => self.session.send_business(Self::now(), |seq, _, buf| {
                let mut w = OrderMassStatusRequestWriter::new(buf)?;
                w.set_sender_id(sender)?.set_location(loc)?;
                w.set_mass_status_req_id(77)
                    .set_mass_status_req_type(100)
                    .set_market_segment_id(Some(ins.market_segment_id))
                    .set_seq_num(seq)
                    .set_sending_time_epoch(wall)
                    .set_party_details_list_req_id(party);
                Ok(w.finish())
            }),
            Msg::Party { id, smp } => self.session.send_business(Self::now(), |seq, _, buf| {
                let mut w = PartyDetailsDefinitionRequestWriter::new(buf)?;
                w.set_memo("cert")?;
                w.set_party_details_list_req_id(id)
                    .set_sending_time_epoch(wall)
                    .set_list_update_action(b'A')
                    .set_seq_num(seq)
                    .set_self_match_prevention_id(smp.map(|s| s.0))
                    .set_self_match_prevention_instruction(smp.map(|s| s.1));
                Ok(w.finish())
            }),
            Msg::SecDef { req, valid } => {
                // An unknown leg (SecurityID 777 is no listed instrument) gets the reject.
                let leg2 = if valid { ins.other_security_id } else { 777 };
                let legs = [(ins.security_id, BUY), (leg2, SELL)];
                self.session.send_business(Self::now(), |seq, _, buf| {
                    let mut w = SecurityDefinitionRequestWriter::with_counts(buf, [2, 0])?;
                    for (i, &(sec, side)) in legs.iter().enumerate() {
                        if let Some(mut l) = w.leg_mut(i) {
                            l.set_leg_security_id(sec)
                                .set_leg_side(side)
                                .set_leg_ratio_qty(Some(1));
                        }
                    }
                    w.set_sender_id(sender)?
                        .set_location(loc)?
                        .set_security_sub_type("COMBO")?;
                    w.set_party_details_list_req_id(party)
                        .set_security_req_id(req)
                        .set_seq_num(seq)
                        .set_sending_time_epoch(wall);
                    Ok(w.finish())
                })
            }
        };
        r.map_err(|e: crate::ilink3::session::SessionError| format!("send: {e}"))?;
        self.sends.push(Instant::now());
        self.flush_tx();
        Ok(())
    }

    /// The side of order `id` from the NewOrderSingle we sent for it.
    fn side_of(&self, id: u64) -> Option<u8> {
        let want = format!("ClOrdID={} ", cl(id));
        self.lines
            .iter()
            .find(|l| {
                l.dir == Dir::Sent
                    && l.text.starts_with("NewOrderSingle514")
                    && format!("{} ", l.text).contains(&want)
            })
            .and_then(|l| {
                l.text
                    .split(' ')
                    .find_map(|kv| kv.strip_prefix("Side="))
                    .and_then(|v| v.parse().ok())
            })
    }

    /// The first received, not yet used frame of `t` (of order `cl`).
    fn find(&self, t: u16, want: Option<&str>) -> Option<usize> {
        (0..self.received.len()).find(|&i| {
            !self.used[i]
                && template(&self.received[i]) == t
                && want.is_none_or(|c| field(&self.received[i], "ClOrdID").as_deref() == Some(c))
        })
    }

    fn expect(
        &mut self,
        t: u16,
        cl_id: Option<u64>,
        ask: &[&str],
        cme: Option<&str>,
    ) -> Result<(), String> {
        let m = message_name(t);
        let want = cl_id.map(cl);
        let secs = self.t.step_timeout.as_secs();
        let of = want
            .as_deref()
            .map(|c| format!(" for {c}"))
            .unwrap_or_default();
        if let Some(what) = cme {
            self.say(&format!(
                "In AutoCert+, {what}; waiting up to {secs} s for {m}{of}"
            ));
        }
        let timeout = self.t.step_timeout;
        let w = want.clone();
        let done = |r: &Self| {
            r.find(t, w.as_deref()).is_some() || (t != 521 && r.find(521, None).is_some())
        };
        let found = if cme.is_some() {
            self.await_tool(timeout, done)
        } else {
            self.pump_until(timeout, done)
        };
        if t != 521 {
            if let Some(i) = self.find(521, None) {
                self.used[i] = true;
                let text = field(&self.received[i], "Text").unwrap_or_default();
                let reason = field(&self.received[i], "BusinessRejectReason").unwrap_or_default();
                return self.check(
                    format!(
                        "{m}{of} expected, got BusinessReject521 BusinessRejectReason={reason} \
                         Text={text}"
                    ),
                    false,
                );
            }
        }
        let Some(i) = self.find(t, want.as_deref()).filter(|_| found) else {
            let why = self
                .broken
                .clone()
                .map(|b| format!(" ({b})"))
                .unwrap_or_default();
            return self.check(format!("no {m}{of} within {secs} s{why}"), false);
        };
        self.used[i] = true;
        let f = self.received[i].clone();
        if t == 522 || t == 531 {
            if let (Some(c), Some(id)) = (
                field(&f, "ClOrdID"),
                field(&f, "OrderID").and_then(|v| v.parse().ok()),
            ) {
                if let Some(n) = c.strip_prefix("CERT").and_then(|n| n.parse().ok()) {
                    self.order_ids.insert(n, id);
                }
            }
        }
        self.say(&format!("received {m}{of}"));
        self.check(format!("{m}{of} received"), true)?;
        for name in ask {
            let v = field(&f, name).or_else(|| constant(t, name).map(String::from));
            let a = answer(name, v.as_deref());
            self.say(&format!("  {a}"));
            self.checks.push(Check {
                what: format!("{m}{of}: {a}"),
                ok: true,
            });
        }
        Ok(())
    }

    /// Waits for CME's tool like [`Run::pump_until`]; when the gateway drops the connection
    /// meanwhile (a fail-over, a primary enforcement test), reconnects, at most once a second,
    /// alternating backup and primary, and Establishes the same UUID (binding without
    /// initialization).
    fn await_tool(&mut self, timeout: Duration, done: impl Fn(&Self) -> bool) -> bool {
        let end = Instant::now() + timeout;
        let mut next_try = Instant::now() + Duration::from_secs(1);
        let mut to_backup = true;
        loop {
            if done(self) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            if self.stream.is_none() && Instant::now() >= next_try {
                let addr = match (to_backup, self.t.backup) {
                    (true, Some(b)) => b,
                    _ => self.t.addr,
                };
                to_backup = !to_backup;
                next_try = Instant::now() + Duration::from_secs(1);
                self.say(&format!(
                    "the gateway closed the connection: reconnecting to {addr} (Establish, same \
                     UUID)"
                ));
                if let Err(e) = self.connect_to(addr, ConnectMode::Auto) {
                    self.say(&format!("{e}; trying again in 1 s"));
                    self.broken = Some(e);
                }
            }
            self.pump();
        }
    }

    fn terminate(&mut self) -> Result<(), String> {
        self.session
            .terminate(Self::now(), 0)
            .map_err(|e| format!("terminate: {e}"))?;
        self.flush_tx();
        Ok(())
    }

    fn step(&mut self, s: &Step) -> Result<(), String> {
        match s {
            Step::Logon => self.logon(ConnectMode::NewUuid),
            Step::Relogon => {
                self.terminate()?;
                let timeout = self.t.step_timeout;
                self.pump_until(timeout, |r| r.stream.is_none());
                self.disconnect();
                self.logon(ConnectMode::NewUuid)
            }
            Step::Send(m) => self.send(*m),
            Step::Expect {
                template,
                cl,
                ask,
                cme,
            } => self.expect(*template, *cl, ask, *cme),
            Step::Terminate => self.terminate(),
        }
    }

    /// Leaves the gateway politely: Terminate, then wait a little for CME's.
    fn finish(&mut self) {
        if self.stream.is_some()
            && self.session.state() == crate::ilink3::session::FixpState::Established
        {
            let _ = self.terminate();
            self.pump_until(Duration::from_secs(2), |r| r.stream.is_none());
        }
        self.disconnect();
    }

    fn check_rate(&mut self) -> Result<(), String> {
        let worst = (0..self.sends.len())
            .map(|i| {
                self.sends[i..]
                    .iter()
                    .take_while(|&&u| u < self.sends[i] + Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap_or(0);
        self.check(
            format!("at most {CERT_MAX_PER_SECOND} messages/second (peak {worst})"),
            worst <= CERT_MAX_PER_SECOND,
        )
    }
}

/// Runs scenario `s` against the target, printing instructions and answers to `out`.
pub fn run_guided(s: &Scenario, t: &Target, out: &mut dyn Write) -> Result_ {
    let Some(steps) = script(s.name) else {
        return super::guided_dc::run_guided_dc(s, t.dropcopy.as_ref(), out);
    };
    let _ = writeln!(out, "== {} ({})", s.name, s.suite);
    let mut run = Run::new(t, out);
    let r = steps
        .iter()
        .try_for_each(|st| run.step(st))
        .and_then(|()| run.check_rate());
    run.finish();
    Result_::of(s, r, run.lines, run.checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ilink3_scenario_has_a_guided_script_and_drop_copy_none() {
        for s in super::super::scenarios() {
            let has = script(s.name).is_some();
            assert_eq!(has, s.suite != "Drop Copy 4.0", "{}", s.name);
        }
    }

    #[test]
    fn answers_name_the_meaning_and_prices_as_decimals() {
        assert_eq!(
            answer("OrdStatus", Some("2")),
            "Q: OrdStatus? A: 2 (Filled)"
        );
        assert_eq!(
            answer("LastPx", Some("4500250000000")),
            "Q: LastPx? A: 4500250000000 (4500.25)"
        );
        assert_eq!(answer("CumQty", None), "Q: CumQty? A: (not set)");
        assert_eq!(
            answer("MassActionResponse", Some("1")),
            "Q: MassActionResponse? A: 1 (Accepted)"
        );
    }
}
