//! Finds watch events in the decoded body of a watch: one JSON object per line. For each event it reports the
//! first `"ts":"<digits>"` inside it — the unix-nanosecond stamp `churn` writes into the object's data — so the
//! watcher can tell how long the update took to reach it. A few bytes of state, nothing buffered.

/// What comes right before a timestamp's digits.
const PATTERN: &[u8] = br#""ts":""#;

/// Streaming scanner of newline-delimited watch events.
#[derive(Debug, Default, Clone)]
pub(crate) struct EventScanner {
    /// How many bytes of [`PATTERN`] the last bytes matched.
    matched: u8,
    /// Inside the digits after the pattern.
    in_ts: bool,
    /// A complete timestamp was found in this event.
    have_ts: bool,
    ts: u64,
}

impl EventScanner {
    /// Scans `data`, calling `on_event` at each event's end with its timestamp, if it had one.
    pub(crate) fn feed(&mut self, data: &[u8], mut on_event: impl FnMut(Option<u64>)) {
        for &b in data {
            if b == b'\n' {
                on_event(self.have_ts.then_some(self.ts));
                *self = Self::default();
            } else if self.have_ts {
                // Only an event's first stamp counts.
            } else if self.in_ts {
                if b.is_ascii_digit() {
                    self.ts = self.ts.saturating_mul(10).saturating_add(u64::from(b - b'0'));
                } else {
                    self.in_ts = false;
                    self.have_ts = b == b'"';
                    if !self.have_ts {
                        self.ts = 0;
                    }
                }
            } else if b == PATTERN[usize::from(self.matched)] {
                self.matched += 1;
                if usize::from(self.matched) == PATTERN.len() {
                    self.matched = 0;
                    self.in_ts = true;
                    self.ts = 0;
                }
            } else {
                self.matched = u8::from(b == b'"');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(pieces: &[&[u8]]) -> Vec<Option<u64>> {
        let mut scanner = EventScanner::default();
        let mut events = Vec::new();
        for piece in pieces {
            scanner.feed(piece, |ts| events.push(ts));
        }
        events
    }

    #[test]
    fn events_and_timestamps() {
        let stream = concat!(
            r#"{"type":"ADDED","object":{"data":{"n":"1","ts":"1700000000123456789"}}}"#,
            "\n",
            r#"{"type":"MODIFIED","object":{"metadata":{"name":"x"}}}"#,
            "\n",
            r#"{"type":"MODIFIED","object":{"data":{"ts":"12","other":{"ts":"99"}}}}"#,
            "\n",
            r#"{"type":"MODIFIED","object":{"data":{"ts":"nope"}}}"#,
            "\n",
            r#"{"a":"""ts":"7"}"#,
            "\n",
        );
        let want = vec![Some(1_700_000_000_123_456_789), None, Some(12), None, Some(7)];
        assert_eq!(scan(&[stream.as_bytes()]), want);
        let bytes: Vec<&[u8]> = stream.as_bytes().chunks(1).collect();
        assert_eq!(scan(&bytes), want);
        let bytes: Vec<&[u8]> = stream.as_bytes().chunks(7).collect();
        assert_eq!(scan(&bytes), want);
    }

    #[test]
    fn incomplete_event_is_not_reported() {
        assert_eq!(scan(&[br#"{"ts":"5"}"#]), vec![]);
    }
}
