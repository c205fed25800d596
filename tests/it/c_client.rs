//! The C client (`include/ilinkd.h`) against the Rust daemon side: compiles
//! `examples/c/strategy.c`, checks that its struct layout equals the Rust one, then runs it
//! against a segment created here as the daemon would and checks both directions.

use ilinkd::shm::strategy::{
    DeathCause, Event, EventKind, Liveness, MassScope, OrdType, Order, Problem, RecordError,
    RejectReason, RequestBody, SegmentOptions, Side, StrategySegment, Text, TimeInForce, LAYOUT,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Compiles the example; `None` (after a loud message) only if no C compiler exists.
fn compile(out_dir: &Path) -> Option<PathBuf> {
    let candidates: Vec<String> = std::env::var("CC")
        .ok()
        .into_iter()
        .chain(["cc".to_string(), "gcc".to_string(), "clang".to_string()])
        .collect();
    let Some(cc) = candidates.iter().find(|cc| {
        Command::new(cc)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }) else {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! SKIPPING the C client test: no C compiler found (tried {candidates:?}) !!!\n\
             !!! include/ilinkd.h and examples/c/strategy.c are NOT tested here.      !!!\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        return None;
    };
    let exe = out_dir.join("strategy");
    let out = Command::new(cc)
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-O2",
            "-I",
        ])
        .arg(Path::new(ROOT).join("include"))
        .arg(Path::new(ROOT).join("examples/c/strategy.c"))
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run the C compiler");
    assert!(
        out.status.success(),
        "{cc} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(exe)
}

#[test]
fn c_client_matches_layout_and_talks_to_the_daemon() {
    let _g = crate::heavy();
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = compile(dir.path()) else {
        return;
    };

    // 1. Layout: every sizeof/offsetof the C header gives equals the Rust figure.
    let out = Command::new(&exe).arg("--layout").output().unwrap();
    assert!(out.status.success());
    let c_layout: BTreeMap<String, usize> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').expect("name value");
            (k.to_string(), v.parse().expect("a number"))
        })
        .collect();
    let rust_layout: BTreeMap<String, usize> =
        LAYOUT.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(c_layout, rust_layout, "C and Rust layouts differ");

    // 2. Run the C strategy against a segment the "daemon" (this test) serves.
    const N: u64 = 6;
    let path = dir.path().join("ilinkd-strategy-cdemo");
    let mut seg = StrategySegment::create(
        &path,
        &SegmentOptions {
            name: "cdemo".into(),
            sessions: 2,
            // Smaller than the C program's burst: it has to retry on Full.
            request_capacity: 4,
            event_capacity: 64,
            group: None,
        },
    )
    .unwrap();
    // N acks + invalid-order reject + cancelled + replaced + mass cancel ack + fill.
    let n_events = N + 5;
    let mut child = Command::new(&exe)
        .arg(&path)
        .arg(N.to_string())
        .arg(n_events.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let start = Instant::now();
    let limit = Duration::from_secs(30);
    let mut requests = Vec::new();
    let mut errors = Vec::new();
    let mut attached = None;
    while requests.len() + errors.len() < (N + 4) as usize {
        assert!(
            start.elapsed() < limit,
            "C client sent only {requests:?} {errors:?}"
        );
        if attached.is_none() {
            attached = seg.check_strategy(start.elapsed().as_nanos() as u64, u64::MAX);
        }
        match seg.poll_request() {
            Some(Ok(r)) => requests.push(r),
            Some(Err(e)) => errors.push(e),
            None => std::thread::sleep(Duration::from_micros(100)),
        }
    }
    assert_eq!(attached, Some(Liveness::Attached { pid: child.id() }));
    let now = ilinkd::client::now_ns();
    for r in &requests {
        assert!(r.enqueue_ns > 0 && r.enqueue_ns <= now, "{r:?}");
    }
    let ids: Vec<u64> = requests.iter().map(|r| r.request_id).collect();
    assert_eq!(
        ids,
        [1, 2, 3, 4, 5, 6, 8, 9, 10],
        "request ids = ring index + 1"
    );
    for (i, r) in requests.iter().take(N as usize).enumerate() {
        let i32_ = i as i32;
        assert_eq!(
            r.body,
            RequestBody::NewOrder(Order {
                session: 0,
                security_id: 1000 + i32_,
                side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
                qty: i as u32 + 1,
                price: Some((100 + i as i64) * 1_000_000_000),
                ord_type: OrdType::Limit,
                tif: TimeInForce::Day,
                stop_px: None,
                min_qty: None,
                display_qty: None,
                expire_date: None,
            })
        );
    }
    let tail = &requests[N as usize..];
    assert_eq!(
        tail[0].body,
        RequestBody::Cancel {
            session: 0,
            order_id: 1
        }
    );
    assert_eq!(
        tail[1].body,
        RequestBody::Replace {
            order_id: 2,
            order: Order {
                session: 0,
                security_id: 1001,
                side: Side::Sell,
                qty: 12,
                price: Some(101_250_000_000),
                ord_type: OrdType::Limit,
                tif: TimeInForce::Day,
                stop_px: None,
                min_qty: None,
                display_qty: None,
                expire_date: None,
            }
        }
    );
    assert_eq!(
        tail[2].body,
        RequestBody::MassCancel {
            session: 1,
            security_id: None,
            side: None,
            scope: MassScope::Default,
            ord_type: None,
            tif: None,
        }
    );
    assert_eq!(errors.len(), 1);
    let invalid = errors[0];
    assert!(matches!(
        invalid,
        RecordError::Invalid {
            index: 6,
            request_id: 7,
            problem: Problem::ZeroQty,
            ..
        }
    ));

    // Answer: an ack per order, the reject, then cancel / replace / mass cancel / a fill.
    let mut events: Vec<Event> = requests
        .iter()
        .take(N as usize)
        .map(|r| Event {
            request_id: r.request_id,
            order_id: r.request_id,
            exchange_order_id: 5000 + r.request_id,
            request_enqueue_ns: r.enqueue_ns,
            ..Event::new(EventKind::Ack)
        })
        .collect();
    events.push(invalid.reject_event(now).unwrap());
    events.push(Event {
        request_id: tail[0].request_id,
        order_id: 1,
        exchange_order_id: 5001,
        ..Event::new(EventKind::Cancelled)
    });
    events.push(Event {
        request_id: tail[1].request_id,
        order_id: 2,
        exchange_order_id: 5002,
        ..Event::new(EventKind::Replaced)
    });
    events.push(Event {
        request_id: tail[2].request_id,
        count: 3,
        text: Text::new("mass cancel done"),
        ..Event::new(EventKind::MassCancelAck)
    });
    events.push(Event {
        order_id: 3,
        exchange_order_id: 5003,
        last_qty: 2,
        last_px: Some(-250_000_000),
        ..Event::new(EventKind::Fill)
    });
    assert_eq!(events.len() as u64, n_events);
    for e in &events {
        seg.push_event(e).unwrap();
    }

    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            panic!("C client did not finish");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.success(),
        "C client failed ({status}):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("attached name=cdemo sessions=2"),
        "{stdout}"
    );
    let got: Vec<&str> = stdout.lines().filter(|l| l.starts_with("event ")).collect();
    assert_eq!(got.len() as u64, n_events, "{stdout}");
    for (line, e) in got.iter().zip(&events) {
        let field = |name: &str| -> String {
            let key = format!("{name}=");
            line.split(' ')
                .find_map(|w| w.strip_prefix(key.as_str()))
                .unwrap_or_else(|| panic!("{name} missing in {line}"))
                .to_string()
        };
        assert_eq!(field("kind"), e.kind.code().to_string(), "{line}");
        assert_eq!(field("request_id"), e.request_id.to_string(), "{line}");
        assert_eq!(field("order_id"), e.order_id.to_string(), "{line}");
        assert_eq!(
            field("reason"),
            e.reason.map_or(0, RejectReason::code).to_string(),
            "{line}"
        );
        assert_eq!(field("exchange_order_id"), e.exchange_order_id.to_string());
        assert_eq!(field("count"), e.count.to_string());
        assert_eq!(
            field("request_enqueue_ns"),
            e.request_enqueue_ns.to_string()
        );
        if e.kind == EventKind::Fill {
            assert_eq!(
                (field("last_qty"), field("last_px")),
                ("2".into(), "-250000000".into())
            );
        }
    }
    assert!(
        got[N as usize].contains("text=quantity is 0"),
        "{}",
        got[N as usize]
    );
    assert!(stdout.contains("text=mass cancel done"), "{stdout}");
    assert!(stdout.contains(&format!("done events={n_events}")));
    // It heartbeated, then detached on exit.
    assert_ne!(seg.strategy_heartbeat_ns(), 0);
    assert_eq!(
        seg.check_strategy(start.elapsed().as_nanos() as u64, u64::MAX),
        Some(Liveness::Died {
            pid: out_pid(&attached),
            cause: DeathCause::Detached
        })
    );
}

fn out_pid(a: &Option<Liveness>) -> u32 {
    match a {
        Some(Liveness::Attached { pid }) => *pid,
        other => panic!("{other:?}"),
    }
}

/// Every reject reason of `ilinkd::client` has its `ILKD_REASON_*` define in the C header with
/// the same code, and the header defines no code the Rust side does not know.
#[test]
fn the_c_header_reject_reasons_match_the_rust_codes() {
    let header = std::fs::read_to_string(Path::new(ROOT).join("include/ilinkd.h")).unwrap();
    let defines: BTreeMap<u16, String> = header
        .lines()
        .filter_map(|l| l.strip_prefix("#define ILKD_REASON_"))
        .map(|rest| {
            let mut it = rest.split_whitespace();
            let name = it.next().unwrap().to_string();
            let code: u16 = it.next().unwrap().parse().unwrap();
            (code, name)
        })
        .collect();
    for (&code, name) in &defines {
        assert!(
            RejectReason::from_code(code).is_some(),
            "ILKD_REASON_{name} = {code} unknown to the Rust side"
        );
    }
    let rust: Vec<u16> = (1..=u16::MAX)
        .take_while(|&c| c < 1000)
        .filter(|&c| RejectReason::from_code(c).is_some())
        .collect();
    assert_eq!(rust, defines.keys().copied().collect::<Vec<_>>());
    assert_eq!(
        defines
            .get(&RejectReason::PartyNotRegistered.code())
            .map(String::as_str),
        Some("PARTY_NOT_REGISTERED")
    );
}
