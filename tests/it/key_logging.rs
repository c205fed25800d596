//! Key loading never puts a secret in `Debug` output or in any log line.
//!
//! The logs are captured by a subscriber that is this test thread's default (not a global one:
//! the other tests of the binary log on their own threads, and must neither reach the capture nor
//! be formatted for it). Tracing caches per-callsite interest process-wide, so the test holds
//! [`crate::heavy`]: the in-process tests that load keys (daemon, simulator) are not running
//! while it registers its subscriber.

use ilinkd::auth::keys::decode_secret;
use ilinkd::store::keys::{KeyRing, KeySource};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use time::macros::date;

const SECRET_A: &str = "2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4";
const SECRET_B: &str = "gyJYeacu9T--a1tak4i5S-pBXxwCNK_wUqp9fh5usJ8";
const ID_A: &str = "AKIDAAAAAAAAAAAAAAA1";
const ID_B: &str = "AKIDBBBBBBBBBBBBBBB2";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn entry(id: &str, secret: &str, expires: &str) -> String {
    format!("[[key]]\naccess_key_id = \"{id}\"\nsecret_key = \"{secret}\"\nexpires = {expires}\n")
}

fn write(dir: &Path, text: &str, mode: u32) -> PathBuf {
    let path = dir.join("keys.toml");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn secret_never_in_debug_display_or_logs() {
    let _g = crate::heavy();
    let captured = Captured::default();
    let sink = captured.clone();
    let _log = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish(),
    );
    let today = date!(2026 - 11 - 22);
    let dir = tempfile::tempdir().unwrap();
    let secret_hex: String = decode_secret(SECRET_A)
        .unwrap()
        .expose()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    // A soon-expiring key (warning path), a reload that fails, a reload that rotates, and
    // every refusal path whose message could quote the file.
    let path = write(dir.path(), &entry(ID_A, SECRET_A, "2026-12-01"), 0o600);
    let mut ring = KeyRing::open(KeySource::File(path.clone()), today).unwrap();
    let debug = format!(
        "{ring:?} {:?} {:#?}",
        ring.current(),
        ring.current().active()
    );
    for needle in [SECRET_A, secret_hex.as_str()] {
        assert!(!debug.contains(needle), "Debug leaks the secret: {debug}");
    }
    assert!(debug.contains("<redacted>"));
    write(dir.path(), &entry(ID_A, SECRET_A, "2026-12-01"), 0o644);
    assert!(ring.reload(today).is_err());
    write(
        dir.path(),
        &format!("[[key]]\nsecret_key = \"{SECRET_B}\" x\n"),
        0o600,
    );
    let e = ring.reload(today).unwrap_err().to_string();
    assert!(!e.contains(SECRET_B), "{e}");
    std::fs::remove_file(&path).unwrap();
    let text = [
        entry(ID_A, SECRET_A, "2026-12-01"),
        entry(ID_B, SECRET_B, "2027-12-01"),
    ]
    .concat();
    write(dir.path(), &text, 0o600);
    assert!(ring.reload(today).unwrap());

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for want in [
        "key file loaded",
        "expires on 2026-12-01",
        "key reload refused",
        "permissions 0644 are too open",
        "active key rotated",
    ] {
        assert!(logs.contains(want), "missing {want:?} in logs:\n{logs}");
    }
    for needle in [SECRET_A, SECRET_B, secret_hex.as_str()] {
        assert!(!logs.contains(needle), "logs leak a secret:\n{logs}");
    }
}
