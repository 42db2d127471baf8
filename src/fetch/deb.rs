//! Downloads one pinned Debian package with `apt-get download NAME=VERSION` (no install, no
//! maintainer scripts) and unpacks its data with `dpkg-deb -x`, so the pipeline can copy files
//! out of the unpacked tree. Offline runs (`find_links`) take `NAME_VERSION_*.deb` from a
//! directory instead, the way pip's `--find-links` does for wheels.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::process::{Download, failure, not_started, run_teed, single_file_in};
use super::sources::Package;
use crate::error::Result;

/// What a missing client says: Debian sources need both tools.
fn missing(program: &str) -> String {
    format!(
        "`{program}` not found; Debian sources need apt-get and dpkg-deb \
         (a Debian or Ubuntu system)"
    )
}

/// Download the package into its directory (or find it in `find_links`) and return the
/// `.deb`'s path.
pub fn download(job: &Download<'_>) -> Result<PathBuf> {
    let fail = failure(job.source_name, "download");
    let (package, dir) = (job.package, job.dir);
    if let Some(links) = job.find_links {
        return find_offline(package, links).map_err(fail);
    }
    let spec = format!("{}={}", package.name, package.version);
    let run = run_teed(
        Command::new("apt-get")
            .arg("download")
            .arg(&spec)
            .current_dir(dir),
    )
    .map_err(|e| fail(not_started(&e, "apt-get", missing("apt-get"))))?;
    if !run.status.success() {
        return Err(fail(format!(
            "`apt-get download {spec}` exited with {}; if apt does not know the package or \
             this version, run `apt-get update` (as root) and try again; last lines:\n{}",
            run.status,
            run.tail.join("\n")
        )));
    }
    single_file_in(dir, ".deb").map_err(|reason| {
        fail(format!(
            "apt-get reported success for {spec} but left no single .deb in {}: {reason}",
            dir.display()
        ))
    })
}

/// Unpack the data of `deb` into `tree` with `dpkg-deb -x`.
pub fn unpack(source_name: &str, deb: &Path, tree: &Path) -> Result<()> {
    let fail = failure(source_name, "unpack");
    let run = run_teed(Command::new("dpkg-deb").arg("-x").arg(deb).arg(tree))
        .map_err(|e| fail(not_started(&e, "dpkg-deb", missing("dpkg-deb"))))?;
    if run.status.success() {
        Ok(())
    } else {
        Err(fail(format!(
            "`dpkg-deb -x {}` exited with {}; last lines:\n{}",
            deb.display(),
            run.status,
            run.tail.join("\n")
        )))
    }
}

/// `NAME_VERSION_*.deb` in `dir`; the version's `:` is written `%3a`, as apt names files.
fn find_offline(package: &Package, dir: &Path) -> std::result::Result<PathBuf, String> {
    let prefix = format!("{}_{}_", package.name, package.version.replace(':', "%3a"));
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list --find-links directory {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".deb") {
            return Ok(entry.path());
        }
    }
    Err(format!(
        "offline fetch: no {prefix}*.deb in {}",
        dir.display()
    ))
}
