//! What the control crate's integration tests share: kube-sim with the demo cluster, and the control plane
//! started against it as the proxy's service account.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

use std::path::Path;
use std::sync::Arc;

use capsule_proxy_control::{ClusterConnection, Control, ControlOptions, IdentityCacheConfig};
use capsule_proxy_policy::ApiCredential;
use capsule_proxy_policy::snapshot::Snapshot;
use kube_sim::{Fixture, KubeSim, SimConfig};

/// kube-sim serving the demo cluster, its state in `dir`.
pub(crate) async fn demo_sim(dir: &Path) -> KubeSim {
    let fixture =
        Fixture::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../kube-sim/fixtures/demo.yaml")).unwrap();
    KubeSim::start(SimConfig::new(fixture, dir.join("state")))
        .await
        .unwrap()
}

/// The control plane against `sim`, as the proxy's service account; `publish` gets every snapshot.
pub(crate) fn start_control(sim: &KubeSim, publish: impl Fn(Arc<Snapshot>) + Send + 'static) -> Control {
    let connection = ClusterConnection {
        server_url: sim.url(),
        ca_pem: sim.ca_pem().map(|pem| pem.as_bytes().to_vec()),
        insecure_skip_verify: false,
        tls_server_name: None,
        credential: ApiCredential::Token("capsule-proxy-token".into()),
        exec: None,
    };
    let options = ControlOptions {
        probe_addr: None,
        capsule_configuration_name: "default".into(),
        identity: IdentityCacheConfig::default(),
        reflector: false,
    };
    Control::start(connection, options, publish).unwrap()
}
