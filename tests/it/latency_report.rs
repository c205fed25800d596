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

/// Host `b`'s log: two intervals from 14:30:00Z, `sim-eq.exchange_rtt` 100 values of exactly
/// 80 µs each, `sim-eq.request_ring` 10 values of 2 µs (two tags host `a` also has). The
/// table shows each bucket's highest equivalent value, as for host `a`: 80 µs reads 80.063.
fn host_b_log(dir: &Path) {
    use ilinkd::latency::log::IntervalLog;
    use std::time::{Duration, UNIX_EPOCH};
    let start = UNIX_EPOCH + Duration::from_secs(1_772_461_800);
    let mut log = IntervalLog::new(dir, "latency", start, "host b").unwrap();
    let mut rtt = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
    rtt.record_n(80_000, 50).unwrap();
    let mut ring =
        hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
    ring.record_n(2_000, 5).unwrap();
    for i in 0..2u64 {
        let t = 1_772_461_800_000_000_000 + i * 1_000_000_000;
        log.write_interval(
            t,
            1_000_000_000,
            [
                ("sim-eq.exchange_rtt", &rtt),
                ("sim-eq.request_ring", &ring),
            ],
        )
        .unwrap();
    }
}

#[test]
fn labelled_hosts_show_side_by_side_in_the_table_and_the_html() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    // Host a: a folder holding the golden log (and a file that is not a log, skipped).
    let a = dir.path().join("ny4-a");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::copy(root.join(LOG), a.join("golden-2026-03-02.hlog")).unwrap();
    std::fs::write(a.join("notes.txt"), "not a log").unwrap();
    // Host b: a glob over its folder.
    let b = dir.path().join("ny4-b");
    std::fs::create_dir_all(&b).unwrap();
    host_b_log(&b);
    let html = dir.path().join("fleet.html");
    let o = ilinkd(&[
        "report",
        "--label",
        &format!("a={}", a.display()),
        "--label",
        &format!("b={}/latency-*.hlog", b.display()),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let out = stdout(&o);
    let want = "\
2 file(s) from 2 host(s) (a, b), 3 tag(s), 2026-03-02T14:30:00 to 2026-03-02T14:30:03 UTC (3 s), values in us
host tag                      count        p50        p90        p99      p99.9     p99.99        max
a    sim-eq.request_ring       3000      0.500      0.900      0.990      0.999      1.000      1.000
b    sim-eq.request_ring         10      2.000      2.000      2.000      2.000      2.000      2.000
a    sim-eq.exchange_rtt       3000     39.999     52.991     59.071     59.903     59.999     59.999
b    sim-eq.exchange_rtt        100     80.063     80.063     80.063     80.063     80.063     80.063
a    sim-fx.hmac_sign             3      0.181      0.182      0.182      0.182      0.182      0.182
";
    assert!(out.starts_with(want), "{out}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<th>host</th>"), "host column");
    for row in [
        "a</td><td class=\"l\">sim-eq.exchange_rtt</td><td>3000</td>",
        "b</td><td class=\"l\">sim-eq.exchange_rtt</td><td>100</td>",
        "b</td><td class=\"l\">sim-eq.request_ring</td><td>10</td>",
    ] {
        assert!(page.contains(row), "{row}");
    }
    // Each (host, tag) gets its own pair of charts, plus the overview.
    assert_eq!(page.matches("<svg ").count(), 1 + 2 * 5);
    assert!(page.contains("b sim-eq.exchange_rtt &nbsp;"));

    // A label that names nothing, or has no host, is bad input naming the label.
    let o = ilinkd(&[
        "report",
        "--label",
        &format!("c={}/none-*.hlog", b.display()),
    ]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--label c=") && err.contains("no file matches none-*.hlog"),
        "{err}"
    );
    let o = ilinkd(&["report", "--label", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected HOST=DIR_OR_GLOB"));
}
