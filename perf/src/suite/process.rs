//! The processes the suite starts: spawned with their output in log files, waited for by a line they print,
//! and stopped on every way out (normal end, error, Ctrl-C or SIGTERM).

use anyhow::{Context, Result, bail};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Pids of every long-running process started and not yet stopped, for the Ctrl-C handler.
static STARTED: Mutex<Vec<u32>> = Mutex::new(Vec::new());
/// The scratch directory, removed by the Ctrl-C handler unless it is to be kept.
static SCRATCH: Mutex<Option<(PathBuf, bool)>> = Mutex::new(None);

/// A long-running child (kube-sim, a proxy) whose stdout and stderr go to `<logs>/<name>.out` and `.err`.
pub(crate) struct Proc {
    /// Short name, also the log files' stem.
    pub(crate) name: String,
    child: Child,
    /// Its standard output.
    pub(crate) out: PathBuf,
    /// Its standard error.
    pub(crate) err: PathBuf,
}

impl Proc {
    /// Starts `command` with its output in `logs`, and registers it to be stopped on exit.
    pub(crate) fn spawn(name: &str, mut command: Command, logs: &Path) -> Result<Proc> {
        let out = logs.join(format!("{name}.out"));
        let err = logs.join(format!("{name}.err"));
        command
            .stdin(Stdio::null())
            .stdout(File::create(&out).with_context(|| format!("creating {}", out.display()))?)
            .stderr(File::create(&err).with_context(|| format!("creating {}", err.display()))?);
        let child = command
            .spawn()
            .with_context(|| format!("starting {name} ({:?})", command.get_program()))?;
        lock(&STARTED).push(child.id());
        Ok(Proc {
            name: name.to_owned(),
            child,
            out,
            err,
        })
    }

    /// Its pid.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails when it has exited, with the end of its logs.
    pub(crate) fn check_alive(&mut self) -> Result<()> {
        if let Ok(Some(status)) = self.child.try_wait() {
            bail!(
                "{} exited ({status}): {}",
                self.name,
                tail(&self.err, 6)
                    .or_else(|| tail(&self.out, 6))
                    .unwrap_or_default()
            );
        }
        Ok(())
    }

    /// Polls its stdout or stderr until a line contains `pattern`, and returns that line.
    pub(crate) fn wait_for_line(&mut self, pattern: &str, within: Duration) -> Result<String> {
        let deadline = Instant::now() + within;
        loop {
            for file in [&self.out, &self.err] {
                let text = fs::read_to_string(file).unwrap_or_default();
                if let Some(line) = text.lines().find(|l| l.contains(pattern)) {
                    return Ok(line.to_owned());
                }
            }
            self.check_alive()?;
            if Instant::now() > deadline {
                bail!(
                    "{} printed no `{pattern}` within {within:?} (see {})",
                    self.name,
                    self.err.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it (SIGTERM to it and its descendants, SIGKILL after 5 s) and reaps it.
    pub(crate) fn stop(self) {
        drop(self);
    }
}

impl Drop for Proc {
    /// Every way out of the suite stops what it started, an early error included.
    fn drop(&mut self) {
        stop_pid(self.pid());
        let _ = self.child.wait();
    }
}

/// Locks a mutex, also after a panic elsewhere poisoned it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The last `lines` lines of a file, joined with ` | `.
pub(crate) fn tail(path: &Path, lines: usize) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    (!all.is_empty()).then(|| all[all.len().saturating_sub(lines)..].join(" | "))
}

fn signal(pid: u32, signal: rustix::process::Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}

/// SIGTERM to `pid` and its descendants, then SIGKILL to whatever is left after 5 s.
fn stop_pid(pid: u32) {
    let family = super::procfs::tree(pid);
    for &p in &family {
        signal(p, rustix::process::Signal::TERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while family.iter().any(|p| is_running(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for &p in &family {
        if is_running(p) {
            signal(p, rustix::process::Signal::KILL);
        }
    }
    lock(&STARTED).retain(|p| *p != pid);
}

/// Whether `pid` exists and is not a zombie.
fn is_running(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .and_then(|i| s[i + 1..].split_whitespace().next().map(|st| st != "Z"))
        })
        .unwrap_or(false)
}

/// Stops every registered process (the Ctrl-C path; the normal path stops each `Proc` itself).
pub(crate) fn stop_all() {
    let pids: Vec<u32> = lock(&STARTED).clone();
    for pid in pids.into_iter().rev() {
        stop_pid(pid);
    }
}

/// Remembers the scratch directory for the Ctrl-C handler (`keep`: leave it in place).
pub(crate) fn register_scratch(dir: &Path, keep: bool) {
    *lock(&SCRATCH) = Some((dir.to_owned(), keep));
}

/// On SIGINT or SIGTERM: stops every child, removes the scratch directory and exits 130.
pub(crate) fn install_signal_handler() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the signal thread")?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            runtime.block_on(async {
                let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                else {
                    return;
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            });
            eprintln!("perf: interrupted; stopping everything it started");
            stop_all();
            if let Some((dir, false)) = lock(&SCRATCH).clone() {
                let _ = fs::remove_dir_all(dir);
            }
            std::process::exit(130);
        })
        .context("starting the signal thread")?;
    Ok(())
}

/// Raises this process's open-file limit (inherited by everything it starts) to `want`, or to the hard limit
/// when raising that is not allowed; returns the soft limit in force.
pub(crate) fn raise_nofile(want: u64) -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let current = getrlimit(Resource::Nofile);
    let hard = current.maximum.unwrap_or(u64::MAX);
    let wanted = Rlimit {
        current: Some(want),
        maximum: Some(hard.max(want)),
    };
    if setrlimit(Resource::Nofile, wanted).is_ok() {
        return want;
    }
    let soft = want.min(hard);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(soft),
            maximum: current.maximum,
        },
    );
    getrlimit(Resource::Nofile).current.unwrap_or(soft)
}

/// Runs a short command to its end and returns its stdout; fails with its stderr when it exits non-zero.
pub(crate) fn output(mut command: Command) -> Result<String> {
    let path = Path::new(command.get_program());
    let program = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let out = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        bail!("{program} failed ({}): {line}", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
