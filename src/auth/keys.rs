//! CME key pairs: key file text, validation and choice of the active key (no file system, no
//! logging: reading the file, its permission check, reload and logging live in
//! `crate::store::keys`).
//!
//! A key file is TOML with one or two `[[key]]` entries, as CME allows two key pairs during the
//! four-week overlap before the older one expires:
//!
//! ```toml
//! [[key]]
//! access_key_id = "AKIDEXAMPLE000000001"   # 20 characters
//! secret_key    = "2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4"  # base64url, as downloaded
//! expires       = 2027-06-30
//! label         = "2026 rotation"          # optional
//! ```
//!
//! The newest unexpired key (latest `expires`) signs. Secrets are zeroized on drop, print as
//! `<redacted>` and never appear in logs or error messages.

use super::signer::HmacSigner;
use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
use base64::Engine as _;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use time::Date;
use zeroize::{Zeroize, Zeroizing};

/// CME Access Key IDs are exactly this long.
pub const ACCESS_KEY_ID_LEN: usize = 20;
/// Warn when the active key expires within this many days (CME's overlap window).
pub const EXPIRY_WARNING_DAYS: i64 = 28;
/// At most this many keys live at once (the four-week overlap).
pub const MAX_KEYS: usize = 2;
/// Shortest secret accepted, in decoded bytes (CME issues 32-byte secrets).
pub const MIN_SECRET_BYTES: usize = 16;

/// Everything that can be wrong with a key file. Every message names the file; none contains a
/// secret.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: cannot read key file: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: permissions {mode:04o} are too open; a key file must not be accessible by group \
         or others (run: chmod 600 {path})"
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: no [[key]] entry; download the key pair from CME Request Center and add it")]
    NoKeys { path: PathBuf },
    #[error(
        "{path}: holds {count} keys but CME allows at most {MAX_KEYS} (the four-week overlap): \
         delete the oldest, {oldest}"
    )]
    TooManyKeys {
        path: PathBuf,
        count: usize,
        oldest: String,
    },
    #[error("{path}: key[{index}].access_key_id {id:?}: {reason}")]
    BadAccessKeyId {
        path: PathBuf,
        index: usize,
        id: String,
        reason: AccessKeyIdError,
    },
    #[error("{path}: key[{index}].secret_key ({id}): {reason}")]
    BadSecret {
        path: PathBuf,
        index: usize,
        id: String,
        reason: SecretError,
    },
    #[error("{path}: key[{index}].expires: {reason}")]
    BadExpiry {
        path: PathBuf,
        index: usize,
        reason: ExpiryError,
    },
    #[error("{path}: access key id {id} appears twice")]
    DuplicateId { path: PathBuf, id: String },
    #[error(
        "{path}: key {id} expired on {expired}{others}; generate and download a new key pair in \
         CME Request Center"
    )]
    Expired {
        path: PathBuf,
        id: String,
        expired: Date,
        others: String,
    },
    #[error(
        "{spec:?}: demo keys are named demo:NAME with NAME of 1-32 letters, digits, '-' or '_'"
    )]
    BadDemoName { spec: String },
}

/// Why an Access Key ID is not one CME issues.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessKeyIdError {
    #[error("must be exactly {ACCESS_KEY_ID_LEN} characters, found {found}")]
    Length { found: usize },
    #[error("character {position} ({ch:?}) is not a letter, digit, '-' or '_'")]
    Character { position: usize, ch: char },
}

/// Why a secret does not decode. Never contains the secret, nor any character of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("is empty")]
    Empty,
    #[error("is not base64url: character {position} is not allowed{}", if *.standard_base64 {
        " (that is standard base64; CME secrets are base64url, with '-' and '_')"
    } else {
        ""
    })]
    NotBase64Url {
        position: usize,
        standard_base64: bool,
    },
    #[error("is not valid base64url ({0})")]
    Invalid(RedactedBase64Error),
    #[error(
        "decodes to {0} bytes; CME secrets are 32 bytes (at least {MIN_SECRET_BYTES} accepted)"
    )]
    TooShort(usize),
}

/// base64's errors quote the offending byte; that byte is part of the secret, so only the kind
/// and position are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedactedBase64Error {
    #[error("invalid character at {0}")]
    InvalidByte(usize),
    #[error("invalid length {0}")]
    InvalidLength(usize),
    #[error("invalid last character at {0}")]
    InvalidLastSymbol(usize),
    #[error("invalid padding")]
    InvalidPadding,
}

/// Why an `expires` value is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error("expected a date like 2027-06-30, found {0}")]
    NotADate(String),
    #[error("{0}")]
    OutOfRange(String),
}

/// A validated 20-character Access Key ID (not secret: it is sent in every logon).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AccessKeyId(String);

impl AccessKeyId {
    /// Checks CME's 20-character rule.
    pub fn parse(s: &str) -> Result<Self, AccessKeyIdError> {
        let n = s.chars().count();
        if n != ACCESS_KEY_ID_LEN {
            return Err(AccessKeyIdError::Length { found: n });
        }
        if let Some((i, c)) = s
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(AccessKeyIdError::Character {
                position: i + 1,
                ch: c,
            });
        }
        Ok(AccessKeyId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessKeyId({})", self.0)
    }
}

/// Decoded secret key bytes. Zeroized on drop; `Debug` and `Display` print `<redacted>`.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<Vec<u8>>);

impl SecretKey {
    /// The raw key bytes, for building a signer.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes a secret as downloaded from CME: base64url, `=` padding optional. The error never
/// contains the secret.
pub fn decode_secret(text: &str) -> Result<SecretKey, SecretError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SecretError::Empty);
    }
    if let Some((i, c)) = text
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '=')))
    {
        return Err(SecretError::NotBase64Url {
            position: i + 1,
            standard_base64: c == '+' || c == '/',
        });
    }
    let bytes = Zeroizing::new(
        BASE64URL
            .decode(text)
            .map_err(|e| SecretError::Invalid(redact_b64_error(&e)))?,
    );
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(SecretError::TooShort(bytes.len()));
    }
    Ok(SecretKey(bytes))
}

fn redact_b64_error(e: &base64::DecodeError) -> RedactedBase64Error {
    match *e {
        base64::DecodeError::InvalidByte(at, _) => RedactedBase64Error::InvalidByte(at + 1),
        base64::DecodeError::InvalidLength(n) => RedactedBase64Error::InvalidLength(n),
        base64::DecodeError::InvalidLastSymbol(at, _) => {
            RedactedBase64Error::InvalidLastSymbol(at + 1)
        }
        base64::DecodeError::InvalidPadding => RedactedBase64Error::InvalidPadding,
    }
}

/// One key pair.
#[derive(Clone)]
pub struct KeyEntry {
    pub access_key_id: AccessKeyId,
    secret: SecretKey,
    /// Last day the key is valid (CME: it expires at market close).
    pub expires: Date,
    pub label: Option<String>,
}

impl fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyEntry")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &self.secret)
            .field("expires", &self.expires)
            .field("label", &self.label)
            .finish()
    }
}

impl KeyEntry {
    /// Builds a precomputed HMAC signer for this key.
    pub fn signer(&self) -> HmacSigner {
        HmacSigner::new(self.secret.expose())
    }

    /// Days from `today` until expiry (0 on the last valid day, negative once expired).
    pub fn days_left(&self, today: Date) -> i64 {
        (self.expires - today).whole_days()
    }

    pub fn is_expired(&self, today: Date) -> bool {
        self.days_left(today) < 0
    }
}

/// Something worth telling operations staff about a valid key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyWarning {
    /// The active key expires within [`EXPIRY_WARNING_DAYS`].
    ExpiresSoon {
        id: String,
        expires: Date,
        days_left: i64,
    },
    /// An older key in the file has expired; it is ignored and should be deleted.
    ExpiredEntry { id: String, expired: Date },
    /// A demo key: only for the built-in simulator.
    DemoKey { id: String },
}

impl fmt::Display for KeyWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyWarning::ExpiresSoon {
                id,
                expires,
                days_left,
            } => write!(
                f,
                "key {id} expires on {expires} ({days_left} days left): generate the next key \
                 pair in CME Request Center and add it to the file"
            ),
            KeyWarning::ExpiredEntry { id, expired } => write!(
                f,
                "key {id} expired on {expired} and is ignored: delete it from the file"
            ),
            KeyWarning::DemoKey { id } => write!(
                f,
                "key {id} is a public demo key: it only works against the built-in simulator"
            ),
        }
    }
}

/// A validated key file: one or two keys, newest first.
#[derive(Clone)]
pub struct KeyFile {
    source: String,
    keys: Vec<KeyEntry>,
    warnings: Vec<KeyWarning>,
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFile")
            .field("source", &self.source)
            .field("keys", &self.keys)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    key: Vec<RawKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    access_key_id: String,
    secret_key: String,
    expires: toml::Value,
    label: Option<String>,
}

impl Drop for RawKey {
    fn drop(&mut self) {
        self.secret_key.zeroize();
    }
}

impl KeyFile {
    /// Validates key file text (`path` is only used in messages).
    pub fn parse(path: &Path, text: &str, today: Date) -> Result<KeyFile, KeyError> {
        let p = || path.to_path_buf();
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            // toml's Display quotes the offending line, which may hold a secret: use only the
            // message and the position.
            let (line, column) = e
                .span()
                .map(|s| crate::types::line_col(text, s.start))
                .unwrap_or((1, 1));
            KeyError::Syntax {
                path: p(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        if raw.key.is_empty() {
            return Err(KeyError::NoKeys { path: p() });
        }
        let mut keys = Vec::with_capacity(raw.key.len());
        for (index, rk) in raw.key.iter().enumerate() {
            let access_key_id = AccessKeyId::parse(&rk.access_key_id).map_err(|reason| {
                KeyError::BadAccessKeyId {
                    path: p(),
                    index,
                    id: rk.access_key_id.clone(),
                    reason,
                }
            })?;
            let secret = decode_secret(&rk.secret_key).map_err(|reason| KeyError::BadSecret {
                path: p(),
                index,
                id: rk.access_key_id.clone(),
                reason,
            })?;
            let expires = parse_date(&rk.expires).map_err(|reason| KeyError::BadExpiry {
                path: p(),
                index,
                reason,
            })?;
            if keys
                .iter()
                .any(|k: &KeyEntry| k.access_key_id == access_key_id)
            {
                return Err(KeyError::DuplicateId {
                    path: p(),
                    id: access_key_id.0,
                });
            }
            keys.push(KeyEntry {
                access_key_id,
                secret,
                expires,
                label: rk.label.clone(),
            });
        }
        // Newest (latest expiry) first.
        keys.sort_by_key(|k| std::cmp::Reverse(k.expires));
        if keys.len() > MAX_KEYS {
            return Err(KeyError::TooManyKeys {
                path: p(),
                count: keys.len(),
                oldest: keys.last().expect("non-empty").access_key_id.0.clone(),
            });
        }
        let newest = &keys[0];
        if newest.is_expired(today) {
            let others = if keys.len() > 1 {
                " and so has every other key in the file".to_string()
            } else {
                String::new()
            };
            return Err(KeyError::Expired {
                path: p(),
                id: newest.access_key_id.0.clone(),
                expired: newest.expires,
                others,
            });
        }
        let mut warnings = Vec::new();
        let days_left = newest.days_left(today);
        if days_left <= EXPIRY_WARNING_DAYS {
            warnings.push(KeyWarning::ExpiresSoon {
                id: newest.access_key_id.0.clone(),
                expires: newest.expires,
                days_left,
            });
        }
        for k in keys.iter().skip(1).filter(|k| k.is_expired(today)) {
            warnings.push(KeyWarning::ExpiredEntry {
                id: k.access_key_id.0.clone(),
                expired: k.expires,
            });
        }
        Ok(KeyFile {
            source: path.display().to_string(),
            keys,
            warnings,
        })
    }

    /// A deterministic demo key (publicly derivable: for the simulator only).
    pub fn demo(name: &str, today: Date) -> KeyFile {
        use sha2::Digest as _;
        let secret = sha2::Sha256::digest(format!("ilinkd public demo key {name}").as_bytes());
        let mut id = format!("DEMO{name}").to_ascii_uppercase().replace('-', "_");
        id.truncate(ACCESS_KEY_ID_LEN);
        while id.len() < ACCESS_KEY_ID_LEN {
            id.push('0');
        }
        let entry = KeyEntry {
            access_key_id: AccessKeyId(id.clone()),
            secret: SecretKey(Zeroizing::new(secret.to_vec())),
            expires: today + time::Duration::days(365),
            label: Some("public demo key".into()),
        };
        KeyFile {
            source: format!("demo:{name}"),
            keys: vec![entry],
            warnings: vec![KeyWarning::DemoKey { id }],
        }
    }

    /// The key that signs: the newest unexpired one.
    pub fn active(&self) -> &KeyEntry {
        &self.keys[0]
    }

    /// All keys, newest first.
    pub fn keys(&self) -> &[KeyEntry] {
        &self.keys
    }

    /// Findings worth a warning (never errors).
    pub fn warnings(&self) -> &[KeyWarning] {
        &self.warnings
    }

    /// Where the keys came from (a path or `demo:NAME`).
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn is_demo(&self) -> bool {
        self.source.starts_with("demo:")
    }
}

fn parse_date(v: &toml::Value) -> Result<Date, ExpiryError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let range = |e: time::error::ComponentRange| ExpiryError::OutOfRange(e.to_string());
    match v {
        toml::Value::Datetime(dt) => match (dt.date, dt.time) {
            (Some(d), None) => Date::from_calendar_date(
                i32::from(d.year),
                time::Month::try_from(d.month).map_err(range)?,
                d.day,
            )
            .map_err(range),
            _ => Err(ExpiryError::NotADate(format!("the date-time {dt}"))),
        },
        toml::Value::String(s) => {
            Date::parse(s.trim(), &fmt).map_err(|_| ExpiryError::NotADate(format!("{s:?}")))
        }
        other => Err(ExpiryError::NotADate(format!("a {}", other.type_str()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const SECRET_A: &str = "2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4";
    const SECRET_B: &str = "gyJYeacu9T--a1tak4i5S-pBXxwCNK_wUqp9fh5usJ8";
    const ID_A: &str = "AKIDAAAAAAAAAAAAAAA1";
    const ID_B: &str = "AKIDBBBBBBBBBBBBBBB2";
    const TODAY: Date = date!(2026 - 11 - 22);

    fn entry(id: &str, secret: &str, expires: &str) -> String {
        format!(
            "[[key]]\naccess_key_id = \"{id}\"\nsecret_key = \"{secret}\"\nexpires = {expires}\n"
        )
    }

    fn load(text: &str, _mode: u32) -> Result<KeyFile, KeyError> {
        KeyFile::parse(Path::new("/etc/ilinkd/keys.toml"), text, TODAY)
    }

    #[test]
    fn demo_keys_are_deterministic_and_flagged() {
        let a = KeyFile::demo("ilink3-a", TODAY);
        let b = KeyFile::demo("ilink3-a", TODAY);
        assert!(a.is_demo());
        assert_eq!(a.active().access_key_id.as_str().len(), ACCESS_KEY_ID_LEN);
        assert_eq!(a.active().secret.expose(), b.active().secret.expose());
        assert!(matches!(a.warnings()[0], KeyWarning::DemoKey { .. }));
    }

    #[test]
    fn third_key_refused_naming_the_oldest() {
        let text = [
            entry(ID_A, SECRET_A, "2027-01-10"),
            entry(ID_B, SECRET_B, "2027-12-01"),
            entry("AKIDCCCCCCCCCCCCCCC3", SECRET_B, "2026-12-15"),
        ]
        .concat();
        let err = load(&text, 0o600).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("delete the oldest, AKIDCCCCCCCCCCCCCCC3"),
            "{msg}"
        );
        assert!(msg.contains("keys.toml"), "{msg}");
    }

    #[test]
    fn malformed_secrets_refused_without_echoing_them() {
        for (secret, want) in [
            ("", "is empty"),
            (
                "abc+def/ghijklmnopqrstuvwxyz0123456789ABCDE",
                "standard base64",
            ),
            (
                "abc*defghijklmnopqrstuvwxyz0123456789ABCDEF",
                "not base64url",
            ),
            ("c2hvcnQ", "decodes to 5 bytes"),
            (
                "2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4AB",
                "not valid base64url",
            ),
        ] {
            let err = load(&entry(ID_A, secret, "2027-06-30"), 0o600).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, KeyError::BadSecret { .. }), "{secret}: {msg}");
            assert!(msg.contains(want), "{secret}: {msg}");
            assert!(msg.contains("keys.toml"), "{msg}");
            if !secret.is_empty() {
                assert!(!msg.contains(secret), "error echoes the secret: {msg}");
            }
        }
    }

    #[test]
    fn padding_is_optional() {
        let padded = format!("{SECRET_A}=");
        let a = load(&entry(ID_A, SECRET_A, "2027-06-30"), 0o600).unwrap();
        let b = load(&entry(ID_A, &padded, "2027-06-30"), 0o600).unwrap();
        assert_eq!(a.active().secret.expose(), b.active().secret.expose());
        assert_eq!(a.active().secret.expose().len(), 32);
    }

    #[test]
    fn access_key_id_must_be_20_chars() {
        for (id, want) in [
            ("AKIDSHORT", "exactly 20 characters, found 9"),
            ("AKIDAAAAAAAAAAAAAAAAAAAA", "found 24"),
            ("AKID AAAAAAAAAAAAAAA", "character 5"),
        ] {
            let err = load(&entry(id, SECRET_A, "2027-06-30"), 0o600).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, KeyError::BadAccessKeyId { .. }), "{msg}");
            assert!(msg.contains(want), "{msg}");
            assert!(msg.contains("keys.toml"), "{msg}");
        }
    }

    #[test]
    fn expired_key_refused() {
        let err = load(&entry(ID_A, SECRET_A, "2026-11-21"), 0o600).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, KeyError::Expired { .. }), "{msg}");
        assert!(msg.contains("expired on 2026-11-21"), "{msg}");
        assert!(msg.contains("keys.toml"), "{msg}");
        // The last valid day still works (CME: expires at market close that day).
        assert!(load(&entry(ID_A, SECRET_A, "2026-11-22"), 0o600).is_ok());
    }

    #[test]
    fn newest_unexpired_key_is_chosen_and_expired_older_key_warned() {
        let text = [
            entry(ID_B, SECRET_B, "2027-12-01"),
            entry(ID_A, SECRET_A, "2026-12-10"),
        ]
        .concat();
        let kf = load(&text, 0o600).unwrap();
        assert_eq!(kf.active().access_key_id.as_str(), ID_B);
        assert!(kf.warnings().is_empty(), "{:?}", kf.warnings());

        // During the overlap the old key has expired: keep running on the new one, warn.
        let text = [
            entry(ID_A, SECRET_A, "2026-11-01"),
            entry(ID_B, SECRET_B, "2027-12-01"),
        ]
        .concat();
        let kf = load(&text, 0o600).unwrap();
        assert_eq!(kf.active().access_key_id.as_str(), ID_B);
        assert_eq!(
            kf.warnings(),
            &[KeyWarning::ExpiredEntry {
                id: ID_A.into(),
                expired: date!(2026 - 11 - 01)
            }]
        );
    }

    #[test]
    fn expiry_within_28_days_warns() {
        let kf = load(&entry(ID_A, SECRET_A, "2026-12-20"), 0o600).unwrap();
        assert_eq!(
            kf.warnings(),
            &[KeyWarning::ExpiresSoon {
                id: ID_A.into(),
                expires: date!(2026 - 12 - 20),
                days_left: 28
            }]
        );
        let kf = load(&entry(ID_A, SECRET_A, "2026-12-21"), 0o600).unwrap();
        assert!(kf.warnings().is_empty());
    }

    #[test]
    fn dates_as_strings_labels_and_syntax_errors() {
        let text = format!(
            "[[key]]\naccess_key_id = \"{ID_A}\"\nsecret_key = \"{SECRET_A}\"\nexpires = \"2027-06-30\"\nlabel = \"2026\"\n"
        );
        let kf = load(&text, 0o600).unwrap();
        assert_eq!(kf.active().label.as_deref(), Some("2026"));
        let err = load(&entry(ID_A, SECRET_A, "\"30/06/2027\""), 0o600).unwrap_err();
        assert!(err.to_string().contains("key[0].expires"), "{err}");
        // Unknown field, reported with its line and without quoting the secret's line.
        let text = format!("{}colour = 1\n", entry(ID_A, SECRET_A, "2027-06-30"));
        let err = load(&text, 0o600).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, KeyError::Syntax { line: 5, .. }), "{msg}");
        assert!(msg.contains("unknown field `colour`"), "{msg}");
        // A syntax error on the secret's own line must not print the secret.
        let text = format!("[[key]]\nsecret_key = \"{SECRET_A}\" junk\n");
        let msg = load(&text, 0o600).unwrap_err().to_string();
        assert!(!msg.contains(SECRET_A), "{msg}");
        assert!(msg.contains(":2:"), "{msg}");
        assert!(matches!(load("", 0o600), Err(KeyError::NoKeys { .. })));
    }
}
