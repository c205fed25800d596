//! The simulator's configuration file (`config/sim.toml`, which documents every key), mapped onto
//! the [`SimConfig`] a `SimServer` runs from; and the simulator a daemon config embeds.
//!
//! Same standard as the daemon's config: unknown keys are refused; a file that does not parse
//! is refused with its name, line, column and key path; a file that parses is checked as a whole
//! and every problem is reported at once ([`ConfigError`]).

use super::{Config, ConfigError, FsyncPolicy, Problem};
use crate::dropcopy::report::Decimal9;
use crate::sim::config::{
    AfterBy, AfterCount, DropCopyEndpoint, Ilink3Endpoint, SessionFaults, SimConfig, SimKey,
};
use crate::sim::{EngineMode, Instrument};
use crate::store::keys::KeySource;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use time::Date;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimFile {
    #[serde(default)]
    pub sim: SimSection,
    #[serde(default)]
    pub ilink3: Vec<SimIlink3>,
    #[serde(default)]
    pub dropcopy: Vec<SimDropCopy>,
    #[serde(default)]
    pub instrument: Vec<SimInstrument>,
    /// Folder of the file, for resolving relative paths.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[sim]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimSection {
    /// Address every port binds on.
    #[serde(default = "loopback")]
    pub listen: IpAddr,
    #[serde(default)]
    pub mode: ModeName,
    /// Benchmark mode: also fill every order at its price.
    #[serde(default)]
    pub benchmark_fill: bool,
    /// Sequence state and sent messages survive restarts here; in memory when absent.
    pub state_dir: Option<PathBuf>,
    #[serde(default = "fsync_never", with = "super::FsyncPolicyDef")]
    pub fsync: FsyncPolicy,
    /// Accepted iLink 3 KeepAliveInterval, ms (CME: 5000-60000).
    #[serde(default = "default_keepalive_min_ms")]
    pub keepalive_min_ms: u16,
    #[serde(default = "default_keepalive_max_ms")]
    pub keepalive_max_ms: u16,
    /// Accepted Drop Copy HeartBtInt, s (CME: 5-60).
    #[serde(default = "default_heartbeat_min_s")]
    pub heartbeat_min_s: u32,
    #[serde(default = "default_heartbeat_max_s")]
    pub heartbeat_max_s: u32,
    /// Business messages kept per session for retransmission.
    #[serde(default = "default_retention")]
    pub journal_retention: usize,
    /// What the server loop does when idle: `spin`, `spin-then-yield` (yield briefly, then block
    /// on socket readiness until input or the next timer), `park` (block at once).
    #[serde(default, with = "super::IdleStrategyDef")]
    pub idle: super::IdleStrategy,
    /// Orders must name a PartyDetailsListReqID registered with a 518 (or listed in
    /// `parties`); others get a BusinessReject.
    #[serde(default)]
    pub require_party_registration: bool,
    /// Pre-registered PartyDetailsListReqIDs.
    #[serde(default)]
    pub parties: Vec<u64>,
    /// Messaging controls: cancels + mass actions per second and session above which they are
    /// rejected (CME: 1000) and the session is terminated with Cancel on Disconnect (1500).
    #[serde(default = "default_cancel_reject_per_s")]
    pub cancel_reject_per_s: u32,
    #[serde(default = "default_cancel_logout_per_s")]
    pub cancel_logout_per_s: u32,
    /// Cancel on Disconnect when a connection drops without a Terminate.
    #[serde(default)]
    pub cancel_on_disconnect: bool,
    /// Fault: bust (TradeAddendum ExecType H) every Nth trade; 0 never.
    #[serde(default)]
    pub bust_every: u64,
    /// Fault: correct (ExecType G, one tick up) every Nth trade; 0 never.
    #[serde(default)]
    pub correct_every: u64,
}

fn default_cancel_reject_per_s() -> u32 {
    1000
}

fn default_cancel_logout_per_s() -> u32 {
    1500
}

impl Default for SimSection {
    fn default() -> Self {
        SimSection {
            listen: loopback(),
            mode: ModeName::Book,
            benchmark_fill: false,
            state_dir: None,
            require_party_registration: false,
            parties: Vec::new(),
            cancel_reject_per_s: default_cancel_reject_per_s(),
            cancel_logout_per_s: default_cancel_logout_per_s(),
            cancel_on_disconnect: false,
            bust_every: 0,
            correct_every: 0,
            fsync: fsync_never(),
            keepalive_min_ms: default_keepalive_min_ms(),
            keepalive_max_ms: default_keepalive_max_ms(),
            heartbeat_min_s: default_heartbeat_min_s(),
            heartbeat_max_s: default_heartbeat_max_s(),
            journal_retention: default_retention(),
            idle: SimConfig::new().idle,
        }
    }
}

// Defaults are the simulator's own (`SimConfig::new`): CME's limits, loopback, no fsync.
fn loopback() -> IpAddr {
    SimConfig::new().listen
}
fn yes() -> bool {
    true
}
fn fsync_never() -> FsyncPolicy {
    SimConfig::new().fsync
}
fn default_keepalive_min_ms() -> u16 {
    SimConfig::new().keepalive_min_ms
}
fn default_keepalive_max_ms() -> u16 {
    SimConfig::new().keepalive_max_ms
}
fn default_heartbeat_min_s() -> u32 {
    SimConfig::new().heartbeat_min_s
}
fn default_heartbeat_max_s() -> u32 {
    SimConfig::new().heartbeat_max_s
}
fn default_retention() -> usize {
    SimConfig::new().journal_retention
}

/// `sim.mode`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModeName {
    /// Limit order books with price-time priority.
    #[default]
    Book,
    /// Acknowledge every order without a book (throughput tests).
    Benchmark,
}

/// `[[ilink3]]`: an iLink 3 session the simulator accepts, on its own port.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimIlink3 {
    pub session_id: String,
    pub firm_id: String,
    /// Key file (relative to this file) or `demo:NAME`.
    pub key_file: String,
    /// 0 = any free port (embedded use reads the bound port).
    #[serde(default)]
    pub port: u16,
    #[serde(default)]
    pub faults: FaultsFile,
}

/// `[[dropcopy]]`: a Drop Copy session the simulator accepts, on its own port.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimDropCopy {
    /// The client's SenderCompID (49).
    pub sender_comp_id: String,
    /// Firms whose executions it receives; empty = all.
    #[serde(default)]
    pub firms: Vec<String>,
    pub key_file: String,
    #[serde(default)]
    pub port: u16,
    /// Reports as 35=n with the FIX message in 212/213 inside `<RTRF>` (CME's format, the
    /// default); `false`: bare 35=8.
    #[serde(default = "yes")]
    pub xml_non_fix: bool,
    #[serde(default)]
    pub faults: FaultsFile,
}

/// `[[instrument]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimInstrument {
    pub security_id: i32,
    /// Tag 55 on Drop Copy; the SecurityID when absent.
    pub symbol: Option<String>,
    /// Minimum price increment, e.g. `0.25` or `"0.25"`.
    pub tick: Tick,
    /// MarketSegmentID (mass action scope 9, mass status).
    pub market_segment_id: Option<u8>,
    /// SecurityGroup (mass action scope 10).
    pub security_group: Option<String>,
    /// Legs of a spread: `[{ security_id = 1, ratio = 1, same_side = true }, ...]`.
    #[serde(default)]
    pub legs: Vec<SimLeg>,
}

/// One leg of a spread `[[instrument]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimLeg {
    pub security_id: i32,
    #[serde(default = "one")]
    pub ratio: u32,
    #[serde(default = "yes")]
    pub same_side: bool,
}

fn one() -> u32 {
    1
}

/// A tick size written as a number or a decimal string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Tick {
    Text(String),
    Float(f64),
    Int(i64),
}

impl Tick {
    /// PRICE9 mantissa.
    pub fn mantissa(&self) -> Option<i64> {
        let text = match self {
            Tick::Text(s) => s.clone(),
            Tick::Float(f) => format!("{f}"),
            Tick::Int(i) => i.to_string(),
        };
        Decimal9::parse(0, text.trim().as_bytes())
            .ok()
            .map(|d| d.0)
            .filter(|&m| m > 0)
    }
}

/// `skip`/`not_applied = { after = K, count = N }`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct AfterCountFile {
    after: u64,
    count: u32,
}

/// `failover_jump = { after = K, by = N }`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct AfterByFile {
    after: u64,
    by: u64,
}

/// `[ilink3.faults]` / `[dropcopy.faults]`: see [`SessionFaults`] for each key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsFile {
    connections: Option<u32>,
    skip: Option<AfterCountFile>,
    not_applied: Option<AfterCountFile>,
    disconnect_after: Option<u64>,
    delay_ms: Option<u64>,
    #[serde(default)]
    silent: bool,
    #[serde(default)]
    reject_signatures: bool,
    #[serde(default)]
    duplicate: bool,
    failover_jump: Option<AfterByFile>,
    withhold: Option<AfterCountFile>,
}

impl FaultsFile {
    /// The simulator's fault settings.
    pub fn to_faults(&self) -> SessionFaults {
        let ac = |a: AfterCountFile| AfterCount {
            after: a.after,
            count: a.count,
        };
        SessionFaults {
            connections: self.connections,
            skip: self.skip.map(ac),
            not_applied: self.not_applied.map(ac),
            disconnect_after: self.disconnect_after,
            delay_ms: self.delay_ms,
            silent: self.silent,
            reject_signatures: self.reject_signatures,
            duplicate: self.duplicate,
            failover_jump: self.failover_jump.map(|j| AfterBy {
                after: j.after,
                by: j.by,
            }),
            withhold: self.withhold.map(ac),
        }
    }
}

impl Config {
    /// The simulator a daemon config talks to when `[simulator] embedded = true`: every
    /// `[[ilink3]]` and `[[dropcopy]]` session with the same keys (so `demo:NAME` keys match),
    /// on ports chosen by the system, book mode and no instruments (add them).
    pub fn embedded_sim_config(&self, today: Date) -> Result<SimConfig, ConfigError> {
        let cfg = self;
        let mut out = SimConfig::new();
        let mut problems = Vec::new();
        for (i, s) in cfg.ilink3.iter().enumerate() {
            let keys = load_keys(&s.key_file, &cfg.base_dir, today)
                .map_err(|m| problems.push(problem(format!("ilink3[{i}].key_file"), m)))
                .unwrap_or_default();
            out.ilink3.push(Ilink3Endpoint {
                session_id: s.session_id.clone(),
                firm_id: s.firm_id.clone(),
                keys,
                port: 0,
                faults: SessionFaults::default(),
            });
        }
        for (i, s) in cfg.dropcopy.iter().enumerate() {
            let keys = load_keys(&s.key_file, &cfg.base_dir, today)
                .map_err(|m| problems.push(problem(format!("dropcopy[{i}].key_file"), m)))
                .unwrap_or_default();
            out.dropcopy.push(DropCopyEndpoint {
                sender_comp_id: s.sender_comp_id.clone(),
                firms: Vec::new(),
                keys,
                port: 0,
                xml_non_fix: true,
                faults: SessionFaults::default(),
            });
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(ConfigError::Invalid {
                path: PathBuf::from("(daemon config)"),
                problems,
            })
        }
    }
}

fn problem(key_path: String, message: String) -> Problem {
    Problem { key_path, message }
}

fn load_keys(spec: &str, base: &Path, today: Date) -> Result<Vec<SimKey>, String> {
    let source = KeySource::parse(spec, base).map_err(|e| e.to_string())?;
    let kf = source.load(today).map_err(|e| e.to_string())?;
    Ok(kf
        .keys()
        .iter()
        .map(|k| SimKey {
            access_key_id: k.access_key_id.as_str().to_string(),
            signer: k.signer(),
        })
        .collect())
}

impl SimFile {
    /// Reads, parses and checks a simulator config file.
    pub fn load(path: &Path) -> Result<SimFile, ConfigError> {
        let (text, base) = super::read_toml_file(path)?;
        Self::parse(path, &text, &base)
    }

    /// Parses and checks config text; `path` names it in errors, relative paths resolve against
    /// `base_dir`.
    pub fn parse(path: &Path, text: &str, base_dir: &Path) -> Result<SimFile, ConfigError> {
        let mut f: SimFile = super::deserialize_toml(path, text)?;
        f.base_dir = base_dir.to_path_buf();
        let problems = f.problems();
        super::checked(path, f, problems)
    }

    fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |k: String, m: String| out.push(problem(k, m));
        let s = &self.sim;
        if s.keepalive_min_ms == 0 || s.keepalive_min_ms > s.keepalive_max_ms {
            bad(
                "sim.keepalive_min_ms".into(),
                format!(
                    "must be between 1 and keepalive_max_ms ({})",
                    s.keepalive_max_ms
                ),
            );
        }
        if s.heartbeat_min_s == 0 || s.heartbeat_min_s > s.heartbeat_max_s {
            bad(
                "sim.heartbeat_min_s".into(),
                format!(
                    "must be between 1 and heartbeat_max_s ({})",
                    s.heartbeat_max_s
                ),
            );
        }
        if s.journal_retention == 0 {
            bad("sim.journal_retention".into(), "must be at least 1".into());
        }
        if s.benchmark_fill && s.mode != ModeName::Benchmark {
            bad(
                "sim.benchmark_fill".into(),
                "only applies with mode = \"benchmark\"".into(),
            );
        }
        let mut ports = HashMap::new();
        let mut port_check = |k: String, port: u16, bad: &mut dyn FnMut(String, String)| {
            if port != 0 {
                if let Some(other) = ports.insert(port, k.clone()) {
                    bad(
                        k,
                        format!("port {port} is already used by {other}: every session has its own port"),
                    );
                }
            }
        };
        let mut ids = HashSet::new();
        let mut firms = HashSet::new();
        for (i, x) in self.ilink3.iter().enumerate() {
            let at = |f: &str| format!("ilink3[{i}].{f}");
            if x.session_id.len() != 3 || !x.session_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                bad(
                    at("session_id"),
                    format!("must be 3 letters or digits, found {:?}", x.session_id),
                );
            } else if !ids.insert(x.session_id.clone()) {
                bad(
                    at("session_id"),
                    format!("duplicate session {:?}", x.session_id),
                );
            }
            if x.firm_id.is_empty()
                || x.firm_id.len() > 5
                || !x.firm_id.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                bad(
                    at("firm_id"),
                    format!("must be 1-5 letters or digits, found {:?}", x.firm_id),
                );
            }
            firms.insert(x.firm_id.as_str());
            if let Err(e) = KeySource::parse(&x.key_file, &self.base_dir) {
                bad(at("key_file"), e.to_string());
            }
            port_check(at("port"), x.port, &mut bad);
            if x.faults.failover_jump.is_some() {
                bad(
                    at("faults.failover_jump"),
                    "is a Drop Copy fault (iLink 3 sessions renegotiate instead)".into(),
                );
            }
            if x.faults.withhold.is_some() {
                bad(
                    at("faults.withhold"),
                    "is a Drop Copy fault (set it on the [[dropcopy]] session)".into(),
                );
            }
        }
        let mut comps = HashSet::new();
        for (i, d) in self.dropcopy.iter().enumerate() {
            let at = |f: &str| format!("dropcopy[{i}].{f}");
            if d.sender_comp_id.is_empty()
                || d.sender_comp_id.len() > 32
                || !d
                    .sender_comp_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                bad(
                    at("sender_comp_id"),
                    format!(
                        "must be 1-32 letters, digits, '-' or '_', found {:?}",
                        d.sender_comp_id
                    ),
                );
            } else if !comps.insert(d.sender_comp_id.clone()) {
                bad(
                    at("sender_comp_id"),
                    format!("duplicate SenderCompID {:?}", d.sender_comp_id),
                );
            }
            for (j, f) in d.firms.iter().enumerate() {
                if !firms.contains(f.as_str()) {
                    bad(
                        format!("dropcopy[{i}].firms[{j}]"),
                        format!("no [[ilink3]] session has firm_id {f:?}"),
                    );
                }
            }
            if let Err(e) = KeySource::parse(&d.key_file, &self.base_dir) {
                bad(at("key_file"), e.to_string());
            }
            port_check(at("port"), d.port, &mut bad);
            if d.faults.not_applied.is_some() {
                bad(
                    at("faults.not_applied"),
                    "is an iLink 3 fault (FIX has no NotApplied)".into(),
                );
            }
        }
        let mut secs = HashSet::new();
        for (i, ins) in self.instrument.iter().enumerate() {
            if !secs.insert(ins.security_id) {
                bad(
                    format!("instrument[{i}].security_id"),
                    format!("duplicate security_id {}", ins.security_id),
                );
            }
            if ins.tick.mantissa().is_none() {
                bad(
                    format!("instrument[{i}].tick"),
                    "must be a positive decimal with at most 9 decimals, e.g. 0.25".into(),
                );
            }
        }
        out
    }

    /// Loads the keys and builds the [`SimConfig`].
    pub fn resolve(&self, path: &Path, today: Date) -> Result<SimConfig, ConfigError> {
        let s = &self.sim;
        let mut problems = Vec::new();
        let mut keys_of = |k: String, spec: &str| {
            load_keys(spec, &self.base_dir, today)
                .map_err(|m| problems.push(problem(k, m)))
                .unwrap_or_default()
        };
        let ilink3 = self
            .ilink3
            .iter()
            .enumerate()
            .map(|(i, x)| Ilink3Endpoint {
                session_id: x.session_id.clone(),
                firm_id: x.firm_id.clone(),
                keys: keys_of(format!("ilink3[{i}].key_file"), &x.key_file),
                port: x.port,
                faults: x.faults.to_faults(),
            })
            .collect();
        let dropcopy = self
            .dropcopy
            .iter()
            .enumerate()
            .map(|(i, d)| DropCopyEndpoint {
                sender_comp_id: d.sender_comp_id.clone(),
                firms: d.firms.clone(),
                keys: keys_of(format!("dropcopy[{i}].key_file"), &d.key_file),
                port: d.port,
                xml_non_fix: d.xml_non_fix,
                faults: d.faults.to_faults(),
            })
            .collect();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            });
        }
        Ok(SimConfig {
            listen: s.listen,
            mode: match s.mode {
                ModeName::Book => EngineMode::Book,
                ModeName::Benchmark => EngineMode::Benchmark {
                    fill: s.benchmark_fill,
                },
            },
            instruments: self
                .instrument
                .iter()
                .filter_map(|i| {
                    i.tick.mantissa().map(|tick| Instrument {
                        security_id: i.security_id,
                        tick,
                    })
                })
                .collect(),
            instrument_info: self
                .instrument
                .iter()
                .map(|i| crate::sim::InstrumentInfo {
                    security_id: i.security_id,
                    market_segment_id: i.market_segment_id,
                    security_group: i.security_group.clone().unwrap_or_default(),
                    legs: i
                        .legs
                        .iter()
                        .map(|l| crate::sim::SpreadLegDef {
                            security_id: l.security_id,
                            ratio: l.ratio,
                            same_side: l.same_side,
                        })
                        .collect(),
                })
                .collect(),
            require_party_registration: s.require_party_registration,
            parties: s.parties.clone(),
            messaging_controls: crate::sim::MessagingControls {
                reject_per_s: s.cancel_reject_per_s,
                logout_per_s: s.cancel_logout_per_s,
            },
            cancel_on_disconnect: s.cancel_on_disconnect,
            bust_every: s.bust_every,
            correct_every: s.correct_every,
            symbols: self
                .instrument
                .iter()
                .filter_map(|i| i.symbol.clone().map(|s| (i.security_id, s)))
                .collect(),
            ilink3,
            dropcopy,
            state_dir: s.state_dir.as_ref().map(|d| {
                if d.is_absolute() {
                    d.clone()
                } else {
                    self.base_dir.join(d)
                }
            }),
            fsync: s.fsync,
            keepalive_min_ms: s.keepalive_min_ms,
            keepalive_max_ms: s.keepalive_max_ms,
            heartbeat_min_s: s.heartbeat_min_s,
            heartbeat_max_s: s.heartbeat_max_s,
            journal_retention: s.journal_retention,
            record: None,
            idle: s.idle,
            core: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SimFile, ConfigError> {
        SimFile::parse(Path::new("sim.toml"), text, Path::new("/nonexistent"))
    }

    #[test]
    fn shipped_config_parses_and_resolves() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sim.toml");
        let f = SimFile::load(&path).unwrap();
        let cfg = f.resolve(&path, crate::store::keys::today_utc()).unwrap();
        assert!(!cfg.ilink3.is_empty() && !cfg.dropcopy.is_empty());
        assert!(cfg.ilink3.iter().all(|s| !s.keys.is_empty()));
        assert!(!cfg.instruments.is_empty());
    }

    #[test]
    fn the_demo_daemon_config_and_sim_toml_share_sessions_and_keys() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let today = crate::store::keys::today_utc();
        let demo = Config::load(&root.join("config/demo.toml")).unwrap();
        let embedded = demo.embedded_sim_config(today).unwrap();
        let path = root.join("config/sim.toml");
        let standalone = SimFile::load(&path).unwrap().resolve(&path, today).unwrap();
        for (e, s) in embedded.ilink3.iter().zip(&standalone.ilink3) {
            assert_eq!((&e.session_id, &e.firm_id), (&s.session_id, &s.firm_id));
            assert_eq!(e.keys[0].access_key_id, s.keys[0].access_key_id);
            assert_eq!(
                e.keys[0].signer.sign_bytes(b"x"),
                s.keys[0].signer.sign_bytes(b"x")
            );
        }
        for (e, s) in embedded.dropcopy.iter().zip(&standalone.dropcopy) {
            assert_eq!(e.sender_comp_id, s.sender_comp_id);
            assert_eq!(
                e.keys[0].signer.sign_bytes(b"x"),
                s.keys[0].signer.sign_bytes(b"x")
            );
        }
        assert_eq!(embedded.ilink3.len(), standalone.ilink3.len());
        assert_eq!(embedded.dropcopy.len(), standalone.dropcopy.len());
    }

    #[test]
    fn unknown_key_is_reported_with_line_column_and_path() {
        let e = parse("[sim]\nmode = \"book\"\n\n[[ilink3]]\nsession_id = \"ABC\"\nfirm_id = \"1\"\nkey_file = \"demo:x\"\nbogus = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("sim.toml:8:1: ilink3[0]"), "{e}");
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn wrong_type_names_the_fault_key() {
        let e = parse("[[dropcopy]]\nsender_comp_id = \"X\"\nkey_file = \"demo:x\"\n[dropcopy.faults]\ndelay_ms = \"slow\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sim.toml:5:"), "{e}");
        assert!(e.contains("dropcopy[0].faults.delay_ms"), "{e}");
    }

    #[test]
    fn cross_field_problems_are_all_reported() {
        let e = parse(
            r#"
[[ilink3]]
session_id = "ABCD"
firm_id = "1"
key_file = "demo:a"
port = 9000
[ilink3.faults]
failover_jump = { after = 1, by = 4000 }

[[dropcopy]]
sender_comp_id = "DC1"
firms = ["999"]
key_file = "demo:b"
port = 9000
[dropcopy.faults]
not_applied = { after = 1, count = 1 }

[[instrument]]
security_id = 1
tick = 0
"#,
        )
        .unwrap_err()
        .to_string();
        for needle in [
            "ilink3[0].session_id",
            "ilink3[0].faults.failover_jump",
            "dropcopy[0].firms[0]",
            "dropcopy[0].port",
            "dropcopy[0].faults.not_applied",
            "instrument[0].tick",
        ] {
            assert!(e.contains(needle), "{needle} missing from {e}");
        }
    }

    #[test]
    fn ticks_parse_exactly() {
        assert_eq!(Tick::Float(0.25).mantissa(), Some(250_000_000));
        assert_eq!(Tick::Text("0.0001".into()).mantissa(), Some(100_000));
        assert_eq!(Tick::Int(5).mantissa(), Some(5_000_000_000));
        assert_eq!(Tick::Float(-1.0).mantissa(), None);
    }
}
