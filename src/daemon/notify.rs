//! systemd notification (`sd_notify(3)`) through the `sd-notify` crate: one datagram per message
//! to the `AF_UNIX` socket named by `NOTIFY_SOCKET`. Without `NOTIFY_SOCKET` (not started by
//! systemd with `Type=notify`) every call is a no-op.
//!
//! The crate sends to a socket path (what systemd sets, `/run/systemd/notify`); an abstract
//! socket name (`@name`) is not supported and is reported once, as a warning, at start.

use sd_notify::NotifyState;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::time::Duration;

/// Messages waiting for the sender thread; past that, new ones are dropped (systemd is not
/// reading: a later status or pet replaces them anyway).
const QUEUE: usize = 64;
/// How long dropping the notifier waits for queued messages (`STOPPING=1`) to go out.
const FLUSH_ON_DROP: Duration = Duration::from_secs(1);

/// Whether this process talks to systemd, and its watchdog timeout.
///
/// `sd-notify` sends on a blocking socket, and a datagram socket blocks once the receiver has
/// `net.unix.max_dgram_qlen` (10) messages unread. So a thread of its own sends, and the
/// housekeeping thread only queues: a slow or stuck systemd can never hold up the journal and
/// reservation work.
#[derive(Debug)]
pub struct Notifier {
    sender: Option<Sender>,
    watchdog: Option<Duration>,
}

#[derive(Debug)]
struct Sender {
    queue: SyncSender<String>,
    /// Disconnected when the thread has sent everything and returned.
    done: Receiver<()>,
}

impl Notifier {
    /// From `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` (the watchdog only applies when
    /// `WATCHDOG_PID` is absent or this process). Starts the sender thread when `NOTIFY_SOCKET`
    /// is set; without it (or if the thread cannot start) every call is a no-op.
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
        let sender = socket.and_then(|_| match spawn_sender(sd_notify_send) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!("cannot start the systemd notification thread: {e}");
                None
            }
        });
        Notifier {
            sender,
            watchdog: sd_notify::watchdog_enabled().filter(|d| !d.is_zero()),
        }
    }

    /// A notifier that sends nothing.
    pub fn disabled() -> Notifier {
        Notifier {
            sender: None,
            watchdog: None,
        }
    }

    pub fn enabled(&self) -> bool {
        self.sender.is_some()
    }

    /// The watchdog timeout systemd expects pets within (`WatchdogSec`), if any.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Queues `state` (e.g. `"READY=1"`, `"STATUS=..."`, `"WATCHDOG=1"`, `"STOPPING=1"`) for
    /// the sender thread; never blocks. Errors are ignored, as with `sd_notify`.
    pub fn notify(&self, state: &str) {
        if let Some(s) = &self.sender {
            let _ = s.queue.try_send(state.to_owned());
        }
    }
}

impl Drop for Notifier {
    /// Lets the sender thread finish what is queued, for at most [`FLUSH_ON_DROP`].
    fn drop(&mut self) {
        if let Some(Sender { queue, done }) = self.sender.take() {
            drop(queue);
            let _ = done.recv_timeout(FLUSH_ON_DROP);
        }
    }
}

fn sd_notify_send(state: &str) {
    let _ = sd_notify::notify(&[NotifyState::Custom(state)]);
}

fn spawn_sender(send: impl Fn(&str) + Send + 'static) -> std::io::Result<Sender> {
    let (queue, rx) = mpsc::sync_channel::<String>(QUEUE);
    let (done_tx, done) = mpsc::channel();
    std::thread::Builder::new()
        .name("ilinkd-notify".into())
        .spawn(move || {
            for state in rx {
                send(&state);
            }
            drop(done_tx);
        })?;
    Ok(Sender { queue, done })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The datagrams themselves are checked end to end by `tests/it/daemon.rs`
    /// (`sigterm_terminates_with_code_0_and_exits_0_within_5_s` runs `ilinkd run` with
    /// `NOTIFY_SOCKET` set); here only what needs no environment.
    #[test]
    fn a_disabled_notifier_has_no_watchdog() {
        let n = Notifier::disabled();
        assert!(!n.enabled());
        assert_eq!(n.watchdog(), None);
        n.notify("READY=1");
    }

    /// systemd not reading (the send blocks): queuing never waits, messages past the queue are
    /// dropped, and what was queued goes out in order once the send moves again.
    #[test]
    fn a_stuck_receiver_never_blocks_the_caller() {
        let (gate_tx, gate) = mpsc::channel::<()>();
        let (sent_tx, sent) = mpsc::channel::<String>();
        let gate = std::sync::Mutex::new(gate);
        let sender = spawn_sender(move |state| {
            let _ = gate.lock().unwrap().recv();
            let _ = sent_tx.send(state.to_owned());
        })
        .unwrap();
        let n = Notifier {
            sender: Some(sender),
            watchdog: None,
        };
        for i in 0..QUEUE * 4 {
            n.notify(&format!("STATUS={i}"));
        }
        drop(gate_tx);
        drop(n);
        let got: Vec<String> = sent.iter().collect();
        assert!(got.len() <= QUEUE + 1, "{} sent", got.len());
        assert!(got.len() >= QUEUE, "{} sent", got.len());
        // The first QUEUE go out in order; the one extra slot (freed when the sender takes
        // its first message) holds whichever later message came then, so only its order is known.
        let expect: Vec<String> = (0..QUEUE).map(|i| format!("STATUS={i}")).collect();
        assert_eq!(got[..QUEUE], expect[..]);
        let nums: Vec<usize> = got
            .iter()
            .map(|s| s["STATUS=".len()..].parse().unwrap())
            .collect();
        assert!(nums.windows(2).all(|w| w[0] < w[1]), "in order: {nums:?}");
    }
}
