//! Several daemons on one host: two instances of `systemd/ilinkd@.service` (its `ExecStart`
//! and `StateDirectory` lines, with `/etc`, `/var` and `/dev/shm` moved under a temporary
//! folder) run side by side, each with its own sessions against its embedded simulator on
//! 127.0.0.1, and `ilinkd check-config` refuses a pair of configs that share something.

use ilinkd::daemon::status::{status_path, StatusFile};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ilinkd");

/// `key=` lines of the template unit.
fn unit_value(key: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/ilinkd@.service");
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{}: no {key}=", path.display()))
        .to_string()
}

/// A host's file system under a temporary folder: `etc/ilinkd`, `var/lib`, `var/log`,
/// `dev/shm`, `textfile`.
struct Host {
    root: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        let root = tempfile::tempdir().unwrap();
        for d in ["etc/ilinkd", "var/lib", "var/log", "dev/shm", "textfile"] {
            std::fs::create_dir_all(root.path().join(d)).unwrap();
        }
        Host { root }
    }

    fn at(&self, p: &str) -> PathBuf {
        self.root.path().join(p)
    }

    fn config_path(&self, instance: &str) -> PathBuf {
        self.at(&format!("etc/ilinkd/{instance}.toml"))
    }

    /// `/var/lib/<StateDirectory>` of the unit for `instance`.
    fn state_dir(&self, instance: &str) -> PathBuf {
        self.at("var/lib")
            .join(unit_value("StateDirectory").replace("%i", instance))
    }

    fn prom_file(&self, instance: &str) -> PathBuf {
        self.at(&format!("textfile/ilinkd-{instance}.prom"))
    }

    /// A config as the template unit's comment lays one out: its own name, state folder,
    /// cores, strategy, sessions, latency logs and metrics file; strategy segments in the
    /// shared `dev/shm`.
    fn write_config(&self, instance: &str, house: usize, hot: usize, session_id: &str) {
        let text = format!(
            "[daemon]\nname = \"{instance}\"\nstate_dir = {state:?}\nshm_dir = {shm:?}\n\
             hot_cores = [{hot}]\nhousekeeping_core = {house}\nidle = \"spin-then-yield\"\n\
             fsync = \"never\"\n\
             [network]\nbackend = \"poll\"\n\
             [simulator]\nembedded = true\n\
             [[ilink3]]\nname = \"eq\"\nsession_id = \"{session_id}\"\nfirm_id = \"001\"\n\
             key_file = \"demo:il-{instance}\"\nkeepalive_ms = 5000\n\
             [[dropcopy]]\nname = \"dc\"\nsender_comp_id = \"{session_id}DC1N\"\n\
             sender_sub_id = \"T\"\nsender_location_id = \"US,IL\"\nheartbeat_s = 5\n\
             key_file = \"demo:dc-{instance}\"\n\
             [[strategy]]\nname = \"alpha-{instance}\"\nsessions = [\"eq\"]\n\
             request_capacity = 1024\nevent_capacity = 4096\n\
             [[instrument]]\nsecurity_id = 42\nsymbol = \"ESZ6\"\ntick = \"0.25\"\n\
             [latency]\ninterval_ms = 200\nlog_dir = {logs:?}\nprom_file = {prom:?}\n\
             [risk]\nmax_order_qty = 100\nmax_open_orders = 5000\nmax_orders_per_second = 100000\nsession_orders_per_second = 0\nsession_cancels_per_second = 0\n",
            state = self.state_dir(instance),
            shm = self.at("dev/shm"),
            logs = self.at(&format!("var/log/ilinkd/{instance}/latency")),
            prom = self.prom_file(instance),
        );
        std::fs::write(self.config_path(instance), text).unwrap();
    }

    /// The unit's `ExecStart` for `instance`, with this host's `/etc/ilinkd` and the built
    /// binary.
    fn exec_start(&self, instance: &str) -> Child {
        let line = unit_value("ExecStart").replace("%i", instance).replace(
            "/etc/ilinkd/",
            &format!("{}/", self.at("etc/ilinkd").display()),
        );
        let mut words = line.split_whitespace();
        assert_eq!(words.next(), Some("/usr/local/bin/ilinkd"), "{line}");
        Command::new(BIN)
            .args(words)
            .env("RUST_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ilinkd run starts")
    }

    fn status(&self, instance: &str) -> Option<StatusFile> {
        StatusFile::read(&status_path(&self.state_dir(instance))).ok()
    }
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ilinkd")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn check_config(paths: &[PathBuf]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec!["check-config".as_ref()];
    for p in paths {
        args.push("-c".as_ref());
        args.push(p.as_os_str());
    }
    run(&args)
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// SIGTERM, then the exit status and everything the process printed.
fn stop(mut child: Child) -> (std::process::ExitStatus, String) {
    let ok = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -TERM {}", child.id());
    let end = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < end, "daemon did not exit within 10 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    (out.status, text(&out))
}

/// Metric names in a Prometheus text file: sample names (suffixes included) and declared
/// families (`# TYPE`: a summary's quantile series are written only for windows with samples).
fn exported_names(prom: &str) -> std::collections::BTreeSet<String> {
    prom.lines()
        .filter_map(|l| match l.strip_prefix("# TYPE ") {
            Some(t) => t.split(' ').next(),
            None if l.starts_with('#') || l.is_empty() => None,
            None => l.split(['{', ' ']).next(),
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn two_template_instances_run_side_by_side_with_their_own_sessions() {
    let _g = crate::heavy();
    let host = Host::new();
    // seg-b's cores need not exist on this machine: its threads then run unpinned.
    host.write_config("seg-a", 0, 1, "SGA");
    host.write_config("seg-b", 2, 3, "SGB");
    let configs = [host.config_path("seg-a"), host.config_path("seg-b")];
    let o = check_config(&configs);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("2 configs share nothing"), "{}", text(&o));

    let a = host.exec_start("seg-a");
    let b = host.exec_start("seg-b");
    let (pa, pb) = (a.id(), b.id());
    for (instance, pid) in [("seg-a", pa), ("seg-b", pb)] {
        wait_until(
            &format!("{instance}'s sessions established"),
            Duration::from_secs(15),
            || {
                host.status(instance).is_some_and(|s| {
                    s.pid == pid
                        && s.daemon == instance
                        && s.phase == "running"
                        && s.sessions.len() == 2
                        && s.sessions.iter().all(|x| x.state == "established")
                })
            },
        );
    }

    // A strategy per daemon, both at once, each through its own segment and session.
    let load = |instance: &str, orders: u64| {
        Command::new(BIN)
            .arg("load")
            .arg("-c")
            .arg(host.config_path(instance))
            .args(["--strategy", &format!("alpha-{instance}")])
            .args(["--orders", &orders.to_string()])
            .args(["--rate", "2000", "--timeout-s", "10"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ilinkd load starts")
    };
    let (la, lb) = (load("seg-a", 300), load("seg-b", 200));
    for (l, instance) in [(la, "seg-a"), (lb, "seg-b")] {
        let out = l.wait_with_output().unwrap();
        assert!(out.status.success(), "{instance} load: {}", text(&out));
    }
    // Each daemon's sessions sent its own strategy's orders, and no other's.
    for (instance, orders) in [("seg-a", 300u64), ("seg-b", 200)] {
        wait_until(
            &format!("{instance}'s status to count its orders"),
            Duration::from_secs(5),
            || {
                host.status(instance).is_some_and(|s| {
                    s.sessions
                        .iter()
                        .find(|x| x.name == "eq")
                        .is_some_and(|x| x.orders_sent == orders)
                })
            },
        );
    }
    // Each writes its own metrics file, labelled with its own name; together they export every
    // metric the alert rules and the dashboard use.
    let mut exported = std::collections::BTreeSet::new();
    for instance in ["seg-a", "seg-b"] {
        let path = host.prom_file(instance);
        let mut prom = String::new();
        wait_until(
            &format!("{} with latency", path.display()),
            Duration::from_secs(5),
            || {
                prom = std::fs::read_to_string(&path).unwrap_or_default();
                prom.contains("ilinkd_latency_seconds_count")
            },
        );
        assert!(
            prom.contains(&format!("ilinkd_info{{daemon=\"{instance}\"")),
            "{prom}"
        );
        let other = if instance == "seg-a" {
            "seg-b"
        } else {
            "seg-a"
        };
        assert!(!prom.contains(&format!("daemon=\"{other}\"")), "{prom}");
        exported.extend(exported_names(&prom));
    }
    let used = crate::monitoring::metrics_used();
    let missing: Vec<&String> = used.iter().filter(|m| !exported.contains(*m)).collect();
    assert!(
        missing.is_empty(),
        "used by alerts/dashboard but not exported by the daemons: {missing:?}"
    );

    for (child, instance) in [(a, "seg-a"), (b, "seg-b")] {
        let (status, out) = stop(child);
        assert!(status.success(), "{instance}: {status}\n{out}");
    }
}

#[test]
fn check_config_refuses_an_overlapping_pair_naming_the_overlap() {
    let host = Host::new();
    host.write_config("seg-a", 0, 1, "SGA");
    // seg-b copied from seg-a with only its name and session ids changed: same hot core,
    // state folder, strategy segment, latency logs and metrics file.
    let a_text = std::fs::read_to_string(host.config_path("seg-a")).unwrap();
    let b_text = a_text
        .replace("name = \"seg-a\"", "name = \"seg-b\"")
        .replace("SGA", "SGB")
        .replace("housekeeping_core = 0", "housekeeping_core = 2");
    std::fs::write(host.config_path("seg-b"), &b_text).unwrap();
    let (pa, pb) = (host.config_path("seg-a"), host.config_path("seg-b"));
    let o = check_config(&[pa.clone(), pb.clone()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    let (a, b) = (pa.display(), pb.display());
    for line in [
        format!("core 1: {a} daemon.hot_cores[0] and {b} daemon.hot_cores[0]"),
        format!(
            "state_dir {}: {a} daemon.state_dir and {b} daemon.state_dir",
            host.state_dir("seg-a").display()
        ),
        format!(
            "shm segment {}: {a} strategy[0].name (\"alpha-seg-a\") and {b} strategy[0].name \
             (\"alpha-seg-a\")",
            host.at("dev/shm/ilinkd-strategy-alpha-seg-a").display()
        ),
        format!("metrics file {}", host.prom_file("seg-a").display()),
    ] {
        assert!(out.contains(&line), "missing {line:?} in:\n{out}");
    }
    // Sessions are compared too, and a config shared with itself is all overlap.
    let o = check_config(&[pa.clone(), pa.clone()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains(&format!(
            "iLink 3 session SGA of firm 001: {a} ilink3[0].session_id (\"eq\") and {a} \
             ilink3[0].session_id (\"eq\")"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Drop Copy session SGADC1N: {a} dropcopy[0].sender_comp_id"
        )),
        "{out}"
    );
    // One file alone is still checked as before.
    let o = check_config(&[pb]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}
