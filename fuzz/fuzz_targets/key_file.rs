//! The key file parser (`KeyFile::parse`) fed arbitrary text and an input-chosen "today": Ok or
//! an error, never a panic; and a secret (a `secret_key` string that appears once in the text)
//! never shows in the error, the warnings or the parsed file's Debug output.
#![no_main]

use ilinkd::auth::KeyFile;
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use time::{Date, Duration};

/// The `secret_key` strings of the text, when it is TOML of the expected shape.
fn secrets(text: &str) -> Vec<String> {
    let Ok(v) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let Some(toml::Value::Array(keys)) = v.get("key") else {
        return Vec::new();
    };
    keys.iter()
        .filter_map(|k| k.get("secret_key")?.as_str().map(str::to_owned))
        .filter(|s| s.len() >= 12 && text.matches(s.as_str()).count() == 1)
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let (day, text) = match data {
        [a, b, rest @ ..] => (i64::from(u16::from_le_bytes([*a, *b])), rest),
        _ => return,
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    // 2024-01-01 plus up to ~179 years.
    let base = Date::from_calendar_date(2024, time::Month::January, 1).expect("valid date");
    let today = base + Duration::days(day);
    let shown = show(text, today);
    for secret in secrets(text) {
        if !shown.contains(&secret) {
            continue;
        }
        // The secret's text may also be the output's own words (a fuzzed "secret" equal to an
        // error message): a leak is when the output follows the secret. Change every character
        // of it and parse again.
        let alt: String = secret
            .chars()
            .map(|c| if c == 'Q' { 'R' } else { 'Q' })
            .collect();
        let again = show(&text.replace(&secret, &alt), today);
        assert!(
            !again.contains(&alt),
            "a secret shows in the output: {shown}"
        );
    }
});

/// The error, or the parsed file's Debug output and warnings.
fn show(text: &str, today: Date) -> String {
    match KeyFile::parse(Path::new("fuzz-keys.toml"), text, today) {
        Err(e) => e.to_string(),
        Ok(kf) => {
            let active = kf.active();
            let _ = (
                active.days_left(today),
                active.is_expired(today),
                active.signer(),
            );
            let mut s = format!("{kf:?}");
            for w in kf.warnings() {
                s.push_str(&w.to_string());
            }
            for k in kf.keys() {
                s.push_str(&format!("{k:?}"));
            }
            s
        }
    }
}
