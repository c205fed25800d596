//! systemd notification (`sd_notify(3)`) without a library: one datagram per message to the
//! `AF_UNIX` socket named by `NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace).
//! Without `NOTIFY_SOCKET` (not started by systemd with `Type=notify`) every call is a no-op.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// The notification socket of this process, if systemd gave one.
pub struct Notifier {
    target: Option<(UnixDatagram, std::os::unix::net::SocketAddr)>,
    watchdog: Option<Duration>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("enabled", &self.target.is_some())
            .field("watchdog", &self.watchdog)
            .finish()
    }
}

impl Notifier {
    /// From `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` (the watchdog only applies when
    /// `WATCHDOG_PID` is absent or this process).
    pub fn from_env() -> Notifier {
        let target = std::env::var_os("NOTIFY_SOCKET").and_then(|p| {
            let p = p.to_string_lossy().into_owned();
            let addr = if let Some(name) = p.strip_prefix('@') {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).ok()?
            } else {
                std::os::unix::net::SocketAddr::from_pathname(&p).ok()?
            };
            let sock = UnixDatagram::unbound().ok()?;
            Some((sock, addr))
        });
        let pid_ok = std::env::var("WATCHDOG_PID")
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
            .is_none_or(|p| p == std::process::id());
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|u| u.trim().parse::<u64>().ok())
            .filter(|&u| u > 0 && pid_ok)
            .map(Duration::from_micros);
        Notifier { target, watchdog }
    }

    /// A notifier that sends nothing.
    pub fn disabled() -> Notifier {
        Notifier {
            target: None,
            watchdog: None,
        }
    }

    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// The watchdog timeout systemd expects pets within (`WatchdogSec`), if any.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Sends `state` (e.g. `"READY=1"`, `"STATUS=..."`, `"WATCHDOG=1"`); errors are ignored,
    /// as with `sd_notify`.
    pub fn notify(&self, state: &str) {
        if let Some((sock, addr)) = &self.target {
            let _ = sock.send_to_addr(state.as_bytes(), addr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_reach_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let server = UnixDatagram::bind(&path).unwrap();
        let n = Notifier {
            target: Some((
                UnixDatagram::unbound().unwrap(),
                std::os::unix::net::SocketAddr::from_pathname(&path).unwrap(),
            )),
            watchdog: None,
        };
        n.notify("READY=1");
        n.notify("STATUS=sim-eq established");
        let mut buf = [0u8; 64];
        let k = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"READY=1");
        let k = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"STATUS=sim-eq established");
        Notifier::disabled().notify("READY=1");
    }
}
