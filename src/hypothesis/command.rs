//! `codecbench hypotheses RUN…`: the file side of the hypothesis matrix (reading result rows of
//! finished runs, writing `hypotheses.md` and `hypotheses.jsonl`). The rest of `hypothesis` takes
//! rows and returns verdicts without touching files.

use std::path::{Path, PathBuf};

use super::{Registry, evaluate, render_markdown, to_rows, viability};
use crate::error::{Error, Result};
use crate::run::ResultRow;

/// Result rows of one or more runs (run directories or `results.jsonl` files), concatenated.
pub fn read_rows(inputs: &[PathBuf]) -> Result<Vec<ResultRow>> {
    let mut all = Vec::new();
    for path in inputs {
        let file = if path.is_dir() {
            path.join("results.jsonl")
        } else {
            path.clone()
        };
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
        all.extend(
            crate::report::jsonl::parse(&text).map_err(|e| Error::BadRunDir {
                path: file.clone(),
                reason: format!("not a codecbench results.jsonl: {e}"),
            })?,
        );
    }
    Ok(all)
}

/// `codecbench hypotheses RUN…`: evaluate the built-in registry on the rows of the given runs
/// (e.g. a `codecbench run` directory and a `codecbench probe all` directory) and return the
/// Markdown; with `out`, also write `hypotheses.md` and `hypotheses.jsonl` (verdict rows) there.
pub fn hypotheses_command(inputs: &[PathBuf], out: Option<&Path>) -> Result<String> {
    let rows = read_rows(inputs)?;
    let reg = Registry::builtin();
    let matrix = evaluate(&reg, &rows);
    let via = viability(&reg, &rows);
    let md = render_markdown(&reg, &matrix, &via);
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let seed = rows.first().map_or(0, |r| r.seed);
        crate::run::output::write_atomic(&dir.join("hypotheses.md"), md.as_bytes())?;
        crate::run::output::write_atomic(
            &dir.join("hypotheses.jsonl"),
            crate::report::jsonl::render(&to_rows(&matrix, &via, seed)).as_bytes(),
        )?;
    }
    Ok(md)
}
