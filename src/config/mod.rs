//! The daemon's configuration file (TOML).
//!
//! Every section refuses unknown keys. A file that does not parse is refused with its name, the
//! line and column, and the key path (`ilink3[0].keepalive_ms: ...`); a file that parses is then
//! checked as a whole (duplicate names, strategies naming unknown sessions, missing key files,
//! values CME would refuse) and every problem found is reported at once.
//!
//! `config/ilinkd.toml` documents every key.

pub mod overlap;
pub mod sim;

use crate::store::keys::KeySource;
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A configuration problem, with where it is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read config: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {key_path}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        key_path: String,
        message: String,
    },
    #[error("{path}: {}", format_problems(.problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

/// One cross-field problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key_path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key_path, self.message)
    }
}

fn format_problems(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => {
            let mut s = format!("{} problems:", many.len());
            for p in many {
                s.push_str("\n  ");
                s.push_str(&p.to_string());
            }
            s
        }
    }
}

pub(crate) use crate::types::line_col;

/// Reads a TOML file; returns its text and the folder relative paths in it resolve against.
pub(crate) fn read_toml_file(path: &Path) -> Result<(String, PathBuf), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok((text, base.to_path_buf()))
}

/// Deserializes TOML text, refusing it with the file name, line, column and key path.
pub(crate) fn deserialize_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, ConfigError> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key_path = e.path().to_string();
        let inner = e.into_inner();
        let (line, column) = inner
            .span()
            .map(|s| line_col(text, s.start))
            .unwrap_or((1, 1));
        ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            key_path: if key_path == "." || key_path.is_empty() {
                "(top level)".into()
            } else {
                key_path
            },
            message: friendly(inner.message()),
        }
    })
}

/// `value` when no cross-field problem was found, else every problem at once.
pub(crate) fn checked<T>(path: &Path, value: T, problems: Vec<Problem>) -> Result<T, ConfigError> {
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub daemon: DaemonConfig,
    #[serde(default, with = "NetworkConfigDef")]
    pub network: NetworkConfig,
    #[serde(default)]
    pub ilink3: Vec<Ilink3Config>,
    #[serde(default)]
    pub dropcopy: Vec<DropCopyConfig>,
    #[serde(default)]
    pub strategy: Vec<StrategyConfig>,
    #[serde(default)]
    pub latency: LatencyConfig,
    #[serde(default)]
    pub risk: RiskConfig,
    /// `[router]`: order routing defaults.
    #[serde(default)]
    pub router: RouterSection,
    /// Present in loopback configs that embed the exchange simulator (the demo).
    pub simulator: Option<SimulatorConfig>,
    /// Instruments strategies may trade: the router checks prices against their tick, and an
    /// embedded simulator lists them in its book.
    #[serde(default)]
    pub instrument: Vec<InstrumentConfig>,
    /// Folder of the file, for resolving relative paths.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[daemon]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Shown in logs, status and metrics.
    #[serde(default = "default_daemon_name")]
    pub name: String,
    /// Session stores and journals (created 0700).
    pub state_dir: PathBuf,
    /// One hot (busy-polling) thread per entry, pinned to that core.
    #[serde(default = "default_hot_cores")]
    pub hot_cores: Vec<usize>,
    /// Core for the housekeeping thread (fsync, journals, histograms, metrics, logs).
    #[serde(default)]
    pub housekeeping_core: usize,
    /// What a busy-polling loop does when it finds no work.
    #[serde(default, with = "IdleStrategyDef")]
    pub idle: IdleStrategy,
    /// When session stores are flushed to disk.
    #[serde(default, with = "FsyncPolicyDef")]
    pub fsync: FsyncPolicy,
    /// SCHED_FIFO priority (1-99) for the hot threads; absent: the normal scheduler.
    pub hot_priority: Option<i32>,
    /// Folder of the strategy shared-memory segments (`ilinkd-strategy-<name>`).
    #[serde(default = "default_shm_dir")]
    pub shm_dir: PathBuf,
    /// Drop Copy ↔ iLink 3 reconciliation: `"trades"` (fills and trade cancels, default),
    /// `"all"` (acknowledgments too) or `"off"`; only with both kinds of session configured.
    #[serde(default, with = "ReconcileScopeDef")]
    pub reconcile: ReconcileScope,
    /// How long a report may wait for its counterpart before it counts as unmatched.
    #[serde(default = "default_reconcile_delay_ms")]
    pub reconcile_delay_ms: u64,
}

fn default_reconcile_delay_ms() -> u64 {
    30_000
}

pub use crate::daemon::reconcile::Scope as ReconcileScope;

/// `reconcile = "off" | "trades" | "all"`
#[derive(Deserialize)]
#[serde(remote = "ReconcileScope", rename_all = "kebab-case")]
enum ReconcileScopeDef {
    Off,
    Trades,
    All,
}

fn default_shm_dir() -> PathBuf {
    PathBuf::from(crate::shm::DEFAULT_DIR)
}

fn default_daemon_name() -> String {
    "ilinkd".into()
}

fn default_hot_cores() -> Vec<usize> {
    vec![1]
}

// The modules own these types; the file's spelling of them is defined here (serde `remote`).
pub use crate::ilink3::session::NotAppliedPolicy;
pub use crate::net::{Backend, NetworkConfig};
pub use crate::runtime::idle::IdleStrategy;
pub use crate::types::FsyncPolicy;

/// `idle = "spin" | "spin-then-yield" | "park"`
#[derive(Deserialize)]
#[serde(remote = "IdleStrategy", rename_all = "kebab-case")]
pub(crate) enum IdleStrategyDef {
    Spin,
    SpinThenYield,
    Park,
}

/// `fsync = "always" | "batch" | "never"`
#[derive(Deserialize)]
#[serde(remote = "FsyncPolicy", rename_all = "kebab-case")]
pub(crate) enum FsyncPolicyDef {
    Always,
    Batch,
    Never,
}

/// `[network]`
#[derive(Deserialize)]
#[serde(remote = "NetworkConfig", deny_unknown_fields)]
struct NetworkConfigDef {
    #[serde(default, with = "BackendDef")]
    pub backend: Backend,
    #[serde(default = "yes")]
    pub tcp_nodelay: bool,
    /// SO_SNDBUF in bytes (kernel default when absent).
    pub send_buffer_bytes: Option<u32>,
    /// SO_RCVBUF in bytes (kernel default when absent).
    pub recv_buffer_bytes: Option<u32>,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u32,
    #[serde(default = "default_reconnect_min_ms")]
    pub reconnect_min_ms: u32,
    #[serde(default = "default_reconnect_max_ms")]
    pub reconnect_max_ms: u32,
    /// io_uring kernel-side submission polling (costs a core).
    #[serde(default)]
    pub sqpoll: bool,
}

fn yes() -> bool {
    true
}
fn default_connect_timeout_ms() -> u32 {
    NetworkConfig::default().connect_timeout_ms
}
fn default_reconnect_min_ms() -> u32 {
    NetworkConfig::default().reconnect_min_ms
}
fn default_reconnect_max_ms() -> u32 {
    NetworkConfig::default().reconnect_max_ms
}

/// `backend = "io_uring" | "poll" | "auto"`
#[derive(Deserialize)]
#[serde(remote = "Backend", rename_all = "snake_case")]
enum BackendDef {
    IoUring,
    Poll,
    Auto,
}

/// `[[ilink3]]`: one iLink 3 order-entry session.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ilink3Config {
    /// Local name, unique across all sessions; strategies refer to it.
    pub name: String,
    /// CME Session ID (3 characters).
    pub session_id: String,
    /// CME Firm ID (up to 5 characters).
    pub firm_id: String,
    /// Market segment gateway address; optional when the simulator is embedded.
    pub primary: Option<SocketAddr>,
    /// Backup gateway address.
    pub backup: Option<SocketAddr>,
    /// Key file path (relative to this config file), or `demo:NAME` for the simulator.
    pub key_file: String,
    /// KeepAliveInterval in milliseconds (CME accepts 5000-60000).
    #[serde(default = "default_keepalive_ms")]
    pub keepalive_ms: u32,
    #[serde(default = "default_trading_system_name")]
    pub trading_system_name: String,
    #[serde(default = "default_trading_system_version")]
    pub trading_system_version: String,
    #[serde(default = "default_trading_system_vendor")]
    pub trading_system_vendor: String,
    /// Index into `daemon.hot_cores`: which hot thread runs this session.
    #[serde(default)]
    pub engine: usize,
    /// How to answer NotApplied.
    #[serde(default, with = "NotAppliedPolicyDef")]
    pub not_applied: NotAppliedPolicy,
    /// SenderID (tag 50, the registered operator id) on every order (up to 20 characters).
    #[serde(default = "default_sender_id")]
    pub sender_id: String,
    /// Location (tag 9537, ISO country and state, e.g. `US,IL`; up to 5 characters).
    #[serde(default = "default_location")]
    pub location: String,
    /// PartyDetailsListReqID registered with CME for this session's orders.
    #[serde(default)]
    pub party_details_list_req_id: u64,
    /// An outstanding RetransmitRequest with no answer for this long has stalled (ms).
    #[serde(default = "default_retransmit_timeout_ms")]
    pub retransmit_timeout_ms: u32,
    /// RetransmitRequests per range without progress before its messages are reported lost
    /// (1: never ask again).
    #[serde(default = "default_retransmit_attempts")]
    pub retransmit_attempts: u8,
    /// Observe CME's weekend: Terminate at Friday 17:00 CT, no connect until Sunday 10:30 CT.
    #[serde(default)]
    pub weekly_close: bool,
    /// What to do with the orders of a previous run once established: `"recover"` or
    /// `"cancel"`; absent: `[router] on_restart`.
    #[serde(default, with = "OptOnRestartDef")]
    pub on_restart: Option<OnRestart>,
    /// `[[ilink3.party]]` blocks written under this `[[ilink3]]` table: the party details this
    /// session's orders refer to (PartyDetailsDefinitionRequest 518).
    #[serde(default)]
    pub party: Vec<PartyConfig>,
}

/// `registration = "on_demand" | "pre_registered"`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyRegistration {
    /// ilinkd sends a PartyDetailsDefinitionRequest (518) on the session each time it is
    /// established with a new UUID (and again at the next Establish while no accepting 519
    /// came); orders naming the party are refused locally until the 519 accepted it.
    #[default]
    OnDemand,
    /// Registered outside ilinkd (CME's Service Gateway / OESGW): the id is trusted as is.
    PreRegistered,
}

/// `origin = "customer" | "firm"`: ClearingAccountType (tag 1816).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyOrigin {
    Customer,
    Firm,
}

/// `self_match_prevention_instruction = "cancel_newest" | "cancel_oldest"` (tag 8000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmpInstruction {
    CancelNewest,
    CancelOldest,
}

/// `[[ilink3.party]]`: one set of party details (CME PartyDetailsDefinitionRequest 518).
/// Roles follow the v9 schema's PartyDetailRole (1693): executing firm 1, customer account 24,
/// take-up firm 96, operator 118, take-up account 1000.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyConfig {
    /// Local name, unique within the session; `[[strategy]] party` refers to it.
    pub name: String,
    /// PartyDetailsListReqID (tag 1505): non-zero, unique per firm; orders naming the party
    /// carry it.
    pub id: u64,
    #[serde(default)]
    pub registration: PartyRegistration,
    /// Role 1, executing firm (required for on-demand registration).
    pub executing_firm: Option<String>,
    /// Role 118, operator; also the SenderID (tag 5392) of orders naming the party. Default:
    /// the session's `sender_id`.
    pub operator: Option<String>,
    /// Location (tag 9537) of orders naming the party (ISO country,state). Default: the
    /// session's `location`.
    pub location: Option<String>,
    /// Role 24, customer account (required for on-demand registration).
    pub account: Option<String>,
    /// Role 96, take-up firm.
    pub take_up_firm: Option<String>,
    /// Role 1000, take-up account.
    pub take_up_account: Option<String>,
    /// CustOrderHandlingInst (tag 1031): one of C, D, G, H, W, Y (required for on-demand).
    pub customer_order_handling: Option<String>,
    /// CustOrderCapacity (tag 582), the CFTC customer type indicator 1-4 (required for
    /// on-demand).
    pub cti: Option<u8>,
    /// ClearingAccountType (tag 1816), the origin (required for on-demand).
    pub origin: Option<PartyOrigin>,
    /// SelfMatchPreventionID (tag 2362).
    pub self_match_prevention_id: Option<u64>,
    /// SelfMatchPreventionInstruction (tag 8000); absent: CME cancels the oldest.
    pub self_match_prevention_instruction: Option<SmpInstruction>,
    /// AvgPxGroupID (tag 1731, at most 20 characters).
    pub avg_px_group_id: Option<String>,
    /// AvgPxIndicator (tag 819): 0, 1 or 3.
    pub avg_px_indicator: Option<u8>,
    /// ClearingTradePriceType (tag 1598): 0 execution price, 1 alternate clearing price.
    pub clearing_trade_price_type: Option<u8>,
    /// CmtaGiveupCD (tag 9708): `G` give-up, `S` SGX offset.
    pub cmta_giveup: Option<String>,
}

/// `[router]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSection {
    /// After a restart, once each iLink 3 session is established: `"recover"` (default: one
    /// OrderMassStatusRequest, the order table reconciled with its Status reports) or
    /// `"cancel"` (mass-cancel everything on the session).
    #[serde(default, with = "OnRestartDef")]
    pub on_restart: OnRestart,
}

pub use crate::daemon::order_journal::OnRestart;

/// `on_restart = "recover" | "cancel"`
#[derive(Deserialize)]
#[serde(remote = "OnRestart", rename_all = "kebab-case")]
enum OnRestartDef {
    Recover,
    Cancel,
}

mod opt_on_restart {
    use super::{OnRestart, OnRestartDef};
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    struct Wrap(#[serde(with = "OnRestartDef")] OnRestart);

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OnRestart>, D::Error> {
        Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(v)| v))
    }
}
use opt_on_restart as OptOnRestartDef;

fn default_retransmit_timeout_ms() -> u32 {
    crate::ilink3::session::RecoveryPolicy::default().timeout_ms
}
fn default_retransmit_attempts() -> u8 {
    crate::ilink3::session::RecoveryPolicy::default().attempts
}

fn default_sender_id() -> String {
    "ILINKD".into()
}
fn default_location() -> String {
    "US,IL".into()
}

fn default_keepalive_ms() -> u32 {
    30_000
}
fn default_trading_system_name() -> String {
    "ilinkd".into()
}
fn default_trading_system_version() -> String {
    env!("CARGO_PKG_VERSION").into()
}
fn default_trading_system_vendor() -> String {
    "ilinkd".into()
}

/// `not_applied = "gap-fill" | "resend"`
#[derive(Deserialize)]
#[serde(remote = "NotAppliedPolicy", rename_all = "kebab-case")]
enum NotAppliedPolicyDef {
    GapFill,
    Resend,
}

/// `[[dropcopy]]`: one Drop Copy 4.0 session.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropCopyConfig {
    pub name: String,
    /// Tag 49: session id plus fault-tolerance indicator (e.g. `ABC123N`).
    pub sender_comp_id: String,
    /// Tag 50: operator id.
    pub sender_sub_id: String,
    /// Tag 56.
    #[serde(default = "default_target_comp_id")]
    pub target_comp_id: String,
    /// Tag 57: `G` on a Convenience Gateway, the market segment on a Market Segment Gateway.
    #[serde(default = "default_target_sub_id")]
    pub target_sub_id: String,
    /// Tag 142, e.g. `US,IL`.
    pub sender_location_id: String,
    /// Tag 108 in seconds (CME accepts 5-60).
    #[serde(default = "default_heartbeat_s")]
    pub heartbeat_s: u32,
    pub primary: Option<SocketAddr>,
    pub backup: Option<SocketAddr>,
    pub key_file: String,
    #[serde(default = "default_trading_system_name")]
    pub app_system_name: String,
    #[serde(default = "default_trading_system_version")]
    pub app_system_version: String,
    #[serde(default = "default_trading_system_vendor")]
    pub app_system_vendor: String,
}

fn default_target_comp_id() -> String {
    "CME".into()
}
fn default_target_sub_id() -> String {
    "G".into()
}
fn default_heartbeat_s() -> u32 {
    30
}

/// `[[strategy]]`: a local strategy process allowed to attach through shared memory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    pub name: String,
    /// iLink 3 sessions this strategy may send orders on.
    pub sessions: Vec<String>,
    /// Request ring slots (a power of two).
    #[serde(default = "default_ring_capacity")]
    pub request_capacity: u32,
    /// Event ring slots (a power of two).
    #[serde(default = "default_ring_capacity")]
    pub event_capacity: u32,
    /// Cancel the strategy's open orders when it dies or goes silent.
    #[serde(default = "yes")]
    pub cancel_on_exit: bool,
    /// A strategy whose heartbeat is older than this is considered dead.
    #[serde(default = "default_strategy_heartbeat_ms")]
    pub heartbeat_timeout_ms: u32,
    /// Unix group allowed to open the segment (mode 0660 instead of 0600).
    pub group: Option<String>,
    /// The `[[ilink3.party]]` (by name) this strategy's orders name on each of its sessions;
    /// required when one of them declares parties.
    pub party: Option<String>,
}

fn default_ring_capacity() -> u32 {
    4096
}
fn default_strategy_heartbeat_ms() -> u32 {
    1000
}

/// `[latency]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyConfig {
    /// Histogram interval.
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u32,
    /// Folder for HdrHistogram interval logs (under state_dir when absent).
    pub log_dir: Option<PathBuf>,
    /// Prometheus textfile-collector output.
    pub prom_file: Option<PathBuf>,
    /// Optional metrics HTTP endpoint.
    pub http_listen: Option<SocketAddr>,
}

impl Default for LatencyConfig {
    fn default() -> Self {
        LatencyConfig {
            interval_ms: default_interval_ms(),
            log_dir: None,
            prom_file: None,
            http_listen: None,
        }
    }
}

fn default_interval_ms() -> u32 {
    1000
}

/// `[risk]`: limits checked on every strategy request before it is encoded.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskConfig {
    #[serde(default = "default_max_order_qty")]
    pub max_order_qty: u32,
    #[serde(default = "default_max_open_orders")]
    pub max_open_orders: u32,
    #[serde(default = "default_max_orders_per_second")]
    pub max_orders_per_second: u32,
    /// Messaging controls, per iLink 3 session (CME counts per session and market segment):
    /// cancels and mass actions a second (CME rejects above 1000/s); 0: no limit.
    #[serde(default = "default_session_cancels_per_second")]
    pub session_cancels_per_second: u32,
    /// New orders and modifies a second per session (CME's threshold for this group is
    /// lower); 0: no limit.
    #[serde(default = "default_session_orders_per_second")]
    pub session_orders_per_second: u32,
    /// Certification mode: at most 10 messages a second per session, of any kind.
    #[serde(default)]
    pub certification: bool,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            max_order_qty: default_max_order_qty(),
            max_open_orders: default_max_open_orders(),
            max_orders_per_second: default_max_orders_per_second(),
            session_cancels_per_second: default_session_cancels_per_second(),
            session_orders_per_second: default_session_orders_per_second(),
            certification: false,
        }
    }
}

fn default_max_order_qty() -> u32 {
    1000
}
fn default_max_open_orders() -> u32 {
    10_000
}
fn default_max_orders_per_second() -> u32 {
    100_000
}
fn default_session_cancels_per_second() -> u32 {
    800
}
fn default_session_orders_per_second() -> u32 {
    400
}

/// `[[instrument]]`: a tradable instrument.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentConfig {
    /// CME SecurityID (> 0).
    pub security_id: i32,
    /// Symbol (e.g. `ESZ6`), for Drop Copy and humans.
    pub symbol: Option<String>,
    /// Minimum price increment as a decimal string, e.g. `"0.25"` or `"0.015625"`.
    pub tick: String,
    /// CME MarketSegmentID (tag 1300), for mass cancels by market segment.
    pub market_segment_id: Option<u8>,
    /// CME SecurityGroup (tag 1151, at most 6 characters), for mass cancels by instrument
    /// group.
    pub security_group: Option<String>,
}

impl InstrumentConfig {
    /// The tick as a price mantissa (exponent -9), `None` when it is not a positive decimal with
    /// at most 9 fractional digits.
    pub fn tick_mantissa(&self) -> Option<i64> {
        parse_price9(&self.tick).filter(|&m| m > 0)
    }
}

/// Parses a decimal string (`"4500.25"`, `"-1.5"`, `"3"`) into a mantissa with exponent -9;
/// `None` for anything else (more than 9 fractional digits, exponents, overflow).
pub fn parse_price9(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if (int.is_empty() && frac.is_empty())
        || frac.len() > 9
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut v: i64 = 0;
    for b in int.bytes() {
        v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    let mut f: i64 = 0;
    for i in 0..9 {
        let d = frac.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
        f = f * 10 + d;
    }
    let m = v.checked_mul(1_000_000_000)?.checked_add(f)?;
    Some(if neg { -m } else { m })
}

/// `[simulator]`: run the exchange simulator inside the daemon, on loopback.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorConfig {
    #[serde(default)]
    pub embedded: bool,
    /// The embedded simulator's loop when idle (`spin`, `spin-then-yield`, `park`; see
    /// `sim.idle` in config/sim.toml): blocking on socket readiness unless `spin`.
    #[serde(default, with = "IdleStrategyDef")]
    pub idle: IdleStrategy,
    /// Core the embedded simulator's thread is pinned to (unpinned when absent).
    pub core: Option<usize>,
    /// The simulator's CME messaging controls: cancels + mass actions per second and session
    /// above which they are rejected (default 1000, CME's) and the session is terminated with
    /// Cancel on Disconnect (default 1500). The e2e throughput bench lifts both.
    #[serde(default)]
    pub cancel_reject_per_s: Option<u32>,
    #[serde(default)]
    pub cancel_logout_per_s: Option<u32>,
    /// Reject (BusinessReject 521) business messages naming a PartyDetailsListReqID not
    /// registered with a 518; the `pre_registered` `[[ilink3.party]]` ids count as registered.
    #[serde(default)]
    pub require_party_registration: bool,
}

/// iLink 3 field widths from the schema (Negotiate/Establish).
const SESSION_ID_LEN: usize = 3;
const FIRM_ID_MAX: usize = 5;
const TRADING_SYSTEM_NAME_MAX: usize = 30;
const TRADING_SYSTEM_VERSION_MAX: usize = 10;
const TRADING_SYSTEM_VENDOR_MAX: usize = 10;
const SENDER_ID_MAX: usize = 20;
/// PartyDetailID (String20).
const PARTY_DETAIL_ID_MAX: usize = 20;
/// The "long format" PartyDetailsListReqID (FFFFFFFF); registered ids stay below it.
pub const PARTY_ID_LONG_FORMAT: u64 = 0xFFFF_FFFF;
const LOCATION_MAX: usize = 5;

/// The file's sections mapped onto each module's own settings.
impl Ilink3Config {
    /// How the session retries stalled or refused retransmissions.
    /// This session's `on_restart`, or the `[router]` default.
    pub fn on_restart_or(&self, router: &RouterSection) -> OnRestart {
        self.on_restart.unwrap_or(router.on_restart)
    }

    pub fn recovery_policy(&self) -> crate::ilink3::session::RecoveryPolicy {
        crate::ilink3::session::RecoveryPolicy {
            timeout_ms: self.retransmit_timeout_ms,
            attempts: self.retransmit_attempts.max(1),
            ..Default::default()
        }
    }

    /// The iLink 3 session's settings.
    pub fn session_config(&self) -> crate::ilink3::session::SessionConfig {
        crate::ilink3::session::SessionConfig {
            session_id: self.session_id.clone(),
            firm_id: self.firm_id.clone(),
            trading_system_name: self.trading_system_name.clone(),
            trading_system_version: self.trading_system_version.clone(),
            trading_system_vendor: self.trading_system_vendor.clone(),
            keepalive_ms: u16::try_from(self.keepalive_ms).unwrap_or(u16::MAX),
            not_applied: self.not_applied,
        }
    }
}

impl DropCopyConfig {
    /// The Drop Copy session's settings.
    pub fn session_config(&self) -> crate::dropcopy::SessionConfig {
        crate::dropcopy::SessionConfig {
            sender_comp_id: self.sender_comp_id.clone(),
            sender_sub_id: self.sender_sub_id.clone(),
            target_comp_id: self.target_comp_id.clone(),
            target_sub_id: self.target_sub_id.clone(),
            sender_location_id: self.sender_location_id.clone(),
            heartbeat_s: self.heartbeat_s,
            app_system_name: self.app_system_name.clone(),
            app_system_version: self.app_system_version.clone(),
            app_system_vendor: self.app_system_vendor.clone(),
            logon_timeout_s: 10,
            logout_timeout_s: 5,
        }
    }
}

impl StrategyConfig {
    /// The strategy's shared-memory segment settings.
    pub fn segment_options(
        &self,
    ) -> Result<crate::shm::strategy::SegmentOptions, crate::shm::strategy::SegmentError> {
        let sessions = u16::try_from(self.sessions.len()).map_err(|_| {
            crate::shm::strategy::SegmentError::TooManySessions {
                name: self.name.clone(),
                count: self.sessions.len(),
                max: usize::from(u16::MAX),
            }
        })?;
        Ok(crate::shm::strategy::SegmentOptions {
            name: self.name.clone(),
            sessions,
            request_capacity: self.request_capacity,
            event_capacity: self.event_capacity,
            group: self.group.clone(),
        })
    }
}

impl Config {
    /// Reads, parses and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let (text, base) = read_toml_file(path)?;
        Self::parse(path, &text, &base)
    }

    /// Parses and checks config text; `path` names it in errors, relative paths resolve
    /// against `base_dir`.
    pub fn parse(path: &Path, text: &str, base_dir: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = deserialize_toml(path, text)?;
        cfg.base_dir = base_dir.to_path_buf();
        cfg.resolve_paths();
        let problems = cfg.problems();
        checked(path, cfg, problems)
    }

    /// Every path of the file is relative to the file's folder (`base_dir`), whatever the
    /// working directory: `state_dir`, `shm_dir`, `latency.log_dir`, `latency.prom_file` here,
    /// key files through [`Config::key_source`].
    fn resolve_paths(&mut self) {
        let base = &self.base_dir;
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() && !p.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut self.daemon.state_dir);
        resolve(&mut self.daemon.shm_dir);
        if let Some(p) = &mut self.latency.log_dir {
            resolve(p);
        }
        if let Some(p) = &mut self.latency.prom_file {
            resolve(p);
        }
    }

    /// Every session's `(kind, name, key_file)`: iLink 3 sessions, then Drop Copy sessions.
    pub fn session_keys(&self) -> impl Iterator<Item = (&'static str, &String, &String)> {
        self.ilink3
            .iter()
            .map(|s| ("ilink3", &s.name, &s.key_file))
            .chain(
                self.dropcopy
                    .iter()
                    .map(|s| ("dropcopy", &s.name, &s.key_file)),
            )
    }

    /// The key source of a session key string.
    pub fn key_source(&self, spec: &str) -> Result<KeySource, crate::auth::KeyError> {
        KeySource::parse(spec, &self.base_dir)
    }

    /// Whether gateways come from the embedded simulator.
    pub fn embedded_simulator(&self) -> bool {
        self.simulator.as_ref().is_some_and(|s| s.embedded)
    }

    /// Cross-field checks; every problem, not just the first.
    fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |key_path: String, message: String| out.push(Problem { key_path, message });
        let d = &self.daemon;
        if d.name.trim().is_empty() {
            bad("daemon.name".into(), "must not be empty".into());
        }
        if d.hot_cores.is_empty() {
            bad(
                "daemon.hot_cores".into(),
                "needs at least one core for a hot thread".into(),
            );
        }
        let n = &self.network;
        if n.reconnect_min_ms == 0 || n.reconnect_min_ms > n.reconnect_max_ms {
            bad(
                "network.reconnect_min_ms".into(),
                format!(
                    "must be between 1 and reconnect_max_ms ({})",
                    n.reconnect_max_ms
                ),
            );
        }
        if self.latency.interval_ms == 0 {
            bad("latency.interval_ms".into(), "must be at least 1".into());
        }
        if let Some(p) = d.hot_priority {
            if !(1..=99).contains(&p) {
                bad(
                    "daemon.hot_priority".into(),
                    format!("SCHED_FIFO priority must be 1-99, found {p}"),
                );
            }
        }
        let mut securities = HashSet::new();
        for (i, ins) in self.instrument.iter().enumerate() {
            let at = |f: &str| format!("instrument[{i}].{f}");
            if ins.security_id <= 0 {
                bad(
                    at("security_id"),
                    format!("must be positive, found {}", ins.security_id),
                );
            } else if !securities.insert(ins.security_id) {
                bad(
                    at("security_id"),
                    format!("duplicate instrument {}", ins.security_id),
                );
            }
            if let Some(g) = &ins.security_group {
                if g.is_empty() || g.len() > 6 || !g.is_ascii() {
                    bad(
                        at("security_group"),
                        format!("must be 1 to 6 ASCII characters, found {g:?}"),
                    );
                }
            }
            if ins.tick_mantissa().is_none() {
                bad(
                    at("tick"),
                    format!(
                        "must be a positive decimal with at most 9 decimals (e.g. \"0.25\"), found {:?}",
                        ins.tick
                    ),
                );
            }
        }

        let mut names = HashSet::new();
        let mut ilink_names = HashSet::new();
        let embedded = self.embedded_simulator();
        let key_check =
            |kp: String, spec: &str, addrs: [Option<SocketAddr>; 2]| match self.key_source(spec) {
                Err(m) => Some((kp, m.to_string())),
                Ok(KeySource::File(p)) if !p.exists() => {
                    Some((kp, format!("key file {} does not exist", p.display())))
                }
                Ok(KeySource::Demo(_))
                    if !embedded && addrs.iter().flatten().any(|a| !a.ip().is_loopback()) =>
                {
                    Some((
                        kp,
                        "a demo key only works against the simulator; this session points at a \
                     non-loopback gateway"
                            .into(),
                    ))
                }
                Ok(_) => None,
            };
        let mut key_problems = Vec::new();

        for (i, s) in self.ilink3.iter().enumerate() {
            let at = |f: &str| format!("ilink3[{i}].{f}");
            if !names.insert(s.name.as_str()) {
                bad(at("name"), format!("duplicate session name {:?}", s.name));
            }
            ilink_names.insert(s.name.as_str());
            if s.session_id.chars().count() != SESSION_ID_LEN || !s.session_id.is_ascii() {
                bad(
                    at("session_id"),
                    format!(
                        "must be {SESSION_ID_LEN} ASCII characters, found {:?}",
                        s.session_id
                    ),
                );
            }
            if s.firm_id.is_empty() || s.firm_id.len() > FIRM_ID_MAX || !s.firm_id.is_ascii() {
                bad(
                    at("firm_id"),
                    format!(
                        "must be 1-{FIRM_ID_MAX} ASCII characters, found {:?}",
                        s.firm_id
                    ),
                );
            }
            for (field, v, max) in [
                (
                    "trading_system_name",
                    &s.trading_system_name,
                    TRADING_SYSTEM_NAME_MAX,
                ),
                (
                    "trading_system_version",
                    &s.trading_system_version,
                    TRADING_SYSTEM_VERSION_MAX,
                ),
                (
                    "trading_system_vendor",
                    &s.trading_system_vendor,
                    TRADING_SYSTEM_VENDOR_MAX,
                ),
            ] {
                if v.is_empty() || v.len() > max || !v.is_ascii() {
                    bad(at(field), format!("must be 1-{max} ASCII characters"));
                }
            }
            if !(5_000..=60_000).contains(&s.keepalive_ms) {
                bad(
                    at("keepalive_ms"),
                    format!("must be 5000-60000 (CME's range), found {}", s.keepalive_ms),
                );
            }
            if s.engine >= d.hot_cores.len().max(1) {
                bad(
                    at("engine"),
                    format!(
                        "engine {} does not exist: daemon.hot_cores has {} entries",
                        s.engine,
                        d.hot_cores.len()
                    ),
                );
            }
            if s.primary.is_none() && !embedded {
                bad(
                    at("primary"),
                    "gateway address required (no embedded simulator)".into(),
                );
            }
            for (field, v, max) in [
                ("sender_id", &s.sender_id, SENDER_ID_MAX),
                ("location", &s.location, LOCATION_MAX),
            ] {
                if v.is_empty() || v.len() > max || !v.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                    bad(
                        at(field),
                        format!("must be 1-{max} printable ASCII characters, found {v:?}"),
                    );
                }
            }
            if let Some(p) = key_check(at("key_file"), &s.key_file, [s.primary, s.backup]) {
                key_problems.push(p);
            }
        }
        for (i, s) in self.dropcopy.iter().enumerate() {
            let at = |f: &str| format!("dropcopy[{i}].{f}");
            if !names.insert(s.name.as_str()) {
                bad(at("name"), format!("duplicate session name {:?}", s.name));
            }
            if !(5..=60).contains(&s.heartbeat_s) {
                bad(
                    at("heartbeat_s"),
                    format!(
                        "must be 5-60 seconds (CME's range), found {}",
                        s.heartbeat_s
                    ),
                );
            }
            for (field, v) in [
                ("sender_comp_id", &s.sender_comp_id),
                ("sender_sub_id", &s.sender_sub_id),
                ("target_comp_id", &s.target_comp_id),
                ("target_sub_id", &s.target_sub_id),
                ("sender_location_id", &s.sender_location_id),
            ] {
                // The session's own rule (`DropCopySession::new`): 1-64 printable characters.
                if v.is_empty() || v.len() > 64 || !v.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                    bad(
                        at(field),
                        format!(
                            "must be 1-64 printable ASCII characters, found {} bytes",
                            v.len()
                        ),
                    );
                }
            }
            if s.primary.is_none() && !embedded {
                bad(
                    at("primary"),
                    "gateway address required (no embedded simulator)".into(),
                );
            }
            if let Some(p) = key_check(at("key_file"), &s.key_file, [s.primary, s.backup]) {
                key_problems.push(p);
            }
        }
        let mut strategy_names = HashSet::new();
        for (i, s) in self.strategy.iter().enumerate() {
            let at = |f: &str| format!("strategy[{i}].{f}");
            if !strategy_names.insert(s.name.as_str()) {
                bad(at("name"), format!("duplicate strategy name {:?}", s.name));
            }
            if s.sessions.is_empty() {
                bad(
                    at("sessions"),
                    "must name at least one iLink 3 session".into(),
                );
            }
            for (j, sess) in s.sessions.iter().enumerate() {
                if !ilink_names.contains(sess.as_str()) {
                    bad(
                        format!("strategy[{i}].sessions[{j}]"),
                        format!("unknown iLink 3 session {sess:?}"),
                    );
                }
            }
            let engines: Vec<(usize, &str)> = s
                .sessions
                .iter()
                .filter_map(|n| {
                    self.ilink3
                        .iter()
                        .find(|c| &c.name == n)
                        .map(|c| (c.engine, c.name.as_str()))
                })
                .collect();
            if let Some(&(e0, n0)) = engines.first() {
                if let Some(&(e1, n1)) = engines.iter().find(|(e, _)| *e != e0) {
                    bad(
                        at("sessions"),
                        format!(
                            "sessions {n0:?} (engine {e0}) and {n1:?} (engine {e1}) run on \
                             different hot threads; a strategy's sessions must share one engine \
                             (set the same `engine` on them, or split the strategy)"
                        ),
                    );
                }
            }
            for (field, v) in [
                ("request_capacity", s.request_capacity),
                ("event_capacity", s.event_capacity),
            ] {
                if !v.is_power_of_two() || v < 16 {
                    bad(
                        at(field),
                        format!("must be a power of two >= 16, found {v}"),
                    );
                }
            }
        }
        for (kp, m) in key_problems {
            bad(kp, m);
        }
        self.party_problems(&mut bad);
        out
    }

    /// `[[ilink3.party]]` blocks and the strategies naming them: names unique per session, ids
    /// non-zero and (per firm) naming one definition, the roles and codes CME requires of an
    /// on-demand definition, and every strategy on a session with parties naming one of them.
    fn party_problems(&self, bad: &mut impl FnMut(String, String)) {
        let mut ids: std::collections::HashMap<(&str, u64), (usize, usize)> =
            std::collections::HashMap::new();
        for (i, s) in self.ilink3.iter().enumerate() {
            let mut names = HashSet::new();
            let mut own_ids = HashSet::new();
            for (j, p) in s.party.iter().enumerate() {
                let at = |f: &str| format!("ilink3[{i}].party[{j}].{f}");
                if p.name.trim().is_empty() {
                    bad(at("name"), "must not be empty".into());
                } else if !names.insert(p.name.as_str()) {
                    bad(
                        at("name"),
                        format!("duplicate party name {:?} in session {:?}", p.name, s.name),
                    );
                }
                if p.id == 0 || p.id >= PARTY_ID_LONG_FORMAT {
                    bad(
                        at("id"),
                        format!(
                            "must be 1 to {} (0 and FFFFFFFF are CME's on-demand / long-format \
                             values), found {}",
                            PARTY_ID_LONG_FORMAT - 1,
                            p.id
                        ),
                    );
                } else if !own_ids.insert(p.id) {
                    bad(
                        at("id"),
                        format!(
                            "duplicate PartyDetailsListReqID {} in session {:?}",
                            p.id, s.name
                        ),
                    );
                } else {
                    match ids.get(&(s.firm_id.as_str(), p.id)) {
                        Some(&(oi, oj)) => {
                            let other = &self.ilink3[oi].party[oj];
                            let mut a = other.clone();
                            a.name.clone_from(&p.name);
                            if a != *p {
                                bad(
                                    at("id"),
                                    format!(
                                        "PartyDetailsListReqID {} of firm {:?} is already \
                                         ilink3[{oi}].party[{oj}] with other details (CME keeps \
                                         one definition per id; use another id)",
                                        p.id, s.firm_id
                                    ),
                                );
                            }
                        }
                        None => {
                            ids.insert((s.firm_id.as_str(), p.id), (i, j));
                        }
                    }
                }
                let text = |v: &Option<String>, max: usize| {
                    v.as_ref().is_some_and(|v| {
                        v.is_empty()
                            || v.len() > max
                            || !v.bytes().all(|b| (0x20..0x7f).contains(&b))
                    })
                };
                for (field, v, max) in [
                    ("executing_firm", &p.executing_firm, PARTY_DETAIL_ID_MAX),
                    ("operator", &p.operator, SENDER_ID_MAX),
                    ("account", &p.account, PARTY_DETAIL_ID_MAX),
                    ("take_up_firm", &p.take_up_firm, PARTY_DETAIL_ID_MAX),
                    ("take_up_account", &p.take_up_account, PARTY_DETAIL_ID_MAX),
                    ("avg_px_group_id", &p.avg_px_group_id, PARTY_DETAIL_ID_MAX),
                    ("location", &p.location, LOCATION_MAX),
                ] {
                    if text(v, max) {
                        bad(
                            at(field),
                            format!("must be 1-{max} printable ASCII characters, found {v:?}"),
                        );
                    }
                }
                if p.registration == PartyRegistration::OnDemand {
                    for (field, missing, what) in [
                        (
                            "executing_firm",
                            p.executing_firm.is_none(),
                            "PartyDetailRole 1 (executing firm)",
                        ),
                        (
                            "account",
                            p.account.is_none(),
                            "PartyDetailRole 24 (customer account)",
                        ),
                        (
                            "customer_order_handling",
                            p.customer_order_handling.is_none(),
                            "CustOrderHandlingInst (1031)",
                        ),
                        ("cti", p.cti.is_none(), "CustOrderCapacity (582)"),
                        ("origin", p.origin.is_none(), "ClearingAccountType (1816)"),
                    ] {
                        if missing {
                            bad(
                                at(field),
                                format!(
                                    "required: {what} of party {:?} (an on-demand definition \
                                     is sent to CME in a 518)",
                                    p.name
                                ),
                            );
                        }
                    }
                }
                if let Some(c) = &p.customer_order_handling {
                    if !matches!(c.as_str(), "C" | "D" | "G" | "H" | "W" | "Y") {
                        bad(
                            at("customer_order_handling"),
                            format!("must be one of C, D, G, H, W, Y (CME tag 1031), found {c:?}"),
                        );
                    }
                }
                if let Some(c) = &p.cmta_giveup {
                    if !matches!(c.as_str(), "G" | "S") {
                        bad(
                            at("cmta_giveup"),
                            format!("must be G or S (CME tag 9708), found {c:?}"),
                        );
                    }
                }
                if let Some(c) = p.cti.filter(|c| !(1..=4).contains(c)) {
                    bad(at("cti"), format!("must be 1-4 (CME tag 582), found {c}"));
                }
                if let Some(v) = p.avg_px_indicator.filter(|v| !matches!(v, 0 | 1 | 3)) {
                    bad(
                        at("avg_px_indicator"),
                        format!("must be 0, 1 or 3 (CME tag 819), found {v}"),
                    );
                }
                if let Some(v) = p.clearing_trade_price_type.filter(|v| *v > 1) {
                    bad(
                        at("clearing_trade_price_type"),
                        format!("must be 0 or 1 (CME tag 1598), found {v}"),
                    );
                }
                if p.self_match_prevention_instruction.is_some()
                    && p.self_match_prevention_id.is_none()
                {
                    bad(
                        at("self_match_prevention_instruction"),
                        "needs self_match_prevention_id".into(),
                    );
                }
            }
        }
        for (i, st) in self.strategy.iter().enumerate() {
            for (j, sess) in st.sessions.iter().enumerate() {
                let Some(s) = self.ilink3.iter().find(|c| &c.name == sess) else {
                    continue;
                };
                match &st.party {
                    Some(name) if !s.party.iter().any(|p| &p.name == name) => bad(
                        format!("strategy[{i}].party"),
                        format!(
                            "unknown party {name:?} on session {sess:?} (sessions[{j}]); it \
                             declares {:?}",
                            s.party.iter().map(|p| p.name.as_str()).collect::<Vec<_>>()
                        ),
                    ),
                    None if !s.party.is_empty() => bad(
                        format!("strategy[{i}].party"),
                        format!(
                            "session {sess:?} declares [[ilink3.party]] blocks: name the one \
                             this strategy's orders refer to"
                        ),
                    ),
                    _ => {}
                }
            }
        }
    }
}

/// Rewrites serde's type names into words operators use.
fn friendly(msg: &str) -> String {
    let mut m = msg.trim().to_string();
    for t in [
        "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64",
    ] {
        m = m.replace(&format!("expected {t}"), "expected an integer");
    }
    m.replace("expected a boolean", "expected true or false")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("test.toml"), text, Path::new("/nonexistent"))
    }

    const MINIMAL: &str = r#"
[daemon]
state_dir = "/tmp/x"
[simulator]
embedded = true
[[ilink3]]
name = "a"
session_id = "ABC"
firm_id = "007"
key_file = "demo:a"
[[strategy]]
name = "s"
sessions = ["a"]
"#;

    /// Found by the `config_load` fuzz target: a `[[dropcopy]]` CompID of 65+ characters was
    /// accepted, then refused by the session at start-up (its limit is 64).
    #[test]
    fn dropcopy_comp_ids_longer_than_64_are_refused_like_the_session_does() {
        use crate::auth::{AccessKeyId, HmacSigner};
        use crate::dropcopy::{DropCopySession, SeqNums};
        let demo = include_str!("../../config/demo.toml");
        let path = Path::new("demo.toml");
        for (len, ok) in [(64, true), (65, false)] {
            let id = "D".repeat(len);
            let text = demo.replace(
                "sender_comp_id = \"DMODC1N\"",
                &format!("sender_comp_id = \"{id}\""),
            );
            assert!(text.contains(&id));
            match Config::parse(path, &text, Path::new("config")) {
                Ok(c) => {
                    assert!(ok, "{len} characters accepted");
                    let akid = AccessKeyId::parse("ABCDEFGHIJ0123456789").unwrap();
                    DropCopySession::new(
                        c.dropcopy[0].session_config(),
                        akid,
                        HmacSigner::new(b"k"),
                        SeqNums::BEGINNING_OF_WEEK,
                    )
                    .expect("the session takes what the config accepted");
                }
                Err(e) => {
                    assert!(!ok, "{len} characters refused: {e}");
                    let e = e.to_string();
                    assert!(e.contains("dropcopy[0].sender_comp_id"), "{e}");
                    assert!(e.contains("1-64 printable"), "{e}");
                }
            }
        }
    }

    #[test]
    fn minimal_config_parses_with_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.ilink3[0].keepalive_ms, 30_000);
        assert_eq!(c.daemon.hot_cores, vec![1]);
        assert_eq!(c.network.backend, Backend::Auto);
        assert_eq!(c.daemon.fsync, FsyncPolicy::Batch);
    }

    /// `on_restart`: "recover" unless `[router]` says otherwise; a session may override it; a
    /// value that is neither is refused with its place.
    #[test]
    fn on_restart_defaults_to_recover_and_a_session_overrides_router() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.ilink3[0].on_restart_or(&c.router), OnRestart::Recover);
        let c = parse(&format!("{MINIMAL}[router]\non_restart = \"cancel\"\n")).unwrap();
        assert_eq!(c.ilink3[0].on_restart_or(&c.router), OnRestart::Cancel);
        let text = MINIMAL.replace(
            "key_file = \"demo:a\"",
            "key_file = \"demo:a\"\non_restart = \"recover\"",
        );
        let c = parse(&format!("{text}[router]\non_restart = \"cancel\"\n")).unwrap();
        assert_eq!(c.ilink3[0].on_restart_or(&c.router), OnRestart::Recover);
        let text = MINIMAL.replace(
            "key_file = \"demo:a\"",
            "key_file = \"demo:a\"\non_restart = \"forget\"",
        );
        let msg = parse(&text).unwrap_err().to_string();
        assert!(msg.contains("ilink3[0].on_restart"), "{msg}");
        assert!(msg.contains("recover") && msg.contains("cancel"), "{msg}");
    }

    /// One rule for every path: relative to the config file's folder, never to the working
    /// directory; absolute paths stay as written.
    #[test]
    fn every_relative_path_is_relative_to_the_config_files_folder() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("etc");
        std::fs::create_dir(&conf).unwrap();
        std::fs::write(
            conf.join("keys.toml"),
            "[[key]]\naccess_key_id = \"AKIDAAAAAAAAAAAAAAA1\"\n\
             secret_key = \"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"\n",
        )
        .unwrap();
        let text = MINIMAL
            .replace(
                "state_dir = \"/tmp/x\"",
                "state_dir = \"state\"\nshm_dir = \"../shm\"",
            )
            .replace(
                "[simulator]",
                "[latency]\nlog_dir = \"lat\"\nprom_file = \"/abs/x.prom\"\n[simulator]",
            );
        let path = conf.join("ilinkd.toml");
        std::fs::write(&path, text).unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(c.daemon.state_dir, conf.join("state"));
        assert_eq!(c.daemon.shm_dir, conf.join("../shm"));
        assert_eq!(c.latency.log_dir, Some(conf.join("lat")));
        assert_eq!(c.latency.prom_file, Some(PathBuf::from("/abs/x.prom")));
        match c.key_source("keys.toml").unwrap() {
            KeySource::File(p) => assert_eq!(p, conf.join("keys.toml")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn type_error_names_line_column_and_key_path() {
        let text = MINIMAL.replace(
            "key_file = \"demo:a\"",
            "key_file = \"demo:a\"\nkeepalive_ms = \"30s\"",
        );
        let err = parse(&text).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("test.toml:11:16: ilink3[0].keepalive_ms: "),
            "{msg}"
        );
        assert!(msg.contains("expected an integer"), "{msg}");
    }

    #[test]
    fn unknown_key_refused() {
        let text = MINIMAL.replace("[daemon]", "[daemon]\nhot_core = 1");
        let msg = parse(&text).unwrap_err().to_string();
        assert!(msg.contains("daemon"), "{msg}");
        assert!(msg.contains("unknown field `hot_core`"), "{msg}");
        assert!(msg.starts_with("test.toml:3:"), "{msg}");
    }

    #[test]
    fn cross_field_problems_all_reported() {
        let text = format!(
            "{MINIMAL}\n[[ilink3]]\nname = \"a\"\nsession_id = \"ABCD\"\nfirm_id = \"007\"\n\
             key_file = \"missing.toml\"\nkeepalive_ms = 100\n\
             [[strategy]]\nname = \"t\"\nsessions = [\"nope\"]\n"
        );
        let err = parse(&text).unwrap_err();
        let msg = err.to_string();
        for want in [
            "ilink3[1].name: duplicate session name \"a\"",
            "ilink3[1].session_id: must be 3 ASCII characters",
            "ilink3[1].keepalive_ms: must be 5000-60000",
            "strategy[1].sessions[0]: unknown iLink 3 session \"nope\"",
            "ilink3[1].key_file: key file /nonexistent/missing.toml does not exist",
        ] {
            assert!(msg.contains(want), "missing {want:?} in:\n{msg}");
        }
    }

    #[test]
    fn demo_key_refused_for_a_real_gateway() {
        let text = MINIMAL
            .replace("[simulator]\nembedded = true\n", "")
            .replace(
                "key_file = \"demo:a\"",
                "key_file = \"demo:a\"\nprimary = \"10.1.2.3:10000\"",
            );
        let msg = parse(&text).unwrap_err().to_string();
        assert!(
            msg.contains("ilink3[0].key_file: a demo key only works"),
            "{msg}"
        );
    }

    #[test]
    fn instruments_ticks_and_priority_are_checked() {
        let ok = format!(
            "{MINIMAL}\n[[instrument]]\nsecurity_id = 42\nsymbol = \"ESZ6\"\ntick = \"0.25\"\n\
             [[instrument]]\nsecurity_id = 44\ntick = \"0.015625\"\n"
        );
        let c = parse(&ok).unwrap();
        assert_eq!(c.instrument[0].tick_mantissa(), Some(250_000_000));
        assert_eq!(c.instrument[1].tick_mantissa(), Some(15_625_000));
        assert_eq!(c.ilink3[0].sender_id, "ILINKD");
        assert_eq!(c.ilink3[0].location, "US,IL");
        assert_eq!(c.daemon.hot_priority, None);

        let text = format!(
            "{}\n[[instrument]]\nsecurity_id = 42\ntick = \"0.25\"\n\
             [[instrument]]\nsecurity_id = 42\ntick = \"abc\"\n\
             [[instrument]]\nsecurity_id = 0\ntick = \"0.0000000001\"\n",
            MINIMAL.replace("[daemon]", "[daemon]\nhot_priority = 120")
        );
        let msg = parse(&text).unwrap_err().to_string();
        for want in [
            "daemon.hot_priority: SCHED_FIFO priority must be 1-99, found 120",
            "instrument[1].security_id: duplicate instrument 42",
            "instrument[1].tick: must be a positive decimal",
            "instrument[2].security_id: must be positive",
            "instrument[2].tick: must be a positive decimal",
        ] {
            assert!(msg.contains(want), "missing {want:?} in:\n{msg}");
        }
    }

    #[test]
    fn a_strategy_spanning_engines_is_refused() {
        let text = MINIMAL
            .replace("[daemon]", "[daemon]\nhot_cores = [1, 2]")
            .replace(
                "[[strategy]]",
                "[[ilink3]]\nname = \"b\"\nsession_id = \"BCD\"\nfirm_id = \"007\"\n\
                 key_file = \"demo:b\"\nengine = 1\n[[strategy]]",
            )
            .replace("sessions = [\"a\"]", "sessions = [\"a\", \"b\"]");
        let msg = parse(&text).unwrap_err().to_string();
        assert!(
            msg.contains("strategy[0].sessions: sessions \"a\" (engine 0) and \"b\" (engine 1)"),
            "{msg}"
        );
    }

    const PARTY: &str = r#"
[[ilink3.party]]
name = "desk1"
id = 1001
executing_firm = "007"
account = "ACCT1"
customer_order_handling = "W"
cti = 2
origin = "customer"
self_match_prevention_id = 55
self_match_prevention_instruction = "cancel_oldest"
"#;

    /// `[[ilink3.party]]` under a `[[ilink3]]` table belongs to that session; a strategy on it
    /// names one.
    #[test]
    fn parties_belong_to_the_session_above_them() {
        let text = MINIMAL
            .replace("[[strategy]]", &format!("{PARTY}[[strategy]]"))
            .replace(
                "sessions = [\"a\"]",
                "sessions = [\"a\"]\nparty = \"desk1\"",
            );
        let c = parse(&text).unwrap();
        let p = &c.ilink3[0].party[0];
        assert_eq!((p.name.as_str(), p.id), ("desk1", 1001));
        assert_eq!(p.registration, PartyRegistration::OnDemand);
        assert_eq!(p.origin, Some(PartyOrigin::Customer));
        assert_eq!(
            p.self_match_prevention_instruction,
            Some(SmpInstruction::CancelOldest)
        );
        assert_eq!(c.strategy[0].party.as_deref(), Some("desk1"));
    }

    #[test]
    fn party_problems_are_reported_with_where_they_are() {
        let second = "[[ilink3.party]]\nname = \"desk1\"\nid = 1001\nregistration = \"pre_registered\"\n\
                      [[ilink3.party]]\nname = \"bare\"\nid = 0\ncti = 7\n\
                      customer_order_handling = \"Q\"\nself_match_prevention_instruction = \"cancel_newest\"\n";
        let text = MINIMAL
            .replace("[[strategy]]", &format!("{PARTY}{second}[[strategy]]"))
            .replace("sessions = [\"a\"]", "sessions = [\"a\"]\nparty = \"nope\"");
        let msg = parse(&text).unwrap_err().to_string();
        for want in [
            "ilink3[0].party[1].name: duplicate party name \"desk1\" in session \"a\"",
            "ilink3[0].party[1].id: duplicate PartyDetailsListReqID 1001 in session \"a\"",
            "ilink3[0].party[2].id: must be 1 to 4294967294",
            "ilink3[0].party[2].executing_firm: required: PartyDetailRole 1 (executing firm) of party \"bare\"",
            "ilink3[0].party[2].account: required: PartyDetailRole 24 (customer account)",
            "ilink3[0].party[2].origin: required: ClearingAccountType (1816)",
            "ilink3[0].party[2].cti: must be 1-4 (CME tag 582), found 7",
            "ilink3[0].party[2].customer_order_handling: must be one of C, D, G, H, W, Y",
            "ilink3[0].party[2].self_match_prevention_instruction: needs self_match_prevention_id",
            "strategy[0].party: unknown party \"nope\" on session \"a\"",
        ] {
            assert!(msg.contains(want), "missing {want:?} in:\n{msg}");
        }
        assert!(
            !msg.contains("party[1].executing_firm"),
            "a pre-registered party needs no roles:\n{msg}"
        );
    }

    #[test]
    fn a_strategy_on_a_session_with_parties_must_name_one_and_ids_keep_one_definition() {
        let other = "[[ilink3]]\nname = \"b\"\nsession_id = \"BCD\"\nfirm_id = \"007\"\n\
                     key_file = \"demo:b\"\n[[ilink3.party]]\nname = \"desk1\"\nid = 1001\n\
                     registration = \"pre_registered\"\n";
        let text = MINIMAL.replace("[[strategy]]", &format!("{PARTY}{other}[[strategy]]"));
        let msg = parse(&text).unwrap_err().to_string();
        for want in [
            "strategy[0].party: session \"a\" declares [[ilink3.party]] blocks",
            "ilink3[1].party[0].id: PartyDetailsListReqID 1001 of firm \"007\" is already \
             ilink3[0].party[0] with other details",
        ] {
            assert!(msg.contains(want), "missing {want:?} in:\n{msg}");
        }
    }

    #[test]
    fn price9_parses_exact_decimals() {
        assert_eq!(parse_price9("4500.25"), Some(4_500_250_000_000));
        assert_eq!(parse_price9("-1.5"), Some(-1_500_000_000));
        assert_eq!(parse_price9("3"), Some(3_000_000_000));
        assert_eq!(parse_price9(".5"), Some(500_000_000));
        assert_eq!(parse_price9("0.123456789"), Some(123_456_789));
        for bad in ["", ".", "1e3", "0.1234567891", "x", "1.2.3", "99999999999"] {
            assert_eq!(parse_price9(bad), None, "{bad}");
        }
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("é\nx", 3), (2, 1));
        assert_eq!(line_col("abc", 99), (1, 4));
    }
}
