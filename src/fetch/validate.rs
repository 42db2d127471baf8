//! The check of a source row before anything is downloaded: package indices in range, every
//! path relative and inside the work or source directory, pins well-formed. A row that fails
//! is a bug in the table (or a test's hostile row), reported before any network traffic.

use std::path::{Component, Path};

use super::sources::{Source, Step};
use crate::data::cache::FETCHED_FILE;
use crate::error::{Error, Result};

/// Check a source row before anything is downloaded: indices in range, paths relative and
/// inside the source directory, pins well-formed.
pub(super) fn validate(source: &Source) -> Result<()> {
    let fail = |reason: String| Error::FetchFailed {
        source_name: source.name.to_string(),
        step: "check the source table",
        reason,
    };
    let name_ok = !source.name.is_empty()
        && !source.name.starts_with(['.', '-'])
        && source
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !name_ok {
        return Err(fail(format!(
            "source name '{}' must be letters, digits, '-' or '_'",
            source.name
        )));
    }
    let path_ok = |p: &str| {
        !p.is_empty()
            && Path::new(p)
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
    };
    let sha_ok =
        |h: &str| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let n = source.packages.len();
    for step in source.steps {
        if let Step::Member { package, .. } = *step
            && package >= n
        {
            return Err(fail(format!(
                "step {step:?} names package {package}; there are {n}"
            )));
        }
        if let Step::Concat {
            members,
            to,
            sha256,
        } = *step
        {
            if members.is_empty() || members.len() > n {
                return Err(fail(format!(
                    "concatenation into '{to}' takes {} members from {n} packages",
                    members.len()
                )));
            }
            if sha256.is_some_and(|h| !sha_ok(h)) {
                return Err(fail(format!(
                    "pinned sha256 of '{to}' is not 64 lowercase hex digits"
                )));
            }
        }
        if let Some(bad) = step.paths().into_iter().find(|p| !path_ok(p)) {
            return Err(fail(format!(
                "path '{bad}' must be relative, without '..' or '.'"
            )));
        }
    }
    for out in source.outputs {
        if !path_ok(out.path) || out.path == FETCHED_FILE {
            return Err(fail(format!(
                "output path '{}' must be relative, without '..' or '.', and not {FETCHED_FILE}",
                out.path
            )));
        }
        if out.sha256.is_some_and(|h| !sha_ok(h)) {
            return Err(fail(format!(
                "pinned sha256 of '{}' is not 64 lowercase hex digits",
                out.path
            )));
        }
    }
    Ok(())
}
