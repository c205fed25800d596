//! The TOML config loaders (`Config::parse` for the daemon's file, `SimFile::parse` for the
//! simulator's) fed arbitrary text: Ok or a located error, never a panic. An accepted daemon
//! config is read in full, and each session section it accepted must also be accepted by the
//! session it configures (what `check-config` passes, the daemon must be able to start).
#![no_main]

use ilinkd::auth::{AccessKeyId, HmacSigner};
use ilinkd::config::sim::SimFile;
use ilinkd::config::Config;
use ilinkd::dropcopy::{DropCopySession, SeqNums};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    // A folder that does not exist: key files named relative to it are reported missing.
    let base = Path::new("/nonexistent/ilinkd-fuzz");
    match Config::parse(path, text, base) {
        Err(e) => {
            let _ = e.to_string();
        }
        Ok(cfg) => {
            let _ = cfg.embedded_simulator();
            for (_kind, _name, key) in cfg.session_keys() {
                let _ = cfg.key_source(key);
            }
            for s in &cfg.ilink3 {
                let _ = s.session_config();
            }
            for s in &cfg.strategy {
                let _ = s.segment_options();
            }
            for d in &cfg.dropcopy {
                let akid = AccessKeyId::parse("ABCDEFGHIJ0123456789").expect("valid id");
                if let Err(e) = DropCopySession::new(
                    d.session_config(),
                    akid,
                    HmacSigner::new(b"k"),
                    SeqNums::BEGINNING_OF_WEEK,
                ) {
                    panic!(
                        "config accepted [[dropcopy]] {:?} that the session refuses: {e}",
                        d.name
                    );
                }
            }
        }
    }
    if let Err(e) = SimFile::parse(path, text, base) {
        let _ = e.to_string();
    }
});
