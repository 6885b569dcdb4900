//! TCP sockets and file descriptors of a process, as `/proc` shows them: how many connections to a port sit in a
//! given state (a `CLOSE-WAIT` socket is one the peer closed and the process has not), and how many fds are open.

/// A TCP state as `/proc/net/tcp` numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    /// `01`.
    Established,
    /// `08`: the peer closed; this side has not yet.
    CloseWait,
}

impl TcpState {
    fn code(self) -> &'static str {
        match self {
            Self::Established => "01",
            Self::CloseWait => "08",
        }
    }
}

/// Sockets (in this network namespace) whose remote port is `port` and whose state is `state`: the client side
/// of connections to a local server on `port`.
pub fn connections_to(port: u16, state: TcpState) -> usize {
    let port_hex = format!("{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .filter(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let remote_port = fields.get(2).and_then(|a| a.rsplit(':').next());
                    remote_port == Some(port_hex.as_str()) && fields.get(3) == Some(&state.code())
                })
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .count()
}

/// How many file descriptors process `pid` has open.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("/proc/<pid>/fd is readable")
        .count()
}

/// What `count` settles at: the first value seen unchanged over ten looks 50 ms apart (the control plane's
/// watches connect over the first moments), within `deadline`.
pub async fn settled(deadline: std::time::Duration, count: impl Fn() -> usize) -> usize {
    let mut last = (count(), 0);
    let found = super::raw::poll_until(deadline, || {
        let now = count();
        last = if now == last.0 {
            (now, last.1 + 1)
        } else {
            (now, 0)
        };
        let value = (last.1 >= 10).then_some(now);
        async move { value }
    })
    .await;
    found.unwrap_or_else(|| panic!("never settled, last {}", count()))
}
