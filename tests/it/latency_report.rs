//! `ilinkd report` on a known interval log (tests/latency_data/golden-2026-03-02.hlog: three
//! 1 s intervals from 14:30:00Z; sim-eq.request_ring records 1..=1000 ns each interval,
//! sim-eq.exchange_rtt 1000 values from 20 µs + 5 µs × interval in 30 ns steps, sim-fx.hmac_sign
//! one value, 180 + interval ns).

use std::path::Path;
use std::process::{Command, Output};

const LOG: &str = "tests/latency_data/golden-2026-03-02.hlog";

fn ilinkd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ilinkd"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run ilinkd")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn report_prints_the_expected_table() {
    let o = ilinkd(&["report", LOG]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let want = "\
1 file(s), 3 tag(s), 2026-03-02T14:30:00 to 2026-03-02T14:30:03 UTC (3 s), values in us
tag                      count        p50        p90        p99      p99.9     p99.99        max
sim-eq.request_ring       3000      0.500      0.900      0.990      0.999      1.000      1.000
sim-eq.exchange_rtt       3000     39.999     52.991     59.071     59.903     59.999     59.999
sim-fx.hmac_sign             3      0.181      0.182      0.182      0.182      0.182      0.182
";
    assert_eq!(stdout(&o), want);
}

#[test]
fn time_range_and_tag_filters_select_intervals() {
    let o = ilinkd(&[
        "report",
        LOG,
        "--from",
        "+1",
        "--to",
        "+2",
        "--tag",
        "*.exchange_rtt",
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let want = "\
1 file(s), 1 tag(s), 2026-03-02T14:30:01 to 2026-03-02T14:30:02 UTC (1 s), values in us
tag                      count        p50        p90        p99      p99.9     p99.99        max
sim-eq.exchange_rtt       1000     39.999     51.999     54.687     54.943     54.975     54.975
";
    assert_eq!(stdout(&o), want);
    let o = ilinkd(&[
        "report",
        LOG,
        "--from",
        "2026-03-02T14:30:02Z",
        "--tag",
        "sim-fx.*",
    ]);
    assert!(
        stdout(&o).contains("sim-fx.hmac_sign          1      0.182"),
        "{o:?}"
    );
    let o = ilinkd(&["report", LOG, "--tag", "nothing.*"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("no intervals in"));
}

#[test]
fn hgrm_files_are_the_standard_percentile_distribution() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = ilinkd(&["report", LOG, "--tag", "sim-eq.request_ring", "--hgrm", d]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let text = std::fs::read_to_string(dir.path().join("sim-eq.request_ring.hgrm")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "       Value     Percentile TotalCount 1/(1-Percentile)"
    );
    assert_eq!(
        lines[2],
        "       0.001 0.000000000000          3           1.00"
    );
    assert!(lines.contains(&"       0.500 0.500000000000       1500           2.00"));
    assert!(lines.contains(&"       1.000 1.000000000000       3000"));
    assert!(text.contains("#[Max     =        1.000, Total count    =         3000]"));
}

#[test]
fn html_is_self_contained_with_charts_for_every_hop() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let o = ilinkd(&["report", LOG, "--html", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    // 1 overview + 2 per tag.
    assert_eq!(html.matches("<svg ").count(), 1 + 2 * 3);
    for tag in [
        "sim-eq.request_ring",
        "sim-eq.exchange_rtt",
        "sim-fx.hmac_sign",
    ] {
        assert!(html.contains(tag), "{tag}");
    }
    for axis in ["99.9%", "99.99%", "14:30:01"] {
        assert!(html.contains(axis), "{axis}");
    }
    // Nothing fetched from anywhere: the only URL is the SVG namespace.
    let urls = html.matches("http").count();
    assert_eq!(
        urls,
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert!(!html.contains("<script"));
}

#[test]
fn bad_input_exits_2_with_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.hlog");
    std::fs::write(
        &bad,
        "#[BaseTime: 1.000 (seconds since epoch)]\nthis is not a log\n",
    )
    .unwrap();
    let o = ilinkd(&["report", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("bad.hlog:2: not an interval log line"),
        "{o:?}"
    );
    let o = ilinkd(&["report", LOG, "--from", "noon"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let o = ilinkd(&["report", "tests/latency_data/missing.hlog"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.hlog"));
    let o = ilinkd(&["report"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join(LOG).exists());
}
