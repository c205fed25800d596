//! Network backends over 127.0.0.1: both io_uring and poll run every scenario (io_uring is
//! skipped, loudly, only where the kernel refuses it). Waits are bounded by deadlines and back
//! off between empty polls (the CI machine has 2 shared cores).

use ilinkd::config::{Backend, IdleStrategy, NetworkConfig};
use ilinkd::net::{
    select_backend, BackendKind, CloseReason, ConnId, Net, NetBackend, NetError, NetEvent,
    NetLimits, Selection, SendError, UringBackend,
};
use ilinkd::runtime::alloc_count::thread_allocations;
use ilinkd::runtime::idle::{IdleParams, Idler};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

fn allocations() -> u64 {
    thread_allocations()
}

#[derive(Debug)]
enum Ev {
    Connected(ConnId),
    Data(ConnId, Vec<u8>),
    SendComplete(ConnId),
    Closed(ConnId, Option<io::ErrorKind>),
    ConnectFailed(ConnId, io::ErrorKind),
}

fn record(events: &mut Vec<Ev>) -> impl FnMut(ConnId, NetEvent<'_>) + '_ {
    move |id, ev| {
        events.push(match ev {
            NetEvent::Connected => Ev::Connected(id),
            NetEvent::Data(d) => Ev::Data(id, d.to_vec()),
            NetEvent::SendComplete => Ev::SendComplete(id),
            NetEvent::Closed(CloseReason::PeerClosed) => Ev::Closed(id, None),
            NetEvent::Closed(CloseReason::Error(e)) => Ev::Closed(id, Some(e.kind())),
            NetEvent::ConnectFailed(e) => Ev::ConnectFailed(id, e.kind()),
        })
    }
}

fn limits() -> NetLimits {
    NetLimits {
        max_conns: 4,
        send_buffer: 256 * 1024,
        // Small and few: messages span several buffers and the ring runs dry (multishot re-arm).
        recv_buffers: 16,
        recv_buffer_size: 1024,
        ring_entries: 64,
    }
}

/// The backend, or `None` (with a loud message) when the kernel refuses io_uring.
fn open(kind: Backend, cfg: &NetworkConfig) -> Option<Net> {
    let cfg = NetworkConfig {
        backend: kind,
        ..cfg.clone()
    };
    match Net::open(&cfg, limits()) {
        Ok(net) => Some(net),
        Err(NetError::IoUringUnavailable { step, source }) if kind == Backend::IoUring => {
            eprintln!(
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                 !!! SKIPPING io_uring test: the kernel refuses io_uring ({step}: {source})\n\
                 !!! check /proc/sys/kernel/io_uring_disabled and the container's seccomp\n\
                 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
            );
            None
        }
        Err(e) => panic!("opening the {kind:?} backend: {e}"),
    }
}

/// Polls until `done` holds over the recorded events, backing off while idle.
fn pump(net: &mut Net, events: &mut Vec<Ev>, what: &str, mut done: impl FnMut(&[Ev]) -> bool) {
    let deadline = Instant::now() + WAIT;
    let mut idler = Idler::with_params(IdleStrategy::SpinThenYield, IdleParams::backing_off());
    while !done(events) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {events:?}"
        );
        let n = net.poll(&mut record(events)).expect("poll");
        idler.idle(n > 0);
    }
}

fn connect(net: &mut Net, addr: SocketAddr, events: &mut Vec<Ev>) -> ConnId {
    let id = net.connect(addr).expect("connect");
    pump(net, events, "Connected", |e| {
        e.iter()
            .any(|e| matches!(e, Ev::Connected(c) | Ev::ConnectFailed(c, _) if *c == id))
    });
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Ev::Connected(c) if *c == id)),
        "{events:?}"
    );
    events.clear();
    id
}

fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let a = l.local_addr().expect("addr");
    (l, a)
}

/// Accepts one connection and echoes it until EOF; returns how many bytes it echoed.
fn echo_server(l: TcpListener) -> JoinHandle<usize> {
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(WAIT)).expect("timeout");
        let mut buf = [0u8; 8192];
        let mut total = 0;
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return total,
                Ok(n) => {
                    total += n;
                    if s.write_all(&buf[..n]).is_err() {
                        return total;
                    }
                }
            }
        }
    })
}

fn message(seq: usize) -> Vec<u8> {
    // Sizes from 1 byte to past several receive buffers (1 KiB each), some far larger.
    let len = match seq % 7 {
        0 => 1,
        1 => 100,
        2 => 1023,
        3 => 1025,
        4 => 5000,
        5 => 20_000,
        _ => 64 + seq % 300,
    };
    (0..len).map(|i| (seq * 31 + i * 7) as u8).collect()
}

fn data_of(events: &[Ev], id: ConnId) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        if let Ev::Data(c, d) = e {
            assert_eq!(*c, id);
            out.extend_from_slice(d);
        }
    }
    out
}

fn echo_in_order(kind: Backend) {
    let cfg = NetworkConfig::default();
    let Some(mut net) = open(kind, &cfg) else {
        return;
    };
    let (l, addr) = listener();
    let server = echo_server(l);
    let mut events = Vec::new();
    let id = connect(&mut net, addr, &mut events);

    let mut expected = Vec::new();
    let mut received = Vec::new();
    let deadline = Instant::now() + WAIT;
    let mut idler = Idler::with_params(IdleStrategy::SpinThenYield, IdleParams::backing_off());
    let mut seq = 0;
    let mut full_seen = 0;
    while seq < 700 || received.len() < expected.len() {
        assert!(Instant::now() < deadline, "echo stalled at message {seq}");
        let mut did = false;
        if seq < 700 {
            let m = message(seq);
            match net.send(id, &m) {
                Ok(()) => {
                    expected.extend_from_slice(&m);
                    seq += 1;
                    did = true;
                }
                Err(SendError::Full { .. }) => full_seen += 1,
                Err(e) => panic!("send {seq}: {e}"),
            }
        }
        let n = net.poll(&mut record(&mut events)).expect("poll");
        received.extend(data_of(&events, id));
        assert!(
            !events.iter().any(|e| matches!(e, Ev::Closed(..))),
            "{events:?}"
        );
        events.clear();
        idler.idle(did || n > 0);
    }
    assert_eq!(received.len(), expected.len());
    assert!(
        received == expected,
        "echoed bytes differ or are out of order"
    );
    eprintln!(
        "{kind:?}: {} bytes echoed, send buffer full {full_seen} times, {:?}",
        expected.len(),
        net.stats()
    );
    net.close(id);
    assert_eq!(net.send(id, b"x"), Err(SendError::UnknownConn));
    assert_eq!(net.queued(id), None);
    assert_eq!(server.join().expect("server"), expected.len());
}

#[test]
fn echo_in_order_io_uring() {
    let _g = crate::heavy();
    echo_in_order(Backend::IoUring);
}

#[test]
fn echo_in_order_poll() {
    let _g = crate::heavy();
    echo_in_order(Backend::Poll);
}

fn peer_close(kind: Backend) {
    let Some(mut net) = open(kind, &NetworkConfig::default()) else {
        return;
    };
    let (l, addr) = listener();
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.write_all(b"bye").expect("write");
        // Dropping `s` closes it: the client sees the data, then the close.
    });
    let mut events = Vec::new();
    let id = connect(&mut net, addr, &mut events);
    pump(&mut net, &mut events, "Closed", |e| {
        e.iter().any(|e| matches!(e, Ev::Closed(..)))
    });
    server.join().expect("server");
    assert_eq!(data_of(&events, id), b"bye");
    assert!(
        matches!(events.last(), Some(Ev::Closed(c, None)) if *c == id),
        "{events:?}"
    );
    assert_eq!(net.send(id, b"late"), Err(SendError::UnknownConn));
    // The slot is reusable: a new connection works.
    let (l2, addr2) = listener();
    let server2 = echo_server(l2);
    let id2 = connect(&mut net, addr2, &mut events);
    assert_ne!(id2, id);
    net.send(id2, b"again").expect("send");
    pump(&mut net, &mut events, "echo", |e| {
        data_of(e, id2).len() == 5
    });
    assert_eq!(data_of(&events, id2), b"again");
    net.close(id2);
    assert_eq!(server2.join().expect("server"), 5);
}

#[test]
fn peer_close_is_detected_io_uring() {
    let _g = crate::heavy();
    peer_close(Backend::IoUring);
}

#[test]
fn peer_close_is_detected_poll() {
    let _g = crate::heavy();
    peer_close(Backend::Poll);
}

fn connect_refused(kind: Backend) {
    let Some(mut net) = open(kind, &NetworkConfig::default()) else {
        return;
    };
    let (l, addr) = listener();
    drop(l); // nothing listens there now
    let mut events = Vec::new();
    let id = net.connect(addr).expect("connect starts");
    assert_eq!(net.send(id, b"x"), Err(SendError::NotConnected));
    pump(&mut net, &mut events, "ConnectFailed", |e| !e.is_empty());
    assert!(
        matches!(events.as_slice(), [Ev::ConnectFailed(c, io::ErrorKind::ConnectionRefused)] if *c == id),
        "{events:?}"
    );
    assert_eq!(net.send(id, b"x"), Err(SendError::UnknownConn));
}

#[test]
fn connect_refused_io_uring() {
    let _g = crate::heavy();
    connect_refused(Backend::IoUring);
}

#[test]
fn connect_refused_poll() {
    let _g = crate::heavy();
    connect_refused(Backend::Poll);
}

/// A listener with a zero backlog whose queue is already full: further SYNs are dropped, so a
/// connect neither succeeds nor fails until the connect timeout.
fn unresponsive_listener() -> (socket2::Socket, Vec<TcpStream>, SocketAddr) {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    s.bind(&"127.0.0.1:0".parse::<SocketAddr>().expect("addr").into())
        .expect("bind");
    s.listen(0).expect("listen");
    let addr = s
        .local_addr()
        .expect("addr")
        .as_socket()
        .expect("inet addr");
    let mut fillers = Vec::new();
    for _ in 0..2 {
        if let Ok(c) = TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            fillers.push(c);
        }
    }
    (s, fillers, addr)
}

fn connect_timeout(kind: Backend) {
    let cfg = NetworkConfig {
        connect_timeout_ms: 300,
        ..NetworkConfig::default()
    };
    let Some(mut net) = open(kind, &cfg) else {
        return;
    };
    let (_listener, _fillers, addr) = unresponsive_listener();
    let mut events = Vec::new();
    let started = Instant::now();
    let id = net.connect(addr).expect("connect starts");
    pump(&mut net, &mut events, "ConnectFailed", |e| !e.is_empty());
    assert!(
        matches!(events.as_slice(), [Ev::ConnectFailed(c, io::ErrorKind::TimedOut)] if *c == id),
        "{events:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "gave up before the timeout"
    );
}

#[test]
fn connect_timeout_io_uring() {
    let _g = crate::heavy();
    connect_timeout(Backend::IoUring);
}

#[test]
fn connect_timeout_poll() {
    let _g = crate::heavy();
    connect_timeout(Backend::Poll);
}

/// Small socket buffers and a slow reader: the kernel takes a large message in pieces, the rest
/// waits in the send buffer, a second large message does not fit, and everything arrives intact.
fn partial_sends(kind: Backend) {
    let cfg = NetworkConfig {
        send_buffer_bytes: Some(4096),
        recv_buffer_bytes: Some(4096),
        ..NetworkConfig::default()
    };
    let Some(mut net) = open(kind, &cfg) else {
        return;
    };
    let listener = {
        use socket2::{Domain, Socket, Type};
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        s.set_recv_buffer_size(4096).expect("rcvbuf");
        s.bind(&"127.0.0.1:0".parse::<SocketAddr>().expect("addr").into())
            .expect("bind");
        s.listen(8).expect("listen");
        TcpListener::from(s)
    };
    let addr = listener.local_addr().expect("addr");
    const LEN: usize = 200 * 1024;
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(WAIT)).expect("timeout");
        // Slow reader: the client's writes stay partial for a while.
        std::thread::sleep(Duration::from_millis(100));
        let mut got = Vec::with_capacity(LEN);
        let mut buf = [0u8; 4096];
        while got.len() < LEN {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        // Keep the connection open until the client has checked its side.
        let _ = release_rx.recv_timeout(WAIT);
        got
    });
    let mut events = Vec::new();
    let id = connect(&mut net, addr, &mut events);
    let payload: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    net.send(id, &payload).expect("send");
    // One poll lets the kernel take what fits; most of the payload must still be ours.
    for _ in 0..3 {
        net.poll(&mut record(&mut events)).expect("poll");
    }
    let queued = net.queued(id).expect("live");
    assert!(
        queued > LEN / 2,
        "kernel took {} of {LEN} bytes at once",
        LEN - queued
    );
    assert!(matches!(
        net.send(id, &payload),
        Err(SendError::Full { len: LEN, .. })
    ));
    assert!(matches!(
        net.send(id, &vec![0u8; 300 * 1024]),
        Err(SendError::TooLarge { .. })
    ));
    pump(&mut net, &mut events, "SendComplete", |e| {
        e.iter()
            .any(|e| matches!(e, Ev::SendComplete(c) if *c == id))
    });
    assert_eq!(net.queued(id), Some(0));
    let stats = net.stats();
    assert!(
        stats.short_writes > 0,
        "no partial write happened: {stats:?}"
    );
    release_tx.send(()).expect("release");
    let got = server.join().expect("server");
    assert!(
        got == payload,
        "payload arrived damaged ({} bytes)",
        got.len()
    );
}

#[test]
fn partial_sends_io_uring() {
    let _g = crate::heavy();
    partial_sends(Backend::IoUring);
}

#[test]
fn partial_sends_poll() {
    let _g = crate::heavy();
    partial_sends(Backend::Poll);
}

/// Send, poll and receive on an established connection allocate nothing.
fn steady_state_is_allocation_free(kind: Backend) {
    let Some(mut net) = open(kind, &NetworkConfig::default()) else {
        return;
    };
    let (l, addr) = listener();
    let server = echo_server(l);
    let mut events = Vec::new();
    let id = connect(&mut net, addr, &mut events);
    let frame = [7u8; 100];
    let round_trip = |net: &mut Net| {
        net.send(id, &frame).expect("send");
        let mut got = 0;
        let mut closed = false;
        let deadline = Instant::now() + WAIT;
        let mut idler = Idler::with_params(IdleStrategy::SpinThenYield, IdleParams::backing_off());
        while got < frame.len() && !closed && Instant::now() < deadline {
            let n = net
                .poll(&mut |_, ev| match ev {
                    NetEvent::Data(d) => got += d.len(),
                    NetEvent::Closed(_) => closed = true,
                    _ => {}
                })
                .expect("poll");
            idler.idle(n > 0);
        }
        got
    };
    for _ in 0..50 {
        assert_eq!(round_trip(&mut net), 100, "warm-up echo");
    }
    // The counter works: one allocation is seen.
    let probe = allocations();
    drop(std::hint::black_box(Vec::<u8>::with_capacity(16)));
    assert_eq!(allocations() - probe, 1);
    let before = allocations();
    let mut echoed = 0;
    for _ in 0..300 {
        echoed += round_trip(&mut net);
    }
    let allocated = allocations() - before;
    assert_eq!(echoed, 300 * 100);
    assert_eq!(
        allocated, 0,
        "{kind:?}: steady state allocated {allocated} times"
    );
    net.close(id);
    server.join().expect("server");
}

#[test]
fn steady_state_is_allocation_free_io_uring() {
    let _g = crate::heavy();
    steady_state_is_allocation_free(Backend::IoUring);
}

#[test]
fn steady_state_is_allocation_free_poll() {
    let _g = crate::heavy();
    steady_state_is_allocation_free(Backend::Poll);
}

/// A corked backend (the hot loop's) writes nothing on `send`; `flush` hands every queued
/// message to the kernel in one write, in order.
fn corked_sends_leave_in_one_write(kind: Backend) {
    let Some(mut net) = open(kind, &NetworkConfig::default()) else {
        return;
    };
    let (l, addr) = listener();
    let mut events = Vec::new();
    let id = connect(&mut net, addr, &mut events);
    let (mut peer, _) = l.accept().expect("accept");
    peer.set_nonblocking(true).expect("nonblocking");
    net.set_corked(true);
    let writes = net.stats().writes;
    let sent: Vec<Vec<u8>> = (0..3).map(|i| vec![b'a' + i as u8; 100]).collect();
    for m in &sent {
        net.send(id, m).expect("send");
    }
    assert_eq!(net.stats().writes, writes, "{kind:?}: a corked send wrote");
    assert_eq!(net.queued(id), Some(300));
    let mut buf = [0u8; 1024];
    assert!(
        matches!(peer.read(&mut buf), Err(e) if e.kind() == io::ErrorKind::WouldBlock),
        "{kind:?}: bytes reached the peer before the flush"
    );
    net.flush().expect("flush");
    assert_eq!(
        net.stats().writes,
        writes + 1,
        "{kind:?}: three queued messages must leave in one write"
    );
    pump(&mut net, &mut events, "SendComplete", |e| {
        e.iter()
            .any(|e| matches!(e, Ev::SendComplete(c) if *c == id))
    });
    let mut got = Vec::new();
    let deadline = Instant::now() + WAIT;
    while got.len() < 300 {
        assert!(Instant::now() < deadline, "{kind:?}: peer got {got:?}");
        match peer.read(&mut buf) {
            Ok(0) => panic!("{kind:?}: connection closed"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => panic!("{kind:?}: {e}"),
        }
    }
    assert_eq!(got, sent.concat());
    net.close(id);
}

#[test]
fn corked_sends_leave_in_one_write_io_uring() {
    let _g = crate::heavy();
    corked_sends_leave_in_one_write(Backend::IoUring);
}

#[test]
fn corked_sends_leave_in_one_write_poll() {
    let _g = crate::heavy();
    corked_sends_leave_in_one_write(Backend::Poll);
}

#[test]
fn slots_run_out_and_come_back() {
    let _g = crate::heavy();
    let mut net = open(Backend::Poll, &NetworkConfig::default()).expect("poll");
    let (_l, addr) = listener();
    let ids: Vec<ConnId> = (0..limits().max_conns)
        .map(|_| net.connect(addr).expect("connect"))
        .collect();
    assert!(matches!(
        net.connect(addr),
        Err(NetError::NoFreeSlot { max: 4 })
    ));
    net.close(ids[0]);
    let again = net.connect(addr).expect("slot reused");
    assert_eq!(again.slot(), ids[0].slot());
    assert_ne!(again.generation(), ids[0].generation());
}

#[test]
fn auto_falls_back_to_poll_when_io_uring_setup_fails() {
    let _g = crate::heavy();
    let refused = || -> Result<UringBackend, NetError> {
        Err(NetError::IoUringUnavailable {
            step: "io_uring_setup",
            source: io::Error::from_raw_os_error(38), // ENOSYS
        })
    };
    match select_backend(Backend::Auto, None, refused) {
        Ok(Selection::Poll {
            fallback: Some(why),
        }) => assert!(why.contains("io_uring_setup"), "{why}"),
        other => panic!("expected poll fallback, got {:?}", other.map(|_| ())),
    }
    assert!(matches!(
        select_backend(Backend::IoUring, None, refused),
        Err(NetError::IoUringUnavailable { .. })
    ));
}

#[test]
fn auto_opens_a_working_backend() {
    let _g = crate::heavy();
    let cfg = NetworkConfig {
        backend: Backend::Auto,
        ..NetworkConfig::default()
    };
    let mut net = Net::open(&cfg, limits()).expect("auto");
    let io_uring_works = UringBackend::new(&cfg, limits()).is_ok();
    let virtual_machine = std::fs::read_to_string("/proc/cpuinfo")
        .is_ok_and(|info| ilinkd::net::cpuinfo_says_hypervisor(&info));
    // Under a hypervisor auto is poll (io_uring measured slower there), else io_uring if the
    // kernel allows it.
    let want = if io_uring_works && !virtual_machine {
        BackendKind::IoUring
    } else {
        BackendKind::Poll
    };
    assert_eq!(net.kind(), want);
    let (l, addr) = listener();
    let server = echo_server(l);
    let mut events = Vec::new();
    let id = connect(&mut net, addr, &mut events);
    net.send(id, b"ping").expect("send");
    pump(&mut net, &mut events, "echo", |e| data_of(e, id).len() == 4);
    net.close(id);
    server.join().expect("server");
}

#[test]
fn sqpoll_ring_echoes() {
    let _g = crate::heavy();
    let cfg = NetworkConfig {
        sqpoll: true,
        ..NetworkConfig::default()
    };
    let Some(mut net) = open(Backend::IoUring, &cfg) else {
        return;
    };
    let (l, addr) = listener();
    let server = echo_server(l);
    let mut events = Vec::new();
    let id = connect(&mut net, addr, &mut events);
    for i in 0..50u8 {
        net.send(id, &[i; 10]).expect("send");
        pump(&mut net, &mut events, "echo", |e| {
            data_of(e, id).len() == 10
        });
        assert_eq!(data_of(&events, id), [i; 10]);
        events.clear();
    }
    net.close(id);
    server.join().expect("server");
}
