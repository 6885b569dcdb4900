//! Schema adjustments the derive attributes cannot express: the types stay lenient for serde (a missing field
//! takes its default, so one odd object never breaks a watch) while the CRD schema says what Capsule's CRDs say.

use schemars::Schema;
use schemars::transform::Transform;
use serde_json::Value;

/// Marks properties as required in a struct's schema and drops the `default` serde's `#[serde(default)]`
/// added to them: the API server then refuses objects without them, as it does with Capsule's own CRDs, while
/// deserialisation still accepts their absence.
pub(crate) struct Required(pub(crate) &'static [&'static str]);

impl Transform for Required {
    fn transform(&mut self, schema: &mut Schema) {
        let Some(object) = schema.as_object_mut() else {
            return;
        };
        if let Some(Value::Object(properties)) = object.get_mut("properties") {
            for name in self.0 {
                if let Some(Value::Object(property)) = properties.get_mut(*name) {
                    property.remove("default");
                }
            }
        }
        let mut names: Vec<String> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        names.extend(self.0.iter().map(|name| (*name).to_owned()));
        names.sort();
        names.dedup();
        object.insert("required".into(), names.into());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn required_adds_sorted_names_and_drops_their_defaults() {
        let mut schema = Schema::try_from(json!({
            "type": "object",
            "properties": {
                "b": {"type": "array", "default": []},
                "a": {"type": "string"},
                "c": {"type": "string", "default": "x"},
            },
            "required": ["a"],
        }))
        .unwrap();
        Required(&["b", "a"]).transform(&mut schema);
        assert_eq!(
            schema.to_value(),
            json!({
                "type": "object",
                "properties": {
                    "b": {"type": "array"},
                    "a": {"type": "string"},
                    "c": {"type": "string", "default": "x"},
                },
                "required": ["a", "b"],
            })
        );
    }
}
