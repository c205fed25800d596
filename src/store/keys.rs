//! Key files on disk: reading one (refused when group or others can access it), where a
//! session's keys come from ([`KeySource`]), reload in place on SIGHUP ([`KeyRing`]) and the log
//! lines operations staff read. Parsing and validation of the text is `crate::auth::keys`.

use crate::auth::keys::{KeyError, KeyFile};
use std::fmt;
use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use time::Date;
use zeroize::Zeroizing;

/// Where a session's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A key file on disk.
    File(PathBuf),
    /// `demo:NAME`: a deterministic, publicly known key that only the built-in simulator accepts.
    /// The daemon refuses it for a gateway that is not on loopback.
    Demo(String),
}

impl KeySource {
    /// Parses a config value; relative paths are resolved against `base_dir` (the config's folder).
    pub fn parse(spec: &str, base_dir: &Path) -> Result<Self, KeyError> {
        if let Some(name) = spec.strip_prefix("demo:") {
            let ok = !name.is_empty()
                && name.len() <= 32
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                return Err(KeyError::BadDemoName { spec: spec.into() });
            }
            return Ok(KeySource::Demo(name.into()));
        }
        let p = Path::new(spec);
        Ok(KeySource::File(if p.is_absolute() {
            p.to_path_buf()
        } else {
            base_dir.join(p)
        }))
    }

    /// Loads and validates the keys.
    pub fn load(&self, today: Date) -> Result<KeyFile, KeyError> {
        match self {
            KeySource::File(path) => read_key_file(path, today),
            KeySource::Demo(name) => Ok(KeyFile::demo(name, today)),
        }
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::File(p) => write!(f, "{}", p.display()),
            KeySource::Demo(n) => write!(f, "demo:{n}"),
        }
    }
}

/// Reads and validates a key file. Refuses a file that group or others can access.
pub fn read_key_file(path: &Path, today: Date) -> Result<KeyFile, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    // fstat the open file, so the mode checked is the mode of what is read.
    let mode = file.metadata().map_err(io)?.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    let mut text = Zeroizing::new(String::new());
    file.read_to_string(&mut text).map_err(io)?;
    let kf = KeyFile::parse(path, &text, today)?;
    log_loaded(&kf, today);
    Ok(kf)
}

fn log_loaded(kf: &KeyFile, today: Date) {
    let k = kf.active();
    tracing::info!(
        file = %kf.source(),
        keys = kf.keys().len(),
        active_key = %k.access_key_id,
        expires = %k.expires,
        days_left = k.days_left(today),
        "key file loaded"
    );
    for w in kf.warnings() {
        tracing::warn!(file = %kf.source(), "{w}");
    }
}

/// The keys a session signs with, reloadable in place (SIGHUP).
#[derive(Debug)]
pub struct KeyRing {
    source: KeySource,
    file: KeyFile,
}

impl KeyRing {
    pub fn open(source: KeySource, today: Date) -> Result<KeyRing, KeyError> {
        let file = source.load(today)?;
        Ok(KeyRing { source, file })
    }

    pub fn current(&self) -> &KeyFile {
        &self.file
    }

    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// Re-reads the key source. On any error the keys already loaded stay in force, the reason
    /// is logged and returned. Returns whether the active key changed.
    pub fn reload(&mut self, today: Date) -> Result<bool, KeyError> {
        match self.source.load(today) {
            Ok(file) => {
                let changed = file.active().access_key_id != self.file.active().access_key_id;
                if changed {
                    tracing::info!(
                        file = %self.source,
                        from = %self.file.active().access_key_id,
                        to = %file.active().access_key_id,
                        "active key rotated"
                    );
                }
                self.file = file;
                Ok(changed)
            }
            Err(e) => {
                tracing::error!(
                    keeping = %self.file.active().access_key_id,
                    "key reload refused, keeping the keys already loaded: {e}"
                );
                Err(e)
            }
        }
    }
}

/// Today's date in UTC.
pub fn today_utc() -> Date {
    time::OffsetDateTime::now_utc().date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::KeyWarning;
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt as _;
    use time::macros::date;

    const SECRET_A: &str = "2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4";
    const ID_A: &str = "AKIDAAAAAAAAAAAAAAA1";
    const TODAY: Date = date!(2026 - 11 - 22);

    fn entry(id: &str, secret: &str, expires: &str) -> String {
        format!(
            "[[key]]\naccess_key_id = \"{id}\"\nsecret_key = \"{secret}\"\nexpires = {expires}\n"
        )
    }

    fn write(dir: &tempfile::TempDir, text: &str, mode: u32) -> PathBuf {
        let path = dir.path().join("keys.toml");
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn load_file(text: &str, mode: u32) -> Result<KeyFile, KeyError> {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, text, mode);
        read_key_file(&path, TODAY)
    }

    #[test]
    fn mode_0600_accepted_and_0644_refused() {
        let text = entry(ID_A, SECRET_A, "2027-06-30");
        let kf = load_file(&text, 0o600).unwrap();
        assert_eq!(kf.active().access_key_id.as_str(), ID_A);
        let err = load_file(&text, 0o644).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, KeyError::Permissions { mode: 0o644, .. }));
        assert!(msg.contains("permissions 0644 are too open"), "{msg}");
        assert!(msg.contains("keys.toml"), "{msg}");
        // Group-only access is refused too.
        assert!(matches!(
            load_file(&text, 0o640).unwrap_err(),
            KeyError::Permissions { .. }
        ));
        assert!(load_file(&text, 0o400).is_ok());
    }

    #[test]
    fn reload_keeps_old_keys_when_new_file_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, &entry(ID_A, SECRET_A, "2027-06-30"), 0o600);
        let mut ring = KeyRing::open(KeySource::File(path), TODAY).unwrap();
        let before = ring.current().active().signer().sign_bytes(b"x");
        write(&dir, "[[key]]\naccess_key_id = \"nope\"\n", 0o600);
        assert!(ring.reload(TODAY).is_err());
        assert_eq!(ring.current().active().access_key_id.as_str(), ID_A);
        assert_eq!(ring.current().active().signer().sign_bytes(b"x"), before);
    }

    #[test]
    fn demo_source_and_relative_paths() {
        let src = KeySource::parse("demo:ilink3-a", Path::new("/etc")).unwrap();
        let a = src.load(TODAY).unwrap();
        assert!(a.is_demo());
        assert!(matches!(a.warnings()[0], KeyWarning::DemoKey { .. }));
        assert!(KeySource::parse("demo:", Path::new("/")).is_err());
        assert_eq!(
            KeySource::parse("k.toml", Path::new("/etc/ilinkd")).unwrap(),
            KeySource::File("/etc/ilinkd/k.toml".into())
        );
    }
}
