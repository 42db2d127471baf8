//! The chain probe (P5) against checks that do not trust it: the exact codec must leave every
//! hidden state untouched (cosine 1, error 0, the committed corpus embeddings reproduced); a
//! single zeroed matrix must leave the layers before it exact and be caught after it; more noise
//! must mean more error; attention fidelity of the exact scores is perfect and random scores sit
//! at the chance level; the origin's score chain collapses its *exact* matrix and the probe says
//! "undefined" instead of reporting ρ = 0. Needs the fetched MiniLM (`util::minilm_dir`).

use std::sync::OnceLock;

use codecbench::codec::{Codec, CodecSpec, Family, Grade, Scorer};
use codecbench::data::catalog::PopulationSpec;
use codecbench::data::{RowSelection, Rows};
use codecbench::probe::chain::attention::{AttentionSetup, Biases};
use codecbench::probe::chain::score::{self, ScoreMatrix};
use codecbench::probe::chain::{
    self, ChainOptions, ChainOutcome, ChainSetup, Sentences, WeightKind, reconstruct,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::util::minilm_dir;

const SENTENCES: usize = 6;

/// Exact run over a few committed sentences, shared by the tests.
fn setup() -> &'static ChainSetup {
    static SETUP: OnceLock<ChainSetup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let (tok, model) = codecbench::model::load_dir(&minilm_dir()).expect("load MiniLM");
        let data = codecbench::data::real::data_dir();
        let texts = chain::load_texts(&data).expect("committed texts");
        let corpus =
            codecbench::data::npy::load(&data.join(chain::CORPUS_FILE), &RowSelection::All)
                .expect("committed embeddings")
                .rows;
        let eval = Sentences::sample(&texts, &tok, SENTENCES, 7, &[]);
        ChainSetup::new(
            model,
            eval,
            Some(corpus),
            ChainOptions {
                sentences: SENTENCES,
                k: 10,
                resamples: 100,
                seed: 7,
                memory_budget: codecbench::budget::MemoryBudget::bytes(1 << 30),
            },
        )
        .expect("exact run")
    })
}

fn metric(out: &ChainOutcome, name: &str) -> f64 {
    out.metrics(50, 1)
        .into_iter()
        .find(|m| m.name == name)
        .and_then(|m| m.estimate.value)
        .unwrap_or_else(|| panic!("no value for {name}"))
}

#[test]
fn exact_codec_keeps_every_layer_exact() {
    let s = setup();
    // Independent check of the exact run: mean pooling of our forward pass reproduces the
    // committed embeddings (made by `BertModel::embed`), so the retrieval truth is the corpus.
    assert!(
        s.has_retrieval(),
        "exact embeddings do not match the committed corpus"
    );
    let out = s.run_codec(&CodecSpec::Exact, WeightKind::All).unwrap();
    assert_eq!(out.replaced.len(), 36, "6 blocks × 6 linear weights");
    assert_eq!(out.n_layers(), 7);
    for l in 0..out.n_layers() {
        assert!(
            (out.layer_cos(l) - 1.0).abs() < 1e-12,
            "L{l}: cos {}",
            out.layer_cos(l)
        );
        assert_eq!(out.layer_rel_err(l), 0.0, "L{l}");
    }
    assert!((out.sentence_cos() - 1.0).abs() < 1e-12);
    assert_eq!(out.recall(), Some(1.0));
    assert!(
        (out.bits_per_weight - 32.0).abs() < 1e-9,
        "exact stores f32"
    );
    let m = out.metrics(100, 3);
    let rec = m.iter().find(|m| m.name == "chain.recall@10").unwrap();
    // Chance of recall@10 among the 4095 other corpus rows: 10/4095.
    assert!((rec.chance.unwrap() - 10.0 / 4095.0).abs() < 1e-15);
}

#[test]
fn one_zeroed_matrix_is_caught_after_its_layer_only() {
    let s = setup();
    let out = s
        .run_replaced(WeightKind::K, &|name, w| {
            Ok(name
                .contains("layer.2.")
                .then(|| Rows::new(w.dim(), vec![0.0; w.len() * w.dim()])))
        })
        .unwrap();
    assert_eq!(
        out.replaced,
        vec!["encoder.layer.2.attention.self.key.weight"]
    );
    // States L0..L2 are computed before block 3 (index 2) runs: bit-identical.
    for l in 0..=2 {
        assert_eq!(
            out.layer_rel_err(l),
            0.0,
            "L{l} changed before the zeroed block"
        );
    }
    // Zero keys make every score of a query equal (q·b_k): uniform attention in block 3.
    for l in 3..out.n_layers() {
        assert!(
            out.layer_cos(l) < 1.0 - 1e-4,
            "L{l}: cos {} — zeroed matrix not caught",
            out.layer_cos(l)
        );
        assert!(out.layer_rel_err(l) > 1e-3, "L{l}");
    }
    assert!(out.sentence_cos() < 1.0 - 1e-4);
}

/// Every weight of `kind` plus Gaussian noise of `sigma` times the matrix's RMS, seeded.
fn noisy(sigma: f64) -> ChainOutcome {
    setup()
        .run_replaced(WeightKind::All, &move |name, w| {
            let rms = (w
                .as_slice()
                .iter()
                .map(|&v| f64::from(v).powi(2))
                .sum::<f64>()
                / w.as_slice().len() as f64)
                .sqrt();
            let mut rng = ChaCha8Rng::seed_from_u64(name.len() as u64 ^ 99);
            let data = w
                .as_slice()
                .iter()
                .map(|&v| {
                    (f64::from(v) + sigma * rms * rng.sample::<f64, _>(rand_distr::StandardNormal))
                        as f32
                })
                .collect();
            Ok(Some(Rows::new(w.dim(), data)))
        })
        .unwrap()
}

#[test]
fn more_noise_means_more_error_and_error_grows_with_depth() {
    let (small, large) = (noisy(1e-3), noisy(1e-2));
    let last = small.n_layers() - 1;
    assert!(small.layer_rel_err(last) > 0.0);
    assert!(
        large.layer_rel_err(last) > 3.0 * small.layer_rel_err(last),
        "10× noise: {} vs {}",
        large.layer_rel_err(last),
        small.layer_rel_err(last)
    );
    assert!(large.layer_cos(last) < small.layer_cos(last));
    // Noise enters at every block, so the last state is further off than the first block's.
    assert!(large.layer_rel_err(last) > large.layer_rel_err(1));
    assert_eq!(
        large.layer_rel_err(0),
        0.0,
        "embeddings are not linear weights"
    );
}

#[test]
fn int4_costs_more_than_int8_through_the_chain() {
    let s = setup();
    let i8 = s.run_codec(&CodecSpec::Int8, WeightKind::All).unwrap();
    let i4 = s
        .run_codec(&"int4".parse().unwrap(), WeightKind::All)
        .unwrap();
    let last = i8.n_layers() - 1;
    assert!(
        1.0 - metric(&i4, &format!("chain.cos@L{last}"))
            > 1.0 - metric(&i8, &format!("chain.cos@L{last}"))
    );
    assert!(i4.bits_per_weight < i8.bits_per_weight);
    assert!(metric(&i8, "chain.sentence_cos") < 1.0);
}

#[test]
fn weight_kinds_select_the_right_matrices() {
    let m = &setup().model;
    let o = WeightKind::O.weight_names(m);
    assert_eq!(o.len(), 6);
    assert!(
        o.iter()
            .all(|n| n.ends_with("attention.output.dense.weight"))
    );
    let down = WeightKind::Down.weight_names(m);
    assert_eq!(down.len(), 6);
    assert!(
        down.iter()
            .all(|n| n.ends_with(".output.dense.weight") && !n.contains("attention"))
    );
    assert_eq!(WeightKind::Attn.weight_names(m).len(), 24);
    assert_eq!(WeightKind::Mlp.weight_names(m).len(), 12);
    assert_eq!(WeightKind::parse("up").unwrap(), WeightKind::Up);
    assert!(WeightKind::parse("kk").is_err());
}

/// A codec for tests: stores f32 rows, never decodes (signature grade), and scores either
/// exactly or with scores that ignore the key (seeded by query and code bytes).
struct TestCodec {
    dim: usize,
    random: bool,
}

struct TestScorer {
    query: Vec<f32>,
    random: bool,
}

impl Scorer for TestScorer {
    fn estimate(&self, code: &[u8]) -> f64 {
        let row: Vec<f32> = code
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if self.random {
            let mut h = 0xcbf2_9ce4_8422_2325u64;
            for b in code.iter().chain(
                self.query
                    .iter()
                    .flat_map(|q| q.to_le_bytes().to_vec())
                    .collect::<Vec<_>>()
                    .iter(),
            ) {
                h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
            let mut rng = ChaCha8Rng::seed_from_u64(h);
            rng.random_range(-50.0..50.0)
        } else {
            self.query
                .iter()
                .zip(&row)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum()
        }
    }
}

impl Codec for TestCodec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Exact
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn grade(&self) -> Grade {
        Grade::Signature
    }
    fn family(&self) -> Family {
        Family::Signature
    }
    fn code_bytes(&self) -> usize {
        4 * self.dim
    }
    fn model_bytes(&self) -> usize {
        0
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        for (o, v) in out.chunks_exact_mut(4).zip(row) {
            o.copy_from_slice(&v.to_le_bytes());
        }
    }
    fn scorer<'a>(&'a self, query: &[f32]) -> Box<dyn Scorer + 'a> {
        Box::new(TestScorer {
            query: query.to_vec(),
            random: self.random,
        })
    }
}

fn attention() -> &'static AttentionSetup {
    static ATTN: OnceLock<AttentionSetup> = OnceLock::new();
    ATTN.get_or_init(|| {
        let s = setup();
        let c = s.model.config();
        let biases = Biases::load(&minilm_dir(), c.num_hidden_layers, c.hidden_size).unwrap();
        // Training keys: the evaluation sentences' own are fine for codecs that learn nothing.
        AttentionSetup::new(&s.model, &biases, s.exact_states(), s.exact_states()).unwrap()
    })
}

#[test]
fn a_signature_codec_cannot_feed_the_forward_pass() {
    let w = Rows::new(4, vec![1.0; 8]);
    let err = reconstruct(
        &TestCodec {
            dim: 4,
            random: false,
        },
        &w,
    )
    .unwrap_err();
    assert!(err.to_string().contains("decode"), "{err}");
}

#[test]
fn attention_fidelity_is_perfect_for_exact_scores_and_chance_for_random_ones() {
    let a = attention();
    assert_eq!(a.head_dim(), 32);
    for codec in ["exact", "signature-exact"] {
        let fit = |rows: &Rows, seed: u64| -> codecbench::Result<Box<dyn Codec>> {
            if codec == "exact" {
                CodecSpec::Exact.fit(rows, seed)
            } else {
                Ok(Box::new(TestCodec {
                    dim: rows.dim(),
                    random: false,
                }))
            }
        };
        let out = a.run(&fit, 1).unwrap();
        assert_eq!(out.top1(), 1.0, "{codec}");
        assert!(out.kl() < 1e-12, "{codec}: KL {}", out.kl());
        assert!(out.out_err() < 1e-12, "{codec}: out err {}", out.out_err());
    }
    let fit = |rows: &Rows, _: u64| -> codecbench::Result<Box<dyn Codec>> {
        Ok(Box::new(TestCodec {
            dim: rows.dim(),
            random: true,
        }))
    };
    let out = a.run(&fit, 1).unwrap();
    let m = out.metrics(50, 2, false);
    let top1 = m.iter().find(|m| m.name == "attn.top1").unwrap();
    let chance = top1.chance.unwrap();
    // Hits are Bernoulli(1/n_s) per query, independent across queries (the scores are seeded by
    // query and key), so the mean over T queries has sd ≤ sqrt(chance / T).
    let t = (a.key_rows() * 12 * 6) as f64;
    let tol = 5.0 * (chance / t).sqrt();
    let v = top1.estimate.value.unwrap();
    assert!(
        (v - chance).abs() < tol,
        "random scores: top-1 {v} vs chance {chance} ± {tol}"
    );
    assert!(
        out.kl() > 0.5,
        "random scores are far from the exact distribution"
    );
}

#[test]
fn the_origin_score_chain_collapses_its_truth_and_the_probe_says_undefined() {
    let pop = PopulationSpec::parse("minilm-k:layer=0")
        .unwrap()
        .load(
            codecbench::data::PopulationKind::Weight,
            &codecbench::data::catalog::LoadOptions {
                max_rows: None,
                seed: 0,
                nonfinite: codecbench::data::population::NonFinitePolicy::Error,
                budget: codecbench::budget::MemoryBudget::bytes(1 << 30),
            },
        )
        .unwrap();
    let rows = pop.rows.select(&(0..50).collect::<Vec<_>>());
    let truth = ScoreMatrix::exact(&rows);
    assert!(
        truth.upper_variance() > 1e-4,
        "real k_proj cosines vary at depth 0"
    );
    // Independent check of one step against a plain softmax and matrix product.
    let n = truth.n;
    let mut s = truth.m.clone();
    for r in s.chunks_exact_mut(n) {
        let z: f64 = r.iter().map(|v| v.exp()).sum();
        r.iter_mut().for_each(|v| *v = v.exp() / z);
    }
    let step = truth.step();
    for i in 0..n {
        for j in 0..n {
            let mut want = 0.0;
            for a in 0..n {
                for b in 0..n {
                    want += s[i * n + a] * truth.m[a * n + b] * s[j * n + b];
                }
            }
            assert!((step.m[i * n + j] - want).abs() < 1e-12);
        }
    }
    // A constant matrix is a fixed point (rows of S sum to 1).
    let c = ScoreMatrix {
        n: 3,
        m: vec![0.25; 9],
    };
    assert!(c.step().m.iter().all(|v| (v - 0.25).abs() < 1e-15));

    let codec = CodecSpec::Int8.fit(&rows, 0).unwrap();
    let est = ScoreMatrix::codec(codec.as_ref(), &rows);
    let reports = score::run(&truth, &est, &[0, 1, 5, 33], 50, 3);
    let at = |d: usize| reports.iter().find(|r| r.depth == d).unwrap();
    assert!(
        at(0).spearman.value.unwrap() > 0.99,
        "int8 keeps the unchained order"
    );
    assert!(
        at(1).spearman.value.is_some(),
        "depth 1 is still measurable"
    );
    // Collapse, as the origin's synthetic reproduction went 0.84 → 1.5e-2 → 1.3e-5 → 1.9e-14.
    for d in [5, 33] {
        let r = at(d);
        assert!(
            r.truth_variance.sqrt() <= r.floor,
            "L{d}: truth sd {} above floor {}",
            r.truth_variance.sqrt(),
            r.floor
        );
        assert_eq!(
            r.spearman.value, None,
            "L{d}: a correlation of a constant truth was reported"
        );
        assert_eq!(r.pearson.value, None);
        assert!(
            r.note
                .as_deref()
                .unwrap()
                .contains("undefined: truth constant")
        );
    }
    let m = score::metrics(&reports);
    let sp5 = m
        .iter()
        .find(|m| m.name == "scorechain.spearman@L5")
        .unwrap();
    assert_eq!(sp5.estimate.value, None, "never the origin's 0.000");
    assert!(
        m.iter()
            .any(|m| m.name == "scorechain.truth_var@L5" && m.estimate.value.is_some())
    );
}
