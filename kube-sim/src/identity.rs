//! Who a request is: `user.Info` as kube-apiserver's authenticators produce it.

use std::collections::BTreeMap;

/// An authenticated (or impersonated) user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserInfo {
    /// `user.username`.
    pub username: String,
    /// `user.uid`, empty when unknown.
    pub uid: String,
    /// `user.groups`, including `system:authenticated` once authenticated.
    pub groups: Vec<String>,
    /// `user.extra`.
    pub extra: BTreeMap<String, Vec<String>>,
}

/// The group every authenticated user carries.
pub const AUTHENTICATED: &str = "system:authenticated";
/// The group whose members bypass authorization.
pub const MASTERS: &str = "system:masters";
/// Prefix of service-account usernames.
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

impl UserInfo {
    /// A user with the given name and groups; `system:authenticated` is added when missing.
    pub fn authenticated(username: impl Into<String>, groups: impl IntoIterator<Item = String>) -> Self {
        let username = username.into();
        let mut groups: Vec<String> = groups.into_iter().collect();
        if let Some((ns, _)) = service_account_parts(&username) {
            for g in [
                "system:serviceaccounts".to_string(),
                format!("system:serviceaccounts:{ns}"),
            ] {
                if !groups.contains(&g) {
                    groups.push(g);
                }
            }
        }
        if !groups.iter().any(|g| g == AUTHENTICATED) {
            groups.push(AUTHENTICATED.to_string());
        }
        Self {
            username,
            uid: String::new(),
            groups,
            extra: BTreeMap::new(),
        }
    }

    /// Whether the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// `(namespace, name)` of a `system:serviceaccount:<ns>:<name>` username.
pub fn service_account_parts(username: &str) -> Option<(&str, &str)> {
    let rest = username.strip_prefix(SERVICE_ACCOUNT_PREFIX)?;
    let (ns, name) = rest.split_once(':')?;
    (!ns.is_empty() && !name.is_empty() && !name.contains(':')).then_some((ns, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_accounts_get_their_groups() {
        let u = UserInfo::authenticated("system:serviceaccount:capsule-system:capsule-proxy", []);
        assert_eq!(
            u.groups,
            vec![
                "system:serviceaccounts",
                "system:serviceaccounts:capsule-system",
                "system:authenticated"
            ]
        );
        let alice = UserInfo::authenticated("alice", ["projectcapsule.dev".to_string()]);
        assert_eq!(alice.groups, vec!["projectcapsule.dev", "system:authenticated"]);
        assert_eq!(service_account_parts("system:serviceaccount:ns"), None);
    }
}
