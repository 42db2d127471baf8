//! The peer comparison (`codecbench compare-peers`) as data and text: peer rows parsed from
//! `peers/peers.py`'s JSONL, our measurements of the matching codec on the same split, and per
//! population × codec × peer the quality metrics side by side (with a verdict from the CIs) and
//! the speed ratios ours / peer. Pure functions; `crate::peers` measures and writes.

use crate::codec::{CodecSpec, PqScan};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Quality metrics compared, higher-is-better ones first (`slope` has no better direction: it is
/// shown, not judged).
pub const QUALITY: &[&str] = &["pearson", "spearman", "recall@K", "slope"];
/// Timings compared: (metric name, column label). Rates, so ours / peer ≥ 1 means we are faster.
pub const SPEED: &[(&str, &str)] = &[
    ("encode_rows_per_s.t1", "encode rows/s, 1 thread"),
    ("scan_codes_per_s.t1", "scan codes/s, 1 thread"),
    ("encode_rows_per_s.tall", "encode rows/s, all threads"),
    ("scan_codes_per_s.tall", "scan codes/s, all threads"),
];

/// One row of a peers JSONL file (codecbench's result field names plus `ours`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerRow {
    /// Population name, as `codecbench export` wrote it in split.json.
    pub population: String,
    /// Peer codec, e.g. `faiss:SQ8`.
    pub codec: String,
    /// The codecbench codec spec this peer is compared with.
    pub ours: String,
    /// Metric (`pearson`, `recall@10`, `scan_codes_per_s.t1`, …).
    pub metric: String,
    /// Value; null when undefined.
    pub value: Option<f64>,
    /// 95% CI low (timings: the slowest repeat).
    pub ci_lo: Option<f64>,
    /// 95% CI high (timings: the fastest repeat).
    pub ci_hi: Option<f64>,
    /// Bytes per row as the peer stores it (norms the wrapper keeps are counted).
    pub bytes_per_row: usize,
    /// Row dimension.
    pub dim: usize,
}

/// A number with an optional interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Num {
    /// Value (None = undefined or not measured).
    pub value: Option<f64>,
    /// Low end of the interval.
    pub lo: Option<f64>,
    /// High end of the interval.
    pub hi: Option<f64>,
}

/// One codec's numbers on one population (ours or a peer's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// Codec name (canonical spec for ours, peer name otherwise).
    pub codec: String,
    /// Bytes per row.
    pub bytes_per_row: usize,
    /// Metric → number.
    pub metrics: BTreeMap<String, Num>,
}

/// Our measurement of one codec on one population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ours {
    /// Population.
    pub population: String,
    /// Row dimension.
    pub dim: usize,
    /// Our numbers.
    pub side: Side,
}

/// Quality verdict of ours against the peer, from the 95% CIs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "verdict", content = "by")]
pub enum Verdict {
    /// The intervals overlap.
    EqualWithinCi,
    /// Ours is higher beyond both intervals (by this much).
    Better(f64),
    /// Ours is lower beyond both intervals (by this much).
    Behind(f64),
    /// Not judged (a value or interval is missing, or the metric has no better direction).
    NotJudged,
}

impl Verdict {
    /// Judge a higher-is-better metric.
    pub fn judge(ours: &Num, peer: &Num) -> Verdict {
        let (Some(a), Some(b)) = (ours.value, peer.value) else {
            return Verdict::NotJudged;
        };
        let (al, ah) = (ours.lo.unwrap_or(a), ours.hi.unwrap_or(a));
        let (bl, bh) = (peer.lo.unwrap_or(b), peer.hi.unwrap_or(b));
        if al <= bh && bl <= ah {
            Verdict::EqualWithinCi
        } else if a > b {
            Verdict::Better(a - b)
        } else {
            Verdict::Behind(b - a)
        }
    }

    fn text(&self) -> String {
        match self {
            Verdict::EqualWithinCi => "= (within CI)".to_string(),
            Verdict::Better(d) => format!("better by {}", fmt_delta(*d)),
            Verdict::Behind(d) => format!("**behind by {}**", fmt_delta(*d)),
            Verdict::NotJudged => String::new(),
        }
    }
}

fn fmt_delta(d: f64) -> String {
    if d >= 1e-3 {
        format!("{d:.4}")
    } else {
        format!("{d:.1e}")
    }
}

/// One quality metric side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityCell {
    /// Metric name.
    pub metric: String,
    /// Ours.
    pub ours: Num,
    /// The peer's.
    pub peer: Num,
    /// Verdict (higher-is-better metrics only).
    pub verdict: Verdict,
}

/// One timing side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeedCell {
    /// Metric name (`scan_codes_per_s.t1`, …).
    pub metric: String,
    /// Our median rate.
    pub ours: Option<f64>,
    /// The peer's median rate.
    pub peer: Option<f64>,
    /// ours / peer (≥ 1: we are faster); None when either is missing.
    pub ratio: Option<f64>,
}

/// Ours against one peer on one population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Population.
    pub population: String,
    /// Row dimension.
    pub dim: usize,
    /// Ours.
    pub ours: Side,
    /// The peer.
    pub peer: Side,
    /// Quality metrics.
    pub quality: Vec<QualityCell>,
    /// Timings.
    pub speed: Vec<SpeedCell>,
}

/// ours / peer for two rates; None unless both are finite and the peer's is positive.
pub fn speed_ratio(ours: Option<f64>, peer: Option<f64>) -> Option<f64> {
    match (ours, peer) {
        (Some(a), Some(b)) if a.is_finite() && b.is_finite() && b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// "1.23×" when ours is at least as fast, "**behind by 2.50×**" (peer / ours) when not.
pub fn ratio_text(ratio: Option<f64>) -> String {
    match ratio {
        None => "—".to_string(),
        Some(r) if r >= 1.0 => format!("{r:.2}×"),
        Some(r) if r > 0.0 => format!("**behind by {:.2}×**", 1.0 / r),
        Some(_) => "**behind (ours ≈ 0)**".to_string(),
    }
}

/// The codec a peer is paired with: FAISS's fast-scan PQ (`…PQ{M}x4fs`) is timed against our
/// `pq` with `scan=fast` (same codes, u8 tables), even when an older peers file names plain `pq`.
pub fn fast_scan_pair(peer: &str, ours: CodecSpec) -> CodecSpec {
    if let CodecSpec::Pq(mut p) = ours {
        if peer.ends_with("x4fs") && p.nbits == 4 {
            p.scan = PqScan::Fast;
        }
        return CodecSpec::Pq(p);
    }
    ours
}

/// Parse a peers JSONL file. Blank lines are skipped; any other line that is not a valid row,
/// or whose `ours` is not a codec spec, is an error naming the file and the line (1-based).
pub fn parse(path: &Path, text: &str) -> Result<Vec<PeerRow>> {
    let bad = |line: usize, reason: String| Error::BadPeersFile {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut row: PeerRow =
            serde_json::from_str(line).map_err(|e| bad(i + 1, format!("not a peers row: {e}")))?;
        let spec = row
            .ours
            .parse::<CodecSpec>()
            .map_err(|e| bad(i + 1, format!("`ours` is not a codec spec: {e}")))?;
        row.ours = fast_scan_pair(&row.codec, spec).to_string();
        if row.dim == 0 {
            return Err(bad(i + 1, "dim must be at least 1".to_string()));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(Error::BadRunDir {
            path: path.to_path_buf(),
            reason: "no peer rows (empty peers file)".to_string(),
        });
    }
    Ok(rows)
}

/// The peer cells of a parsed file: (population, peer codec) → (canonical ours spec, dim, side),
/// in first-appearance order.
pub fn peer_cells(rows: &[PeerRow]) -> Vec<(String, String, usize, Side)> {
    let mut out: Vec<(String, String, usize, Side)> = Vec::new();
    for r in rows {
        let ours = r
            .ours
            .parse::<CodecSpec>()
            .map_or_else(|_| r.ours.clone(), |s| s.to_string());
        let pos = out
            .iter()
            .position(|(p, _, _, s)| *p == r.population && s.codec == r.codec);
        let i = match pos {
            Some(i) => i,
            None => {
                out.push((
                    r.population.clone(),
                    ours,
                    r.dim,
                    Side {
                        codec: r.codec.clone(),
                        bytes_per_row: r.bytes_per_row,
                        metrics: BTreeMap::new(),
                    },
                ));
                out.len() - 1
            }
        };
        out[i].3.metrics.insert(
            r.metric.clone(),
            Num {
                value: r.value,
                lo: r.ci_lo,
                hi: r.ci_hi,
            },
        );
    }
    out
}

/// The recall metric's name in a side (`recall@10`), if any.
fn recall_name(side: &Side) -> Option<String> {
    side.metrics
        .keys()
        .find(|m| m.starts_with("recall@"))
        .cloned()
}

/// Build the comparisons: every peer cell against our measurement of its `ours` codec on the
/// same population. Peer cells without a matching `Ours` are skipped (the caller says why).
pub fn compare(peers: &[PeerRow], ours: &[Ours]) -> Vec<Comparison> {
    let mut out = Vec::new();
    for (pop, spec, dim, peer) in peer_cells(peers) {
        let Some(o) = ours
            .iter()
            .find(|o| o.population == pop && o.side.codec == spec)
        else {
            continue;
        };
        let quality = QUALITY
            .iter()
            .map(|&m| {
                let name = if m == "recall@K" {
                    recall_name(&peer).unwrap_or_else(|| "recall@10".to_string())
                } else {
                    m.to_string()
                };
                let a = o.side.metrics.get(&name).copied().unwrap_or_default();
                let b = peer.metrics.get(&name).copied().unwrap_or_default();
                let verdict = if m == "slope" {
                    Verdict::NotJudged
                } else {
                    Verdict::judge(&a, &b)
                };
                QualityCell {
                    metric: name,
                    ours: a,
                    peer: b,
                    verdict,
                }
            })
            .collect();
        let speed = SPEED
            .iter()
            .map(|&(m, _)| {
                let a = o.side.metrics.get(m).and_then(|n| n.value);
                let b = peer.metrics.get(m).and_then(|n| n.value);
                SpeedCell {
                    metric: m.to_string(),
                    ours: a,
                    peer: b,
                    ratio: speed_ratio(a, b),
                }
            })
            .collect();
        out.push(Comparison {
            population: pop,
            dim,
            ours: o.side.clone(),
            peer,
            quality,
            speed,
        });
    }
    out
}

fn fmt_rate(x: Option<f64>) -> String {
    match x {
        None => "—".to_string(),
        Some(x) if x >= 1e9 => format!("{:.2}G", x / 1e9),
        Some(x) if x >= 1e6 => format!("{:.2}M", x / 1e6),
        Some(x) if x >= 1e3 => format!("{:.1}k", x / 1e3),
        Some(x) => format!("{x:.1}"),
    }
}

fn fmt_num(n: &Num) -> String {
    super::fmt_ci(n.value, n.lo, n.hi)
}

/// Markdown: per population, a quality table and a speed table (one row per codec × peer),
/// then the list of places where we are behind.
pub fn render_markdown(cmp: &[Comparison], header: &str) -> String {
    let mut s = String::from("# codecbench vs peers\n\n");
    s.push_str(header);
    s.push('\n');
    let mut pops: Vec<&str> = Vec::new();
    for c in cmp {
        if !pops.contains(&c.population.as_str()) {
            pops.push(&c.population);
        }
    }
    for pop in &pops {
        let cells: Vec<&Comparison> = cmp.iter().filter(|c| c.population == *pop).collect();
        let dim = cells.first().map_or(0, |c| c.dim);
        s.push_str(&format!(
            "\n## {pop} (d = {dim})\n\n### Quality (95% CI)\n\n"
        ));
        s.push_str("| ours | peer | B/row ours / peer |");
        let names: Vec<String> = cells
            .first()
            .map(|c| c.quality.iter().map(|q| q.metric.clone()).collect())
            .unwrap_or_default();
        for n in &names {
            s.push_str(&format!(" {n} ours | {n} peer | |"));
        }
        s.push('\n');
        s.push_str("|---|---|---|");
        for _ in &names {
            s.push_str("---|---|---|");
        }
        s.push('\n');
        for c in &cells {
            s.push_str(&format!(
                "| `{}` | `{}` | {} / {} |",
                c.ours.codec, c.peer.codec, c.ours.bytes_per_row, c.peer.bytes_per_row
            ));
            for q in &c.quality {
                s.push_str(&format!(
                    " {} | {} | {} |",
                    fmt_num(&q.ours),
                    fmt_num(&q.peer),
                    q.verdict.text()
                ));
            }
            s.push('\n');
        }
        s.push_str("\n### Speed (median over repeats; ratio = ours / peer)\n\n| ours | peer |");
        for (_, label) in SPEED {
            s.push_str(&format!(" {label}: ours | peer | ratio |"));
        }
        s.push_str("\n|---|---|");
        for _ in SPEED {
            s.push_str("---|---|---|");
        }
        s.push('\n');
        for c in &cells {
            s.push_str(&format!("| `{}` | `{}` |", c.ours.codec, c.peer.codec));
            for sp in &c.speed {
                s.push_str(&format!(
                    " {} | {} | {} |",
                    fmt_rate(sp.ours),
                    fmt_rate(sp.peer),
                    ratio_text(sp.ratio)
                ));
            }
            s.push('\n');
        }
    }
    let behind = behind_lines(cmp);
    s.push_str("\n## Where we are behind\n\n");
    if behind.is_empty() {
        s.push_str("Nowhere: every judged quality metric is equal within CI or better, and every speed ratio is ≥ 1.\n");
    } else {
        for b in behind {
            s.push_str(&format!("- {b}\n"));
        }
    }
    s
}

/// One line per quality metric beyond the CIs below the peer and per speed ratio below 1.
pub fn behind_lines(cmp: &[Comparison]) -> Vec<String> {
    let mut out = Vec::new();
    for c in cmp {
        for q in &c.quality {
            if let Verdict::Behind(d) = q.verdict {
                out.push(format!(
                    "{} `{}` vs `{}`: {} behind by {} ({} vs {})",
                    c.population,
                    c.ours.codec,
                    c.peer.codec,
                    q.metric,
                    fmt_delta(d),
                    fmt_num(&q.ours),
                    fmt_num(&q.peer)
                ));
            }
        }
        for sp in &c.speed {
            if let Some(r) = sp.ratio.filter(|&r| r < 1.0) {
                out.push(format!(
                    "{} `{}` vs `{}`: {} behind by {:.2}× ({} vs {})",
                    c.population,
                    c.ours.codec,
                    c.peer.codec,
                    sp.metric,
                    if r > 0.0 { 1.0 / r } else { f64::INFINITY },
                    fmt_rate(sp.ours),
                    fmt_rate(sp.peer)
                ));
            }
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt(x: Option<f64>) -> String {
    x.map_or_else(String::new, |v| format!("{v}"))
}

/// CSV, one line per population × ours × peer × metric: values, intervals, verdict or ratio.
pub fn render_csv(cmp: &[Comparison]) -> String {
    let mut s = String::from(
        "population,dim,ours,peer,bytes_ours,bytes_peer,metric,ours_value,ours_lo,ours_hi,peer_value,peer_lo,peer_hi,verdict,delta,ratio\n",
    );
    for c in cmp {
        let head = format!(
            "{},{},{},{},{},{}",
            csv_field(&c.population),
            c.dim,
            csv_field(&c.ours.codec),
            csv_field(&c.peer.codec),
            c.ours.bytes_per_row,
            c.peer.bytes_per_row
        );
        for q in &c.quality {
            let (verdict, delta) = match q.verdict {
                Verdict::EqualWithinCi => ("equal-within-ci", None),
                Verdict::Better(d) => ("better", Some(d)),
                Verdict::Behind(d) => ("behind", Some(d)),
                Verdict::NotJudged => ("", None),
            };
            s.push_str(&format!(
                "{head},{},{},{},{},{},{},{},{verdict},{},\n",
                csv_field(&q.metric),
                opt(q.ours.value),
                opt(q.ours.lo),
                opt(q.ours.hi),
                opt(q.peer.value),
                opt(q.peer.lo),
                opt(q.peer.hi),
                opt(delta)
            ));
        }
        for sp in &c.speed {
            let lohi = |side: &Side| {
                side.metrics
                    .get(&sp.metric)
                    .map_or((None, None), |n| (n.lo, n.hi))
            };
            let (ol, oh) = lohi(&c.ours);
            let (pl, ph) = lohi(&c.peer);
            s.push_str(&format!(
                "{head},{},{},{},{},{},{},{},,,{}\n",
                csv_field(&sp.metric),
                opt(sp.ours),
                opt(ol),
                opt(oh),
                opt(sp.peer),
                opt(pl),
                opt(ph),
                opt(sp.ratio)
            ));
        }
    }
    s
}
