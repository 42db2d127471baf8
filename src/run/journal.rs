//! The run's journal: every finished unit — a codec cell, a population's instrument block, the
//! probes — is *appended* to `results.jsonl` and `results.csv` as it finishes (work in the size
//! of the unit, not a rewrite of everything so far), then its digest (row count and SHA-256 of
//! its JSONL lines) is appended to `digests.jsonl`. The files are rewritten in plan order once,
//! when the run ends.
//!
//! `--resume` keeps exactly the units whose lines in results.jsonl match their digest and
//! measures the rest again: a line cut by a kill, a truncated, hand-edited or duplicated results
//! file is never mixed into a run. The digests file opens with the key of the plan the rows were
//! measured under (a hash of its resolved plan.toml), so a run.json whose plan was edited (a
//! changed seed, say) is refused instead of mixing rows of two plans. Verdict rows are not
//! journaled: they are computed again from the other rows.

use super::output::write_atomic;
use crate::error::{Error, Result};
use crate::report;
use crate::results::{Plan, ResultRow, RowKind};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The digests file inside a run directory.
pub const DIGESTS: &str = "digests.jsonl";

/// A piece of a run that finishes as a whole and is kept or measured again as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "unit", rename_all = "snake_case")]
pub enum Unit {
    /// One codec on one population.
    Cell {
        /// Population name.
        population: String,
        /// Canonical codec spec.
        codec: String,
    },
    /// A population's instrument block.
    Instrument {
        /// Population name.
        population: String,
    },
    /// Every probe row of the run (probes are written together).
    Probes,
}

impl Unit {
    /// The unit a row belongs to (`None` for verdict rows, which are not journaled).
    pub fn of(row: &ResultRow) -> Option<Unit> {
        match row.kind() {
            RowKind::Cell => Some(Unit::Cell {
                population: row.population.clone(),
                codec: row.codec.clone(),
            }),
            RowKind::Instrument => Some(Unit::Instrument {
                population: row.population.clone(),
            }),
            RowKind::Probe(_) => Some(Unit::Probes),
            RowKind::Verdict => None,
        }
    }

    /// How a warning names it.
    fn describe(&self) -> String {
        match self {
            Unit::Cell { population, codec } => format!("{population} × {codec}"),
            Unit::Instrument { population } => format!("{population} instrument block"),
            Unit::Probes => "the probes".to_string(),
        }
    }
}

/// One line of the digests file after the header.
#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    #[serde(flatten)]
    unit: Unit,
    rows: usize,
    sha256: String,
}

/// The digests file's first line.
#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    plan: String,
}

/// The key of the plan rows are measured under: SHA-256 of its resolved plan.toml (which holds
/// everything results depend on, and not threads, progress or the output folder).
pub fn plan_key(plan: &Plan) -> String {
    hex(&Sha256::digest(plan.to_toml().as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Row count and SHA-256 of each unit's lines (each with its `\n`), in order of first line.
fn digest_lines<'a>(
    lines: impl Iterator<Item = (&'a str, &'a ResultRow)>,
) -> Vec<(Unit, usize, String)> {
    let mut order: Vec<Unit> = Vec::new();
    let mut acc: HashMap<Unit, (usize, Sha256)> = HashMap::new();
    for (line, row) in lines {
        let Some(unit) = Unit::of(row) else { continue };
        let e = acc.entry(unit.clone()).or_insert_with(|| {
            order.push(unit);
            (0, Sha256::new())
        });
        e.0 += 1;
        e.1.update(line.as_bytes());
        e.1.update(b"\n");
    }
    order
        .into_iter()
        .filter_map(|u| {
            let (n, h) = acc.remove(&u)?;
            Some((u, n, hex(&h.finalize())))
        })
        .collect()
}

fn entry_lines(digests: &[(Unit, usize, String)]) -> String {
    let mut s = String::new();
    for (unit, rows, sha) in digests {
        let e = Entry {
            unit: unit.clone(),
            rows: *rows,
            sha256: sha.clone(),
        };
        // A struct of strings and a count cannot fail to serialise.
        s.push_str(&serde_json::to_string(&e).unwrap_or_default());
        s.push('\n');
    }
    s
}

/// Appends finished units to a run directory's result files and digests, one writer at a time.
pub struct Journal {
    dir: PathBuf,
    lock: Mutex<()>,
}

impl Journal {
    /// Start the journal of `dir` holding `kept` (the verified rows of a resumed run, as their
    /// JSONL lines and rows; empty for a new run): results.jsonl, results.csv and digests.jsonl
    /// are rewritten to hold exactly them.
    pub fn start(dir: &Path, plan: &Plan, kept: &Verified) -> Result<Journal> {
        let rows = &kept.rows;
        write_atomic(
            &dir.join("results.csv"),
            csv_text(dir, rows, true)?.as_bytes(),
        )?;
        write_atomic(&dir.join("results.jsonl"), kept.text.as_bytes())?;
        let header = serde_json::to_string(&Header {
            plan: plan_key(plan),
        })
        .unwrap_or_default();
        let digests = digest_lines(kept.text.lines().zip(rows));
        write_atomic(
            &dir.join(DIGESTS),
            format!("{header}\n{}", entry_lines(&digests)).as_bytes(),
        )?;
        Ok(Journal {
            dir: dir.to_path_buf(),
            lock: Mutex::new(()),
        })
    }

    /// Append finished rows (whole units, or verdict rows): results.csv, then results.jsonl,
    /// then the units' digests — so a digest is only ever written after its rows, and the CSV
    /// holds at least the rows the JSONL does.
    pub fn append(&self, rows: &[ResultRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let jsonl = report::jsonl::render(rows);
        let csv = csv_text(&self.dir, rows, false)?;
        let digests = digest_lines(jsonl.lines().zip(rows));
        let _guard = self.lock.lock();
        append_to(&self.dir.join("results.csv"), &csv)?;
        append_to(&self.dir.join("results.jsonl"), &jsonl)?;
        append_to(&self.dir.join(DIGESTS), &entry_lines(&digests))
    }

    /// Rewrite both result files with `rows` (the finished run, in plan order). Each unit's
    /// lines are the same bytes in the same order, so the digests still hold.
    pub fn rewrite(&self, rows: &[ResultRow]) -> Result<()> {
        let _guard = self.lock.lock();
        super::output::write_results(&self.dir, rows)
    }
}

fn csv_text(dir: &Path, rows: &[ResultRow], header: bool) -> Result<String> {
    let text = if header {
        report::csv::render(rows)
    } else {
        report::csv::render_rows(rows)
    };
    text.map_err(|e| Error::Write {
        path: dir.join("results.csv"),
        source: std::io::Error::other(e),
    })
}

/// Append `text` with one write to the end of `path`.
fn append_to(path: &Path, text: &str) -> Result<()> {
    let werr = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(werr)?;
    f.write_all(text.as_bytes()).map_err(werr)
}

/// What a resumed run keeps of its results file.
#[derive(Debug, Default)]
pub struct Verified {
    /// The kept rows' JSONL lines, in file order (each ending with `\n`).
    pub text: String,
    /// The kept rows.
    pub rows: Vec<ResultRow>,
    /// Units found in the file that did not match their digest (measured again).
    pub dropped: Vec<String>,
    /// Lines that were not result rows (a line cut by a kill, an edit).
    pub bad_lines: usize,
}

impl Verified {
    /// These rows without those `drop` picks (whole units: the caller drops every row of a kind).
    pub fn without(self, drop: impl Fn(&ResultRow) -> bool) -> Verified {
        let mut out = Verified {
            dropped: self.dropped,
            bad_lines: self.bad_lines,
            ..Verified::default()
        };
        for (line, row) in self.text.lines().zip(self.rows) {
            if !drop(&row) {
                out.text.push_str(line);
                out.text.push('\n');
                out.rows.push(row);
            }
        }
        out
    }

    /// A line for stderr when anything was dropped.
    pub fn warning(&self, dir: &Path) -> Option<String> {
        if self.dropped.is_empty() && self.bad_lines == 0 {
            return None;
        }
        const SHOWN: usize = 5;
        let mut names = self.dropped[..self.dropped.len().min(SHOWN)].join("; ");
        if self.dropped.len() > SHOWN {
            names.push_str(&format!("; and {} more", self.dropped.len() - SHOWN));
        }
        Some(format!(
            "warning: {}: {} unit(s) did not match their digests and are measured again{}{}",
            dir.join("results.jsonl").display(),
            self.dropped.len(),
            if names.is_empty() {
                String::new()
            } else {
                format!(" ({names})")
            },
            if self.bad_lines > 0 {
                format!("; {} line(s) were not result rows", self.bad_lines)
            } else {
                String::new()
            }
        ))
    }
}

/// A regular file's text (through `input`, which refuses FIFOs and devices), `None` when absent.
fn read_if_present(path: &Path) -> Result<Option<String>> {
    match crate::input::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Read a run directory's results back for `--resume`: the units whose lines match their
/// digests in `digests.jsonl`, in file order. Verdict rows are left out (computed again). A run
/// written before digests existed is read as it is (every line must parse). An error when the
/// digests were written under another plan than `plan`.
pub fn verify(dir: &Path, plan: &Plan) -> Result<Verified> {
    let bad = |reason: String| Error::BadRunDir {
        path: dir.to_path_buf(),
        reason,
    };
    let results_path = dir.join("results.jsonl");
    let text = read_if_present(&results_path)?.unwrap_or_default();
    let digests_path = dir.join(DIGESTS);
    let Some(digests) = read_if_present(&digests_path)? else {
        // Written before digests (or killed before its first write): every line must parse.
        let rows: Vec<ResultRow> = report::jsonl::parse(&text)
            .map_err(|e| bad(format!("results.jsonl: {e}")))?
            .into_iter()
            .filter(|r| r.kind() != RowKind::Verdict)
            .collect();
        let text = report::jsonl::render(&rows);
        return Ok(Verified {
            text,
            rows,
            ..Verified::default()
        });
    };
    let mut lines = digests.split_inclusive('\n');
    let header: Option<Header> = lines
        .next()
        .filter(|l| l.ends_with('\n'))
        .and_then(|l| serde_json::from_str(l).ok());
    let Some(header) = header else {
        return Err(bad(format!(
            "{DIGESTS} does not start with the plan key codecbench writes there; start a new run \
             with its plan.toml"
        )));
    };
    let key = plan_key(plan);
    if header.plan != key {
        return Err(bad(format!(
            "run.json's plan is not the plan its results were measured under ({DIGESTS} records \
             plan key {}…, run.json's plan gives {}…): was run.json edited? Restore it, or start \
             a new run with the plan you want",
            header.plan.chars().take(12).collect::<String>(),
            &key[..12]
        )));
    }
    // Complete lines only: a line a kill cut short has no `\n` and is ignored, so its unit has
    // no digest and is measured again.
    let mut want: HashMap<Unit, (usize, String)> = HashMap::new();
    for line in lines.filter(|l| l.ends_with('\n')) {
        if let Ok(e) = serde_json::from_str::<Entry>(line) {
            want.insert(e.unit, (e.rows, e.sha256));
        }
    }
    let mut bad_lines = 0;
    let mut parsed: Vec<(&str, ResultRow)> = Vec::new();
    for line in text.split_inclusive('\n') {
        let Some(line) = line.strip_suffix('\n') else {
            bad_lines += 1;
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<ResultRow>(line) {
            Ok(r) => parsed.push((line, r)),
            Err(_) => bad_lines += 1,
        }
    }
    let found = digest_lines(parsed.iter().map(|(l, r)| (*l, r)));
    let mut keep: HashMap<Unit, bool> = HashMap::new();
    let mut dropped = Vec::new();
    for (unit, rows, sha) in found {
        let ok = want.get(&unit) == Some(&(rows, sha));
        if !ok {
            dropped.push(unit.describe());
        }
        keep.insert(unit, ok);
    }
    let mut out = Verified {
        dropped,
        bad_lines,
        ..Verified::default()
    };
    for (line, row) in parsed {
        if Unit::of(&row).is_some_and(|u| keep.get(&u) == Some(&true)) {
            out.text.push_str(line);
            out.text.push('\n');
            out.rows.push(row);
        }
    }
    Ok(out)
}
