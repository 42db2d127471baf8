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

/// Parse JSON Lines back into rows (for `compare`, `--resume` and tests).
pub fn parse(text: &str) -> Result<Vec<ResultRow>, serde_json::Error> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
}
