//! The encoder's forward pass over stacked token sequences (embeddings, then post-LayerNorm
//! blocks: self-attention per head, GELU MLP), and what is built on it: hidden states per layer
//! and mean-pooled, L2-normalised sentence embeddings. Sequences are stacked into groups so each
//! weight matrix is packed once per group; results never depend on the grouping.

use rayon::prelude::*;

use super::{BertModel, Linear, Norm};
use crate::data::Rows;
use crate::error::{Error, Result};
use crate::model::ops::{View, gelu, gemm, layer_norm, softmax_rows};
use crate::model::tokenizer::WordPiece;

/// [`BertModel::embed`] stacks consecutive texts up to this many tokens per forward pass, so the
/// weight matrices are packed once per group instead of once per text.
const ROWS_PER_GROUP: usize = 512;

/// Consecutive runs of `seqs` of at most [`ROWS_PER_GROUP`] tokens (a longer sequence alone).
fn groups(seqs: &[Vec<u32>]) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let (mut start, mut tokens) = (0, 0);
    for (i, ids) in seqs.iter().enumerate() {
        if i > start && tokens + ids.len() > ROWS_PER_GROUP {
            groups.push(start..i);
            (start, tokens) = (i, 0);
        }
        tokens += ids.len();
    }
    if start < seqs.len() {
        groups.push(start..seqs.len());
    }
    groups
}

impl Linear {
    /// `out[i] = x[i] Wᵀ + b` for the `n` rows of `x`; `out` is overwritten.
    fn apply(&self, x: &[f32], n: usize, out: &mut [f32]) {
        let (out_dim, in_dim) = (self.weight.len(), self.weight.dim());
        for row in out[..n * out_dim].chunks_exact_mut(out_dim) {
            row.copy_from_slice(&self.bias);
        }
        gemm(
            n,
            in_dim,
            out_dim,
            1.0,
            View::row_major(x, in_dim),
            View::row_major(self.weight.as_slice(), in_dim).t(),
            1.0,
            out,
            out_dim,
        );
    }
}

impl Norm {
    /// LayerNorm of every `gamma.len()`-wide row of `x`, in place.
    fn apply(&self, x: &mut [f32], eps: f64) {
        layer_norm(x, &self.gamma, &self.beta, eps);
    }
}

impl BertModel {
    /// Hidden states for one token sequence (token type 0, no padding): element 0 is the
    /// embedding output (after its LayerNorm), element `l` the output of layer `l`; each is
    /// `ids.len()` rows × `hidden_size`.
    pub fn forward(&self, ids: &[u32]) -> Result<Vec<Rows>> {
        self.check_ids(ids)?;
        let h = self.config.hidden_size;
        let mut states = Vec::with_capacity(self.layers.len() + 1);
        self.run(&[ids], &mut |x| states.push(Rows::new(h, x.to_vec())));
        Ok(states)
    }

    /// [`Self::forward`] of many sequences, in order: consecutive sequences are stacked into
    /// groups of about 512 tokens (as [`Self::embed`] does) so each weight matrix is packed once
    /// per group, and groups run in parallel. Bit-identical to calling `forward` on each.
    pub fn forward_many(&self, seqs: &[Vec<u32>]) -> Result<Vec<Vec<Rows>>> {
        for ids in seqs {
            self.check_ids(ids)?;
        }
        let h = self.config.hidden_size;
        let per_group: Vec<Vec<Vec<Rows>>> = groups(seqs)
            .into_par_iter()
            .map(|range| {
                let group: Vec<&[u32]> = seqs[range].iter().map(Vec::as_slice).collect();
                let mut states: Vec<Vec<Rows>> = vec![Vec::new(); group.len()];
                self.run(&group, &mut |x| {
                    let mut first = 0;
                    for (ids, st) in group.iter().zip(states.iter_mut()) {
                        st.push(Rows::new(h, x[first * h..(first + ids.len()) * h].to_vec()));
                        first += ids.len();
                    }
                });
                states
            })
            .collect();
        Ok(per_group.into_iter().flatten().collect())
    }

    /// The sentence embedding of one token sequence: the last hidden state averaged over all
    /// tokens (the attention mask of one unpadded sentence is all ones), L2-normalised.
    pub fn sentence_embedding(&self, ids: &[u32]) -> Result<Vec<f32>> {
        self.check_ids(ids)?;
        Ok(self.pooled(&[ids]).concat())
    }

    /// Sentence embeddings of `texts` (one row each, in order), in parallel. Consecutive texts
    /// are stacked into groups of about 512 tokens so the linear layers run as larger matrix
    /// products (one weight packing per group, not per text); attention never crosses texts.
    /// The groups depend only on the texts, so results never depend on the thread count, and
    /// since `matrixmultiply` accumulates every output element in the same order whatever the
    /// number of rows, a text's embedding is bit-identical alone or in any group (the tests
    /// check both).
    pub fn embed(&self, tokenizer: &WordPiece, texts: &[String]) -> Result<Rows> {
        let encoded: Vec<Vec<u32>> = texts.par_iter().map(|t| tokenizer.encode(t)).collect();
        for ids in &encoded {
            self.check_ids(ids)?;
        }
        let pooled: Vec<Vec<Vec<f32>>> = groups(&encoded)
            .into_par_iter()
            .map(|range| {
                let seqs: Vec<&[u32]> = encoded[range].iter().map(Vec::as_slice).collect();
                self.pooled(&seqs)
            })
            .collect();
        let data: Vec<f32> = pooled.into_iter().flatten().flatten().collect();
        Ok(Rows::new(self.config.hidden_size, data))
    }

    /// Mean-pooled, L2-normalised last hidden state of each (checked) sequence.
    fn pooled(&self, seqs: &[&[u32]]) -> Vec<Vec<f32>> {
        let h = self.config.hidden_size;
        let total = self.layers.len() + 1;
        let mut seen = 0;
        let mut out = Vec::with_capacity(seqs.len());
        self.run(seqs, &mut |x| {
            seen += 1;
            if seen < total {
                return;
            }
            let mut rows = x.chunks_exact(h);
            for ids in seqs {
                let mut sum = vec![0.0f64; h];
                for row in rows.by_ref().take(ids.len()) {
                    for (s, &v) in sum.iter_mut().zip(row) {
                        *s += f64::from(v);
                    }
                }
                let n = ids.len() as f64;
                let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
                // sentence-transformers' Normalize: x / max(‖x‖, 1e-12).
                let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
                out.push(mean.iter().map(|v| (v / norm) as f32).collect());
            }
        });
        out
    }

    fn check_ids(&self, ids: &[u32]) -> Result<()> {
        let c = &self.config;
        let reason = if ids.is_empty() {
            Some("the sequence is empty".to_string())
        } else if ids.len() > c.max_position_embeddings {
            Some(format!(
                "{} tokens exceed max_position_embeddings {}",
                ids.len(),
                c.max_position_embeddings
            ))
        } else {
            ids.iter()
                .position(|&id| id as usize >= c.vocab_size)
                .map(|i| {
                    format!(
                        "id {} at position {i} is outside the vocabulary ({} entries)",
                        ids[i], c.vocab_size
                    )
                })
        };
        match reason {
            Some(reason) => Err(Error::InvalidPlan {
                field: "token ids",
                reason,
            }),
            None => Ok(()),
        }
    }

    /// The forward pass over independent, already checked sequences stacked row-wise; hands the
    /// stacked hidden state to `each` after the embeddings and after every layer.
    fn run(&self, seqs: &[&[u32]], each: &mut dyn FnMut(&[f32])) {
        let c = &self.config;
        let rows: usize = seqs.iter().map(|s| s.len()).sum();
        let longest = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        let (h, inter) = (c.hidden_size, c.intermediate_size);
        let (heads, d) = (c.num_attention_heads, c.head_dim());
        let scale = 1.0 / (d as f32).sqrt();

        // Embeddings: (word + token type 0) + position, as transformers adds them.
        let mut x = vec![0.0f32; rows * h];
        let type0 = self.token_type.row(0);
        let positions = seqs.iter().flat_map(|s| 0..s.len());
        let ids = seqs.iter().flat_map(|s| s.iter());
        for ((row, &id), pos) in x.chunks_exact_mut(h).zip(ids).zip(positions) {
            let word = self.word.row(id as usize);
            let position = self.position.row(pos);
            for (((v, &w), &t), &p) in row.iter_mut().zip(word).zip(type0).zip(position) {
                *v = (w + t) + p;
            }
        }
        self.emb_norm.apply(&mut x, c.layer_norm_eps);
        each(&x);

        let mut q = vec![0.0f32; rows * h];
        let mut k = vec![0.0f32; rows * h];
        let mut v = vec![0.0f32; rows * h];
        let mut ctx = vec![0.0f32; rows * h];
        let mut tmp = vec![0.0f32; rows * h];
        let mut scores = vec![0.0f32; longest * longest];
        let mut mid = vec![0.0f32; rows * inter];
        for layer in &self.layers {
            layer.query.apply(&x, rows, &mut q);
            layer.key.apply(&x, rows, &mut k);
            layer.value.apply(&x, rows, &mut v);
            let mut first = 0;
            for seq in seqs {
                let n = seq.len();
                for head in 0..heads {
                    let off = first * h + head * d;
                    // scores = Q_h K_hᵀ / √d
                    gemm(
                        n,
                        d,
                        n,
                        scale,
                        View::row_major(&q[off..], h),
                        View::row_major(&k[off..], h).t(),
                        0.0,
                        &mut scores,
                        n,
                    );
                    softmax_rows(&mut scores[..n * n], n);
                    // ctx_h = softmax · V_h
                    gemm(
                        n,
                        n,
                        d,
                        1.0,
                        View::row_major(&scores, n),
                        View::row_major(&v[off..], h),
                        0.0,
                        &mut ctx[off..],
                        h,
                    );
                }
                first += n;
            }
            layer.attn_out.apply(&ctx, rows, &mut tmp);
            for (t, &r) in tmp.iter_mut().zip(&x) {
                *t += r;
            }
            layer.attn_norm.apply(&mut tmp, c.layer_norm_eps);
            layer.intermediate.apply(&tmp, rows, &mut mid);
            gelu(&mut mid);
            layer.output.apply(&mid, rows, &mut x);
            for (o, &r) in x.iter_mut().zip(&tmp) {
                *o += r;
            }
            layer.out_norm.apply(&mut x, c.layer_norm_eps);
            each(&x);
        }
    }
}
