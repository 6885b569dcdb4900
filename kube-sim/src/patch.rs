//! PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and Kubernetes strategic merge patch.
//!
//! Strategic merge patch follows `k8s.io/apimachinery/pkg/util/strategicpatch` as kube-apiserver applies it
//! (`MergeParallelList` and `IgnoreUnmatchedNulls` on), for the subset kubectl and controllers send:
//!
//! - maps merge recursively; `null` deletes a key; nulls inside newly added values are dropped;
//! - `$patch: replace` replaces a map with the rest of the patch map; `$patch: delete` empties a map (Kubernetes
//!   leaves `{}`; a deleted map that did not exist is not created); in a merged list, an element
//!   `{<mergeKey>: v, $patch: delete}` removes every element with that key and `{$patch: replace}` makes the other
//!   patch elements the whole list;
//! - `$retainKeys: [..]` drops the target map's keys not listed (and rejects patch keys not listed);
//! - `$setElementOrder/<field>: [..]` orders the merged list, `$deleteFromPrimitiveList/<field>: [..]` removes
//!   values from a primitive list; directive keys never end up in the result;
//! - lists with `patchStrategy=merge` merge element by element on their merge key, others are replaced.
//!
//! **Simplification**: the patch strategy is decided by the field name alone, not by the kind's schema:
//! `containers`, `initContainers`, `ephemeralContainers`, `volumes`, `imagePullSecrets`, `env` merge on `name`,
//! `hostAliases` on `ip`, `ports` on `containerPort` (on `port` when the items carry `port` but no
//! `containerPort`, as Service ports do), `volumeMounts` on `mountPath`, `volumeDevices` on `devicePath`,
//! `ownerReferences` on `uid`, `conditions` on `type`; `finalizers` is a primitive list merged as a set. Every
//! other list is replaced wholesale. So a same-named field of another kind (say a CRD's `conditions`) merges too.
//!
//! Ordering of merged lists is Kubernetes': the patch order wins for the items the patch (or
//! `$setElementOrder`) names, server-only items keep their relative order and are interleaved by their live
//! position, so without `$setElementOrder` an item new to the list comes before the server-only items that
//! follow the last named one (as kube-apiserver does for a hand-written `kubectl patch`).
//!
//! All three functions are atomic: on error the target is left untouched.

use serde_json::{Map, Value};

/// Why a patch could not be applied. [`PatchError::status_code`] gives the HTTP status kube-apiserver uses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The JSON patch document is malformed (not an array, missing member, unknown op, bad pointer).
    #[error("invalid JSON patch: operation {index}: {reason}")]
    InvalidJsonPatch {
        /// Index of the offending operation (0 when the document itself is not an array).
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A JSON patch operation does not apply to the document (missing path, bad index, …).
    #[error("{op} operation does not apply: {reason}: {path}")]
    OperationFailed {
        /// The operation name (`add`, `remove`, …).
        op: &'static str,
        /// The JSON pointer at fault.
        path: String,
        /// Why it does not apply.
        reason: String,
    },
    /// A JSON patch `test` operation found a different value.
    #[error("testing value {path} failed")]
    TestFailed {
        /// The tested JSON pointer.
        path: String,
    },
    /// The strategic merge patch is malformed (bad directive, not an object, …).
    #[error("invalid strategic merge patch: {0}")]
    InvalidStrategicPatch(String),
    /// An element of a merged list lacks its merge key.
    #[error("map: {item} does not contain declared merge key: {key}")]
    MissingMergeKey {
        /// The element, as JSON.
        item: String,
        /// The merge key.
        key: &'static str,
    },
    /// A merged list cannot be merged (mixed element types, lists of lists, maps without merge key).
    #[error("cannot merge list {field}: {reason}")]
    UnmergeableList {
        /// The list's field name.
        field: String,
        /// Why.
        reason: String,
    },
}

impl PatchError {
    /// The HTTP status kube-apiserver answers with: 400 for a malformed patch, 422 for one that does not apply.
    pub fn status_code(&self) -> u16 {
        match self {
            PatchError::InvalidJsonPatch { .. } | PatchError::InvalidStrategicPatch(_) => 400,
            PatchError::OperationFailed { .. }
            | PatchError::TestFailed { .. }
            | PatchError::MissingMergeKey { .. }
            | PatchError::UnmergeableList { .. } => 422,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// RFC 7386 JSON merge patch.

/// Applies an RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else replaces
/// (the `json-patch` crate's `merge`, which is RFC 7386 exactly, as kube-apiserver applies it).
pub fn merge_patch(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

// ---------------------------------------------------------------------------------------------------------
// RFC 6902 JSON patch.
//
// Our own, not the `json-patch` crate's `patch`: kube-apiserver (evanphx/json-patch) compares numbers by value
// in `test` (`1` equals `1.0`), which the crate does not; the crate reports a missing path and a malformed one
// alike (`InvalidPointer`), where kube-apiserver words them apart; and a malformed operation anywhere must be
// refused (400) before any is applied, while a failing one is 422.

/// One parsed JSON patch operation.
enum Op {
    Add { path: String, value: Value },
    Remove { path: String },
    Replace { path: String, value: Value },
    Move { from: String, path: String },
    Copy { from: String, path: String },
    Test { path: String, value: Value },
}

/// Applies an RFC 6902 JSON patch and returns the patched document; `target` is never modified.
///
/// Every operation is parsed before any is applied, and they apply to a copy, so a failure leaves nothing
/// applied.
pub fn json_patch(target: &Value, ops: &Value) -> Result<Value, PatchError> {
    let Value::Array(list) = ops else {
        return Err(PatchError::InvalidJsonPatch {
            index: 0,
            reason: "a JSON patch must be an array of operations".to_owned(),
        });
    };
    let parsed = list
        .iter()
        .enumerate()
        .map(|(i, op)| parse_op(i, op))
        .collect::<Result<Vec<_>, _>>()?;
    let mut doc = target.clone();
    for op in parsed {
        apply_op(&mut doc, op)?;
    }
    Ok(doc)
}

fn parse_op(index: usize, op: &Value) -> Result<Op, PatchError> {
    let bad = |reason: String| PatchError::InvalidJsonPatch { index, reason };
    let Value::Object(fields) = op else {
        return Err(bad("an operation must be an object".to_owned()));
    };
    let pointer = |name: &str| -> Result<String, PatchError> {
        let Some(value) = fields.get(name) else {
            return Err(bad(format!("missing \"{name}\"")));
        };
        let Some(text) = value.as_str() else {
            return Err(bad(format!("\"{name}\" must be a string")));
        };
        parse_pointer(text).map_err(bad)?;
        Ok(text.to_owned())
    };
    let value = || {
        fields
            .get("value")
            .cloned()
            .ok_or_else(|| bad("missing \"value\"".to_owned()))
    };
    let Some(name) = fields.get("op").and_then(Value::as_str) else {
        return Err(bad("missing \"op\"".to_owned()));
    };
    Ok(match name {
        "add" => Op::Add {
            path: pointer("path")?,
            value: value()?,
        },
        "remove" => Op::Remove {
            path: pointer("path")?,
        },
        "replace" => Op::Replace {
            path: pointer("path")?,
            value: value()?,
        },
        "move" => Op::Move {
            from: pointer("from")?,
            path: pointer("path")?,
        },
        "copy" => Op::Copy {
            from: pointer("from")?,
            path: pointer("path")?,
        },
        "test" => Op::Test {
            path: pointer("path")?,
            value: value()?,
        },
        other => return Err(bad(format!("unknown op {other:?}"))),
    })
}

/// Splits a JSON pointer (RFC 6901) into unescaped reference tokens.
fn parse_pointer(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(format!(
            "JSON pointer {pointer:?} must be empty or start with '/'"
        ));
    };
    rest.split('/')
        .map(|token| {
            let mut out = String::with_capacity(token.len());
            let mut chars = token.chars();
            while let Some(c) = chars.next() {
                if c != '~' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('0') => out.push('~'),
                    Some('1') => out.push('/'),
                    _ => return Err(format!("JSON pointer {pointer:?} has an invalid '~' escape")),
                }
            }
            Ok(out)
        })
        .collect()
}

/// An array index token: decimal without leading zeros; `-` (one past the end) only when `allow_end`.
fn array_index(token: &str, len: usize, allow_end: bool) -> Option<usize> {
    if token == "-" {
        return allow_end.then_some(len);
    }
    if token.is_empty()
        || !token.bytes().all(|b| b.is_ascii_digit())
        || (token.len() > 1 && token.starts_with('0'))
    {
        return None;
    }
    let index: usize = token.parse().ok()?;
    let in_range = if allow_end { index <= len } else { index < len };
    in_range.then_some(index)
}

fn pointer_get<'a>(doc: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    tokens.iter().try_fold(doc, |v, t| match v {
        Value::Object(m) => m.get(t),
        Value::Array(a) => a.get(array_index(t, a.len(), false)?),
        _ => None,
    })
}

fn pointer_get_mut<'a>(doc: &'a mut Value, tokens: &[String]) -> Option<&'a mut Value> {
    tokens.iter().try_fold(doc, |v, t| match v {
        Value::Object(m) => m.get_mut(t),
        Value::Array(a) => {
            let i = array_index(t, a.len(), false)?;
            a.get_mut(i)
        }
        _ => None,
    })
}

/// Tokens of a pointer already validated by [`parse_op`].
fn tokens_of(path: &str) -> Vec<String> {
    parse_pointer(path).unwrap_or_default()
}

fn apply_op(doc: &mut Value, op: Op) -> Result<(), PatchError> {
    match op {
        Op::Add { path, value } => add(doc, "add", &path, value),
        Op::Remove { path } => remove(doc, "remove", &path).map(drop),
        Op::Replace { path, value } => {
            let slot = pointer_get_mut(doc, &tokens_of(&path)).ok_or_else(|| missing("replace", &path))?;
            *slot = value;
            Ok(())
        }
        Op::Move { from, path } => {
            if from == path {
                return pointer_get(doc, &tokens_of(&from))
                    .map(drop)
                    .ok_or_else(|| missing("move", &from));
            }
            if path.starts_with(&format!("{from}/")) {
                return Err(PatchError::OperationFailed {
                    op: "move",
                    path,
                    reason: format!("cannot move {from} into one of its children"),
                });
            }
            let value = remove(doc, "move", &from)?;
            add(doc, "move", &path, value)
        }
        Op::Copy { from, path } => {
            let value = pointer_get(doc, &tokens_of(&from))
                .cloned()
                .ok_or_else(|| missing("copy", &from))?;
            add(doc, "copy", &path, value)
        }
        Op::Test { path, value } => match pointer_get(doc, &tokens_of(&path)) {
            Some(found) if json_eq(found, &value) => Ok(()),
            _ => Err(PatchError::TestFailed { path }),
        },
    }
}

fn missing(op: &'static str, path: &str) -> PatchError {
    PatchError::OperationFailed {
        op,
        path: path.to_owned(),
        reason: "doc is missing path".to_owned(),
    }
}

fn add(doc: &mut Value, op: &'static str, path: &str, value: Value) -> Result<(), PatchError> {
    let tokens = tokens_of(path);
    let Some((last, parent)) = tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    match pointer_get_mut(doc, parent) {
        Some(Value::Object(m)) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Some(Value::Array(a)) => {
            let i = array_index(last, a.len(), true).ok_or_else(|| PatchError::OperationFailed {
                op,
                path: path.to_owned(),
                reason: format!("invalid array index {last:?} for an array of {} items", a.len()),
            })?;
            a.insert(i, value);
            Ok(())
        }
        Some(_) => Err(PatchError::OperationFailed {
            op,
            path: path.to_owned(),
            reason: "parent is neither an object nor an array".to_owned(),
        }),
        None => Err(missing(op, path)),
    }
}

fn remove(doc: &mut Value, op: &'static str, path: &str) -> Result<Value, PatchError> {
    let tokens = tokens_of(path);
    let Some((last, parent)) = tokens.split_last() else {
        return Err(PatchError::OperationFailed {
            op,
            path: path.to_owned(),
            reason: "cannot remove the whole document".to_owned(),
        });
    };
    let removed = match pointer_get_mut(doc, parent) {
        Some(Value::Object(m)) => m.remove(last),
        Some(Value::Array(a)) => array_index(last, a.len(), false).map(|i| a.remove(i)),
        _ => None,
    };
    removed.ok_or_else(|| missing(op, path))
}

/// JSON equality where numbers compare numerically (`1` equals `1.0`), as RFC 6902 `test` requires.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x.is_f64() || y.is_f64() {
                x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x == y)
            } else {
                x == y
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------------------------------------
// Strategic merge patch.

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// How a list field is patched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListStrategy {
    /// The patch list replaces the target list.
    Replace,
    /// Elements are maps merged on this key.
    MergeKey(&'static str),
    /// Elements are primitives merged as a set.
    Primitive,
}

/// How list elements are identified when ordering: by merge key, or by the whole value.
#[derive(Debug, Clone, Copy)]
enum Identity {
    Key(&'static str),
    Whole,
}

/// The patch strategy of a list field, decided by its name (see the module header).
fn list_strategy(field: &str, original: &[Value], patch: &[Value]) -> Result<ListStrategy, PatchError> {
    let key = match field {
        "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "imagePullSecrets" | "env" => {
            Some("name")
        }
        "hostAliases" => Some("ip"),
        "ports" => {
            let has = |k: &str| original.iter().chain(patch).any(|v| v.get(k).is_some());
            Some(if !has("containerPort") && has("port") {
                "port"
            } else {
                "containerPort"
            })
        }
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "ownerReferences" => Some("uid"),
        "conditions" => Some("type"),
        "finalizers" => None,
        _ => return Ok(ListStrategy::Replace),
    };
    let unmergeable = |reason: &str| PatchError::UnmergeableList {
        field: field.to_owned(),
        reason: reason.to_owned(),
    };
    let items = || original.iter().chain(patch);
    if items().any(Value::is_array) {
        return Err(unmergeable("lists of lists are not supported"));
    }
    let maps = items().filter(|v| v.is_object()).count();
    if maps == 0 {
        return Ok(ListStrategy::Primitive);
    }
    if maps != original.len() + patch.len() {
        return Err(unmergeable("elements mix maps and primitives"));
    }
    key.map(ListStrategy::MergeKey)
        .ok_or_else(|| unmergeable("its elements are maps but it has no merge key"))
}

fn identity_of(strategy: ListStrategy) -> Identity {
    match strategy {
        ListStrategy::MergeKey(key) => Identity::Key(key),
        ListStrategy::Replace | ListStrategy::Primitive => Identity::Whole,
    }
}

/// Whether two elements are the same element under `identity`.
fn same_element(a: &Value, b: &Value, identity: Identity) -> bool {
    match identity {
        Identity::Key(key) => match (a.get(key), b.get(key)) {
            (Some(x), Some(y)) => json_eq(x, y),
            _ => false,
        },
        Identity::Whole => json_eq(a, b),
    }
}

fn position(list: &[Value], item: &Value, identity: Identity) -> Option<usize> {
    list.iter().position(|x| same_element(x, item, identity))
}

/// Orders a merged list as `strategicpatch.normalizeElementOrder` does: `named` items sorted by `named_order`,
/// `server_only` items by `server_order`, then interleaved: a server-only item goes first only when both items
/// are in `server_order` and it comes earlier there.
fn normalize_order(
    mut named: Vec<Value>,
    mut server_only: Vec<Value>,
    named_order: &[Value],
    server_order: &[Value],
    identity: Identity,
) -> Vec<Value> {
    named.sort_by_key(|v| position(named_order, v, identity).unwrap_or(usize::MAX));
    server_only.sort_by_key(|v| position(server_order, v, identity).unwrap_or(usize::MAX));
    let mut out = Vec::with_capacity(named.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = named.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                matches!(
                    (position(server_order, l, identity), position(server_order, r, identity)),
                    (Some(li), Some(ri)) if li < ri
                )
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

/// Splits `merged` into (items named in `names`, the others), keeping order.
fn partition(merged: Vec<Value>, names: &[Value], identity: Identity) -> (Vec<Value>, Vec<Value>) {
    merged
        .into_iter()
        .partition(|v| position(names, v, identity).is_some())
}

/// Applies a Kubernetes strategic merge patch (see the module header for the supported subset).
///
/// The patch must be a JSON object; a target that is not an object is treated as `{}`. On error the target
/// is left untouched.
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let Value::Object(patch) = patch else {
        return Err(PatchError::InvalidStrategicPatch(
            "the patch must be a JSON object".to_owned(),
        ));
    };
    let mut work = match target {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    merge_map(&mut work, patch)?;
    *target = Value::Object(work);
    Ok(())
}

fn bad(reason: impl Into<String>) -> PatchError {
    PatchError::InvalidStrategicPatch(reason.into())
}

fn is_directive_key(key: &str) -> bool {
    key == DIRECTIVE
        || key == RETAIN_KEYS
        || key.starts_with(SET_ELEMENT_ORDER)
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

/// Merges a patch map into a target map.
fn merge_map(original: &mut Map<String, Value>, patch: &Map<String, Value>) -> Result<(), PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        match directive.as_str() {
            Some("replace") => original.clear(),
            Some("delete") => {
                original.clear();
                return Ok(());
            }
            _ => return Err(bad(format!("unknown patch type: {directive} in map"))),
        }
    }

    if let Some(retain) = patch.get(RETAIN_KEYS) {
        let Some(retain) = retain.as_array() else {
            return Err(bad("invalid patch format of retainKeys"));
        };
        let listed = |k: &str| retain.iter().any(|r| r.as_str() == Some(k));
        if patch
            .iter()
            .any(|(k, v)| !v.is_null() && !is_directive_key(k) && !listed(k))
        {
            return Err(bad(
                "invalid patch format of retainKeys: the patch has keys $retainKeys does not list",
            ));
        }
        original.retain(|k, _| listed(k));
    }

    // `$setElementOrder/<field>`: merge the field now and order the result.
    let mut ordered: Vec<&str> = Vec::new();
    for (key, order) in patch {
        let Some(field) = key.strip_prefix(SET_ELEMENT_ORDER) else {
            continue;
        };
        let Some(order) = order.as_array() else {
            return Err(bad("invalid patch format of setElementOrder list"));
        };
        let patch_list = match patch.get(field) {
            None => None,
            Some(Value::Array(list)) => Some(list.as_slice()),
            Some(_) => return Err(bad(format!("{key} is given but {field} is not a list"))),
        };
        let original_list = match original.get(field) {
            Some(Value::Array(list)) => Some(list.clone()),
            _ => None,
        };
        let base = original_list.as_deref().unwrap_or_default();
        let strategy = list_strategy(field, base, patch_list.unwrap_or_default())?;
        let identity = identity_of(strategy);
        check_order(field, patch_list.unwrap_or_default(), order, identity)?;
        let merged = match (original_list.as_deref(), patch_list) {
            (Some(o), Some(p)) => merge_list(field, o, p)?,
            (Some(o), None) => o.to_vec(),
            (None, Some(p)) => merge_list(field, &[], p)?,
            (None, None) => continue,
        };
        let (named, server_only) = partition(merged, order, identity);
        let result = normalize_order(named, server_only, order, base, identity);
        original.insert(field.to_owned(), Value::Array(result));
        ordered.push(field);
    }

    // `$deleteFromPrimitiveList/<field>`.
    for (key, values) in patch {
        let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) else {
            continue;
        };
        let Some(values) = values.as_array() else {
            return Err(bad("invalid patch format of primitive list"));
        };
        if let Some(Value::Array(items)) = original.get_mut(field) {
            items.retain(|item| !values.iter().any(|v| json_eq(v, item)));
        }
    }

    for (key, value) in patch {
        if is_directive_key(key) || ordered.contains(&key.as_str()) {
            continue;
        }
        if value.is_null() {
            original.remove(key);
            continue;
        }
        match (original.get_mut(key), value) {
            (Some(Value::Object(o)), Value::Object(p)) => merge_map(o, p)?,
            (Some(Value::Array(o)), Value::Array(p)) => {
                let merged = merge_list(key, o, p)?;
                *o = merged;
            }
            _ => match fresh(key, value)? {
                Some(v) => {
                    original.insert(key.clone(), v);
                }
                None => {
                    original.remove(key);
                }
            },
        }
    }
    Ok(())
}

/// A patch value for a key the target lacks (or holds with another type): directives applied to nothing,
/// nulls dropped. `None` when nothing is left (a `null`, or a map that says `$patch: delete`).
fn fresh(field: &str, value: &Value) -> Result<Option<Value>, PatchError> {
    Ok(match value {
        Value::Null => None,
        Value::Object(p) if p.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") => None,
        Value::Object(p) => {
            let mut m = Map::new();
            merge_map(&mut m, p)?;
            Some(Value::Object(m))
        }
        Value::Array(p) => Some(Value::Array(merge_list(field, &[], p)?)),
        scalar => Some(scalar.clone()),
    })
}

/// Checks that the patch list's items appear in `$setElementOrder` in the same relative order.
fn check_order(field: &str, patch: &[Value], order: &[Value], identity: Identity) -> Result<(), PatchError> {
    let mut next = 0;
    for item in patch.iter().filter(|v| v.get(DIRECTIVE).is_none()) {
        match order[next..].iter().position(|o| same_element(o, item, identity)) {
            Some(i) => next += i + 1,
            None => {
                return Err(bad(format!(
                    "the order in patch list {field} doesn't match the $setElementOrder/{field} list"
                )));
            }
        }
    }
    Ok(())
}

/// Merges a patch list into a target list according to the field's strategy.
fn merge_list(field: &str, original: &[Value], patch: &[Value]) -> Result<Vec<Value>, PatchError> {
    match list_strategy(field, original, patch)? {
        ListStrategy::Replace => {
            let mut out = Vec::with_capacity(patch.len());
            for item in patch {
                // A stray directive element is dropped, as `strategicpatch.removeDirectives` does.
                if item.get(DIRECTIVE).is_some() {
                    continue;
                }
                out.extend(fresh("", item)?);
            }
            Ok(out)
        }
        ListStrategy::Primitive => {
            let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
            for item in original.iter().chain(patch) {
                if position(&merged, item, Identity::Whole).is_none() {
                    merged.push(item.clone());
                }
            }
            let (named, server_only) = partition(merged, patch, Identity::Whole);
            Ok(normalize_order(
                named,
                server_only,
                patch,
                original,
                Identity::Whole,
            ))
        }
        ListStrategy::MergeKey(key) => merge_keyed_list(original, patch, key),
    }
}

/// Merges lists of maps on `key`, honouring `$patch: delete` / `$patch: replace` elements.
fn merge_keyed_list(
    original: &[Value],
    patch: &[Value],
    key: &'static str,
) -> Result<Vec<Value>, PatchError> {
    let no_key = |item: &Map<String, Value>| PatchError::MissingMergeKey {
        item: Value::Object(item.clone()).to_string(),
        key,
    };
    let mut server: Vec<Value> = original.to_vec();
    let mut items: Vec<&Map<String, Value>> = Vec::new();
    let mut replace = false;
    for item in patch.iter().filter_map(Value::as_object) {
        let Some(directive) = item.get(DIRECTIVE) else {
            items.push(item);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let value = item.get(key).ok_or_else(|| no_key(item))?;
                server.retain(|o| !o.get(key).is_some_and(|v| json_eq(v, value)));
            }
            Some("replace") => replace = true,
            Some("merge") => return Err(bad("merging lists cannot yet be specified in the patch")),
            _ => return Err(bad(format!("unknown patch type: {directive} in list element"))),
        }
    }
    if replace {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let mut m = Map::new();
            merge_map(&mut m, item)?;
            out.push(Value::Object(m));
        }
        return Ok(out);
    }
    let mut merged = server.clone();
    for item in &items {
        let value = item.get(key).ok_or_else(|| no_key(item))?;
        match merged
            .iter_mut()
            .find(|o| o.get(key).is_some_and(|v| json_eq(v, value)))
        {
            Some(Value::Object(existing)) => merge_map(existing, item)?,
            _ => {
                let mut m = Map::new();
                merge_map(&mut m, item)?;
                merged.push(Value::Object(m));
            }
        }
    }
    let named_order: Vec<Value> = items.iter().map(|m| Value::Object((*m).clone())).collect();
    let identity = Identity::Key(key);
    let (named, server_only) = partition(merged, &named_order, identity);
    Ok(normalize_order(
        named,
        server_only,
        &named_order,
        &server,
        identity,
    ))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    fn container_names(pod: &Value) -> Vec<&str> {
        pod["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect()
    }

    use super::*;

    fn merged(mut target: Value, patch: Value) -> Value {
        merge_patch(&mut target, &patch);
        target
    }

    #[test]
    fn merge_patch_rfc7386_examples() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": "b", "b": "c"}), json!({"a": null}), json!({"b": "c"})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (target, patch, want) in cases {
            assert_eq!(merged(target.clone(), patch.clone()), want, "{target} + {patch}");
        }
    }

    #[test]
    fn json_patch_each_op() {
        let doc = json!({"a": {"b": [1, 2]}, "c": "x", "k~/": 0});
        let ops = json!([
            {"op": "add", "path": "/a/b/1", "value": 9},
            {"op": "add", "path": "/a/b/-", "value": 3},
            {"op": "add", "path": "/d", "value": {"e": 1}},
            {"op": "remove", "path": "/k~0~1"},
            {"op": "replace", "path": "/c", "value": "y"},
            {"op": "move", "from": "/d/e", "path": "/f"},
            {"op": "copy", "from": "/a/b", "path": "/g"},
            {"op": "test", "path": "/g", "value": [1, 9, 2, 3]},
            {"op": "test", "path": "/f", "value": 1.0}
        ]);
        let out = json_patch(&doc, &ops).unwrap();
        assert_eq!(
            out,
            json!({"a": {"b": [1, 9, 2, 3]}, "c": "y", "d": {}, "f": 1, "g": [1, 9, 2, 3]})
        );
        // The input is never modified.
        assert_eq!(doc["c"], "x");
        // The root can be replaced.
        assert_eq!(
            json_patch(&doc, &json!([{"op": "replace", "path": "", "value": 5}])).unwrap(),
            json!(5)
        );
        assert_eq!(
            json_patch(&doc, &json!([{"op": "add", "path": "", "value": [1]}])).unwrap(),
            json!([1])
        );
        // Moving to itself is a no-op.
        assert_eq!(
            json_patch(&doc, &json!([{"op": "move", "from": "/c", "path": "/c"}])).unwrap(),
            doc
        );
    }

    #[test]
    fn json_patch_failures_are_atomic() {
        let doc = json!({"a": 1, "list": [1]});
        let ops = json!([
            {"op": "replace", "path": "/a", "value": 2},
            {"op": "remove", "path": "/missing"}
        ]);
        let err = json_patch(&doc, &ops).unwrap_err();
        assert_eq!(
            err.to_string(),
            "remove operation does not apply: doc is missing path: /missing"
        );
        assert_eq!(err.status_code(), 422);
        assert_eq!(doc, json!({"a": 1, "list": [1]}));

        let failing = [
            json!([{"op": "add", "path": "/list/5", "value": 0}]),
            json!([{"op": "add", "path": "/list/01", "value": 0}]),
            json!([{"op": "replace", "path": "/list/-", "value": 0}]),
            json!([{"op": "add", "path": "/a/b", "value": 0}]),
            json!([{"op": "add", "path": "/x/y", "value": 0}]),
            json!([{"op": "move", "from": "/list", "path": "/list/0"}]),
            json!([{"op": "copy", "from": "/nope", "path": "/b"}]),
            json!([{"op": "remove", "path": ""}]),
        ];
        for ops in failing {
            let err = json_patch(&doc, &ops).unwrap_err();
            assert_eq!(err.status_code(), 422, "{ops}: {err}");
        }
    }

    #[test]
    fn json_patch_test_op_and_malformed_documents() {
        let doc = json!({"a": "x"});
        let err = json_patch(&doc, &json!([{"op": "test", "path": "/a", "value": "y"}])).unwrap_err();
        assert_eq!(
            err,
            PatchError::TestFailed {
                path: "/a".to_owned()
            }
        );
        assert_eq!(err.to_string(), "testing value /a failed");
        assert!(json_patch(&doc, &json!([{"op": "test", "path": "/b", "value": null}])).is_err());

        let malformed = [
            json!({"op": "add"}),
            json!([{"op": "frobnicate", "path": "/a"}]),
            json!([{"path": "/a"}]),
            json!([{"op": "add", "path": "a", "value": 1}]),
            json!([{"op": "add", "path": "/a~2", "value": 1}]),
            json!([{"op": "add", "path": "/a"}]),
            json!([{"op": "move", "path": "/a"}]),
            json!(["add"]),
        ];
        for ops in malformed {
            let err = json_patch(&doc, &ops).unwrap_err();
            assert_eq!(err.status_code(), 400, "{ops}: {err}");
        }
        // A malformed later operation means nothing is applied.
        let err = json_patch(
            &doc,
            &json!([{"op": "add", "path": "/b", "value": 1}, {"op": "nope"}]),
        )
        .unwrap_err();
        assert!(
            matches!(err, PatchError::InvalidJsonPatch { index: 1, .. }),
            "{err}"
        );
    }

    fn smp(target: Value, patch: Value) -> Value {
        let mut target = target;
        strategic_merge_patch(&mut target, &patch).unwrap();
        target
    }

    fn pod() -> Value {
        json!({
            "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}, "finalizers": ["a", "b"]},
            "spec": {
                "containers": [
                    {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 80}]},
                    {"name": "sidecar", "image": "proxy:1"}
                ],
                "tolerations": [{"key": "x"}, {"key": "y"}]
            }
        })
    }

    #[test]
    fn smp_labels_add_and_remove() {
        let out = smp(
            pod(),
            json!({"metadata": {"labels": {"tier": null, "env": "prod"}}}),
        );
        assert_eq!(out["metadata"]["labels"], json!({"app": "web", "env": "prod"}));
        assert_eq!(out["spec"], pod()["spec"]);
    }

    #[test]
    fn smp_containers_merge_by_name() {
        let out = smp(
            pod(),
            json!({"spec": {"containers": [{"name": "app", "image": "app:2", "env": [{"name": "B", "value": "2"}]}]}}),
        );
        let containers = &out["spec"]["containers"];
        assert_eq!(containers.as_array().unwrap().len(), 2);
        assert_eq!(containers[0]["name"], "app");
        assert_eq!(containers[0]["image"], "app:2");
        // Untouched fields survive, nested merge lists merge too.
        assert_eq!(containers[0]["ports"], json!([{"containerPort": 80}]));
        // As in Kubernetes, an element new to the list comes before the server-only ones (no $setElementOrder).
        assert_eq!(
            containers[0]["env"],
            json!([{"name": "B", "value": "2"}, {"name": "A", "value": "1"}])
        );
        assert_eq!(containers[1], json!({"name": "sidecar", "image": "proxy:1"}));
    }

    #[test]
    fn smp_new_list_items_follow_kubernetes_order() {
        // Without $setElementOrder a new item goes before the server-only items after the last named one.
        let out = smp(
            pod(),
            json!({"spec": {"containers": [{"name": "debug", "image": "busybox"}]}}),
        );
        let names = container_names(&out);
        assert_eq!(names, ["debug", "app", "sidecar"]);
        let out = smp(
            pod(),
            json!({"spec": {"containers": [{"name": "sidecar"}, {"name": "debug"}]}}),
        );
        let names = container_names(&out);
        assert_eq!(names, ["app", "sidecar", "debug"]);
        // Kubernetes' own "preserve the order from the patch" cases.
        let base = json!({"containers": [{"name": "1"}, {"name": "2", "value": "b"}, {"name": "3"}]});
        let out = smp(
            base,
            json!({"containers": [{"name": "3", "value": "c"}, {"name": "1", "value": "a"}]}),
        );
        assert_eq!(
            out["containers"],
            json!([{"name": "2", "value": "b"}, {"name": "3", "value": "c"}, {"name": "1", "value": "a"}])
        );
        let out = smp(json!({"finalizers": [1, 2, 3]}), json!({"finalizers": [3, 1]}));
        assert_eq!(out["finalizers"], json!([2, 3, 1]));
    }

    #[test]
    fn smp_set_element_order() {
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "debug"}, {"name": "app"}],
            "containers": [{"name": "debug", "image": "busybox"}]
        }});
        let out = smp(pod(), patch);
        let names = container_names(&out);
        assert_eq!(names, ["sidecar", "debug", "app"]);
        assert_eq!(out["spec"]["containers"][2]["image"], "app:1");
        assert!(out["spec"].get("$setElementOrder/containers").is_none());
        // Order alone reorders the live list.
        let out = smp(
            pod(),
            json!({"metadata": {"$setElementOrder/finalizers": ["b", "a"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["b", "a"]));
        // A patch list that contradicts the order is rejected.
        let err = strategic_merge_patch(
            &mut pod(),
            &json!({"spec": {"$setElementOrder/containers": [{"name": "app"}], "containers": [{"name": "x"}]}}),
        )
        .unwrap_err();
        assert_eq!(err.status_code(), 400);
    }

    #[test]
    fn smp_delete_list_element() {
        let out = smp(
            pod(),
            json!({"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}),
        );
        assert_eq!(out["spec"]["containers"].as_array().unwrap().len(), 1);
        assert_eq!(out["spec"]["containers"][0]["name"], "app");
        // All duplicates go.
        let out = smp(
            json!({"volumes": [{"name": "1"}, {"name": "1"}, {"name": "2", "x": 1}]}),
            json!({"volumes": [{"name": "1", "$patch": "delete"}]}),
        );
        assert_eq!(out["volumes"], json!([{"name": "2", "x": 1}]));
        // `$patch: replace` in a list makes the rest of the patch list the whole list.
        let out = smp(
            pod(),
            json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "only"}]}}),
        );
        assert_eq!(out["spec"]["containers"], json!([{"name": "only"}]));
        let err = strategic_merge_patch(
            &mut pod(),
            &json!({"spec": {"containers": [{"$patch": "delete"}]}}),
        );
        assert!(matches!(
            err,
            Err(PatchError::MissingMergeKey { key: "name", .. })
        ));
    }

    #[test]
    fn smp_map_directives() {
        let out = smp(
            pod(),
            json!({"metadata": {"labels": {"$patch": "replace", "new": "x"}}}),
        );
        assert_eq!(out["metadata"]["labels"], json!({"new": "x"}));
        let out = smp(pod(), json!({"metadata": {"labels": {"$patch": "delete"}}}));
        assert_eq!(out["metadata"]["labels"], json!({}));
        let out = smp(pod(), json!({"metadata": {"annotations": {"$patch": "delete"}}}));
        assert!(out["metadata"].get("annotations").is_none());
        let out = smp(
            json!({"a": 1, "b": 2, "c": 3}),
            json!({"$retainKeys": ["a", "c"], "c": 4}),
        );
        assert_eq!(out, json!({"a": 1, "c": 4}));
        let mut target = pod();
        let err = strategic_merge_patch(&mut target, &json!({"$retainKeys": ["a"], "b": 1})).unwrap_err();
        assert_eq!(err.status_code(), 400);
        assert_eq!(target, pod());
        assert!(strategic_merge_patch(&mut pod(), &json!({"metadata": {"$patch": "bogus"}})).is_err());
        assert!(strategic_merge_patch(&mut pod(), &json!([1])).is_err());
    }

    #[test]
    fn smp_primitive_lists() {
        let out = smp(
            pod(),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
        let out = smp(pod(), json!({"metadata": {"finalizers": ["b", "c"]}}));
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b", "c"]));
        let out = smp(
            pod(),
            json!({"metadata": {"$setElementOrder/finalizers": ["b", "c"], "finalizers": ["c"],
                                "$deleteFromPrimitiveList/finalizers": ["a"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["b", "c"]));
        assert_eq!(
            out["metadata"]
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| k.starts_with('$'))
                .count(),
            0
        );
    }

    #[test]
    fn smp_other_lists_are_replaced() {
        let out = smp(pod(), json!({"spec": {"tolerations": [{"key": "z"}]}}));
        assert_eq!(out["spec"]["tolerations"], json!([{"key": "z"}]));
        let out = smp(json!({"args": ["a", "b"]}), json!({"args": ["b"]}));
        assert_eq!(out["args"], json!(["b"]));
        // Service ports merge on `port`.
        let out = smp(
            json!({"ports": [{"port": 80, "name": "http"}, {"port": 443}]}),
            json!({"ports": [{"port": 80, "targetPort": 8080}]}),
        );
        assert_eq!(
            out["ports"],
            json!([{"port": 80, "name": "http", "targetPort": 8080}, {"port": 443}])
        );
        // New values are stripped of nulls and directives.
        let out = smp(
            json!({}),
            json!({"spec": {"a": null, "containers": [{"name": "x", "b": null}]}}),
        );
        assert_eq!(out, json!({"spec": {"containers": [{"name": "x"}]}}));
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-5i64..5).prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map("[a-d]", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Objects whose lists hold only scalars and whose keys are no strategic field names.
    fn plain_object() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            (-5i64..5).prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::String)
        ];
        let scalars = prop::collection::vec((0i64..3).prop_map(Value::from), 0..3).prop_map(Value::Array);
        let value = prop_oneof![leaf, scalars].prop_recursive(3, 24, 4, |inner| {
            prop::collection::btree_map("[a-d]", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect()))
        });
        prop::collection::btree_map("[a-d]", value, 0..4).prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    proptest! {
        #[test]
        fn merge_patch_is_idempotent(target in json_value(), patch in json_value()) {
            let once = merged(target, patch.clone());
            let twice = merged(once.clone(), patch);
            prop_assert_eq!(twice, once);
        }

        #[test]
        fn smp_without_directives_is_a_merge_patch(target in plain_object(), patch in plain_object()) {
            let mut strategic = target.clone();
            strategic_merge_patch(&mut strategic, &patch).unwrap();
            prop_assert_eq!(strategic, merged(target, patch));
        }

        #[test]
        fn json_patch_add_then_remove_restores(target in plain_object(), key in "[e-g]", value in json_value()) {
            let path = format!("/{key}");
            let ops = json!([{"op": "add", "path": path, "value": value}, {"op": "remove", "path": path}]);
            prop_assert_eq!(json_patch(&target, &ops).unwrap(), target);
        }
    }
}
