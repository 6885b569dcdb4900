//! Protobuf request bodies of the built-in kinds `kubectl create` writes (client-go's typed clients send
//! `application/vnd.kubernetes.protobuf`): Namespace, ConfigMap, Secret, ServiceAccount, Role, ClusterRole,
//! RoleBinding, ClusterRoleBinding, PriorityClass and ResourceQuota, decoded into the JSON object the JSON path
//! would have received.
//!
//! The body is the `k8s\0` magic and a `runtime.Unknown` (`typeMeta` = 1, `raw` = 2) whose `raw` is the object.
//! Each kind is described by a table of its fields (number, JSON name, type), following the field numbers of
//! the API's `generated.proto`; Go's protobuf writer sends every string and bool it has, so the empty and false
//! values of `omitempty` fields are dropped again, as Go's JSON writer would. Fields outside the tables (server
//! fields a client does not send: `uid`, `managedFields`, status) are not read. Other kinds stay 415.

use serde_json::{Map, Value, json};

use crate::protobuf::{Field, MAGIC, fields, malformed};
use crate::status::ApiError;

/// How a field's value is read.
#[derive(Debug, Clone, Copy)]
enum Ty {
    /// A string (`omitempty`: an empty one is dropped).
    Str,
    /// A string written even when empty.
    StrKept,
    /// A bool (`omitempty`: false is dropped).
    Bool,
    /// A signed integer written even when zero.
    Int,
    /// A nested message.
    Message(&'static [FieldDef]),
    /// `map<string, string>`.
    StringMap,
    /// `map<string, bytes>`, base64 in JSON.
    BytesMap,
    /// `map<string, resource.Quantity>` (a quantity is a message holding its string as field 1).
    QuantityMap,
}

/// One field of a message.
#[derive(Debug, Clone, Copy)]
struct FieldDef {
    number: u64,
    name: &'static str,
    ty: Ty,
    repeated: bool,
}

const fn one(number: u64, name: &'static str, ty: Ty) -> FieldDef {
    FieldDef {
        number,
        name,
        ty,
        repeated: false,
    }
}

const fn many(number: u64, name: &'static str, ty: Ty) -> FieldDef {
    FieldDef {
        number,
        name,
        ty,
        repeated: true,
    }
}

const OWNER_REFERENCE: &[FieldDef] = &[
    one(1, "kind", Ty::StrKept),
    one(3, "name", Ty::StrKept),
    one(4, "uid", Ty::StrKept),
    one(5, "apiVersion", Ty::StrKept),
    one(6, "controller", Ty::Bool),
    one(7, "blockOwnerDeletion", Ty::Bool),
];

const OBJECT_META: &[FieldDef] = &[
    one(1, "name", Ty::Str),
    one(2, "generateName", Ty::Str),
    one(3, "namespace", Ty::Str),
    one(11, "labels", Ty::StringMap),
    one(12, "annotations", Ty::StringMap),
    many(13, "ownerReferences", Ty::Message(OWNER_REFERENCE)),
    many(14, "finalizers", Ty::Str),
];

const NAMESPACE_SPEC: &[FieldDef] = &[many(1, "finalizers", Ty::Str)];
const NAMESPACE: &[FieldDef] = &[
    one(1, "metadata", Ty::Message(OBJECT_META)),
    one(2, "spec", Ty::Message(NAMESPACE_SPEC)),
];

const CONFIG_MAP: &[FieldDef] = &[
    one(1, "metadata", Ty::Message(OBJECT_META)),
    one(2, "data", Ty::StringMap),
    one(3, "binaryData", Ty::BytesMap),
    one(4, "immutable", Ty::Bool),
];

const SECRET: &[FieldDef] = &[
    one(1, "metadata", Ty::Message(OBJECT_META)),
    one(2, "data", Ty::BytesMap),
    one(3, "type", Ty::Str),
    one(4, "stringData", Ty::StringMap),
    one(5, "immutable", Ty::Bool),
];

const LOCAL_OBJECT_REFERENCE: &[FieldDef] = &[one(1, "name", Ty::Str)];
const OBJECT_REFERENCE: &[FieldDef] = &[
    one(1, "kind", Ty::Str),
    one(2, "namespace", Ty::Str),
    one(3, "name", Ty::Str),
    one(4, "uid", Ty::Str),
    one(5, "apiVersion", Ty::Str),
    one(6, "resourceVersion", Ty::Str),
    one(7, "fieldPath", Ty::Str),
];
const SERVICE_ACCOUNT: &[FieldDef] = &[
    one(1, "metadata", Ty::Message(OBJECT_META)),
    many(2, "secrets", Ty::Message(OBJECT_REFERENCE)),
    many(3, "imagePullSecrets", Ty::Message(LOCAL_OBJECT_REFERENCE)),
    one(4, "automountServiceAccountToken", Ty::Bool),
];

const POLICY_RULE: &[FieldDef] = &[
    many(1, "verbs", Ty::StrKept),
    many(2, "apiGroups", Ty::StrKept),
    many(3, "resources", Ty::StrKept),
    many(4, "resourceNames", Ty::StrKept),
    many(5, "nonResourceURLs", Ty::StrKept),
];
const ROLE: &[FieldDef] = &[
    one(1, "metadata", Ty::Message(OBJECT_META)),
    many(2, "rules", Ty::Message(POLICY_RULE)),
];

const SUBJECT: &[FieldDef] = &[
    one(1, "kind", Ty::StrKept),
    one(2, "apiGroup", Ty::Str),
    one(3, "name", Ty::StrKept),
    one(4, "namespace", Ty::Str),
];
const ROLE_REF: &[FieldDef] = &[
    one(1, "apiGroup", Ty::StrKept),
    one(2, "kind", Ty::StrKept),
    one(3, "name", Ty::StrKept),
];
const ROLE_BINDING: &[FieldDef] = &[
    one(1, "metadata", Ty::Message(OBJECT_META)),
    many(2, "subjects", Ty::Message(SUBJECT)),
    one(3, "roleRef", Ty::Message(ROLE_REF)),
];

const PRIORITY_CLASS: &[FieldDef] = &[
    one(1, "metadata", Ty::Message(OBJECT_META)),
    one(2, "value", Ty::Int),
    one(3, "globalDefault", Ty::Bool),
    one(4, "description", Ty::Str),
    one(5, "preemptionPolicy", Ty::Str),
];

const SCOPED_RESOURCE_SELECTOR_REQUIREMENT: &[FieldDef] = &[
    one(1, "scopeName", Ty::StrKept),
    one(2, "operator", Ty::StrKept),
    many(3, "values", Ty::StrKept),
];
const SCOPE_SELECTOR: &[FieldDef] = &[many(
    1,
    "matchExpressions",
    Ty::Message(SCOPED_RESOURCE_SELECTOR_REQUIREMENT),
)];
const RESOURCE_QUOTA_SPEC: &[FieldDef] = &[
    one(1, "hard", Ty::QuantityMap),
    many(2, "scopes", Ty::StrKept),
    one(3, "scopeSelector", Ty::Message(SCOPE_SELECTOR)),
];
const RESOURCE_QUOTA: &[FieldDef] = &[
    one(1, "metadata", Ty::Message(OBJECT_META)),
    one(2, "spec", Ty::Message(RESOURCE_QUOTA_SPEC)),
];

/// The fields of `kind`, when its protobuf body can be read.
fn schema(kind: &str) -> Option<&'static [FieldDef]> {
    Some(match kind {
        "Namespace" => NAMESPACE,
        "ConfigMap" => CONFIG_MAP,
        "Secret" => SECRET,
        "ServiceAccount" => SERVICE_ACCOUNT,
        "Role" | "ClusterRole" => ROLE,
        "RoleBinding" | "ClusterRoleBinding" => ROLE_BINDING,
        "PriorityClass" => PRIORITY_CLASS,
        "ResourceQuota" => RESOURCE_QUOTA,
        _ => return None,
    })
}

/// Whether a protobuf body of `kind` can be read.
pub fn supports(kind: &str) -> bool {
    schema(kind).is_some()
}

/// Decodes a protobuf body of `kind` into its JSON object, `apiVersion` and `kind` from the body's `typeMeta`.
pub fn decode_object(kind: &str, body: &[u8]) -> Result<Value, ApiError> {
    let schema = schema(kind)
        .ok_or_else(|| ApiError::unsupported_media_type("application/vnd.kubernetes.protobuf"))?;
    let envelope = body.strip_prefix(MAGIC).ok_or_else(malformed)?;
    let mut type_meta = Map::new();
    let mut raw = None;
    for (number, field) in fields(envelope)? {
        match (number, field) {
            (1, Field::Bytes(bytes)) => {
                let names = [one(1, "apiVersion", Ty::Str), one(2, "kind", Ty::Str)];
                if let Value::Object(fields) = message(bytes, &names)? {
                    type_meta = fields;
                }
            }
            (2, Field::Bytes(bytes)) => raw = Some(bytes),
            _ => {}
        }
    }
    let Value::Object(mut object) = message(raw.ok_or_else(malformed)?, schema)? else {
        return Err(malformed());
    };
    // kubectl's typed clients send the type; the JSON object carries it first, as Go writes it.
    let mut out = type_meta;
    out.append(&mut object);
    Ok(Value::Object(out))
}

/// One message as a JSON object, following `defs`.
fn message(buf: &[u8], defs: &[FieldDef]) -> Result<Value, ApiError> {
    let mut out = Map::new();
    for (number, field) in fields(buf)? {
        let Some(def) = defs.iter().find(|d| d.number == number) else {
            continue;
        };
        match def.ty {
            Ty::StringMap | Ty::BytesMap | Ty::QuantityMap => {
                let Field::Bytes(entry) = field else {
                    return Err(malformed());
                };
                let (key, value) = map_entry(entry, def.ty)?;
                let map = out.entry(def.name).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(map) = map {
                    map.insert(key, value);
                }
            }
            _ => {
                let Some(value) = scalar_or_message(field, def.ty)? else {
                    continue;
                };
                if def.repeated {
                    if let Value::Array(items) = out.entry(def.name).or_insert_with(|| json!([])) {
                        items.push(value);
                    }
                } else {
                    out.insert(def.name.to_owned(), value);
                }
            }
        }
    }
    Ok(Value::Object(out))
}

/// A field's JSON value; `None` for the empty or false value of an `omitempty` field.
fn scalar_or_message(field: Field<'_>, ty: Ty) -> Result<Option<Value>, ApiError> {
    Ok(match (ty, field) {
        (Ty::Str, Field::Bytes(b)) => Some(text(b)?).filter(|s| !s.is_empty()).map(Value::String),
        (Ty::StrKept, Field::Bytes(b)) => Some(Value::String(text(b)?)),
        (Ty::Bool, Field::Varint(v)) => (v != 0).then_some(Value::Bool(true)),
        // Protobuf writes a negative int32 as a sign-extended 64-bit varint.
        (Ty::Int, Field::Varint(v)) => Some(json!(v.cast_signed())),
        (Ty::Message(defs), Field::Bytes(b)) => Some(message(b, defs)?),
        _ => return Err(malformed()),
    })
}

/// One `map<string, …>` entry: its key (field 1) and value (field 2).
fn map_entry(entry: &[u8], ty: Ty) -> Result<(String, Value), ApiError> {
    let mut key = String::new();
    let mut value = match ty {
        Ty::BytesMap | Ty::StringMap => Value::String(String::new()),
        _ => Value::Null,
    };
    for (number, field) in fields(entry)? {
        match (number, field) {
            (1, Field::Bytes(b)) => key = text(b)?,
            (2, Field::Bytes(b)) => {
                value = match ty {
                    Ty::StringMap => Value::String(text(b)?),
                    Ty::BytesMap => {
                        use base64::Engine;
                        Value::String(base64::engine::general_purpose::STANDARD.encode(b))
                    }
                    // resource.Quantity: its string is field 1.
                    _ => fields(b)?
                        .into_iter()
                        .find_map(|(n, f)| match (n, f) {
                            (1, Field::Bytes(s)) => Some(text(s)),
                            _ => None,
                        })
                        .transpose()?
                        .map_or(Value::Null, Value::String),
                }
            }
            _ => return Err(malformed()),
        }
    }
    Ok((key, value))
}

fn text(bytes: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| malformed())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    fn bytes(number: u64, payload: &[u8]) -> Vec<u8> {
        [
            varint(number << 3 | 2),
            varint(payload.len() as u64),
            payload.to_vec(),
        ]
        .concat()
    }

    fn int(number: u64, value: u64) -> Vec<u8> {
        [varint(number << 3), varint(value)].concat()
    }

    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let type_meta = [bytes(1, api_version.as_bytes()), bytes(2, kind.as_bytes())].concat();
        [MAGIC.to_vec(), bytes(1, &type_meta), bytes(2, raw)].concat()
    }

    fn meta(name: &str, namespace: &str) -> Vec<u8> {
        let label = [bytes(1, b"team"), bytes(2, b"sre")].concat();
        bytes(
            1,
            &[
                bytes(1, name.as_bytes()),
                bytes(2, b""),
                bytes(3, namespace.as_bytes()),
                bytes(11, &label),
            ]
            .concat(),
        )
    }

    #[test]
    fn a_namespace_as_kubectl_create_sends_it() {
        let raw = [meta("foo", ""), bytes(2, b""), bytes(3, b"")].concat();
        let object = decode_object("Namespace", &envelope("v1", "Namespace", &raw)).unwrap();
        assert_eq!(
            object,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "foo", "labels": {"team": "sre"}}, "spec": {}})
        );
    }

    #[test]
    fn maps_of_bytes_and_quantities_and_negative_ints() {
        let entry = [bytes(1, b"key"), bytes(2, &[0, 159, 146])].concat();
        let raw = [meta("s", "oil-dev"), bytes(2, &entry), bytes(3, b"Opaque")].concat();
        let secret = decode_object("Secret", &envelope("v1", "Secret", &raw)).unwrap();
        assert_eq!(secret["data"]["key"], "AJ+S");
        assert_eq!(secret["type"], "Opaque");
        assert_eq!(secret["metadata"]["namespace"], "oil-dev");

        let quantity = bytes(1, b"500m");
        let hard = bytes(1, &[bytes(1, b"cpu"), bytes(2, &quantity)].concat());
        let raw = [meta("q", "oil-dev"), bytes(2, &hard)].concat();
        let quota = decode_object("ResourceQuota", &envelope("v1", "ResourceQuota", &raw)).unwrap();
        assert_eq!(quota["spec"]["hard"]["cpu"], "500m");

        let raw = [meta("low", ""), int(2, (-5_i64).cast_unsigned()), int(3, 0)].concat();
        let class = decode_object(
            "PriorityClass",
            &envelope("scheduling.k8s.io/v1", "PriorityClass", &raw),
        )
        .unwrap();
        assert_eq!(class["value"], -5);
        assert!(
            class.get("globalDefault").is_none(),
            "false is omitted, as Go writes it"
        );
    }

    #[test]
    fn rolebindings_keep_their_required_empty_strings() {
        let subject = [
            bytes(1, b"User"),
            bytes(2, b""),
            bytes(3, b"alice"),
            bytes(4, b""),
        ]
        .concat();
        let role_ref = [
            bytes(1, b"rbac.authorization.k8s.io"),
            bytes(2, b"ClusterRole"),
            bytes(3, b"view"),
        ]
        .concat();
        let raw = [meta("rb", "oil-dev"), bytes(2, &subject), bytes(3, &role_ref)].concat();
        let binding = decode_object(
            "RoleBinding",
            &envelope("rbac.authorization.k8s.io/v1", "RoleBinding", &raw),
        )
        .unwrap();
        assert_eq!(binding["subjects"], json!([{"kind": "User", "name": "alice"}]));
        assert_eq!(binding["roleRef"]["name"], "view");
    }

    #[test]
    fn other_kinds_and_garbage_are_refused() {
        assert_eq!(decode_object("Pod", b"k8s\x00").unwrap_err().code, 415);
        assert_eq!(decode_object("Namespace", b"nope").unwrap_err().code, 400);
        assert_eq!(
            decode_object("Namespace", b"k8s\x00\x12\xff").unwrap_err().code,
            400
        );
    }
}
