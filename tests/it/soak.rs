//! The chaos soak, 60 seconds of it (`scripts/soak.sh` runs the same driver for longer): the
//! daemon as `ilinkd run` against the simulator under random faults and kill -9, with
//! `ilinkd load` runs one after another; every invariant must hold. The seed is printed (and
//! in the failure message) so a failure can be replayed with `ilinkd soak --seed`.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ilinkd");

#[test]
fn chaos_soak_60_s_keeps_every_invariant() {
    let _g = crate::heavy();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["soak", "--seconds", "60", "--rate", "100", "--dir"])
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .output()
        .expect("ilinkd soak runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("INVARIANT "))
        .collect();
    for l in &lines {
        println!("{l}");
    }
    for name in [
        "seq_unique",
        "clordid_unique",
        "requests_answered",
        "reports_once",
        "dropcopy_reconciled",
        "no_panic",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("INVARIANT {name} ok "))),
            "invariant {name} does not hold:\n{text}"
        );
    }
    assert!(out.status.success(), "{text}");
}
