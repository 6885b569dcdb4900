//! `capsule-proxy crds`: the ProxySetting and GlobalProxySettings CustomResourceDefinitions, generated from the
//! control plane's types, as one YAML stream (each document introduced by `---`) for `kubectl apply -f -` or a
//! Helm chart's `crds/` folder.

use std::io::Write;

use capsule_proxy_control::crds;

/// Why the CRDs could not be printed.
#[derive(Debug, thiserror::Error)]
pub enum CrdsError {
    /// A definition did not serialise to YAML.
    #[error("serialising a CustomResourceDefinition: {0}")]
    Serialise(#[from] serde_yaml::Error),
    /// Writing to the output failed.
    #[error("writing the CustomResourceDefinitions: {0}")]
    Write(#[from] std::io::Error),
}

/// The CRDs as a YAML stream: `---` and a document per definition.
pub fn render() -> Result<String, CrdsError> {
    let mut out = String::new();
    for definition in crds::definitions() {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&definition)?);
    }
    Ok(out)
}

/// Writes [`render`]'s stream to `out`.
pub fn print(out: &mut impl Write) -> Result<(), CrdsError> {
    out.write_all(render()?.as_bytes())?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[test]
    fn the_stream_holds_both_definitions_in_order() {
        let text = render().unwrap();
        assert!(
            text.starts_with("---\napiVersion: apiextensions.k8s.io/v1\n"),
            "{text}"
        );
        let names: Vec<String> = serde_yaml::Deserializer::from_str(&text)
            .map(|document| {
                let value = serde_yaml::Value::deserialize(document).unwrap();
                value["metadata"]["name"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "proxysettings.capsule.clastix.io",
                "globalproxysettings.capsule.clastix.io"
            ]
        );
    }
}
