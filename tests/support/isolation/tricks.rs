//! How each modifier family writes its trick into a request: query parameters (watch, paging, label and field
//! selectors, benign and hostile, duplicated, encoded, behind a `;` or an escaped key), path spellings, and
//! header lines (impersonation, `Connection:` nominations, a body the framing must keep, XFCC).

use super::family::Family;
use super::model::{CAPSULE_GROUP, Cluster, Kind, NAME_LABEL, TENANT_LABEL};
use super::rng::Rng;
use super::spelling::{self, Escaping};
use super::variants::{Catalog, Target};

/// What a variant's families write.
#[derive(Debug, Default)]
pub struct Builder {
    pub path: String,
    pub query: Vec<String>,
    pub headers: Vec<String>,
    pub body: String,
}

/// Writes `family` into the request.
pub fn spell(
    rng: &mut Rng,
    catalog: &Catalog<'_>,
    family: Family,
    target: &Target,
    caller: usize,
    request: &mut Builder,
) {
    let cluster = catalog.cluster;
    let kind = target.kind();
    match family {
        Family::Watch => {
            request
                .query
                .push(rng.pick(&["watch=1", "watch=true"]).to_string());
            request.query.push("timeoutSeconds=1".to_string());
        }
        Family::Paged => request.query.push("limit=1".to_string()),
        Family::SelectorOwn => {
            let selector = benign_selector(rng, cluster, kind);
            request.query.push(format!(
                "labelSelector={}",
                spelling::escape(&selector, Escaping::Minimal)
            ));
        }
        Family::SelectorDuplicated => {
            for _ in 0..2 {
                let selector = if rng.percent(50) {
                    benign_selector(rng, cluster, kind)
                } else {
                    hostile_selector(rng, cluster, kind)
                };
                let escaping = Escaping::any(rng);
                request
                    .query
                    .push(format!("labelSelector={}", spelling::escape(&selector, escaping)));
            }
        }
        Family::SelectorEncoded => {
            let selector = hostile_selector(rng, cluster, kind);
            let escaping = *rng.pick(&[Escaping::Plus, Escaping::Full, Escaping::FullLower]);
            request
                .query
                .push(format!("labelSelector={}", spelling::escape(&selector, escaping)));
        }
        Family::SelectorHostile => {
            let selector = hostile_selector(rng, cluster, kind);
            request.query.push(format!(
                "labelSelector={}",
                spelling::escape(&selector, Escaping::Minimal)
            ));
        }
        Family::SelectorKeyEncoded => {
            let key = rng.pick(&[
                "label%53elector",
                "labelSelecto%72",
                "%6cabelSelector",
                "labelselector",
            ]);
            let selector = hostile_selector(rng, cluster, kind);
            request
                .query
                .push(format!("{key}={}", spelling::escape(&selector, Escaping::Full)));
        }
        Family::SemicolonQuery => {
            let own = benign_selector(rng, cluster, kind);
            let hostile = hostile_selector(rng, cluster, kind);
            request.query.push(format!(
                "labelSelector={};labelSelector={}",
                spelling::escape(&own, Escaping::Full),
                spelling::escape(&hostile, Escaping::Full)
            ));
        }
        Family::FieldSelector => {
            let names = cluster.names_of(kind);
            let name = rng.pick(&names);
            let selector = if rng.percent(70) {
                format!("metadata.name={name}")
            } else {
                format!("metadata.name!={name}")
            };
            request.query.push(format!(
                "fieldSelector={}",
                spelling::escape(&selector, Escaping::any(rng))
            ));
        }
        Family::PathTrailingSlash => request.path.push('/'),
        Family::PathDoubleSlash => request.path = spelling::double_slash(rng, &request.path),
        Family::PathDotSegment => request.path = spelling::dot_segment(rng, &request.path),
        Family::PathEncodedSlash => request.path = spelling::encoded_slash(rng, &request.path),
        Family::PathEncodedLetters => request.path = spelling::encoded_letters(rng, &request.path),
        Family::PathUpperCase => request.path = spelling::upper_case(rng, &request.path),
        Family::PathEncodedSpace => request.path.push_str("%20"),
        Family::PathLegacyWatch => {
            let tail = request
                .path
                .strip_prefix(kind.prefix())
                .unwrap_or_default()
                .to_string();
            request.path = format!("{}/watch{tail}", kind.prefix());
            request.query.push("timeoutSeconds=1".to_string());
        }
        Family::AbsoluteForm => request.path = spelling::absolute_form(rng, &request.path),
        Family::ImpersonateUser => {
            let other = rng.pick(&cluster.callers);
            let name = if rng.percent(50) {
                "Impersonate-User"
            } else {
                "impersonate-user"
            };
            request.headers.push(format!("{name}: {}", other.username));
        }
        Family::ImpersonateGroup => {
            let mut groups: Vec<String> = cluster.owner_groups().into_iter().collect();
            groups.push("system:masters".to_string());
            groups.push(CAPSULE_GROUP.to_string());
            let name = if rng.percent(50) {
                "Impersonate-Group"
            } else {
                "impersonate-group"
            };
            request.headers.push(format!("{name}: {}", rng.pick(&groups)));
            if rng.percent(30) {
                let other = rng.pick(&cluster.callers);
                request
                    .headers
                    .push(format!("Impersonate-User: {}", other.username));
            }
        }
        Family::ImpersonateHopByHop => {
            let other = rng.pick(&cluster.callers);
            request.headers.push("Connection: Impersonate-User".to_string());
            request
                .headers
                .push(format!("Impersonate-User: {}", other.username));
        }
        Family::ConnectionCloseAuthorization => {
            request
                .headers
                .push("Connection: close, Authorization".to_string());
        }
        Family::ConnectionContentLength => {
            request
                .headers
                .push("Connection: keep-alive, content-length".to_string());
        }
        Family::ConnectionContentLengthBody => {
            // A whole request in the body: if the framing is lost on the way, the API server reads it as the
            // next request on that connection.
            let smuggled = format!(
                "GET {}/{} HTTP/1.1\r\nHost: kubernetes\r\n\r\n",
                kind.prefix(),
                kind.resource()
            );
            request
                .headers
                .push("Connection: keep-alive, Content-Length".to_string());
            request
                .headers
                .push(format!("Content-Length: {}", smuggled.len()));
            request.body = smuggled;
        }
        Family::ChunkedEmptyBody => {
            request.headers.push("Transfer-Encoding: chunked".to_string());
            request.body = "0\r\n\r\n".to_string();
        }
        Family::XfccUntrusted => {
            let others: Vec<usize> = (0..cluster.callers.len()).filter(|&i| i != caller).collect();
            let other = *rng.pick(&others);
            request
                .headers
                .push(format!("X-Forwarded-Client-Cert: {}", catalog.xfcc[other]));
        }
        Family::AcceptTable | Family::LowerCaseHeaders => {}
        Family::Plain
        | Family::ClientCert
        | Family::TokenOverCert
        | Family::SharedConnection
        | Family::Pipelined
        | Family::InvalidToken
        | Family::NoCredentials => unreachable!("{family} is not drawn as a modifier"),
    }
}

/// A selector an owner might write: a label the objects of the kind carry.
fn benign_selector(rng: &mut Rng, cluster: &Cluster, kind: Kind) -> String {
    let names = cluster.names_of(kind);
    match (kind, rng.below(3)) {
        (Kind::Namespace | Kind::PersistentVolume, 0) => {
            format!("{TENANT_LABEL}={}", rng.pick(&cluster.tenants).name)
        }
        (Kind::Node, 0) => format!("pool={}", rng.pick(&["p0", "p1", "p2"])),
        (Kind::Node, 1) => format!("zone in (z0,{})", rng.pick(&["z1", "z9"])),
        (_, 1) => format!("tier={}", rng.pick(&["gold", "silver", "bronze"])),
        _ => format!("{NAME_LABEL}={}", rng.pick(&names)),
    }
}

/// A selector written to widen what the proxy shows: negations, foreign names, `in (…)` lists, stray
/// separators.
fn hostile_selector(rng: &mut Rng, cluster: &Cluster, kind: Kind) -> String {
    let names = cluster.names_of(kind);
    let tenants: Vec<String> = cluster.tenants.iter().map(|t| t.name.clone()).collect();
    let some = |rng: &mut Rng, items: &[String]| -> String {
        let mut picked = rng.subset(items, 50);
        if picked.is_empty() {
            picked.push(rng.pick(items).clone());
        }
        picked.join(",")
    };
    match rng.below(14) {
        0 => format!("!{TENANT_LABEL}"),
        1 => format!("{TENANT_LABEL} in ({})", some(rng, &tenants)),
        2 => format!("{TENANT_LABEL} notin ({})", some(rng, &tenants)),
        3 => format!("{NAME_LABEL} in ({})", names.join(",")),
        4 => format!("{NAME_LABEL} notin ({})", some(rng, &names)),
        5 => format!("{NAME_LABEL}!={}", rng.pick(&names)),
        6 => format!(
            "{NAME_LABEL}={},{NAME_LABEL}={}",
            rng.pick(&names),
            rng.pick(&names)
        ),
        7 => format!(",{TENANT_LABEL}"),
        8 => format!("{NAME_LABEL},,!dontexistsignoreme"),
        9 => format!("{NAME_LABEL}={};labelSelector=", rng.pick(&names)),
        10 => format!("{TENANT_LABEL}={}&labelSelector=", rng.pick(&tenants)),
        11 => "kubernetes.io/hostname".to_string(),
        12 => format!("{NAME_LABEL} in ({}) , {TENANT_LABEL}", some(rng, &names)),
        _ => format!("!{NAME_LABEL}"),
    }
}
