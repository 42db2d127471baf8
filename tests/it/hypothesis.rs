//! The hypotheses registry and its two-gate verdicts, on hand-made result rows whose outcome is
//! known: both gates passing confirms, one failing gate refutes even when the other passes,
//! a straddling CI is inconclusive, a missing or undefined measurement is not testable and says
//! why; a codec is viable only when both gates pass (never on one: the origin's AP1). Then the
//! real family probe end to end: its rows fill the P7 cells with numbers.

use codecbench::hypothesis::{
    self, Gate, Op, Outcome, REGISTRY_TOML, Registry, Verdict, judge_gate,
};
use codecbench::probe::{ProbeOptions, probe_rows};
use codecbench::results::ProbeKind;
use codecbench::results::ResultRow;

fn row(pop: &str, codec: &str, metric: &str, v: Option<f64>, lo: f64, hi: f64) -> ResultRow {
    ResultRow {
        population: pop.to_string(),
        codec: codec.to_string(),
        metric: metric.to_string(),
        value: v,
        ci_lo: v.map(|_| lo),
        ci_hi: v.map(|_| hi),
        n: 100,
        draws: 1,
        chance: None,
        bytes_per_row: 388,
        model_bytes: 0,
        bits_per_dim: 8.08,
        grade: "reconstruction".to_string(),
        family: "scalar".to_string(),
        dim: 384,
        base_rows: 384,
        queries: 100,
        split: "self-pairs".to_string(),
        seed: 42,
        codecbench_version: "test".to_string(),
        note: v
            .is_none()
            .then(|| "undefined: truth constant (sd 0 ≤ floor 1e-14)".to_string()),
    }
}

#[test]
fn builtin_registry_covers_every_origin_claim_with_two_gates_or_a_reason() {
    let reg = Registry::builtin();
    let ids: Vec<&str> = reg.hypothesis.iter().map(|h| h.id.as_str()).collect();
    for i in 1..=9 {
        assert!(ids.contains(&format!("I{i}").as_str()), "I{i} missing");
        assert!(ids.contains(&format!("P{i}").as_str()), "P{i} missing");
    }
    for h in &reg.hypothesis {
        match &h.not_testable {
            Some(why) => assert!(
                why.len() > 20 && h.gate1.is_none() && h.gate2.is_none(),
                "{}",
                h.id
            ),
            None => {
                let (g1, g2) = (h.gate1.as_ref().unwrap(), h.gate2.as_ref().unwrap());
                assert!(
                    g1.threshold.is_finite() && g2.threshold.is_finite(),
                    "{}",
                    h.id
                );
            }
        }
    }
    assert!(REGISTRY_TOML.contains("[viability.gate1.argmax]"));
}

#[test]
fn registry_refuses_one_gate_alone() {
    let err = Registry::parse(&registry_text(None))
        .unwrap_err()
        .to_string();
    assert!(err.contains("two gates"), "{err}");
}

#[test]
fn gate_judgement_follows_the_ci() {
    assert_eq!(Op::Ge.judge(0.91, 0.95, 0.9), Outcome::Pass);
    assert_eq!(Op::Ge.judge(0.80, 0.89, 0.9), Outcome::Fail);
    assert_eq!(Op::Ge.judge(0.85, 0.95, 0.9), Outcome::Inconclusive);
    assert_eq!(Op::Gt.judge(0.0, 0.1, 0.0), Outcome::Inconclusive);
    assert_eq!(Op::Le.judge(0.01, 0.05, 0.1), Outcome::Pass);
    assert_eq!(Op::Lt.judge(0.99, 0.995, 0.99), Outcome::Fail);
    assert_eq!(Op::Within.judge(-0.02, 0.03, 0.05), Outcome::Pass);
    assert_eq!(Op::Within.judge(0.06, 0.2, 0.05), Outcome::Fail);
    assert_eq!(Op::Within.judge(0.0, 0.2, 0.05), Outcome::Inconclusive);
}

/// A registry of one hypothesis `H` about population `pop`: gate 1 `m1` of int8 ≥ 0.9 and, when
/// given, gate 2 `m2` of int8 ≥ `gate2_threshold`; and the viability thresholds.
fn registry_text(gate2_threshold: Option<f64>) -> String {
    let gate2 = gate2_threshold.map_or(String::new(), |t| {
        format!(
            "[hypothesis.gate2]\nmetric = \"m2\"\ncodec = \"int8\"\nop = \">=\"\nthreshold = {t}\n"
        )
    });
    format!(
        r#"
[[hypothesis]]
id = "H"
claim = "c"
origin = "o"
populations = ["pop"]
[hypothesis.gate1]
metric = "m1"
codec = "int8"
op = ">="
threshold = 0.9
{gate2}
[viability.gate1.argmax]
conditions = [{{ metric = "spearman", op = ">=", threshold = 0.85 }}, {{ metric = "recall@10", op = ">=", threshold = 0.8 }}]
[viability.default]
regime = "argmax"
gate2 = [{{ metric = "identity.top1", op = ">=", threshold = 0.99 }}]
"#
    )
}

fn registry_with(gate2_threshold: f64) -> Registry {
    Registry::parse(&registry_text(Some(gate2_threshold))).unwrap()
}

fn verdict(reg: &Registry, rows: &[ResultRow]) -> Verdict {
    let m = hypothesis::evaluate(reg, rows);
    assert_eq!(m.columns, vec!["pop:layer=0".to_string()]);
    m.cells[0].verdict.clone()
}

#[test]
fn two_gates_confirm_one_failing_gate_refutes() {
    let rows = vec![
        row("pop:layer=0", "int8", "m1", Some(0.95), 0.93, 0.97),
        row("pop:layer=0", "int8", "m2", Some(0.50), 0.45, 0.55),
        row("other", "int8", "m1", Some(0.1), 0.0, 0.2),
    ];
    assert_eq!(verdict(&registry_with(0.4), &rows), Verdict::Confirmed);
    // Gate 1 alone passing is not enough (AP1): gate 2 fails → refuted.
    assert_eq!(verdict(&registry_with(0.6), &rows), Verdict::Refuted);
    // Gate 2's CI straddles its threshold → inconclusive.
    assert_eq!(verdict(&registry_with(0.5), &rows), Verdict::Inconclusive);
}

#[test]
fn missing_or_undefined_measurements_are_not_testable_and_say_why() {
    let reg = registry_with(0.4);
    let rows = vec![row("pop:layer=0", "int8", "m1", Some(0.95), 0.93, 0.97)];
    match verdict(&reg, &rows) {
        Verdict::NotTestable(why) => assert!(
            why.contains("no `m2` rows") && why.contains("int8"),
            "{why}"
        ),
        v @ (Verdict::Confirmed | Verdict::Refuted | Verdict::Inconclusive) => panic!("{v:?}"),
    }
    let rows = vec![
        row("pop:layer=0", "int8", "m1", Some(0.95), 0.93, 0.97),
        row("pop:layer=0", "int8", "m2", None, 0.0, 0.0),
    ];
    match verdict(&reg, &rows) {
        Verdict::NotTestable(why) => assert!(why.contains("truth constant"), "{why}"),
        v @ (Verdict::Confirmed | Verdict::Refuted | Verdict::Inconclusive) => panic!("{v:?}"),
    }
    // A failing gate refutes even when the other cannot be measured.
    let rows = vec![row("pop:layer=0", "int8", "m1", Some(0.5), 0.4, 0.6)];
    assert_eq!(verdict(&reg, &rows), Verdict::Refuted);
    // A prefix with no rows at all still gets a column (not silence).
    let m = hypothesis::evaluate(&reg, &[]);
    assert_eq!(m.columns, vec!["pop".to_string()]);
    assert!(matches!(m.cells[0].verdict, Verdict::NotTestable(_)));
}

#[test]
fn best_pick_respects_filters() {
    let mut cheap = row("p", "sign", "spearman", Some(0.7), 0.6, 0.8);
    cheap.bytes_per_row = 48;
    let mut good = row("p", "int8", "spearman", Some(0.99), 0.98, 1.0);
    good.bytes_per_row = 388;
    let rows = vec![cheap, good];
    let gate = Gate {
        what: String::new(),
        metric: "spearman".to_string(),
        op: Op::Ge,
        threshold: 0.85,
        codec: None,
        population: None,
        codec_family: None,
        max_bytes_per_row: Some(64),
        max_bits_per_dim: None,
    };
    let g = judge_gate(&gate, "p", None, &rows);
    assert_eq!(g.codec.as_deref(), Some("sign"));
    assert_eq!(g.outcome, Outcome::Fail);
    let g = judge_gate(
        &Gate {
            max_bytes_per_row: None,
            ..gate
        },
        "p",
        None,
        &rows,
    );
    assert_eq!(g.codec.as_deref(), Some("int8"));
    assert_eq!(g.outcome, Outcome::Pass);
}

#[test]
fn viable_only_when_both_gates_pass() {
    let reg = registry_with(0.4);
    let pair = |codec: &str, s: f64, r: f64| {
        vec![
            row("g", codec, "spearman", Some(s), s - 0.01, s + 0.01),
            row("g", codec, "recall@10", Some(r), r - 0.01, r + 0.01),
        ]
    };
    let mut rows = pair("a", 0.95, 0.9);
    rows.push(row("g", "a", "identity.top1", Some(1.0), 1.0, 1.0));
    rows.extend(pair("b", 0.95, 0.9)); // gate 2 never measured
    rows.extend(pair("c", 0.95, 0.9));
    rows.push(row("g", "c", "identity.top1", Some(0.5), 0.4, 0.6));
    rows.extend(pair("d", 0.5, 0.9)); // gate 1 fails
    rows.push(row("g", "d", "identity.top1", Some(1.0), 1.0, 1.0));
    let via = hypothesis::viability(&reg, &rows);
    let get = |c: &str| via.iter().find(|v| v.codec == c).unwrap().verdict.clone();
    assert_eq!(get("a"), Verdict::Confirmed);
    assert!(matches!(get("b"), Verdict::NotTestable(w) if w.starts_with("gate 2")));
    assert_eq!(get("c"), Verdict::Refuted);
    assert_eq!(get("d"), Verdict::Refuted);
    let md = hypothesis::render_markdown(&reg, &hypothesis::evaluate(&reg, &rows), &via);
    assert!(md.contains("✓ viable") && md.contains("✗ not viable") && md.contains("gate 2"));
    let out = hypothesis::to_rows(&hypothesis::evaluate(&reg, &rows), &via, 42);
    let a = out.iter().find(|r| r.metric == "viability.a").unwrap();
    assert!(
        a.note.as_deref().unwrap().starts_with("viable")
            && a.note.as_deref().unwrap().contains("gate 2")
    );
}

#[test]
fn the_family_probe_fills_the_p7_cells_with_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let opts = ProbeOptions {
        populations: vec![
            codecbench::data::catalog::PopulationSpec::parse("clustered:n=256,d=32").unwrap(),
        ],
        rows: 256,
        resamples: 100,
        ..ProbeOptions::default()
    };
    let probed = probe_rows(ProbeKind::Family, &opts).unwrap();
    let rows = probed.rows;
    let md = codecbench::report::probes_and_hypotheses(&rows, &probed.notes);
    assert!(md.contains("## P7") && md.contains("(16 families)"), "{md}");
    let reg = Registry::builtin();
    let m = hypothesis::evaluate(&reg, &rows);
    let p7 = m
        .cells
        .iter()
        .find(|c| c.id == "P7" && c.population == "clustered:n=256,d=32")
        .expect("P7 cell for the measured population");
    assert!(
        !matches!(p7.verdict, Verdict::NotTestable(_)),
        "{:?}",
        p7.verdict
    );
    assert!(
        p7.gates
            .iter()
            .all(|g| g.value.is_some() && g.ci_lo.is_some())
    );
    let i2 = m
        .cells
        .iter()
        .find(|c| c.id == "I2" && c.population == "clustered:n=256,d=32")
        .unwrap();
    // Clustered rows have k-means structure far beyond the Gaussian control: I2 is refuted.
    assert_eq!(i2.verdict, Verdict::Refuted);

    // The written run directory: results parse back, the report has the matrix, `latest` exists.
    let o = crate::util::run_bin(
        dir.path(),
        &[
            "probe",
            "family",
            "-p",
            "clustered:n=256,d=32",
            "--rows",
            "256",
            "--resamples",
            "100",
            "--out",
            ".",
        ],
    );
    assert!(o.status.success(), "{}", crate::util::stderr(&o));
    let out_dir = dir.path().join("latest");
    let text = std::fs::read_to_string(out_dir.join("results.jsonl")).unwrap();
    let back = codecbench::report::jsonl::parse(&text).unwrap();
    // The written rows are the library's rows, then the verdicts.
    assert!(back.len() > rows.len());
    for (a, b) in back.iter().zip(&rows) {
        assert_eq!(
            (&a.population, &a.codec, &a.metric),
            (&b.population, &b.codec, &b.metric)
        );
        assert_eq!(a.value.is_some(), b.value.is_some());
    }
    assert!(
        back.iter()
            .any(|r| r.metric == "hypothesis.P7" && r.value.is_some())
    );
    let report = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(report.contains("## Hypotheses") && report.contains("| **P7** |"));
    assert!(dir.path().join("latest").exists());

    // `codecbench hypotheses RUN…` re-evaluates from the written rows alone (earlier verdict
    // rows in the input are ignored, not double counted).
    let again = dir.path().join("again");
    let o = crate::util::run_bin(
        dir.path(),
        &["hypotheses", "latest", "--out", again.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", crate::util::stderr(&o));
    let md = crate::util::stdout(&o);
    assert!(md.contains("| **P7** |") && md.contains("clustered:n=256,d=32"));
    let verdicts = std::fs::read_to_string(again.join("hypotheses.jsonl")).unwrap();
    let verdicts = codecbench::report::jsonl::parse(&verdicts).unwrap();
    let p7 = verdicts
        .iter()
        .find(|r| r.metric == "hypothesis.P7" && r.population == "clustered:n=256,d=32")
        .unwrap();
    assert_eq!(
        p7.value,
        m.cells
            .iter()
            .find(|c| c.id == "P7" && c.population == "clustered:n=256,d=32")
            .unwrap()
            .gates[0]
            .value
    );
    let o = crate::util::run_bin(dir.path(), &["hypotheses", "missing"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(crate::util::stderr(&o).contains("missing"));
}
