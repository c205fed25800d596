//! `ilinkd cert --against sim`: every automated AutoCert+ scenario passes and the report is
//! written; `--break` fails exactly that scenario naming the message and field.

use std::process::Command;

fn ilinkd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ilinkd"))
}

#[test]
fn cert_against_sim_passes_and_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = ilinkd()
        .args(["cert", "--against", "sim", "--report"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PASS    Order Status Request"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    // Every scenario of both suites is automated and passes, so the exit status is 0.
    let all = ilinkd::cert::scenarios();
    for s in &all {
        assert!(
            text.contains(&format!("PASS    {}", s.name)),
            "{}:\n{text}",
            s.name
        );
    }
    assert!(
        text.contains(&format!("{} passed, 0 failed, 0 skipped", all.len())),
        "{text}"
    );
    assert!(out.status.success(), "{text}");
    let md = std::fs::read_to_string(dir.path().join("cert-report.md")).unwrap();
    assert!(md.contains("<- ExecutionReportStatus532"), "{md}");
    let html = std::fs::read_to_string(dir.path().join("cert-report.html")).unwrap();
    assert!(html.contains("NewOrderSingle514") && !html.contains("<link"));
}

#[test]
fn cert_break_fails_exactly_that_scenario() {
    let out = ilinkd()
        .args([
            "cert",
            "--against",
            "sim",
            "--break",
            "Order Status Request",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let fails: Vec<_> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fails.len(), 1, "{text}");
    assert!(
        fails[0].contains("Order Status Request")
            && fails[0].contains("ExecutionReportStatus532")
            && fails[0].contains("OrdStatus"),
        "{text}"
    );
}

#[test]
fn cert_drop_copy_scenarios_pass_and_record_fix_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = ilinkd()
        .args(["cert", "--against", "sim", "--only", "Logon", "--report"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for name in [
        "Logon Message (CGW)",
        "Logon Process with Failover",
        "Mid Week Logon",
    ] {
        assert!(text.contains(&format!("PASS    {name}\n")), "{text}");
    }
    let md = std::fs::read_to_string(dir.path().join("cert-report.md")).unwrap();
    // Our Logon and CME's answer, one FIX message per line.
    assert!(
        md.contains("-> 8=FIX.4.2|9=236|35=A|49=DC7N|56=CME|"),
        "{md}"
    );
    assert!(
        md.contains("<- 8=FIX.4.2|9=77|35=A|49=CME|56=DC7N|"),
        "{md}"
    );
}

#[test]
fn cert_break_fails_exactly_the_drop_copy_scenario() {
    let out = ilinkd()
        .args(["cert", "--against", "sim", "--break", "Mid Week Logon"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let fails: Vec<_> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fails.len(), 1, "{text}");
    assert!(
        fails[0].contains("Mid Week Logon")
            && fails[0].contains("35=5")
            && fails[0].contains("789 NextExpectedMsgSeqNum"),
        "{text}"
    );
}

#[test]
fn cert_exit_status_is_zero_when_every_selected_scenario_passes() {
    let out = ilinkd()
        .args(["cert", "--against", "sim", "--only", "Cancel on Behalf"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed, 0 failed, 0 skipped"), "{text}");
    // A selection matching nothing is bad input, not a pass.
    let out = ilinkd()
        .args(["cert", "--against", "sim", "--only", "no such scenario"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
