//! Container logs: lines kept per pod (and container), appended by fixtures and tests, served by
//! `GET .../pods/<name>/log` with `tailLines`, `timestamps` and `follow` (a stream of new lines).

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::broadcast;

/// One line of a container's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// RFC 3339 time it was written.
    pub timestamp: String,
    /// The text, without the newline.
    pub text: String,
}

struct ContainerLog {
    lines: Vec<LogLine>,
    feed: broadcast::Sender<LogLine>,
}

/// Logs of every container, keyed by (namespace, pod, container). Container `""` is the pod's default.
#[derive(Default)]
pub struct LogStore {
    logs: Mutex<HashMap<(String, String, String), ContainerLog>>,
}

/// Lines already written and a feed of those that follow.
pub struct LogTail {
    /// Existing lines (after `tailLines`).
    pub lines: Vec<LogLine>,
    /// New lines as they are appended.
    pub feed: broadcast::Receiver<LogLine>,
}

impl LogStore {
    fn with<R>(&self, key: (String, String, String), f: impl FnOnce(&mut ContainerLog) -> R) -> R {
        let mut logs = self
            .logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = logs.entry(key).or_insert_with(|| ContainerLog {
            lines: Vec::new(),
            feed: broadcast::channel(1024).0,
        });
        f(entry)
    }

    /// Appends a line to a container's log (container `""` = the pod's only container).
    pub fn append(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        let line = LogLine {
            timestamp: crate::clock::now(),
            text: text.to_string(),
        };
        self.with((namespace.into(), pod.into(), container.into()), |log| {
            log.lines.push(line.clone());
            let _ = log.feed.send(line);
        });
    }

    /// The last `tail` lines (all when `None`) and a feed of what comes next.
    pub fn tail(&self, namespace: &str, pod: &str, container: &str, tail: Option<usize>) -> LogTail {
        self.with((namespace.into(), pod.into(), container.into()), |log| {
            let skip = tail.map_or(0, |t| log.lines.len().saturating_sub(t));
            LogTail {
                lines: log.lines[skip..].to_vec(),
                feed: log.feed.subscribe(),
            }
        })
    }

    /// Forgets a pod's logs (when it is deleted).
    pub fn forget(&self, namespace: &str, pod: &str) {
        let mut logs = self
            .logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        logs.retain(|(ns, p, _), _| !(ns == namespace && p == pod));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tail_then_follow() {
        let logs = LogStore::default();
        for l in ["a", "b", "c"] {
            logs.append("ns", "p", "", l);
        }
        let mut tail = logs.tail("ns", "p", "", Some(2));
        let texts: Vec<_> = tail.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["b", "c"]);
        logs.append("ns", "p", "", "d");
        assert_eq!(tail.feed.recv().await.unwrap().text, "d");
        assert!(logs.tail("ns", "other", "", None).lines.is_empty());
        logs.forget("ns", "p");
        assert!(logs.tail("ns", "p", "", None).lines.is_empty());
    }
}
