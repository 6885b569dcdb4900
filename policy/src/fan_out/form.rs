//! Which list form an all-namespaces caller gets, read from its `Accept` header the way kube-apiserver
//! negotiates (the first media range it can serve wins), and what each namespace is asked for.
//!
//! Protobuf is answered as JSON: merging protobuf lists would mean decoding every item's envelope, and every
//! client that asks for protobuf (client-go's built-in types) lists JSON as its fallback and decodes by the
//! response's `Content-Type`.

/// The `meta.k8s.io` version of a PartialObjectMetadataList.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaVersion {
    /// `meta.k8s.io/v1`.
    V1,
    /// `meta.k8s.io/v1beta1`.
    V1beta1,
}

impl MetaVersion {
    fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V1beta1 => "v1beta1",
        }
    }
}

/// The form of a merged list (and of the events of a merged watch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListForm {
    /// `<Kind>List` of whole objects.
    Json,
    /// `meta.k8s.io/v1` Table (what `kubectl get` asks for): rows, column definitions of the first answer.
    Table,
    /// `meta.k8s.io` PartialObjectMetadataList (metadata-only informers).
    PartialObjectMetadata(MetaVersion),
}

impl ListForm {
    /// The form for an `Accept` header value (none or nothing usable: JSON).
    pub fn of_accept(accept: Option<&[u8]>) -> Self {
        let Some(text) = accept.and_then(|a| std::str::from_utf8(a).ok()) else {
            return Self::Json;
        };
        text.split(',')
            .find_map(Self::of_media_range)
            .unwrap_or(Self::Json)
    }

    /// One media range: `Some` when it can be served.
    fn of_media_range(range: &str) -> Option<Self> {
        let mut parts = range.split(';').map(str::trim);
        let media_type = parts.next()?.to_ascii_lowercase();
        let (mut as_kind, mut group, mut version) = (None, None, None);
        for param in parts {
            let (key, value) = param.split_once('=')?;
            let value = value.trim().trim_matches('"');
            match key.trim().to_ascii_lowercase().as_str() {
                "as" => as_kind = Some(value),
                "g" => group = Some(value),
                "v" => version = Some(value),
                _ => {}
            }
        }
        let known_type = matches!(
            media_type.as_str(),
            "application/json" | "application/*" | "*/*" | "application/vnd.kubernetes.protobuf"
        );
        if !known_type {
            return None;
        }
        let meta_version = match (group, version) {
            (Some("meta.k8s.io"), Some("v1")) => Some(MetaVersion::V1),
            (Some("meta.k8s.io"), Some("v1beta1")) => Some(MetaVersion::V1beta1),
            _ => None,
        };
        match as_kind {
            None => Some(Self::Json),
            Some("Table") => meta_version.map(|_| Self::Table),
            Some("PartialObjectMetadataList") => meta_version.map(Self::PartialObjectMetadata),
            Some(_) => None,
        }
    }

    /// The `Accept` each namespace is asked with.
    pub fn upstream_accept(self) -> &'static [u8] {
        match self {
            Self::Json => b"application/json",
            Self::Table => b"application/json;as=Table;v=v1;g=meta.k8s.io",
            Self::PartialObjectMetadata(MetaVersion::V1) => {
                b"application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
            }
            Self::PartialObjectMetadata(MetaVersion::V1beta1) => {
                b"application/json;as=PartialObjectMetadataList;v=v1beta1;g=meta.k8s.io"
            }
        }
    }

    /// The merged list's `kind` and `apiVersion`, for a resource of `kind` in `api_version` (`v1`, `apps/v1`).
    pub fn list_type(self, kind: &str, api_version: &str) -> (String, String) {
        match self {
            Self::Json => (format!("{kind}List"), api_version.to_owned()),
            Self::Table => ("Table".to_owned(), "meta.k8s.io/v1".to_owned()),
            Self::PartialObjectMetadata(version) => (
                "PartialObjectMetadataList".to_owned(),
                format!("meta.k8s.io/{}", version.as_str()),
            ),
        }
    }

    /// The array of a page (and of the merged list) that holds the entries.
    pub fn entries_field(self) -> &'static str {
        match self {
            Self::Table => "rows",
            Self::Json | Self::PartialObjectMetadata(_) => "items",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_servable_media_range_wins() {
        let kubectl_get = b"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(ListForm::of_accept(Some(kubectl_get)), ListForm::Table);
        let metadata = b"application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
        assert_eq!(
            ListForm::of_accept(Some(metadata)),
            ListForm::PartialObjectMetadata(MetaVersion::V1)
        );
        let client_go = b"application/vnd.kubernetes.protobuf, application/json";
        assert_eq!(ListForm::of_accept(Some(client_go)), ListForm::Json);
        assert_eq!(ListForm::of_accept(None), ListForm::Json);
        assert_eq!(ListForm::of_accept(Some(b"*/*")), ListForm::Json);
        // A Table of another group is not served; the next range is.
        let odd =
            b"application/json;as=Table;g=example.com;v=v1, application/json;as=Table;g=meta.k8s.io;v=v1";
        assert_eq!(ListForm::of_accept(Some(odd)), ListForm::Table);
        // Single-object metadata cannot answer a list: JSON.
        let single = b"application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
        assert_eq!(ListForm::of_accept(Some(single)), ListForm::Json);
        assert_eq!(ListForm::of_accept(Some(b"\xff")), ListForm::Json);
    }

    #[test]
    fn list_types_follow_the_form() {
        assert_eq!(
            ListForm::Json.list_type("Deployment", "apps/v1"),
            ("DeploymentList".to_owned(), "apps/v1".to_owned())
        );
        assert_eq!(ListForm::Table.list_type("Pod", "v1").0, "Table");
        assert_eq!(
            ListForm::PartialObjectMetadata(MetaVersion::V1beta1).list_type("Pod", "v1"),
            (
                "PartialObjectMetadataList".to_owned(),
                "meta.k8s.io/v1beta1".to_owned()
            )
        );
        assert_eq!(ListForm::Table.entries_field(), "rows");
    }
}
