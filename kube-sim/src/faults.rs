//! Broken watches, switched on by tests: kube-sim then answers like a kube-apiserver whose watch cache cannot
//! serve some resources (etcd unreachable, the cache re-initializing after losing it). The open watches of
//! those resources end (kube-apiserver's cacher terminates its watchers when it re-initializes) and new watch
//! requests get the `Status` kube-apiserver sends meanwhile. Lists and gets are still served: they are read
//! from etcd directly, so clients' data requests keep working while watches are broken.

use std::collections::BTreeMap;

use tokio::sync::watch;

use crate::status::{ApiError, qualified};

/// How kube-sim answers a new watch request of a broken resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchFault {
    /// `429 TooManyRequests`, `Retry-After: 1`, "storage is (re)initializing": the watch cache is being rebuilt.
    Initializing,
    /// `500 InternalError`, "etcdserver: request timed out": etcd does not answer.
    EtcdTimeout,
    /// `503 ServiceUnavailable`: the API server cannot serve the resource at all.
    Unavailable,
}

impl WatchFault {
    /// The error a watch request is answered with.
    pub fn error(self) -> ApiError {
        match self {
            Self::Initializing => ApiError::too_many_requests("storage is (re)initializing", 1),
            Self::EtcdTimeout => ApiError::internal("etcdserver: request timed out"),
            Self::Unavailable => {
                ApiError::unavailable("the server is currently unable to handle the request")
            }
        }
    }
}

/// Which resources' watches are broken, keyed by qualified resource (`namespaces`,
/// `tenants.capsule.clastix.io`), or by qualified resource and namespace (`configmaps/oil-dev`: the watches of
/// that one namespace, as when kube-apiserver's timeout ends one watch and not its neighbours); open watches
/// subscribe to be told when that changes.
#[derive(Debug)]
pub struct WatchFaults {
    broken: watch::Sender<BTreeMap<String, WatchFault>>,
}

impl Default for WatchFaults {
    fn default() -> Self {
        Self {
            broken: watch::Sender::new(BTreeMap::new()),
        }
    }
}

impl WatchFaults {
    /// Breaks the watches of `resources` (qualified names): open ones end, new ones are answered with `fault`.
    pub fn break_watches(&self, resources: &[&str], fault: WatchFault) {
        self.broken.send_modify(|broken| {
            for resource in resources {
                broken.insert((*resource).to_string(), fault);
            }
        });
    }

    /// Serves every watch again.
    pub fn heal(&self) {
        self.broken.send_modify(BTreeMap::clear);
    }

    /// The fault of `group`/`resource` (in `namespace`), if its watches are broken.
    pub fn fault_of(&self, group: &str, resource: &str, namespace: Option<&str>) -> Option<WatchFault> {
        Self::fault_in(&self.broken.borrow(), group, resource, namespace)
    }

    /// Told of every change; [`WatchFaults::fault_in`] then says whether a watch must end.
    pub fn subscribe(&self) -> watch::Receiver<BTreeMap<String, WatchFault>> {
        self.broken.subscribe()
    }

    /// The fault of `group`/`resource` (in `namespace`) in a subscriber's view.
    pub fn fault_in(
        view: &BTreeMap<String, WatchFault>,
        group: &str,
        resource: &str,
        namespace: Option<&str>,
    ) -> Option<WatchFault> {
        let resource = qualified(group, resource);
        let in_namespace = || namespace.and_then(|ns| view.get(&format!("{resource}/{ns}")));
        view.get(&resource).or_else(in_namespace).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_and_heals_by_qualified_resource() {
        let faults = WatchFaults::default();
        let mut subscriber = faults.subscribe();
        assert_eq!(faults.fault_of("", "namespaces", None), None);
        faults.break_watches(
            &["namespaces", "tenants.capsule.clastix.io"],
            WatchFault::Initializing,
        );
        assert!(subscriber.has_changed().unwrap());
        assert_eq!(
            WatchFaults::fault_in(
                &subscriber.borrow_and_update(),
                "capsule.clastix.io",
                "tenants",
                None
            ),
            Some(WatchFault::Initializing)
        );
        assert_eq!(
            faults.fault_of("", "namespaces", None),
            Some(WatchFault::Initializing)
        );
        assert_eq!(faults.fault_of("", "pods", None), None);
        faults.heal();
        assert!(subscriber.has_changed().unwrap());
        assert_eq!(
            WatchFaults::fault_in(&subscriber.borrow_and_update(), "", "namespaces", None),
            None
        );
    }

    #[test]
    fn one_namespace_of_a_resource_can_break_alone() {
        let faults = WatchFaults::default();
        faults.break_watches(&["configmaps/oil-dev"], WatchFault::Unavailable);
        assert_eq!(
            faults.fault_of("", "configmaps", Some("oil-dev")),
            Some(WatchFault::Unavailable)
        );
        assert_eq!(faults.fault_of("", "configmaps", Some("oil-prod")), None);
        assert_eq!(
            faults.fault_of("", "configmaps", None),
            None,
            "the cluster-wide watch goes on"
        );
    }

    #[test]
    fn faults_answer_like_kube_apiserver() {
        let busy = WatchFault::Initializing.error().to_status();
        assert_eq!(busy["code"], 429);
        assert_eq!(busy["reason"], "TooManyRequests");
        assert_eq!(busy["message"], "storage is (re)initializing");
        assert_eq!(busy["details"]["retryAfterSeconds"], 1);
        let etcd = WatchFault::EtcdTimeout.error().to_status();
        assert_eq!(etcd["code"], 500);
        assert_eq!(
            etcd["message"],
            "Internal error occurred: etcdserver: request timed out"
        );
        assert_eq!(WatchFault::Unavailable.error().code, 503);
    }
}
