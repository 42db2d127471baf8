//! BERT's uncased WordPiece tokenizer, so the real-model path can turn sentences into the exact
//! token ids `all-MiniLM-L6-v2` was trained on without a Python or `tokenizers` dependency.
//!
//! It reproduces the Hugging Face pipeline this model ships (`tokenizer.json`: `BertNormalizer`
//! with `clean_text`, `handle_chinese_chars`, `lowercase` and accent stripping;
//! `BertPreTokenizer`; `WordPiece` with `##` continuations and 100 characters per word; the
//! `[CLS] … [SEP]` template), in the same order as the Rust `tokenizers` crate:
//!
//! 1. special tokens (`[CLS]`, `[SEP]`, `[MASK]`, ...) written in the raw text are matched first
//!    and never normalized (they are `normalized: false` added tokens);
//! 2. clean: drop NUL, U+FFFD and control characters (general category C*, except tab, newline
//!    and carriage return), turn whitespace into a space;
//! 3. put spaces around CJK ideographs;
//! 4. strip accents (NFD, drop non-spacing marks, category Mn), then lowercase per character;
//! 5. split on whitespace, and isolate every punctuation character (ASCII 33–47, 58–64, 91–96,
//!    123–126 and Unicode P*);
//! 6. WordPiece: greedy longest match first; a word longer than 100 characters, or one with a
//!    piece not in the vocabulary, becomes a single `[UNK]`;
//! 7. truncate to [`MAX_SEQ_LEN`] ids including `[CLS]` and `[SEP]` (sentence-transformers'
//!    `max_seq_length` for this model, from its `sentence_bert_config.json`).
//!
//! Every step works on `char`s and whole-`str` slices at char boundaries, so no input text can
//! make it panic.

use std::collections::HashMap;
use std::path::Path;

use unicode_general_category::get_general_category;
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// Most ids [`WordPiece::encode`] returns, `[CLS]` and `[SEP]` included (sentence-transformers'
/// `max_seq_length` for all-MiniLM-L6-v2).
pub const MAX_SEQ_LEN: usize = 256;

/// Words with more characters than this become `[UNK]` (`max_input_chars_per_word`).
const MAX_CHARS_PER_WORD: usize = 100;

/// The special tokens BERT vocabularies define; matched verbatim in raw text when present. All
/// start with `[` (`split_specials` relies on it).
const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

const FORMAT: &str = "WordPiece vocabulary (vocab.txt)";

/// A BERT uncased WordPiece tokenizer over a `vocab.txt` (one token per line, id = line index).
#[derive(Clone)]
pub struct WordPiece {
    vocab: HashMap<String, u32>,
    tokens: Vec<String>,
    unk: u32,
    cls: u32,
    sep: u32,
    /// Special tokens present in the vocabulary, matched in raw text before normalization.
    specials: Vec<(String, u32)>,
    max_len: usize,
}

impl WordPiece {
    /// Read a `vocab.txt`. It must be UTF-8 and contain `[UNK]`, `[CLS]` and `[SEP]`. As in
    /// `BertTokenizer`, a token listed twice keeps its last line's id.
    pub fn from_vocab_file(path: &Path) -> Result<Self> {
        let bytes = crate::input::read(path)?;
        let text = String::from_utf8(bytes).map_err(|e| bad(path, format!("not UTF-8: {e}")))?;
        let mut lines: Vec<&str> = text.split('\n').collect();
        if lines.last() == Some(&"") {
            lines.pop();
        }
        let tokens: Vec<String> = lines
            .iter()
            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
            .collect();
        if tokens.is_empty() {
            return Err(bad(path, "file has no tokens".to_string()));
        }
        let mut vocab = HashMap::with_capacity(tokens.len());
        for (i, token) in tokens.iter().enumerate() {
            let id = u32::try_from(i)
                .map_err(|_| bad(path, format!("more than {} tokens", u32::MAX)))?;
            vocab.insert(token.clone(), id);
        }
        let required = |name: &str| {
            vocab.get(name).copied().ok_or_else(|| {
                bad(
                    path,
                    format!("special token {name} is missing; is this a BERT vocabulary?"),
                )
            })
        };
        let (unk, cls, sep) = (required("[UNK]")?, required("[CLS]")?, required("[SEP]")?);
        let specials = SPECIAL_TOKENS
            .iter()
            .filter_map(|&s| vocab.get(s).map(|&id| (s.to_string(), id)))
            .collect();
        Ok(WordPiece {
            vocab,
            tokens,
            unk,
            cls,
            sep,
            specials,
            max_len: MAX_SEQ_LEN,
        })
    }

    /// The same tokenizer truncating to `max_len` ids (at least 2: `[CLS]` and `[SEP]`).
    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len.max(2);
        self
    }

    /// Most ids [`encode`](Self::encode) returns.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Number of entries in the vocabulary (lines of `vocab.txt`).
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The id of a vocabulary entry.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.vocab.get(token).copied()
    }

    /// The vocabulary entry of an id.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// Token ids for one sentence: `[CLS]`, its WordPiece ids, `[SEP]`, truncated to
    /// [`max_len`](Self::max_len) ids in total. Never panics; empty text gives `[CLS] [SEP]`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let budget = self.max_len - 2;
        let mut ids = vec![self.cls];
        let mut word_buf = String::new();
        for segment in self.split_specials(text) {
            if ids.len() > budget {
                break;
            }
            match segment {
                Segment::Special(id) => ids.push(id),
                Segment::Text(part) => {
                    for word in basic_tokenize(part) {
                        if ids.len() > budget {
                            break;
                        }
                        self.word_pieces(&word, &mut word_buf, &mut ids);
                    }
                }
            }
        }
        ids.truncate(budget + 1);
        ids.push(self.sep);
        ids
    }

    /// The vocabulary entries of [`encode`](Self::encode)'s ids, `[CLS]` and `[SEP]` included.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        self.encode(text)
            .into_iter()
            .map(|id| self.tokens[id as usize].clone())
            .collect()
    }

    /// Split raw text at verbatim special tokens, left to right, in one pass (every special
    /// token starts with `[`, so only those positions are tried).
    fn split_specials<'t>(&self, text: &'t str) -> Vec<Segment<'t>> {
        let mut out = Vec::new();
        let (mut plain_from, mut search_from) = (0, 0);
        while let Some(offset) = text[search_from..].find('[') {
            let at = search_from + offset;
            let matched = self
                .specials
                .iter()
                .filter(|(s, _)| text[at..].starts_with(s.as_str()))
                .max_by_key(|(s, _)| s.len());
            // '[' is one byte, so `at + 1` is a char boundary.
            search_from = at + 1;
            if let Some((s, id)) = matched {
                if at > plain_from {
                    out.push(Segment::Text(&text[plain_from..at]));
                }
                out.push(Segment::Special(*id));
                plain_from = at + s.len();
                search_from = plain_from;
            }
        }
        if plain_from < text.len() {
            out.push(Segment::Text(&text[plain_from..]));
        }
        out
    }

    /// Append the WordPiece ids of one pre-tokenized word (or one `[UNK]`).
    fn word_pieces(&self, word: &str, buf: &mut String, out: &mut Vec<u32>) {
        // Byte offset of every char start, plus the end.
        let bounds: Vec<usize> = word
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(word.len()))
            .collect();
        let n_chars = bounds.len() - 1;
        if n_chars > MAX_CHARS_PER_WORD {
            out.push(self.unk);
            return;
        }
        let first = out.len();
        let mut start = 0;
        while start < n_chars {
            let mut end = n_chars;
            let mut found = None;
            while start < end {
                let piece = &word[bounds[start]..bounds[end]];
                let id = if start > 0 {
                    buf.clear();
                    buf.push_str("##");
                    buf.push_str(piece);
                    self.vocab.get(buf.as_str())
                } else {
                    self.vocab.get(piece)
                };
                if let Some(&id) = id {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            let Some(id) = found else {
                out.truncate(first);
                out.push(self.unk);
                return;
            };
            out.push(id);
            start = end;
        }
    }
}

/// Sizes only: the vocabulary has tens of thousands of entries.
impl std::fmt::Debug for WordPiece {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordPiece")
            .field("vocab_size", &self.tokens.len())
            .field("max_len", &self.max_len)
            .finish_non_exhaustive()
    }
}

/// A piece of raw text: a verbatim special token or text to normalize.
enum Segment<'t> {
    Special(u32),
    Text(&'t str),
}

/// BertNormalizer + BertPreTokenizer: the words (and isolated punctuation) of `text`.
fn basic_tokenize(text: &str) -> Vec<String> {
    let mut cleaned = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || is_control(c) {
            continue;
        }
        if is_whitespace(c) {
            cleaned.push(' ');
        } else if is_cjk_ideograph(c) {
            cleaned.push(' ');
            cleaned.push(c);
            cleaned.push(' ');
        } else {
            cleaned.push(c);
        }
    }
    let mut words = Vec::new();
    let mut current = String::new();
    for c in cleaned.nfd() {
        if get_general_category(c).abbreviation() == "Mn" {
            continue;
        }
        for lc in c.to_lowercase() {
            if lc.is_whitespace() {
                flush(&mut current, &mut words);
            } else if is_punctuation(lc) {
                flush(&mut current, &mut words);
                words.push(lc.to_string());
            } else {
                current.push(lc);
            }
        }
    }
    flush(&mut current, &mut words);
    words
}

fn flush(current: &mut String, words: &mut Vec<String>) {
    if !current.is_empty() {
        words.push(std::mem::take(current));
    }
}

/// Tab, newline and carriage return count as whitespace, not control characters.
fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

/// General category C* (Cc, Cf, Cn, Co), except tab, newline and carriage return.
fn is_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r') && get_general_category(c).abbreviation().starts_with('C')
}

/// BERT's punctuation: all non-alphanumeric ASCII printables, plus Unicode P*.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || get_general_category(c).abbreviation().starts_with('P')
}

/// The CJK Unified Ideographs blocks BERT splits per character (not Hangul, Hiragana, Katakana).
fn is_cjk_ideograph(c: char) -> bool {
    matches!(
        u32::from(c),
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B820..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}

fn bad(path: &Path, reason: String) -> Error {
    Error::BadHeader {
        path: path.to_path_buf(),
        format: FORMAT,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_tokenize_cleans_splits_and_strips() {
        assert_eq!(
            basic_tokenize("Héllo,\tWORLD!\u{0}\u{7}"),
            ["hello", ",", "world", "!"]
        );
        assert_eq!(basic_tokenize("ab北京cd"), ["ab", "北", "京", "cd"]);
        assert_eq!(basic_tokenize("\u{2028}x\u{a0}y"), ["x", "y"]);
        assert!(basic_tokenize("").is_empty());
    }

    #[test]
    fn punctuation_rule() {
        for c in [
            '!', '/', ':', '@', '[', '`', '{', '~', '$', '^', '¿', '—', '«',
        ] {
            assert!(is_punctuation(c), "{c:?}");
        }
        for c in ['a', '0', ' ', '€', '✓'] {
            assert!(!is_punctuation(c), "{c:?}");
        }
    }
}
