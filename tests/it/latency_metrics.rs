//! Prometheus metrics: the text parses under a strict reading of the exposition format (0.0.4),
//! the .prom file is replaced atomically, the HTTP endpoint serves it on loopback.

use hdrhistogram::Histogram;
use ilinkd::latency::metrics::{
    render, write_prom_file, LatencyWindow, MetricsServer, MetricsSnapshot, SessionMetrics,
    StrategyMetrics, UnhandledMetrics,
};
use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};

#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn is_name(s: &str, colon: bool) -> bool {
    let mut c = s.chars();
    let ok_first = |ch: char| ch.is_ascii_alphabetic() || ch == '_' || (colon && ch == ':');
    c.next().is_some_and(ok_first)
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || (colon && ch == ':'))
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => s.parse::<f64>().map_err(|_| format!("bad value {s:?}")),
    }
}

/// Labels `{a="x",b="y"}`: returns the map and the rest of the line.
fn parse_labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = s.strip_prefix('{').ok_or("expected {")?;
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !is_name(name, false) || name.starts_with("__") {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value without quote")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((_, '\n')) => return Err("newline in label value".into()),
                Some((_, c)) => value.push(c),
            }
        };
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("duplicate label {name}"));
        }
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err("expected , or }".into());
        }
    }
}

/// A strict parser of the text exposition format: every line is a HELP, TYPE, comment or
/// sample; TYPE comes once per family before its samples; a family's samples are contiguous;
/// summary samples are the base name (with a quantile label), `_sum` or `_count`.
fn parse(text: &str) -> Result<Vec<Sample>, String> {
    if !text.ends_with('\n') {
        return Err("no final newline".into());
    }
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps = HashSet::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let err = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            let c = c.strip_prefix(' ').unwrap_or(c);
            let mut parts = c.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                // Guards record the name as they check it (a second HELP/TYPE is refused).
                (Some("HELP"), Some(name), _)
                    if !is_name(name, true) || !helps.insert(name.to_string()) =>
                {
                    return Err(err("bad or repeated HELP".into()));
                }
                (Some("TYPE"), Some(name), Some(kind))
                    if !is_name(name, true)
                        || !["counter", "gauge", "histogram", "summary", "untyped"]
                            .contains(&kind)
                        || types.insert(name.to_string(), kind.to_string()).is_some()
                        || out.iter().any(|s: &Sample| family(&s.name, &types) == name) =>
                {
                    return Err(err("bad, repeated or late TYPE".into()));
                }
                (Some("HELP" | "TYPE"), None, _) | (Some("TYPE"), _, None) => {
                    return Err(err("incomplete HELP/TYPE".into()));
                }
                _ => {}
            }
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| err("no value".into()))?;
        let name = &line[..name_end];
        if !is_name(name, true) {
            return Err(err("bad metric name".into()));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).map_err(err)?
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| err("no space before value".into()))?;
        let mut fields = rest.split(' ');
        let value = parse_value(fields.next().unwrap_or("")).map_err(err)?;
        if let Some(ts) = fields.next() {
            ts.parse::<i64>().map_err(|_| err("bad timestamp".into()))?;
        }
        if fields.next().is_some() {
            return Err(err("trailing fields".into()));
        }
        let fam = family(name, &types).to_string();
        if current.as_deref() != Some(fam.as_str()) {
            if let Some(prev) = current.take() {
                finished.insert(prev);
            }
            if finished.contains(&fam) {
                return Err(err(format!("family {fam} not contiguous")));
            }
            current = Some(fam.clone());
        }
        match types.get(&fam).map(String::as_str) {
            Some("summary") => {
                if name == fam {
                    let q = labels
                        .get("quantile")
                        .ok_or_else(|| err("no quantile".into()))?;
                    let q = parse_value(q).map_err(err)?;
                    if !(0.0..=1.0).contains(&q) {
                        return Err(err("quantile out of range".into()));
                    }
                } else if labels.contains_key("quantile") {
                    return Err(err("quantile label on _sum/_count".into()));
                }
            }
            Some("counter") if value < 0.0 => return Err(err("negative counter".into())),
            None => return Err(err("sample without TYPE".into())),
            _ => {}
        }
        if !seen.insert((name.to_string(), format!("{labels:?}"))) {
            return Err(err("duplicate series".into()));
        }
        out.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(out)
}

fn family<'a>(name: &'a str, types: &BTreeMap<String, String>) -> &'a str {
    for suffix in ["_sum", "_count", "_bucket"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if matches!(
                types.get(base).map(String::as_str),
                Some("summary" | "histogram")
            ) {
                return base;
            }
        }
    }
    name
}

fn snapshot() -> MetricsSnapshot {
    let mut window = LatencyWindow::new();
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    for v in 1..=1000u64 {
        h.record(v * 1_000).unwrap(); // 1 µs .. 1 ms
    }
    window.add("cme-eq.exchange_rtt", &h);
    window.add("cme-eq.order_path", &h);
    MetricsSnapshot {
        daemon: "ilinkd \"colo\"\\1".into(),
        uptime_s: 12.5,
        clock: "tsc".into(),
        sessions: vec![
            SessionMetrics {
                name: "cme-eq".into(),
                kind: "ilink3".into(),
                state: "established".into(),
                established: true,
                next_seq_out: 1201,
                next_seq_in: 977,
                orders_sent: 1200,
                messages_lost: 0,
                events_received: 2400,
                reconnects: 1,
                key_days_to_expiry: 23,
                throttled_until_unix_s: Some(1_795_012_325.0),
                last_reject_code: Some(0),
            },
            SessionMetrics {
                name: "dc\nnewline".into(),
                kind: "dropcopy".into(),
                state: "logon_sent".into(),
                key_days_to_expiry: -2,
                ..SessionMetrics::default()
            },
        ],
        strategies: vec![StrategyMetrics {
            name: "mm1".into(),
            orders_in: 1300,
            risk_rejects: 100,
            events_out: 2400,
            events_dropped: 0,
        }],
        latency: window.roll(),
        handover_misses: 3,
        unhandled: vec![UnhandledMetrics {
            session: "cme-eq".into(),
            template: 524,
            name: "ExecutionReportElimination524".into(),
            count: 17,
        }],
        decode_errors: vec![("cme-eq".into(), 2)],
        reconcile: ilinkd::latency::metrics::ReconcileMetrics {
            unmatched_ilink3: 1,
            unmatched_dropcopy: 0,
            matched: 40,
            dropped: 3,
        },
        messaging_control_rejects: vec![("cme-eq".into(), "cancel", 4)],
        kill_switches: vec![("strategy".into(), "mm1".into())],
        ..MetricsSnapshot::default()
    }
}

fn find<'a>(s: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> &'a Sample {
    s.iter()
        .find(|x| {
            x.name == name
                && labels
                    .iter()
                    .all(|(k, v)| x.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no {name} {labels:?}"))
}

#[test]
fn rendered_metrics_parse_strictly_and_carry_the_values() {
    let text = render(&snapshot());
    let samples = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        find(
            &samples,
            "ilinkd_session_next_seq_out",
            &[("session", "cme-eq")]
        )
        .value,
        1201.0
    );
    assert_eq!(
        find(
            &samples,
            "ilinkd_key_days_to_expiry",
            &[("session", "dc\nnewline")]
        )
        .value,
        -2.0
    );
    assert_eq!(
        find(
            &samples,
            "ilinkd_session_state",
            &[("session", "cme-eq"), ("state", "established")]
        )
        .value,
        1.0
    );
    assert_eq!(
        find(
            &samples,
            "ilinkd_strategy_orders_total",
            &[("strategy", "mm1")]
        )
        .value,
        1300.0
    );
    assert_eq!(
        find(&samples, "ilinkd_info", &[("daemon", "ilinkd \"colo\"\\1")]).value,
        1.0
    );
    let p99 = find(
        &samples,
        "ilinkd_latency_seconds",
        &[("hop", "exchange_rtt"), ("quantile", "0.99")],
    );
    assert!((p99.value - 990e-6).abs() < 1e-6, "{}", p99.value);
    let count = find(
        &samples,
        "ilinkd_latency_seconds_count",
        &[("hop", "order_path")],
    );
    assert_eq!(count.value, 1000.0);
    let sum = find(
        &samples,
        "ilinkd_latency_seconds_sum",
        &[("hop", "order_path")],
    );
    assert!((sum.value - 0.5005).abs() < 0.001, "{}", sum.value);
    assert_eq!(
        find(&samples, "ilinkd_latency_handover_misses_total", &[]).value,
        3.0
    );
    assert_eq!(
        find(
            &samples,
            "ilinkd_unhandled_messages_total",
            &[
                ("session", "cme-eq"),
                ("template", "524"),
                ("name", "ExecutionReportElimination524")
            ]
        )
        .value,
        17.0
    );
    assert_eq!(
        find(
            &samples,
            "ilinkd_inbound_decode_errors_total",
            &[("session", "cme-eq")]
        )
        .value,
        2.0
    );
    assert_eq!(
        find(
            &samples,
            "ilinkd_messaging_control_rejects_total",
            &[("session", "cme-eq"), ("kind", "cancel")]
        )
        .value,
        4.0
    );
    assert_eq!(
        find(&samples, "ilinkd_reconcile_copies_dropped_total", &[]).value,
        3.0
    );
    for (scope, target, v) in [("strategy", "mm1", 1.0), ("all", "*", 0.0)] {
        assert_eq!(
            find(
                &samples,
                "ilinkd_kill_switch_engaged",
                &[("scope", scope), ("target", target)]
            )
            .value,
            v
        );
    }
}

#[test]
fn the_strict_parser_refuses_what_prometheus_refuses() {
    for bad in [
        "x 1",                                                      // no final newline
        "# TYPE x gauge\nx{a=\"1\" 1\n",                            // unterminated labels
        "# TYPE x gauge\nx{a=1} 1\n",                               // unquoted value
        "# TYPE x gauge\nx 1 2 3\n",                                // trailing field
        "# TYPE x gauge\nx one\n",                                  // not a number
        "x 1\n",                                                    // no TYPE
        "# TYPE x counter\nx -1\n",                                 // negative counter
        "# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\nx{a=\"b\"} 2\n", // not contiguous
        "# TYPE s summary\ns 1\n", // summary sample without quantile
        "# TYPE x gauge\nx{a=\"\\q\"} 1\n", // bad escape
        "# TYPE 1x gauge\n",       // bad name
        "# TYPE x\nx 1\n",         // TYPE without a type
    ] {
        assert!(parse(bad).is_err(), "accepted {bad:?}");
    }
    assert!(parse("# HELP x h\n# TYPE x gauge\nx{a=\"\\\"\\n\"} +Inf\n").is_ok());
}

#[test]
fn the_prom_file_is_replaced_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ilinkd.prom");
    std::fs::write(&path, "old").unwrap();
    let text = render(&snapshot());
    write_prom_file(&path, &text).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    // Nothing else left in the folder (the temporary file was renamed over the target).
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("ilinkd.prom")]);
    assert!(write_prom_file(&dir.path().join("missing/x.prom"), &text).is_err());
}

/// One request on its own connection (`Connection: close`: the server keeps HTTP/1.1
/// connections open otherwise).
fn request(addr: std::net::SocketAddr, method: &str, path: &str) -> String {
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    write!(
        c,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut s = String::new();
    c.read_to_string(&mut s).unwrap();
    s
}

fn get(addr: std::net::SocketAddr, path: &str) -> String {
    request(addr, "GET", path)
}

#[test]
fn the_http_endpoint_serves_the_published_text_on_loopback() {
    let server = MetricsServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.local_addr();
    assert!(addr.ip().is_loopback());
    assert!(get(addr, "/metrics").starts_with("HTTP/1.1 200 OK\r\n"));
    let text = render(&snapshot());
    server.publish(text.clone());
    let resp = get(addr, "/metrics");
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(resp.contains("Content-Type: text/plain; version=0.0.4"));
    assert!(resp.contains(&format!("Content-Length: {}\r\n", text.len())));
    let body = resp.split("\r\n\r\n").nth(1).unwrap();
    assert_eq!(body, text);
    let query = get(addr, "/metrics?name[]=ilinkd_info");
    assert_eq!(query.split("\r\n\r\n").nth(1), Some(text.as_str()));
    let head = request(addr, "HEAD", "/metrics");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(head.split("\r\n\r\n").nth(1), Some(""));
    assert!(get(addr, "/").starts_with("HTTP/1.1 404"));
    assert!(get(addr, "/metricsx").starts_with("HTTP/1.1 404"));
    assert!(request(addr, "POST", "/metrics").starts_with("HTTP/1.1 405"));
    // A keep-alive client gets a second answer on the same connection.
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    write!(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    write!(
        c,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut s = String::new();
    c.read_to_string(&mut s).unwrap();
    assert_eq!(s.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{s}");
    drop(server);
    // tiny_http's accept thread closes the socket once woken by the drop: wait for it, with a
    // bound (a listener left open fails the test).
    let mut tries = 0;
    while std::net::TcpStream::connect(addr).is_ok() {
        tries += 1;
        assert!(tries < 500, "still listening after drop");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
