//! What the watches and discovery tell the index task, and how each event changes the index.

use capsule_proxy_policy::cluster_objects::{ClusterObjectRecord, ObjectKind};
use capsule_proxy_policy::discovery::ApiResources;
use capsule_proxy_policy::index::Index;
use capsule_proxy_policy::model::{
    CapsuleConfigurationRecord, GlobalProxySettingsRecord, ProxySettingRecord, TenantRecord,
};
use capsule_proxy_policy::role_bindings::RoleBindingRecord;

use tokio::sync::mpsc::UnboundedSender;

use crate::setting_status::StatusReport;
use crate::watches::Change;

/// A change from one of the watches, or a discovery result.
#[derive(Debug)]
pub(crate) enum IndexEvent {
    Objects(ObjectKind, Change<ClusterObjectRecord, String>),
    Tenants(Box<Change<TenantRecord, String>>),
    ProxySettings(Change<(ProxySettingRecord, StatusReport), (String, String)>),
    Globals(Change<(GlobalProxySettingsRecord, StatusReport), String>),
    Configuration(Change<CapsuleConfigurationRecord, String>),
    ApiResources(ApiResources),
    RoleBindings(Change<RoleBindingRecord, (String, String)>),
}

/// What the first snapshot waits for: each watch's first list and the first discovery, by index.
pub(crate) type Gates = [bool; GATES];
pub(crate) const GATES: usize = 7;
pub(crate) const TENANTS: usize = 0;
pub(crate) const PROXY_SETTINGS: usize = 1;
pub(crate) const GLOBALS: usize = 2;
pub(crate) const CONFIGURATION: usize = 3;
pub(crate) const NAMESPACES: usize = 4;
pub(crate) const DISCOVERY: usize = 5;
pub(crate) const ROLE_BINDINGS: usize = 6;

/// Applies one event to the index, marking what the first snapshot waits for as synced.
/// ProxySettings' and GlobalProxySettings' status reports go to `reports` (the status writer).
pub(crate) fn apply(
    index: &mut Index,
    synced: &mut Gates,
    event: IndexEvent,
    configuration_name: &str,
    reports: &UnboundedSender<StatusReport>,
) {
    // The writer only stops with the control thread.
    let report = |report: StatusReport| {
        let _ = reports.send(report);
    };
    match event {
        IndexEvent::Objects(kind, change) => match change {
            Change::Apply(object) => index.apply_object(kind, object),
            Change::Delete(name) => index.delete_object(kind, &name),
            Change::Reset(objects) => {
                index.reset_objects(kind, objects);
                if kind == ObjectKind::Namespaces {
                    synced[NAMESPACES] = true;
                }
            }
        },
        IndexEvent::RoleBindings(change) => match change {
            Change::Apply(record) => index.apply_role_binding(record),
            Change::Delete((namespace, name)) => index.delete_role_binding(&namespace, &name),
            Change::Reset(records) => {
                index.reset_role_bindings(records);
                synced[ROLE_BINDINGS] = true;
            }
        },
        IndexEvent::ApiResources(resources) => {
            index.set_api_resources(resources);
            synced[DISCOVERY] = true;
        }
        IndexEvent::Tenants(change) => match *change {
            Change::Apply(record) => index.apply_tenant(record),
            Change::Delete(name) => index.delete_tenant(&name),
            Change::Reset(records) => {
                index.reset_tenants(records);
                synced[TENANTS] = true;
            }
        },
        IndexEvent::ProxySettings(change) => match change {
            Change::Apply((record, status)) => {
                index.apply_proxy_setting(record);
                report(status);
            }
            Change::Delete((namespace, name)) => index.delete_proxy_setting(&namespace, &name),
            Change::Reset(records) => {
                let (records, statuses): (Vec<_>, Vec<_>) = records.into_iter().unzip();
                index.reset_proxy_settings(records);
                statuses.into_iter().for_each(report);
                synced[PROXY_SETTINGS] = true;
            }
        },
        IndexEvent::Globals(change) => match change {
            Change::Apply((record, status)) => {
                index.apply_global_proxy_settings(record);
                report(status);
            }
            Change::Delete(name) => index.delete_global_proxy_settings(&name),
            Change::Reset(records) => {
                let (records, statuses): (Vec<_>, Vec<_>) = records.into_iter().unzip();
                index.reset_global_proxy_settings(records);
                statuses.into_iter().for_each(report);
                synced[GLOBALS] = true;
            }
        },
        IndexEvent::Configuration(change) => match change {
            Change::Apply(record) => index.set_capsule_configuration(Some(record)),
            Change::Delete(_) => index.set_capsule_configuration(None),
            Change::Reset(mut records) => {
                if records.is_empty() && !synced[CONFIGURATION] {
                    tracing::warn!(
                        name = configuration_name,
                        "CapsuleConfiguration not found: no caller is a Capsule user until it exists"
                    );
                }
                index.set_capsule_configuration(records.pop());
                synced[CONFIGURATION] = true;
            }
        },
    }
}
