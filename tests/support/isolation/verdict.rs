//! The check of every answer: never a 5xx; a redirect goes to a clean path; an error is a Kubernetes `Status`
//! with the same code; every object named by a list, a watch event, a table row or a named get is one the caller
//! may see. Variants without tricks are also checked exactly ([`check_expectation`]).

use std::collections::BTreeSet;

use serde_json::Value;

use super::super::raw::Response;
use super::model::Kind;
use super::variants::{Auth, Expectation, Target, Variant};

/// Whether kube-apiserver's own `500` to `Impersonate-Group` without `Impersonate-User` is accepted when it
/// reaches a bearer caller. kube-apiserver answers that request `500 InternalError` ("requested impersonation of
/// groups, uid or extra without impersonating a user"; kube-sim does the same), and the proxy passes a bearer
/// caller's request on an unfiltered route through with its own token and impersonation headers, so the API
/// server's answer reaches the caller (the Go proxy reviewed the group first and answered 403; on filtered
/// routes this proxy does too). No other 5xx is accepted; set this to `false` once the proxy reviews those
/// headers on every route.
pub const UPSTREAM_500_FOR_GROUP_WITHOUT_USER_ACCEPTED: bool = true;

/// What one response showed.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub status: u16,
    /// It was the API server's `500` to a group impersonated without a user
    /// ([`UPSTREAM_500_FOR_GROUP_WITHOUT_USER_ACCEPTED`]).
    pub upstream_group_without_user: bool,
    /// The objects it names, of the filtered kinds.
    pub names: BTreeSet<(Kind, String)>,
    /// The `kind`s of documents it held that are none of the filtered kinds (for the report).
    pub other_kinds: BTreeSet<String>,
    /// `metadata.continue` of a list page.
    pub continue_token: Option<String>,
}

/// Reads `response` to `variant`; an error says which rule it broke.
pub fn read_answer(variant: &Variant, response: &Response) -> Result<Answer, String> {
    let status = response.status;
    let mut answer = Answer {
        status,
        ..Answer::default()
    };
    match status {
        200..=299 => {}
        300..=399 => {
            let location = response
                .header("location")
                .ok_or_else(|| format!("a {status} without Location"))?;
            if !is_clean(location) {
                return Err(format!("a {status} to an unclean location {location:?}"));
            }
            return Ok(answer);
        }
        400..=499 => {
            status_json(response)?;
            return Ok(answer);
        }
        500 if UPSTREAM_500_FOR_GROUP_WITHOUT_USER_ACCEPTED
            && is_group_without_user_refusal(variant, response) =>
        {
            answer.upstream_group_without_user = true;
            return Ok(answer);
        }
        _ => return Err(format!("status {status}")),
    }
    let body = response.text();
    for document in serde_json::Deserializer::from_str(&body).into_iter::<Value>() {
        let document = match document {
            Ok(document) => document,
            Err(e) => {
                answer.other_kinds.insert(format!("(not JSON: {e})"));
                break;
            }
        };
        if let (Some(kind), Some(object)) = (document["type"].as_str(), document.get("object")) {
            if matches!(kind, "ADDED" | "MODIFIED" | "DELETED") {
                collect(variant, object, &mut answer);
            }
        } else {
            collect(variant, &document, &mut answer);
        }
    }
    let leaked: Vec<String> = answer
        .names
        .iter()
        .filter(|(kind, name)| !variant.visibility.sees(*kind, name))
        .map(|(kind, name)| format!("{kind:?} {name}"))
        .collect();
    if !leaked.is_empty() {
        return Err(format!("LEAK: the answer shows {leaked:?}"));
    }
    Ok(answer)
}

/// Checks what the answers (pages or events, in order) of a variant add up to against its expectation.
pub fn check_expectation(variant: &Variant, answers: &[Answer]) -> Result<(), String> {
    let visibility = &variant.visibility;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    let names: BTreeSet<&(Kind, String)> = answers.iter().flat_map(|a| &a.names).collect();
    let expect_status = |expected: u16| {
        if statuses.iter().all(|&s| s == expected) {
            Ok(())
        } else {
            Err(format!("expected {expected}, got {statuses:?}"))
        }
    };
    match (&variant.expectation, &variant.target) {
        (Expectation::Subset, _) => Ok(()),
        (Expectation::Unauthorized, _) => expect_status(401),
        (Expectation::ExactList | Expectation::ExactGet, _) if !visibility.capsule_user => expect_status(403),
        (Expectation::ExactList, Target::List(kind)) if visibility.list_refused.contains(kind) => {
            expect_status(400)
        }
        (Expectation::ExactList, Target::List(kind)) => {
            expect_status(200)?;
            let got: BTreeSet<(Kind, String)> = names.into_iter().cloned().collect();
            let expected: BTreeSet<(Kind, String)> = visibility
                .of_kind(*kind)
                .into_iter()
                .map(|name| (*kind, name))
                .collect();
            if got == expected {
                Ok(())
            } else {
                Err(format!("expected exactly {expected:?}, got {got:?}"))
            }
        }
        (Expectation::ExactGet, Target::Get(kind, name)) if visibility.sees(*kind, name) => {
            expect_status(200)?;
            let expected = (*kind, name.clone());
            if names.len() == 1 && names.contains(&expected) {
                Ok(())
            } else {
                Err(format!("expected {expected:?}, got {names:?}"))
            }
        }
        (Expectation::ExactGet, Target::Get(..)) => expect_status(404),
        (expectation, target) => Err(format!("no exact check of {expectation:?} for {target:?}")),
    }
}

/// Adds the names of one document (a list, a table, an object) to `answer`.
fn collect(variant: &Variant, document: &Value, answer: &mut Answer) {
    let kind_text = document["kind"].as_str().unwrap_or_default();
    // Metadata-only answers and tables do not say their objects' kind: they are the kind asked for.
    let kind = if kind_text == "Table" || kind_text.starts_with("PartialObjectMetadata") {
        Some(variant.target.kind())
    } else {
        Kind::of_object_kind(kind_text)
    };
    let Some(kind) = kind else {
        if kind_text != "Status" {
            answer.other_kinds.insert(kind_text.to_string());
        }
        return;
    };
    let name_of = |object: &Value| {
        object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .map(String::from)
    };
    let names: Vec<String> = if let Some(rows) = document["rows"].as_array() {
        rows.iter()
            .filter_map(|row| match row.get("object").filter(|o| !o.is_null()) {
                Some(object) => name_of(object),
                None => row.pointer("/cells/0").and_then(Value::as_str).map(String::from),
            })
            .collect()
    } else if let Some(items) = document["items"].as_array() {
        items.iter().filter_map(name_of).collect()
    } else {
        name_of(document).into_iter().collect()
    };
    answer.names.extend(names.into_iter().map(|name| (kind, name)));
    answer.continue_token = document
        .pointer("/metadata/continue")
        .and_then(Value::as_str)
        .filter(|token| !token.is_empty())
        .map(String::from);
}

/// Whether `response` is kube-apiserver's `500` to a bearer caller's `Impersonate-Group` without a user.
fn is_group_without_user_refusal(variant: &Variant, response: &Response) -> bool {
    let impersonates_group = variant
        .headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("impersonate-group:"));
    let message = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|status| status["message"].as_str().map(String::from))
        .unwrap_or_default();
    variant.auth == Auth::Token
        && impersonates_group
        && status_json(response).is_ok()
        && message.ends_with("requested impersonation of groups, uid or extra without impersonating a user")
}

/// A Kubernetes `Status` with the response's code.
fn status_json(response: &Response) -> Result<(), String> {
    let content_type = response.header("content-type").unwrap_or_default();
    if !content_type.starts_with("application/json") {
        return Err(format!(
            "a {} with content type {content_type:?}",
            response.status
        ));
    }
    let json: Value = serde_json::from_slice(&response.body)
        .map_err(|e| format!("a {} whose body is not JSON ({e})", response.status))?;
    if json["kind"] != "Status" || json["code"] != u64::from(response.status) {
        return Err(format!(
            "a {} whose body is no matching Status: {json}",
            response.status
        ));
    }
    Ok(())
}

/// Whether a redirect location is a clean path: absolute, no empty, `.` or `..` segment.
fn is_clean(location: &str) -> bool {
    let path = location.split(['?', '#']).next().unwrap_or_default();
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len() - 1;
    segments
        .iter()
        .enumerate()
        .all(|(i, s)| !matches!(*s, "." | "..") && (!s.is_empty() || i == last))
}
