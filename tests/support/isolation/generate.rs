//! The random cluster of the isolation test, drawn from one seed: tenants and their owners, the tenants'
//! namespaces (owner references as Capsule sets them, the tenant label sometimes missing), unowned namespaces
//! (some carrying a tenant label they do not deserve), nodes and node selectors, classes and allowed lists
//! (names, defaults, regexes, label selectors), persistent volumes, the CapsuleConfiguration's users (some
//! owners left out), and the callers (users, group members, service accounts, a Capsule user owning nothing,
//! a stranger).

use std::collections::BTreeMap;

use super::model::{
    AllowedList, CAPSULE_GROUP, Caller, Cluster, Kind, NAME_LABEL, Namespace, Object, Owner,
    PROJECT_TENANT_LABEL, SYSTEM_NAMESPACES, Subject, TENANT_LABEL, Tenant,
};
use super::rng::Rng;

const TENANT_WORDS: [&str; 10] = [
    "oil", "gas", "wind", "solar", "coal", "hydro", "tide", "geo", "fusion", "steam",
];
const PEOPLE: [&str; 10] = [
    "alice", "bob", "carol", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
];
const STAGES: [&str; 5] = ["dev", "prod", "stage", "ci", "qa"];
const POOLS: [&str; 4] = ["p0", "p1", "p2", "p3"];
const ZONES: [&str; 2] = ["z0", "z1"];
const TIERS: [&str; 3] = ["gold", "silver", "bronze"];
/// Class names end in one of these; an `allowedRegex` selects the first.
const FLAVORS: [&str; 2] = ["fs", "rbd"];

impl Cluster {
    /// The cluster of `seed`.
    pub fn generate(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let tenant_names: Vec<&str> = rng
            .shuffled(&TENANT_WORDS)
            .into_iter()
            .take(rng.between(3, 6))
            .collect();
        let groups: Vec<String> = (0..rng.between(2, 4)).map(|i| format!("ops-{i}")).collect();
        let users: Vec<&str> = rng
            .shuffled(&PEOPLE)
            .into_iter()
            .take(rng.between(3, 6))
            .collect();
        let service_accounts: Vec<String> = (0..rng.between(1, 2))
            .map(|i| {
                format!(
                    "system:serviceaccount:{}-ci:deployer-{i}",
                    rng.pick(&tenant_names)
                )
            })
            .collect();
        let mut subjects: Vec<Subject> = users.iter().map(|u| Subject::User(u.to_string())).collect();
        subjects.extend(groups.iter().cloned().map(Subject::Group));
        subjects.extend(service_accounts.iter().cloned().map(Subject::ServiceAccount));

        let mut objects = cluster_objects(&mut rng);
        let mut tenants: Vec<Tenant> = tenant_names
            .iter()
            .enumerate()
            .map(|(i, name)| tenant(&mut rng, i, name, &subjects, &objects, &tenant_names))
            .collect();
        // At least one Capsule user owns something: the first user owns the first tenant.
        let first_user = Subject::User(users[0].to_string());
        if !tenants[0].owners.iter().any(|o| o.subject == first_user) {
            tenants[0].owners.push(Owner {
                subject: first_user.clone(),
                list_kinds: Kind::LEGACY.into_iter().collect(),
            });
        }
        let namespaces = namespaces(&mut rng, &tenants);
        objects.insert(Kind::PersistentVolume, volumes(&mut rng, &tenant_names));

        let callers = callers(&mut rng, &users, &groups, &service_accounts);
        let mut capsule_users = vec![Subject::Group(CAPSULE_GROUP.to_string()), first_user];
        for subject in &subjects[1..] {
            match subject {
                Subject::Group(_) | Subject::User(_) if rng.percent(55) => {
                    capsule_users.push(subject.clone())
                }
                Subject::ServiceAccount(name) if rng.percent(80) => {
                    if rng.percent(70) {
                        capsule_users.push(subject.clone());
                    } else {
                        let namespace = name.split(':').nth(2).unwrap_or_default();
                        capsule_users.push(Subject::Group(format!("system:serviceaccounts:{namespace}")));
                    }
                }
                _ => {}
            }
        }
        Self {
            seed,
            tenants,
            namespaces,
            objects,
            callers,
            capsule_users,
        }
    }
}

/// Nodes and classes.
fn cluster_objects(rng: &mut Rng) -> BTreeMap<Kind, Vec<Object>> {
    let mut objects = BTreeMap::new();
    let nodes = (0..rng.between(3, 6))
        .map(|i| {
            let name = format!("node-{i}");
            let labels = BTreeMap::from([
                ("kubernetes.io/hostname".to_string(), name.clone()),
                ("pool".to_string(), rng.pick(&POOLS[..3]).to_string()),
                ("zone".to_string(), rng.pick(&ZONES).to_string()),
            ]);
            Object { name, labels }
        })
        .collect();
    objects.insert(Kind::Node, nodes);
    for kind in Kind::CLASSES {
        let classes = (0..rng.between(2, 4))
            .map(|i| {
                let name = format!("{}-{i}-{}", kind.name_prefix(), rng.pick(&FLAVORS));
                let labels = BTreeMap::from([
                    (NAME_LABEL.to_string(), name.clone()),
                    ("tier".to_string(), rng.pick(&TIERS).to_string()),
                ]);
                Object { name, labels }
            })
            .collect();
        objects.insert(kind, classes);
    }
    objects
}

/// Tenant number `index` named `name`.
fn tenant(
    rng: &mut Rng,
    index: usize,
    name: &str,
    subjects: &[Subject],
    objects: &BTreeMap<Kind, Vec<Object>>,
    tenant_names: &[&str],
) -> Tenant {
    let mut owners: Vec<Owner> = Vec::new();
    for _ in 0..rng.between(1, 3) {
        let subject = rng.pick(subjects).clone();
        if owners.iter().any(|o| o.subject == subject) {
            continue;
        }
        let list_kinds = Kind::LEGACY.into_iter().filter(|_| rng.percent(50)).collect();
        owners.push(Owner { subject, list_kinds });
    }
    let namespaces = rng
        .shuffled(&STAGES)
        .into_iter()
        .take(rng.between(0, 3))
        .map(|stage| format!("{name}-{stage}"))
        .collect();
    let node_selector = match rng.below(100) {
        0..15 => BTreeMap::new(),
        15..75 => BTreeMap::from([("pool".to_string(), rng.pick(&POOLS).to_string())]),
        _ => BTreeMap::from([
            ("pool".to_string(), rng.pick(&POOLS).to_string()),
            ("zone".to_string(), rng.pick(&ZONES).to_string()),
        ]),
    };
    let mut allowed = BTreeMap::new();
    for kind in Kind::CLASSES {
        if rng.percent(75) {
            let names: Vec<String> = objects[&kind].iter().map(|o| o.name.clone()).collect();
            allowed.insert(kind, allowed_list(rng, kind, &names, tenant_names));
        }
    }
    Tenant {
        name: name.to_string(),
        uid: format!("6d1e7a0c-0000-4000-8000-{:012x}", index + 1),
        owners,
        namespaces,
        node_selector,
        allowed,
    }
}

fn allowed_list(rng: &mut Rng, kind: Kind, names: &[String], tenant_names: &[&str]) -> AllowedList {
    let mut list = AllowedList {
        names: rng.subset(names, 35),
        ..AllowedList::default()
    };
    if rng.percent(20) {
        list.names.push(kind.missing_name());
    }
    if rng.percent(25) {
        list.default = Some(rng.pick(names).clone());
    }
    if rng.percent(25) {
        list.flavor_regex = Some(FLAVORS[0].to_string());
    }
    if rng.percent(35) {
        list.match_labels
            .insert("tier".to_string(), rng.pick(&TIERS).to_string());
    }
    if rng.percent(15) {
        let values = rng.subset(&TIERS, 50).into_iter().map(String::from).collect();
        list.match_in = Some(("tier".to_string(), values));
    }
    if kind == Kind::RuntimeClass && rng.percent(20) {
        // A label no runtime class carries: the selector opens nothing.
        list.match_labels
            .insert("runtime/tenant".to_string(), rng.pick(tenant_names).to_string());
    }
    list
}

/// The system namespaces, every tenant's namespaces and a few unowned ones.
fn namespaces(rng: &mut Rng, tenants: &[Tenant]) -> Vec<Namespace> {
    let mut out: Vec<Namespace> = SYSTEM_NAMESPACES
        .iter()
        .map(|name| Namespace {
            object: Object {
                name: name.to_string(),
                labels: BTreeMap::new(),
            },
            tenant: None,
        })
        .collect();
    for (index, tenant) in tenants.iter().enumerate() {
        for name in &tenant.namespaces {
            let mut labels = BTreeMap::new();
            match rng.below(100) {
                0..80 => {
                    labels.insert(TENANT_LABEL.to_string(), tenant.name.clone());
                    labels.insert(PROJECT_TENANT_LABEL.to_string(), tenant.name.clone());
                }
                80..90 => {
                    labels.insert(PROJECT_TENANT_LABEL.to_string(), tenant.name.clone());
                }
                _ => {}
            }
            out.push(Namespace {
                object: Object {
                    name: name.clone(),
                    labels,
                },
                tenant: Some(index),
            });
        }
    }
    for i in 0..rng.between(1, 3) {
        let mut labels = BTreeMap::new();
        if rng.percent(40) {
            // A tenant label on a namespace the tenant does not own.
            labels.insert(TENANT_LABEL.to_string(), rng.pick(tenants).name.clone());
        }
        out.push(Namespace {
            object: Object {
                name: format!("free-{i}"),
                labels,
            },
            tenant: None,
        });
    }
    for ns in &mut out {
        ns.object
            .labels
            .insert(NAME_LABEL.to_string(), ns.object.name.clone());
    }
    out
}

/// Persistent volumes, most labelled with a tenant (or a tenant that does not exist).
fn volumes(rng: &mut Rng, tenant_names: &[&str]) -> Vec<Object> {
    (0..rng.between(2, 5))
        .map(|i| {
            let mut labels = BTreeMap::new();
            match rng.below(100) {
                0..70 => {
                    labels.insert(TENANT_LABEL.to_string(), rng.pick(tenant_names).to_string());
                }
                70..80 => {
                    labels.insert(TENANT_LABEL.to_string(), "ghost".to_string());
                }
                _ => {}
            }
            Object {
                name: format!("pv-{i}"),
                labels,
            }
        })
        .collect()
}

/// The users, a member or two of the owner groups, the service accounts, a Capsule user who owns nothing and
/// an authenticated stranger who is no Capsule user.
fn callers(rng: &mut Rng, users: &[&str], groups: &[String], service_accounts: &[String]) -> Vec<Caller> {
    let mut out = Vec::new();
    for user in users {
        let mut caller_groups = Vec::new();
        if rng.percent(60) {
            caller_groups.push(CAPSULE_GROUP.to_string());
        }
        caller_groups.extend(rng.subset(groups, 30));
        out.push(Caller {
            identity: user.to_string(),
            username: user.to_string(),
            groups: caller_groups,
            token: format!("{user}-token"),
            certificate: rng.percent(60),
        });
    }
    for i in 0..rng.between(1, 2) {
        let mut caller_groups = vec![rng.pick(groups).clone()];
        caller_groups.extend(rng.subset(groups, 30));
        caller_groups.dedup();
        if rng.percent(50) {
            caller_groups.push(CAPSULE_GROUP.to_string());
        }
        out.push(Caller {
            identity: format!("member-{i}"),
            username: format!("member-{i}"),
            groups: caller_groups,
            token: format!("member-{i}-token"),
            certificate: rng.percent(50),
        });
    }
    for (i, sa) in service_accounts.iter().enumerate() {
        out.push(Caller {
            identity: format!("deployer-{i}"),
            username: sa.clone(),
            groups: Vec::new(),
            token: format!("deployer-{i}-token"),
            certificate: false,
        });
    }
    out.push(Caller {
        identity: "idle".to_string(),
        username: "idle".to_string(),
        groups: vec![CAPSULE_GROUP.to_string()],
        token: "idle-token".to_string(),
        certificate: true,
    });
    out.push(Caller {
        identity: "stranger".to_string(),
        username: "stranger".to_string(),
        groups: Vec::new(),
        token: "stranger-token".to_string(),
        certificate: true,
    });
    out
}
