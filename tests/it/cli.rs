//! The `ilinkd` command line: exit codes and messages operations staff see.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

fn ilinkd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ilinkd"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "info")
        .output()
        .expect("run ilinkd")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write_file(path: &Path, body: &str, mode: u32) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(body.as_bytes()).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

const SECRET: &str = "2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4";

fn key_file_text(expires: &str) -> String {
    format!(
        "[[key]]\naccess_key_id = \"AKIDAAAAAAAAAAAAAAA1\"\nsecret_key = \"{SECRET}\"\n\
         expires = {expires}\nlabel = \"current\"\n"
    )
}

#[test]
fn check_config_accepts_the_demo_config() {
    let o = ilinkd(&["check-config", "-c", "config/demo.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("config/demo.toml: ok"), "{}", text(&o));
}

#[test]
fn check_config_refuses_a_broken_copy_with_exit_2_and_the_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let demo =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml"))
            .unwrap();
    let broken = demo.replace("keepalive_ms = 5000", "keepalive_ms = \"five seconds\"");
    assert_ne!(broken, demo, "demo.toml changed: update this test");
    let path = dir.path().join("broken.toml");
    write_file(&path, &broken, 0o644);
    let o = ilinkd(&["check-config", "-c", path.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("broken.toml:"), "{out}");
    assert!(out.contains("ilink3[0].keepalive_ms: "), "{out}");
    assert!(out.contains("expected an integer"), "{out}");
}

#[test]
fn check_config_loads_key_files_and_reports_their_problems() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.toml");
    write_file(&keys, &key_file_text("2099-01-01"), 0o644);
    let cfg = dir.path().join("c.toml");
    write_file(
        &cfg,
        "[daemon]\nstate_dir = \"/tmp/s\"\n[[ilink3]]\nname = \"a\"\nsession_id = \"ABC\"\n\
         firm_id = \"007\"\nprimary = \"127.0.0.1:9000\"\nkey_file = \"keys.toml\"\n",
        0o600,
    );
    let o = ilinkd(&["check-config", "-c", cfg.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("permissions 0644 are too open"), "{out}");
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = ilinkd(&["check-config", "-c", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains(SECRET));
}

#[test]
fn keys_check_shows_ids_dates_and_days_but_never_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.toml");
    write_file(&keys, &key_file_text("2099-01-01"), 0o600);
    let o = ilinkd(&["keys", "check", keys.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("AKIDAAAAAAAAAAAAAAA1"), "{out}");
    assert!(out.contains("expires 2099-01-01"), "{out}");
    assert!(out.contains("days left"), "{out}");
    assert!(out.contains("(current)"), "{out}");
    assert!(!out.contains(SECRET), "secret printed: {out}");

    write_file(&keys, &key_file_text("2020-01-01"), 0o600);
    let o = ilinkd(&["keys", "check", keys.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("expired on 2020-01-01"), "{out}");
    assert!(out.contains("keys.toml"), "{out}");
}

#[test]
fn daemon_subcommands_without_a_daemon_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ilinkd.toml");
    let text_cfg =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml"))
            .unwrap()
            .replace(
                "state_dir = \"../target/demo-state\"",
                &format!(
                    "state_dir = {:?}\nshm_dir = {:?}",
                    dir.path().join("state"),
                    dir.path()
                ),
            );
    write_file(&cfg, &text_cfg, 0o644);
    let cfg = cfg.to_str().unwrap();

    let o = ilinkd(&["status", "-c", cfg]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("is the daemon running"), "{}", text(&o));

    let o = ilinkd(&["load", "-c", cfg, "--strategy", "load", "--orders", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("ilinkd-strategy-load"), "{}", text(&o));

    let o = ilinkd(&["load", "-c", cfg, "--strategy", "nope"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("no [[strategy]] named \"nope\" (have: load)"),
        "{}",
        text(&o)
    );

    let o = ilinkd(&["run", "-c", "config/missing.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("config/missing.toml: cannot read config"),
        "{}",
        text(&o)
    );
}
