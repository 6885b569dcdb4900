//! The Helm chart as tests see it: a Python environment with the Helm v4 engine (`helm-python-sdk`) and
//! `kubernetes-validate` from PyPI, made once under the target directory, and `charts/tests/chart_tool.py` run
//! in it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// Deadline for making the Python environment (downloads the Helm engine, ~60 MB, once).
pub const INSTALL_DEADLINE: Duration = Duration::from_secs(900);
/// Deadline for one run of the chart tool (linting and rendering every scenario).
pub const TOOL_DEADLINE: Duration = Duration::from_secs(300);

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The chart tool's Python: a virtual environment with `charts/tests/requirements.txt` installed, made on the
/// first call (and again when the requirements change).
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let requirements = root().join("charts/tests/requirements.txt");
        let wanted = std::fs::read_to_string(&requirements).expect("charts/tests/requirements.txt");
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("chart-venv");
        let python = venv.join("bin/python");
        let stamp = venv.join("requirements.installed");
        if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && python.exists() {
            return python;
        }
        let _ = std::fs::remove_dir_all(&venv);
        run_checked(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            INSTALL_DEADLINE,
            "python3 -m venv (Debian: apt-get install python3-venv)",
        );
        run_checked(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&requirements),
            INSTALL_DEADLINE,
            "pip install -r charts/tests/requirements.txt",
        );
        std::fs::write(&stamp, wanted).expect("write the install stamp");
        python
    })
}

/// Runs `chart_tool.py` with `args`; returns its stdout, panicking with its output when it fails.
pub fn tool(args: &[&str]) -> String {
    let mut command = Command::new(python());
    command.arg(root().join("charts/tests/chart_tool.py")).args(args);
    run_checked(&mut command, TOOL_DEADLINE, "charts/tests/chart_tool.py")
}

/// The objects the chart renders with the values file `values` (`-` for the defaults).
pub fn render(values: &str, out_dir: &Path) -> Vec<serde_json::Value> {
    let out = out_dir.join("rendered.json");
    tool(&["render", values, out.to_str().expect("a UTF-8 path")]);
    serde_json::from_slice(&std::fs::read(&out).expect("the rendered objects")).expect("JSON objects")
}

/// Runs `command` to completion within `deadline`; panics naming `what` with its output when it fails.
fn run_checked(command: &mut Command, deadline: Duration, what: &str) -> String {
    use std::io::Read;
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    // Drained on their own threads so a chatty child never blocks on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            panic!("{what}: not done within {deadline:?}");
        }
        // std has no wait-with-timeout: poll the child's exit at a short interval until the deadline.
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    assert!(status.success(), "{what} failed ({status}):\n{stdout}\n{stderr}");
    stdout
}
