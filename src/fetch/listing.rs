//! `codecbench fetch --list`: the source table as text, one line per source (packages in
//! short, download size, whether it is in the cache, licence).

use super::sources::{Package, SOURCES};
use crate::data::cache::{CACHE_ENV, cache_dir, is_fetched};

/// A table of all sources: name, packages, download size, licence, and whether each is in the
/// cache.
pub fn list_sources() -> String {
    let rows: Vec<[String; 5]> = SOURCES
        .iter()
        .map(|s| {
            [
                s.name.to_string(),
                package_summary(s.packages),
                s.size_hint.to_string(),
                if is_fetched(s.name) {
                    "yes".to_string()
                } else {
                    "no".to_string()
                },
                s.licence.to_string(),
            ]
        })
        .collect();
    let header = ["source", "packages", "download", "fetched", "licence"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(header);
    out.push('\n');
    for row in &rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
        out.push('\n');
    }
    out.push_str(&format!(
        "cache: {} (set {CACHE_ENV} to move it); fetch with `codecbench fetch NAME...|all`\n",
        cache_dir().display()
    ));
    out
}

/// `a==1 (PyPI)`; `name==first…last (N versions, PyPI)` for one package in many versions;
/// `prefix-001…005==v (N packages, PyPI)` for numbered parts; else `first … last`.
fn package_summary(packages: &[Package]) -> String {
    let (Some(first), Some(last)) = (packages.first(), packages.last()) else {
        return String::new();
    };
    let registry = first.registry.label();
    let n = packages.len();
    if n == 1 {
        return format!("{} ({registry})", first.spec());
    }
    if packages.iter().all(|p| p.name == first.name) {
        return format!(
            "{}=={}…{} ({n} versions, {registry})",
            first.name, first.version, last.version
        );
    }
    if packages.iter().all(|p| p.version == first.version) {
        let common = first
            .name
            .bytes()
            .zip(last.name.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        if common > 0 && first.name.is_char_boundary(common) && last.name.is_char_boundary(common) {
            return format!(
                "{}…{}=={} ({n} packages, {registry})",
                first.name,
                &last.name[common..],
                first.version
            );
        }
    }
    format!(
        "{} … {} ({n} packages, {registry})",
        first.spec(),
        last.spec()
    )
}
