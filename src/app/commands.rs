//! The binary's small subcommands: thin wrappers that call the library, write what the command
//! writes and print.

use super::cli::{ComparePeersArgs, ExportArgs, ListWhat, RunArgs, SpeedArgs};
use anyhow::Result;
use codecbench::codec::spec::CODECS;
use codecbench::data::catalog::catalog;
use codecbench::data::inspect::inspect_file;
use codecbench::metric::suite::METRICS;
use codecbench::report;
use codecbench::run::output::write_atomic;
use std::path::{Path, PathBuf};

pub fn run(args: RunArgs) -> Result<()> {
    let outcome = match args.resume.clone() {
        Some(dir) => codecbench::run::resume(
            &dir,
            args.threads,
            args.memory_budget.unwrap_or_default(),
            !args.no_progress,
        )?,
        None => codecbench::run::run(&args.into_plan()?)?,
    };
    print!("{}", report::summary::render(&outcome.rows));
    println!("\nreport: {}", outcome.dir.join("report.md").display());
    println!(
        "results: {} ({} rows), results.csv",
        outcome.dir.join("results.jsonl").display(),
        outcome.rows.len()
    );
    Ok(())
}

pub fn list(what: ListWhat, json: bool) -> Result<()> {
    match what {
        ListWhat::Codecs => {
            if json {
                println!("{}", serde_json::to_string_pretty(CODECS)?);
                return Ok(());
            }
            for c in CODECS {
                println!("{:<8} [{} · {}] {}", c.name, c.grade, c.family, c.summary);
                println!("         reference: {}", c.reference);
                for p in c.params {
                    println!(
                        "         {}={} (default {}): {}",
                        p.key, p.values, p.default, p.doc
                    );
                }
            }
        }
        ListWhat::Populations => {
            let cat = catalog();
            if json {
                println!("{}", serde_json::to_string_pretty(&cat)?);
                return Ok(());
            }
            println!(
                "{:<18} {:<13} {:<8} {:<6} {:<8} {:<26} role",
                "name", "shape", "regime", "dtype", "split", "availability"
            );
            for e in &cat {
                println!(
                    "{:<18} {:<13} {:<8} {:<6} {:<8} {:<26} {}",
                    e.name, e.shape, e.regime, e.dtype, e.split, e.availability, e.role
                );
                if !e.params.is_empty() {
                    println!("{:<18} params: {}", "", e.params);
                }
                println!("{:<18} {}", "", e.description);
            }
            println!(
                "\nFiles: path.npy (f32, f64, f16, u8; C or Fortran order), path.fvecs, path.bvecs, \
                 path.safetensors:TENSOR (F32, F16, BF16); 2-D, rows = first axis."
            );
        }
        ListWhat::Metrics => {
            if json {
                println!("{}", serde_json::to_string_pretty(METRICS)?);
                return Ok(());
            }
            for m in METRICS {
                println!("{:<10} {}", m.name, m.definition);
                println!("           pooled: {}", m.pooling);
            }
            println!("\n`.sym` variants score both sides encoded (codecs that support it).");
        }
    }
    Ok(())
}

pub fn inspect(file: &Path, rows: usize, json: bool) -> Result<()> {
    let tensors = inspect_file(file, rows)?;
    if json {
        let v: Vec<_> = tensors
            .iter()
            .map(|(info, stats)| serde_json::json!({"tensor": info, "stats": stats}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("{}: {} tensor(s)", file.display(), tensors.len());
    for (info, stats) in &tensors {
        println!(
            "  {}  {}  {:?}  {} bytes",
            info.name, info.dtype, info.shape, info.bytes
        );
        if let Some(s) = stats {
            println!(
                "      first {} rows: mean {:.4e}  std {:.4e}  min {:.4e}  max {:.4e}  |row| mean {:.4e} [{:.4e}, {:.4e}]  zero rows {}  non-finite rows {}",
                s.rows,
                s.mean,
                s.std,
                s.min,
                s.max,
                s.norm_mean,
                s.norm_min,
                s.norm_max,
                s.zero_rows,
                s.nonfinite_rows
            );
        }
    }
    Ok(())
}

/// Read a run's rows from its directory or its results.jsonl (`compare`, `hypotheses`).
fn read_rows(path: &Path) -> Result<Vec<codecbench::results::ResultRow>> {
    let file = if path.is_dir() {
        path.join("results.jsonl")
    } else {
        path.to_path_buf()
    };
    let text = codecbench::input::read_to_string(&file)?;
    report::jsonl::parse(&text).map_err(|e| {
        codecbench::Error::BadRunDir {
            path: file.clone(),
            reason: format!("not a codecbench results.jsonl: {e}"),
        }
        .into()
    })
}

/// A run's directory from a path to it or to its results.jsonl.
fn run_dir_of(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    }
}

/// The codec seed base a run used (from its run.json), if it can be read.
fn codec_seed_of(dir: &Path) -> Option<u64> {
    let text = codecbench::input::read_to_string(&dir.join("run.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    // Runs written before codec draws were seeded from `--codec-seed` and the codec's identity
    // (results format 1) drew differently whatever their seed: never "the same draws".
    if v.get("results_format").and_then(serde_json::Value::as_u64)
        != Some(u64::from(codecbench::results::RESULTS_FORMAT))
    {
        return None;
    }
    let plan = v.get("plan")?;
    plan.get("codec_seed")
        .and_then(serde_json::Value::as_u64)
        .or_else(|| plan.get("seed").and_then(serde_json::Value::as_u64))
}

/// Compare two runs; Ok(true) when a regression was found.
pub fn compare(
    a: &Path,
    b: &Path,
    opts: &report::compare::CompareOptions,
    all: bool,
    json: bool,
) -> Result<bool> {
    if !(opts.alpha > 0.0 && opts.alpha < 1.0) {
        return Err(codecbench::Error::InvalidPlan {
            field: "--alpha",
            reason: format!("must lie strictly between 0 and 1 (got {})", opts.alpha),
        }
        .into());
    }
    if !(opts.min_effect >= 0.0 && opts.min_effect.is_finite()) {
        return Err(codecbench::Error::InvalidPlan {
            field: "--min-effect",
            reason: format!("must be a finite number ≥ 0 (got {})", opts.min_effect),
        }
        .into());
    }
    let (rows_a, rows_b) = (read_rows(a)?, read_rows(b)?);
    let (dir_a, dir_b) = (run_dir_of(a), run_dir_of(b));
    let units_a = codecbench::results::units::CellUnits::read_all(&dir_a)?;
    let units_b = codecbench::results::units::CellUnits::read_all(&dir_b)?;
    let cmp = report::compare::compare(
        &report::compare::RunSide {
            rows: &rows_a,
            units: &units_a,
            codec_seed: codec_seed_of(&dir_a),
        },
        &report::compare::RunSide {
            rows: &rows_b,
            units: &units_b,
            codec_seed: codec_seed_of(&dir_b),
        },
        opts,
    );
    if json {
        println!("{}", serde_json::to_string_pretty(&cmp)?);
    } else {
        print!("{}", report::compare::render(&cmp, all));
    }
    Ok(cmp.regressed())
}

pub fn fetch(names: &[String], force: bool, list: bool) -> Result<()> {
    if list {
        print!("{}", codecbench::fetch::list_sources());
        return Ok(());
    }
    Ok(codecbench::fetch::fetch_command(names, force)?)
}

pub fn stats(file: &Path, agreement: bool, correlation: bool, json: bool) -> Result<()> {
    use codecbench::stats::{StatsMode, stats_command};
    let mode = if agreement {
        StatsMode::Agreement
    } else if correlation {
        StatsMode::Correlation
    } else {
        StatsMode::Table
    };
    println!("{}", stats_command(file, mode, json)?);
    Ok(())
}

pub fn embed(texts: &Path, out: &Path, model: Option<&Path>) -> Result<()> {
    let dir = model.map_or_else(codecbench::model::minilm_dir, Path::to_path_buf);
    if !dir.join("model.safetensors").is_file() {
        return Err(codecbench::Error::NotFetched {
            what: "codecbench embed".to_string(),
            source_name: "minilm".to_string(),
            path: dir,
        }
        .into());
    }
    let (tok, bert) = codecbench::model::load_dir(&dir)?;
    let lines: Vec<String> = codecbench::input::read_to_string(texts)?
        .lines()
        .map(str::to_string)
        .collect();
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(format!("embedding {} texts", lines.len()));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let rows = bert.embed(&tok, &lines)?;
    bar.finish_and_clear();
    codecbench::data::npy::write_f32(out, &rows)?;
    println!("wrote {} ({} × {})", out.display(), rows.len(), rows.dim());
    Ok(())
}

/// `codecbench hypotheses RUN…`: evaluate the built-in registry on the rows of the given runs
/// (e.g. a `codecbench run` directory and a `codecbench probe all` directory) and print the
/// Markdown; with `out`, also write `hypotheses.md` and `hypotheses.jsonl` (verdict rows) there.
pub fn hypotheses(inputs: &[PathBuf], out: Option<&Path>) -> Result<()> {
    use codecbench::hypothesis::{Registry, evaluate, render_markdown, to_rows, viability};
    let mut rows = Vec::new();
    for path in inputs {
        rows.extend(read_rows(path)?);
    }
    let reg = Registry::builtin();
    let matrix = evaluate(&reg, &rows);
    let via = viability(&reg, &rows);
    let md = render_markdown(&reg, &matrix, &via);
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).map_err(|source| codecbench::Error::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let seed = rows.first().map_or(0, |r| r.seed);
        write_atomic(&dir.join("hypotheses.md"), md.as_bytes())?;
        write_atomic(
            &dir.join("hypotheses.jsonl"),
            report::jsonl::render(&to_rows(&matrix, &via, seed)).as_bytes(),
        )?;
    }
    print!("{md}");
    Ok(())
}

pub fn speed(args: SpeedArgs) -> Result<()> {
    let json = args.json;
    let report = codecbench::speed::run(&args.into_options()?)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", codecbench::speed::render(&report));
    }
    Ok(())
}

pub fn export(args: ExportArgs) -> Result<()> {
    let out = args.out.clone();
    let info = codecbench::export::export(&args.into_plan()?, &out)?;
    println!(
        "{}: {} split, {} base × {} queries × d={} (train {}) → {}",
        info.population,
        info.split,
        info.base_rows,
        info.queries,
        info.dim,
        info.train_rows,
        out.display()
    );
    Ok(())
}

pub fn compare_peers(args: ComparePeersArgs) -> Result<()> {
    let out = codecbench::peers::compare_peers(&args.into_options()?)?;
    print!("{}", out.markdown);
    println!(
        "\nwritten: {} (compare-peers.md, .csv, .json)",
        out.out.display()
    );
    Ok(())
}
