//! Server-side printing: `metav1.Table` responses for `kubectl get`, with the columns kube-apiserver prints.
//!
//! kubectl asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;
//! v=v1beta1;g=meta.k8s.io,application/json` and prints whatever columns come back, hiding `priority > 0`
//! columns unless `-o wide`. Like kube-apiserver (which prints with `Wide: true`), rows always carry the wide
//! cells.
//!
//! Where the columns come from:
//! - built-in kinds: kube-apiserver's printers (`pkg/printers/internalversion/printers.go`, v1.33);
//! - Capsule and capsule-proxy CRDs: their `additionalPrinterColumns` (Capsule v0.12+ tenants: State from the
//!   `Cordoned` condition, Ready/Status from the `Ready` condition), evaluated like apiextensions-apiserver's
//!   table convertor (missing value → `null`, maps as compact JSON, `date` as an age);
//! - `metrics.k8s.io`: metrics-server's convertor (usage columns named after the resources, then `Window`);
//! - everything else: the default convertor (`rest/table.go`): `Name` and `Created At` (RFC 3339).
//!
//! kube-sim does no defaulting, but kube-apiserver always sets `status.phase` on create, so a missing phase
//! prints as its create-time value (`Active` namespaces, `Pending` pods and persistent volumes).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::discovery::media_ranges;
use crate::kinds::Kind;

/// `metav1.ObjectMeta` `name` description, as every `Name` column carries it.
const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating \
    resources, although some resources may allow a client to request the generation of an appropriate name \
    automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot \
    be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// `metav1.ObjectMeta` `creationTimestamp` description, as `Age`/`Created At` columns carry it.
const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this \
    object was created. It is not guaranteed to be set in happens-before order across separate operations. \
    Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the \
    system. Read-only. Null for lists. More info: \
    https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// The `meta.k8s.io` version of a Table response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableVersion {
    /// `meta.k8s.io/v1`.
    #[default]
    V1,
    /// `meta.k8s.io/v1beta1`.
    V1beta1,
}

impl TableVersion {
    /// `apiVersion` of the Table (and of `PartialObjectMetadata` rows).
    pub fn api_version(self) -> &'static str {
        match self {
            Self::V1 => "meta.k8s.io/v1",
            Self::V1beta1 => "meta.k8s.io/v1beta1",
        }
    }
}

/// The Table version `accept` asks for, if a `application/json;as=Table;g=meta.k8s.io;v=v1|v1beta1` range
/// comes before any range plain JSON satisfies (ranges kube-sim cannot produce are skipped).
pub fn table_version(accept: &str) -> Option<TableVersion> {
    for range in media_ranges(accept) {
        if range.essence == "application/json"
            && range.param("as") == Some("Table")
            && range.param("g") == Some("meta.k8s.io")
        {
            match range.param("v") {
                Some("v1") => return Some(TableVersion::V1),
                Some("v1beta1") => return Some(TableVersion::V1beta1),
                _ => continue,
            }
        }
        if range.matches_json() && range.is_plain() {
            return None;
        }
    }
    None
}

/// Whether `accept` asks for a Table; [`table_version`] says which version.
pub fn wants_table(accept: &str) -> bool {
    table_version(accept).is_some()
}

/// What each row's `object` holds: the `includeObject` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// `None`: `object` is `null`.
    None,
    /// `Metadata` (the default): a `PartialObjectMetadata`.
    #[default]
    Metadata,
    /// `Object`: the full object.
    Object,
}

impl IncludeObject {
    /// Parses the `includeObject` value (`""` means the default); `None` for an invalid value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "None" => Some(Self::None),
            "" | "Metadata" => Some(Self::Metadata),
            "Object" => Some(Self::Object),
            _ => None,
        }
    }
}

/// A `meta.k8s.io/v1` Table of `objects` of `kind`; see [`to_table_as`].
pub fn to_table(
    kind: &Kind,
    objects: &[&Value],
    with_columns: bool,
    include_object: IncludeObject,
    now: SystemTime,
) -> Value {
    to_table_as(TableVersion::V1, kind, objects, with_columns, include_object, now)
}

/// A Table of `objects` of `kind` in `version`: `columnDefinitions` (omitted unless `with_columns`), one row
/// per object with its cells and `object`, ages computed against `now`. `metadata` is left empty for the
/// caller to fill (`resourceVersion`, `continue`).
pub fn to_table_as(
    version: TableVersion,
    kind: &Kind,
    objects: &[&Value],
    with_columns: bool,
    include_object: IncludeObject,
    now: SystemTime,
) -> Value {
    let printer = printer(kind);
    let now = unix_nanos(now);
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let (cells, conditions) = printer.cells(obj, now);
            let mut row = Map::new();
            row.insert("cells".into(), Value::Array(cells));
            if let Some(conditions) = conditions {
                row.insert("conditions".into(), conditions);
            }
            row.insert("object".into(), row_object(obj, include_object, version));
            Value::Object(row)
        })
        .collect();
    let mut table = Map::new();
    table.insert("kind".into(), "Table".into());
    table.insert("apiVersion".into(), version.api_version().into());
    table.insert("metadata".into(), json!({}));
    if with_columns {
        let columns: Vec<Value> = printer.columns(objects).iter().map(Column::to_json).collect();
        table.insert("columnDefinitions".into(), Value::Array(columns));
    }
    table.insert("rows".into(), Value::Array(rows));
    Value::Object(table)
}

/// The `object` of a row.
fn row_object(obj: &Value, include: IncludeObject, version: TableVersion) -> Value {
    match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Object => obj.clone(),
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": version.api_version(),
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    }
}

/// One column definition.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    ty: &'static str,
    format: &'static str,
    priority: u32,
    description: &'static str,
}

impl Column {
    fn new(name: &str, ty: &'static str, description: &'static str) -> Self {
        Self {
            name: name.to_string(),
            ty,
            format: "",
            priority: 0,
            description,
        }
    }

    /// The `Name` column.
    fn name() -> Self {
        Self {
            format: "name",
            ..Self::new("Name", "string", NAME_DESCRIPTION)
        }
    }

    /// An `Age` column.
    fn age() -> Self {
        Self::new("Age", "string", AGE_DESCRIPTION)
    }

    /// Marks the column wide-only.
    fn wide(self) -> Self {
        Self { priority: 1, ..self }
    }

    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.ty,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// One step of a printer column's JSONPath: a field, or the first array element whose `key` equals `value`.
#[derive(Debug, Clone, Copy)]
enum Step {
    Field(&'static str),
    Where(&'static str, &'static str),
}

/// A CRD `additionalPrinterColumns` entry.
#[derive(Debug, Clone, Copy)]
struct CrdColumn {
    name: &'static str,
    ty: &'static str,
    description: &'static str,
    path: &'static [Step],
}

/// `.metadata.creationTimestamp`.
const CREATED: &[Step] = &[Step::Field("metadata"), Step::Field("creationTimestamp")];
/// `.status.conditions[?(@.type=="Ready")].status`.
const READY_STATUS: &[Step] = &[
    Step::Field("status"),
    Step::Field("conditions"),
    Step::Where("type", "Ready"),
    Step::Field("status"),
];
/// `.status.conditions[?(@.type=="Ready")].message`.
const READY_MESSAGE: &[Step] = &[
    Step::Field("status"),
    Step::Field("conditions"),
    Step::Where("type", "Ready"),
    Step::Field("message"),
];

/// Capsule `Tenant` (v1beta2) printer columns.
const TENANT_COLUMNS: &[CrdColumn] = &[
    CrdColumn {
        name: "State",
        ty: "string",
        description: "The actual state of the Tenant",
        path: &[
            Step::Field("status"),
            Step::Field("conditions"),
            Step::Where("type", "Cordoned"),
            Step::Field("reason"),
        ],
    },
    CrdColumn {
        name: "Namespace quota",
        ty: "integer",
        description: "The max amount of Namespaces can be created",
        path: &[
            Step::Field("spec"),
            Step::Field("namespaceOptions"),
            Step::Field("quota"),
        ],
    },
    CrdColumn {
        name: "Namespace count",
        ty: "integer",
        description: "The total amount of Namespaces in use",
        path: &[Step::Field("status"), Step::Field("size")],
    },
    CrdColumn {
        name: "Node selector",
        ty: "string",
        description: "Node Selector applied to Pods",
        path: &[Step::Field("spec"), Step::Field("nodeSelector")],
    },
    CrdColumn {
        name: "Ready",
        ty: "string",
        description: "Reconcile Status for the tenant",
        path: READY_STATUS,
    },
    CrdColumn {
        name: "Status",
        ty: "string",
        description: "Reconcile Message for the tenant",
        path: READY_MESSAGE,
    },
    CrdColumn {
        name: "Age",
        ty: "date",
        description: "Age",
        path: CREATED,
    },
];

/// Capsule `CapsuleConfiguration` printer columns.
const CAPSULE_CONFIGURATION_COLUMNS: &[CrdColumn] = &[
    CrdColumn {
        name: "Ready",
        ty: "string",
        description: "Reconcile status",
        path: READY_STATUS,
    },
    CrdColumn {
        name: "Status",
        ty: "string",
        description: "Reconcile Message",
        path: READY_MESSAGE,
    },
    CrdColumn {
        name: "Age",
        ty: "date",
        description: "",
        path: CREATED,
    },
];

/// capsule-proxy `ProxySetting` printer columns.
const PROXY_SETTING_COLUMNS: &[CrdColumn] = &[
    CrdColumn {
        name: "Ready",
        ty: "string",
        description: "Reconcile status of this ProxySetting",
        path: READY_STATUS,
    },
    CrdColumn {
        name: "Age",
        ty: "date",
        description: "Age",
        path: CREATED,
    },
];

/// capsule-proxy `GlobalProxySettings` printer columns.
const GLOBAL_PROXY_SETTINGS_COLUMNS: &[CrdColumn] = &[
    CrdColumn {
        name: "Ready",
        ty: "string",
        description: "Reconcile status of this GlobalProxySettings",
        path: READY_STATUS,
    },
    CrdColumn {
        name: "Age",
        ty: "date",
        description: "Age",
        path: CREATED,
    },
];

/// The columns apiextensions-apiserver serves for a CRD without printer columns.
const CRD_DEFAULT_COLUMNS: &[CrdColumn] = &[CrdColumn {
    name: "Age",
    ty: "date",
    description: AGE_DESCRIPTION,
    path: CREATED,
}];

/// How one kind is printed.
#[derive(Debug, Clone, Copy)]
enum Printer {
    Namespace,
    Node,
    Pod,
    PersistentVolume,
    ConfigMap,
    ServiceAccount,
    RoleBinding,
    StorageClass,
    IngressClass,
    PriorityClass,
    RuntimeClass,
    NodeMetrics,
    PodMetrics,
    Crd(&'static [CrdColumn]),
    Default,
}

/// Whether `group` is served by kube-apiserver itself (or an aggregated `*.k8s.io` API) rather than a CRD.
fn is_builtin_group(group: &str) -> bool {
    group.is_empty() || group.ends_with(".k8s.io") || !group.contains('.')
}

/// The printer of `kind`.
fn printer(kind: &Kind) -> Printer {
    match (kind.group, kind.resource) {
        ("", "namespaces") => Printer::Namespace,
        ("", "nodes") => Printer::Node,
        ("", "pods") => Printer::Pod,
        ("", "persistentvolumes") => Printer::PersistentVolume,
        ("", "configmaps") => Printer::ConfigMap,
        ("", "serviceaccounts") => Printer::ServiceAccount,
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => Printer::RoleBinding,
        ("storage.k8s.io", "storageclasses") => Printer::StorageClass,
        ("networking.k8s.io", "ingressclasses") => Printer::IngressClass,
        ("scheduling.k8s.io", "priorityclasses") => Printer::PriorityClass,
        ("node.k8s.io", "runtimeclasses") => Printer::RuntimeClass,
        ("metrics.k8s.io", "nodes") => Printer::NodeMetrics,
        ("metrics.k8s.io", "pods") => Printer::PodMetrics,
        ("capsule.clastix.io", "tenants") => Printer::Crd(TENANT_COLUMNS),
        ("capsule.clastix.io", "capsuleconfigurations") => Printer::Crd(CAPSULE_CONFIGURATION_COLUMNS),
        ("capsule.clastix.io", "proxysettings") => Printer::Crd(PROXY_SETTING_COLUMNS),
        ("capsule.clastix.io", "globalproxysettings") => Printer::Crd(GLOBAL_PROXY_SETTINGS_COLUMNS),
        (group, _) if is_builtin_group(group) => Printer::Default,
        _ => Printer::Crd(CRD_DEFAULT_COLUMNS),
    }
}

impl Printer {
    fn columns(self, objects: &[&Value]) -> Vec<Column> {
        let c = Column::new;
        let mut cols = vec![Column::name()];
        match self {
            Self::Namespace => cols.extend([
                c("Status", "string", "The status of the namespace"),
                Column::age(),
            ]),
            Self::Node => cols.extend([
                c("Status", "string", "The status of the node"),
                c("Roles", "string", "The roles of the node"),
                Column::age(),
                c("Version", "string", "Kubelet Version reported by the node."),
                c(
                    "Internal-IP",
                    "string",
                    "List of addresses reachable to the node.",
                )
                .wide(),
                c(
                    "External-IP",
                    "string",
                    "List of addresses reachable to the node.",
                )
                .wide(),
                c("OS-Image", "string", "OS Image reported by the node.").wide(),
                c("Kernel-Version", "string", "Kernel Version reported by the node.").wide(),
                c(
                    "Container-Runtime",
                    "string",
                    "ContainerRuntime Version reported by the node.",
                )
                .wide(),
            ]),
            Self::Pod => cols.extend([
                c(
                    "Ready",
                    "string",
                    "The aggregate readiness state of this pod for accepting traffic.",
                ),
                c(
                    "Status",
                    "string",
                    "The aggregate status of the containers in this pod.",
                ),
                c(
                    "Restarts",
                    "string",
                    "The number of times the containers in this pod have been restarted and when the last \
                     container in this pod has restarted.",
                ),
                Column::age(),
                c("IP", "string", "podIP address allocated to the pod.").wide(),
                c(
                    "Node",
                    "string",
                    "NodeName indicates in which node this pod is scheduled.",
                )
                .wide(),
                c(
                    "Nominated Node",
                    "string",
                    "nominatedNodeName is set when this pod preempts other pods.",
                )
                .wide(),
                c(
                    "Readiness Gates",
                    "string",
                    "If specified, all readiness gates will be evaluated.",
                )
                .wide(),
            ]),
            Self::PersistentVolume => cols.extend([
                c(
                    "Capacity",
                    "string",
                    "capacity is the description of the persistent volume's resources.",
                ),
                c(
                    "Access Modes",
                    "string",
                    "accessModes contains all ways the volume can be mounted.",
                ),
                c(
                    "Reclaim Policy",
                    "string",
                    "persistentVolumeReclaimPolicy defines what happens on release.",
                ),
                c(
                    "Status",
                    "string",
                    "phase indicates if a volume is available, bound to a claim, or released.",
                ),
                c(
                    "Claim",
                    "string",
                    "claimRef is part of a bi-directional binding with a claim.",
                ),
                c("StorageClass", "string", "StorageClass of the pv"),
                c(
                    "VolumeAttributesClass",
                    "string",
                    "VolumeAttributesClass of the pv",
                ),
                c(
                    "Reason",
                    "string",
                    "reason is a brief CamelCase string that describes any failure.",
                ),
                Column::age(),
                c(
                    "VolumeMode",
                    "string",
                    "volumeMode defines if a volume is formatted or a raw block device.",
                )
                .wide(),
            ]),
            Self::ConfigMap => cols.extend([
                c("Data", "string", "Data contains the configuration data."),
                Column::age(),
            ]),
            Self::ServiceAccount => cols.extend([
                c(
                    "Secrets",
                    "string",
                    "Secrets is a list of the secrets in the same namespace.",
                ),
                Column::age(),
            ]),
            Self::RoleBinding => cols.extend([
                c(
                    "Role",
                    "string",
                    "RoleRef can only reference the current namespace or a ClusterRole.",
                ),
                Column::age(),
                c("Users", "string", "Users in the roleBinding").wide(),
                c("Groups", "string", "Groups in the roleBinding").wide(),
                c("ServiceAccounts", "string", "ServiceAccounts in the roleBinding").wide(),
            ]),
            Self::StorageClass => cols.extend([
                c(
                    "Provisioner",
                    "string",
                    "provisioner indicates the type of the provisioner.",
                ),
                c(
                    "ReclaimPolicy",
                    "string",
                    "reclaimPolicy controls the reclaimPolicy for provisioned volumes.",
                ),
                c(
                    "VolumeBindingMode",
                    "string",
                    "volumeBindingMode indicates how PersistentVolumeClaims are bound.",
                ),
                c(
                    "AllowVolumeExpansion",
                    "string",
                    "allowVolumeExpansion shows whether the class allows expansion.",
                ),
                Column::age(),
            ]),
            Self::IngressClass => cols.extend([
                c(
                    "Controller",
                    "string",
                    "Controller that is responsible for handling this class",
                ),
                c(
                    "Parameters",
                    "string",
                    "A reference to a resource with additional parameters",
                ),
                Column::age(),
            ]),
            Self::PriorityClass => cols.extend([
                c(
                    "Value",
                    "integer",
                    "value represents the integer value of this priority class.",
                ),
                c(
                    "Global-Default",
                    "boolean",
                    "globalDefault specifies whether this PriorityClass is the default.",
                ),
                Column::age(),
                c(
                    "PreemptionPolicy",
                    "string",
                    "preemptionPolicy is the Policy for preempting pods.",
                )
                .wide(),
            ]),
            Self::RuntimeClass => cols.extend([
                c("Handler", "string", "handler specifies the underlying runtime."),
                Column::age(),
            ]),
            Self::NodeMetrics | Self::PodMetrics => {
                cols[0].description = "Name of the resource";
                let first = objects.first().map(|o| self.usage(o)).unwrap_or_default();
                for (name, _) in first {
                    cols.push(Column {
                        format: "quantity",
                        ..c(&name, "string", "")
                    });
                }
                cols.push(Column {
                    format: "duration",
                    ..c("Window", "string", "")
                });
            }
            Self::Crd(crd) => cols.extend(
                crd.iter()
                    .map(|col| Column::new(col.name, col.ty, col.description)),
            ),
            Self::Default => cols.push(Column::new("Created At", "date", AGE_DESCRIPTION)),
        }
        cols
    }

    /// Cells and row conditions of one object.
    fn cells(self, obj: &Value, now: i128) -> (Vec<Value>, Option<Value>) {
        let name = Value::from(text(obj, "/metadata/name"));
        let age = Value::from(age(obj.pointer("/metadata/creationTimestamp"), now));
        let cells = match self {
            Self::Namespace => vec![name, text_or(obj, "/status/phase", "Active").into(), age],
            Self::Node => node_cells(obj, name, age),
            Self::Pod => return pod_cells(obj, name, age, now),
            Self::PersistentVolume => pv_cells(obj, name, age),
            Self::ConfigMap => vec![name, (len(obj, "/data") + len(obj, "/binaryData")).into(), age],
            Self::ServiceAccount => vec![name, len(obj, "/secrets").into(), age],
            Self::RoleBinding => role_binding_cells(obj, name, age),
            Self::StorageClass => storage_class_cells(obj, age),
            Self::IngressClass => {
                let parameters = match obj.pointer("/spec/parameters") {
                    Some(p) if p.is_object() => {
                        let mut s = text(p, "/kind").to_string();
                        if let Some(group) = p.get("apiGroup").and_then(Value::as_str) {
                            s = format!("{s}.{group}");
                        }
                        format!("{s}/{}", text(p, "/name"))
                    }
                    _ => "<none>".to_string(),
                };
                vec![name, text(obj, "/spec/controller").into(), parameters.into(), age]
            }
            Self::PriorityClass => vec![
                name,
                obj.get("value").and_then(Value::as_i64).unwrap_or(0).into(),
                obj.get("globalDefault")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                    .into(),
                age,
                text(obj, "/preemptionPolicy").into(),
            ],
            Self::RuntimeClass => vec![name, text(obj, "/handler").into(), age],
            Self::NodeMetrics | Self::PodMetrics => {
                let mut cells = vec![name];
                cells.extend(self.usage(obj).into_iter().map(|(_, q)| Value::from(q)));
                cells.push(text_or(obj, "/window", "0s").into());
                cells
            }
            Self::Crd(crd) => {
                let mut cells = vec![name];
                cells.extend(crd.iter().map(|col| crd_cell(col, obj, now)));
                cells
            }
            Self::Default => vec![
                name,
                created_at(obj.pointer("/metadata/creationTimestamp")).into(),
            ],
        };
        (cells, None)
    }

    /// Resource usage of a metrics object, by resource name in order, as canonical quantities.
    fn usage(self, obj: &Value) -> Vec<(String, String)> {
        let mut sums: Vec<(String, Option<Quantity>, String)> = Vec::new();
        let mut add = |usage: &Value| {
            for (resource, value) in usage.as_object().into_iter().flatten() {
                let raw = value.as_str().unwrap_or("").to_string();
                let parsed = parse_quantity(&raw);
                match sums.iter_mut().find(|(r, _, _)| r == resource) {
                    Some((_, sum, _)) => *sum = sum.zip(parsed).map(|(a, b)| a.add(b)),
                    None => sums.push((resource.clone(), parsed, raw)),
                }
            }
        };
        match self {
            Self::PodMetrics => {
                for container in obj
                    .get("containers")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    add(container.get("usage").unwrap_or(&Value::Null));
                }
            }
            _ => add(obj.get("usage").unwrap_or(&Value::Null)),
        }
        sums.sort_by(|a, b| a.0.cmp(&b.0));
        sums.into_iter()
            .map(|(r, q, raw)| (r, q.map_or(raw, Quantity::canonical)))
            .collect()
    }
}

/// The string at `pointer`, or `""`.
fn text<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    text_or(obj, pointer, "")
}

/// The non-empty string at `pointer`, or `default`.
fn text_or<'a>(obj: &'a Value, pointer: &str, default: &'a str) -> &'a str {
    match obj.pointer(pointer).and_then(Value::as_str) {
        Some(s) if !s.is_empty() => s,
        _ => default,
    }
}

/// The array at `pointer` (empty if absent).
fn array<'a>(obj: &'a Value, pointer: &str) -> &'a [Value] {
    obj.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Number of entries of the map or array at `pointer`.
fn len(obj: &Value, pointer: &str) -> i64 {
    let n = match obj.pointer(pointer) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn node_cells(obj: &Value, name: Value, age: Value) -> Vec<Value> {
    let mut status: Vec<&str> = Vec::new();
    if let Some(ready) = array(obj, "/status/conditions")
        .iter()
        .find(|c| c["type"] == "Ready")
    {
        status.push(if ready["status"] == "True" {
            "Ready"
        } else {
            "NotReady"
        });
    }
    if status.is_empty() {
        status.push("Unknown");
    }
    if obj
        .pointer("/spec/unschedulable")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        status.push("SchedulingDisabled");
    }
    let mut roles: Vec<&str> = Vec::new();
    for (key, value) in obj
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let role = match key.strip_prefix("node-role.kubernetes.io/") {
            Some(role) => role,
            None if key == "kubernetes.io/role" => value.as_str().unwrap_or(""),
            None => "",
        };
        if !role.is_empty() && !roles.contains(&role) {
            roles.push(role);
        }
    }
    roles.sort_unstable();
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.join(",")
    };
    let address = |ty: &str| {
        array(obj, "/status/addresses")
            .iter()
            .find(|a| a["type"] == ty)
            .and_then(|a| a["address"].as_str())
            .unwrap_or("<none>")
            .to_string()
    };
    vec![
        name,
        status.join(",").into(),
        roles.into(),
        age,
        text(obj, "/status/nodeInfo/kubeletVersion").into(),
        address("InternalIP").into(),
        address("ExternalIP").into(),
        text_or(obj, "/status/nodeInfo/osImage", "<unknown>").into(),
        text_or(obj, "/status/nodeInfo/kernelVersion", "<unknown>").into(),
        text_or(obj, "/status/nodeInfo/containerRuntimeVersion", "<unknown>").into(),
    ]
}

/// kube-apiserver's `printPod`: readiness, the aggregate status reason, restarts and the wide columns.
fn pod_cells(pod: &Value, name: Value, age: Value, now: i128) -> (Vec<Value>, Option<Value>) {
    let init_specs = array(pod, "/spec/initContainers");
    let restartable = |name: &Value| {
        init_specs
            .iter()
            .any(|c| &c["name"] == name && c["restartPolicy"] == "Always")
    };
    let mut total = array(pod, "/spec/containers").len();
    total += init_specs
        .iter()
        .filter(|c| c["restartPolicy"] == "Always")
        .count();
    let mut ready = 0usize;
    let phase = text_or(pod, "/status/phase", "Pending");
    let mut reason = text_or(pod, "/status/reason", phase).to_string();
    let conditions = array(pod, "/status/conditions");
    if conditions
        .iter()
        .any(|c| c["type"] == "PodScheduled" && c["reason"] == "SchedulingGated")
    {
        reason = "SchedulingGated".into();
    }
    let row_conditions = match phase {
        "Succeeded" => Some(("Succeeded", "The pod has completed successfully.")),
        "Failed" => Some(("Failed", "The pod failed.")),
        _ => None,
    }
    .map(|(r, m)| json!([{"type": "Completed", "status": "True", "reason": r, "message": m}]));

    let finished = |c: &Value| {
        c.pointer("/lastState/terminated/finishedAt")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339)
    };
    let count = |c: &Value| c.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
    let (mut restarts, mut restartable_restarts) = (0i64, 0i64);
    let (mut last_restart, mut last_restartable_restart): (Option<i128>, Option<i128>) = (None, None);
    let mut initializing = false;
    for (i, c) in array(pod, "/status/initContainerStatuses").iter().enumerate() {
        restarts += count(c);
        last_restart = last_restart.max(finished(c));
        let is_restartable = restartable(&c["name"]);
        if is_restartable {
            restartable_restarts += count(c);
            last_restartable_restart = last_restartable_restart.max(finished(c));
        }
        let terminated = c.pointer("/state/terminated");
        let waiting_reason = text(c, "/state/waiting/reason");
        if terminated.is_some_and(|t| t.get("exitCode").and_then(Value::as_i64).unwrap_or(0) == 0) {
            continue;
        }
        if is_restartable && c.get("started").and_then(Value::as_bool).unwrap_or(false) {
            if c.get("ready").and_then(Value::as_bool).unwrap_or(false) {
                ready += 1;
            }
            continue;
        }
        reason = if let Some(t) = terminated {
            termination_reason(t, "Init:")
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{}", init_specs.len())
        };
        initializing = true;
        break;
    }
    let initialized = conditions
        .iter()
        .any(|c| c["type"] == "Initialized" && c["status"] == "True");
    if !initializing || initialized {
        restarts = restartable_restarts;
        last_restart = last_restartable_restart;
        let mut has_running = false;
        for c in array(pod, "/status/containerStatuses").iter().rev() {
            restarts += count(c);
            last_restart = last_restart.max(finished(c));
            let waiting_reason = text(c, "/state/waiting/reason");
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = c.pointer("/state/terminated") {
                reason = termination_reason(t, "");
            } else if c.get("ready").and_then(Value::as_bool).unwrap_or(false)
                && c.pointer("/state/running").is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = conditions
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.to_string();
        }
    }
    if pod
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|d| !d.is_null())
    {
        if text(pod, "/status/reason") == "NodeLost" {
            reason = "Unknown".into();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".into();
        }
    }
    let restarts = match last_restart {
        Some(at) if restarts != 0 => format!("{restarts} ({} ago)", age_since(at, now)),
        _ => restarts.to_string(),
    };
    let ip = array(pod, "/status/podIPs")
        .first()
        .and_then(|ip| ip.get("ip"))
        .and_then(Value::as_str)
        .filter(|ip| !ip.is_empty())
        .unwrap_or_else(|| text_or(pod, "/status/podIP", "<none>"));
    let gates = array(pod, "/spec/readinessGates");
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let passed = gates
            .iter()
            .filter(|g| {
                conditions
                    .iter()
                    .find(|c| c["type"] == g["conditionType"])
                    .is_some_and(|c| c["status"] == "True")
            })
            .count();
        format!("{passed}/{}", gates.len())
    };
    let cells = vec![
        name,
        format!("{ready}/{total}").into(),
        reason.into(),
        restarts.into(),
        age,
        ip.into(),
        text_or(pod, "/spec/nodeName", "<none>").into(),
        text_or(pod, "/status/nominatedNodeName", "<none>").into(),
        readiness_gates.into(),
    ];
    (cells, row_conditions)
}

/// The reason a terminated container reports: its `reason`, else `Signal:<n>` or `ExitCode:<n>`.
fn termination_reason(terminated: &Value, prefix: &str) -> String {
    let reason = text(terminated, "/reason");
    if !reason.is_empty() {
        return format!("{prefix}{reason}");
    }
    let field = |k: &str| terminated.get(k).and_then(Value::as_i64).unwrap_or(0);
    match field("signal") {
        0 => format!("{prefix}ExitCode:{}", field("exitCode")),
        signal => format!("{prefix}Signal:{signal}"),
    }
}

fn pv_cells(pv: &Value, name: Value, age: Value) -> Vec<Value> {
    let claim = match pv.pointer("/spec/claimRef") {
        Some(c) if c.is_object() => format!("{}/{}", text(c, "/namespace"), text(c, "/name")),
        _ => String::new(),
    };
    let modes = array(pv, "/spec/accessModes");
    let has = |m: &str| modes.iter().any(|v| v == m);
    let access: Vec<&str> = [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(m, _)| has(m))
    .map(|(_, short)| *short)
    .collect();
    let capacity = match pv.pointer("/spec/capacity/storage").and_then(Value::as_str) {
        Some(raw) => parse_quantity(raw).map_or_else(|| raw.to_string(), Quantity::canonical),
        None => "0".to_string(),
    };
    let phase = if pv
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|d| !d.is_null())
    {
        "Terminating"
    } else {
        text_or(pv, "/status/phase", "Pending")
    };
    let class = match text(pv, "/spec/storageClassName") {
        "" => text(
            pv,
            "/metadata/annotations/volume.beta.kubernetes.io~1storage-class",
        ),
        class => class,
    };
    vec![
        name,
        capacity.into(),
        access.join(",").into(),
        text(pv, "/spec/persistentVolumeReclaimPolicy").into(),
        phase.into(),
        claim.into(),
        class.into(),
        text_or(pv, "/spec/volumeAttributesClassName", "<unset>").into(),
        text(pv, "/status/reason").into(),
        age,
        text_or(pv, "/spec/volumeMode", "<unset>").into(),
    ]
}

fn role_binding_cells(obj: &Value, name: Value, age: Value) -> Vec<Value> {
    let role = format!("{}/{}", text(obj, "/roleRef/kind"), text(obj, "/roleRef/name"));
    let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
    for s in array(obj, "/subjects") {
        match text(s, "/kind") {
            "User" => users.push(text(s, "/name").to_string()),
            "Group" => groups.push(text(s, "/name").to_string()),
            "ServiceAccount" => sas.push(format!("{}/{}", text(s, "/namespace"), text(s, "/name"))),
            _ => {}
        }
    }
    vec![
        name,
        role.into(),
        age,
        users.join(", ").into(),
        groups.join(", ").into(),
        sas.join(", ").into(),
    ]
}

fn storage_class_cells(obj: &Value, age: Value) -> Vec<Value> {
    let is_default = [
        "storageclass.kubernetes.io~1is-default-class",
        "storageclass.beta.kubernetes.io~1is-default-class",
    ]
    .iter()
    .any(|key| text(obj, &format!("/metadata/annotations/{key}")) == "true");
    let mut name = text(obj, "/metadata/name").to_string();
    if is_default {
        name.push_str(" (default)");
    }
    vec![
        name.into(),
        text(obj, "/provisioner").into(),
        text_or(obj, "/reclaimPolicy", "Delete").into(),
        text_or(obj, "/volumeBindingMode", "Immediate").into(),
        obj.get("allowVolumeExpansion")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .into(),
        age,
    ]
}

/// One CRD printer-column cell, as apiextensions-apiserver's `cellForJSONValue` computes it.
fn crd_cell(col: &CrdColumn, obj: &Value, now: i128) -> Value {
    let mut cur = obj;
    for step in col.path {
        let next = match step {
            Step::Field(f) => cur.get(*f),
            Step::Where(key, value) => cur.as_array().and_then(|a| a.iter().find(|e| e[*key] == *value)),
        };
        match next {
            Some(v) => cur = v,
            None => return Value::Null,
        }
    }
    match (col.ty, cur) {
        (_, Value::Null) => Value::Null,
        ("string", Value::String(s)) => s.as_str().into(),
        ("string", v @ (Value::Number(_) | Value::Bool(_))) => v.to_string().into(),
        ("string", v) => go_json(v).into(),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, Value::from),
        ("number", Value::Number(n)) => n.as_f64().map_or(Value::Null, Value::from),
        ("boolean", Value::Bool(b)) => (*b).into(),
        ("date", Value::String(s)) => match parse_rfc3339(s) {
            _ if s.is_empty() => "<unknown>".into(),
            Some(t) => age_since(t, now).into(),
            None => "<invalid>".into(),
        },
        _ => Value::Null,
    }
}

/// `v` as Go's `json.Marshal` writes it: compact, object keys sorted, `<`, `>`, `&` escaped.
fn go_json(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", go_string(k), go_json(&map[*k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(go_json).collect::<Vec<_>>().join(",")),
        Value::String(s) => go_string(s),
        other => other.to_string(),
    }
}

/// A JSON string literal with Go's HTML-safe escaping.
fn go_string(s: &str) -> String {
    Value::from(s)
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The `Age` cell: `<unknown>` without a creation timestamp.
fn age(timestamp: Option<&Value>, now: i128) -> String {
    match timestamp.and_then(Value::as_str).and_then(parse_rfc3339) {
        Some(t) => age_since(t, now),
        None => "<unknown>".to_string(),
    }
}

/// The default convertor's `Created At` cell: the creation time in UTC, RFC 3339.
fn created_at(timestamp: Option<&Value>) -> String {
    match timestamp.and_then(Value::as_str).and_then(parse_rfc3339) {
        Some(t) if t >= 0 => {
            let t = u64::try_from(t).unwrap_or(0);
            crate::clock::rfc3339(UNIX_EPOCH + Duration::from_nanos(t))
        }
        _ => "0001-01-01T00:00:00Z".to_string(),
    }
}

/// `now - then` as `duration.HumanDuration`, both in nanoseconds since the epoch.
fn age_since(then: i128, now: i128) -> String {
    let d = now - then;
    if d < 0 {
        // Go truncates toward zero: up to 1.999s in the future is "0s", more is invalid.
        return if d / 1_000_000_000 < -1 {
            "<invalid>".to_string()
        } else {
            "0s".to_string()
        };
    }
    human_duration(Duration::from_nanos(u64::try_from(d).unwrap_or(u64::MAX)))
}

/// `d` the way Kubernetes' `duration.HumanDuration` prints it: `5s`, `3m20s`, `5h`, `2d4h`, `3y12d`.
pub fn human_duration(d: Duration) -> String {
    let seconds = d.as_secs();
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// `t` in nanoseconds since the epoch (negative before it).
fn unix_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
        Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX),
    }
}

/// Parses an RFC 3339 timestamp (`2026-11-24T10:00:00Z`, optional fraction, `Z` or `±hh:mm`) into
/// nanoseconds since the epoch.
fn parse_rfc3339(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        digits.iter().try_fold(0i64, |acc, d| {
            acc.checked_mul(10)?.checked_add(i64::from(d - b'0'))
        })
    };
    let sep = |i: usize, chars: &[u8]| b.get(i).is_some_and(|c| chars.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: i128 = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return None;
        }
        for (n, d) in b[start..end].iter().take(9).enumerate() {
            nanos += i128::from(d - b'0') * 10i128.pow(8 - n as u32);
        }
        i = end;
    }
    let offset = match b.get(i..)? {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), ..] if b.len() == i + 6 && b[i + 3] == b':' => {
            let minutes = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if *sign == b'+' {
                minutes * 60
            } else {
                -minutes * 60
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A resource quantity: its value in nano-units and the format its canonical form uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quantity {
    nanos: i128,
    binary: bool,
}

/// Decimal SI suffixes and their exponents of ten.
const DECIMAL_SUFFIXES: &[(&str, u32)] = &[
    ("n", 0),
    ("u", 3),
    ("m", 6),
    ("", 9),
    ("k", 12),
    ("M", 15),
    ("G", 18),
    ("T", 21),
    ("P", 24),
    ("E", 27),
];
/// Binary SI suffixes.
const BINARY_SUFFIXES: &[&str] = &["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// Parses `123`, `1.5`, `250m`, `12345n`, `64Mi`; `None` for exponent notation or garbage.
fn parse_quantity(s: &str) -> Option<Quantity> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let split = rest
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(split);
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let digits = format!("{int_part}{frac_part}");
    let mantissa: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let scale = 10i128.checked_pow(u32::try_from(frac_part.len()).ok()?)?;
    let (multiplier, binary) =
        if let Some(&(_, exp)) = DECIMAL_SUFFIXES.iter().find(|(suf, _)| *suf == suffix) {
            (10i128.checked_pow(exp)?, false)
        } else {
            let power = BINARY_SUFFIXES
                .iter()
                .position(|suf| !suf.is_empty() && *suf == suffix)?;
            (
                1024i128
                    .checked_pow(u32::try_from(power).ok()?)?
                    .checked_mul(1_000_000_000)?,
                true,
            )
        };
    let product = mantissa.checked_mul(multiplier)?;
    // Kubernetes rounds sub-nano precision up.
    let nanos = product / scale + i128::from(product % scale != 0);
    Some(Quantity {
        nanos: if negative { -nanos } else { nanos },
        binary,
    })
}

impl Quantity {
    /// The sum, in the format of the first non-zero operand.
    fn add(self, other: Self) -> Self {
        let binary = if self.nanos == 0 {
            other.binary
        } else {
            self.binary
        };
        Self {
            nanos: self.nanos.saturating_add(other.nanos),
            binary,
        }
    }

    /// The canonical string `resource.Quantity.String()` gives.
    fn canonical(self) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        const UNIT: i128 = 1_000_000_000;
        if self.binary && self.nanos % UNIT == 0 && (self.nanos / UNIT).abs() >= 1024 {
            let (mut value, mut power) = (self.nanos / UNIT, 0);
            while value % 1024 == 0 && power < BINARY_SUFFIXES.len() - 1 {
                value /= 1024;
                power += 1;
            }
            return format!("{value}{}", BINARY_SUFFIXES[power]);
        }
        let (mut value, mut index) = (self.nanos, 0);
        while value % 1000 == 0 && index < DECIMAL_SUFFIXES.len() - 1 {
            value /= 1000;
            index += 1;
        }
        format!("{value}{}", DECIMAL_SUFFIXES[index].0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::lookup;

    /// The `Accept` header `kubectl get` sends.
    const KUBECTL_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,\
        application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    fn now() -> SystemTime {
        UNIX_EPOCH
            + Duration::from_nanos(u64::try_from(parse_rfc3339("2026-11-24T12:00:00Z").unwrap()).unwrap())
    }

    fn column_names(table: &Value) -> Vec<&str> {
        table["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn negotiates_table_versions() {
        assert_eq!(table_version(KUBECTL_ACCEPT), Some(TableVersion::V1));
        assert!(wants_table(KUBECTL_ACCEPT));
        assert_eq!(
            table_version("application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"),
            Some(TableVersion::V1beta1)
        );
        assert_eq!(TableVersion::V1beta1.api_version(), "meta.k8s.io/v1beta1");
        assert!(!wants_table("application/json"));
        assert!(!wants_table(
            "application/json, application/json;as=Table;v=v1;g=meta.k8s.io"
        ));
        assert!(!wants_table(
            "application/json;as=Table;v=v2;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table(
            "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"
        ));
        assert!(wants_table(
            "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,\
             application/json;as=Table;v=v1;g=meta.k8s.io"
        ));
        assert_eq!(IncludeObject::parse(""), Some(IncludeObject::Metadata));
        assert_eq!(IncludeObject::parse("Object"), Some(IncludeObject::Object));
        assert_eq!(IncludeObject::parse("None"), Some(IncludeObject::None));
        assert_eq!(IncludeObject::parse("all"), None);
    }

    #[test]
    fn human_durations_match_kubernetes() {
        let cases = [
            (0, "0s"),
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (200, "3m20s"),
            (600, "10m"),
            (3 * 3600 - 1, "179m"),
            (3 * 3600, "3h"),
            (5 * 3600 + 30 * 60, "5h30m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (52 * 3600, "2d4h"),
            (72 * 3600, "3d"),
            (8 * 86_400, "8d"),
            (729 * 86_400, "729d"),
            (730 * 86_400 + 12 * 86_400, "2y12d"),
            (3 * 365 * 86_400, "3y"),
            (9 * 365 * 86_400, "9y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(Duration::from_secs(secs)), want, "{secs}s");
        }
        let now = parse_rfc3339("2026-11-24T12:00:00Z").unwrap();
        assert_eq!(age_since(now + 1_500_000_000, now), "0s");
        assert_eq!(age_since(now + 2_000_000_000, now), "<invalid>");
    }

    #[test]
    fn parses_rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-11-24T12:59:59Z"),
            Some(1_795_525_199_000_000_000)
        );
        assert_eq!(
            parse_rfc3339("2026-11-24T14:59:59.5+02:00"),
            Some(1_795_525_199_500_000_000)
        );
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Some(-1_000_000_000));
        for bad in [
            "",
            "2026-11-24",
            "2026-13-01T00:00:00Z",
            "2026-11-24T10:00:00",
            "2026-11-24T10:00:00.Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn namespaces_table() {
        let ns = lookup("", "v1", "namespaces").unwrap();
        let a = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": "oil-dev",
                "creationTimestamp": "2026-11-24T11:55:00Z",
                "labels": {"a": "b"}
            },
            "status": {"phase": "Terminating"},
        });
        let b = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "gas", "creationTimestamp": "2026-11-22T08:00:00Z"},
        });
        let table = to_table(ns, &[&a, &b], true, IncludeObject::default(), now());
        assert_eq!(table["kind"], "Table");
        assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(column_names(&table), ["Name", "Status", "Age"]);
        assert_eq!(table["columnDefinitions"][0]["format"], "name");
        assert_eq!(table["rows"][0]["cells"], json!(["oil-dev", "Terminating", "5m"]));
        assert_eq!(table["rows"][1]["cells"], json!(["gas", "Active", "2d4h"]));
        let object = &table["rows"][0]["object"];
        assert_eq!(object["kind"], "PartialObjectMetadata");
        assert_eq!(object["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(object["metadata"]["labels"]["a"], "b");
        assert!(object.get("status").is_none());

        let watch = to_table_as(
            TableVersion::V1beta1,
            ns,
            &[&a],
            false,
            IncludeObject::Object,
            now(),
        );
        assert!(watch.get("columnDefinitions").is_none());
        assert_eq!(watch["apiVersion"], "meta.k8s.io/v1beta1");
        assert_eq!(watch["rows"][0]["object"], a);
        let none = to_table(ns, &[&a], true, IncludeObject::None, now());
        assert!(none["rows"][0]["object"].is_null());
    }

    #[test]
    fn pods_table() {
        let pods = lookup("", "v1", "pods").unwrap();
        let running = json!({
            "metadata": {"name": "web", "namespace": "oil-dev", "creationTimestamp": "2026-11-24T11:00:00Z"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "a"}, {"name": "b"}]},
            "status": {
                "phase": "Running",
                "podIP": "10.0.0.7",
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [
                    {"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}},
                     "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-11-24T11:57:00Z"}}},
                    {"name": "b", "ready": false, "restartCount": 0,
                     "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
                ]
            }
        });
        let fresh = json!({
            "metadata": {"name": "new", "creationTimestamp": "2026-11-24T11:59:58Z"},
            "spec": {"containers": [{"name": "a"}]},
        });
        let done = json!({
            "metadata": {"name": "job", "creationTimestamp": "2026-11-24T10:00:00Z"},
            "spec": {"containers": [{"name": "a"}]},
            "status": {
                "phase": "Succeeded",
                "containerStatuses": [
                    {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
                ]
            }
        });
        let init = json!({
            "metadata": {
                "name": "init",
                "creationTimestamp": "2026-11-24T11:00:00Z",
                "deletionTimestamp": "2026-11-24T11:59:00Z"
            },
            "spec": {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "i1", "state": {"terminated": {"exitCode": 0}}},
                {"name": "i2", "state": {"waiting": {"reason": "PodInitializing"}}}
            ]}
        });
        let table = to_table(
            pods,
            &[&running, &fresh, &done, &init],
            true,
            IncludeObject::Metadata,
            now(),
        );
        assert_eq!(
            column_names(&table),
            [
                "Name",
                "Ready",
                "Status",
                "Restarts",
                "Age",
                "IP",
                "Node",
                "Nominated Node",
                "Readiness Gates"
            ]
        );
        let priorities: Vec<u64> = table["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["priority"].as_u64().unwrap())
            .collect();
        assert_eq!(priorities, [0, 0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(
            table["rows"][0]["cells"],
            json!([
                "web",
                "1/2",
                "CrashLoopBackOff",
                "2 (3m ago)",
                "60m",
                "10.0.0.7",
                "node-1",
                "<none>",
                "<none>"
            ])
        );
        assert_eq!(
            table["rows"][1]["cells"],
            json!([
                "new", "0/1", "Pending", "0", "2s", "<none>", "<none>", "<none>", "<none>"
            ])
        );
        assert_eq!(table["rows"][2]["cells"][2], "Completed");
        assert_eq!(table["rows"][2]["conditions"][0]["reason"], "Succeeded");
        assert_eq!(table["rows"][3]["cells"][2], "Terminating");
        let mut init_only = init;
        init_only["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("deletionTimestamp");
        assert_eq!(
            to_table(pods, &[&init_only], false, IncludeObject::None, now())["rows"][0]["cells"][2],
            "Init:1/2"
        );
    }

    #[test]
    fn tenants_table_uses_capsule_printer_columns() {
        let tenants = lookup("capsule.clastix.io", "v1beta2", "tenants").unwrap();
        let oil = json!({
            "metadata": {"name": "oil", "creationTimestamp": "2026-11-24T09:00:00Z"},
            "spec": {"namespaceOptions": {"quota": 3}, "nodeSelector": {"pool": "oil", "b&": "<x>"}},
            "status": {"size": 2, "conditions": [
                {"type": "Cordoned", "status": "False", "reason": "Active"},
                {"type": "Ready", "status": "True", "message": "reconciled"}
            ]}
        });
        let bare = json!({"metadata": {"name": "gas"}});
        let table = to_table(tenants, &[&oil, &bare], true, IncludeObject::Metadata, now());
        assert_eq!(
            column_names(&table),
            [
                "Name",
                "State",
                "Namespace quota",
                "Namespace count",
                "Node selector",
                "Ready",
                "Status",
                "Age"
            ]
        );
        assert_eq!(table["columnDefinitions"][2]["type"], "integer");
        assert_eq!(
            table["rows"][0]["cells"],
            json!([
                "oil",
                "Active",
                3,
                2,
                "{\"b\\u0026\":\"\\u003cx\\u003e\",\"pool\":\"oil\"}",
                "True",
                "reconciled",
                "3h"
            ])
        );
        assert_eq!(
            table["rows"][1]["cells"],
            json!(["gas", null, null, null, null, null, null, null])
        );
    }

    #[test]
    fn default_and_crd_default_columns() {
        let roles = lookup("rbac.authorization.k8s.io", "v1", "clusterroles").unwrap();
        let role =
            json!({"metadata": {"name": "admin", "creationTimestamp": "2026-11-24T10:00:00.25+01:00"}});
        let table = to_table(roles, &[&role], true, IncludeObject::Metadata, now());
        assert_eq!(column_names(&table), ["Name", "Created At"]);
        assert_eq!(table["columnDefinitions"][1]["type"], "date");
        assert_eq!(
            table["rows"][0]["cells"],
            json!(["admin", "2026-11-24T09:00:00Z"])
        );
        let proxy = lookup("capsule.clastix.io", "v1beta1", "proxysettings").unwrap();
        let ps = json!({
            "metadata": {"name": "p", "creationTimestamp": "2026-11-24T11:59:30Z"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        });
        let table = to_table(proxy, &[&ps], true, IncludeObject::Metadata, now());
        assert_eq!(column_names(&table), ["Name", "Ready", "Age"]);
        assert_eq!(table["rows"][0]["cells"], json!(["p", "True", "30s"]));
    }

    #[test]
    fn cluster_kinds_tables() {
        let now = now();
        let sc = json!({"metadata": {"name": "standard", "creationTimestamp": "2026-11-24T11:00:00Z",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path"});
        let t = to_table(
            lookup("storage.k8s.io", "v1", "storageclasses").unwrap(),
            &[&sc],
            true,
            IncludeObject::None,
            now,
        );
        assert_eq!(
            column_names(&t),
            [
                "Name",
                "Provisioner",
                "ReclaimPolicy",
                "VolumeBindingMode",
                "AllowVolumeExpansion",
                "Age"
            ]
        );
        assert_eq!(
            t["rows"][0]["cells"],
            json!([
                "standard (default)",
                "rancher.io/local-path",
                "Delete",
                "Immediate",
                false,
                "60m"
            ])
        );

        let ic = json!({"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx",
            "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}
        }});
        let t = to_table(
            lookup("networking.k8s.io", "v1", "ingressclasses").unwrap(),
            &[&ic],
            true,
            IncludeObject::None,
            now,
        );
        assert_eq!(
            t["rows"][0]["cells"],
            json!([
                "nginx",
                "k8s.io/ingress-nginx",
                "IngressParameters.k8s.example.com/external-lb",
                "<unknown>"
            ])
        );

        let pc = json!({"metadata": {"name": "high"}, "value": 1000, "globalDefault": true});
        let t = to_table(
            lookup("scheduling.k8s.io", "v1", "priorityclasses").unwrap(),
            &[&pc],
            true,
            IncludeObject::None,
            now,
        );
        assert_eq!(
            column_names(&t),
            ["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"]
        );
        assert_eq!(
            t["rows"][0]["cells"],
            json!(["high", 1000, true, "<unknown>", ""])
        );

        let rc = json!({"metadata": {"name": "gvisor"}, "handler": "runsc"});
        let t = to_table(
            lookup("node.k8s.io", "v1", "runtimeclasses").unwrap(),
            &[&rc],
            true,
            IncludeObject::None,
            now,
        );
        assert_eq!(t["rows"][0]["cells"], json!(["gvisor", "runsc", "<unknown>"]));

        let cm = json!({"metadata": {"name": "cfg"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}});
        let t = to_table(
            lookup("", "v1", "configmaps").unwrap(),
            &[&cm],
            true,
            IncludeObject::None,
            now,
        );
        assert_eq!(t["rows"][0]["cells"], json!(["cfg", 3, "<unknown>"]));

        let node = json!({
            "metadata": {
                "name": "n1",
                "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker"}
            },
            "spec": {"unschedulable": true},
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "nodeInfo": {"kubeletVersion": "v1.33.0"},
                "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}});
        let t = to_table(
            lookup("", "v1", "nodes").unwrap(),
            &[&node],
            true,
            IncludeObject::None,
            now,
        );
        assert_eq!(
            t["rows"][0]["cells"],
            json!([
                "n1",
                "Ready,SchedulingDisabled",
                "control-plane,worker",
                "<unknown>",
                "v1.33.0",
                "10.0.0.1",
                "<none>",
                "<unknown>",
                "<unknown>",
                "<unknown>"
            ])
        );

        let pv = json!({"metadata": {"name": "pv1"}, "spec": {
            "capacity": {"storage": "1024Mi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "claimRef": {"namespace": "oil", "name": "data"},
            "storageClassName": "standard"},
            "status": {"phase": "Bound"}});
        let t = to_table(
            lookup("", "v1", "persistentvolumes").unwrap(),
            &[&pv],
            true,
            IncludeObject::None,
            now,
        );
        assert_eq!(
            t["rows"][0]["cells"],
            json!([
                "pv1",
                "1Gi",
                "RWO,RWX",
                "Retain",
                "Bound",
                "oil/data",
                "standard",
                "<unset>",
                "",
                "<unknown>",
                "<unset>"
            ])
        );
    }

    #[test]
    fn metrics_tables() {
        let pods = lookup("metrics.k8s.io", "v1beta1", "pods").unwrap();
        let pm = json!({"metadata": {"name": "web"}, "window": "20.5s", "containers": [
            {"name": "a", "usage": {"cpu": "150m", "memory": "512Ki"}},
            {"name": "b", "usage": {"cpu": "350m", "memory": "1Mi"}}
        ]});
        let t = to_table(pods, &[&pm], true, IncludeObject::None, now());
        assert_eq!(column_names(&t), ["Name", "cpu", "memory", "Window"]);
        assert_eq!(t["rows"][0]["cells"], json!(["web", "500m", "1536Ki", "20.5s"]));
        let nodes = lookup("metrics.k8s.io", "v1beta1", "nodes").unwrap();
        let nm = json!({
            "metadata": {"name": "n1"},
            "window": "10s",
            "usage": {"memory": "2048Ki", "cpu": "1500000n"},
        });
        let t = to_table(nodes, &[&nm], true, IncludeObject::None, now());
        assert_eq!(t["rows"][0]["cells"], json!(["n1", "1500u", "2Mi", "10s"]));
    }

    #[test]
    fn quantities_canonicalize_like_kubernetes() {
        let canon = |s: &str| parse_quantity(s).unwrap().canonical();
        assert_eq!(canon("1000m"), "1");
        assert_eq!(canon("1500m"), "1500m");
        assert_eq!(canon("1500000"), "1500k");
        assert_eq!(canon("0.5"), "500m");
        assert_eq!(canon("1024Mi"), "1Gi");
        assert_eq!(canon("512Ki"), "512Ki");
        assert_eq!(canon("1Ki"), "1Ki");
        assert_eq!(canon("0Gi"), "0");
        assert!(parse_quantity("1e3").is_none());
        assert!(parse_quantity("abc").is_none());
    }
}
