//! Storage, ingress, priority (§3.5) and runtime (§3.6) classes: what the `allowed` lists of the caller's
//! tenants whose operations allow the request open.
//!
//! A class is visible when its name is one of the `allowed` names or the `default`, matches an `allowedRegex`,
//! or its labels match a list's selector (one tenant's list at a time, so selectors of different tenants are
//! ORed). Runtime classes read only the selectors, as in Go. Names are kept in a set (Go's sorted-list search
//! with a broken sort missed names); an `allowedRegex` that does not compile opens nothing (Go panics).

use std::collections::BTreeSet;

use regex::Regex;

use super::{DecideInput, Decision, METADATA_NAME_LABEL, any_matches, in_selector};
use crate::cluster_objects::ClusterObjectRecord;
use crate::model::{AllowedList, LegacyKind};
use crate::selector::Selector;
use crate::snapshot::TenantView;

/// What the allowed lists of the caller's tenants open.
#[derive(Debug, Default)]
struct Allowances<'a> {
    names: BTreeSet<&'a str>,
    regexes: Vec<Regex>,
    selectors: Vec<Selector>,
}

impl Allowances<'_> {
    /// The allowances of the caller's tenants whose `kind` operations allow `method`; `None` when none does.
    fn of<'a>(input: &DecideInput<'a>, kind: LegacyKind, method: &str) -> Option<Allowances<'a>> {
        let mut allowances = Allowances::default();
        let mut allowed = false;
        for tenant in input.tenants.legacy_allowed(kind, method) {
            allowed = true;
            let Some(list) = tenant.tenant().and_then(|t| allowed_list(t, kind)) else {
                continue;
            };
            if kind != LegacyKind::RuntimeClasses {
                allowances.names.extend(list.allowed.iter().map(String::as_str));
                allowances.names.extend(list.default.as_deref());
                let regex = list.allowed_regex.as_deref().filter(|r| !r.is_empty());
                allowances.regexes.extend(regex.and_then(|r| Regex::new(r).ok()));
            }
            if !list.selector.is_empty() {
                allowances
                    .selectors
                    .extend(Selector::from_label_selector(&list.selector).ok());
            }
        }
        allowed.then_some(allowances)
    }

    fn admits(&self, object: &ClusterObjectRecord) -> bool {
        self.names.contains(object.name.as_str())
            || self.regexes.iter().any(|r| r.is_match(&object.name))
            || any_matches(&self.selectors, &object.labels)
    }
}

/// The tenant's allowed list for `kind`.
fn allowed_list(tenant: &TenantView, kind: LegacyKind) -> Option<&AllowedList> {
    match kind {
        LegacyKind::StorageClasses => tenant.storage_classes(),
        LegacyKind::IngressClasses => tenant.ingress_classes(),
        LegacyKind::PriorityClasses => tenant.priority_classes(),
        LegacyKind::RuntimeClasses => tenant.runtime_classes(),
        LegacyKind::Nodes | LegacyKind::PersistentVolumes => None,
    }
}

/// The classes list: no tenant allows it → 400 `not allowed` (Go). Only selectors, and one selector
/// expresses their OR → that selector (classes labelled later show up in a running watch). Else
/// `kubernetes.io/metadata.name in (visible classes)` (Go's requirement too: the classes must carry that
/// label); none visible → nothing.
pub(super) fn list(input: &DecideInput<'_>, kind: LegacyKind) -> Decision {
    let Some(allowances) = Allowances::of(input, kind, "GET") else {
        return Decision::Respond {
            code: 400,
            message: "not allowed".to_owned(),
        };
    };
    if allowances.names.is_empty()
        && allowances.regexes.is_empty()
        && let Some(union) = Selector::union(&allowances.selectors)
    {
        return Decision::Filter(union);
    }
    let objects = input.snapshot.cluster_objects().of_kind(kind);
    let visible = objects
        .into_iter()
        .flatten()
        .filter(|o| allowances.admits(o))
        .map(|o| o.name.as_str());
    Decision::Filter(in_selector(METADATA_NAME_LABEL, visible))
}

/// Whether the class is visible to the caller's tenants whose operations allow `method`.
pub(super) fn is_visible(
    input: &DecideInput<'_>,
    kind: LegacyKind,
    method: &str,
    object: &ClusterObjectRecord,
) -> bool {
    Allowances::of(input, kind, method).is_some_and(|a| a.admits(object))
}
