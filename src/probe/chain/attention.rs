//! Attention-score fidelity: what a codec does to attention when it stores the *keys* (the
//! KV-cache use case that QJL and TurboQuant target), measured for every codec — including
//! signature-grade ones, which cannot rebuild a weight matrix for the forward pass but can still
//! estimate q·k.
//!
//! From the exact forward pass, each block's queries, keys and values are recomputed from its
//! input hidden state with the model's own projections (`x Wᵀ + b`,
//! [`BertModel::self_attention`]). Per block and head the codec is
//! fitted on the key rows of separate training sentences, then the evaluation sentences' key rows
//! are encoded and, for every query token, `p̂ = softmax(est(q, k̂_j)/√d)` over the tokens of its
//! sentence is compared with the exact `p = softmax(q·k_j/√d)`:
//! - top-1 agreement (argmax p̂ = argmax p; chance = 1/tokens),
//! - KL(p ‖ p̂) in nats,
//! - the attention-weighted output error ‖Σ(p̂−p)_j v_j‖ / ‖Σ p_j v_j‖ (pooled as a ratio of sums).
//!
//! Sums are kept per sentence, so CIs bootstrap over sentences.

use std::path::Path;

use rayon::prelude::*;

use super::States;
use crate::codec::Codec;
use crate::data::Rows;
use crate::data::catalog::stable_hash;
use crate::data::safetensors::Checkpoint;
use crate::error::{Error, Result};
use crate::metric::bootstrap::ratio_ci;
use crate::metric::suite::MetricValue;
use crate::model::{BertModel, Projection};

/// Fits a codec on training rows with a seed (e.g. `|rows, seed| spec.fit(rows, seed)`).
pub type FitFn<'a> = dyn Fn(&Rows, u64) -> Result<Box<dyn Codec>> + Sync + 'a;

/// Query, key and value biases of every block, read from the checkpoint. [`AttentionSetup::new`]
/// takes the biases from the model itself and only checks these against them.
#[derive(Debug, Clone)]
pub struct Biases {
    /// `[block] → (query, key, value)` biases.
    pub qkv: Vec<[Vec<f32>; 3]>,
}

impl Biases {
    /// Read `encoder.layer.{l}.attention.self.{query,key,value}.bias` (optionally under `bert.`)
    /// from `dir/model.safetensors`.
    pub fn load(dir: &Path, layers: usize, hidden: usize) -> Result<Biases> {
        let checkpoint = Checkpoint::open(&dir.join("model.safetensors"))?;
        let prefix = if checkpoint.names().iter().any(|n| n.starts_with("bert.")) {
            "bert."
        } else {
            ""
        };
        let read = |name: String| -> Result<Vec<f32>> {
            let full = format!("{prefix}{name}");
            let values = checkpoint.tensor_f32(&full)?;
            if values.len() != hidden {
                return Err(Error::BadHeader {
                    path: checkpoint.path().to_path_buf(),
                    format: "safetensors",
                    reason: format!("'{full}' has {} values; expected {hidden}", values.len()),
                });
            }
            Ok(values)
        };
        let qkv = (0..layers)
            .map(|l| {
                let p = format!("encoder.layer.{l}.attention.self");
                Ok([
                    read(format!("{p}.query.bias"))?,
                    read(format!("{p}.key.bias"))?,
                    read(format!("{p}.value.bias"))?,
                ])
            })
            .collect::<Result<_>>()?;
        Ok(Biases { qkv })
    }
}

/// One block's projections of stacked tokens.
struct Qkv {
    q: Rows,
    k: Rows,
    v: Rows,
}

/// Queries, keys and values of the exact run, for evaluation and training sentences.
pub struct AttentionSetup {
    heads: usize,
    head_dim: usize,
    eval: Vec<Qkv>,
    /// Token offsets of the evaluation sentences in the stacked rows (`len + 1` entries).
    offsets: Vec<usize>,
    train_k: Vec<Rows>,
}

/// Per-sentence sums for one (block, head).
#[derive(Debug, Clone, Copy, Default)]
struct HeadSums {
    hits: f64,
    queries: f64,
    kl: f64,
    err2: f64,
    norm2: f64,
    chance: f64,
}

/// Attention fidelity of one codec: sums per `[block][head][sentence]`.
#[derive(Debug, Clone)]
pub struct AttentionOutcome {
    sums: Vec<Vec<Vec<HeadSums>>>,
    /// Bytes per key row of the codec (per head).
    pub code_bytes: usize,
    /// Shared bytes of all per-head codecs together.
    pub model_bytes: usize,
    /// The codec's grade.
    pub grade: String,
    /// The codec's family.
    pub family: String,
}

impl AttentionSetup {
    /// Recompute q, k, v of every block from the exact hidden states (`states[s][l]` is block
    /// `l`'s input for sentence `s`) with the model's own projections. `biases` must be the
    /// model's (as [`Biases::load`] reads them from its checkpoint); a mismatch means the two
    /// came from different checkpoints and is an error.
    pub fn new(
        model: &BertModel,
        biases: &Biases,
        eval: &[States],
        train: &[States],
    ) -> Result<Self> {
        let c = model.config();
        let layers = c.num_hidden_layers;
        let mut offsets = vec![0];
        for s in eval {
            offsets.push(offsets.last().copied().unwrap_or(0) + s[0].len());
        }
        let stack = |set: &[States], l: usize| -> Rows {
            let mut r = Rows::empty(c.hidden_size);
            for s in set {
                for row in s[l].iter() {
                    r.push(row);
                }
            }
            r
        };
        let mismatch = |reason: String| Error::InvalidPlan {
            field: "attention biases",
            reason,
        };
        if biases.qkv.len() != layers {
            return Err(mismatch(format!(
                "{} blocks of biases for a model of {layers}",
                biases.qkv.len()
            )));
        }
        let mut eval_qkv = Vec::with_capacity(layers);
        let mut train_k = Vec::with_capacity(layers);
        for (l, given) in biases.qkv.iter().enumerate() {
            let attn = model
                .self_attention(l)
                .ok_or_else(|| mismatch(format!("the model has no block {l}")))?;
            let own = [attn.query.bias, attn.key.bias, attn.value.bias];
            let same = |a: &[f32], b: &[f32]| {
                a.iter()
                    .map(|v| v.to_bits())
                    .eq(b.iter().map(|v| v.to_bits()))
            };
            if !own.iter().zip(given).all(|(a, b)| same(a, b)) {
                return Err(mismatch(format!(
                    "the biases of block {l} are not the model's (another checkpoint?)"
                )));
            }
            let x = stack(eval, l);
            eval_qkv.push(Qkv {
                q: linear(&x, attn.query),
                k: linear(&x, attn.key),
                v: linear(&x, attn.value),
            });
            train_k.push(linear(&stack(train, l), attn.key));
        }
        Ok(AttentionSetup {
            heads: c.num_attention_heads,
            head_dim: c.head_dim(),
            eval: eval_qkv,
            offsets,
            train_k,
        })
    }

    /// Encode the keys of every (block, head) with a codec from `fit` and compare the attention
    /// distributions with the exact ones.
    pub fn run(&self, fit: &FitFn<'_>, seed: u64) -> Result<AttentionOutcome> {
        let d = self.head_dim;
        let scale = 1.0 / (d as f64).sqrt();
        let cells: Vec<(usize, usize)> = (0..self.eval.len())
            .flat_map(|l| (0..self.heads).map(move |h| (l, h)))
            .collect();
        let per_cell: Vec<(Vec<HeadSums>, usize, usize, String, String)> = cells
            .par_iter()
            .map(|&(l, h)| {
                let qkv = &self.eval[l];
                let cols = h * d..(h + 1) * d;
                let train = head_rows(&self.train_k[l], cols.clone());
                let keys = head_rows(&qkv.k, cols.clone());
                let codec = fit(&train, seed ^ stable_hash(&format!("attn:L{l}.h{h}")))?;
                let codes = codec.encode_all(&keys);
                let mut sums = Vec::with_capacity(self.offsets.len() - 1);
                for w in self.offsets.windows(2) {
                    let (a, b) = (w[0], w[1]);
                    let n = b - a;
                    let mut s = HeadSums::default();
                    let mut exact = vec![0.0f64; n];
                    let mut est = vec![0.0f64; n];
                    for t in a..b {
                        let q = &qkv.q.row(t)[cols.clone()];
                        let scorer = codec.scorer(q);
                        for j in 0..n {
                            exact[j] = crate::codec::dot_f64(q, keys.row(a + j)) * scale;
                            est[j] = scorer.estimate(codes.get(a + j)) * scale;
                        }
                        softmax(&mut exact);
                        softmax(&mut est);
                        s.queries += 1.0;
                        s.chance += 1.0 / n as f64;
                        if argmax(&exact) == argmax(&est) {
                            s.hits += 1.0;
                        }
                        s.kl += exact
                            .iter()
                            .zip(&est)
                            .filter(|(p, _)| **p > 0.0)
                            .map(|(p, r)| p * (p / r.max(f64::MIN_POSITIVE)).ln())
                            .sum::<f64>()
                            .max(0.0);
                        for c in cols.clone() {
                            let (mut o, mut oh) = (0.0f64, 0.0f64);
                            for j in 0..n {
                                let v = f64::from(qkv.v.row(a + j)[c]);
                                o += exact[j] * v;
                                oh += est[j] * v;
                            }
                            s.err2 += (oh - o) * (oh - o);
                            s.norm2 += o * o;
                        }
                    }
                    sums.push(s);
                }
                Ok((
                    sums,
                    codec.code_bytes(),
                    codec.model_bytes(),
                    codec.grade().to_string(),
                    codec.family().to_string(),
                ))
            })
            .collect::<Result<_>>()?;
        let code_bytes = per_cell.first().map_or(0, |c| c.1);
        let model_bytes = per_cell.iter().map(|c| c.2).sum();
        let grade = per_cell.first().map(|c| c.3.clone()).unwrap_or_default();
        let family = per_cell.first().map(|c| c.4.clone()).unwrap_or_default();
        let mut sums: Vec<Vec<Vec<HeadSums>>> = vec![Vec::new(); self.eval.len()];
        for ((l, _), (s, ..)) in cells.into_iter().zip(per_cell) {
            sums[l].push(s);
        }
        Ok(AttentionOutcome {
            sums,
            code_bytes,
            model_bytes,
            grade,
            family,
        })
    }

    /// Width of one head (the dimension the codec sees).
    pub fn head_dim(&self) -> usize {
        self.head_dim
    }

    /// Key rows encoded per (block, head).
    pub fn key_rows(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }
}

impl AttentionOutcome {
    /// Blocks.
    pub fn n_layers(&self) -> usize {
        self.sums.len()
    }

    fn pooled(&self, sel: impl Fn(usize, usize) -> bool) -> Vec<HeadSums> {
        let n_sent = self
            .sums
            .first()
            .and_then(|l| l.first())
            .map_or(0, Vec::len);
        let mut out = vec![HeadSums::default(); n_sent];
        for (l, layer) in self.sums.iter().enumerate() {
            for (h, head) in layer.iter().enumerate() {
                if !sel(l, h) {
                    continue;
                }
                for (o, s) in out.iter_mut().zip(head) {
                    o.hits += s.hits;
                    o.queries += s.queries;
                    o.kl += s.kl;
                    o.err2 += s.err2;
                    o.norm2 += s.norm2;
                    o.chance += s.chance;
                }
            }
        }
        out
    }

    /// Top-1 agreement over every block and head (no CI).
    pub fn top1(&self) -> f64 {
        let s = self.pooled(|_, _| true);
        s.iter().map(|x| x.hits).sum::<f64>() / s.iter().map(|x| x.queries).sum::<f64>()
    }

    /// Mean KL(p ‖ p̂) per query over every block and head (no CI).
    pub fn kl(&self) -> f64 {
        let s = self.pooled(|_, _| true);
        s.iter().map(|x| x.kl).sum::<f64>() / s.iter().map(|x| x.queries).sum::<f64>()
    }

    /// Output error over every block and head (no CI).
    pub fn out_err(&self) -> f64 {
        let s = self.pooled(|_, _| true);
        (s.iter().map(|x| x.err2).sum::<f64>() / s.iter().map(|x| x.norm2).sum::<f64>()).sqrt()
    }

    /// `attn.top1`, `attn.kl`, `attn.out_err` over all blocks, per block (`@Ll`, 1-based) and,
    /// with `per_head`, per block and head (`@Ll.hH`); CIs over sentences.
    pub fn metrics(&self, resamples: usize, seed: u64, per_head: bool) -> Vec<MetricValue> {
        let mut out = Vec::new();
        let mut push = |suffix: String, s: Vec<HeadSums>, salt: u64| {
            let q: Vec<f64> = s.iter().map(|x| x.queries).collect();
            let hits: Vec<f64> = s.iter().map(|x| x.hits).collect();
            let kl: Vec<f64> = s.iter().map(|x| x.kl).collect();
            let err: Vec<f64> = s.iter().map(|x| x.err2).collect();
            let norm: Vec<f64> = s.iter().map(|x| x.norm2).collect();
            let chance = s.iter().map(|x| x.chance).sum::<f64>() / q.iter().sum::<f64>().max(1.0);
            out.push(MetricValue {
                name: format!("attn.top1{suffix}"),
                estimate: ratio_ci(&hits, &q, resamples, seed ^ salt),
                chance: Some(chance),
                note: Some(
                    "argmax of softmax(q·K̂ᵀ/√d) = exact argmax; chance = 1/tokens".to_string(),
                ),
            });
            out.push(MetricValue {
                name: format!("attn.kl{suffix}"),
                estimate: ratio_ci(&kl, &q, resamples, seed ^ salt ^ 0x1),
                chance: None,
                note: Some("mean KL(p ‖ p̂) per query, nats".to_string()),
            });
            let mut e = ratio_ci(&err, &norm, resamples, seed ^ salt ^ 0x2);
            e.value = e.value.map(f64::sqrt);
            e.ci_lo = e.ci_lo.map(f64::sqrt);
            e.ci_hi = e.ci_hi.map(f64::sqrt);
            out.push(MetricValue {
                name: format!("attn.out_err{suffix}"),
                estimate: e,
                chance: None,
                note: Some("‖Σ(p̂−p)v‖ / ‖Σ p v‖ pooled over queries (ratio of sums)".to_string()),
            });
        };
        push(String::new(), self.pooled(|_, _| true), 0xA0);
        for l in 0..self.sums.len() {
            push(
                format!("@L{}", l + 1),
                self.pooled(|ll, _| ll == l),
                0xB0 + l as u64,
            );
        }
        if per_head {
            for (l, layer) in self.sums.iter().enumerate() {
                for h in 0..layer.len() {
                    push(
                        format!("@L{}.h{h}", l + 1),
                        self.pooled(|ll, hh| ll == l && hh == h),
                        0xC000 + (l * 64 + h) as u64,
                    );
                }
            }
        }
        out
    }
}

/// Columns `cols` of every row, as their own rows.
fn head_rows(rows: &Rows, cols: std::ops::Range<usize>) -> Rows {
    let mut out = Vec::with_capacity(rows.len() * cols.len());
    for r in rows.iter() {
        out.extend_from_slice(&r[cols.clone()]);
    }
    Rows::new(cols.len(), out)
}

/// `x Wᵀ + b` for stacked rows `x` (W in `[out, in]` layout), rows in parallel.
pub(crate) fn linear(x: &Rows, p: Projection<'_>) -> Rows {
    let (w, b) = (p.weight, p.bias);
    let out_dim = w.len();
    let mut data = vec![0.0f32; x.len() * out_dim];
    data.par_chunks_mut(out_dim)
        .zip(x.as_slice().par_chunks(x.dim()))
        .for_each(|(out, xr)| {
            for ((o, wr), &bias) in out.iter_mut().zip(w.iter()).zip(b) {
                *o = dot_f32(xr, wr) + bias;
            }
        });
    Rows::new(out_dim, data)
}

/// f32 dot product with 8 independent accumulators (vectorizes).
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// In-place numerically stable softmax (f64).
fn softmax(x: &mut [f64]) {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for v in x.iter_mut() {
        *v = (*v - m).exp();
        sum += *v;
    }
    for v in x.iter_mut() {
        *v /= sum;
    }
}

/// First index of the maximum.
fn argmax(x: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v > x[best] {
            best = i;
        }
    }
    best
}
