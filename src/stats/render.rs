//! How a `codecbench stats` report is printed: every mode's report is a [`Report`], rendered as
//! text for a terminal or as the JSON object the issue specifies for the mode.

use std::path::Path;

use serde::Serialize;

/// What each mode reports, printable two ways.
pub(super) trait Report {
    /// The JSON object the issue specifies for the mode.
    type Json: Serialize;
    fn json(&self) -> Self::Json;
    /// The text for a terminal; `path` is the table it was computed from.
    fn text(&self, path: &Path) -> String;
}

/// `report` as pretty JSON or as text.
pub(super) fn render<R: Report>(report: &R, path: &Path, json: bool) -> String {
    if json {
        to_json(&report.json())
    } else {
        report.text(path)
    }
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).expect("plain structs of numbers serialize")
}
