//! The merged list, written as namespaces' pages arrive: `kind` and `apiVersion` first, then every entry, then
//! what is only known at the end (a Table's column definitions, the list metadata). JSON objects have no order,
//! so writing `metadata` last lets the list stream instead of waiting for its last page.

use std::io::Write;

use super::{ListForm, NamespacePage};

/// A merged list being written.
#[derive(Debug)]
pub struct MergedList {
    form: ListForm,
    count: usize,
    resource_version: Option<String>,
    columns: Option<String>,
}

impl MergedList {
    /// Starts a list of `kind` in `api_version` (see [`ListForm::list_type`]) in `form`, appended to `out`.
    pub fn begin(form: ListForm, kind: &str, api_version: &str, out: &mut Vec<u8>) -> Self {
        out.extend_from_slice(b"{\"kind\":");
        write_string(out, kind);
        out.extend_from_slice(b",\"apiVersion\":");
        write_string(out, api_version);
        out.extend_from_slice(b",\"");
        out.extend_from_slice(form.entries_field().as_bytes());
        out.extend_from_slice(b"\":[");
        Self {
            form,
            count: 0,
            resource_version: None,
            columns: None,
        }
    }

    /// Appends every entry of `page` to `out`, and keeps its resource version when it is the highest yet and,
    /// for the first Table, its column definitions.
    pub fn push(&mut self, page: &NamespacePage<'_>, out: &mut Vec<u8>) {
        for entry in page.entries(self.form) {
            if self.count > 0 {
                out.push(b',');
            }
            out.extend_from_slice(entry.get().as_bytes());
            self.count += 1;
        }
        self.note_version(&page.metadata.resource_version);
        if self.form == ListForm::Table
            && self.columns.is_none()
            && let Some(columns) = page.column_definitions
            && columns.get() != "null"
        {
            self.columns = Some(columns.get().to_owned());
        }
    }

    /// Entries written so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Keeps `version` when it is higher than the one kept (numerically, as kube-apiserver's are; an opaque
    /// one is kept only when none is).
    fn note_version(&mut self, version: &str) {
        if version.is_empty() {
            return;
        }
        let higher = match (&self.resource_version, version.parse::<u64>()) {
            (None, _) => true,
            (Some(kept), Ok(new)) => kept.parse::<u64>().is_ok_and(|kept| new > kept),
            (Some(_), Err(_)) => false,
        };
        if higher {
            self.resource_version = Some(version.to_owned());
        }
    }

    /// Ends the list: the column definitions of a Table, then `metadata` with the highest resource version and
    /// `continue` when the list has more.
    pub fn finish(self, continue_token: Option<&str>, out: &mut Vec<u8>) {
        out.push(b']');
        if self.form == ListForm::Table {
            out.extend_from_slice(b",\"columnDefinitions\":");
            out.extend_from_slice(self.columns.as_deref().unwrap_or("[]").as_bytes());
        }
        out.extend_from_slice(b",\"metadata\":{\"resourceVersion\":");
        write_string(out, self.resource_version.as_deref().unwrap_or(""));
        if let Some(token) = continue_token {
            out.extend_from_slice(b",\"continue\":");
            write_string(out, token);
        }
        out.extend_from_slice(b"}}");
    }
}

/// Appends `text` as a JSON string.
fn write_string(out: &mut Vec<u8>, text: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fan_out::MetaVersion;

    fn merge(form: ListForm, pages: &[&str], token: Option<&str>) -> serde_json::Value {
        let mut out = Vec::new();
        let (kind, api_version) = form.list_type("Pod", "v1");
        let mut list = MergedList::begin(form, &kind, &api_version, &mut out);
        for page in pages {
            list.push(&NamespacePage::parse(page.as_bytes()).unwrap(), &mut out);
        }
        list.finish(token, &mut out);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn lists_merge_items_and_keep_the_highest_version() {
        let merged = merge(
            ListForm::Json,
            &[
                r#"{"items":[{"metadata":{"name":"a"}}],"metadata":{"resourceVersion":"9"}}"#,
                r#"{"items":[],"metadata":{"resourceVersion":"12"}}"#,
                r#"{"items":[{"metadata":{"name":"b"}},{"metadata":{"name":"c"}}],"metadata":{"resourceVersion":"10"}}"#,
            ],
            Some("next"),
        );
        assert_eq!(
            merged,
            serde_json::json!({"kind": "PodList", "apiVersion": "v1",
                "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}, {"metadata": {"name": "c"}}],
                "metadata": {"resourceVersion": "12", "continue": "next"}})
        );
        let empty = merge(ListForm::PartialObjectMetadata(MetaVersion::V1), &[], None);
        assert_eq!(
            empty,
            serde_json::json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                "items": [], "metadata": {"resourceVersion": ""}})
        );
    }

    #[test]
    fn tables_merge_rows_under_the_first_columns() {
        let merged = merge(
            ListForm::Table,
            &[
                r#"{"kind":"Table","columnDefinitions":null,"rows":[],"metadata":{"resourceVersion":"3"}}"#,
                r#"{"kind":"Table","columnDefinitions":[{"name":"Name"}],"rows":[{"cells":["a"]}],"metadata":{"resourceVersion":"4"}}"#,
                r#"{"kind":"Table","columnDefinitions":[{"name":"Other"}],"rows":[{"cells":["b"]}],"metadata":{"resourceVersion":"4"}}"#,
            ],
            None,
        );
        assert_eq!(merged["kind"], "Table");
        assert_eq!(merged["columnDefinitions"], serde_json::json!([{"name": "Name"}]));
        assert_eq!(
            merged["rows"],
            serde_json::json!([{"cells": ["a"]}, {"cells": ["b"]}])
        );
        assert_eq!(merged["metadata"]["resourceVersion"], "4");
        let none = merge(ListForm::Table, &[], None);
        assert_eq!(none["columnDefinitions"], serde_json::json!([]));
    }
}
