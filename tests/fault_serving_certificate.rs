//! The serving certificate files go bad: garbage, a truncated PEM, a certificate whose DER is not a certificate,
//! a key that does not match, empty files. The proxy keeps presenting the certificate it had, logs why it could
//! not load the new files, and presents a valid new pair as soon as one is written; on SIGHUP it presents the
//! new pair once its log says it reloaded, checked on the certificate of real TLS handshakes.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod fault_support;
mod support;

use std::time::{Duration, Instant};

use fault_support::endpoints::served_certificate;
use fault_support::process::{count_lines, signal};
use support::Env;
use support::capsule::LogOnFailure;
use support::proxy::{Proxy, serving_cert};
use support::raw::{pem_to_der, poll_until};

/// Deadline for a valid new pair to be presented (the files are checked every second).
const ROTATION_DEADLINE: Duration = Duration::from_secs(10);
/// What the proxy logs when changed files cannot be loaded.
const LOAD_FAILED: &str = "serving certificate files changed but cannot be loaded";
/// What the proxy logs when it loaded new files.
const RELOADED: &str = "serving certificate reloaded";
/// What the proxy logs when SIGHUP asks it to look at the files now.
const RELOAD_REQUESTED: &str = "reload requested";

fn write_pair(proxy: &Proxy, cert: &[u8], key: &[u8]) {
    std::fs::write(proxy.dir.join("tls.crt"), cert).unwrap();
    std::fs::write(proxy.dir.join("tls.key"), key).unwrap();
}

/// Sends SIGHUP and waits for the proxy to log the request, twice in a row: once the second request is
/// logged, the files as they are now have been looked at (the checks run one after another).
async fn files_checked(proxy: &Proxy) {
    for _ in 0..2 {
        let seen = count_lines(&proxy.log(), RELOAD_REQUESTED);
        signal(proxy.pid(), "HUP");
        proxy
            .wait_for_log("the reload request", |log| {
                count_lines(log, RELOAD_REQUESTED) > seen
            })
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_certificate_files_keep_the_old_certificate_until_a_valid_pair_arrives() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let old_pem = proxy.ca_pem.clone();
    let old = pem_to_der(&old_pem);
    let (final_cert, final_key) = serving_cert();
    let roots = [old_pem.as_str(), final_cert.as_str()];
    assert_eq!(served_certificate(&proxy, &roots).await, old);

    let (cert_a, _) = serving_cert();
    let (_, key_b) = serving_cert();
    let (cert_c, key_c) = serving_cert();
    let (_, key_d) = serving_cert();
    let (_, key_e) = serving_cert();
    let truncated = &cert_c.as_bytes()[..cert_c.len() / 2];
    let not_der = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    let cases: [(&str, &[u8], &[u8]); 5] = [
        ("garbage", b"\x00\xffgarbage, not PEM\n", b"garbage key\n"),
        ("a truncated PEM", truncated, key_c.as_bytes()),
        (
            "a PEM block that is not a certificate",
            not_der.as_bytes(),
            key_d.as_bytes(),
        ),
        ("a key that does not match", cert_a.as_bytes(), key_b.as_bytes()),
        ("empty files", b"", key_e.as_bytes()),
    ];
    for (what, cert, key) in cases {
        let failures = count_lines(&proxy.log(), LOAD_FAILED);
        write_pair(&proxy, cert, key);
        files_checked(&proxy).await;
        let log = proxy.log();
        assert!(
            count_lines(&log, LOAD_FAILED) > failures,
            "{what}: the proxy logged no load failure"
        );
        assert_eq!(
            served_certificate(&proxy, &roots).await,
            old,
            "{what}: the old certificate is still presented"
        );
        let line = log.lines().rfind(|l| l.contains(LOAD_FAILED)).unwrap();
        println!("{what}: {line}");
        assert!(line.contains("ERROR"), "{what}: logged as an error: {line}");
        assert!(
            line.contains("tls.crt") && line.contains("tls.key"),
            "{what}: the line names both files: {line}"
        );
        assert!(
            !line.contains("[45, 45"),
            "{what}: no byte arrays in the line: {line}"
        );
    }
    assert_eq!(count_lines(&proxy.log(), RELOADED), 0, "nothing bad was loaded");

    // A valid pair is picked up from the files alone, without a signal.
    let written = Instant::now();
    write_pair(&proxy, final_cert.as_bytes(), final_key.as_bytes());
    let new = pem_to_der(&final_cert);
    let presented = poll_until(ROTATION_DEADLINE, || async {
        (served_certificate(&proxy, &roots).await == new).then_some(())
    })
    .await;
    assert!(presented.is_some(), "the valid new pair is presented");
    println!(
        "valid pair presented {:?} after it was written",
        written.elapsed()
    );
    assert_eq!(count_lines(&proxy.log(), RELOADED), 1);
}

/// Starts a proxy, checks it presents its first certificate, writes a new pair (the key first: until the
/// certificate follows, the pair does not match and nothing is loaded) and sends SIGHUP. Returns the proxy, the
/// new certificate's PEM and when the signal was sent.
async fn rotate_with_sighup(env: &Env) -> (Proxy, String, Instant) {
    let proxy = Proxy::start(env, &[]).await;
    let (new_cert, new_key) = serving_cert();
    let roots = [proxy.ca_pem.as_str(), new_cert.as_str()];
    assert_eq!(
        served_certificate(&proxy, &roots).await,
        pem_to_der(&proxy.ca_pem)
    );
    std::fs::write(proxy.dir.join("tls.key"), &new_key).unwrap();
    std::fs::write(proxy.dir.join("tls.crt"), &new_cert).unwrap();
    let sent = Instant::now();
    signal(proxy.pid(), "HUP");
    (proxy, new_cert, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_presents_the_new_certificate() {
    let env = Env::start().await;
    let (proxy, new_cert, sent) = rotate_with_sighup(&env).await;
    let _log = LogOnFailure(&proxy);
    let roots = [proxy.ca_pem.as_str(), new_cert.as_str()];
    let new = pem_to_der(&new_cert);
    let presented = poll_until(ROTATION_DEADLINE, || async {
        (served_certificate(&proxy, &roots).await == new).then_some(())
    })
    .await;
    assert!(
        presented.is_some(),
        "the new certificate is presented after SIGHUP"
    );
    println!("SIGHUP → new certificate presented within {:?}", sent.elapsed());
    proxy
        .wait_for_log("the reload", |log| {
            count_lines(log, RELOAD_REQUESTED) >= 1 && count_lines(log, RELOADED) == 1
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sighup_the_reload_log_line_and_the_presented_certificate_agree() {
    let env = Env::start().await;
    let (proxy, new_cert, sent) = rotate_with_sighup(&env).await;
    let _log = LogOnFailure(&proxy);
    let roots = [proxy.ca_pem.as_str(), new_cert.as_str()];
    proxy
        .wait_for_log("the reload", |log| count_lines(log, RELOADED) == 1)
        .await;
    let logged = sent.elapsed();
    let line = proxy
        .log()
        .lines()
        .find(|l| l.contains(RELOADED))
        .unwrap()
        .to_string();
    assert!(line.contains("tls.crt"), "the line names the file: {line}");
    println!("SIGHUP → logged in {logged:?}: {line}");
    // From the log line on, every handshake presents the new certificate.
    let new = pem_to_der(&new_cert);
    for handshake in 1..=3 {
        let presented = served_certificate(&proxy, &roots).await;
        assert!(
            presented == new,
            "handshake {handshake} {:?} after SIGHUP, after the log said {RELOADED:?}, presented the old certificate",
            sent.elapsed()
        );
    }
}
