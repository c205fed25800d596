//! systemd notification (`sd_notify(3)`) through the `sd-notify` crate: one datagram per message
//! to the `AF_UNIX` socket named by `NOTIFY_SOCKET`. Without `NOTIFY_SOCKET` (not started by
//! systemd with `Type=notify`) every call is a no-op.
//!
//! The crate sends to a socket path (what systemd sets, `/run/systemd/notify`); an abstract
//! socket name (`@name`) is not supported and is reported once, as a warning, at start.

use sd_notify::NotifyState;
use std::time::Duration;

/// Whether this process talks to systemd, and its watchdog timeout.
#[derive(Debug)]
pub struct Notifier {
    enabled: bool,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// From `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` (the watchdog only applies when
    /// `WATCHDOG_PID` is absent or this process).
    pub fn from_env() -> Notifier {
        let socket = std::env::var_os("NOTIFY_SOCKET");
        if socket
            .as_ref()
            .is_some_and(|s| s.as_encoded_bytes().starts_with(b"@"))
        {
            tracing::warn!(
                "NOTIFY_SOCKET names an abstract socket, which sd-notify cannot send to: \
                 systemd will not see READY=1 or watchdog pets"
            );
        }
        Notifier {
            enabled: socket.is_some(),
            watchdog: sd_notify::watchdog_enabled().filter(|d| !d.is_zero()),
        }
    }

    /// A notifier that sends nothing.
    pub fn disabled() -> Notifier {
        Notifier {
            enabled: false,
            watchdog: None,
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The watchdog timeout systemd expects pets within (`WatchdogSec`), if any.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Sends `state` (e.g. `"READY=1"`, `"STATUS=..."`, `"WATCHDOG=1"`, `"STOPPING=1"`); errors
    /// are ignored, as with `sd_notify`.
    pub fn notify(&self, state: &str) {
        if self.enabled {
            let _ = sd_notify::notify(&[NotifyState::Custom(state)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    /// Set in the child process of [`datagrams_reach_the_socket`].
    const CHILD: &str = "ILINKD_NOTIFY_TEST_CHILD";

    /// The environment is read by `sd-notify` on each call; rather than change this test
    /// process's environment under other threads, a child runs [`send_from_env`] with
    /// `NOTIFY_SOCKET` pointing at a datagram socket in a temporary folder.
    #[test]
    fn datagrams_reach_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let server = UnixDatagram::bind(&path).unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "daemon::notify::tests::send_from_env",
                "--ignored",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .env("NOTIFY_SOCKET", &path)
            .env("WATCHDOG_USEC", "3000000")
            .env_remove("WATCHDOG_PID")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "{out:?}"
        );
        // The child has exited: whatever it sent is queued.
        server.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 64];
        for want in [
            "READY=1\n",
            "STATUS=sim-eq established, sim-dc established\n",
            "WATCHDOG=1\n",
            "STOPPING=1\n",
        ] {
            let k = server.recv(&mut buf).unwrap();
            assert_eq!(std::str::from_utf8(&buf[..k]).unwrap(), want);
        }
        // The disabled notifier sent nothing.
        assert_eq!(
            server.recv(&mut buf).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock
        );
    }

    #[test]
    #[ignore = "run by datagrams_reach_the_socket in a child process"]
    fn send_from_env() {
        if std::env::var_os(CHILD).is_none() {
            return;
        }
        let n = Notifier::from_env();
        assert!(n.enabled());
        assert_eq!(n.watchdog(), Some(Duration::from_secs(3)));
        n.notify("READY=1");
        n.notify("STATUS=sim-eq established, sim-dc established");
        n.notify("WATCHDOG=1");
        Notifier::disabled().notify("READY=1");
        n.notify("STOPPING=1");
    }
}
