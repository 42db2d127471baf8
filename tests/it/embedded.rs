//! The committed real populations: files match their recorded sha256, shapes and dtypes are as
//! documented, known published values are where they should be, and every embedded catalog
//! population loads.

use codecbench::data::catalog::{LoadOptions, PopulationSpec};
use codecbench::data::file::sha256_file;
use codecbench::data::population::NonFinitePolicy;
use codecbench::data::real::{REAL, data_dir};
use codecbench::data::{RowSelection, safetensors as st};

/// sha256 of every committed data file, as recorded in data/SOURCES.md.
const FILES: &[(&str, &str)] = &[
    (
        "minilm_l6_k_proj.safetensors",
        "522699687aa5fa7127fc230a9b309020d7e6a8f3c874568a64aae6de7bdc4a8b",
    ),
    (
        "minilm_l6_mlp_up_l3.safetensors",
        "89902722438c406b69c5178b882c8c7a74a93d51701644137aef1004c5dd37b6",
    ),
    (
        "minilm_l6_word_embeddings_4096.safetensors",
        "4213a57286ba7980d6156c1eaade5fd210b78dd9e06ebaf2d08a060bebd7d997",
    ),
    (
        "glove_6b_50d_first20k.npy",
        "bbcd8d924ad4792fcdb1726d2c16617d6655c82416eff61a319e0d4c19b43aad",
    ),
    (
        "debian_descriptions_4096.txt",
        "2131909695bb71823a9073aa4199f7c38c971956bbbac156440aacc7cfa85e05",
    ),
];

#[test]
fn committed_files_match_sources_md() {
    let sources = std::fs::read_to_string(data_dir().join("SOURCES.md")).unwrap();
    let mut total = 0;
    for (file, sha) in FILES {
        let path = data_dir().join(file);
        assert_eq!(&sha256_file(&path).unwrap(), sha, "{file}");
        assert!(sources.contains(sha), "{file}: sha256 not in SOURCES.md");
        total += std::fs::metadata(&path).unwrap().len();
    }
    assert!(
        total <= 24_000_000,
        "data/ holds {total} bytes, over the 24 MB budget"
    );
}

#[test]
fn every_embedded_population_loads_with_its_documented_shape() {
    let opts = LoadOptions {
        max_rows: None,
        seed: 0,
        nonfinite: NonFinitePolicy::Error,
        budget: codecbench::budget::MemoryBudget::bytes(1 << 30),
    };
    for r in REAL.iter().filter(|r| r.is_embedded()) {
        let spec = PopulationSpec::parse(r.name).unwrap();
        let pop = spec.load(spec.default_kind(), &opts).unwrap();
        assert_eq!([pop.rows.len(), pop.rows.dim()], r.shape, "{}", r.name);
        assert_eq!(pop.provenance.dtype, r.dtype, "{}", r.name);
        assert!(pop.provenance.sha256.is_some());
        assert_eq!(pop.provenance.zero_rows, 0, "{}", r.name);
    }
    // Every layer of the k_proj file is there.
    for l in 0..6 {
        let spec = PopulationSpec::parse(&format!("minilm-k:layer={l}")).unwrap();
        assert_eq!(spec.to_string(), format!("minilm-k:layer={l}"));
        assert_eq!(
            spec.load(spec.default_kind(), &opts).unwrap().rows.len(),
            384
        );
    }
    assert!(PopulationSpec::parse("minilm-k:layer=6").is_err());
    assert!(PopulationSpec::parse("glove-20k:layer=1").is_err());
}

#[test]
fn glove_first_row_is_the_published_vector_for_the() {
    // Stanford's glove.6B.50d.txt line 1: "the 0.418 0.24968 -0.41242 0.1217 0.34527 …".
    let l = codecbench::data::npy::load(
        &data_dir().join("glove_6b_50d_first20k.npy"),
        &RowSelection::First(1),
    )
    .unwrap();
    let want = [0.418f32, 0.24968, -0.41242, 0.1217, 0.34527];
    assert_eq!(&l.rows.row(0)[..5], &want);
}

#[test]
fn vocabulary_sample_token_ids_are_valid_and_sorted() {
    let path = data_dir().join("minilm_l6_word_embeddings_4096.safetensors");
    let infos = st::list(&path).unwrap();
    let ids = infos.iter().find(|i| i.name == "token_ids").unwrap();
    assert_eq!(ids.dtype, "I64");
    assert_eq!(ids.shape, vec![4096]);
    // The token ids are the rows the documented sample rule picks out of 30522.
    let bytes = std::fs::read(&path).unwrap();
    let parsed = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let t = parsed.tensor("token_ids").unwrap();
    let got: Vec<usize> = t
        .data()
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as usize)
        .collect();
    let want = RowSelection::Sample {
        count: 4096,
        seed: 0,
    }
    .resolve(30522);
    assert_eq!(got, want);
}

/// The committed sentence population is what our forward pass gives for the committed texts
/// (needs `codecbench fetch minilm`). Tolerance 1e-5 per coordinate: the same f32 computation on
/// another CPU may pick other SIMD kernels in matrixmultiply (different summation order), which
/// moves unit-norm outputs by ~1e-7; 1e-5 leaves 100× margin and still catches any real change.
#[test]
fn sentence_population_is_reproduced_by_the_forward_pass() {
    let dir = crate::util::minilm_dir();
    let (tok, model) = codecbench::model::load_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}; run `codecbench fetch minilm` first"));
    let texts: Vec<String> =
        std::fs::read_to_string(data_dir().join("debian_descriptions_4096.txt"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
    assert_eq!(texts.len(), 4096);
    let sample = [0usize, 1, 2, 777, 2048, 4095];
    let picked: Vec<String> = sample.iter().map(|&i| texts[i].clone()).collect();
    let emb = model.embed(&tok, &picked).unwrap();
    let committed = codecbench::data::npy::load(
        &data_dir().join("minilm_l6_debian_sentences_4096.npy"),
        &RowSelection::All,
    )
    .unwrap();
    for (k, &i) in sample.iter().enumerate() {
        for (a, b) in emb.row(k).iter().zip(committed.rows.row(i)) {
            assert!((a - b).abs() <= 1e-5, "text {i}: {a} vs {b}");
        }
    }
}
