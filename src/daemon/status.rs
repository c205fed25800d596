//! `<state_dir>/status.json`: written atomically by the housekeeping thread every second and at
//! exit; read by `ilinkd status`.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name under `state_dir`.
pub const STATUS_FILE: &str = "status.json";

/// A status older than this (with the daemon's pid alive) is reported as stale.
pub const STALE_AFTER_S: f64 = 5.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusFile {
    pub daemon: String,
    pub pid: u32,
    pub started_unix_s: f64,
    pub updated_unix_s: f64,
    /// `running`, `draining` or `stopped`.
    pub phase: String,
    /// Latency clock source.
    pub clock: String,
    pub sessions: Vec<SessionStatus>,
    pub strategies: Vec<StrategyStatus>,
    /// Engaged kill switches (`ilinkd kill`).
    #[serde(default)]
    pub kill_switches: Vec<super::kill::KillEntry>,
    /// Party details (`[[ilink3.party]]`) and their registration state.
    #[serde(default)]
    pub parties: Vec<PartyStatus>,
}

/// One `[[ilink3.party]]` of one session (`ilinkd status --parties`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartyStatus {
    pub session: String,
    pub name: String,
    /// PartyDetailsListReqID (1505).
    pub id: u64,
    /// `on_demand` or `pre_registered`.
    pub registration: String,
    /// `unregistered`, `pending` (518 sent), `accepted` (519), `rejected`, `pre-registered`.
    pub state: String,
    /// UUID the state holds for (0: none yet).
    pub uuid: u64,
    /// When the last 518 went, `14:32:05 UTC`.
    pub sent: Option<String>,
    /// When the last 519 (or reject) came.
    pub answered: Option<String>,
    /// The 519's PartyDetailRequestStatus (1878), or `BusinessReject N`.
    pub status: Option<String>,
    /// When a PartyDetailsListReport (538) last listed the id.
    #[serde(default)]
    pub listed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionStatus {
    pub name: String,
    /// `ilink3` or `dropcopy`.
    pub kind: String,
    pub state: String,
    /// iLink 3 UUID (0 before the first Negotiate; Drop Copy: 0).
    pub uuid: u64,
    pub next_seq_out: u64,
    pub next_seq_in: u64,
    pub key_id: String,
    pub key_days_left: i64,
    pub reconnects: u64,
    pub orders_sent: u64,
    pub events_received: u64,
    pub last_error: Option<String>,
    /// While four bad logons within 60 s hold the next logon back: `14:32:05 UTC`.
    #[serde(default)]
    pub throttled_until: Option<String>,
    /// The last refused logon: stage, CME code and name, transient or permanent.
    #[serde(default)]
    pub last_reject: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyStatus {
    pub name: String,
    /// Attached process, if any.
    pub pid: Option<u32>,
    pub orders_in: u64,
    pub risk_rejects: u64,
    pub events_out: u64,
    pub events_dropped: u64,
    pub open_orders: u64,
}

pub fn status_path(state_dir: &Path) -> PathBuf {
    state_dir.join(STATUS_FILE)
}

/// Why `status.json` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("{}: {source} (is the daemon running with this config's state_dir?)", .path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a status file: {source}", .path.display())]
    Parse {
        path: std::path::PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// Writes `value` as pretty JSON to `path` atomically: a temporary file in the same folder
/// (named after this process), then a rename; the temporary file is removed if the rename fails.
pub(crate) fn write_json_atomically<T: serde::Serialize + ?Sized>(
    path: &Path,
    value: &T,
) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

impl StatusFile {
    /// Writes atomically (see [`write_json_atomically`]).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        write_json_atomically(path, self)
    }

    pub fn read(path: &Path) -> Result<StatusFile, StatusError> {
        let text = std::fs::read_to_string(path).map_err(|source| StatusError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| StatusError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Whether the daemon that wrote this is alive (its pid exists and it is not stopped).
    pub fn daemon_alive(&self) -> bool {
        self.phase != "stopped" && Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    /// The table `ilinkd status --parties` prints: every party with its registration state.
    pub fn parties_table(&self) -> String {
        if self.parties.is_empty() {
            return "no [[ilink3.party]] configured\n".into();
        }
        let mut rows = vec![[
            "SESSION".to_string(),
            "PARTY".into(),
            "ID".into(),
            "REGISTRATION".into(),
            "STATE".into(),
            "UUID".into(),
            "518 SENT".into(),
            "ANSWERED".into(),
            "STATUS".into(),
            "LISTED (538)".into(),
        ]];
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        for p in &self.parties {
            rows.push([
                p.session.clone(),
                p.name.clone(),
                p.id.to_string(),
                p.registration.clone(),
                p.state.clone(),
                if p.uuid == 0 {
                    "-".into()
                } else {
                    p.uuid.to_string()
                },
                or_dash(&p.sent),
                or_dash(&p.answered),
                or_dash(&p.status),
                or_dash(&p.listed),
            ]);
        }
        render(&rows)
    }

    /// The human table `ilinkd status` prints.
    pub fn table(&self, now_unix_s: f64) -> String {
        let age = (now_unix_s - self.updated_unix_s).max(0.0);
        let alive = self.daemon_alive();
        let mut out = format!(
            "daemon {}  pid {}  {}  phase {}  updated {:.1} s ago{}\n",
            self.daemon,
            self.pid,
            if alive { "running" } else { "NOT RUNNING" },
            self.phase,
            age,
            if alive && age > STALE_AFTER_S {
                "  (STALE: housekeeping not writing)"
            } else {
                ""
            }
        );
        let mut rows = vec![[
            "SESSION".to_string(),
            "KIND".into(),
            "STATE".into(),
            "UUID".into(),
            "SEQ OUT".into(),
            "SEQ IN".into(),
            "KEY".into(),
            "DAYS".into(),
            "RECONN".into(),
            "LAST REJECT".into(),
            "LAST ERROR".into(),
        ]];
        for s in &self.sessions {
            rows.push([
                s.name.clone(),
                s.kind.clone(),
                match &s.throttled_until {
                    Some(t) => format!("{} (throttled until {t})", s.state),
                    None => s.state.clone(),
                },
                if s.uuid == 0 {
                    "-".into()
                } else {
                    s.uuid.to_string()
                },
                s.next_seq_out.to_string(),
                s.next_seq_in.to_string(),
                s.key_id.clone(),
                s.key_days_left.to_string(),
                s.reconnects.to_string(),
                s.last_reject.clone().unwrap_or_else(|| "-".into()),
                s.last_error.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        out.push_str(&render(&rows));
        let mut rows = vec![[
            "STRATEGY".to_string(),
            "PID".into(),
            "ORDERS".into(),
            "REJECTS".into(),
            "EVENTS".into(),
            "DROPPED".into(),
            "OPEN".into(),
        ]];
        for s in &self.strategies {
            rows.push([
                s.name.clone(),
                s.pid.map_or_else(|| "-".into(), |p| p.to_string()),
                s.orders_in.to_string(),
                s.risk_rejects.to_string(),
                s.events_out.to_string(),
                s.events_dropped.to_string(),
                s.open_orders.to_string(),
            ]);
        }
        if !self.strategies.is_empty() {
            out.push_str(&render(&rows));
        }
        for k in &self.kill_switches {
            out.push_str(&format!(
                "KILL SWITCH ENGAGED on {} {}: since {:.0} s ago by uid {} pid {}{}\n",
                k.scope.name(),
                k.target,
                (now_unix_s - k.since_unix_s).max(0.0),
                k.uid.map_or_else(|| "?".into(), |u| u.to_string()),
                k.pid.map_or_else(|| "?".into(), |p| p.to_string()),
                k.reason
                    .as_deref()
                    .map_or_else(String::new, |r| format!(" ({r})")),
            ));
        }
        out
    }
}

fn render<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StatusFile {
        StatusFile {
            daemon: "demo".into(),
            pid: std::process::id(),
            started_unix_s: 100.0,
            updated_unix_s: 200.0,
            phase: "running".into(),
            clock: "tsc".into(),
            sessions: vec![SessionStatus {
                name: "sim-eq".into(),
                kind: "ilink3".into(),
                state: "established".into(),
                uuid: 1_772_461_800_123_456,
                next_seq_out: 101,
                next_seq_in: 205,
                key_id: "AKIDEXAMPLE000000001".into(),
                key_days_left: 364,
                reconnects: 0,
                orders_sent: 100,
                events_received: 204,
                last_error: None,
                throttled_until: None,
                last_reject: None,
            }],
            strategies: vec![StrategyStatus {
                name: "load".into(),
                pid: Some(42),
                orders_in: 100,
                risk_rejects: 1,
                events_out: 250,
                events_dropped: 0,
                open_orders: 3,
            }],
            kill_switches: Vec::new(),
            parties: Vec::new(),
        }
    }

    #[test]
    fn the_parties_table_shows_each_registration() {
        let mut st = sample();
        assert_eq!(st.parties_table(), "no [[ilink3.party]] configured\n");
        st.parties.push(PartyStatus {
            session: "cme-eq".into(),
            name: "desk1".into(),
            id: 1001,
            registration: "on_demand".into(),
            state: "accepted".into(),
            uuid: 77,
            sent: Some("14:00:01 UTC".into()),
            answered: Some("14:00:02 UTC".into()),
            status: Some("519 status 0".into()),
            listed: None,
        });
        let t = st.parties_table();
        let row = t.lines().nth(1).unwrap();
        for want in [
            "cme-eq",
            "desk1",
            "1001",
            "on_demand",
            "accepted",
            "77",
            "519 status 0",
        ] {
            assert!(row.contains(want), "{want} missing in {row:?}");
        }
        let back: StatusFile = serde_json::from_str(&serde_json::to_string(&st).unwrap()).unwrap();
        assert_eq!(back.parties, st.parties);
    }

    #[test]
    fn the_table_shows_who_pulled_a_kill_switch() {
        let mut st = sample();
        assert!(!st.table(201.0).contains("KILL SWITCH"));
        st.kill_switches.push(crate::daemon::kill::KillEntry {
            scope: crate::daemon::kill::KillScope::Session,
            target: "sim-eq".into(),
            since_unix_s: 190.0,
            uid: Some(1000),
            pid: Some(4242),
            reason: Some("runaway".into()),
        });
        let t = st.table(201.0);
        let line = t.lines().find(|l| l.starts_with("KILL SWITCH")).unwrap();
        assert_eq!(
            line,
            "KILL SWITCH ENGAGED on session sim-eq: since 11 s ago by uid 1000 pid 4242 (runaway)"
        );
    }

    #[test]
    fn writes_atomically_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = status_path(dir.path());
        sample().write(&p).unwrap();
        assert_eq!(StatusFile::read(&p).unwrap(), sample());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
        assert!(StatusFile::read(&dir.path().join("nope.json"))
            .unwrap_err()
            .to_string()
            .contains("is the daemon running"));
    }

    #[test]
    fn the_table_lists_sessions_and_strategies() {
        let t = sample().table(201.0);
        assert!(t.starts_with("daemon demo  pid "), "{t}");
        assert!(
            t.contains("running  phase running  updated 1.0 s ago"),
            "{t}"
        );
        let line = t.lines().find(|l| l.starts_with("sim-eq")).unwrap();
        for want in [
            "ilink3",
            "established",
            "1772461800123456",
            "101",
            "205",
            "364",
        ] {
            assert!(line.contains(want), "{line}");
        }
        assert!(
            t.lines().any(|l| l.starts_with("load") && l.contains("42")),
            "{t}"
        );
        let mut throttled = sample();
        throttled.sessions[0].state = "down".into();
        throttled.sessions[0].throttled_until = Some("14:32:05 UTC".into());
        throttled.sessions[0].last_reject =
            Some("Negotiate 0 HMACNotAuthenticated (permanent)".into());
        let t = throttled.table(201.0);
        let line = t.lines().find(|l| l.starts_with("sim-eq")).unwrap();
        assert!(line.contains("down (throttled until 14:32:05 UTC)"), "{t}");
        assert!(line.contains("Negotiate 0 HMACNotAuthenticated"), "{t}");
        // A status written before these fields existed still reads.
        let old = r#"{"name":"x","kind":"ilink3","state":"up","uuid":0,"next_seq_out":1,
            "next_seq_in":1,"key_id":"","key_days_left":0,"reconnects":0,"orders_sent":0,
            "events_received":0,"last_error":null}"#;
        let old: SessionStatus = serde_json::from_str(old).unwrap();
        assert_eq!(old.throttled_until, None);
        let mut dead = sample();
        dead.phase = "stopped".into();
        assert!(dead.table(201.0).contains("NOT RUNNING"));
    }
}
