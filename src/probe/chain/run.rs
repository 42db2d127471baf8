//! The chain probe as a run step: load the fetched MiniLM, sample sentences, then measure the
//! weight chain (decodable codecs), attention-score fidelity (every codec) and the origin's score
//! chain, as result rows plus notes of what could not be measured. No text is written here: the
//! report's P5 section is rendered from these rows (`report::probes::chain`).

use super::attention::{AttentionSetup, Biases};
use super::score::{self, ScoreMatrix};
use super::{ChainOptions, ChainSetup, Sentences};
use crate::codec::CodecSpec;
use crate::data::catalog::stable_hash;
use crate::data::{RowSelection, Rows};
use crate::error::{Error, Result};
use crate::probe::{ProbeOptions, ProbeOutput, load_population};
use crate::results::probe_kind::{ATTENTION_SPLIT, CHAIN_SPLIT, SCORECHAIN_SPLIT};
use crate::results::{ProbeKind, ProbeNote, RowContext, bits_per_dim};

/// `codec` of the score chain's reference method: the origin's i8 scalar quantiser.
pub const ORIGIN_I8: &str = "origin:i8-scalar";

/// P5: the weight chain, attention fidelity and the score chain.
pub fn chain_probe(opts: &ProbeOptions) -> Result<ProbeOutput> {
    let mut out = ProbeOutput::default();
    let dir = opts.model.clone().unwrap_or_else(crate::model::minilm_dir);
    if !dir.join("model.safetensors").is_file() {
        return Err(Error::NotFetched {
            what: "codecbench probe chain".to_string(),
            source_name: "minilm".to_string(),
            path: dir,
        });
    }
    let (tok, model) = crate::model::load_dir(&dir)?;
    let data = crate::data::real::data_dir();
    let texts = super::load_texts(&data)?;
    let corpus_path = data.join(super::CORPUS_FILE);
    let corpus = if corpus_path.is_file() {
        Some(crate::data::npy::load(&corpus_path, &RowSelection::All)?.rows)
    } else {
        None
    };
    let eval = Sentences::sample(
        &texts,
        &tok,
        opts.sentences,
        opts.seed ^ stable_hash("chain:eval"),
        &[],
    );
    let train = Sentences::sample(
        &texts,
        &tok,
        opts.train_sentences,
        opts.seed ^ stable_hash("chain:train"),
        &eval.lines,
    );
    let n_sent = eval.len();
    let tokens = eval.tokens();
    let setup = ChainSetup::new(
        model,
        eval,
        corpus,
        ChainOptions {
            sentences: opts.sentences,
            k: opts.k,
            resamples: opts.resamples,
            seed: opts.seed,
            memory_budget: opts.memory_budget,
        },
    )?;
    out.notes.push(ProbeNote::ChainSetup {
        texts: super::TEXTS_FILE.to_string(),
        not_decodable: opts
            .codecs
            .iter()
            .filter(|s| !s.decodes())
            .map(ToString::to_string)
            .collect(),
        tokens,
        k: opts.k,
        retrieval: setup.has_retrieval(),
        train_sentences: train.len(),
        diagnostics: opts.chain_diagnostics,
    });
    let hidden = setup.model.hidden_size();
    let not_measured = |what: String| ProbeNote::NotMeasured {
        probe: ProbeKind::Chain,
        what,
    };
    // Decodability is known from the spec (`CodecSpec::decodes`), so no fit is spent on it.
    let decodable: Vec<&CodecSpec> = opts.codecs.iter().filter(|s| s.decodes()).collect();
    for &kind in &opts.weights {
        let population = format!("minilm-chain:kind={kind}");
        for spec in &decodable {
            let run = match setup.run_codec(spec, kind) {
                Ok(run) => run,
                Err(e) if e.is_over_budget() => return Err(e),
                Err(e) => {
                    out.notes
                        .push(not_measured(format!("{spec} (weights {kind}): {e}")));
                    continue;
                }
            };
            let ctx = RowContext {
                population: population.clone(),
                codec: spec.to_string(),
                bytes_per_row: run.code_bytes,
                model_bytes: run.model_bytes,
                bits_per_dim: run.bits_per_weight,
                grade: "reconstruction".to_string(),
                family: codec_family(spec.name()),
                dim: hidden,
                base_rows: run.replaced.len(),
                queries: n_sent,
                split: CHAIN_SPLIT.to_string(),
                seed: opts.seed,
            };
            let seed = opts.seed ^ stable_hash(&format!("{population}{spec}"));
            out.rows.extend(
                run.metrics(opts.resamples, seed)
                    .into_iter()
                    .map(|m| ctx.row(m)),
            );
        }
    }
    if !opts.chain_diagnostics {
        return Ok(out);
    }

    // Attention-score fidelity, every codec.
    let train_states = super::forward_all(&setup.model, &train.ids)?;
    let c = setup.model.config();
    let biases = Biases::load(&dir, c.num_hidden_layers, c.hidden_size)?;
    let attn = AttentionSetup::new(&setup.model, &biases, setup.exact_states(), &train_states)?;
    for spec in &opts.codecs {
        let fit = |rows: &Rows, seed: u64| opts.memory_budget.fit(spec, rows, seed, rows.len());
        let run = match attn.run(&fit, opts.seed ^ stable_hash(&format!("attn:{spec}"))) {
            Ok(run) => run,
            Err(e) if e.is_over_budget() => return Err(e),
            Err(e) => {
                out.notes
                    .push(not_measured(format!("{spec} (attention fidelity): {e}")));
                continue;
            }
        };
        let ctx = RowContext {
            population: "minilm-attention".to_string(),
            codec: spec.to_string(),
            bytes_per_row: run.code_bytes,
            model_bytes: run.model_bytes,
            bits_per_dim: bits_per_dim(
                run.code_bytes,
                run.model_bytes,
                attn.key_rows(),
                attn.head_dim(),
            ),
            grade: run.grade.clone(),
            family: run.family.clone(),
            dim: attn.head_dim(),
            base_rows: attn.key_rows(),
            queries: n_sent,
            split: ATTENTION_SPLIT.to_string(),
            seed: opts.seed,
        };
        out.rows.extend(
            run.metrics(
                opts.resamples,
                opts.seed ^ stable_hash(&format!("attnm:{spec}")),
                opts.per_head,
            )
            .into_iter()
            .map(|m| ctx.row(m)),
        );
    }

    // The origin's score chain, as a diagnostic.
    let pop = load_population(&opts.score_population, None, opts)?;
    let nonzero: Vec<usize> = (0..pop.rows.len())
        .filter(|&i| pop.rows.row(i).iter().any(|&v| v != 0.0))
        .collect();
    let pick = RowSelection::Sample {
        count: score::DEFAULT_ROWS,
        seed: opts.seed ^ stable_hash("scorechain"),
    }
    .resolve(nonzero.len());
    let sample = pop
        .rows
        .select(&pick.iter().map(|&p| nonzero[p]).collect::<Vec<_>>());
    let truth = ScoreMatrix::exact(&sample);
    let mut methods: Vec<(String, ScoreMatrix, RowContext)> = Vec::new();
    for spec in &opts.codecs {
        let seed = opts.seed ^ stable_hash(&format!("score:{spec}"));
        let codec = match opts
            .memory_budget
            .fit(spec, &pop.rows, seed, pop.rows.len())
        {
            Ok(c) => c,
            Err(e) if e.is_over_budget() => return Err(e),
            Err(e) => {
                out.notes
                    .push(not_measured(format!("{spec} (score chain): {e}")));
                continue;
            }
        };
        let mut ctx = RowContext::for_codec(
            codec.as_ref(),
            &pop.name,
            sample.len(),
            pop.provenance.source_rows,
            SCORECHAIN_SPLIT,
            opts.seed,
        );
        ctx.queries = sample.len();
        methods.push((
            spec.to_string(),
            ScoreMatrix::codec(codec.as_ref(), &sample),
            ctx,
        ));
    }
    methods.push((
        ORIGIN_I8.to_string(),
        truth.origin_i8(),
        RowContext {
            population: pop.name.clone(),
            codec: ORIGIN_I8.to_string(),
            bytes_per_row: sample.len(),
            grade: "signature".to_string(),
            family: "scalar".to_string(),
            dim: sample.dim(),
            base_rows: sample.len(),
            queries: sample.len(),
            split: SCORECHAIN_SPLIT.to_string(),
            seed: opts.seed,
            ..RowContext::default()
        },
    ));
    for (name, est, ctx) in &methods {
        let reports = score::run(
            &truth,
            est,
            score::DEFAULT_DEPTHS,
            opts.resamples.min(200),
            opts.seed ^ stable_hash(name),
        );
        out.rows
            .extend(score::metrics(&reports).into_iter().map(|m| ctx.row(m)));
    }
    Ok(out)
}

/// The family of a codec by spec name, from the registry of codecs.
fn codec_family(name: &str) -> String {
    crate::codec::spec::CODECS
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.family.to_string())
        .unwrap_or_default()
}
