//! The status of ProxySettings and GlobalProxySettings: `observedGeneration` and a `Ready` condition, as the Go
//! proxy writes them (`Ready=True`, reason `Succeeded`, message `reconciled`, the condition's own
//! `observedGeneration`), except that a spec with rules the proxy cannot use is `Ready=False`, reason
//! `InvalidSpec`, with a message naming each unusable rule (those rules take no effect; the others do).
//!
//! Every replica writes, as Go's do (no leader election): the watches report each object as they see it, and
//! the writer patches the status subresource only when it differs from what it should be, so a replica's own
//! write, seen again by every watch, changes nothing more. Other condition types on the object are kept.

use std::time::Duration;

use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::crds::{Condition, GlobalProxySettings, ProxySetting, ProxySettingsStatus};
use crate::problems::Problems;

/// The condition type the proxy maintains.
pub const READY: &str = "Ready";
/// The reason of a usable spec (Capsule's `SucceededReason`).
pub const SUCCEEDED: &str = "Succeeded";
/// The message of a usable spec, as Go writes it.
pub const RECONCILED: &str = "reconciled";
/// The reason of a spec with rules the proxy cannot use.
pub const INVALID_SPEC: &str = "InvalidSpec";

/// How many times a failed status write is tried before it is left to the object's next change.
const ATTEMPTS: u32 = 5;
/// The pause after a failed write, doubled after each.
const FIRST_RETRY: Duration = Duration::from_millis(200);

/// Which object a report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusTarget {
    /// A namespaced ProxySetting.
    ProxySetting {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// A cluster-scoped GlobalProxySettings.
    GlobalProxySettings {
        /// Its name.
        name: String,
    },
}

impl std::fmt::Display for StatusTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ProxySetting { namespace, name } => write!(f, "ProxySetting {namespace}/{name}"),
            Self::GlobalProxySettings { name } => write!(f, "GlobalProxySettings {name}"),
        }
    }
}

/// One object as a watch saw it: its generation, its status, and what of its spec cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// The object.
    pub target: StatusTarget,
    /// `metadata.generation`.
    pub generation: i64,
    /// Its status now.
    pub current: ProxySettingsStatus,
    /// What of its spec cannot be used.
    pub problems: Problems,
}

impl StatusReport {
    /// A report of `target`.
    pub fn new(
        target: StatusTarget,
        generation: i64,
        current: ProxySettingsStatus,
        problems: Problems,
    ) -> Self {
        Self {
            target,
            generation,
            current,
            problems,
        }
    }

    /// The `Ready` condition the object should carry (`now`, RFC 3339, is its transition time when its status
    /// changes; otherwise the time it has is kept).
    pub fn ready_condition(&self, now: &str) -> Condition {
        let (status, reason, message) = if self.problems.is_empty() {
            ("True", SUCCEEDED, RECONCILED.to_owned())
        } else {
            (
                "False",
                INVALID_SPEC,
                format!("rules not applied: {}", self.problems.0.join("; ")),
            )
        };
        let previous = self.current.conditions.iter().find(|c| c.type_ == READY);
        let last_transition_time = match previous {
            Some(previous) if previous.status == status && !previous.last_transition_time.is_empty() => {
                previous.last_transition_time.clone()
            }
            _ => now.to_owned(),
        };
        Condition {
            type_: READY.to_owned(),
            status: status.to_owned(),
            observed_generation: self.generation,
            last_transition_time,
            reason: reason.to_owned(),
            message,
        }
    }

    /// The status the object should have, or `None` when it has it already (the transition time aside).
    pub fn desired(&self, now: &str) -> Option<ProxySettingsStatus> {
        let ready = self.ready_condition(now);
        let current_ready = self.current.conditions.iter().find(|c| c.type_ == READY);
        let up_to_date = self.current.observed_generation == self.generation
            && current_ready.is_some_and(|c| {
                c.status == ready.status
                    && c.reason == ready.reason
                    && c.message == ready.message
                    && c.observed_generation == ready.observed_generation
            });
        if up_to_date {
            return None;
        }
        let mut conditions: Vec<Condition> = self
            .current
            .conditions
            .iter()
            .filter(|c| c.type_ != READY)
            .cloned()
            .collect();
        conditions.push(ready);
        Some(ProxySettingsStatus {
            observed_generation: self.generation,
            conditions,
        })
    }
}

/// Writes the status of each reported object that needs it, until the watches are gone.
pub async fn run(client: Client, mut reports: UnboundedReceiver<StatusReport>) {
    while let Some(report) = reports.recv().await {
        let now = jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or_else(|_| jiff::Timestamp::now());
        let Some(status) = report.desired(&now.to_string()) else {
            continue;
        };
        write(&client, &report.target, &status).await;
    }
}

/// Patches `status` onto `target`, retrying a failed write a few times.
async fn write(client: &Client, target: &StatusTarget, status: &ProxySettingsStatus) {
    let patch = Patch::Merge(json!({ "status": status }));
    let params = PatchParams::default();
    let mut pause = FIRST_RETRY;
    for attempt in 1..=ATTEMPTS {
        let result = match target {
            StatusTarget::ProxySetting { namespace, name } => {
                Api::<ProxySetting>::namespaced(client.clone(), namespace)
                    .patch_status(name, &params, &patch)
                    .await
                    .map(|_| ())
            }
            StatusTarget::GlobalProxySettings { name } => Api::<GlobalProxySettings>::all(client.clone())
                .patch_status(name, &params, &patch)
                .await
                .map(|_| ()),
        };
        match result {
            Ok(()) => {
                tracing::debug!(object = %target, "status written");
                return;
            }
            // Deleted meanwhile: nothing to write.
            Err(kube::Error::Api(status)) if status.code == 404 => return,
            Err(kube::Error::Api(status)) if status.code == 403 => {
                tracing::warn!(
                    object = %target,
                    "cannot write the status: the proxy's ClusterRole lacks patch on proxysettings/status and \
                     globalproxysettings/status"
                );
                return;
            }
            Err(error) if attempt < ATTEMPTS => {
                tracing::debug!(object = %target, %error, attempt, "writing the status failed; retrying");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            Err(error) => {
                tracing::warn!(object = %target, %error, "cannot write the status; left to the object's next change");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EARLIER: &str = "2026-01-01T00:00:00Z";
    const NOW: &str = "2026-12-06T06:50:00Z";

    fn report(generation: i64, current: ProxySettingsStatus, problems: &[&str]) -> StatusReport {
        StatusReport::new(
            StatusTarget::GlobalProxySettings { name: "g".into() },
            generation,
            current,
            Problems(problems.iter().map(|p| (*p).to_owned()).collect()),
        )
    }

    #[test]
    fn a_new_object_gets_what_go_writes() {
        let desired = report(3, ProxySettingsStatus::default(), &[])
            .desired(NOW)
            .unwrap();
        assert_eq!(desired.observed_generation, 3);
        assert_eq!(
            desired.conditions,
            [Condition {
                type_: READY.into(),
                status: "True".into(),
                observed_generation: 3,
                last_transition_time: NOW.into(),
                reason: SUCCEEDED.into(),
                message: RECONCILED.into(),
            }]
        );
    }

    #[test]
    fn an_up_to_date_object_is_left_alone_and_a_new_generation_is_not() {
        let written = report(3, ProxySettingsStatus::default(), &[])
            .desired(EARLIER)
            .unwrap();
        assert_eq!(report(3, written.clone(), &[]).desired(NOW), None);
        let next = report(4, written, &[]).desired(NOW).unwrap();
        assert_eq!(next.observed_generation, 4);
        assert_eq!(
            next.conditions[0].last_transition_time, EARLIER,
            "still True: the transition time stays"
        );
    }

    #[test]
    fn unusable_rules_make_it_not_ready_and_other_conditions_stay() {
        let mut current = report(1, ProxySettingsStatus::default(), &[])
            .desired(EARLIER)
            .unwrap();
        current.conditions.insert(
            0,
            Condition {
                type_: "Audited".into(),
                status: "True".into(),
                reason: "Other".into(),
                ..Default::default()
            },
        );
        let problem = "spec.rules[0].clusterResources[0].selector: invalid selector: x";
        let desired = report(2, current, &[problem]).desired(NOW).unwrap();
        assert_eq!(desired.conditions.len(), 2);
        assert_eq!(desired.conditions[0].type_, "Audited");
        let ready = &desired.conditions[1];
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", INVALID_SPEC)
        );
        assert_eq!(ready.message, format!("rules not applied: {problem}"));
        assert_eq!(ready.last_transition_time, NOW, "True to False is a transition");
    }
}
