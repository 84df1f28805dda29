//! The Python `fhir.resources` R4 validator, installed once into a pinned virtual environment
//! under the cargo target directory. Shared by the `fhir` crate's validation test and the
//! server's, which includes this file by path so both use the same environment.
//!
//! `fhir.resources` 6.2.x is the last line whose default models are plain R4 (6.4 moved to R4B,
//! 7 and later to R5 with an R4B subpackage only); it needs pydantic 1. Both are pinned below.
//! If the install fails, callers print why and pass, unless `KITH_REQUIRE_FHIR_VALIDATION=1`,
//! when they fail. `KITH_PYTHON` names the Python to build the environment with (default
//! `python3`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const PACKAGES: [&str; 2] = ["fhir.resources==6.2.2", "pydantic==1.10.27"];
const VENV_NAME: &str = "fhir-validator-venv-fhir.resources-6.2.2";

fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // The test binary lives in <target>/<profile>/deps/.
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

fn run(command: &mut Command) -> Result<Output, String> {
    let shown = format!("{command:?}");
    let output = command
        .output()
        .map_err(|e| format!("could not run {shown}: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{shown} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

fn models_ready(python: &Path) -> bool {
    Command::new(python)
        .args([
            "-c",
            "import fhir.resources as f; assert f.__fhir_version__ == '4.0.1'",
        ])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Creates the virtual environment and installs the pinned packages, once per test process.
fn install() -> Result<PathBuf, String> {
    let venv = target_dir().join(VENV_NAME);
    let python = venv_python(&venv);
    if models_ready(&python) {
        return Ok(python);
    }
    let base_python = std::env::var("KITH_PYTHON").unwrap_or_else(|_| "python3".to_string());
    run(Command::new(&base_python)
        .args(["-m", "venv", "--clear"])
        .arg(&venv))?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
        ])
        .args(PACKAGES))?;
    if models_ready(&python) {
        Ok(python)
    } else {
        Err(format!(
            "installed {PACKAGES:?} into {} but `fhir.resources` does not load FHIR 4.0.1 models",
            venv.display()
        ))
    }
}

/// The validator's Python, or `None` (after saying why) when it cannot be installed and
/// validation is not required.
pub fn validator() -> Option<PathBuf> {
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match INSTALLED.get_or_init(install) {
        Ok(python) => Some(python.clone()),
        Err(why) if std::env::var("KITH_REQUIRE_FHIR_VALIDATION").as_deref() == Ok("1") => {
            panic!(
                "KITH_REQUIRE_FHIR_VALIDATION=1 but the FHIR validator could not be installed: {why}"
            )
        }
        Err(why) => {
            // Straight to stderr, past the test harness's capture, so CI logs show the skip.
            let message = format!(
                "skipping FHIR validation (set KITH_REQUIRE_FHIR_VALIDATION=1 to make this fail): {why}\n"
            );
            let _ = std::io::stderr().write_all(message.as_bytes());
            None
        }
    }
}
