//! Just enough Kubernetes protobuf to read the review requests client-go's typed clients send
//! (`kubectl auth can-i` posts a SelfSubjectAccessReview, `kubectl auth whoami` a SelfSubjectReview, both as
//! `application/vnd.kubernetes.protobuf`). The body is the `k8s\0` magic followed by a `runtime.Unknown` whose
//! `raw` field holds the object; only the spec fields of the review kinds are decoded, into the same JSON the
//! JSON path produces. Answers are always JSON (client-go accepts JSON back). Other kinds stay 415.

use serde_json::{Map, Value, json};

use crate::status::ApiError;

/// The four bytes every Kubernetes protobuf body starts with.
pub(crate) const MAGIC: &[u8] = b"k8s\x00";

/// One decoded field's value (fixed-width fields are skipped).
pub(crate) enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

/// The 400 of a body that is not valid Kubernetes protobuf.
pub(crate) fn malformed() -> ApiError {
    ApiError::bad_request("the body of the request is not a valid Kubernetes protobuf message")
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, ApiError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos).ok_or_else(malformed)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(malformed())
}

/// The fields of one message, in order.
pub(crate) fn fields(buf: &[u8]) -> Result<Vec<(u64, Field<'_>)>, ApiError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let (number, wire) = (key >> 3, key & 7);
        let field = match wire {
            0 => Field::Varint(varint(buf, &mut pos)?),
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).map_err(|_| malformed())?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or_else(malformed)?;
                let bytes = &buf[pos..end];
                pos = end;
                Field::Bytes(bytes)
            }
            1 => {
                pos = pos
                    .checked_add(8)
                    .filter(|e| *e <= buf.len())
                    .ok_or_else(malformed)?;
                continue;
            }
            5 => {
                pos = pos
                    .checked_add(4)
                    .filter(|e| *e <= buf.len())
                    .ok_or_else(malformed)?;
                continue;
            }
            _ => return Err(malformed()),
        };
        out.push((number, field));
    }
    Ok(out)
}

fn text(bytes: &[u8]) -> Result<Value, ApiError> {
    std::str::from_utf8(bytes)
        .map(|s| json!(s))
        .map_err(|_| malformed())
}

/// A message of string fields (and nested messages given by `nested`) as a JSON object.
fn message(buf: &[u8], names: &[(u64, &str)], nested: NestedDecoder<'_>) -> Result<Value, ApiError> {
    let mut out = Map::new();
    for (number, field) in fields(buf)? {
        let Some((_, name)) = names.iter().find(|(n, _)| *n == number) else {
            continue;
        };
        let value = match field {
            Field::Bytes(b) => match nested(number, b) {
                Some(v) => v?,
                None => text(b)?,
            },
            Field::Varint(v) => json!(v != 0),
        };
        match out.get_mut(*name) {
            // Repeated fields (groups, audiences) collect into arrays.
            Some(Value::Array(items)) => items.push(value),
            _ if REPEATED.contains(name) => {
                out.insert((*name).to_string(), json!([value]));
            }
            _ => {
                out.insert((*name).to_string(), value);
            }
        }
    }
    Ok(Value::Object(out))
}

/// Decodes the nested message behind field `number`, or `None` for a plain string field.
type NestedDecoder<'a> = &'a dyn Fn(u64, &[u8]) -> Option<Result<Value, ApiError>>;

const REPEATED: &[&str] = &["groups", "audiences"];

fn no_nested(_: u64, _: &[u8]) -> Option<Result<Value, ApiError>> {
    None
}

fn resource_attributes(buf: &[u8]) -> Result<Value, ApiError> {
    message(
        buf,
        &[
            (1, "namespace"),
            (2, "verb"),
            (3, "group"),
            (4, "version"),
            (5, "resource"),
            (6, "subresource"),
            (7, "name"),
        ],
        &no_nested,
    )
}

fn non_resource_attributes(buf: &[u8]) -> Result<Value, ApiError> {
    message(buf, &[(1, "path"), (2, "verb")], &no_nested)
}

fn access_review_spec(buf: &[u8]) -> Result<Value, ApiError> {
    message(
        buf,
        &[
            (1, "resourceAttributes"),
            (2, "nonResourceAttributes"),
            (3, "user"),
            (4, "groups"),
            (6, "uid"),
        ],
        &|n, b| match n {
            1 => Some(resource_attributes(b)),
            2 => Some(non_resource_attributes(b)),
            _ => None,
        },
    )
}

fn spec_of(kind: &str, buf: &[u8]) -> Result<Value, ApiError> {
    match kind {
        "SelfSubjectAccessReview" | "SubjectAccessReview" | "LocalSubjectAccessReview" => {
            access_review_spec(buf)
        }
        "SelfSubjectRulesReview" => message(buf, &[(1, "namespace")], &no_nested),
        "TokenReview" => message(buf, &[(1, "token"), (2, "audiences")], &no_nested),
        _ => Ok(json!({})),
    }
}

/// Decodes a protobuf review request of `kind` into its JSON form (`{"spec": …}`).
pub fn decode_review(kind: &str, body: &[u8]) -> Result<Value, ApiError> {
    let envelope = body.strip_prefix(MAGIC).ok_or_else(malformed)?;
    let raw = fields(envelope)?
        .into_iter()
        .find_map(|(n, f)| match (n, f) {
            (2, Field::Bytes(raw)) => Some(raw),
            _ => None,
        })
        .ok_or_else(malformed)?;
    let mut object = json!({ "spec": {} });
    // SelfSubjectReview has no spec (field 2 is its status); every other review has spec = 2.
    if kind != "SelfSubjectReview" {
        for (number, field) in fields(raw)? {
            if let (2, Field::Bytes(spec)) = (number, field) {
                object["spec"] = spec_of(kind, spec)?;
            }
        }
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![
            u8::try_from(number << 3 | 2).unwrap(),
            u8::try_from(payload.len()).unwrap(),
        ];
        out.extend_from_slice(payload);
        out
    }

    fn envelope(raw: &[u8]) -> Vec<u8> {
        let type_meta = [
            tag(1, b"authorization.k8s.io/v1"),
            tag(2, b"SelfSubjectAccessReview"),
        ]
        .concat();
        [MAGIC.to_vec(), tag(1, &type_meta), tag(2, raw)].concat()
    }

    #[test]
    fn decodes_a_self_subject_access_review() {
        let attrs = [tag(1, b"oil-dev"), tag(2, b"list"), tag(5, b"pods")].concat();
        let spec = tag(1, &attrs);
        let raw = [tag(1, b""), tag(2, &spec)].concat();
        let decoded = decode_review("SelfSubjectAccessReview", &envelope(&raw)).unwrap();
        assert_eq!(
            decoded,
            json!({"spec": {"resourceAttributes": {"namespace": "oil-dev", "verb": "list", "resource": "pods"}}})
        );
    }

    #[test]
    fn decodes_repeated_groups_and_rejects_garbage() {
        let spec = [
            tag(3, b"alice"),
            tag(4, b"g1"),
            tag(4, b"g2"),
            tag(2, &[tag(1, b"/version"), tag(2, b"get")].concat()),
        ]
        .concat();
        let raw = tag(2, &spec);
        let decoded = decode_review("SubjectAccessReview", &envelope(&raw)).unwrap();
        assert_eq!(decoded["spec"]["groups"], json!(["g1", "g2"]));
        assert_eq!(decoded["spec"]["nonResourceAttributes"]["path"], "/version");
        assert_eq!(
            decode_review("SubjectAccessReview", b"nope").unwrap_err().code,
            400
        );
        assert_eq!(
            decode_review("SubjectAccessReview", b"k8s\x00\x12\xff")
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(
            decode_review("SelfSubjectReview", &envelope(&tag(1, b""))).unwrap(),
            json!({"spec": {}})
        );
    }
}
