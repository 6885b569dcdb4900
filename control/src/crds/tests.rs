//! The generated CRDs against copies of Capsule's (`control/tests/upstream-crds/`), and the leniency of the
//! types' deserialisation.

use serde_json::{Value, json};

use super::*;

const UPSTREAM_PROXY_SETTINGS: &str =
    include_str!("../../tests/upstream-crds/capsule.clastix.io_proxysettings.yaml");
const UPSTREAM_GLOBAL_PROXY_SETTINGS: &str =
    include_str!("../../tests/upstream-crds/capsule.clastix.io_globalproxysettings.yaml");

/// What the comparison looks at: name, group, names, scope and, per version, its name, served/storage,
/// subresources, printer columns and schema without descriptions (`required` and `enum` sorted).
fn significant(crd: &Value) -> Value {
    let spec = &crd["spec"];
    let versions: Vec<Value> = spec["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| {
            json!({
                "name": v["name"],
                "served": v["served"],
                "storage": v["storage"],
                "subresources": v["subresources"],
                "additionalPrinterColumns": v["additionalPrinterColumns"],
                "schema": normalised(&v["schema"]["openAPIV3Schema"]),
            })
        })
        .collect();
    json!({
        "name": crd["metadata"]["name"],
        "group": spec["group"],
        "names": spec["names"],
        "scope": spec["scope"],
        "versions": versions,
    })
}

/// The schema without `description`s, with `required` and `enum` lists sorted.
fn normalised(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| key.as_str() != "description")
                .map(|(key, value)| {
                    let value = match (key.as_str(), value) {
                        ("required" | "enum", Value::Array(items)) => {
                            let mut items = items.clone();
                            items.sort_by_key(Value::to_string);
                            Value::Array(items)
                        }
                        // `properties` maps names to schemas: keep the names, normalise the schemas.
                        _ => normalised(value),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalised).collect()),
        other => other.clone(),
    }
}

/// The differences kube-derive's generation cannot avoid, undone on the generated schema so everything else
/// is compared exactly. Each is harmless for what the API server accepts from Capsule and the proxy.
fn apply_allowances(schema: &mut Value) {
    let root = schema.as_object_mut().expect("root schema");
    // kube-derive's root type holds `spec` as a plain field, so its schema requires `spec`; upstream's Go type
    // has `spec,omitempty`. Our deserialisation needs a `spec` too, so refusing objects without one is right.
    assert_eq!(root.remove("required"), Some(json!(["spec"])), "root required");
    // kube-derive's root type holds `status` as an `Option`, which the OpenAPI v3 schema spells
    // `nullable: true`: `status: null` is accepted (and means no status), upstream refuses it.
    let status = root["properties"]["status"]
        .as_object_mut()
        .expect("status schema");
    assert_eq!(status.remove("nullable"), Some(json!(true)), "status nullable");
}

/// The differences between a generated CRD and an upstream one, after normalisation and allowances.
fn differences(generated: &Value, upstream_yaml: &str) -> Vec<String> {
    let upstream: Value = serde_yaml::from_str(upstream_yaml).expect("upstream CRD parses");
    let mut ours = significant(generated);
    for version in ours["versions"].as_array_mut().expect("versions") {
        apply_allowances(&mut version["schema"]);
    }
    let mut out = Vec::new();
    diff("", &ours, &significant(&upstream), &mut out);
    out
}

/// Every path where `ours` and `theirs` differ, with both values.
fn diff(path: &str, ours: &Value, theirs: &Value, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let child = format!("{path}/{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => diff(&child, x, y, out),
                    (Some(x), None) => out.push(format!("{child}: only ours: {x}")),
                    (None, Some(y)) => out.push(format!("{child}: only upstream: {y}")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}/{i}"), x, y, out);
            }
        }
        // JSONSchemaProps holds `minimum` and the like as floats: 0.0 is upstream's 0.
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        _ if ours != theirs => out.push(format!("{path}: ours {ours}, upstream {theirs}")),
        _ => {}
    }
}

fn generated() -> Vec<Value> {
    definitions()
        .iter()
        .map(|crd| serde_json::to_value(crd).expect("a CRD serialises"))
        .collect()
}

#[test]
fn proxy_setting_crd_matches_upstream() {
    let found = differences(&generated()[0], UPSTREAM_PROXY_SETTINGS);
    assert!(found.is_empty(), "ProxySetting differs:\n{}", found.join("\n"));
}

#[test]
fn global_proxy_settings_crd_matches_upstream() {
    let found = differences(&generated()[1], UPSTREAM_GLOBAL_PROXY_SETTINGS);
    assert!(
        found.is_empty(),
        "GlobalProxySettings differs:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_comparison_sees_a_changed_enum() {
    let mut crd = generated().remove(0);
    let kind = &mut crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["subjects"]["items"]["properties"]["kind"]["enum"];
    *kind = json!(["User", "Group"]);
    crd["spec"]["versions"][0]["additionalPrinterColumns"][0]["jsonPath"] = json!(".status.ready");
    let found = differences(&crd, UPSTREAM_PROXY_SETTINGS);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("/versions/0/additionalPrinterColumns/0/jsonPath: "),
        "{found:?}"
    );
    assert!(
        found[1].contains("/subjects/items/properties/kind/enum: "),
        "{found:?}"
    );
}

#[test]
fn unknown_values_and_missing_fields_still_deserialise() {
    let setting: ProxySetting = serde_json::from_value(json!({
        "apiVersion": "capsule.clastix.io/v1beta1",
        "kind": "ProxySetting",
        "metadata": {"name": "odd", "namespace": "oil-dev"},
        "spec": {"subjects": [{
            "kind": "Robot",
            "name": "r2",
            "clusterResources": [{"operations": ["Watch"]}],
            "proxySettings": [{"kind": "Pods"}],
        }]},
        "status": {"conditions": [{"type": "Ready", "status": "Maybe"}]},
    }))
    .expect("lenient deserialisation");
    let subject = &setting.spec.subjects[0];
    assert_eq!(subject.kind, "Robot");
    assert_eq!(subject.cluster_resources[0].operations, ["Watch"]);
    assert!(subject.cluster_resources[0].api_groups.is_empty());
    assert!(subject.proxy_settings[0].operations.is_empty());
    let status = setting.status.expect("status");
    assert_eq!(status.conditions[0].status, "Maybe");
    assert_eq!(status.observed_generation, 0);

    let global: GlobalProxySettings = serde_json::from_value(json!({
        "apiVersion": "capsule.clastix.io/v1beta1",
        "kind": "GlobalProxySettings",
        "metadata": {"name": "empty"},
        "spec": {},
    }))
    .expect("a spec without rules deserialises");
    assert!(global.spec.rules.is_empty());
    assert!(global.status.is_none());
}
