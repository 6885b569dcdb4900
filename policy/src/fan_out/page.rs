//! One namespace's page of an all-namespaces list, read without decoding its entries: they are copied into the
//! merged list as the raw JSON they arrived as.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::ListForm;

/// Why a namespace's answer is not a list page.
#[derive(Debug, thiserror::Error)]
#[error("the API server's list answer is not valid JSON: {0}")]
pub struct PageError(#[from] serde_json::Error);

/// A list page: entries (`items`, or a Table's `rows`), column definitions, list metadata.
#[derive(Debug, Deserialize)]
pub struct NamespacePage<'a> {
    /// `metadata`.
    #[serde(default)]
    pub metadata: PageMetadata,
    /// `items` (lists, PartialObjectMetadataLists).
    #[serde(borrow, default)]
    items: Option<Vec<&'a RawValue>>,
    /// `rows` (Tables).
    #[serde(borrow, default)]
    rows: Option<Vec<&'a RawValue>>,
    /// `columnDefinitions` (Tables).
    #[serde(rename = "columnDefinitions", borrow, default)]
    pub column_definitions: Option<&'a RawValue>,
}

/// A page's list metadata.
#[derive(Debug, Default, Deserialize)]
pub struct PageMetadata {
    /// `resourceVersion`.
    #[serde(rename = "resourceVersion", default)]
    pub resource_version: String,
    /// `continue`: set when the namespace has more.
    #[serde(rename = "continue", default)]
    pub continue_token: String,
}

impl<'a> NamespacePage<'a> {
    /// Reads a page from a list answer's body.
    pub fn parse(body: &'a [u8]) -> Result<Self, PageError> {
        Ok(serde_json::from_slice(body)?)
    }

    /// The page's entries in `form`.
    pub fn entries(&self, form: ListForm) -> &[&'a RawValue] {
        let entries = match form {
            ListForm::Table => &self.rows,
            ListForm::Json | ListForm::PartialObjectMetadata(_) => &self.items,
        };
        entries.as_deref().unwrap_or_default()
    }

    /// The namespace's own continue token, when it has more.
    pub fn more(&self) -> Option<&str> {
        Some(self.metadata.continue_token.as_str()).filter(|c| !c.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_keep_entries_raw() {
        let body = br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"12","continue":"c1","remainingItemCount":3},"items":[{"metadata":{"name":"a"}} , {"metadata":{"name":"b\n"}}]}"#;
        let page = NamespacePage::parse(body).unwrap();
        let items: Vec<&str> = page.entries(ListForm::Json).iter().map(|r| r.get()).collect();
        assert_eq!(
            items,
            [r#"{"metadata":{"name":"a"}}"#, r#"{"metadata":{"name":"b\n"}}"#]
        );
        assert_eq!(page.metadata.resource_version, "12");
        assert_eq!(page.more(), Some("c1"));
        assert!(page.entries(ListForm::Table).is_empty());
        let table = br#"{"kind":"Table","columnDefinitions":[{"name":"Name"}],"rows":[{"cells":["a"]}],"metadata":{}}"#;
        let page = NamespacePage::parse(table).unwrap();
        assert_eq!(page.entries(ListForm::Table).len(), 1);
        assert_eq!(
            page.column_definitions.map(RawValue::get),
            Some(r#"[{"name":"Name"}]"#)
        );
        assert_eq!(page.more(), None);
        let empty = NamespacePage::parse(br#"{"items":null}"#).unwrap();
        assert!(empty.entries(ListForm::Json).is_empty());
        assert!(NamespacePage::parse(b"{\"items\":[").is_err());
    }
}
