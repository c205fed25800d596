//! CME "Drop Copy 4.0" (Drop Copy carries a copy of every execution report sent on the source
//! iLink sessions, ExecID 17 included) end to end: the embedded simulator withholds one copy;
//! the daemon's reconciliation reports that ExecID as unmatched on the iLink 3 side (metric),
//! and `ilinkd dropcopy reconcile` prints it from the journals and exits 1.

use ilinkd::config::Config;
use ilinkd::daemon::{Daemon, DaemonOptions};
use ilinkd::runtime::idle::IdleParams;
use ilinkd::sim::config::{AfterCount, SessionFaults};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The demo config: state in `dir`, shm in `dir`, reconcile everything with a short delay,
/// metrics to a .prom file every 200 ms.
fn config(dir: &Path) -> std::path::PathBuf {
    let demo =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml"))
            .unwrap();
    let shm = dir.join("shm");
    std::fs::create_dir_all(&shm).unwrap();
    let text = demo
        .replace(
            "state_dir = \"../target/demo-state\"",
            &format!(
                "state_dir = {:?}\nshm_dir = {:?}\nreconcile = \"all\"\nreconcile_delay_ms = 300",
                dir.join("state").to_str().unwrap(),
                shm.to_str().unwrap()
            ),
        )
        .replace(
            "[latency]\n",
            &format!(
                "[latency]\nprom_file = {:?}\n",
                dir.join("ilinkd.prom").to_str().unwrap()
            ),
        )
        .replace("interval_ms = 1000", "interval_ms = 200");
    assert!(text.contains("reconcile = \"all\""), "demo.toml changed");
    assert!(text.contains("prom_file"), "demo.toml changed");
    let path = dir.join("ilinkd.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn metric(prom: &Path, sample: &str) -> Option<f64> {
    let text = std::fs::read_to_string(prom).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(sample))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn drop_copy_4_0_a_withheld_copy_is_reported_unmatched_and_by_dropcopy_reconcile() {
    let _g = crate::heavy();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let prom = dir.path().join("ilinkd.prom");
    let d = Daemon::start(
        Config::load(&cfg).unwrap(),
        DaemonOptions {
            config_path: Some(cfg.clone()),
            idle_params: IdleParams::backing_off(),
            systemd: false,
        },
    )
    .expect("daemon starts");
    // The 11th execution report offered to the Drop Copy account is never copied.
    d.sim().expect("embedded simulator").set_dropcopy_faults(
        "DMODC1N",
        SessionFaults {
            withhold: Some(AfterCount {
                after: 10,
                count: 1,
            }),
            ..SessionFaults::default()
        },
    );
    let end = Instant::now() + Duration::from_secs(10);
    while !d.all_up() {
        assert!(Instant::now() < end, "sessions up within 10 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    let load = Command::new(env!("CARGO_BIN_EXE_ilinkd"))
        .args(["load", "-c", cfg.to_str().unwrap()])
        .args(["--strategy", "load", "--orders", "40", "--rate", "2000"])
        .args(["--timeout-s", "10", "--price", "4500"])
        .output()
        .expect("ilinkd load");
    assert!(
        load.status.success(),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );
    let unmatched_ilink3 = "ilinkd_reconcile_unmatched{daemon=\"demo\",side=\"ilink3\"}";
    let unmatched_dc = "ilinkd_reconcile_unmatched{daemon=\"demo\",side=\"dropcopy\"}";
    let matched = "ilinkd_reconcile_matched_total{daemon=\"demo\"}";
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let n = metric(&prom, unmatched_ilink3);
        if n == Some(1.0) && metric(&prom, matched).is_some_and(|m| m >= 39.0) {
            break;
        }
        assert!(
            Instant::now() < end,
            "one iLink 3 report unmatched within 10 s: {}",
            std::fs::read_to_string(&prom).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(metric(&prom, unmatched_dc), Some(0.0));
    d.shutdown();
    let summary = d.wait().expect("clean stop");
    let sim = summary.sim.expect("embedded simulator summary");
    assert!(sim.dropcopy_reports >= 39, "{sim:?}");

    let out = Command::new(env!("CARGO_BIN_EXE_ilinkd"))
        .args(["dropcopy", "reconcile", "-c", cfg.to_str().unwrap()])
        .output()
        .expect("ilinkd dropcopy reconcile");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("ilink3\t"))
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(lines[0].contains("session=sim-eq"), "{stdout}");
    assert!(
        !stdout.lines().any(|l| l.starts_with("dropcopy\t")),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 iLink 3 report(s) without a Drop Copy copy"),
        "{stdout}"
    );
}
