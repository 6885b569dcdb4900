//! Before measuring: every contender must answer 200 (curl, polled with a deadline), and the TLS version and
//! cipher it negotiates are printed (openssl s_client), with TLS 1.3 and with TLS 1.2.

use super::contenders::Contender;
use anyhow::{Result, bail};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The status code curl gets for `path` with `token`.
fn status(contender: &Contender, path: &str, token: &str) -> String {
    Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"])
        .arg("--cacert")
        .arg(&contender.ca)
        .arg("-H")
        .arg(format!("Authorization: Bearer {token}"))
        .arg(format!("{}{path}", contender.url))
        .stdin(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Polls until `path` answers 200 through `contender` (up to 30 s: a fresh proxy may still be loading).
pub(crate) fn answers_200(contender: &mut Contender, path: &str, token: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        contender.check_alive()?;
        let code = status(contender, path, token);
        if code == "200" {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{} answered {code:?} to GET {path}, not 200", contender.name);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384` from an `openssl s_client` transcript.
pub(crate) fn parse_negotiated(transcript: &str) -> Option<String> {
    transcript
        .lines()
        .find_map(|l| l.trim().strip_prefix("New, "))
        .map(str::to_owned)
}

/// What `openssl s_client` negotiates with `contender` (`version_flag`: `-tls1_3` or `-tls1_2`).
pub(crate) fn negotiated(contender: &Contender, version_flag: &str) -> String {
    let authority = contender.url.trim_start_matches("https://");
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            authority,
            "-servername",
            "localhost",
            version_flag,
        ])
        .arg("-CAfile")
        .arg(&contender.ca)
        .stdin(Stdio::null())
        .output();
    out.ok()
        .and_then(|o| parse_negotiated(&String::from_utf8_lossy(&o.stdout)))
        .unwrap_or_else(|| "refused".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiated_line() {
        let transcript =
            "CONNECTED(00000003)\n---\nNew, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384\nServer public key";
        assert_eq!(
            parse_negotiated(transcript).as_deref(),
            Some("TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384")
        );
        assert_eq!(parse_negotiated("CONNECTED\n"), None);
    }
}
