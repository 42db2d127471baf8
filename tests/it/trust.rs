//! Numbers that survive a second run: codec draws as a source of variation (`--replicates`,
//! `--codec-seed`, the crossed bootstrap), seeds from a codec's identity, and the per-query
//! values a paired `compare` needs.

use crate::util::{run_bin, stderr};
use codecbench::metric::bootstrap::{
    bootstrap, bootstrap_crossed, fisher_z_mean_ci, fisher_z_mean_ci_grid, mean_ci, mean_ci_grid,
    ratio_ci, ratio_ci_grid,
};
use codecbench::report::jsonl;

#[test]
fn one_draw_is_exactly_the_plain_bootstrap() {
    // With one codec draw the crossed bootstrap draws no draw index, so every interval is the
    // plain bootstrap's, bit for bit (deterministic codecs keep their numbers).
    let v: Vec<f64> = (0..57)
        .map(|i| ((i * 37) % 11) as f64 / 7.0 - 0.3)
        .collect();
    let w: Vec<f64> = (0..57).map(|i| 1.0 + ((i * 13) % 5) as f64).collect();
    let stat = |idx: &[usize]| Some(idx.iter().map(|&i| v[i]).sum::<f64>() / idx.len() as f64);
    assert_eq!(
        bootstrap_crossed(1, v.len(), |_, u| stat(u), 300, 9),
        bootstrap(v.len(), stat, 300, 9)
    );
    assert_eq!(
        mean_ci_grid(std::slice::from_ref(&v), 300, 3),
        mean_ci(&v, 300, 3)
    );
    let r: Vec<f64> = v.iter().map(|x| (x / 3.0).tanh()).collect();
    assert_eq!(
        fisher_z_mean_ci_grid(std::slice::from_ref(&r), 300, 4),
        fisher_z_mean_ci(&r, 300, 4)
    );
    assert_eq!(
        ratio_ci_grid(std::slice::from_ref(&v), std::slice::from_ref(&w), 300, 5),
        ratio_ci(&v, &w, 300, 5)
    );
}

#[test]
fn crossed_interval_covers_the_spread_between_draws() {
    // Three draws whose queries agree perfectly within a draw but whose levels differ (1, 2,
    // 3): the query-only bootstrap of any one draw has zero width, the crossed one must not.
    // Its resampled means are means of three draws picked with replacement from {1, 2, 3},
    // so they lie in [1, 3]; P(mean = 1) = P(mean = 3) = 1/27 ≈ 3.7% > 2.5%, so the 2.5% and
    // 97.5% quantiles of 2000 rounds are 1 and 3 (the next values, 4/3 and 8/3, bound them
    // even if the rounds fell short of 2.5% at an end, P < 1e-6 at 2000 rounds).
    let grid: Vec<Vec<f64>> = (1..=3).map(|l| vec![l as f64; 50]).collect();
    let e = mean_ci_grid(&grid, 2000, 1);
    assert_eq!(e.value, Some(2.0));
    let (lo, hi) = (e.ci_lo.unwrap(), e.ci_hi.unwrap());
    assert!((1.0..=4.0 / 3.0 + 1e-12).contains(&lo), "{e:?}");
    assert!((8.0 / 3.0 - 1e-12..=3.0).contains(&hi), "{e:?}");
    assert_eq!(e.n, 50);
    let one = mean_ci(&grid[1], 2000, 1);
    assert_eq!((one.ci_lo, one.ci_hi), (Some(2.0), Some(2.0)));
    // Missing cells are left out: a draw with every value NaN does not move the mean.
    let mut holes = grid.clone();
    holes.push(vec![f64::NAN; 50]);
    assert_eq!(mean_ci_grid(&holes, 200, 1).value, Some(2.0));
}

#[test]
fn replicates_and_codec_seed_reach_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |out: &str, codec_seed: &str| {
        let o = run_bin(
            d,
            &[
                "run",
                "--no-probes",
                "--no-progress",
                "-p",
                "gaussian:n=600,d=24",
                "--queries",
                "30",
                "--resamples",
                "100",
                "--replicates",
                "3",
                "--codec-seed",
                codec_seed,
                "-c",
                "int8",
                "-c",
                "tq-mse:bits=2",
                "--out",
                out,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let dir = std::fs::canonicalize(d.join(out).join("latest")).unwrap();
        let rows =
            jsonl::parse(&std::fs::read_to_string(dir.join("results.jsonl")).unwrap()).unwrap();
        (dir, rows)
    };
    let (dir_a, a) = run("a", "5");
    let (_, b) = run("b", "6");
    // Random codecs get three draws, deterministic ones one.
    for r in a
        .iter()
        .filter(|r| !r.is_probe() && r.codec != "(instrument)")
    {
        // (`.sym` rows stand on the first draw only.)
        let want = if r.codec.starts_with("tq-mse") && !r.metric.ends_with(".sym") {
            3
        } else {
            1
        };
        if !r.metric.starts_with("instrument.") {
            assert_eq!(r.draws, want, "{} {}", r.codec, r.metric);
        }
    }
    // The codec seed moves the random codec's numbers only.
    let pick = |rows: &[codecbench::results::ResultRow], codec: &str, metric: &str| {
        rows.iter()
            .find(|r| r.codec.starts_with(codec) && r.metric == metric)
            .and_then(|r| r.value)
            .unwrap()
    };
    assert_eq!(pick(&a, "int8", "pearson"), pick(&b, "int8", "pearson"));
    assert_ne!(pick(&a, "tq-mse", "pearson"), pick(&b, "tq-mse", "pearson"));
    // run.json and plan.toml record both settings; every cell has its per-query values.
    let meta = std::fs::read_to_string(dir_a.join("run.json")).unwrap();
    assert!(
        meta.contains("\"replicates\": 3") && meta.contains("\"codec_seed\": 5"),
        "{meta}"
    );
    let plan = std::fs::read_to_string(dir_a.join("plan.toml")).unwrap();
    assert!(
        plan.contains("replicates = 3") && plan.contains("codec_seed = 5"),
        "{plan}"
    );
    let units = codecbench::results::units::CellUnits::read_all(&dir_a).unwrap();
    assert_eq!(units.len(), 2);
    let tq = units
        .iter()
        .find(|u| u.codec.starts_with("tq-mse"))
        .unwrap();
    assert_eq!(tq.draws, 3);
    let pearson = tq.metrics.iter().find(|m| m.name == "pearson").unwrap();
    assert_eq!(pearson.values.len(), 3);
    assert_eq!(pearson.values[0].len(), 30);
}

#[test]
fn replicates_out_of_range_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["0", "101"] {
        let o = run_bin(dir.path(), &["run", "--quick", "--replicates", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(stderr(&o).contains("--replicates"), "{}", stderr(&o));
    }
}
