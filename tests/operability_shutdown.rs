//! Signals: SIGTERM ends streams cleanly, lets in-flight work finish and exits within the grace period, with
//! `/readyz` failing meanwhile; SIGHUP re-reads the serving certificate at once.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::capsule::{LogOnFailure, start_synced};
use support::{Env, LINE_DEADLINE, Streaming};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a test waits for the proxy process to end.
const EXIT_DEADLINE: Duration = Duration::from_secs(20);

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

async fn probe(addr: std::net::SocketAddr, path: &str) -> u16 {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: probes\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.ok()?;
        response.split_whitespace().nth(1)?.parse().ok()
    };
    tokio::time::timeout(LINE_DEADLINE, exchange)
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_watches_cleanly_and_exits() {
    let env = Env::start().await;
    let mut proxy = start_synced(&env, &["--shutdown-grace-period=10s"]).await;
    let mut cmd = proxy.kubectl(&env, "alice");
    cmd.args(["get", "ns", "-w", "-o", "name"]);
    let mut watch = Streaming::spawn(cmd);
    watch.until(|line| line == "namespace/oil-prod").await;

    let sent = Instant::now();
    signal(proxy.pid(), "TERM");
    // The watch ends at once (its last chunk), and kubectl with it, without an error.
    let status = tokio::time::timeout(LINE_DEADLINE, watch.child.wait())
        .await
        .expect("kubectl's watch ended when the proxy shut down")
        .unwrap();
    assert!(status.success(), "kubectl get -w: {status}\n{}", proxy.log());
    let exit = tokio::time::timeout(EXIT_DEADLINE, proxy.child.wait())
        .await
        .expect("the proxy exited")
        .unwrap();
    assert!(exit.success(), "proxy exit: {exit}");
    // Nothing was left in flight: no need to wait for the grace period.
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "took {:?}",
        sent.elapsed()
    );
    let log = proxy.log();
    assert!(log.contains("shutting down gracefully"), "{log}");
    assert!(log.contains("drained"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_exec_holds_the_shutdown_until_the_grace_period_and_readyz_fails_meanwhile() {
    let env = Env::start().await;
    let mut proxy = start_synced(&env, &["--shutdown-grace-period=3s"]).await;
    let probes = proxy.probes.unwrap();
    assert_eq!(probe(probes, "/readyz").await, 200);

    // An interactive exec: an upgraded connection that stays open while stdin does.
    let mut exec = proxy.kubectl(&env, "alice");
    exec.args(["exec", "-i", "-n", "oil-dev", "web", "--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut exec = exec.spawn().unwrap();
    let mut stdin = exec.stdin.take().unwrap();
    let mut stdout = exec.stdout.take().unwrap();
    stdin.write_all(b"ping\n").await.unwrap();
    let mut echoed = [0_u8; 5];
    tokio::time::timeout(LINE_DEADLINE, stdout.read_exact(&mut echoed))
        .await
        .expect("the exec echoes")
        .unwrap();
    assert_eq!(&echoed, b"ping\n");

    let sent = Instant::now();
    signal(proxy.pid(), "TERM");
    // Not ready while draining.
    let mut code = 0;
    let deadline = Instant::now() + LINE_DEADLINE;
    while Instant::now() < deadline {
        code = probe(probes, "/readyz").await;
        if code == 500 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(code, 500, "/readyz while shutting down\n{}", proxy.log());
    assert_eq!(probe(probes, "/healthz").await, 200);
    // The listener is closed: new connections are refused.
    let refused = async {
        loop {
            if tokio::net::TcpStream::connect(proxy.addr).await.is_err() {
                return;
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(LINE_DEADLINE, refused)
        .await
        .expect("the listener closes");

    let exit = tokio::time::timeout(EXIT_DEADLINE, proxy.child.wait())
        .await
        .expect("the proxy exited at the end of the grace period")
        .unwrap();
    let took = sent.elapsed();
    assert!(exit.success(), "proxy exit: {exit}");
    assert!(
        took >= Duration::from_millis(2500) && took < Duration::from_secs(10),
        "exited after {took:?}, grace period 3s"
    );
    assert!(proxy.log().contains("grace period over"), "{}", proxy.log());
    drop(stdin);
    let _ = exec.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_serving_certificate_at_once() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let (cert, key) = support::proxy::serving_cert();
    std::fs::write(proxy.dir.join("tls.crt"), &cert).unwrap();
    std::fs::write(proxy.dir.join("tls.key"), &key).unwrap();
    signal(proxy.pid(), "HUP");
    proxy
        .wait_for_log("the reload", |log| {
            log.contains("reload requested") && log.contains("serving certificate reloaded")
        })
        .await;
}
