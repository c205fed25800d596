//! `ilinkd cert -c FILE --session S`: the guided mode against a gateway, here `ilinkd sim` on
//! 127.0.0.1 (iLink 3 and Drop Copy) with a real key file. The client-driven scenarios pass and
//! print the answers AutoCert+ asks for, taken from the messages received; a scenario that
//! needs CME's tool fails after `--step-timeout` naming the message it waited for.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const SECRET: &str = "2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4";

fn ilinkd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ilinkd"))
}

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The simulator with session ABC of firm 007 on a free port; returns it and the port.
fn start_sim(dir: &Path) -> (Child, u16) {
    write_private(
        &dir.join("ABC.toml"),
        &format!(
            "[[key]]\naccess_key_id = \"AKIDAAAAAAAAAAAAAAA1\"\nsecret_key = \"{SECRET}\"\n\
             expires = 2099-06-30\n"
        ),
    );
    let instruments = "[[instrument]]\nsecurity_id = 42\nsymbol = \"ESZ6\"\ntick = \"0.25\"\n\
         market_segment_id = 99\nsecurity_group = \"ES\"\n\n\
         [[instrument]]\nsecurity_id = 43\nsymbol = \"NQZ6\"\ntick = \"0.25\"\n\
         market_segment_id = 98\nsecurity_group = \"NQ\"\n";
    std::fs::write(
        dir.join("sim.toml"),
        format!(
            "[sim]\nlisten = \"127.0.0.1\"\nidle = \"park\"\n\n[[ilink3]]\nsession_id = \"ABC\"\n\
             firm_id = \"007\"\nkey_file = \"ABC.toml\"\nport = 0\n\n[[dropcopy]]\n\
             sender_comp_id = \"DC7N\"\nfirms = [\"007\"]\nkey_file = \"ABC.toml\"\nport = 0\n\n\
             {instruments}"
        ),
    )
    .unwrap();
    let (child, port, dc_port) = spawn_sim(dir, "sim.toml");
    std::fs::write(
        dir.join("ilinkd.toml"),
        format!(
            "[daemon]\nname = \"cert\"\nstate_dir = \"state\"\nhot_cores = [1]\n\
             housekeeping_core = 0\n\n[[ilink3]]\nname = \"cme-eq\"\nsession_id = \"ABC\"\n\
             firm_id = \"007\"\nprimary = \"127.0.0.1:{port}\"\nkey_file = \"ABC.toml\"\n\
             keepalive_ms = 5000\nsender_id = \"OPS01\"\n\n[[dropcopy]]\nname = \"dc\"\n\
             sender_comp_id = \"DC7N\"\nsender_sub_id = \"OPS\"\nsender_location_id = \"US,IL\"\n\
             heartbeat_s = 5\nprimary = \"127.0.0.1:{dc_port}\"\nkey_file = \"ABC.toml\"\n\n\
             {instruments}"
        ),
    )
    .unwrap();
    (child, port)
}

/// `ilinkd sim -c DIR/CONFIG` keeping its state in DIR/simstate; returns it and its iLink 3
/// and Drop Copy ports.
fn spawn_sim(dir: &Path, config: &str) -> (Child, u16, u16) {
    let mut child = ilinkd()
        .args(["sim", "-c"])
        .arg(dir.join(config))
        .arg("--state-dir")
        .arg(dir.join("simstate"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let (mut port, mut dc_port) = (0u16, 0u16);
    while port == 0 || dc_port == 0 {
        line.clear();
        let n = out.read_line(&mut line).unwrap();
        assert!(n > 0, "the simulator exited before listening");
        let port_of = |addr: &str| addr.rsplit(':').next().unwrap().parse().unwrap();
        if let Some(addr) = line.trim().strip_prefix("ilink3 ABC listening on ") {
            port = port_of(addr);
        }
        if let Some(addr) = line.trim().strip_prefix("dropcopy DC7N listening on ") {
            dc_port = port_of(addr);
        }
    }
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    (child, port, dc_port)
}

struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Sim {
    /// SIGTERM (the simulator writes its state and exits), then wait for it.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let _ = self.0.wait();
    }
}

fn guided(dir: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = ilinkd()
        .args(["cert", "-c"])
        .arg(dir.join("ilinkd.toml"))
        .args(["--session", "cme-eq"])
        .args(extra)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn cert_guided_against_a_gateway_passes_client_driven_scenarios_and_prints_answers() {
    let _g = crate::timers();
    let dir = tempfile::tempdir().unwrap();
    let (child, _port) = start_sim(dir.path());
    let _sim = Sim(child);
    let report = dir.path().join("report");
    let (code, text) = guided(
        dir.path(),
        &[
            "--only",
            "Market-Limit",
            "--step-timeout",
            "10",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("PASS    Market-Limit Order Test\n"), "{text}");
    // Answers from the messages received: our market-limit buy of 3 trades 2 against our
    // resting sell, and its cancel reports CumQty 2.
    assert!(
        text.contains("received ExecutionReportTradeOutright525 for CERT2"),
        "{text}"
    );
    assert!(text.contains("Q: LastQty? A: 2\n"), "{text}");
    assert!(
        text.contains("Q: OrdStatus? A: 1 (Partially filled)"),
        "{text}"
    );
    assert!(
        text.contains("received ExecutionReportCancel534 for CERT2"),
        "{text}"
    );
    assert!(text.contains("Q: OrdStatus? A: 4 (Canceled)"), "{text}");
    assert!(text.contains("1 passed, 0 failed, 0 skipped"), "{text}");
    let md = std::fs::read_to_string(report.join("cert-report.md")).unwrap();
    assert!(md.contains("-> Negotiate500"), "{md}");
    assert!(md.contains("(against session cme-eq at 127.0.0.1:"), "{md}");
    assert!(md.contains("<- ExecutionReportTradeOutright525"), "{md}");
    assert!(md.contains("Q: CumQty? A: 2"), "{md}");

    // More client-driven scenarios: order status, mass action by market segment, security
    // definitions, a new UUID.
    let (code, text) = guided(
        dir.path(),
        &["--only", "Order Status Request", "--step-timeout", "10"],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("PASS    Order Status Request\n"), "{text}");
    assert!(
        text.contains("received ExecutionReportStatus532 for CERT1"),
        "{text}"
    );
    assert!(text.contains("Q: OrdStatus? A: 0 (New)"), "{text}");
    let (code, text) = guided(
        dir.path(),
        &["--only", "by Market Segment ID", "--step-timeout", "10"],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("PASS    iLink Order Mass Action Request by Market Segment ID\n"),
        "{text}"
    );
    assert!(
        text.contains("Q: MassActionResponse? A: 1 (Accepted)"),
        "{text}"
    );
    assert!(text.contains("Q: MarketSegmentID? A: 99\n"), "{text}");
    assert!(text.contains("Q: TotalAffectedOrders? A: 2\n"), "{text}");
    let (code, text) = guided(
        dir.path(),
        &["--only", "Re-Setting UUID", "--step-timeout", "10"],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("PASS    Re-Setting UUID\n"), "{text}");
}

#[test]
fn cert_guided_step_needing_cme_tool_fails_after_the_step_timeout() {
    let _g = crate::timers();
    let dir = tempfile::tempdir().unwrap();
    let (child, _port) = start_sim(dir.path());
    let _sim = Sim(child);
    let (code, text) = guided(dir.path(), &["--only", "NotApplied", "--step-timeout", "1"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("In AutoCert+, start the NotApplied step"),
        "{text}"
    );
    assert!(
        text.contains("waiting up to 1 s for NotApplied513"),
        "{text}"
    );
    assert!(
        text.contains("FAIL    CME-detected gap in the client stream (NotApplied): no NotApplied513 within 1 s"),
        "{text}"
    );
    // Drop Copy: the logon is the client's (PASS, with CME's answers); a stream of reports
    // comes from CME's tool, so without it the step times out naming the message.
    let (code, text) = guided(
        dir.path(),
        &["--only", "Logon Message (CGW)", "--step-timeout", "5"],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("PASS    Logon Message (CGW)\n"), "{text}");
    assert!(text.contains("Q: HeartBtInt (108)? A: 5\n"), "{text}");
    let (code, text) = guided(
        dir.path(),
        &[
            "--only",
            "Receive Message Stream (CGW)",
            "--step-timeout",
            "1",
        ],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("FAIL    Receive Message Stream (CGW): no 35=n or 35=8 within 1 s"),
        "{text}"
    );
    // A session the config does not have is bad input, named.
    let out = ilinkd()
        .args(["cert", "-c"])
        .arg(dir.path().join("ilinkd.toml"))
        .args(["--session", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--session \"nope\""));
}

#[test]
fn cert_guided_fail_over_reconnects_to_the_backup_with_the_same_uuid() {
    let _g = crate::timers();
    let dir = tempfile::tempdir().unwrap();
    let (child, _port) = start_sim(dir.path());
    let primary = Sim(child);
    // The backup gateway's address (a free port now; the backup starts there at fail-over).
    let backup_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = dir.path().join("ilinkd.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text.replacen(
        "key_file = \"ABC.toml\"\nkeepalive_ms",
        &format!("backup = \"127.0.0.1:{backup_port}\"\nkey_file = \"ABC.toml\"\nkeepalive_ms"),
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    let mut cert = ilinkd()
        .args(["cert", "-c"])
        .arg(&cfg)
        .args([
            "--session",
            "cme-eq",
            "--only",
            "MSGW Failover",
            "--step-timeout",
            "30",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(cert.stdout.take().unwrap());
    let mut text = String::new();
    while !text.contains("In AutoCert+, fail over the MSGW primary") {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "{text}");
        text.push_str(&line);
    }
    // CME fails over: the primary goes, the backup (same sequence state) comes up.
    primary.stop();
    let sim = std::fs::read_to_string(dir.path().join("sim.toml")).unwrap();
    std::fs::write(
        dir.path().join("backup.toml"),
        sim.replacen("port = 0", &format!("port = {backup_port}"), 1),
    )
    .unwrap();
    let (child, port, _) = spawn_sim(dir.path(), "backup.toml");
    assert_eq!(port, backup_port);
    let _backup = Sim(child);
    std::io::Read::read_to_string(&mut out, &mut text).unwrap();
    let status = cert.wait().unwrap();
    assert!(status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "reconnecting to 127.0.0.1:{backup_port} (Establish, same UUID)"
        )),
        "{text}"
    );
    assert!(text.contains("Q: FaultToleranceIndicator? A: 1"), "{text}");
    assert!(
        text.contains(
            "PASS    MSGW Failover from Primary to Backup Components (Binding without \
             Initialization)"
        ),
        "{text}"
    );
    // The UUID answered after the fail-over is the one negotiated before it.
    let uuids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Q: UUID? A: "))
        .collect();
    assert_eq!(uuids.len(), 3, "{text}");
    assert!(uuids.iter().all(|u| *u == uuids[0]), "{text}");
}
