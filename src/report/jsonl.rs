//! `results.jsonl`: one JSON object per result row, in run order; a program's view of a run.

use crate::results::ResultRow;

/// Render rows as JSON Lines (each line ends with `\n`).
pub fn render(rows: &[ResultRow]) -> String {
    let mut s = String::new();
    for r in rows {
        // Serialising a struct of plain fields cannot fail.
        s.push_str(&serde_json::to_string(r).unwrap_or_default());
        s.push('\n');
    }
    s
}

/// A line of a results file that is not a result row.
#[derive(Debug, thiserror::Error)]
#[error("line {line}, column {column}: {reason}")]
pub struct ParseError {
    /// 1-based line in the file.
    pub line: usize,
    /// 1-based column within that line.
    pub column: usize,
    /// What serde_json found there.
    pub reason: String,
}

/// Parse JSON Lines back into rows (for `compare`, `--resume`, `hypotheses` and tests); an error
/// names the file's line, not the line within one JSON object.
pub fn parse(text: &str) -> Result<Vec<ResultRow>, ParseError> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row = serde_json::from_str(line).map_err(|e| {
            let full = e.to_string();
            // serde_json appends " at line 1 column C" (the line within this one object).
            let reason = match full.rfind(" at line ") {
                Some(k) => full[..k].to_string(),
                None => full,
            };
            ParseError {
                line: i + 1,
                column: e.column(),
                reason,
            }
        })?;
        rows.push(row);
    }
    Ok(rows)
}
