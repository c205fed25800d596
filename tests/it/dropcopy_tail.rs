//! `ilinkd dropcopy tail` end to end: a state directory prepared with the library's recorder,
//! the binary reading it.

use ilinkd::config::FsyncPolicy;
use ilinkd::dropcopy::checksum;
use ilinkd::shm::RingOptions;
use ilinkd::store::{DropCopyPaths, DropCopyRecorder, RecorderOptions};
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn exec(seq: u64) -> Vec<u8> {
    let body = format!(
        "35=8|34={seq}|49=CME|56=DMODC1N|50=G|52=20240315-13:30:00.125|37=OID{seq}|11=CL{seq}|\
         17=EX{seq}|150=F|39=2|55=ESM4|48=5602|54=2|38=3|44=5250.25|32=3|31=5250.125|14=3|\
         151=0|60=20240315-13:30:00.120123456|"
    )
    .replace('|', "\x01");
    let mut m = format!("8=FIX.4.2\x019={}\x01{}", body.len(), body).into_bytes();
    let sum = checksum(&m);
    m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    m
}

/// The demo config with `state_dir` pointing into `dir`.
fn config(dir: &Path) -> std::path::PathBuf {
    let demo =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml"))
            .unwrap();
    let state = dir.join("state");
    let text = demo.replace(
        "state_dir = \"../target/demo-state\"",
        &format!("state_dir = {:?}", state.to_str().unwrap()),
    );
    assert_ne!(text, demo, "demo.toml changed: update this test");
    let path = dir.join("ilinkd.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Records messages `seqs` for session sim-dc (4 KiB ring: most of them only in the journal).
fn prepare(dir: &Path, seqs: impl Iterator<Item = u64>) -> DropCopyRecorder {
    let paths = DropCopyPaths::new(&dir.join("state"), "sim-dc").unwrap();
    let (mut rec, _) = DropCopyRecorder::open(
        &paths,
        RecorderOptions {
            fsync: FsyncPolicy::Never,
            ring: RingOptions {
                capacity: 4096,
                mode: 0o600,
            },
        },
    )
    .unwrap();
    for s in seqs {
        rec.record(s, &exec(s)).unwrap();
    }
    rec
}

fn tail(cfg: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ilinkd"))
        .args(["dropcopy", "tail", "-c", cfg.to_str().unwrap()])
        .args(args)
        .output()
        .expect("run ilinkd")
}

fn seqs_of(o: &Output) -> Vec<u64> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("each line is JSON");
            v["seq"].as_u64().unwrap()
        })
        .collect()
}

#[test]
fn tail_from_seq_prints_json_lines_from_journal_and_ring_then_exits_with_no_follow() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let _daemon = prepare(dir.path(), 1..=60);
    let o = tail(&cfg, &["--session", "sim-dc", "--from", "7", "--no-follow"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(seqs_of(&o), (7..=60).collect::<Vec<_>>());
    let first = String::from_utf8(o.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    assert_eq!(v["exec_id"], "EX7");
    assert_eq!(v["last_px"], "5250.125", "prices are exact decimal strings");
    assert_eq!(v["side"], "2");
    assert_eq!(v["poss_dup"], false);
    assert_eq!(v["source"], "execution_report");

    // Without --session: the config has one Drop Copy session. --live prints only new ones.
    let o = tail(&cfg, &["--live", "--no-follow"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
}

#[test]
fn tail_reads_the_journal_when_no_daemon_is_running() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    drop(prepare(dir.path(), [3, 5, 8].into_iter()));
    std::fs::remove_file(dir.path().join("state/sim-dc/dropcopy.ring")).unwrap();
    let o = tail(&cfg, &["--from", "4", "--no-follow"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(seqs_of(&o), vec![5, 8]);
}

#[test]
fn unknown_session_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let o = tail(&cfg, &["--session", "nope", "--no-follow"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no [[dropcopy]] session named \"nope\""),
        "{err}"
    );
    assert!(err.contains("sim-dc"), "{err}");
}

#[test]
fn closed_stdout_ends_a_following_tail_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let _daemon = prepare(dir.path(), 1..=3000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ilinkd"))
        .args([
            "dropcopy",
            "tail",
            "-c",
            cfg.to_str().unwrap(),
            "--from",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("{\"seq\":1,"), "{first}");
    drop(lines); // like `| head -1`
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("tail kept running after its stdout was closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// CME's "Drop Copy 4.0 Encapsulated XML Message" end to end: the embedded simulator sends
/// every report as CME does (35=n, 213 = `<RTRF>ExecutionReport</RTRF>`, two 56 values); each
/// reaches `ilinkd dropcopy tail` as an `execution_report` with its ExecID, none as `unparsed`.
#[test]
fn embedded_simulator_35n_rtrf_reaches_the_tail_as_execution_reports() {
    use ilinkd::config::Config;
    use ilinkd::daemon::{Daemon, DaemonOptions};
    use ilinkd::runtime::idle::IdleParams;
    let _g = crate::heavy();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let shm = dir.path().join("shm");
    std::fs::create_dir_all(&shm).unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap().replacen(
        "[daemon]\n",
        &format!("[daemon]\nshm_dir = {:?}\n", shm.to_str().unwrap()),
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    let d = Daemon::start(
        Config::load(&cfg).unwrap(),
        DaemonOptions {
            config_path: Some(cfg.clone()),
            idle_params: IdleParams::backing_off(),
            systemd: false,
        },
    )
    .expect("daemon starts");
    let end = Instant::now() + Duration::from_secs(10);
    while !d.all_up() {
        assert!(Instant::now() < end, "sessions up within 10 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    let load = Command::new(env!("CARGO_BIN_EXE_ilinkd"))
        .args(["load", "-c", cfg.to_str().unwrap()])
        .args(["--strategy", "load", "--orders", "200", "--rate", "20000"])
        .args(["--timeout-s", "10", "--price", "4500"])
        .output()
        .expect("ilinkd load");
    assert!(
        load.status.success(),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );
    // Wait for the Drop Copy copies of everything the simulator published.
    let lines = |o: &Output| -> Vec<serde_json::Value> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect()
    };
    let mut last = 0;
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let n = lines(&tail(&cfg, &["--from", "1", "--no-follow"])).len();
        if n > 0 && n == last {
            break;
        }
        assert!(Instant::now() < end, "drop copy stream settles");
        last = n;
        std::thread::sleep(Duration::from_millis(300));
    }
    d.shutdown();
    let summary = d.wait().expect("clean stop");
    let sim = summary.sim.expect("embedded simulator summary");
    let got = lines(&tail(&cfg, &["--from", "1", "--no-follow"]));
    assert_eq!(
        got.len() as u64,
        sim.dropcopy_reports,
        "one line per report"
    );
    let mut ids = std::collections::HashSet::new();
    for v in &got {
        assert_eq!(v["source"], "execution_report", "{v}");
        assert_eq!(v["encapsulated"], true, "{v}");
        assert!(v.get("error").is_none(), "{v}");
        let id = v["exec_id"].as_str().expect("ExecID present").to_string();
        assert!(ids.insert(id), "ExecIDs unique: {v}");
    }
}

/// The simulator's Drop Copy copy of an iLink 3 OrderCancelReject (535) and
/// OrderCancelReplaceReject (536), CME's "Order Cancel and Order Cancel-Replace Reject" (35=9),
/// reads as a `cancel_reject` with its CxlRejResponseTo, CxlRejReason, Text and OrigClOrdID.
#[test]
fn simulator_35_9_reads_as_cancel_reject() {
    use ilinkd::dropcopy::{ReportParser, ReportSource};
    use ilinkd::sim::dropcopy_gateway::report_body;
    use ilinkd::sim::{FixedText, Report, ReportKind};
    for (kind, to) in [
        (
            ReportKind::CancelReject {
                reason: 2045,
                text: "This order is not in the book",
            },
            b'1',
        ),
        (
            ReportKind::ReplaceReject {
                reason: 2045,
                text: "This order is not in the book",
            },
            b'2',
        ),
    ] {
        let r = Report {
            kind,
            cl_ord_id: FixedText::new(b"CXL-1"),
            sender_id: FixedText::new(b"TRADER"),
            location: FixedText::new(b"US,IL"),
            party_details_list_req_id: 0,
            order_id: 0,
            order_request_id: 1,
            security_id: 42,
            side: 1,
            price: None,
            order_qty: 0,
            cum_qty: 0,
            leaves_qty: 0,
            ord_type: 0,
            time_in_force: None,
            exec_id: 9,
            transact_time: 1_700_000_000_000_000_000,
            stop_px: None,
            min_qty: 0,
            expire_date: None,
        };
        let mut body =
            b"35=9\x0134=7\x0149=CME\x0156=DCP001N\x0152=20231114-22:13:20.000\x01".to_vec();
        assert_eq!(report_body(&r, "001", "ABC", None, &mut body), Some(b'9'));
        let mut m = format!("8=FIX.4.2\x019={}\x01", body.len()).into_bytes();
        m.extend_from_slice(&body);
        let sum = checksum(&m);
        m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
        let rep = ReportParser::new().parse(&m).expect("35=9 parses");
        assert_eq!(rep.source, ReportSource::CancelReject);
        assert_eq!(rep.cl_ord_id, Some("CXL-1"));
        assert_eq!(rep.order_id, Some("NONE"));
        let j = rep.reject.expect("reject fields");
        assert_eq!(j.response_to, Some(to));
        assert_eq!(j.reason, Some(2045));
        assert_eq!(j.text, Some("This order is not in the book"));
        assert_eq!(j.orig_cl_ord_id, Some("CXL-1"));
        assert_eq!(j.account, Some("ABC"));
    }
}
