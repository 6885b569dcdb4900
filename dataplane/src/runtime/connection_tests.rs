//! A core serving plain HTTP on loopback, in front of a scripted upstream (a std thread): what the accept loop,
//! [`crate::serve`] and [`crate::forward`] do with real sockets — the framing written upstream, the pool's reuse
//! rule, early answers, stalled bodies and rejected heads, each counted.

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use capsule_proxy_policy::CidrSet;

use super::accept_loop;
use crate::codec::Limits;
use crate::config::Driver;
use crate::config::{AuthConfig, AuthMethod, ClientTimeouts, FilterConfig};
use crate::context::Settings;
use crate::metrics::{CoreMetrics, RouteLabel};
use crate::runtime::core::Core;
use crate::upstream::Pool;

/// Deadline of every blocking step of the client and upstream threads.
const STEP: Duration = Duration::from_secs(10);

fn timeouts(body_idle: Duration) -> ClientTimeouts {
    ClientTimeouts {
        read_header: Duration::from_millis(300),
        idle: None,
        request_body_idle: body_idle,
        stall: None,
        tls_handshake: STEP,
    }
}

fn core(upstream: SocketAddr, timeouts: ClientTimeouts) -> Rc<Core> {
    let auth = AuthConfig {
        methods: vec![AuthMethod::BearerToken],
        trusted_proxies: CidrSet::default(),
        xfcc_header: "X-Forwarded-Client-Cert".into(),
    };
    let settings = Settings::new(
        Limits::default(),
        timeouts,
        auth,
        String::new(),
        STEP,
        false,
        FilterConfig::default(),
    );
    Rc::new(Core {
        id: 0,
        settings,
        server_tls: RefCell::new(None),
        token: RefCell::new(None),
        pool: Pool::new(vec![upstream], None, 8, Duration::from_secs(60), STEP, STEP),
        snapshot: RefCell::new(None),
        reviewer: RefCell::new(None),
        tokens: Default::default(),
        reviews: Default::default(),
        metrics: CoreMetrics::new(Driver::Legacy),
        streams: Default::default(),
        draining: Cell::new(None),
        accept_stop: Default::default(),
        burst_trim: Default::default(),
    })
}

/// Starts `core` on a loopback listener; returns its address.
fn listen(core: &Rc<Core>) -> SocketAddr {
    let std = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = std.local_addr().unwrap();
    std.set_nonblocking(true).unwrap();
    let listener = monoio::net::TcpListener::from_std(std).unwrap();
    monoio::spawn(accept_loop(Rc::clone(core), listener));
    addr
}

/// Waits on the core's timer for a thread's result.
async fn joined<T>(rx: &mpsc::Receiver<T>) -> T {
    for _ in 0..(STEP.as_millis() / 2) {
        if let Ok(value) = rx.try_recv() {
            return value;
        }
        monoio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("a test thread did not finish in time");
}

/// Reads until `buf` holds `n` bytes more than `start` or the stream ends.
fn read_at_least(stream: &mut StdStream, buf: &mut Vec<u8>, needle: &[u8]) {
    let mut chunk = [0u8; 4096];
    while !buf.windows(needle.len()).any(|w| w == needle) {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Reads everything until the peer closes.
fn read_to_close(stream: &mut StdStream) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = stream.read_to_end(&mut all);
    all
}

fn client(addr: SocketAddr) -> StdStream {
    let stream = StdStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(STEP)).unwrap();
    stream
}

/// A client thread that writes `parts` (a write may fail once the proxy answered) and returns all it read
/// until the proxy closed.
fn client_sending(addr: SocketAddr, parts: Vec<Vec<u8>>) -> mpsc::Receiver<Vec<u8>> {
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut conn = client(addr);
        for part in parts {
            let _ = conn.write_all(&part);
        }
        done_tx.send(read_to_close(&mut conn)).unwrap();
    });
    done_rx
}

/// An upstream thread that accepts one connection, reads a request head, writes `answer` (if any) and then
/// either hangs up at once (`hang_up`) or reads until the proxy closes.
fn upstream_answering(upstream: StdListener, answer: &'static [u8], hang_up: bool) {
    std::thread::spawn(move || {
        let (mut conn, _) = upstream.accept().unwrap();
        conn.set_read_timeout(Some(STEP)).unwrap();
        let mut head = Vec::new();
        read_at_least(&mut conn, &mut head, b"\r\n\r\n");
        let _ = conn.write_all(answer);
        if hang_up {
            let _ = conn.shutdown(std::net::Shutdown::Both);
        } else {
            let _ = read_to_close(&mut conn);
        }
    });
}

#[monoio::test(enable_timer = true)]
async fn the_proxy_writes_the_framing_and_reuses_the_upstream_connection() {
    let upstream = StdListener::bind("127.0.0.1:0").unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    let core = core(upstream_addr, timeouts(STEP));
    let addr = listen(&core);
    let (seen_tx, seen_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut conn, _) = upstream.accept().unwrap();
        conn.set_read_timeout(Some(STEP)).unwrap();
        let mut seen = Vec::new();
        // The POST (head and its 5 body bytes), answered; then the GET on the same connection.
        read_at_least(&mut conn, &mut seen, b"hello");
        conn.write_all(b"HTTP/1.1 201 Created\r\nConnection: Content-Length\r\nContent-Length: 2\r\n\r\nok")
            .unwrap();
        read_at_least(&mut conn, &mut seen, b"GET /two HTTP/1.1\r\n");
        read_at_least(&mut conn, &mut seen, b"\r\n\r\n");
        conn.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n")
            .unwrap();
        seen_tx.send(seen).unwrap();
    });
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut conn = client(addr);
        conn.write_all(
            b"POST /one HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer t\r\nConnection: keep-alive, Content-Length, Host\r\n\
              Content-Length: 5\r\n\r\nhelloGET /two HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        done_tx.send(read_to_close(&mut conn)).unwrap();
    });
    let seen = String::from_utf8(joined(&seen_rx).await).unwrap();
    let answered = String::from_utf8(joined(&done_rx).await).unwrap();
    assert!(
        seen.starts_with("POST /one HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer t\r\nContent-Length: 5\r\n"),
        "{seen}"
    );
    assert!(
        seen.contains("\r\n\r\nhelloGET /two HTTP/1.1\r\nHost: k\r\n"),
        "{seen}"
    );
    assert!(!seen.contains("Connection"), "{seen}");
    // The 201's length is the proxy's, whatever the upstream's `Connection` named.
    assert!(
        answered.starts_with("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"),
        "{answered}"
    );
    assert!(
        answered.ends_with("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nhi\r\n0\r\n\r\n"),
        "{answered}"
    );
    let routes = core.metrics.snapshot(0).routes;
    let root = &routes[RouteLabel::Root.index()];
    assert_eq!((root.status_count(201), root.status_count(200)), (1, 1));
}

#[monoio::test(enable_timer = true)]
async fn an_early_answer_is_relayed_and_both_connections_close() {
    let upstream = StdListener::bind("127.0.0.1:0").unwrap();
    let core = core(upstream.local_addr().unwrap(), timeouts(STEP));
    let addr = listen(&core);
    // Refused on the declared length, before the body; then the server stops reading.
    upstream_answering(
        upstream,
        b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 3\r\n\r\nbig",
        true,
    );
    let body = vec![b'x'; 8 << 20];
    let head = format!(
        "PUT /big HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let done_rx = client_sending(addr, vec![head.into_bytes(), body]);
    let answered = String::from_utf8(joined(&done_rx).await).unwrap();
    assert!(
        answered.starts_with(
            "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig"
        ),
        "{answered}"
    );
    assert_eq!(core.pool.idle_count(), 0, "a connection mid-body is never pooled");
}

#[monoio::test(enable_timer = true)]
async fn a_stalled_body_gets_408_and_is_counted() {
    let upstream = StdListener::bind("127.0.0.1:0").unwrap();
    let core = core(
        upstream.local_addr().unwrap(),
        timeouts(Duration::from_millis(100)),
    );
    let addr = listen(&core);
    upstream_answering(upstream, b"", false);
    let done_rx = client_sending(
        addr,
        vec![
            b"POST /x HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer t\r\nContent-Length: 10\r\n\r\nab"
                .to_vec(),
        ],
    );
    let answered = String::from_utf8(joined(&done_rx).await).unwrap();
    assert!(
        answered.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answered}"
    );
    assert!(answered.contains("\"reason\":\"Timeout\""), "{answered}");
    let routes = core.metrics.snapshot(0).routes;
    assert_eq!(routes[RouteLabel::Root.index()].status_count(408), 1);
}

#[monoio::test(enable_timer = true)]
async fn heads_refused_before_a_path_is_read_are_counted() {
    let core = core("127.0.0.1:9".parse().unwrap(), timeouts(STEP));
    let addr = listen(&core);
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut slow = client(addr);
        slow.write_all(b"GET /never-ends HTTP/1.1\r\nHost: k\r\n")
            .unwrap();
        let timed_out = read_to_close(&mut slow);
        let mut big = client(addr);
        let mut head = b"GET / HTTP/1.1\r\nHost: k\r\nX: ".to_vec();
        head.resize(70 * 1024, b'a');
        let _ = big.write_all(&head);
        done_tx.send((timed_out, read_to_close(&mut big))).unwrap();
    });
    let (timed_out, too_large) = joined(&done_rx).await;
    assert!(
        timed_out.starts_with(b"HTTP/1.1 408 "),
        "{}",
        String::from_utf8_lossy(&timed_out)
    );
    assert!(
        too_large.starts_with(b"HTTP/1.1 431 "),
        "{}",
        String::from_utf8_lossy(&too_large)
    );
    let routes = core.metrics.snapshot(0).routes;
    let root = &routes[RouteLabel::Root.index()];
    assert_eq!((root.status_count(408), root.status_count(431)), (1, 1));
}

#[monoio::test(enable_timer = true)]
async fn an_unasked_protocol_switch_is_refused() {
    let upstream = StdListener::bind("127.0.0.1:0").unwrap();
    let core = core(upstream.local_addr().unwrap(), timeouts(STEP));
    let addr = listen(&core);
    upstream_answering(
        upstream,
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: raw\r\n\r\n",
        false,
    );
    let done_rx = client_sending(
        addr,
        vec![
            b"GET /api HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n".to_vec(),
        ],
    );
    let answered = String::from_utf8(joined(&done_rx).await).unwrap();
    assert!(answered.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{answered}");
    assert!(answered.contains("switched protocols unasked"), "{answered}");
}
