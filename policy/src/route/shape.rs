//! The three path shapes the routes are made of, read without allocating:
//!
//! ```text
//!  /api/<v>/<res>[/]                         /apis/<g>/<v>/<res>[/]                        Collection
//!  /api/<v>/<res>/<name>                     /apis/<g>/<v>/<res>/<name>                    Named
//!  /api/<v>/namespaces/<ns>/<res>/<name>     /apis/<g>/<v>/namespaces/<ns>/<res>/<name>    NamespacedNamed
//! ```
//!
//! Segments are non-empty; only a collection may end with `/` (the routes written `{endpoint:res/?}`).

use super::Gvr;

/// The most segments a shape has (`apis/g/v/namespaces/ns/res/name`).
const MAX_SEGMENTS: usize = 7;

/// A path of one of the shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Shape<'a> {
    /// The resource the path names (for `NamespacedNamed`, the namespaced resource).
    pub(super) gvr: Gvr<'a>,
    /// Which shape.
    pub(super) kind: ShapeKind<'a>,
}

/// Which of the shapes a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ShapeKind<'a> {
    /// The collection.
    Collection {
        /// Whether the path ends with `/`.
        trailing_slash: bool,
    },
    /// One object of a (cluster-scoped or collection-level) resource.
    Named {
        /// The object's name.
        name: &'a str,
    },
    /// One object of a namespaced resource in a namespace.
    NamespacedNamed {
        /// The namespace.
        namespace: &'a str,
        /// The object's name.
        name: &'a str,
    },
}

impl<'a> Shape<'a> {
    /// The shape of `path`, or `None` when it has none of them.
    pub(super) fn parse(path: &'a str) -> Option<Self> {
        let rest = path.strip_prefix("/api")?;
        let (rest, trailing_slash) = match rest.strip_suffix('/') {
            Some(rest) => (rest, true),
            None => (rest, false),
        };
        let mut segments = [""; MAX_SEGMENTS];
        let mut len = 0;
        // `rest` starts after `/api`: its first segment is `""` (core) or `s` (named groups).
        let mut split = rest.split('/');
        let core = match split.next()? {
            "" => true,
            "s" => false,
            _ => return None,
        };
        for segment in split {
            if segment.is_empty() {
                return None;
            }
            *segments.get_mut(len)? = segment;
            len += 1;
        }
        let (group, version, tail) = if core {
            let (version, tail) = segments.get(..len)?.split_first()?;
            ("", *version, tail)
        } else {
            match segments.get(..len)? {
                [group, version, tail @ ..] => (*group, *version, tail),
                _ => return None,
            }
        };
        let (resource, kind) = match tail {
            [resource] => (*resource, ShapeKind::Collection { trailing_slash }),
            [resource, name] if !trailing_slash => (*resource, ShapeKind::Named { name }),
            ["namespaces", namespace, resource, name] if !trailing_slash => {
                (*resource, ShapeKind::NamespacedNamed { namespace, name })
            }
            _ => return None,
        };
        Some(Shape {
            gvr: Gvr {
                group,
                version,
                resource,
            },
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gvr<'a>(group: &'a str, version: &'a str, resource: &'a str) -> Gvr<'a> {
        Gvr {
            group,
            version,
            resource,
        }
    }

    #[test]
    fn shapes() {
        let collection = |trailing_slash| ShapeKind::Collection { trailing_slash };
        let cases: &[(&str, Option<Shape<'_>>)] = &[
            (
                "/api/v1/nodes",
                Some(Shape {
                    gvr: gvr("", "v1", "nodes"),
                    kind: collection(false),
                }),
            ),
            (
                "/api/v1/nodes/",
                Some(Shape {
                    gvr: gvr("", "v1", "nodes"),
                    kind: collection(true),
                }),
            ),
            (
                "/apis/storage.k8s.io/v1/storageclasses/gold",
                Some(Shape {
                    gvr: gvr("storage.k8s.io", "v1", "storageclasses"),
                    kind: ShapeKind::Named { name: "gold" },
                }),
            ),
            (
                "/api/v1/namespaces/oil-dev/pods/web",
                Some(Shape {
                    gvr: gvr("", "v1", "pods"),
                    kind: ShapeKind::NamespacedNamed {
                        namespace: "oil-dev",
                        name: "web",
                    },
                }),
            ),
            (
                "/apis/apps/v1/namespaces/oil-dev/deployments/web",
                Some(Shape {
                    gvr: gvr("apps", "v1", "deployments"),
                    kind: ShapeKind::NamespacedNamed {
                        namespace: "oil-dev",
                        name: "web",
                    },
                }),
            ),
            ("/api/v1/nodes/a/", None),
            ("/api/v1/namespaces/oil-dev/pods/web/", None),
            ("/api/v1/namespaces/oil-dev/pods/web/log", None),
            ("/api/v1/nodes/a/status", None),
            ("/apis/apps/v1/namespaces/oil-dev/deployments/web/scale", None),
            ("/api/v1/pods/a/b", None),
            ("/api/v1", None),
            ("/api/v1/", None),
            ("/api", None),
            ("/apis", None),
            ("/apis/apps", None),
            ("/apis/apps/v1", None),
            ("/apix/v1/nodes", None),
            ("/api//v1/nodes", None),
            ("/api/v1//nodes", None),
            ("/api/v1/nodes//", None),
            ("/version", None),
            ("/", None),
            ("", None),
            ("api/v1/nodes", None),
        ];
        for (path, want) in cases {
            assert_eq!(Shape::parse(path), *want, "{path:?}");
        }
    }
}
