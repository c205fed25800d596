//! Prometheus metrics: the daemon fills a [`MetricsSnapshot`] on the housekeeping thread,
//! [`render`] turns it into the text exposition format (0.0.4), [`write_prom_file`] writes it
//! atomically for node_exporter's textfile collector, and [`MetricsServer`] serves it over HTTP
//! (loopback by default).
//!
//! Latency quantiles come from a [`LatencyWindow`]: the interval histograms drained since the
//! previous metrics write (a tumbling window, 10 s by default), so each write shows the
//! quantiles of its own window; `_count` and `_sum` are cumulative, as Prometheus expects.

use super::recorder::IntervalSet;
use super::split_tag;
use hdrhistogram::Histogram;
use std::fmt::Write as _;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The HTTP endpoint's address when `[latency] http_listen` is set without thought: loopback.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:9464";

/// Quantiles exported per hop.
pub const QUANTILES: [f64; 6] = [0.5, 0.9, 0.99, 0.999, 0.9999, 1.0];

/// One session's counters and state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionMetrics {
    /// Session name from the config.
    pub name: String,
    /// `"ilink3"` or `"dropcopy"`.
    pub kind: String,
    /// Session state name (e.g. `"established"`), exported as a label.
    pub state: String,
    /// Whether the session can carry business messages now.
    pub established: bool,
    /// Next outbound sequence number.
    pub next_seq_out: u64,
    /// Next expected inbound sequence number.
    pub next_seq_in: u64,
    /// Orders (new, modify, cancel) sent on this session.
    pub orders_sent: u64,
    /// Business messages received (execution reports, rejects, drop copies).
    pub events_received: u64,
    /// iLink 3 exchange messages recovery gave up (reported to the strategies).
    pub messages_lost: u64,
    /// Reconnects since start.
    pub reconnects: u64,
    /// Days until the active key expires (negative once expired).
    pub key_days_to_expiry: i64,
    /// While four bad logons within 60 s hold the next logon back: until when (Unix seconds).
    pub throttled_until_unix_s: Option<f64>,
    /// CME code of the last refused logon (NegotiationReject, EstablishmentReject, Terminate).
    pub last_reject_code: Option<u16>,
}

/// One strategy attachment's counters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StrategyMetrics {
    /// Strategy name from the config.
    pub name: String,
    /// Requests taken off its ring.
    pub orders_in: u64,
    /// Requests refused by risk checks.
    pub risk_rejects: u64,
    /// Events written to its ring.
    pub events_out: u64,
    /// Events that found its ring full.
    pub events_dropped: u64,
}

/// One hop's latency over the last window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HopLatency {
    /// Session name.
    pub session: String,
    /// Hop name ([`super::Hop::name`]).
    pub hop: String,
    /// (quantile, nanoseconds) over the window; empty when the window had no samples.
    pub quantiles: Vec<(f64, u64)>,
    /// Samples since start.
    pub count: u64,
    /// Sum of samples since start, nanoseconds (from histogram buckets: within 0.1%).
    pub sum_ns: f64,
}

/// Everything exported; the daemon fills it on the housekeeping thread.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricsSnapshot {
    /// `[daemon] name`.
    pub daemon: String,
    /// Seconds since the daemon started.
    pub uptime_s: f64,
    /// Clock the stamps use (`"tsc"` or `"clock_gettime"`).
    pub clock: String,
    /// Sessions.
    pub sessions: Vec<SessionMetrics>,
    /// Strategy attachments.
    pub strategies: Vec<StrategyMetrics>,
    /// Per-hop latency, from [`LatencyWindow::roll`].
    pub latency: Vec<HopLatency>,
    /// Interval swaps that found no empty histogram set (all hot threads).
    pub handover_misses: u64,
    /// Inbound iLink 3 business messages no router code acts on, per session and template.
    pub unhandled: Vec<UnhandledMetrics>,
    /// Inbound iLink 3 business frames that failed to decode: (session, count).
    pub decode_errors: Vec<(String, u64)>,
    /// Requests refused by a session's messaging-control limiter: (session, kind, count).
    pub messaging_control_rejects: Vec<(String, &'static str, u64)>,
    /// Drop Copy ↔ iLink 3 reconciliation.
    pub reconcile: ReconcileMetrics,
    /// Engaged kill switches: (scope `all` | `session` | `strategy`, target).
    pub kill_switches: Vec<(String, String)>,
    /// Order-journal records the hot threads dropped on a full queue (a restart then
    /// restores those orders as of their previous record; the mass status corrects them).
    pub order_changes_dropped: u64,
    /// Orders the mass status after a restart reported open that the daemon did not know:
    /// (session, count).
    pub restart_unknown_orders: Vec<(String, u64)>,
    /// `[[ilink3.party]]` details: (session, party name, usable: accepted by a 519 under the
    /// current UUID or pre-registered).
    pub parties: Vec<(String, String, bool)>,
}

/// Drop Copy ↔ iLink 3 reconciliation counts (zero when it is off).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReconcileMetrics {
    /// iLink 3 reports without a Drop Copy copy past the delay.
    pub unmatched_ilink3: u64,
    /// Drop Copy reports seen on no iLink 3 session past the delay.
    pub unmatched_dropcopy: u64,
    /// Reports matched so far.
    pub matched: u64,
    /// iLink 3 report copies the hot thread dropped because housekeeping's queue was full
    /// (those reports are missing from the match and the exec journal).
    pub dropped: u64,
}

/// Count of one inbound template the daemon received and did not act on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UnhandledMetrics {
    /// Session name.
    pub session: String,
    /// SBE template id.
    pub template: u16,
    /// Schema message name (`"ExecutionReportElimination524"`).
    pub name: String,
    /// Messages received.
    pub count: u64,
}

struct WindowEntry {
    tag: String,
    window: Histogram<u64>,
    count: u64,
    sum_ns: f64,
}

/// Interval histograms accumulated by tag for the metrics window.
#[derive(Default)]
pub struct LatencyWindow {
    entries: Vec<WindowEntry>,
}

impl LatencyWindow {
    /// An empty window.
    pub fn new() -> LatencyWindow {
        LatencyWindow::default()
    }

    /// Adds a drained set (tags from the collector).
    pub fn add_set(&mut self, set: &IntervalSet, tags: &[String]) {
        for (i, h) in set.iter() {
            if let Some(tag) = tags.get(i) {
                self.add(tag, h);
            }
        }
    }

    /// Adds one histogram under a tag.
    pub fn add(&mut self, tag: &str, h: &Histogram<u64>) {
        let sum = h.mean() * h.len() as f64;
        let e = match self.entries.iter().position(|e| e.tag == tag) {
            Some(i) => &mut self.entries[i],
            None => {
                let mut window = Histogram::new_from(h);
                window.auto(true);
                self.entries.push(WindowEntry {
                    tag: tag.to_string(),
                    window,
                    count: 0,
                    sum_ns: 0.0,
                });
                let last = self.entries.len() - 1;
                &mut self.entries[last]
            }
        };
        // Auto-resizing: cannot fail on range.
        let _ = e.window.add(h);
        e.count += h.len();
        e.sum_ns += sum;
    }

    /// Ends the window: returns each tag's quantiles over it (and cumulative count and sum) and
    /// starts the next window empty.
    pub fn roll(&mut self) -> Vec<HopLatency> {
        let mut out: Vec<HopLatency> = self
            .entries
            .iter_mut()
            .map(|e| {
                let (session, hop) = split_tag(&e.tag);
                let quantiles = if e.window.is_empty() {
                    Vec::new()
                } else {
                    QUANTILES
                        .iter()
                        .map(|&q| {
                            let v = if q >= 1.0 {
                                e.window.max()
                            } else {
                                e.window.value_at_quantile(q)
                            };
                            (q, v)
                        })
                        .collect()
                };
                e.window.reset();
                HopLatency {
                    session: session.to_string(),
                    hop: hop.to_string(),
                    quantiles,
                    count: e.count,
                    sum_ns: e.sum_ns,
                }
            })
            .collect();
        out.sort_by(|a, b| (&a.session, &a.hop).cmp(&(&b.session, &b.hop)));
        out
    }
}

/// Escapes a label value: backslash, double quote, newline.
fn label_value(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o
}

fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", label_value(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", float(value));
    }
}

/// Renders the snapshot in the Prometheus text exposition format.
pub fn render(m: &MetricsSnapshot) -> String {
    let mut out = String::new();
    let mut f = Family { out: &mut out };
    let d = m.daemon.as_str();
    f.head(
        "ilinkd_info",
        "gauge",
        "Daemon name and latency clock source (value 1).",
    );
    f.sample("ilinkd_info", &[("daemon", d), ("clock", &m.clock)], 1.0);
    f.head(
        "ilinkd_uptime_seconds",
        "gauge",
        "Seconds since the daemon started.",
    );
    f.sample("ilinkd_uptime_seconds", &[("daemon", d)], m.uptime_s);

    type SessionField = fn(&SessionMetrics) -> f64;
    let session_families: [(&str, &str, &str, SessionField); 11] = [
        (
            "ilinkd_session_throttled_until_seconds",
            "gauge",
            "Unix time until which no logon is tried (four bad logons within 60 s); 0 when not throttled.",
            |s| s.throttled_until_unix_s.unwrap_or(0.0),
        ),
        (
            "ilinkd_session_last_reject_code",
            "gauge",
            "CME code of the last refused logon (NegotiationReject/EstablishmentReject/Terminate); -1 when none.",
            |s| s.last_reject_code.map_or(-1.0, f64::from),
        ),
        (
            "ilinkd_session_established",
            "gauge",
            "1 when the session can carry business messages.",
            |s| f64::from(u8::from(s.established)),
        ),
        (
            "ilinkd_session_next_seq_out",
            "gauge",
            "Next outbound sequence number.",
            |s| s.next_seq_out as f64,
        ),
        (
            "ilinkd_session_next_seq_in",
            "gauge",
            "Next expected inbound sequence number.",
            |s| s.next_seq_in as f64,
        ),
        (
            "ilinkd_session_orders_sent_total",
            "counter",
            "Orders sent on the session.",
            |s| s.orders_sent as f64,
        ),
        (
            "ilinkd_session_events_received_total",
            "counter",
            "Business messages received on the session.",
            |s| s.events_received as f64,
        ),
        (
            "ilinkd_session_messages_lost_total",
            "counter",
            "Exchange messages that recovery gave up (retransmission refused, stalled or short).",
            |s| s.messages_lost as f64,
        ),
        (
            "ilinkd_session_reconnects_total",
            "counter",
            "Reconnects since start.",
            |s| s.reconnects as f64,
        ),
        (
            "ilinkd_key_days_to_expiry",
            "gauge",
            "Days until the session's active key expires (negative once expired).",
            |s| s.key_days_to_expiry as f64,
        ),
        (
            "ilinkd_session_state",
            "gauge",
            "Current session state (value 1, state in the label).",
            |_| 1.0,
        ),
    ];
    for (name, kind, help, get) in session_families {
        if m.sessions.is_empty() {
            continue;
        }
        f.head(name, kind, help);
        for s in &m.sessions {
            let mut labels = vec![
                ("daemon", d),
                ("session", s.name.as_str()),
                ("kind", s.kind.as_str()),
            ];
            if name == "ilinkd_session_state" {
                labels.push(("state", s.state.as_str()));
            }
            f.sample(name, &labels, get(s));
        }
    }

    type StrategyField = fn(&StrategyMetrics) -> u64;
    let strategy_families: [(&str, &str, StrategyField); 4] = [
        (
            "ilinkd_strategy_orders_total",
            "Requests taken off the strategy's ring.",
            |s| s.orders_in,
        ),
        (
            "ilinkd_strategy_risk_rejects_total",
            "Requests refused by risk checks.",
            |s| s.risk_rejects,
        ),
        (
            "ilinkd_strategy_events_total",
            "Events written to the strategy's ring.",
            |s| s.events_out,
        ),
        (
            "ilinkd_strategy_events_dropped_total",
            "Events that found the strategy's ring full.",
            |s| s.events_dropped,
        ),
    ];
    for (name, help, get) in strategy_families {
        if m.strategies.is_empty() {
            continue;
        }
        f.head(name, "counter", help);
        for s in &m.strategies {
            f.sample(
                name,
                &[("daemon", d), ("strategy", s.name.as_str())],
                get(s) as f64,
            );
        }
    }

    if !m.latency.is_empty() {
        let name = "ilinkd_latency_seconds";
        f.head(
            name,
            "summary",
            "Hop latency: quantiles over the last metrics window, count and sum since start.",
        );
        for l in &m.latency {
            let base = [
                ("daemon", d),
                ("session", l.session.as_str()),
                ("hop", l.hop.as_str()),
            ];
            for &(q, ns) in &l.quantiles {
                let qs = float(q);
                let mut labels = base.to_vec();
                labels.push(("quantile", qs.as_str()));
                f.sample(name, &labels, ns as f64 / 1e9);
            }
            f.sample("ilinkd_latency_seconds_sum", &base, l.sum_ns / 1e9);
            f.sample("ilinkd_latency_seconds_count", &base, l.count as f64);
        }
    }
    f.head(
        "ilinkd_latency_handover_misses_total",
        "counter",
        "Histogram interval swaps that found no empty set (samples kept in a longer interval).",
    );
    f.sample(
        "ilinkd_latency_handover_misses_total",
        &[("daemon", d)],
        m.handover_misses as f64,
    );
    f.head(
        "ilinkd_unhandled_messages_total",
        "counter",
        "Inbound iLink 3 business messages of a template the daemon does not act on.",
    );
    for u in &m.unhandled {
        let t = u.template.to_string();
        f.sample(
            "ilinkd_unhandled_messages_total",
            &[
                ("daemon", d),
                ("session", &u.session),
                ("template", &t),
                ("name", &u.name),
            ],
            u.count as f64,
        );
    }
    f.head(
        "ilinkd_inbound_decode_errors_total",
        "counter",
        "Inbound iLink 3 business frames that failed to decode (malformed).",
    );
    for (session, n) in &m.decode_errors {
        f.sample(
            "ilinkd_inbound_decode_errors_total",
            &[("daemon", d), ("session", session)],
            *n as f64,
        );
    }
    f.head(
        "ilinkd_reconcile_unmatched",
        "gauge",
        "Execution reports still without their counterpart after reconcile_delay_ms (side: where it was seen).",
    );
    for (side, n) in [
        ("ilink3", m.reconcile.unmatched_ilink3),
        ("dropcopy", m.reconcile.unmatched_dropcopy),
    ] {
        f.sample(
            "ilinkd_reconcile_unmatched",
            &[("daemon", d), ("side", side)],
            n as f64,
        );
    }
    f.head(
        "ilinkd_reconcile_matched_total",
        "counter",
        "Execution reports matched between the iLink 3 sessions and Drop Copy.",
    );
    f.sample(
        "ilinkd_reconcile_matched_total",
        &[("daemon", d)],
        m.reconcile.matched as f64,
    );
    f.head(
        "ilinkd_reconcile_copies_dropped_total",
        "counter",
        "iLink 3 report copies dropped on a full queue to housekeeping (not reconciled, not journaled).",
    );
    f.sample(
        "ilinkd_reconcile_copies_dropped_total",
        &[("daemon", d)],
        m.reconcile.dropped as f64,
    );
    f.head(
        "ilinkd_messaging_control_rejects_total",
        "counter",
        "Requests refused locally by a session's messaging-control limiter (kind: cancel = cancels and mass actions, order = new orders and modifies).",
    );
    for (session, kind, n) in &m.messaging_control_rejects {
        f.sample(
            "ilinkd_messaging_control_rejects_total",
            &[("daemon", d), ("session", session), ("kind", kind)],
            *n as f64,
        );
    }
    f.head(
        "ilinkd_order_journal_dropped_total",
        "counter",
        "Order-journal records dropped on a full queue to housekeeping (a restart restores those orders as of their previous record).",
    );
    f.sample(
        "ilinkd_order_journal_dropped_total",
        &[("daemon", d)],
        m.order_changes_dropped as f64,
    );
    f.head(
        "ilinkd_restart_unknown_orders_total",
        "counter",
        "Orders the exchange's mass status after a restart reported open that the daemon did not know.",
    );
    for (session, n) in &m.restart_unknown_orders {
        f.sample(
            "ilinkd_restart_unknown_orders_total",
            &[("daemon", d), ("session", session)],
            *n as f64,
        );
    }
    f.head(
        "ilinkd_party_usable",
        "gauge",
        "1 while a [[ilink3.party]] may be named by orders (accepted by a 519 under the current UUID, or pre-registered); 0 while unregistered, pending or refused.",
    );
    for (session, party, usable) in &m.parties {
        f.sample(
            "ilinkd_party_usable",
            &[("daemon", d), ("session", session), ("party", party)],
            if *usable { 1.0 } else { 0.0 },
        );
    }
    f.head(
        "ilinkd_kill_switch_engaged",
        "gauge",
        "1 while an operator's kill switch blocks new orders (scope all, session or strategy); the all scope is always present.",
    );
    let all = m.kill_switches.iter().any(|(scope, _)| scope == "all");
    f.sample(
        "ilinkd_kill_switch_engaged",
        &[("daemon", d), ("scope", "all"), ("target", "*")],
        if all { 1.0 } else { 0.0 },
    );
    for (scope, target) in m.kill_switches.iter().filter(|(s, _)| s != "all") {
        f.sample(
            "ilinkd_kill_switch_engaged",
            &[("daemon", d), ("scope", scope), ("target", target)],
            1.0,
        );
    }
    out
}

/// Writes `text` to `path` atomically: a temporary file in the same folder, fsync, rename
/// (node_exporter never reads a half-written file).
pub fn write_prom_file(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "metrics.prom".into());
    // A name node_exporter ignores (it reads *.prom only) and unique to this process.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The HTTP endpoint for `GET /metrics` (`tiny_http`), answered on its own thread (and
/// `tiny_http`'s accept and connection threads, all off the hot path). Serves the last
/// published text; other paths are 404, other methods 405.
pub struct MetricsServer {
    addr: SocketAddr,
    text: Arc<Mutex<String>>,
    server: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `addr` and starts serving (an empty body until [`MetricsServer::publish`]).
    /// A non-loopback address is allowed but logged as a warning: metrics show session names,
    /// sequence numbers and key expiry.
    pub fn start(addr: SocketAddr) -> std::io::Result<MetricsServer> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "metrics endpoint is reachable from other hosts");
        }
        let server = Arc::new(
            tiny_http::Server::from_listener(listener, None).map_err(std::io::Error::other)?,
        );
        let text = Arc::new(Mutex::new(String::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (srv, t, s) = (Arc::clone(&server), Arc::clone(&text), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("ilinkd-metrics".into())
            .spawn(move || loop {
                match srv.recv() {
                    Ok(req) => {
                        let _ = respond(req, &t);
                    }
                    Err(e) => {
                        if !s.load(Ordering::Acquire) {
                            tracing::error!("metrics endpoint stopped: {e}");
                        }
                        break;
                    }
                }
            })?;
        Ok(MetricsServer {
            addr,
            text,
            server,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address (the port, when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the text served.
    pub fn publish(&self, text: String) {
        if let Ok(mut t) = self.text.lock() {
            *t = text;
        }
    }
}

impl Drop for MetricsServer {
    /// Stops answering, then closes the listening socket (`tiny_http` wakes its accept thread,
    /// which ends and closes it).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn respond(req: tiny_http::Request, text: &Mutex<String>) -> std::io::Result<()> {
    use tiny_http::{Header, Method, Response};
    let header = |v: &str| Header::from_bytes(&b"Content-Type"[..], v.as_bytes()).ok();
    let url = req.url();
    let (status, ctype, body) = if !matches!(req.method(), Method::Get | Method::Head) {
        (405, "text/plain", "GET only\n".to_string())
    } else if url == "/metrics" || url.starts_with("/metrics?") {
        let body = text.lock().map(|t| t.clone()).unwrap_or_default();
        (200, "text/plain; version=0.0.4; charset=utf-8", body)
    } else {
        (404, "text/plain", "try /metrics\n".to_string())
    };
    let mut resp = Response::from_data(body)
        .with_status_code(status)
        // Content-Length, never chunked, whatever the size.
        .with_chunked_threshold(usize::MAX);
    if let Some(h) = header(ctype) {
        resp.add_header(h);
    }
    // tiny_http leaves the body out for HEAD.
    req.respond(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(float(f64::INFINITY), "+Inf");
        assert_eq!(float(0.5), "0.5");
        assert_eq!(float(1.0), "1");
    }

    #[test]
    fn window_rolls_quantiles_but_keeps_cumulative_counts() {
        let mut w = LatencyWindow::new();
        let mut h = Histogram::<u64>::new_with_bounds(1, 1_000_000, 3).unwrap();
        for v in 1..=100 {
            h.record(v).unwrap();
        }
        w.add("s.submit", &h);
        let first = w.roll();
        assert_eq!(first.len(), 1);
        assert_eq!(
            (first[0].session.as_str(), first[0].hop.as_str()),
            ("s", "submit")
        );
        assert_eq!(first[0].quantiles[0], (0.5, 50));
        assert_eq!(first[0].quantiles[5], (1.0, 100));
        assert_eq!(first[0].count, 100);
        assert!(
            (first[0].sum_ns - 5050.0).abs() < 1.0,
            "{}",
            first[0].sum_ns
        );
        let second = w.roll();
        assert!(second[0].quantiles.is_empty());
        assert_eq!(second[0].count, 100);
    }
}
