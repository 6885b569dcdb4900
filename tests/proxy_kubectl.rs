//! The real `kubectl` through `capsule-proxy` to kube-sim: every request passes through unchanged, callers
//! keep their identity.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use support::proxy::Proxy;
use support::{Env, lines, ok};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_certificate_users_list_through_the_proxy() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    for identity in ["alice", "alice-cert"] {
        let pods = ok(&proxy.run(&env, identity, &["get", "pods", "-n", "oil-dev", "-o", "name"]).await);
        assert_eq!(lines(&pods), ["pod/web"], "{identity}");
    }
    let audit = env.sim.audit();
    let token = audit.iter().find(|e| e.user == "alice" && e.impersonator.is_none());
    assert!(token.is_some(), "the token user reached kube-sim as herself: {audit:?}");
    let cert = audit.iter().find(|e| {
        e.user == "alice" && e.impersonator.as_deref() == Some("system:serviceaccount:capsule-system:capsule-proxy")
    });
    assert!(cert.is_some(), "the certificate user was impersonated by the proxy: {audit:?}");
}
