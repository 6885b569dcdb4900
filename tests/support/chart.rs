//! The Helm chart as tests see it: a Python environment with the Helm v4 engine (`helm-python-sdk`) and
//! `kubernetes-validate` from PyPI, made once under the target directory, and `charts/tests/chart_tool.py` run
//! in it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::OnceCell;

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
pub async fn python() -> &'static Path {
    static PYTHON: OnceCell<PathBuf> = OnceCell::const_new();
    PYTHON
        .get_or_init(|| async {
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
            )
            .await;
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
            )
            .await;
            std::fs::write(&stamp, wanted).expect("write the install stamp");
            python
        })
        .await
}

/// Runs `chart_tool.py` with `args`; returns its stdout, panicking with its output when it fails.
pub async fn tool(args: &[&str]) -> String {
    let mut command = Command::new(python().await);
    command.arg(root().join("charts/tests/chart_tool.py")).args(args);
    run_checked(&mut command, TOOL_DEADLINE, "charts/tests/chart_tool.py").await
}

/// The objects the chart renders with the values file `values` (`-` for the defaults).
pub async fn render(values: &str, out_dir: &Path) -> Vec<serde_json::Value> {
    let out = out_dir.join("rendered.json");
    tool(&["render", values, out.to_str().expect("a UTF-8 path")]).await;
    serde_json::from_slice(&std::fs::read(&out).expect("the rendered objects")).expect("JSON objects")
}

/// Runs `command` to completion within `deadline`; panics naming `what` with its output when it fails.
async fn run_checked(command: &mut Command, deadline: Duration, what: &str) -> String {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let output = tokio::time::timeout(deadline, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{what}: not done within {deadline:?}"))
        .expect("the child's output");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
