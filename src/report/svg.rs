//! Hand-written SVG charts for the HTML report: line plots with CI bands, log axes, reference
//! curves and a highlighted Pareto frontier; heat maps. Pure functions from numbers to markup,
//! so the report needs no network and no JavaScript to show its pictures.

use std::fmt::Write;

/// One point of a series: x, y and its CI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Horizontal value.
    pub x: f64,
    /// Vertical value.
    pub y: f64,
    /// CI low end (same units as y), if known.
    pub lo: Option<f64>,
    /// CI high end, if known.
    pub hi: Option<f64>,
}

/// A named line of points (sorted by x when drawn).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Points.
    pub points: Vec<Point>,
    /// Drawn dashed (reference curves).
    pub dashed: bool,
}

/// Axis scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Linear.
    Linear,
    /// log base 2 (bits).
    Log2,
    /// log base 10 (errors).
    Log10,
}

/// A line plot.
#[derive(Debug, Clone)]
pub struct Plot {
    /// Title above the plot.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// x scale.
    pub x_scale: Scale,
    /// y scale.
    pub y_scale: Scale,
    /// Data series.
    pub series: Vec<Series>,
    /// Points on the Pareto frontier, drawn as a thick grey line under the series.
    pub frontier: Vec<(f64, f64)>,
}

const W: f64 = 760.0;
const H: f64 = 360.0;
const ML: f64 = 64.0;
const MR: f64 = 310.0;
const MT: f64 = 30.0;
const MB: f64 = 44.0;

/// Colour of series `i` (a colour-blind-safe cycle).
pub fn colour(i: usize) -> &'static str {
    const C: [&str; 10] = [
        "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#999933",
        "#882255", "#44aa99",
    ];
    C[i % C.len()]
}

/// Escape text for XML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn tf(scale: Scale, v: f64) -> Option<f64> {
    match scale {
        Scale::Linear => Some(v),
        Scale::Log2 if v > 0.0 => Some(v.log2()),
        Scale::Log10 if v > 0.0 => Some(v.log10()),
        Scale::Log2 | Scale::Log10 => None,
    }
}

fn range(vals: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return None;
    }
    if hi - lo < 1e-12 {
        return Some((lo - 0.5, hi + 0.5));
    }
    let pad = 0.05 * (hi - lo);
    Some((lo - pad, hi + pad))
}

fn ticks(scale: Scale, lo: f64, hi: f64) -> Vec<(f64, String)> {
    match scale {
        Scale::Log2 | Scale::Log10 => {
            let base = if scale == Scale::Log2 { 2f64 } else { 10f64 };
            (lo.ceil() as i64..=hi.floor() as i64)
                .map(|e| {
                    let v = base.powi(e as i32);
                    let label = if (1e-2..=1e4).contains(&v) {
                        format!("{v}")
                    } else {
                        format!("1e{}", (v.log10()).round() as i64)
                    };
                    (e as f64, label)
                })
                .collect()
        }
        Scale::Linear => {
            let span = hi - lo;
            let raw = span / 5.0;
            let mag = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 5.0, 10.0]
                .iter()
                .map(|m| m * mag)
                .find(|s| span / s <= 6.0)
                .unwrap_or(10.0 * mag);
            let mut v = (lo / step).ceil() * step;
            let mut out = Vec::new();
            while v <= hi + 1e-12 && out.len() < 12 {
                // Whole-number ticks (layers, counts) print as integers.
                let label = if v.fract() == 0.0 && v.abs() < 1e6 {
                    format!("{}", v as i64)
                } else {
                    super::fmt_num(v)
                };
                out.push((v, label));
                v += step;
            }
            out
        }
    }
}

/// Render a line plot as an `<svg>` element. Points that cannot be drawn on a log axis (≤ 0)
/// are left out and counted in a footnote.
pub fn line_plot(p: &Plot) -> String {
    let mut skipped = 0usize;
    let xs = p
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter_map(|pt| tf(p.x_scale, pt.x));
    let ys = p
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .flat_map(|pt| {
            [Some(pt.y), pt.lo, pt.hi]
                .into_iter()
                .flatten()
                .filter_map(|v| tf(p.y_scale, v))
        });
    let (Some((x0, x1)), Some((y0, y1))) = (range(xs), range(ys.collect::<Vec<_>>().into_iter()))
    else {
        return format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"60\"><text x=\"10\" y=\"30\">{}: no data to plot</text></svg>",
            esc(&p.title)
        );
    };
    let px = |v: f64| ML + (v - x0) / (x1 - x0) * (W - ML - MR);
    let py = |v: f64| H - MB - (v - y0) / (y1 - y0) * (H - MT - MB);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    let _ = write!(s, "<title>{}</title>", esc(&p.title));
    let _ = write!(
        s,
        "<text x=\"{ML}\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        esc(&p.title)
    );
    // Axes and grid.
    let _ = write!(
        s,
        "<rect x=\"{ML}\" y=\"{MT}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>",
        W - ML - MR,
        H - MT - MB
    );
    for (v, label) in ticks(p.x_scale, x0, x1) {
        let x = px(v);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{MT}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#eee\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            H - MB,
            H - MB + 14.0,
            esc(&label)
        );
    }
    for (v, label) in ticks(p.y_scale, y0, y1) {
        let y = py(v);
        let _ = write!(
            s,
            "<line x1=\"{ML}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#eee\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - MR,
            ML - 4.0,
            y + 4.0,
            esc(&label)
        );
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        ML + (W - ML - MR) / 2.0,
        H - 8.0,
        esc(&p.x_label)
    );
    let _ = write!(
        s,
        "<text transform=\"translate(14,{:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        MT + (H - MT - MB) / 2.0,
        esc(&p.y_label)
    );
    // Pareto frontier under everything.
    let front: Vec<(f64, f64)> = p
        .frontier
        .iter()
        .filter_map(|&(x, y)| Some((px(tf(p.x_scale, x)?), py(tf(p.y_scale, y)?))))
        .collect();
    if front.len() >= 2 {
        let pts: Vec<String> = front
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            s,
            "<polyline class=\"frontier\" points=\"{}\" fill=\"none\" stroke=\"#bbb\" stroke-width=\"8\" stroke-linejoin=\"round\" opacity=\"0.6\"/>",
            pts.join(" ")
        );
    }
    for (i, ser) in p.series.iter().enumerate() {
        let c = colour(i);
        let mut pts: Vec<Point> = ser.points.clone();
        pts.sort_by(|a, b| a.x.total_cmp(&b.x));
        let mut drawn: Vec<(f64, f64)> = Vec::new();
        let mut band_top: Vec<(f64, f64)> = Vec::new();
        let mut band_bottom: Vec<(f64, f64)> = Vec::new();
        for pt in &pts {
            match (tf(p.x_scale, pt.x), tf(p.y_scale, pt.y)) {
                (Some(x), Some(y)) => {
                    drawn.push((px(x), py(y)));
                    if let (Some(lo), Some(hi)) = (
                        pt.lo.and_then(|v| tf(p.y_scale, v)),
                        pt.hi.and_then(|v| tf(p.y_scale, v)),
                    ) {
                        band_top.push((px(x), py(hi)));
                        band_bottom.push((px(x), py(lo)));
                    }
                }
                _ => skipped += 1,
            }
        }
        let _ = write!(s, "<g class=\"series\" data-series=\"{}\">", esc(&ser.name));
        if band_top.len() >= 2 {
            let mut poly: Vec<String> = band_top
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            poly.extend(
                band_bottom
                    .iter()
                    .rev()
                    .map(|(x, y)| format!("{x:.1},{y:.1}")),
            );
            let _ = write!(
                s,
                "<polygon points=\"{}\" fill=\"{c}\" opacity=\"0.15\" stroke=\"none\"/>",
                poly.join(" ")
            );
        }
        if drawn.len() >= 2 {
            let line: Vec<String> = drawn
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            let _ = write!(
                s,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\"{}/>",
                line.join(" "),
                if ser.dashed {
                    " stroke-dasharray=\"6 4\""
                } else {
                    ""
                }
            );
        }
        if !ser.dashed {
            for ((x, y), pt) in drawn.iter().zip(pts.iter()) {
                let _ = write!(
                    s,
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"{c}\"><title>{}: x={}, y={}</title></circle>",
                    esc(&ser.name),
                    super::fmt_num(pt.x),
                    super::fmt_num(pt.y)
                );
            }
        }
        let _ = write!(s, "</g>");
        // Legend.
        let ly = MT + 8.0 + 16.0 * i as f64;
        let lx = W - MR + 12.0;
        let _ = write!(
            s,
            "<line x1=\"{lx:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{c}\" stroke-width=\"2\"{}/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            lx + 18.0,
            if ser.dashed {
                " stroke-dasharray=\"6 4\""
            } else {
                ""
            },
            lx + 22.0,
            ly + 4.0,
            esc(&ser.name)
        );
    }
    if front.len() >= 2 {
        let ly = MT + 8.0 + 16.0 * p.series.len() as f64;
        let lx = W - MR + 12.0;
        let _ = write!(
            s,
            "<line x1=\"{lx:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"#bbb\" stroke-width=\"8\" opacity=\"0.6\"/><text x=\"{:.1}\" y=\"{:.1}\">Pareto frontier</text>",
            lx + 18.0,
            lx + 22.0,
            ly + 4.0
        );
    }
    if skipped > 0 {
        let _ = write!(
            s,
            "<text x=\"{ML}\" y=\"{:.1}\" font-size=\"10\" fill=\"#a00\">{skipped} point(s) ≤ 0 not shown on the log axis</text>",
            MT + 12.0
        );
    }
    s.push_str("</svg>");
    s
}

/// The frame of a heat map or a categorical grid: cell size and where the cells start.
#[derive(Clone, Copy)]
struct Grid {
    cell_w: f64,
    cell_h: f64,
    /// x of the first column (row labels end just left of it).
    left: f64,
    /// y of the first row (column labels stand just above it).
    top: f64,
}

impl Grid {
    /// The column labels, rotated by `angle` degrees, anchored `shift` of a cell into their
    /// column.
    fn column_labels(&self, s: &mut String, cols: &[String], shift: f64, angle: i32) {
        for (j, c) in cols.iter().enumerate() {
            let x = self.left + self.cell_w * (j as f64 + shift);
            let _ = write!(
                s,
                "<text transform=\"translate({x:.1},{:.1}) rotate({angle})\">{}</text>",
                self.top - 6.0,
                esc(c)
            );
        }
    }

    /// Row `i`'s label, right-aligned before the cells (`attrs`: extra attributes of its
    /// `<text>`); returns the row's top y.
    fn row_label(&self, s: &mut String, i: usize, label: &str, attrs: &str) -> f64 {
        let y = self.top + self.cell_h * i as f64;
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\"{attrs}>{}</text>",
            self.left - 6.0,
            y + 15.0,
            esc(label)
        );
        y
    }
}

/// The opening `<svg>` tag of a `w` × `h` chart of class `class`, with its title (tooltip and
/// heading).
fn open_svg(class: &str, w: f64, h: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"{class}\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\"><title>{}</title><text x=\"4\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        esc(title),
        esc(title)
    )
}

/// Render a heat map (rows × columns, values in [lo, hi], None = no value) as `<svg>`.
pub fn heatmap(
    title: &str,
    rows: &[String],
    cols: &[String],
    values: &[Vec<Option<f64>>],
    lo: f64,
    hi: f64,
) -> String {
    let grid = Grid {
        cell_w: 84.0,
        cell_h: 22.0,
        left: 310.0,
        top: 110.0,
    };
    let Grid {
        cell_w,
        cell_h,
        left,
        ..
    } = grid;
    let w = left + cell_w * cols.len() as f64 + 90.0;
    let h = grid.top + cell_h * rows.len() as f64 + 20.0;
    let mut s = open_svg("heatmap", w, h, title);
    grid.column_labels(&mut s, cols, 0.5, -35);
    for (i, r) in rows.iter().enumerate() {
        let y = grid.row_label(&mut s, i, r, "");
        for (j, v) in values.get(i).into_iter().flatten().enumerate() {
            let x = left + cell_w * j as f64;
            let (fill, label) = match v {
                Some(v) => {
                    let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
                    // White (low) to blue (high).
                    let r = (255.0 * (1.0 - 0.8 * t)) as u8;
                    let g = (255.0 * (1.0 - 0.55 * t)) as u8;
                    (format!("rgb({r},{g},255)"), super::fmt_num(*v))
                }
                None => ("#f4f4f4".to_string(), "—".to_string()),
            };
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell_w}\" height=\"{cell_h}\" fill=\"{fill}\" stroke=\"#fff\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + cell_w / 2.0,
                y + 15.0,
                esc(&label)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The lower-left / upper-left Pareto frontier of points (x = cost, lower is better; y = quality,
/// `higher_is_better` says which way): points no other point beats on both.
pub fn pareto(points: &[(f64, f64)], higher_is_better: bool) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    pts.sort_by(|a, b| {
        a.0.total_cmp(&b.0).then(if higher_is_better {
            b.1.total_cmp(&a.1)
        } else {
            a.1.total_cmp(&b.1)
        })
    });
    let mut out: Vec<(f64, f64)> = Vec::new();
    for p in pts {
        let better = match out.last() {
            None => true,
            Some(last) => {
                if higher_is_better {
                    p.1 > last.1
                } else {
                    p.1 < last.1
                }
            }
        };
        if better {
            out.push(p);
        }
    }
    out
}

/// One cell of a categorical grid: fill colour and a short label (None = empty cell).
#[derive(Debug, Clone, PartialEq)]
pub struct GridCell {
    /// Fill colour (CSS).
    pub fill: &'static str,
    /// Text inside the cell.
    pub label: String,
    /// Tooltip (the full reasoning).
    pub tip: String,
}

/// Render a categorical grid (rows × columns of coloured, labelled cells) with a legend of
/// `(colour, meaning)` pairs, as `<svg>`: the hypothesis × population matrix.
pub fn category_grid(
    title: &str,
    rows: &[String],
    cols: &[String],
    cells: &[Vec<Option<GridCell>>],
    legend: &[(&str, &str)],
) -> String {
    // Room for the longest row label at ~6.5 px per character of 11 px sans-serif.
    let longest = rows.iter().map(|r| r.chars().count()).max().unwrap_or(0);
    let grid = Grid {
        cell_w: 132.0,
        cell_h: 22.0,
        left: (6.5 * longest as f64 + 14.0).max(60.0),
        top: 120.0,
    };
    let Grid {
        cell_w,
        cell_h,
        left,
        ..
    } = grid;
    let w = (left + cell_w * cols.len() as f64 + 20.0).max(560.0);
    let h = grid.top + cell_h * rows.len() as f64 + 40.0;
    let mut s = open_svg("grid", w, h, title);
    let mut x = 4.0;
    for (fill, meaning) in legend {
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"26\" width=\"12\" height=\"12\" fill=\"{fill}\"/><text x=\"{:.1}\" y=\"36\">{}</text>",
            x + 16.0,
            esc(meaning)
        );
        x += 30.0 + 6.5 * meaning.chars().count() as f64;
    }
    grid.column_labels(&mut s, cols, 0.3, -25);
    for (i, r) in rows.iter().enumerate() {
        let y = grid.row_label(&mut s, i, r, " font-weight=\"bold\"");
        for (j, c) in cells.get(i).into_iter().flatten().enumerate() {
            let x = left + cell_w * j as f64;
            let Some(c) = c else {
                let _ = write!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell_w}\" height=\"{cell_h}\" fill=\"#fafafa\" stroke=\"#fff\"/>"
                );
                continue;
            };
            let _ = write!(
                s,
                "<g><title>{}</title><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell_w}\" height=\"{cell_h}\" fill=\"{}\" stroke=\"#fff\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
                esc(&c.tip),
                c.fill,
                x + cell_w / 2.0,
                y + 15.0,
                esc(&c.label)
            );
        }
    }
    s.push_str("</svg>");
    s
}
