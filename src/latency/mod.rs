//! Latency you can trust and read: stamps at every hop, per-thread HdrHistograms swapped each
//! interval, HdrHistogram interval logs, `ilinkd report`, and Prometheus metrics.
//!
//! Data flow:
//!
//! ```text
//! hot thread                          housekeeping thread
//! Clock::now() stamps                 Collector::drain()
//! Recorder::record_span(slot, a, b) ─▶ IntervalLog::write_set()  (daily .hlog files)
//! Recorder::poll(now)  ── full set ──▶ LatencyWindow::add_set()  (Prometheus quantiles)
//!                      ◀─ empty set ──
//! ```
//!
//! Nothing here allocates, locks or logs on the hot thread: histograms are allocated up front,
//! a swap moves a `Box` through a lock-free `ArrayQueue` and takes an empty one back.
//!
//! Tags are `<session>.<hop>` (see [`tag`]); HdrHistogram tags may not contain `,`, space, CR or
//! LF, so [`tag`] replaces those (and `.`) in session names with `_`.

#![forbid(unsafe_code)]

pub mod clock;
pub mod html;
pub mod log;
pub mod metrics;
pub mod recorder;
pub mod report;

pub use clock::{Clock, ClockSource, Stamp};
pub use recorder::{
    channel, Collector, HopStamps, IntervalSet, Recorder, RecorderConfig, RecorderStats, Slot,
};

/// One measured span of an order's or a response's path through the gateway.
///
/// Stamps are taken at: strategy enqueue (by the client, into the request record), daemon
/// dequeue, frame encoded, send submitted, send completed, response received, event published,
/// strategy dequeue (by the client). A hop is the span between two of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hop {
    /// Strategy enqueue → daemon dequeue: the request ring.
    RequestRing,
    /// Daemon dequeue → frame encoded: risk checks and SBE encoding.
    RiskEncode,
    /// Frame encoded → send submitted: hand-off to the socket (io_uring SQE or `send`).
    Submit,
    /// Send submitted → send completed: the kernel's part of sending.
    SendComplete,
    /// Strategy enqueue → send submitted: the whole outbound path inside the host.
    OrderPath,
    /// Send submitted → response received: the exchange round trip (send → ack), per session.
    ExchangeRtt,
    /// Response received → event published: decode, session, event ring write.
    ResponsePublish,
    /// Event published → strategy dequeue: the event ring (stamped by the client).
    EventRing,
    /// Time to HMAC-sign one message (Negotiate, Establish, Drop Copy Logon).
    HmacSign,
}

impl Hop {
    /// Every hop, in path order (the order reports list them in).
    pub const ALL: [Hop; 9] = [
        Hop::RequestRing,
        Hop::RiskEncode,
        Hop::Submit,
        Hop::SendComplete,
        Hop::OrderPath,
        Hop::ExchangeRtt,
        Hop::ResponsePublish,
        Hop::EventRing,
        Hop::HmacSign,
    ];

    /// Number of hops.
    pub const COUNT: usize = Hop::ALL.len();

    /// The name used in tags, metrics labels and reports.
    pub fn name(self) -> &'static str {
        match self {
            Hop::RequestRing => "request_ring",
            Hop::RiskEncode => "risk_encode",
            Hop::Submit => "submit",
            Hop::SendComplete => "send_complete",
            Hop::OrderPath => "order_path",
            Hop::ExchangeRtt => "exchange_rtt",
            Hop::ResponsePublish => "response_publish",
            Hop::EventRing => "event_ring",
            Hop::HmacSign => "hmac_sign",
        }
    }

    /// The hop with this name.
    pub fn from_name(s: &str) -> Option<Hop> {
        Hop::ALL.into_iter().find(|h| h.name() == s)
    }

    /// Position in [`Hop::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The interval-log tag for a session's hop: `<session>.<hop>`, with `,`, space, CR, LF and `.`
/// in the session name replaced by `_`.
pub fn tag(session: &str, hop: Hop) -> String {
    let mut t: String = session
        .chars()
        .map(|c| match c {
            ',' | ' ' | '\r' | '\n' | '.' | '\t' => '_',
            c => c,
        })
        .collect();
    t.push('.');
    t.push_str(hop.name());
    t
}

/// Splits a tag into (session, hop name) at its last `.`; a tag without one is all hop.
pub fn split_tag(tag: &str) -> (&str, &str) {
    match tag.rfind('.') {
        Some(i) => (&tag[..i], &tag[i + 1..]),
        None => ("", tag),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_valid_hdrhistogram_tags_and_split_back() {
        let t = tag("cme eq,1.a", Hop::ExchangeRtt);
        assert_eq!(t, "cme_eq_1_a.exchange_rtt");
        assert!(hdrhistogram::serialization::interval_log::Tag::new(&t).is_some());
        assert_eq!(split_tag(&t), ("cme_eq_1_a", "exchange_rtt"));
        assert_eq!(split_tag("x"), ("", "x"));
        for h in Hop::ALL {
            assert_eq!(Hop::from_name(h.name()), Some(h));
            assert_eq!(Hop::ALL[h.index()], h);
        }
    }
}
