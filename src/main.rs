//! `ilinkd`: the command line.
//!
//! Exit codes: 0 success, 1 failure at run time (or a subcommand that is not available yet),
//! 2 invalid input (config, key file, arguments).

use clap::{Parser, Subcommand};
use ilinkd::auth::keys::KeyFile;
use ilinkd::config::Config;
use ilinkd::store::keys::{today_utc, KeySource};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ilinkd",
    version,
    about = "CME Globex gateway: iLink 3 and Drop Copy 4.0"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Run simulator, daemon and a load strategy on loopback and print what happened.
    Demo(DemoArgs),
    /// Run the CME-like exchange simulator until SIGINT/SIGTERM.
    Sim(SimArgs),
    /// Run the AutoCert+ certification scenarios (CERTIFICATION.md sections 1 and 2) against
    /// the embedded simulator: one PASS / FAIL / SKIPPED line each; exit 1 on any FAIL.
    /// The guided mode against a real CME gateway is not implemented yet.
    Cert(CertArgs),
    /// Attach as a strategy and send a paced new/replace/cancel mix; check every answer.
    Load(LoadArgs),
    /// Chaos soak: the simulator, `ilinkd run` and `ilinkd load` under random faults, then one
    /// `INVARIANT <name> ok|FAIL` line per invariant (exit 1 on any FAIL).
    Soak {
        /// How long to run, in seconds.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Seed of the fault choices (default: from the clock; printed either way).
        #[arg(long)]
        seed: Option<u64>,
        /// Working directory (configs, state, logs; default: a new one under $TMPDIR).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Requests per second of the load.
        #[arg(long, default_value_t = 200)]
        rate: u64,
        /// Seconds per epoch (one load run, one fault).
        #[arg(long, default_value_t = 8)]
        epoch_s: u64,
    },
    /// Print latency reports from HdrHistogram interval logs (`*.hlog`), of one host or, with
    /// `--label`, of several side by side.
    Report {
        /// Interval logs, as written by the daemon (one per UTC day).
        #[arg(required_unless_present = "labels")]
        files: Vec<PathBuf>,
        /// A host's logs under a label: HOST=DIR (its *.hlog files), HOST=FILE or HOST=GLOB
        /// (`*` in the file name); repeat for each host. Rows of one tag sit together, one per
        /// host.
        #[arg(long = "label", value_name = "HOST=DIR_OR_GLOB")]
        labels: Vec<String>,
        /// Only tags matching this pattern (`*` wildcard, e.g. `cme-eq.*` or `*.exchange_rtt`);
        /// repeat for several.
        #[arg(long = "tag", value_name = "PATTERN")]
        tags: Vec<String>,
        /// Only intervals starting at or after TIME: RFC 3339, Unix seconds, or +SECONDS after
        /// the first interval.
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// Only intervals starting before TIME (same forms as --from).
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// Write each tag's percentile distribution (`<tag>.hgrm`) into DIR.
        #[arg(long, value_name = "DIR")]
        hgrm: Option<PathBuf>,
        /// Write a self-contained HTML page with charts to OUT.
        #[arg(long, value_name = "OUT")]
        html: Option<PathBuf>,
    },
    /// Show the state of a running daemon's sessions.
    Status {
        #[arg(short, long)]
        config: PathBuf,
        /// Print the status file as JSON.
        #[arg(long)]
        json: bool,
        /// Show the `[[ilink3.party]]` registrations (518 sent, 519 accepted or refused).
        #[arg(long)]
        parties: bool,
    },
    /// Pull (or, with --release, release) the kill switch of a running daemon: cancel every
    /// open order of the scope and refuse new orders and modifies there until released.
    /// Persisted across restarts; logged with the caller's uid and pid.
    #[command(group(clap::ArgGroup::new("scope").required(true).args(["session", "strategy", "all"])))]
    Kill {
        #[arg(short, long)]
        config: PathBuf,
        /// One iLink 3 session (config name).
        #[arg(long)]
        session: Option<String>,
        /// One strategy (config name).
        #[arg(long)]
        strategy: Option<String>,
        /// Every session and strategy.
        #[arg(long)]
        all: bool,
        /// Release the switch instead of pulling it.
        #[arg(long)]
        release: bool,
        /// Why (logged and shown by `ilinkd status`).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Inspect key files.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Check configuration files, their key files included, and exit. With several `-c`
    /// (daemons meant for one host), also refuse any two that share cores, state_dir, shared-
    /// memory segments, sessions, daemon name or metrics outputs.
    CheckConfig {
        #[arg(short, long, required = true)]
        config: Vec<PathBuf>,
    },
    /// Drop Copy tools.
    Dropcopy {
        #[command(subcommand)]
        command: DropcopyCommand,
    },
}

#[derive(clap::Args)]
struct LoadArgs {
    #[arg(short, long)]
    config: PathBuf,
    /// `[[strategy]]` name (its segment must exist: the daemon runs).
    #[arg(long)]
    strategy: String,
    /// Requests to send (new orders, replaces and cancels together).
    #[arg(long, default_value_t = 10_000)]
    orders: u64,
    /// Requests per second.
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// Session: a name from the strategy's `sessions`, or its index (default: the first).
    #[arg(long)]
    session: Option<String>,
    /// Instrument (default: the first `[[instrument]]`).
    #[arg(long)]
    security_id: Option<i32>,
    /// Crossing price as a decimal (default 4500, rounded to the tick).
    #[arg(long)]
    price: Option<String>,
    /// Seconds to wait for the session to come up and for the last answers.
    #[arg(long, default_value_t = 10)]
    timeout_s: u64,
}

#[derive(clap::Args)]
struct DemoArgs {
    /// Demo config (default: config/demo.toml).
    #[arg(short, long)]
    config: Option<PathBuf>,
    /// Requests the load strategy sends.
    #[arg(long, default_value_t = 100_000)]
    orders: u64,
    /// Requests per second.
    #[arg(long, default_value_t = 20_000)]
    rate: u64,
}

#[derive(Subcommand)]
enum DropcopyCommand {
    /// Print a Drop Copy session's messages as JSON lines, in MsgSeqNum order: history from the
    /// journal, then live from the shared-memory ring.
    Tail {
        #[arg(short, long)]
        config: PathBuf,
        /// `[[dropcopy]]` session name (required when the config has more than one).
        #[arg(long)]
        session: Option<String>,
        /// Start at the first message with MsgSeqNum >= SEQ (older ones come from the journal).
        #[arg(long, value_name = "SEQ", conflicts_with = "live")]
        from: Option<u64>,
        /// Start at the live end: only messages received from now on (the default).
        #[arg(long)]
        live: bool,
        /// Keep following new messages (the default).
        #[arg(long, overrides_with = "no_follow")]
        follow: bool,
        /// Exit once everything received so far is printed.
        #[arg(long, overrides_with = "follow")]
        no_follow: bool,
    },
    /// Print the execution reports of a UTC day seen on only one side (the iLink 3 sessions or
    /// Drop Copy), from the journals. Exit 1 when there is any, 0 when everything matched.
    Reconcile {
        #[arg(short, long)]
        config: PathBuf,
        /// UTC day, YYYY-MM-DD (default: today).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
    },
}

/// `ilinkd sim`: the fault flags apply to every session (or those named by `--fault-session`)
/// on top of the faults in the config file.
#[derive(clap::Args)]
struct SimArgs {
    /// Simulator config (see config/sim.toml).
    #[arg(short, long)]
    config: PathBuf,
    /// Write the counters as JSON here at exit.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Keep sequence state and sent messages here (overrides sim.state_dir).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Acknowledge every order without a book.
    #[arg(long)]
    benchmark: bool,
    /// With --benchmark: also fill every order at its price.
    #[arg(long, requires = "benchmark")]
    benchmark_fill: bool,
    /// Apply the fault flags only to this session (Session ID or SenderCompID; repeatable).
    #[arg(long = "fault-session", value_name = "NAME")]
    fault_sessions: Vec<String>,
    /// Faults apply to the first N connections of a session only.
    #[arg(long, value_name = "N")]
    fault_connections: Option<u32>,
    /// Skip COUNT outbound sequence numbers after AFTER business messages.
    #[arg(long, value_name = "AFTER:COUNT", value_parser = parse_after_count)]
    skip: Option<ilinkd::sim::config::AfterCount>,
    /// iLink 3: NotApplied for COUNT messages after the client's AFTER-th business message.
    #[arg(long, value_name = "AFTER:COUNT", value_parser = parse_after_count)]
    not_applied: Option<ilinkd::sim::config::AfterCount>,
    /// Drop the TCP connection after K business messages.
    #[arg(long, value_name = "K")]
    disconnect_after: Option<u64>,
    /// Hold every outbound byte for MS milliseconds.
    #[arg(long, value_name = "MS")]
    delay_ms: Option<u64>,
    /// Go silent once logged on (the client's keepalive lapses).
    #[arg(long)]
    silent: bool,
    /// Reject every logon signature.
    #[arg(long)]
    reject_signatures: bool,
    /// Follow every business message with a PossDup/PossRetrans copy.
    #[arg(long)]
    duplicate: bool,
    /// Drop Copy: MsgSeqNum jumps by BY after AFTER business messages (a failover).
    #[arg(long, value_name = "AFTER:BY", value_parser = parse_after_by)]
    failover_jump: Option<ilinkd::sim::config::AfterBy>,
    /// Drop Copy: never copy COUNT execution reports after AFTER (tests reconciliation).
    #[arg(long, value_name = "AFTER:COUNT", value_parser = parse_after_count)]
    withhold: Option<ilinkd::sim::config::AfterCount>,
}

fn parse_pair(s: &str, second: &str) -> Result<(u64, u64), String> {
    let (a, b) = s
        .split_once(':')
        .ok_or_else(|| format!("expected AFTER:{second}, e.g. 10:3"))?;
    let n = |t: &str| {
        t.trim()
            .parse::<u64>()
            .map_err(|_| format!("{t:?} is not a non-negative integer"))
    };
    Ok((n(a)?, n(b)?))
}

fn parse_after_count(s: &str) -> Result<ilinkd::sim::config::AfterCount, String> {
    let (after, count) = parse_pair(s, "COUNT")?;
    let count = u32::try_from(count).map_err(|_| "COUNT is too large".to_string())?;
    Ok(ilinkd::sim::config::AfterCount { after, count })
}

fn parse_after_by(s: &str) -> Result<ilinkd::sim::config::AfterBy, String> {
    let (after, by) = parse_pair(s, "BY")?;
    Ok(ilinkd::sim::config::AfterBy { after, by })
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Validate a key file and show its key ids, expiry dates and days left (never secrets).
    Check { file: PathBuf },
}

/// Why a command failed, which decides the exit code ([`CliError::exit_code`]).
#[derive(Debug)]
enum CliError {
    /// Bad input: configuration, key file, arguments (exit 2).
    BadInput(anyhow::Error),
    /// A failure at run time (exit 1).
    Failed(anyhow::Error),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::BadInput(_) => 2,
            CliError::Failed(_) => 1,
        }
    }

    fn error(&self) -> &anyhow::Error {
        match self {
            CliError::BadInput(e) | CliError::Failed(e) => e,
        }
    }
}

/// Any other error (`?` on io, serde, ...) is a run-time failure.
impl<E: Into<anyhow::Error>> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError::Failed(e.into())
    }
}

type CliResult<T = ()> = Result<T, CliError>;

/// `return Err(..)` with a run-time failure (exit 1).
macro_rules! fail {
    ($($t:tt)*) => {
        return Err(CliError::Failed(anyhow::anyhow!($($t)*)))
    };
}

#[derive(clap::Args)]
struct CertArgs {
    /// What to certify against: the embedded simulator (`sim`), or the gateway of `-c FILE
    /// --session S` in the guided mode (`gateway`, implied by `-c`).
    #[arg(long, value_parser = ["sim", "gateway"])]
    against: Option<String>,
    /// Guided mode: the daemon's config (sessions, addresses, key files).
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Guided mode: the [[ilink3]] session to certify (its name or CME Session ID).
    #[arg(long, value_name = "S", requires = "config")]
    session: Option<String>,
    /// Guided mode: seconds to wait for each message (CME's tool's actions included).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    step_timeout: u64,
    /// Guided mode: the instrument to trade (default: the config's first [[instrument]]).
    #[arg(long, value_name = "ID")]
    security_id: Option<i32>,
    /// Guided mode: a second instrument (mass action by instrument, security definitions;
    /// default: the config's next [[instrument]]).
    #[arg(long, value_name = "ID")]
    other_security_id: Option<i32>,
    /// Guided mode: a price near the market (orders go at ticks around it; default 4500).
    #[arg(long, value_name = "PRICE")]
    price: Option<String>,
    /// Guided mode: MarketSegmentID for mass actions and MOSR (default: the instrument's).
    #[arg(long, value_name = "ID")]
    market_segment_id: Option<u8>,
    /// Guided mode: SecurityGroup for the mass action by group (default: the instrument's).
    #[arg(long, value_name = "GROUP")]
    security_group: Option<String>,
    /// Guided mode: the [[dropcopy]] session for the Drop Copy 4.0 scenarios (name or
    /// SenderCompID; default: the config's first).
    #[arg(long, value_name = "NAME", requires = "config")]
    dropcopy: Option<String>,
    /// Print the scenarios and exit.
    #[arg(long)]
    list: bool,
    /// Run only the scenarios whose name contains PATTERN (case-insensitive).
    #[arg(long, value_name = "PATTERN")]
    only: Option<String>,
    /// Fault-inject the simulator for the scenario named (or uniquely matched) SCENARIO: the
    /// field its checks read is corrupted in the simulator's answers.
    #[arg(long = "break", value_name = "SCENARIO")]
    break_: Option<String>,
    /// Write cert-report.md and cert-report.html (self-contained) into DIR.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
}

/// The guided mode's target, when `-c`/`--against gateway` asks for it.
fn cert_target(args: &CertArgs) -> CliResult<Option<ilinkd::cert::guided::Target>> {
    use ilinkd::cert::guided::{Choices, Target};
    let gateway = match (args.against.as_deref(), &args.config) {
        (Some("sim"), Some(_)) => {
            return Err(CliError::BadInput(anyhow::anyhow!(
                "--against sim runs the embedded simulator: drop -c, or use --against gateway"
            )))
        }
        (Some("gateway"), None) => {
            return Err(CliError::BadInput(anyhow::anyhow!(
                "--against gateway needs -c FILE --session S"
            )))
        }
        (_, c) => c.is_some(),
    };
    if !gateway {
        return Ok(None);
    }
    let Some(path) = &args.config else {
        return Ok(None);
    };
    if args.break_.is_some() {
        return Err(CliError::BadInput(anyhow::anyhow!(
            "--break fault-injects the embedded simulator; it does not apply to a gateway"
        )));
    }
    let Some(session) = &args.session else {
        return Err(CliError::BadInput(anyhow::anyhow!(
            "-c {}: name the session to certify with --session S",
            path.display()
        )));
    };
    if args.step_timeout == 0 {
        return Err(CliError::BadInput(anyhow::anyhow!(
            "--step-timeout must be at least 1 second"
        )));
    }
    let cfg = Config::load(path).map_err(bad)?;
    let choices = Choices {
        security_id: args.security_id,
        other_security_id: args.other_security_id,
        price: args.price.clone(),
        market_segment_id: args.market_segment_id,
        security_group: args.security_group.clone(),
        dropcopy: args.dropcopy.clone(),
    };
    let t = Target::from_config(
        &cfg,
        session,
        &choices,
        std::time::Duration::from_secs(args.step_timeout),
        today_utc(),
    )
    .map_err(bad)?;
    Ok(Some(t))
}

fn cert(args: &CertArgs) -> CliResult {
    use ilinkd::cert;
    let all = cert::scenarios();
    if args.list {
        for s in &all {
            let note = if s.run.is_none() {
                "  (not yet automated)"
            } else {
                ""
            };
            println!("{} | {}{note}", s.suite, s.name);
        }
        return Ok(());
    }
    let broken = match &args.break_ {
        None => None,
        Some(p) => {
            let exact = all.iter().find(|s| s.name == p.as_str());
            let hits: Vec<_> = all.iter().filter(|s| cert::matches(s, p)).collect();
            match (exact.map(|s| s.name), hits.as_slice()) {
                (Some(n), _) => Some(n),
                (None, [s]) => Some(s.name),
                (None, []) => {
                    return Err(CliError::BadInput(anyhow::anyhow!(
                        "--break {p:?}: no such scenario (see --list)"
                    )))
                }
                _ => {
                    return Err(CliError::BadInput(anyhow::anyhow!(
                        "--break {p:?} matches {} scenarios; name one exactly",
                        hits.len()
                    )))
                }
            }
        }
    };
    let target = cert_target(args)?;
    let mut results = Vec::new();
    for s in all
        .iter()
        .filter(|s| args.only.as_deref().is_none_or(|p| cert::matches(s, p)))
    {
        let r = match &target {
            Some(t) => cert::guided::run_guided(s, t, &mut std::io::stdout()),
            None => cert::run(s, broken == Some(s.name)),
        };
        match r.outcome.reason() {
            Some(why) => println!("{:7} {}: {why}", r.outcome.label(), s.name),
            None => println!("{:7} {}", r.outcome.label(), s.name),
        }
        results.push(r);
    }
    let count = |l: &str| results.iter().filter(|r| r.outcome.label() == l).count();
    let (pass, fail, skip) = (count("PASS"), count("FAIL"), count("SKIPPED"));
    println!("{pass} passed, {fail} failed, {skip} skipped");
    if let Some(dir) = &args.report {
        let against = match &target {
            Some(t) => format!("session {} at {}, guided", t.name, t.addr),
            None => "the embedded simulator".into(),
        };
        for p in cert::write_report_against(dir, &results, &against)? {
            println!("report: {}", p.display());
        }
    }
    if results.is_empty() {
        return Err(CliError::BadInput(anyhow::anyhow!(
            "--only {:?}: no such scenario (see --list)",
            args.only.as_deref().unwrap_or_default()
        )));
    }
    // Exit 0 only when every selected scenario passed: a skipped one is not a pass.
    if fail + skip > 0 {
        fail!("{fail} certification scenario(s) failed, {skip} skipped");
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // journald-friendly: no colour codes unless stderr is a terminal.
    use std::io::IsTerminal as _;
    let default_level = match cli.command {
        Command::Demo(_) | Command::Load(_) | Command::Soak { .. } => "warn",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        // Colour only on a terminal: under systemd, journald stores the raw bytes.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    let result = match cli.command {
        Command::CheckConfig { config } => check_configs(&config),
        Command::Keys {
            command: KeysCommand::Check { file },
        } => keys_check(&file),
        Command::Run { config } => run(&config),
        Command::Demo(args) => demo(&args),
        Command::Sim(args) => sim(&args),
        Command::Cert(args) => cert(&args),
        Command::Load(args) => load(&args),
        Command::Soak {
            seconds,
            seed,
            dir,
            rate,
            epoch_s,
        } => soak(seconds, seed, dir, rate, epoch_s),
        Command::Report {
            files,
            labels,
            tags,
            from,
            to,
            hgrm,
            html,
        } => report(files, labels, tags, from, to, hgrm, html),
        Command::Status {
            config,
            json,
            parties,
        } => status(&config, json, parties),
        Command::Kill {
            config,
            session,
            strategy,
            all: _,
            release,
            reason,
        } => kill(&config, session, strategy, release, reason),
        Command::Dropcopy {
            command:
                DropcopyCommand::Tail {
                    config,
                    session,
                    from,
                    live: _,
                    follow: _,
                    no_follow,
                },
        } => dropcopy_tail(&config, session.as_deref(), from, !no_follow),
        Command::Dropcopy {
            command: DropcopyCommand::Reconcile { config, date },
        } => match dropcopy_reconcile(&config, date.as_deref()) {
            Ok(true) => return ExitCode::from(1),
            Ok(false) => Ok(()),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {:#}", e.error());
            ExitCode::from(e.exit_code())
        }
    }
}

fn bad(e: impl Into<anyhow::Error>) -> CliError {
    CliError::BadInput(e.into())
}

/// The daemon's typed error, with the exit code it says.
fn daemon_err(e: ilinkd::daemon::DaemonError) -> CliError {
    match e.exit_code() {
        2 => CliError::BadInput(e.into()),
        _ => CliError::Failed(e.into()),
    }
}

/// `ilinkd run`: the daemon, until SIGTERM/SIGINT.
fn run(config: &std::path::Path) -> CliResult {
    ilinkd::daemon::run(config).map_err(daemon_err)?;
    Ok(())
}

/// `ilinkd kill`: one request over the daemon's control socket.
fn kill(
    config: &std::path::Path,
    session: Option<String>,
    strategy: Option<String>,
    release: bool,
    reason: Option<String>,
) -> CliResult {
    use ilinkd::daemon::kill::{send, ControlRequest, KillScope};
    let cfg = Config::load(config).map_err(bad)?;
    let (scope, target) = match (session, strategy) {
        (Some(s), _) => (KillScope::Session, s),
        (None, Some(s)) => (KillScope::Strategy, s),
        (None, None) => (KillScope::All, String::new()),
    };
    let req = ControlRequest {
        op: if release { "release" } else { "kill" }.into(),
        scope,
        target,
        reason,
    };
    let reply = send(&cfg.daemon.state_dir, &req)?;
    if reply.ok {
        println!("{}", reply.message);
        Ok(())
    } else {
        fail!("{}", reply.message)
    }
}

/// `ilinkd status`: the daemon's `<state_dir>/status.json` as a table (or JSON).
fn status(config: &std::path::Path, json: bool, parties: bool) -> CliResult {
    use ilinkd::daemon::status::{status_path, StatusFile};
    let cfg = Config::load(config).map_err(bad)?;
    let path = status_path(&cfg.daemon.state_dir);
    let mut st = StatusFile::read(&path)?;
    if parties && st.daemon_alive() && !st.parties.is_empty() {
        st = list_parties(&cfg.daemon.state_dir, &path, st)?;
    }
    if json && parties {
        println!("{}", serde_json::to_string_pretty(&st.parties)?);
    } else if json {
        println!("{}", serde_json::to_string_pretty(&st)?);
    } else if parties {
        print!("{}", st.parties_table());
    } else {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        print!("{}", st.table(now));
    }
    if st.daemon_alive() {
        Ok(())
    } else {
        fail!("daemon {} (pid {}) is not running", st.daemon, st.pid)
    }
}

/// `ilinkd status --parties`: asks the daemon for a PartyDetailsListRequest (537) on every
/// established session with parties, then waits (at most 3 s) for a status written after the
/// 538 reports could come back. Returns the status to print.
fn list_parties(
    state_dir: &std::path::Path,
    path: &std::path::Path,
    st: ilinkd::daemon::status::StatusFile,
) -> CliResult<ilinkd::daemon::status::StatusFile> {
    use ilinkd::daemon::kill::{send, ControlRequest, KillScope};
    use ilinkd::daemon::status::StatusFile;
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    let asked = now();
    let req = ControlRequest {
        op: "list-parties".into(),
        scope: KillScope::All,
        target: String::new(),
        reason: None,
    };
    match send(state_dir, &req) {
        Ok(r) if r.ok => {}
        Ok(r) => {
            eprintln!("PartyDetailsListRequest (537) not sent: {}", r.message);
            return Ok(st);
        }
        Err(e) => {
            eprintln!("PartyDetailsListRequest (537) not sent: {e}");
            return Ok(st);
        }
    }
    let mut latest = st;
    while now() < asked + 3.0 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        if let Ok(s) = StatusFile::read(path) {
            let fresh = s.updated_unix_s > asked + 1.0;
            latest = s;
            if fresh {
                break;
            }
        }
    }
    Ok(latest)
}

/// The load options for strategy `name` of `cfg` (segment, session, instrument, price).
fn load_options(cfg: &Config, args: &LoadArgs) -> CliResult<ilinkd::daemon::load::LoadOptions> {
    use ilinkd::config::parse_price9;
    let strat = cfg
        .strategy
        .iter()
        .find(|s| s.name == args.strategy)
        .ok_or_else(|| {
            bad(anyhow::anyhow!(
                "no [[strategy]] named {:?} (have: {})",
                args.strategy,
                cfg.strategy
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let session = match &args.session {
        None => 0u16,
        Some(s) => match strat.sessions.iter().position(|n| n == s) {
            Some(i) => i as u16,
            None => s
                .parse::<u16>()
                .ok()
                .filter(|&i| usize::from(i) < strat.sessions.len())
                .ok_or_else(|| {
                    bad(anyhow::anyhow!(
                        "--session {s}: strategy {} has sessions {:?}",
                        strat.name,
                        strat.sessions
                    ))
                })?,
        },
    };
    let instrument = match args.security_id {
        Some(id) => cfg.instrument.iter().find(|i| i.security_id == id),
        None => cfg.instrument.first(),
    };
    let security_id = args
        .security_id
        .or(instrument.map(|i| i.security_id))
        .ok_or_else(|| {
            bad(anyhow::anyhow!(
                "no --security-id and no [[instrument]] configured"
            ))
        })?;
    let tick = instrument
        .and_then(|i| i.tick_mantissa())
        .unwrap_or(1_000_000_000);
    let price = match &args.price {
        Some(p) => {
            parse_price9(p).ok_or_else(|| bad(anyhow::anyhow!("--price {p}: not a decimal")))?
        }
        None => 4_500_000_000_000,
    };
    let base_price = (price / tick).max(30) * tick;
    Ok(ilinkd::daemon::load::LoadOptions {
        segment: cfg
            .daemon
            .shm_dir
            .join(ilinkd::shm::strategy::segment_file_name(&strat.name)),
        orders: args.orders,
        rate: args.rate.max(1),
        session,
        security_id,
        tick,
        base_price,
        timeout: std::time::Duration::from_secs(args.timeout_s.max(1)),
    })
}

/// `ilinkd load`: a strategy process sending a paced mix and checking every answer.
fn load(args: &LoadArgs) -> CliResult {
    let cfg = Config::load(&args.config).map_err(bad)?;
    let opts = load_options(&cfg, args)?;
    println!(
        "load: strategy {} session {} security {}: {} requests at {}/s",
        args.strategy, opts.session, opts.security_id, opts.orders, opts.rate
    );
    let report = ilinkd::daemon::load::run(&opts)
        .map_err(|e| anyhow::anyhow!("{}: {e}", opts.segment.display()))?;
    print!("{}", report.summary());
    println!("{}", report.totals_line());
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    if report.ok() {
        Ok(())
    } else {
        fail!("load: some requests or orders got no final answer")
    }
}

/// `ilinkd soak`: see [`ilinkd::daemon::soak`].
fn soak(
    seconds: u64,
    seed: Option<u64>,
    dir: Option<PathBuf>,
    rate: u64,
    epoch_s: u64,
) -> CliResult {
    use ilinkd::daemon::soak::{default_dir, run, SoakOptions};
    let seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let bin = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot find this binary to start children: {e}"))?;
    let invariants = run(SoakOptions {
        duration: std::time::Duration::from_secs(seconds),
        seed,
        dir: dir.unwrap_or_else(|| default_dir(seed)),
        bin,
        rate: rate.max(1),
        epoch: std::time::Duration::from_secs(epoch_s),
    })
    .map_err(|e| anyhow::anyhow!("soak: {e}"))?;
    let failed: Vec<&str> = invariants
        .iter()
        .filter(|i| !i.ok)
        .map(|i| i.name)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        fail!(
            "soak (seed {seed}): invariants failed: {}",
            failed.join(", ")
        )
    }
}

/// `ilinkd demo`: simulator + daemon in this process, `ilinkd load` as a child process.
fn demo(args: &DemoArgs) -> CliResult {
    use ilinkd::daemon::{Daemon, DaemonOptions};
    use std::time::{Duration, Instant};
    let t0 = Instant::now();
    let path = match &args.config {
        Some(p) => p.clone(),
        None => {
            let local = PathBuf::from("config/demo.toml");
            if local.exists() {
                local
            } else {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml")
            }
        }
    };
    let mut cfg = Config::load(&path).map_err(bad)?;
    if !cfg.embedded_simulator() {
        return Err(bad(anyhow::anyhow!(
            "{}: the demo needs [simulator] embedded = true",
            path.display()
        )));
    }
    let state_dir = cfg.daemon.state_dir.clone();
    if state_dir.exists() {
        std::fs::remove_dir_all(&state_dir)
            .map_err(|e| anyhow::anyhow!("cannot clean {}: {e}", state_dir.display()))?;
    }
    // Every strategy segment of the demo lives under the state folder.
    cfg.daemon.shm_dir = state_dir.join("shm");
    std::fs::create_dir_all(&cfg.daemon.shm_dir)?;
    let strategy = cfg
        .strategy
        .first()
        .map(|s| s.name.clone())
        .ok_or_else(|| bad(anyhow::anyhow!("{}: no [[strategy]]", path.display())))?;
    println!(
        "ilinkd demo: {} (state in {})",
        path.display(),
        state_dir.display()
    );
    let daemon = Daemon::start(
        cfg.clone(),
        DaemonOptions {
            config_path: Some(path.clone()),
            systemd: false,
            ..DaemonOptions::default()
        },
    )
    .map_err(daemon_err)?;
    let up_deadline = Instant::now() + Duration::from_secs(10);
    while !daemon.all_up() && Instant::now() < up_deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    if !daemon.all_up() {
        daemon.shutdown();
        let _ = daemon.wait();
        fail!("sessions did not come up within 10 s");
    }
    println!(
        "sessions up after {:.2} s: {}",
        t0.elapsed().as_secs_f64(),
        daemon
            .shared()
            .sessions
            .iter()
            .map(|s| format!("{} ({})", s.name, s.kind.name()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // The order round trip, one order in flight, and its loopback TCP floor with the same
    // thread placement, measured now (before the load, on a quiet daemon).
    let rtt_line = demo_round_trip(&cfg, &daemon);
    // The load process attaches to the same strategy: start it only once the daemon has seen
    // the round-trip client leave (its housekeeping checks every 50 ms) and has no order of it
    // open. A strategy replaced faster than that has the new process's first orders swept
    // with the old one's cancel-on-exit (a daemon defect not fixed yet).
    if let Some(sh) = daemon
        .shared()
        .strategies
        .iter()
        .find(|s| s.name == strategy)
    {
        use std::sync::atomic::Ordering::{Acquire, Relaxed};
        let give_up = Instant::now() + Duration::from_secs(3);
        while sh.pid.load(Acquire) != 0 && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(200));
        while sh.open_orders.load(Relaxed) != 0 && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // The load strategy is a separate process: this binary's `load`, attaching to the segment.
    let shm_config = state_dir.join("demo-load.toml");
    let text = std::fs::read_to_string(&path)?;
    let text = text.replacen(
        "[daemon]",
        &format!(
            "[daemon]\nshm_dir = {:?}",
            cfg.daemon.shm_dir.canonicalize()?.display().to_string()
        ),
        1,
    );
    std::fs::write(&shm_config, text)?;
    let exe = std::env::current_exe()?;
    let load_start = Instant::now();
    let out = std::process::Command::new(exe)
        .arg("load")
        .arg("-c")
        .arg(&shm_config)
        .args(["--strategy", &strategy])
        .args(["--orders", &args.orders.to_string()])
        .args(["--rate", &args.rate.to_string()])
        .current_dir(std::env::current_dir()?)
        .env("RUST_LOG", "warn")
        .output()?;
    let load_secs = load_start.elapsed().as_secs_f64();
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    daemon.shutdown();
    let report = daemon.wait().map_err(daemon_err)?;
    if let Some(sim) = &report.sim {
        println!(
            "exchange: {} iLink 3 negotiate/establish ok, {} Drop Copy logon(s) ok; {} orders, {} acks, {} fills, {} rejects, {} cancels, {} drop copy reports; terminates {:?}",
            sim.ilink3_logons_ok,
            sim.dropcopy_logons_ok,
            sim.orders,
            sim.acks,
            sim.fills,
            sim.order_rejects,
            sim.cancels,
            sim.dropcopy_reports,
            sim.terminates
        );
    }
    println!(
        "daemon: {} journal appends, {} drop copy messages recorded, sessions closed cleanly: {}",
        report.house.journal_appends, report.house.dropcopy_recorded, report.sessions_closed
    );
    let status =
        ilinkd::daemon::status::StatusFile::read(&ilinkd::daemon::status::status_path(&state_dir));
    if let Ok(st) = status {
        print!("{}", st.table(st.updated_unix_s));
    }
    println!("results:");
    println!("{rtt_line}");
    use ilinkd::latency::report::{Filter, Report};
    let logs = report.house.latency_logs.clone();
    if logs.is_empty() {
        println!("no latency intervals were written");
    } else {
        let r = Report::load(&logs, &Filter::default())?;
        println!("latency per hop (from {}):", logs[0].display());
        print!("{}", r.table());
        let html = state_dir.join("latency-report.html");
        std::fs::write(&html, ilinkd::latency::html::render(&r))?;
        println!("HTML report: {}", html.display());
    }
    println!(
        "demo finished in {:.1} s (load process {:.1} s)",
        t0.elapsed().as_secs_f64(),
        load_secs
    );
    if out.status.success() {
        Ok(())
    } else {
        fail!(
            "the load strategy reported missing answers ({})",
            out.status
        )
    }
}

/// The demo's headline: "order round trip p50 X µs, p99 Y µs (loopback TCP floor p50 Z µs,
/// measured now)", or why it could not be measured.
fn demo_round_trip(cfg: &Config, daemon: &ilinkd::daemon::Daemon) -> String {
    use ilinkd::daemon::load::{self, quantile, Placement};
    const SAMPLES: usize = 5_000;
    const WARMUP: usize = 1_000;
    let sim = cfg.simulator.as_ref();
    let placement = Placement {
        hot_core: cfg.daemon.hot_cores.first().copied(),
        hot_idle: cfg.daemon.idle,
        exchange_core: sim.and_then(|s| s.core),
        exchange_idle: sim.map_or(Default::default(), |s| s.idle),
    };
    let floor = match load::tcp_floor(SAMPLES, WARMUP, placement) {
        Ok(f) => f,
        Err(e) => return format!("order round trip not measured: loopback floor failed: {e}"),
    };
    let Some(instrument) = cfg.instrument.first() else {
        return "order round trip not measured: no [[instrument]]".into();
    };
    let tick = instrument.tick_mantissa().unwrap_or(1_000_000_000);
    let Some(segment) = daemon.segments().first() else {
        return "order round trip not measured: no strategy".into();
    };
    let rtt = ilinkd::client::Client::attach(segment)
        .map_err(|e| e.to_string())
        .and_then(|mut c| {
            load::order_round_trips(
                &mut c,
                0,
                instrument.security_id,
                tick,
                SAMPLES,
                WARMUP,
                true,
            )
        });
    match rtt {
        Ok(rtt) => {
            let us = |ns: u64| ns as f64 / 1000.0;
            format!(
                "order round trip p50 {:.1} µs, p99 {:.1} µs (loopback TCP floor p50 {:.1} µs, measured now)",
                us(quantile(&rtt, 0.5)),
                us(quantile(&rtt, 0.99)),
                us(quantile(&floor, 0.5))
            )
        }
        Err(e) => format!("order round trip not measured: {e}"),
    }
}

fn report(
    files: Vec<PathBuf>,
    labels: Vec<String>,
    tags: Vec<String>,
    from: Option<String>,
    to: Option<String>,
    hgrm: Option<PathBuf>,
    html: Option<PathBuf>,
) -> CliResult {
    use ilinkd::latency::report::{run, Filter, HostLogs, ReportError, ReportOptions, TimeBound};
    let bound = |s: Option<String>| -> CliResult<Option<TimeBound>> {
        s.map(|s| s.parse::<TimeBound>()).transpose().map_err(bad)
    };
    let hosts = labels
        .iter()
        .map(|l| HostLogs::parse(l))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    let opts = ReportOptions {
        files,
        hosts,
        filter: Filter {
            tags,
            from: bound(from)?,
            to: bound(to)?,
        },
        hgrm_dir: hgrm,
        html,
    };
    let mut out = std::io::stdout().lock();
    run(&opts, &mut out).map_err(|e| match e {
        // Unreadable or malformed logs and empty selections are bad input; failing to write
        // the outputs is a run-time failure.
        ReportError::Io { .. } => CliError::Failed(e.into()),
        e => bad(e),
    })
}

/// `ilinkd check-config -c A [-c B ...]`: each file, then every pair for what one host's
/// daemons must not share.
fn check_configs(paths: &[PathBuf]) -> CliResult {
    use ilinkd::config::overlap::{overlaps, Named};
    let mut configs = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match check_config(p) {
            Ok(cfg) => configs.push((p, cfg)),
            Err(e) => errors.push(e),
        }
    }
    if let Some(e) = errors.pop() {
        // Every file's problems were printed; the last one is returned as the error.
        for earlier in errors {
            eprintln!("error: {:#}", earlier.error());
        }
        return Err(e);
    }
    let named: Vec<Named<'_>> = configs
        .iter()
        .map(|(p, c)| Named { path: p, config: c })
        .collect();
    let found = overlaps(&named);
    if found.is_empty() {
        if paths.len() > 1 {
            println!(
                "{} configs share nothing: they can run on one host",
                paths.len()
            );
        }
        Ok(())
    } else {
        let lines: Vec<String> = found.iter().map(|o| format!("  {o}")).collect();
        Err(bad(anyhow::anyhow!(
            "{} configs cannot run on one host, they share:\n{}",
            paths.len(),
            lines.join("\n")
        )))
    }
}

fn check_config(path: &std::path::Path) -> CliResult<Config> {
    let cfg = Config::load(path).map_err(bad)?;
    let today = today_utc();
    let mut problems = Vec::new();
    let mut report = Vec::new();
    let sessions = cfg.session_keys();
    for (kind, name, spec) in sessions {
        let source = cfg.key_source(spec).map_err(bad)?;
        match source.load(today) {
            Ok(kf) => {
                let k = kf.active();
                report.push(format!(
                    "  {kind} {name}: key {} ({}), expires {}, {} days left",
                    k.access_key_id,
                    kf.source(),
                    k.expires,
                    k.days_left(today)
                ));
                for w in kf.warnings() {
                    report.push(format!("    warning: {w}"));
                }
            }
            Err(e) => problems.push(format!("{kind} {name}: {e}")),
        }
    }
    if problems.is_empty() {
        println!("{}: ok", path.display());
        for line in report {
            println!("{line}");
        }
        println!(
            "  {} iLink 3 session(s), {} Drop Copy session(s), {} strategy attachment(s)",
            cfg.ilink3.len(),
            cfg.dropcopy.len(),
            cfg.strategy.len()
        );
        Ok(cfg)
    } else {
        Err(bad(anyhow::anyhow!(problems.join("\n"))))
    }
}

fn sim(args: &SimArgs) -> CliResult {
    use ilinkd::config::sim::SimFile;
    use ilinkd::sim::config::SessionFaults;
    use ilinkd::sim::{EngineMode, SimServer};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let file = SimFile::load(&args.config).map_err(bad)?;
    let mut cfg = file.resolve(&args.config, today_utc()).map_err(bad)?;
    if let Some(d) = &args.state_dir {
        cfg.state_dir = Some(d.clone());
    }
    if args.benchmark {
        cfg.mode = EngineMode::Benchmark {
            fill: args.benchmark_fill,
        };
    }
    let flags = SessionFaults {
        connections: args.fault_connections,
        skip: args.skip,
        not_applied: args.not_applied,
        disconnect_after: args.disconnect_after,
        delay_ms: args.delay_ms,
        silent: args.silent,
        reject_signatures: args.reject_signatures,
        duplicate: args.duplicate,
        failover_jump: args.failover_jump,
        withhold: args.withhold,
    };
    let known: Vec<&str> = cfg
        .ilink3
        .iter()
        .map(|e| e.session_id.as_str())
        .chain(cfg.dropcopy.iter().map(|e| e.sender_comp_id.as_str()))
        .collect();
    if let Some(n) = args
        .fault_sessions
        .iter()
        .find(|n| !known.contains(&n.as_str()))
    {
        return Err(bad(anyhow::anyhow!(
            "--fault-session {n}: no such session in {} (have: {})",
            args.config.display(),
            known.join(", ")
        )));
    }
    let chosen = |name: &str| {
        args.fault_sessions.is_empty() || args.fault_sessions.iter().any(|n| n == name)
    };
    if !flags.is_empty() {
        for e in cfg.ilink3.iter_mut().filter(|e| chosen(&e.session_id)) {
            e.faults.merge(&SessionFaults {
                failover_jump: None,
                withhold: None,
                ..flags.clone()
            });
        }
        for e in cfg
            .dropcopy
            .iter_mut()
            .filter(|e| chosen(&e.sender_comp_id))
        {
            e.faults.merge(&SessionFaults {
                not_applied: None,
                ..flags.clone()
            });
        }
    }

    let term = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, term.clone())
            .map_err(|e| anyhow::anyhow!("cannot install the signal handler: {e}"))?;
    }
    let handle = SimServer::start(cfg)?;
    for (name, addr) in handle.ilink3_addrs() {
        println!("ilink3 {name} listening on {addr}");
    }
    for (name, addr) in handle.dropcopy_addrs() {
        println!("dropcopy {name} listening on {addr}");
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    while !term.load(Ordering::Acquire) && handle.is_running() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let summary = handle.stop();
    println!(
        "sim stopped: {} logons ok (iLink 3 {}, Drop Copy {}), {} orders, {} acks, {} fills",
        summary.ilink3_logons_ok + summary.dropcopy_logons_ok,
        summary.ilink3_logons_ok,
        summary.dropcopy_logons_ok,
        summary.orders,
        summary.acks,
        summary.fills
    );
    if let Some(path) = &args.summary {
        summary
            .write_json(path)
            .map_err(|e| anyhow::anyhow!("cannot write the summary to {}: {e}", path.display()))?;
    }
    Ok(())
}

fn keys_check(path: &std::path::Path) -> CliResult {
    let today = today_utc();
    let source = KeySource::File(path.to_path_buf());
    let kf: KeyFile = source.load(today).map_err(bad)?;
    println!("{}: {} key(s)", path.display(), kf.keys().len());
    for (i, k) in kf.keys().iter().enumerate() {
        let role = if i == 0 { "active" } else { "standby" };
        let days = k.days_left(today);
        let state = if days < 0 {
            format!("expired {} days ago", -days)
        } else {
            format!("{days} days left")
        };
        println!(
            "  {role:<8} {}  expires {}  {state}{}",
            k.access_key_id,
            k.expires,
            k.label
                .as_deref()
                .map(|l| format!("  ({l})"))
                .unwrap_or_default()
        );
    }
    for w in kf.warnings() {
        println!("  warning: {w}");
    }
    Ok(())
}

/// `ilinkd dropcopy tail`: JSON lines on stdout until interrupted (or caught up with
/// `--no-follow`); a closed stdout (`| head`) ends it quietly with exit 0.
/// `ilinkd dropcopy reconcile`: prints the day's mismatches; returns whether there were any.
fn dropcopy_reconcile(config: &std::path::Path, date: Option<&str>) -> CliResult<bool> {
    use ilinkd::daemon::reconcile::{reconcile_day, utc_date, DayError, Scope};
    let cfg = Config::load(config).map_err(bad)?;
    let date = date.map_or_else(
        || utc_date(ilinkd::daemon::engine::realtime_ns()),
        str::to_owned,
    );
    let scope = match cfg.daemon.reconcile {
        Scope::Off => Scope::Trades,
        s => s,
    };
    let ilink: Vec<(String, String)> = cfg
        .ilink3
        .iter()
        .map(|x| (x.name.clone(), x.session_id.clone()))
        .collect();
    let dropcopy: Vec<String> = cfg.dropcopy.iter().map(|x| x.name.clone()).collect();
    let r = match reconcile_day(&cfg.daemon.state_dir, scope, &ilink, &dropcopy, &date) {
        Ok(r) => r,
        Err(e @ DayError::BadDate { .. }) => return Err(bad(e)),
        Err(e) => fail!("{e}"),
    };
    let time = |ns: u64| {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
            .map(|t| t.time().to_string())
            .unwrap_or_default()
    };
    for (side, missing, list) in [
        ("ilink3", "no Drop Copy copy", &r.ilink3_only),
        ("dropcopy", "not on any iLink 3 session", &r.dropcopy_only),
    ] {
        for p in list {
            println!(
                "{side}\texec_id={}\tsession={}\tcl_ord_id={}\tat={} UTC\t{missing}",
                p.exec_id,
                p.session,
                p.cl_ord_id,
                time(p.seen)
            );
        }
    }
    println!(
        "reconcile {date} ({}): {} matched, {} iLink 3 report(s) without a Drop Copy copy, {} Drop Copy report(s) on no iLink 3 session ({} journal(s) read)",
        scope.name(),
        r.matched,
        r.ilink3_only.len(),
        r.dropcopy_only.len(),
        r.journals.len()
    );
    Ok(!(r.ilink3_only.is_empty() && r.dropcopy_only.is_empty()))
}

fn dropcopy_tail(
    config: &std::path::Path,
    session: Option<&str>,
    from: Option<u64>,
    follow: bool,
) -> CliResult {
    use ilinkd::dropcopy::ReportParser;
    use ilinkd::store::dropcopy::json_line;
    use ilinkd::store::{DropCopyPaths, DropCopyTail, TailStart};
    use std::io::Write as _;

    let cfg = Config::load(config).map_err(bad)?;
    let names: Vec<&str> = cfg.dropcopy.iter().map(|d| d.name.as_str()).collect();
    let name = match (session, names.as_slice()) {
        (Some(n), _) if names.contains(&n) => n.to_owned(),
        (Some(n), _) => {
            return Err(bad(anyhow::anyhow!(
                "{}: no [[dropcopy]] session named {n:?} (have: {})",
                config.display(),
                names.join(", ")
            )))
        }
        (None, [one]) => (*one).to_owned(),
        (None, []) => {
            return Err(bad(anyhow::anyhow!(
                "{}: no [[dropcopy]] session configured",
                config.display()
            )))
        }
        (None, many) => {
            return Err(bad(anyhow::anyhow!(
                "{}: several Drop Copy sessions ({}): choose one with --session",
                config.display(),
                many.join(", ")
            )))
        }
    };
    let paths = DropCopyPaths::new(&cfg.daemon.state_dir, &name).map_err(bad)?;
    let start = from.map_or(TailStart::Live, TailStart::From);
    let mut tail = DropCopyTail::open(&paths, start)?;
    let mut parser = ReportParser::new();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let closed = |e: std::io::Error| -> anyhow::Result<bool> {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Ok(true)
        } else {
            Err(anyhow::Error::new(e).context("writing to stdout"))
        }
    };
    loop {
        match tail.poll()? {
            Some(r) => {
                let line = json_line(&mut parser, r.seq, &r.raw);
                if let Err(e) = writeln!(out, "{line}") {
                    if closed(e)? {
                        return Ok(());
                    }
                }
            }
            None => {
                if let Err(e) = out.flush() {
                    if closed(e)? {
                        return Ok(());
                    }
                }
                if !follow {
                    return Ok(());
                }
                // Waiting for a daemon to start needs no 2 ms reaction time.
                let idle_ms = if tail.following_ring() { 2 } else { 100 };
                std::thread::sleep(std::time::Duration::from_millis(idle_ms));
            }
        }
    }
}
