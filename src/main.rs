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
    /// Print latency reports from interval logs.
    Report { files: Vec<PathBuf> },
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
    /// Drop Copy tools.
    Dropcopy {
        #[command(subcommand)]
        command: DropcopyCommand,
    },
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
        Command::Report { .. } => not_yet("report"),
        Command::Status { .. } => not_yet("status"),
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

/// `ilinkd dropcopy tail`: JSON lines on stdout until interrupted (or caught up with
/// `--no-follow`); a closed stdout (`| head`) ends it quietly with exit 0.
fn dropcopy_tail(
    config: &std::path::Path,
    session: Option<&str>,
    from: Option<u64>,
    follow: bool,
) -> anyhow::Result<()> {
    use ilinkd::fix::fanout::json_line;
    use ilinkd::fix::{DropCopyPaths, DropCopyTail, ReportParser, TailStart};
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
