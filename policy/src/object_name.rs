//! Which object names kube-apiserver could ever have stored, so that a request naming an impossible object is
//! answered `404` at once instead of being looked up: apimachinery's `NameIsDNSLabel` (namespaces),
//! `NameIsDNSSubdomain` (nodes, persistent volumes, the classes, every custom resource) and
//! `path.IsValidPathSegmentName`, which every stored object passes and the only rule of some kinds (RBAC's
//! cluster roles accept any such name, spaces included).

/// The longest DNS-1123 label.
const LABEL_MAX: usize = 63;
/// The longest DNS-1123 subdomain.
const SUBDOMAIN_MAX: usize = 253;

/// The rule the names of a kind follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 bytes.
    Dns1123Label,
    /// Dot-separated `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 253 bytes.
    Dns1123Subdomain,
    /// Not empty, not `.` or `..`, no `/` and no `%`: what every kind's names are at least.
    PathSegment,
}

impl NameRule {
    /// The rule of `resource` in `group` (`""` for core): namespaces are labels; nodes (and their metrics),
    /// persistent volumes, storage, ingress, priority and runtime classes and Capsule's tenants (a custom
    /// resource) are subdomains; any other kind is only known to be a path segment.
    pub fn of(group: &str, resource: &str) -> Self {
        match (group, resource) {
            ("", "namespaces") => NameRule::Dns1123Label,
            ("", "nodes" | "persistentvolumes")
            | ("metrics.k8s.io", "nodes")
            | ("storage.k8s.io", "storageclasses")
            | ("networking.k8s.io", "ingressclasses")
            | ("scheduling.k8s.io", "priorityclasses")
            | ("node.k8s.io", "runtimeclasses")
            | ("capsule.clastix.io", "tenants") => NameRule::Dns1123Subdomain,
            _ => NameRule::PathSegment,
        }
    }

    /// Whether an object of a kind with this rule can be named `name`.
    pub fn admits(self, name: &str) -> bool {
        match self {
            NameRule::Dns1123Label => is_dns1123_label(name),
            NameRule::Dns1123Subdomain => is_dns1123_subdomain(name),
            NameRule::PathSegment => is_path_segment_name(name),
        }
    }
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 bytes.
pub fn is_dns1123_label(name: &str) -> bool {
    name.len() <= LABEL_MAX && is_label_shaped(name)
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`, at most 253 bytes. (apimachinery does
/// not limit the dot-separated parts to 63 bytes here: a node may be named with a longer one.)
pub fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= SUBDOMAIN_MAX && name.split('.').all(is_label_shaped)
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, of any length.
fn is_label_shaped(text: &str) -> bool {
    let bytes = text.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => edge(first) && edge(last) && bytes.iter().all(|b| edge(b) || *b == b'-'),
        _ => false,
    }
}

/// apimachinery's `path.IsValidPathSegmentName`: not empty, not `.` or `..`, no `/` and no `%`.
pub fn is_path_segment_name(name: &str) -> bool {
    !matches!(name, "" | "." | "..") && !name.contains(['/', '%'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        let longest = "a".repeat(63);
        for good in ["a", "0", "gas-dev", "a-b-c", "9x", longest.as_str()] {
            assert!(is_dns1123_label(good), "{good:?} refused");
        }
        let too_long = "a".repeat(64);
        for bad in [
            "",
            "gas-dev ",
            " gas-dev",
            "gas dev",
            "Gas-dev",
            "GAS",
            "-a",
            "a-",
            "a.b",
            "a_b",
            "a\0",
            "a\t",
            "é",
            "..",
            ".",
            too_long.as_str(),
        ] {
            assert!(!is_dns1123_label(bad), "{bad:?} accepted");
        }
    }

    #[test]
    fn subdomains() {
        let longest = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        );
        assert_eq!(longest.len(), 253);
        // apimachinery does not limit the parts of a subdomain to 63 bytes.
        let long_part = format!("{}.x", "a".repeat(64));
        for good in [
            "a",
            "node-1",
            "node-1.example.com",
            "1.2.3.4",
            longest.as_str(),
            long_part.as_str(),
        ] {
            assert!(is_dns1123_subdomain(good), "{good:?} refused");
        }
        let too_long = format!("{longest}e");
        for bad in [
            "",
            ".",
            "..",
            "a.",
            ".a",
            "a..b",
            "Node-1",
            "node 1",
            "node-1 ",
            "a/b",
            "a%20b",
            "a\u{1}",
            "system:node",
            too_long.as_str(),
        ] {
            assert!(!is_dns1123_subdomain(bad), "{bad:?} accepted");
        }
    }

    #[test]
    fn path_segments() {
        for good in ["a", "system:controller:x", "a b", "A", "...", ".a", "a?b", "é"] {
            assert!(is_path_segment_name(good), "{good:?} refused");
        }
        for bad in ["", ".", "..", "a/b", "/", "a%b", "%20", "%"] {
            assert!(!is_path_segment_name(bad), "{bad:?} accepted");
        }
    }

    #[test]
    fn rules_of_kinds() {
        let cases = [
            ("", "namespaces", NameRule::Dns1123Label),
            ("", "nodes", NameRule::Dns1123Subdomain),
            ("", "persistentvolumes", NameRule::Dns1123Subdomain),
            ("metrics.k8s.io", "nodes", NameRule::Dns1123Subdomain),
            ("storage.k8s.io", "storageclasses", NameRule::Dns1123Subdomain),
            ("networking.k8s.io", "ingressclasses", NameRule::Dns1123Subdomain),
            ("scheduling.k8s.io", "priorityclasses", NameRule::Dns1123Subdomain),
            ("node.k8s.io", "runtimeclasses", NameRule::Dns1123Subdomain),
            ("capsule.clastix.io", "tenants", NameRule::Dns1123Subdomain),
            ("rbac.authorization.k8s.io", "clusterroles", NameRule::PathSegment),
            (
                "certificates.k8s.io",
                "certificatesigningrequests",
                NameRule::PathSegment,
            ),
            ("example.com", "widgets", NameRule::PathSegment),
            // A namespaces resource of another group is not the core one.
            ("example.com", "namespaces", NameRule::PathSegment),
        ];
        for (group, resource, want) in cases {
            assert_eq!(NameRule::of(group, resource), want, "{group}/{resource}");
        }
        assert!(!NameRule::of("", "namespaces").admits("a.b"));
        assert!(NameRule::of("", "nodes").admits("a.b"));
        assert!(!NameRule::of("", "nodes").admits("a b"));
        assert!(NameRule::of("rbac.authorization.k8s.io", "clusterroles").admits("a b"));
        assert!(!NameRule::of("rbac.authorization.k8s.io", "clusterroles").admits("a%b"));
    }
}
