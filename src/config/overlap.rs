//! Several daemons on one host (`ilinkd check-config -c a.toml -c b.toml`): what two configs
//! must not share.
//!
//! Each config is valid on its own ([`super::Config::load`] checked it); here every pair is
//! compared for what would make the two daemons step on each other:
//!
//! - **cores**: a hot thread busy-polls its core, so no core may appear in both daemons'
//!   `hot_cores` / `housekeeping_core`;
//! - **`daemon.state_dir`**: session stores, journals, the status file and Drop Copy rings live
//!   there;
//! - **shared-memory segments**: `<shm_dir>/ilinkd-strategy-<name>`: the same strategy name in
//!   the same `shm_dir`;
//! - **sessions**: an iLink 3 session (Session ID + Firm ID) or a Drop Copy session
//!   (SenderCompID) can be logged on once; a second daemon would log the first one out;
//! - **metrics and logs**: `daemon.name` (the `daemon` label of every metric and the status
//!   file), `latency.log_dir`, `latency.prom_file`, `latency.http_listen`.
//!
//! Relative paths resolve against each config's own folder, as the daemon resolves them.

use super::Config;
use std::fmt;
use std::path::{Component, Path, PathBuf};

/// One config and the file it came from (named in messages).
#[derive(Debug, Clone, Copy)]
pub struct Named<'a> {
    pub path: &'a Path,
    pub config: &'a Config,
}

/// Something two configs share: what, and which key in which file on each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    /// What is shared, e.g. `core 3` or `state_dir /var/lib/ilinkd`.
    pub what: String,
    /// `(file, key path)` in the first config.
    pub first: (PathBuf, String),
    /// `(file, key path)` in the second config.
    pub second: (PathBuf, String),
}

impl fmt::Display for Overlap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} {} and {} {}",
            self.what,
            self.first.0.display(),
            self.first.1,
            self.second.0.display(),
            self.second.1
        )
    }
}

/// A thing a config claims on the host, with the key that claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Claim {
    what: String,
    key: String,
}

/// `p` against the config's folder when relative, `.` and `..` folded, symlinks resolved when
/// the path exists.
fn place(cfg: &Config, p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        cfg.base_dir.join(p)
    };
    if let Ok(real) = joined.canonicalize() {
        return real;
    }
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c.as_os_str()),
        }
    }
    if out.is_relative() {
        if let Ok(cwd) = std::env::current_dir() {
            return cwd.join(out);
        }
    }
    out
}

/// Everything `cfg` claims on its host.
fn claims(cfg: &Config) -> Vec<Claim> {
    let mut out = Vec::new();
    let mut claim = |what: String, key: String| out.push(Claim { what, key });
    let d = &cfg.daemon;
    for (i, c) in d.hot_cores.iter().enumerate() {
        claim(format!("core {c}"), format!("daemon.hot_cores[{i}]"));
    }
    if !d.hot_cores.contains(&d.housekeeping_core) {
        claim(
            format!("core {}", d.housekeeping_core),
            "daemon.housekeeping_core".into(),
        );
    }
    claim(
        format!("state_dir {}", place(cfg, &d.state_dir).display()),
        "daemon.state_dir".into(),
    );
    claim(format!("daemon name {:?}", d.name), "daemon.name".into());
    let shm = place(cfg, &d.shm_dir);
    for (i, s) in cfg.strategy.iter().enumerate() {
        let seg = shm.join(crate::shm::strategy::segment_file_name(&s.name));
        claim(
            format!("shm segment {}", seg.display()),
            format!("strategy[{i}].name ({:?})", s.name),
        );
    }
    for (i, s) in cfg.ilink3.iter().enumerate() {
        claim(
            format!(
                "iLink 3 session {} of firm {}",
                s.session_id.to_ascii_uppercase(),
                s.firm_id.to_ascii_uppercase()
            ),
            format!("ilink3[{i}].session_id ({:?})", s.name),
        );
    }
    for (i, s) in cfg.dropcopy.iter().enumerate() {
        claim(
            format!(
                "Drop Copy session {}",
                s.sender_comp_id.to_ascii_uppercase()
            ),
            format!("dropcopy[{i}].sender_comp_id ({:?})", s.name),
        );
    }
    let l = &cfg.latency;
    if let Some(dir) = &l.log_dir {
        claim(
            format!("latency log folder {}", place(cfg, dir).display()),
            "latency.log_dir".into(),
        );
    }
    if let Some(f) = &l.prom_file {
        claim(
            format!("metrics file {}", place(cfg, f).display()),
            "latency.prom_file".into(),
        );
    }
    if let Some(a) = &l.http_listen {
        // Port 0 asks the kernel for a free port: never a clash.
        if a.port() != 0 {
            claim(
                format!("metrics port {}", a.port()),
                "latency.http_listen".into(),
            );
        }
    }
    out
}

/// Every overlap between every pair of `configs` (each pair once, in the order given).
pub fn overlaps(configs: &[Named<'_>]) -> Vec<Overlap> {
    let all: Vec<Vec<Claim>> = configs.iter().map(|n| claims(n.config)).collect();
    let mut out = Vec::new();
    for (i, a) in configs.iter().enumerate() {
        for (j, b) in configs.iter().enumerate().skip(i + 1) {
            for ca in &all[i] {
                for cb in all[j].iter().filter(|cb| cb.what == ca.what) {
                    out.push(Overlap {
                        what: ca.what.clone(),
                        first: (a.path.to_path_buf(), ca.key.clone()),
                        second: (b.path.to_path_buf(), cb.key.clone()),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Config text with the embedded simulator (no gateway addresses needed).
    fn parse(text: &str, dir: &Path) -> Config {
        let text = format!("{text}[simulator]\nembedded = true\n");
        Config::parse(Path::new("t.toml"), &text, dir).unwrap()
    }

    fn config(dir: &Path, body: &str) -> Config {
        let text = format!(
            "[daemon]\nname = \"x\"\nstate_dir = \"state\"\n{body}\n\
             [[ilink3]]\nname = \"eq\"\nsession_id = \"AAA\"\nfirm_id = \"001\"\nkey_file = \"demo:a\"\n"
        );
        parse(&text, dir)
    }

    fn whats(v: &[Overlap]) -> Vec<String> {
        v.iter().map(|o| o.what.clone()).collect()
    }

    #[test]
    fn disjoint_configs_do_not_overlap() {
        let d = tempfile::tempdir().unwrap();
        let a = config(d.path(), "hot_cores = [1]\nhousekeeping_core = 0");
        let text = "[daemon]\nname = \"y\"\nstate_dir = \"state-b\"\nhot_cores = [3]\n\
                    housekeeping_core = 2\n[[ilink3]]\nname = \"eq\"\nsession_id = \"BBB\"\n\
                    firm_id = \"001\"\nkey_file = \"demo:b\"\n";
        let b = parse(text, d.path());
        let v = overlaps(&[
            Named {
                path: Path::new("a.toml"),
                config: &a,
            },
            Named {
                path: Path::new("b.toml"),
                config: &b,
            },
        ]);
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn shared_core_state_dir_name_and_session_are_each_named() {
        let d = tempfile::tempdir().unwrap();
        let a = config(d.path(), "hot_cores = [1, 2]\nhousekeeping_core = 0");
        // Same folder, spelled differently: `./state` against `state`.
        let b_text = "[daemon]\nname = \"x\"\nstate_dir = \"./sub/../state\"\nhot_cores = [3]\n\
                      housekeeping_core = 2\n[[ilink3]]\nname = \"other\"\nsession_id = \"aaa\"\n\
                      firm_id = \"001\"\nkey_file = \"demo:b\"\n";
        let b = parse(b_text, d.path());
        let v = overlaps(&[
            Named {
                path: Path::new("a.toml"),
                config: &a,
            },
            Named {
                path: Path::new("b.toml"),
                config: &b,
            },
        ]);
        let state = d.path().join("state");
        assert_eq!(
            whats(&v),
            vec![
                "core 2".to_string(),
                format!("state_dir {}", state.display()),
                "daemon name \"x\"".to_string(),
                "iLink 3 session AAA of firm 001".to_string(),
            ]
        );
        assert_eq!(
            v[0].to_string(),
            "core 2: a.toml daemon.hot_cores[1] and b.toml daemon.housekeeping_core"
        );
        assert_eq!(
            v[3].to_string(),
            "iLink 3 session AAA of firm 001: a.toml ilink3[0].session_id (\"eq\") and \
             b.toml ilink3[0].session_id (\"other\")"
        );
    }

    #[test]
    fn shm_segments_clash_only_in_the_same_folder() {
        let d = tempfile::tempdir().unwrap();
        let strat = "[[strategy]]\nname = \"alpha\"\nsessions = [\"eq\"]\n";
        let mk = |name: &str, shm: &str, sid: &str| {
            let text = format!(
                "[daemon]\nname = \"{name}\"\nstate_dir = \"{name}\"\nshm_dir = \"{shm}\"\n\
                 hot_cores = [{sid_core}]\nhousekeeping_core = {sid_core}\n\
                 [[ilink3]]\nname = \"eq\"\nsession_id = \"{sid}\"\nfirm_id = \"001\"\n\
                 key_file = \"demo:x\"\n{strat}",
                sid_core = name.len()
            );
            parse(&text, d.path())
        };
        let a = mk("a", "/dev/shm", "AAA");
        let b = mk("bb", "/dev/shm", "BBB");
        let c = mk("ccc", "/dev/shm/ilinkd-ccc", "CCC");
        let v = overlaps(&[
            Named {
                path: Path::new("a.toml"),
                config: &a,
            },
            Named {
                path: Path::new("b.toml"),
                config: &b,
            },
            Named {
                path: Path::new("c.toml"),
                config: &c,
            },
        ]);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(
            v[0].to_string(),
            "shm segment /dev/shm/ilinkd-strategy-alpha: a.toml strategy[0].name (\"alpha\") \
             and b.toml strategy[0].name (\"alpha\")"
        );
    }
}
