//! The real-model path against outside references: all-MiniLM-L6-v2's published embedding of
//! "This is an example sentence", paraphrase ranking, WordPiece ids derived from `vocab.txt` by
//! hand reasoning, and weight swapping for the chain probe. Needs the fetched model (fetched on
//! first use by `util::minilm_dir`); when it cannot be had every test here fails and says why.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::util::minilm_dir;
use codecbench::data::Rows;
use codecbench::model::{BertModel, MAX_SEQ_LEN, WordPiece, load_dir};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The model directory, or a failure naming the fetch command.
fn dir() -> PathBuf {
    let dir = minilm_dir();
    for file in ["model.safetensors", "vocab.txt", "config.json"] {
        assert!(
            dir.join(file).is_file(),
            "{} is missing; run `codecbench fetch minilm` (or scripts/fetch) first \
             (or set CODECBENCH_CACHE to a cache that has minilm/)",
            dir.join(file).display()
        );
    }
    dir
}

/// Tokenizer and model, loaded once for all tests.
fn loaded() -> &'static (WordPiece, BertModel) {
    static LOADED: OnceLock<(WordPiece, BertModel)> = OnceLock::new();
    LOADED.get_or_init(|| load_dir(&dir()).expect("load all-MiniLM-L6-v2"))
}

/// `vocab.txt` read independently of the tokenizer: token → line index.
fn vocab() -> &'static HashMap<String, u32> {
    static VOCAB: OnceLock<HashMap<String, u32>> = OnceLock::new();
    VOCAB.get_or_init(|| {
        let text = std::fs::read_to_string(dir().join("vocab.txt")).expect("read vocab.txt");
        text.lines()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i as u32))
            .collect()
    })
}

/// Ids of `[CLS] tokens… [SEP]` looked up in `vocab.txt`.
fn ids_of(tokens: &[&str]) -> Vec<u32> {
    let v = vocab();
    std::iter::once("[CLS]")
        .chain(tokens.iter().copied())
        .chain(std::iter::once("[SEP]"))
        .map(|t| *v.get(t).unwrap_or_else(|| panic!("'{t}' not in vocab.txt")))
        .collect()
}

fn embed(texts: &[&str]) -> Rows {
    let (tok, model) = loaded();
    let texts: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
    model.embed(tok, &texts).expect("embed")
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn model_card_embedding_of_example_sentence() {
    // Published on the all-MiniLM-L6-v2 model card / sentence-transformers docs.
    let want = [0.0676569, 0.0634958, 0.0487131, 0.0793050, 0.0374480];
    let e = embed(&["This is an example sentence"]);
    assert_eq!((e.len(), e.dim()), (1, 384));
    let got = &e.row(0)[..5];
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-4, "got {got:?}, want {want:?}");
    }
    let norm = dot(e.row(0), e.row(0)).sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
}

#[test]
fn paraphrase_scores_higher_than_unrelated() {
    let e = embed(&[
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "A man is riding a horse.",
        "The new movie is awesome.",
    ]);
    let para = dot(e.row(0), e.row(1));
    for other in [2, 3] {
        let unrelated = dot(e.row(0), e.row(other));
        assert!(
            para > unrelated + 0.1,
            "{para} vs {unrelated} (row {other})"
        );
    }
}

#[test]
fn embeddings_do_not_depend_on_thread_count_or_batch() {
    let (tok, model) = loaded();
    let texts: Vec<String> = (0..60)
        .map(|i| format!("sentence number {i} about codecs and vectors"))
        .collect();
    let many = model.embed(tok, &texts).unwrap();
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| model.embed(tok, &texts).unwrap());
    assert_eq!(many, one_thread);
    let alone = model.embed(tok, &texts[5..6]).unwrap();
    assert_eq!(alone.row(0), many.row(5));
    assert!(model.embed(tok, &[]).unwrap().is_empty());
}

#[test]
fn tokenizer_strips_accents_and_lowercases() {
    let (tok, _) = loaded();
    // "deja" and "dej" are not whole entries, so greedy longest-match gives de + ##ja.
    assert!(!vocab().contains_key("deja") && !vocab().contains_key("dej"));
    assert_eq!(
        tok.encode("Café déjà vu"),
        ids_of(&["cafe", "de", "##ja", "vu"])
    );
    assert_eq!(tok.encode("CAFÉ"), tok.encode("cafe"));
    // NFD + dropping Mn also strips combining accents written separately.
    assert_eq!(tok.encode("Cafe\u{301}"), ids_of(&["cafe"]));
}

#[test]
fn tokenizer_splits_punctuation_and_whitespace() {
    let (tok, _) = loaded();
    let want = ids_of(&["hello", ",", "world", "!"]);
    assert_eq!(tok.encode("Hello, world!"), want);
    assert_eq!(tok.encode("  hello ,\tworld\n!  "), want);
    assert_eq!(tok.encode("hello\u{0},\u{7}world\u{fffd}!"), want);
    assert_eq!(
        tok.tokens("Hello, world!"),
        ["[CLS]", "hello", ",", "world", "!", "[SEP]"]
    );
    assert_eq!(
        tok.encode("This is an example sentence"),
        ids_of(&["this", "is", "an", "example", "sentence"])
    );
}

#[test]
fn tokenizer_unknown_and_long_words() {
    let (tok, _) = loaded();
    // Not in vocab.txt, alone or as a ## piece: the whole word is [UNK].
    assert!(!vocab().contains_key("🦀") && !vocab().contains_key("##🦀"));
    assert_eq!(tok.encode("a🦀"), ids_of(&["[UNK]"]));
    // 100 chars is still a word; 101 becomes [UNK].
    let hundred = "a".repeat(100);
    assert!(tok.encode(&hundred).len() > 3);
    assert!(
        tok.encode(&hundred)
            .iter()
            .all(|&id| id != vocab()["[UNK]"])
    );
    assert_eq!(tok.encode(&"a".repeat(101)), ids_of(&["[UNK]"]));
    // una + ##ffa + ##ble: the longest prefix in vocab.txt first, then the longest ## piece.
    assert!(!vocab().contains_key("unaf") && !vocab().contains_key("##ffab"));
    assert_eq!(tok.encode("unaffable"), ids_of(&["una", "##ffa", "##ble"]));
}

#[test]
fn tokenizer_cjk_specials_and_empty() {
    let (tok, _) = loaded();
    // Every ideograph is its own word; 爱 is not in vocab.txt.
    assert!(!vocab().contains_key("爱"));
    assert_eq!(tok.encode("我爱北京"), ids_of(&["我", "[UNK]", "北", "京"]));
    assert_eq!(tok.encode("ab北京"), ids_of(&["ab", "北", "京"]));
    assert_eq!(tok.encode(""), ids_of(&[]));
    assert_eq!(tok.encode(" \t\n\u{a0}\u{200b}"), ids_of(&[]));
    assert_eq!(tok.tokens(""), ["[CLS]", "[SEP]"]);
    // Special tokens written in the text are kept verbatim, not lowercased or split.
    assert_eq!(tok.encode("a [MASK] b"), ids_of(&["a", "[MASK]", "b"]));
    assert_eq!(tok.encode("a [mask]"), ids_of(&["a", "[", "mask", "]"]));
    assert_eq!(
        tok.encode("[[SEP]x[SEP"),
        ids_of(&["[", "[SEP]", "x", "[", "sep"])
    );
    // Many special tokens in a long text stay cheap and truncate like any other id.
    let specials = "[SEP][PAD]".repeat(200_000);
    assert_eq!(tok.encode(&specials).len(), MAX_SEQ_LEN);
}

#[test]
fn tokenizer_truncates_and_never_panics() {
    let (tok, _) = loaded();
    let long = "word ".repeat(1000);
    let ids = tok.encode(&long);
    assert_eq!(ids.len(), MAX_SEQ_LEN);
    let mut want = ids_of(&vec!["word"; MAX_SEQ_LEN - 2]);
    assert_eq!(ids, want);
    want = tok.encode(&"word ".repeat(MAX_SEQ_LEN - 2));
    assert_eq!(ids, want);

    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (cls, sep) = (vocab()["[CLS]"], vocab()["[SEP]"]);
    for _ in 0..300 {
        let len = rng.random_range(0..400);
        let text: String = (0..len)
            .map(|_| match rng.random_range(0..4) {
                0 => char::from(rng.random_range(0u8..128)),
                1 => rng.random_range('\u{80}'..'\u{3000}'),
                2 => rng.random_range('\u{3000}'..='\u{10FFFF}'),
                _ => *[' ', '[', 'S', 'E', 'P', ']', '\u{301}', '\u{0}']
                    .get(rng.random_range(0..8))
                    .unwrap(),
            })
            .collect();
        let ids = tok.encode(&text);
        assert!(ids.len() >= 2 && ids.len() <= MAX_SEQ_LEN, "{text:?}");
        assert_eq!((ids[0], ids[ids.len() - 1]), (cls, sep), "{text:?}");
        assert!(ids.iter().all(|&id| (id as usize) < tok.vocab_size()));
    }
}

#[test]
fn forward_returns_every_hidden_state() {
    let (tok, model) = loaded();
    let ids = tok.encode("A man is eating food.");
    let states = model.forward(&ids).unwrap();
    assert_eq!(states.len(), model.config().num_hidden_layers + 1);
    for s in &states {
        assert_eq!((s.len(), s.dim()), (ids.len(), model.hidden_size()));
        assert!(s.as_slice().iter().all(|v| v.is_finite()));
    }
    // Mean-pooling the last state and normalising gives the sentence embedding.
    let last = states.last().unwrap();
    let mut mean = vec![0.0f32; last.dim()];
    for row in last.iter() {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v / ids.len() as f32;
        }
    }
    let norm = dot(&mean, &mean).sqrt();
    let e = model.sentence_embedding(&ids).unwrap();
    for (m, x) in mean.iter().zip(&e) {
        assert!((m / norm - x).abs() < 1e-5);
    }
    // Bad ids are errors, not panics.
    assert!(model.forward(&[]).is_err());
    assert!(model.forward(&[101, 30522, 102]).is_err());
    assert!(model.forward(&vec![1000; 513]).is_err());
}

#[test]
fn replace_weight_same_zero_and_wrong_shape() {
    let (tok, model) = loaded();
    let names = model.weight_names();
    assert_eq!(names.len(), 6 * 6);
    assert_eq!(names[0], "encoder.layer.0.attention.self.query.weight");
    let ids = tok.encode("A man is riding a horse.");
    let before = model.forward(&ids).unwrap();

    let name = "encoder.layer.2.intermediate.dense.weight";
    // The same values, read straight from the checkpoint, leave every state bit-identical.
    let file = dir().join("model.safetensors");
    let original =
        codecbench::data::safetensors::load(&file, name, &codecbench::data::RowSelection::All)
            .unwrap()
            .rows;
    assert_eq!(model.weight(name).unwrap(), &original);
    let mut swapped = model.clone();
    swapped.replace_weight(name, original.clone()).unwrap();
    assert_eq!(swapped.forward(&ids).unwrap(), before);

    // Zeroing it changes layer 3's output onwards, not the states before it.
    let zero = Rows::new(original.dim(), vec![0.0; original.as_slice().len()]);
    swapped.replace_weight(name, zero).unwrap();
    let after = swapped.forward(&ids).unwrap();
    assert_eq!(after[..3], before[..3]);
    assert_ne!(after[3], before[3]);
    assert_ne!(after[6], before[6]);

    // Wrong shape and unknown names are errors; the model is left as it was.
    let wrong = Rows::new(
        original.dim() + 1,
        vec![0.0; original.len() * (original.dim() + 1)],
    );
    assert!(swapped.replace_weight(name, wrong).is_err());
    let transposed = Rows::new(original.len(), vec![0.0; original.as_slice().len()]);
    assert!(swapped.replace_weight(name, transposed).is_err());
    let err = swapped
        .replace_weight(
            "encoder.layer.9.attention.self.query.weight",
            original.clone(),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("encoder.layer.9"), "{err}");
    assert!(
        swapped
            .replace_weight("embeddings.word_embeddings.weight", original)
            .is_err()
    );
    assert_eq!(swapped.forward(&ids).unwrap(), after);
}

#[test]
fn missing_model_files_are_errors_naming_the_path() {
    let empty = tempfile::tempdir().unwrap();
    let err = BertModel::load(empty.path()).unwrap_err().to_string();
    assert!(err.contains("config.json"), "{err}");
    let err = WordPiece::from_vocab_file(&empty.path().join("vocab.txt"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("vocab.txt"), "{err}");
    std::fs::write(empty.path().join("vocab.txt"), "a\nb\n").unwrap();
    let err = WordPiece::from_vocab_file(&empty.path().join("vocab.txt"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("[UNK]"), "{err}");
}
