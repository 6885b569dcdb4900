//! Kubernetes-style `Status` answers the proxy writes itself (errors, `/_healthz`).

use std::io::Write;

/// The `reason` field Kubernetes clients expect for a status code.
pub fn reason_for(code: u16) -> &'static str {
    match code {
        400 | 431 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        408 | 504 => "Timeout",
        410 => "Expired",
        413 => "RequestEntityTooLarge",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        _ => "InternalError",
    }
}

/// The HTTP reason phrase for the codes the proxy answers itself.
pub fn phrase_for(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// Appends a complete response carrying a `metav1.Status` JSON body to `out`.
///
/// `close` adds `Connection: close`; HEAD requests (`head_only`) get the head without the body.
pub fn write_status(out: &mut Vec<u8>, code: u16, message: &str, close: bool, head_only: bool) {
    let mut body = Vec::with_capacity(160 + message.len());
    body.extend_from_slice(
        br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":""#,
    );
    escape_json(&mut body, message);
    let _ = write!(body, r#"","reason":"{}","code":{}}}"#, reason_for(code), code);
    body.push(b'\n');
    write_head(out, code, "application/json", body.len(), close);
    if !head_only {
        out.extend_from_slice(&body);
    }
}

/// Appends a complete `application/json` response with `body` (an API server's own `Status`, passed on).
pub fn write_json(out: &mut Vec<u8>, code: u16, body: &[u8], close: bool) {
    write_head(out, code, "application/json", body.len(), close);
    out.extend_from_slice(body);
}

/// Appends the head of a `200 OK` JSON response the proxy streams itself: chunked, or for an HTTP/1.0 client
/// (`chunked` false) ended by closing the connection.
pub fn write_streamed_json_head(out: &mut Vec<u8>, chunked: bool, close: bool) {
    out.extend_from_slice(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-cache, private\r\n\
          X-Content-Type-Options: nosniff\r\n",
    );
    if chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    }
    if close || !chunked {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a `301 Moved Permanently` to `location` (the clean form of a request path, as Go's router answers).
pub fn write_redirect(out: &mut Vec<u8>, location: &str, close: bool) {
    let body = format!(
        "<a href=\"{}\">Moved Permanently</a>.\n",
        location.replace('"', "%22")
    );
    let _ = write!(
        out,
        "HTTP/1.1 301 Moved Permanently\r\nLocation: {}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\n{}\r\n{body}",
        location.replace(['\r', '\n'], ""),
        body.len(),
        if close { "Connection: close\r\n" } else { "" }
    );
}

/// Appends a complete `text/plain` response to `out` (used by `/_healthz`).
pub fn write_plain(out: &mut Vec<u8>, code: u16, text: &str, close: bool, head_only: bool) {
    write_head(out, code, "text/plain; charset=utf-8", text.len(), close);
    if !head_only {
        out.extend_from_slice(text.as_bytes());
    }
}

fn write_head(out: &mut Vec<u8>, code: u16, content_type: &str, len: usize, close: bool) {
    let _ = write!(
        out,
        "HTTP/1.1 {code} {}\r\nContent-Type: {content_type}\r\nCache-Control: no-cache, private\r\nX-Content-Type-Options: nosniff\r\nContent-Length: {len}\r\n",
        phrase_for(code)
    );
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

fn escape_json(out: &mut Vec<u8>, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let mut utf8 = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(out: &[u8]) -> &str {
        let text = std::str::from_utf8(out).unwrap();
        text.split_once("\r\n\r\n").unwrap().1
    }

    #[test]
    fn status_body_is_kube_status_json() {
        let mut out = Vec::new();
        write_status(&mut out, 401, "no \"credentials\"\n", true, false);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
        assert!(text.contains("Connection: close\r\n"));
        let body = body_of(&out);
        assert!(text.contains(&format!("Content-Length: {}\r\n", body.len())));
        assert_eq!(
            body,
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\
             \"message\":\"no \\\"credentials\\\"\\n\",\"reason\":\"Unauthorized\",\"code\":401}\n"
        );
    }

    #[test]
    fn head_only_has_length_but_no_body() {
        let mut out = Vec::new();
        write_plain(&mut out, 200, "ok", false, true);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.contains("Content-Length: 2\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
        assert!(!text.contains("Connection: close"));
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut out = Vec::new();
        escape_json(&mut out, "a\u{1}b");
        assert_eq!(out, b"a\\u0001b");
    }
}
