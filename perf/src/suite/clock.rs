//! The UTC time of day as RFC 3339 with whole seconds: the report's start time and file name.

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_is_rfc3339_utc_in_whole_seconds() {
        let now = super::now();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T', "{now}");
        assert!(now.parse::<jiff::Timestamp>().is_ok(), "{now}");
    }
}
