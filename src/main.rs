//! `ilinkd`: the command line.
//!
//! Exit codes: 0 success, 1 failure at run time (or a subcommand that is not available yet),
//! 2 invalid input (config, key file, arguments).

use clap::{Parser, Subcommand};
use ilinkd::auth::keys::{today_utc, KeyFile, KeySource};
use ilinkd::config::Config;
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
    Demo,
    /// Run the CME-like exchange simulator.
    Sim {
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Attach as a strategy and send a stream of orders.
    Load {
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Print latency reports from HdrHistogram interval logs (`*.hlog`).
    Report {
        /// Interval logs, as written by the daemon (one per UTC day).
        #[arg(required = true)]
        files: Vec<PathBuf>,
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
    },
    /// Inspect key files.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Check a configuration file, its key files included, and exit.
    CheckConfig {
        #[arg(short, long)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Validate a key file and show its key ids, expiry dates and days left (never secrets).
    Check { file: PathBuf },
}

/// An error that means the input was bad (exit 2) rather than a run-time failure.
#[derive(Debug)]
struct BadInput(anyhow::Error);

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let result = match cli.command {
        Command::CheckConfig { config } => check_config(&config),
        Command::Keys {
            command: KeysCommand::Check { file },
        } => keys_check(&file),
        Command::Run { .. } => not_yet("run"),
        Command::Demo => not_yet("demo"),
        Command::Sim { .. } => not_yet("sim"),
        Command::Load { .. } => not_yet("load"),
        Command::Report {
            files,
            tags,
            from,
            to,
            hgrm,
            html,
        } => report(files, tags, from, to, hgrm, html),
        Command::Status { .. } => not_yet("status"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = if e.is::<BadInput>() { 2 } else { 1 };
            let e = match e.downcast::<BadInput>() {
                Ok(BadInput(inner)) => inner,
                Err(e) => e,
            };
            eprintln!("error: {e:#}");
            ExitCode::from(code)
        }
    }
}

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}
impl std::error::Error for BadInput {}

fn bad(e: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(BadInput(e.into()))
}

fn not_yet(what: &str) -> anyhow::Result<()> {
    anyhow::bail!("`ilinkd {what}` is not yet available in this build")
}

fn report(
    files: Vec<PathBuf>,
    tags: Vec<String>,
    from: Option<String>,
    to: Option<String>,
    hgrm: Option<PathBuf>,
    html: Option<PathBuf>,
) -> anyhow::Result<()> {
    use ilinkd::latency::report::{run, Filter, ReportError, ReportOptions, TimeBound};
    let bound = |s: Option<String>| -> anyhow::Result<Option<TimeBound>> {
        s.map(|s| s.parse::<TimeBound>()).transpose().map_err(bad)
    };
    let opts = ReportOptions {
        files,
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
        ReportError::Io { .. } => anyhow::Error::new(e),
        e => bad(e),
    })
}

fn check_config(path: &std::path::Path) -> anyhow::Result<()> {
    let cfg = Config::load(path).map_err(bad)?;
    let today = today_utc();
    let mut problems = Vec::new();
    let mut report = Vec::new();
    let sessions = cfg
        .ilink3
        .iter()
        .map(|s| ("ilink3", &s.name, &s.key_file))
        .chain(
            cfg.dropcopy
                .iter()
                .map(|s| ("dropcopy", &s.name, &s.key_file)),
        );
    for (kind, name, spec) in sessions {
        let source = cfg.key_source(spec).map_err(|m| bad(anyhow::anyhow!(m)))?;
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
        Ok(())
    } else {
        Err(bad(anyhow::anyhow!(problems.join("\n"))))
    }
}

fn keys_check(path: &std::path::Path) -> anyhow::Result<()> {
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
