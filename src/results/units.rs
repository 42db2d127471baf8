//! Per-query values behind a cell's pooled metrics, kept in the run directory (`units/`, one
//! JSON file per cell) so that `codecbench compare` can pair two runs query by query instead of
//! comparing intervals. Written once, atomically, when the cell finishes; a resumed run keeps
//! the files of the cells it reuses.

use crate::atomic::write_atomic;
use crate::data::catalog::stable_hash;
use crate::error::{Error, Result};
use crate::metric::suite::UnitValues;
use std::path::Path;

/// Folder of the per-cell files inside a run directory.
pub const UNITS_DIR: &str = "units";

/// One cell's per-query values: `metrics[m].values[draw][query]` (NaN where undefined; the
/// `.sym` metrics hold the first draw only, pooled metrics one value per draw).
#[derive(Debug, Clone, PartialEq)]
pub struct CellUnits {
    /// Population name, as in the result rows.
    pub population: String,
    /// Canonical codec spec, as in the result rows.
    pub codec: String,
    /// The split label of the cell's rows.
    pub split: String,
    /// What pairing two runs needs to be the same: the split, its seed, the sizes of base,
    /// queries and training rows, k and the population's content hash. Two cells pair query by
    /// query only when their fingerprints are equal.
    pub fingerprint: String,
    /// Whether the cell's codec drew random numbers in its fit (`random_fit_on` its training
    /// rows): a single draw of such a codec differs between codec seeds.
    pub random_fit: bool,
    /// Queries scored.
    pub queries: usize,
    /// Codec draws.
    pub draws: usize,
    /// Per-query values of every per-query metric.
    pub metrics: Vec<UnitValues>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    population: String,
    codec: String,
    split: String,
    fingerprint: String,
    random_fit: bool,
    queries: usize,
    draws: usize,
    metrics: Vec<StoredMetric>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredMetric {
    name: String,
    /// `values[draw][query]`, null where undefined.
    values: Vec<Vec<Option<f64>>>,
}

impl CellUnits {
    /// File name of a cell inside `units/`: a stable hash of population and codec.
    fn file_name(&self) -> String {
        format!(
            "{:016x}.json",
            stable_hash(&format!("{}\u{1f}{}", self.population, self.codec))
        )
    }

    /// Write this cell's file into `run_dir/units/`.
    pub fn write(&self, run_dir: &Path) -> Result<()> {
        let dir = run_dir.join(UNITS_DIR);
        std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
            path: dir.clone(),
            source,
        })?;
        let stored = Stored {
            population: self.population.clone(),
            codec: self.codec.clone(),
            split: self.split.clone(),
            fingerprint: self.fingerprint.clone(),
            random_fit: self.random_fit,
            queries: self.queries,
            draws: self.draws,
            metrics: self
                .metrics
                .iter()
                .map(|m| StoredMetric {
                    name: m.name.clone(),
                    values: m
                        .values
                        .iter()
                        .map(|d| d.iter().map(|&v| v.is_finite().then_some(v)).collect())
                        .collect(),
                })
                .collect(),
        };
        let path = dir.join(self.file_name());
        let json = serde_json::to_string(&stored).map_err(|e| Error::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        write_atomic(&path, json.as_bytes())
    }

    /// Every cell file of a run directory (none if it has no `units/`, e.g. an older run), in
    /// file-name order.
    pub fn read_all(run_dir: &Path) -> Result<Vec<CellUnits>> {
        let dir = run_dir.join(UNITS_DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|path| {
                let text = crate::input::read_to_string(path)?;
                let s: Stored = serde_json::from_str(&text).map_err(|e| Error::BadRunDir {
                    path: path.clone(),
                    reason: format!("not a codecbench per-query file: {e}"),
                })?;
                let bad = |reason: String| Error::BadRunDir {
                    path: path.clone(),
                    reason,
                };
                for m in &s.metrics {
                    // Every draw, or the first only (the `.sym` metrics).
                    if m.values.len() != s.draws && m.values.len() != 1 {
                        return Err(bad(format!(
                            "metric {}: {} draws of values, the file says {} (or 1)",
                            m.name,
                            m.values.len(),
                            s.draws
                        )));
                    }
                    if let Some(d) = m
                        .values
                        .iter()
                        .find(|d| d.len() != s.queries && d.len() != 1)
                    {
                        return Err(bad(format!(
                            "metric {}: a draw has {} values, expected {} (one per query) or 1",
                            m.name,
                            d.len(),
                            s.queries
                        )));
                    }
                }
                Ok(CellUnits {
                    population: s.population,
                    codec: s.codec,
                    split: s.split,
                    fingerprint: s.fingerprint,
                    random_fit: s.random_fit,
                    queries: s.queries,
                    draws: s.draws,
                    metrics: s
                        .metrics
                        .into_iter()
                        .map(|m| UnitValues {
                            name: m.name,
                            values: m
                                .values
                                .into_iter()
                                .map(|d| d.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
                                .collect(),
                        })
                        .collect(),
                })
            })
            .collect()
    }
}
