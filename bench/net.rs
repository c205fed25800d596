//! Loopback network benchmarks of the runtime backends.
//!
//! - `net.<backend>.rtt_ns`: median round trip of a 100-byte frame over 127.0.0.1, client
//!   through the backend (busy-polling, no idle back-off), a plain blocking echo thread on the
//!   other side. Includes the echo thread's wake-up, so on this 2-core shared machine it measures
//!   the scheduler as much as the backend; compare backends within one run, not across hosts.
//! - `net.io_uring.send_submit_ns`: the handler's cost of `send` on the io_uring backend: copy a
//!   100-byte frame into the connection's registered buffer and queue the WRITE_FIXED SQE, with no
//!   syscall. Median of single sends (each right after the previous write completed, as on the
//!   hot path), minus the cost of reading the clock; the submit happens afterwards, untimed.
//!
//! Runs in a few seconds; `cargo bench --bench net`.

#[path = "common.rs"]
mod common;

use common::result;
use ilinkd::config::{Backend, NetworkConfig};
use ilinkd::net::{ConnId, Net, NetBackend, NetEvent, NetLimits};
use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

const FRAME: usize = 100;
const WARMUP: usize = 2_000;
const ROUND_TRIPS: usize = 20_000;
const DEADLINE: Duration = Duration::from_secs(20);

fn limits(max_conns: u16) -> NetLimits {
    NetLimits {
        max_conns,
        send_buffer: 64 * 1024,
        recv_buffers: 64,
        recv_buffer_size: 4096,
        ring_entries: 256,
    }
}

fn open(backend: Backend, max_conns: u16) -> Option<Net> {
    let cfg = NetworkConfig {
        backend,
        ..NetworkConfig::default()
    };
    match Net::open(&cfg, limits(max_conns)) {
        Ok(n) => Some(n),
        Err(e) => {
            println!("# {backend:?} backend unavailable: {e}");
            None
        }
    }
}

/// Accepts `conns` connections; echoes (or, with `sink`, discards) each on its own thread.
fn server(conns: usize, sink: bool) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        for _ in 0..conns {
            let Ok((mut s, _)) = l.accept() else { return };
            let _ = s.set_nodelay(true);
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if !sink && s.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

fn connect(net: &mut Net, addr: SocketAddr) -> ConnId {
    let id = net.connect(addr).expect("connect");
    let deadline = Instant::now() + DEADLINE;
    let mut up = false;
    while !up {
        assert!(Instant::now() < deadline, "connect timed out");
        net.poll(&mut |c, ev| match ev {
            NetEvent::Connected if c == id => up = true,
            NetEvent::ConnectFailed(e) => panic!("connect failed: {e}"),
            _ => {}
        })
        .expect("poll");
        std::thread::yield_now();
    }
    id
}

fn median(v: &mut [u64]) -> f64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0) as f64
}

fn rtt(backend: Backend, name: &str) {
    let Some(mut net) = open(backend, 1) else {
        return;
    };
    let addr = server(1, false);
    let id = connect(&mut net, addr);
    let frame = [0x5au8; FRAME];
    let mut samples = Vec::with_capacity(ROUND_TRIPS);
    let deadline = Instant::now() + DEADLINE;
    for i in 0..WARMUP + ROUND_TRIPS {
        let t = Instant::now();
        net.send(id, black_box(&frame)).expect("send");
        let mut got = 0;
        while got < FRAME {
            net.poll(&mut |_, ev| match ev {
                NetEvent::Data(d) => got += d.len(),
                NetEvent::Closed(r) => panic!("closed: {r:?}"),
                _ => {}
            })
            .expect("poll");
            std::hint::spin_loop();
        }
        if i >= WARMUP {
            samples.push(t.elapsed().as_nanos() as u64);
        }
        if i % 1024 == 0 {
            assert!(Instant::now() < deadline, "{name} round trips too slow");
        }
    }
    net.close(id);
    result(&format!("net.{name}.rtt_ns"), median(&mut samples), "ns");
}

fn send_submit() {
    const SENDS: usize = 20_000;
    let Some(mut net) = open(Backend::IoUring, 1) else {
        return;
    };
    let addr = server(1, true);
    let id = connect(&mut net, addr);
    let frame = [0xa5u8; FRAME];
    // What reading the clock twice costs, subtracted from each timed send.
    let mut clock: Vec<u64> = (0..SENDS)
        .map(|_| {
            let t = Instant::now();
            black_box(t.elapsed().as_nanos() as u64)
        })
        .collect();
    let clock = median(&mut clock);
    let mut samples = Vec::with_capacity(SENDS);
    let deadline = Instant::now() + DEADLINE;
    for i in 0..WARMUP + SENDS {
        // The send buffer is empty and no write is in flight, so this send copies the frame and
        // queues one WRITE_FIXED SQE; nothing enters the kernel until the poll below.
        let t = Instant::now();
        net.send(id, black_box(&frame)).expect("send");
        let ns = t.elapsed().as_nanos() as u64;
        if i >= WARMUP {
            samples.push(ns);
        }
        // Untimed: submit and wait for the write to complete.
        let mut done = false;
        while !done {
            net.poll(&mut |_, ev| {
                if let NetEvent::SendComplete = ev {
                    done = true
                }
            })
            .expect("poll");
        }
        if i % 1024 == 0 {
            assert!(Instant::now() < deadline, "writes too slow");
        }
    }
    net.close(id);
    println!("# clock read pair {clock:.0} ns (subtracted)");
    result(
        "net.io_uring.send_submit_ns",
        (median(&mut samples) - clock).max(0.0),
        "ns",
    );
}

fn main() {
    rtt(Backend::IoUring, "io_uring");
    rtt(Backend::Poll, "poll");
    send_submit();
}
