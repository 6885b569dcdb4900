//! One request variant: a caller, what it asks for (a list or a named object of a filtered kind), the tricks
//! it is written with ([`Family`]), the bytes sent, and what the answer must be ([`Expectation`]).

use std::collections::BTreeSet;

pub use super::family::Family;
use super::family::{compatible, weighted};
use super::model::{Cluster, Kind};
use super::rng::Rng;
use super::spelling::{self, Escaping};
use super::tricks::{Builder, spell};
use super::visible::Visibility;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The collection (list, or watch with a watch family).
    List(Kind),
    /// One object by name.
    Get(Kind, String),
}

impl Target {
    /// The kind asked for.
    pub fn kind(&self) -> Kind {
        match self {
            Target::List(kind) | Target::Get(kind, _) => *kind,
        }
    }

    /// The clean path.
    pub fn path(&self) -> String {
        match self {
            Target::List(kind) => format!("{}/{}", kind.prefix(), kind.resource()),
            Target::Get(kind, name) => format!("{}/{}/{name}", kind.prefix(), kind.resource()),
        }
    }
}

/// How the caller authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Its own bearer token.
    Token,
    /// Its client certificate (maybe with its own token as well).
    Certificate,
    /// A token no one has.
    InvalidToken,
    /// Nothing.
    None,
}

/// What an answer must be, besides the checks every answer gets (no 5xx, Status JSON errors, clean
/// redirects, no object the caller may not see).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// Exactly the visible names of the kind (all pages or all events together), or the refusal the caller
    /// gets (403 for a caller who is no Capsule user, 400 for a class kind no tenant lets it list).
    ExactList,
    /// 200 with the object when visible, else 404 (403 for a caller who is no Capsule user).
    ExactGet,
    /// 401.
    Unauthorized,
    /// Only the checks every answer gets.
    Subset,
}

/// What the generator needs besides the model: per caller, an XFCC header value naming it.
#[derive(Debug, Clone)]
pub struct Catalog<'a> {
    pub cluster: &'a Cluster,
    /// `X-Forwarded-Client-Cert` values, by caller index.
    pub xfcc: &'a [String],
}

/// One generated request and its expected answer.
#[derive(Debug, Clone)]
pub struct Variant {
    /// `worker/number`, for the report.
    pub label: String,
    /// Index of the caller in the cluster's callers.
    pub caller: usize,
    pub auth: Auth,
    pub target: Target,
    pub families: BTreeSet<Family>,
    /// The request target (`path?query`) without a `continue` parameter.
    pub request_target: String,
    /// Header lines after `Host`.
    pub headers: Vec<String>,
    /// Body bytes (framing headers are in `headers`).
    pub body: String,
    pub expectation: Expectation,
    /// What the caller may see.
    pub visibility: Visibility,
}

impl Variant {
    /// Generates a variant for caller `caller` authenticating with `auth`.
    pub fn generate(rng: &mut Rng, catalog: &Catalog<'_>, label: String, caller: usize, auth: Auth) -> Self {
        let cluster = catalog.cluster;
        let who = &cluster.callers[caller];
        let visibility = match auth {
            Auth::Token => Visibility::of(cluster, who, true),
            Auth::Certificate => Visibility::of(cluster, who, false),
            Auth::InvalidToken | Auth::None => Visibility::nothing(),
        };
        let target = target(rng, cluster, &visibility);
        let mut families = BTreeSet::new();
        if auth == Auth::Certificate {
            families.insert(Family::ClientCert);
            if rng.percent(25) {
                families.insert(Family::TokenOverCert);
            }
        }
        let mut modifiers = Vec::new();
        if !rng.percent(25) {
            for _ in 0..rng.between(1, 3) {
                let family = weighted(rng);
                if compatible(family, &families, &target) {
                    families.insert(family);
                    modifiers.push(family);
                }
            }
        }
        let modified = !modifiers.is_empty();
        if !modified {
            families.insert(Family::Plain);
        }
        let mut request = Builder {
            path: target.path(),
            ..Builder::default()
        };
        for family in modifiers {
            spell(rng, catalog, family, &target, caller, &mut request);
        }
        match auth {
            Auth::InvalidToken => families.insert(Family::InvalidToken),
            Auth::None => families.insert(Family::NoCredentials),
            Auth::Token | Auth::Certificate => false,
        };
        let exact = families.iter().all(|f| f.is_transparent());
        let expectation = match (auth, &target) {
            (Auth::InvalidToken | Auth::None, _) if !modified => Expectation::Unauthorized,
            (Auth::InvalidToken | Auth::None, _) => Expectation::Subset,
            (_, Target::List(_)) if exact => Expectation::ExactList,
            (_, Target::Get(..)) if exact => Expectation::ExactGet,
            _ => Expectation::Subset,
        };
        let lower = families.contains(&Family::LowerCaseHeaders);
        let mut headers = Vec::new();
        let accept = if families.contains(&Family::AcceptTable) {
            "application/json;as=Table;v=v1;g=meta.k8s.io, application/json"
        } else {
            "application/json"
        };
        headers.push(format!("{}: {accept}", header_name("Accept", lower)));
        match auth {
            Auth::Token => headers.push(format!(
                "{}: Bearer {}",
                header_name("Authorization", lower),
                who.token
            )),
            Auth::InvalidToken => headers.push(format!(
                "{}: Bearer not-a-token-{:x}",
                header_name("Authorization", lower),
                rng.next_u64()
            )),
            Auth::Certificate | Auth::None => {}
        }
        if families.contains(&Family::TokenOverCert) {
            headers.push(format!("Authorization: Bearer {}", who.token));
        }
        headers.extend(request.headers);
        Self {
            label,
            caller,
            auth,
            target,
            families,
            request_target: format!("{}{}", request.path, query_string(&request.query)),
            headers,
            body: request.body,
            expectation,
            visibility,
        }
    }

    /// Marks the variant as written with `family` by the connection it is sent on.
    pub fn tag(&mut self, family: Family) {
        self.families.insert(family);
        if !family.is_transparent() && self.expectation != Expectation::Unauthorized {
            self.expectation = Expectation::Subset;
        }
    }

    /// Whether it lists page by page.
    pub fn is_paged(&self) -> bool {
        self.families.contains(&Family::Paged)
    }

    /// Whether the request asks the connection to close.
    pub fn closes(&self) -> bool {
        self.families.contains(&Family::ConnectionCloseAuthorization)
    }

    /// Whether nothing may follow it in a pipelined batch.
    pub fn ends_batch(&self) -> bool {
        self.families.iter().any(|f| f.ends_batch())
    }

    /// The request bytes, with `continue=<token>` appended to the query when given.
    pub fn render(&self, continue_token: Option<&str>) -> String {
        let mut target = self.request_target.clone();
        if let Some(token) = continue_token {
            target.push(if target.contains('?') { '&' } else { '?' });
            target.push_str("continue=");
            target.push_str(&spelling::escape(token, Escaping::Full));
        }
        let mut out = format!("GET {target} HTTP/1.1\r\nHost: kubernetes\r\n");
        for line in &self.headers {
            out.push_str(line);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out.push_str(&self.body);
        out
    }
}

fn header_name(name: &str, lower: bool) -> String {
    if lower {
        name.to_lowercase()
    } else {
        name.to_string()
    }
}

fn query_string(query: &[String]) -> String {
    if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    }
}

/// A list of a kind, or one object: visible to the caller, existing, or missing.
fn target(rng: &mut Rng, cluster: &Cluster, visibility: &Visibility) -> Target {
    let kind = match rng.below(100) {
        0..35 => Kind::Namespace,
        35..45 => Kind::Node,
        45..55 => Kind::Tenant,
        55..65 => Kind::PersistentVolume,
        _ => *rng.pick(&Kind::CLASSES),
    };
    if rng.percent(55) {
        return Target::List(kind);
    }
    let visible: Vec<String> = visibility.of_kind(kind).into_iter().collect();
    let existing = cluster.names_of(kind);
    let name = match rng.below(100) {
        0..40 if !visible.is_empty() => rng.pick(&visible).clone(),
        0..85 if !existing.is_empty() => rng.pick(&existing).clone(),
        _ => kind.missing_name(),
    };
    Target::Get(kind, name)
}
