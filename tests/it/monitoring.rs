//! The shipped monitoring: `config/prometheus/ilinkd-alerts.yml` and `config/grafana/ilinkd.json`
//! name only metrics the daemon exports (here against the exporter's rendering of a snapshot
//! with every kind of series; `fleet` checks the same against two running daemons).
//!
//! With `ILINKD_PROMTOOL` set to a `promtool` binary (`.ci/run` sets it), the alert rules and
//! every dashboard query (Grafana variables replaced by `.*`) also go through
//! `promtool check rules`.

use ilinkd::latency::metrics::{
    render, HopLatency, MetricsSnapshot, SessionMetrics, StrategyMetrics, QUANTILES,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const ALERTS: &str = "config/prometheus/ilinkd-alerts.yml";
const DASHBOARD: &str = "config/grafana/ilinkd.json";

fn read(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every `ilinkd_[a-z0-9_]+` name in `text` (not part of a longer word).
fn names_in(text: &str) -> BTreeSet<String> {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = BTreeSet::new();
    let mut i = 0;
    while let Some(off) = text[i..].find("ilinkd_") {
        let start = i + off;
        let mut end = start + "ilinkd_".len();
        while end < b.len()
            && (b[end].is_ascii_lowercase() || b[end].is_ascii_digit() || b[end] == b'_')
        {
            end += 1;
        }
        if (start == 0 || !word(b[start - 1])) && end > start + "ilinkd_".len() {
            out.insert(text[start..end].to_string());
        }
        i = end;
    }
    out
}

/// Every PromQL string of the dashboard: panel targets and template variable queries.
fn dashboard_queries() -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("expr" | "definition", serde_json::Value::String(s)) => {
                            out.push(s.clone())
                        }
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let v: serde_json::Value = serde_json::from_str(&read(DASHBOARD)).expect("dashboard is JSON");
    let mut out = Vec::new();
    walk(&v, &mut out);
    out
}

/// The metrics the alert rules and the dashboard name.
pub fn metrics_used() -> BTreeSet<String> {
    let mut used = names_in(&read(ALERTS));
    for q in dashboard_queries() {
        used.extend(names_in(&q));
    }
    used
}

/// Every sample name the exporter writes, from a snapshot with a session, a strategy, a hop
/// with samples, and one of each per-session counter that only shows once non-zero.
fn exported() -> BTreeSet<String> {
    let snap = MetricsSnapshot {
        daemon: "d".into(),
        uptime_s: 1.0,
        clock: "tsc".into(),
        sessions: vec![SessionMetrics {
            name: "eq".into(),
            kind: "ilink3".into(),
            state: "established".into(),
            established: true,
            ..SessionMetrics::default()
        }],
        strategies: vec![StrategyMetrics {
            name: "s".into(),
            ..StrategyMetrics::default()
        }],
        latency: vec![HopLatency {
            session: "eq".into(),
            hop: "exchange_rtt".into(),
            quantiles: QUANTILES.iter().map(|&q| (q, 1000)).collect(),
            count: 1,
            sum_ns: 1000.0,
        }],
        unhandled: vec![ilinkd::latency::metrics::UnhandledMetrics {
            session: "eq".into(),
            template: 545,
            name: "MassQuoteAck545".into(),
            count: 1,
        }],
        decode_errors: vec![("eq".into(), 1)],
        messaging_control_rejects: vec![("eq".into(), "cancel", 1)],
        restart_unknown_orders: vec![("eq".into(), 1)],
        parties: vec![("eq".into(), "desk1".into(), true)],
        ..MetricsSnapshot::default()
    };
    render(&snap)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn every_metric_the_alerts_and_the_dashboard_use_is_exported() {
    let exported = exported();
    let alerts = names_in(&read(ALERTS));
    let dashboard: BTreeSet<String> = dashboard_queries()
        .iter()
        .flat_map(|q| names_in(q))
        .collect();
    for (what, used) in [(ALERTS, &alerts), (DASHBOARD, &dashboard)] {
        let missing: Vec<&String> = used.iter().filter(|m| !exported.contains(*m)).collect();
        assert!(
            missing.is_empty(),
            "{what} uses metrics the daemon does not export: {missing:?}"
        );
    }
    // The checker sees what the files use (a file it could not read would pass vacuously).
    for m in [
        "ilinkd_session_established",
        "ilinkd_key_days_to_expiry",
        "ilinkd_info",
    ] {
        assert!(alerts.contains(m), "{m} in {ALERTS}: {alerts:?}");
    }
    for m in [
        "ilinkd_session_next_seq_out",
        "ilinkd_session_orders_sent_total",
        "ilinkd_latency_seconds",
        "ilinkd_session_reconnects_total",
    ] {
        assert!(dashboard.contains(m), "{m} in {DASHBOARD}: {dashboard:?}");
    }
}

#[test]
fn the_name_check_finds_a_metric_the_daemon_does_not_export() {
    let used = names_in(
        "expr: rate(ilinkd_no_such_metric_total[5m]) > 0 and on() ilinkd:globex_open\n\
         job=~\"ilinkd.*\" # ilinkd-alerts.yml xilinkd_word",
    );
    assert_eq!(
        used.into_iter().collect::<Vec<_>>(),
        vec!["ilinkd_no_such_metric_total".to_string()]
    );
    assert!(!exported().contains("ilinkd_no_such_metric_total"));
}

#[test]
fn alert_rules_cover_what_the_exporter_can_show() {
    let text = read(ALERTS);
    for alert in [
        "IlinkdSessionNotEstablished",
        "IlinkdSessionReconnecting",
        "IlinkdKeyExpiringSoon",
        "IlinkdKeyExpiring",
        "IlinkdStrategyEventsDropped",
        "IlinkdHistogramHandoverMisses",
        "IlinkdDown",
        "IlinkdMetricsStale",
    ] {
        assert!(text.contains(&format!("- alert: {alert}\n")), "{alert}");
    }
    for expr in [
        "ilinkd_key_days_to_expiry < 28",
        "ilinkd_key_days_to_expiry < 7",
    ] {
        assert!(text.contains(expr), "{expr}");
    }
    // Every dashboard panel queries something.
    let v: serde_json::Value = serde_json::from_str(&read(DASHBOARD)).unwrap();
    let panels = v["panels"].as_array().expect("panels");
    for p in panels.iter().filter(|p| p["type"] != "row") {
        let targets = p["targets"].as_array().map_or(0, |t| {
            t.iter()
                .filter(|t| t["expr"].as_str().is_some_and(|e| !e.is_empty()))
                .count()
        });
        assert!(targets > 0, "panel {} has no query", p["title"]);
    }
}

/// `promtool check rules` on the alert rules and on the dashboard's queries as recording rules,
/// when `ILINKD_PROMTOOL` names a promtool.
#[test]
fn promtool_accepts_the_rules_and_the_dashboard_queries() {
    let Some(promtool) = std::env::var_os("ILINKD_PROMTOOL").map(PathBuf::from) else {
        eprintln!("ILINKD_PROMTOOL not set: promtool checks left to .ci/run");
        return;
    };
    let check = |file: &Path| {
        let o = std::process::Command::new(&promtool)
            .args(["check", "rules"])
            .arg(file)
            .output()
            .expect("run promtool");
        assert!(
            o.status.success(),
            "promtool check rules {}:\n{}{}",
            file.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    };
    check(&Path::new(env!("CARGO_MANIFEST_DIR")).join(ALERTS));
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, q) in dashboard_queries().iter().enumerate() {
        // `label_values(metric, label)` is Grafana's, not PromQL: check its metric selector.
        let q = match q.strip_prefix("label_values(") {
            Some(rest) => rest.rsplit_once(',').map_or(rest, |(m, _)| m).to_string(),
            None => q.clone(),
        };
        let q = q
            .replace("$instance", ".*")
            .replace("$daemon", ".*")
            .replace("$session", ".*")
            .replace("$hop", ".*");
        assert!(!q.contains('$'), "unknown Grafana variable in {q}");
        rules.push_str(&format!(
            "      - record: dashboard:q{i}\n        expr: {}\n",
            serde_json::to_string(&q).unwrap()
        ));
    }
    let file = dir.path().join("dashboard-rules.yml");
    std::fs::write(&file, rules).unwrap();
    check(&file);
}
