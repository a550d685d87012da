//! Text → word-piece ids, exactly as sentence-transformers tokenises for MiniLM.
//!
//! The `tokenizer.json` shipped with the model pads and truncates at 128; the
//! sentence-transformers pipeline we must match truncates at 256 (including
//! `[CLS]`/`[SEP]`) and does not pad. [`TextTokenizer`] applies those settings
//! whatever the stored file says, and bounds the work spent on huge inputs.

use tokenizers::{
    ModelWrapper, NormalizedString, Normalizer, NormalizerWrapper, OffsetReferential, OffsetType,
    PreTokenizedString, PreTokenizer, PreTokenizerWrapper, Tokenizer, TruncationParams,
};

use crate::model::config::BertConfig;
use crate::util::error::{Error, Result};

/// Longest input sentence-transformers feeds MiniLM, special tokens included.
pub const MAX_TOKENS: usize = 256;

/// Texts longer than this many bytes are tokenised from a prefix first.
const PREFIX_BYTES: usize = 8 * 1024;

/// A word-piece tokenizer configured for embedding: truncation, no padding.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    max_len: usize,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("vocab", &self.inner.get_vocab_size(true))
            .field("max_len", &self.max_len)
            .finish()
    }
}

impl TextTokenizer {
    /// Loads a `tokenizer.json` and checks it against the model config.
    pub fn from_json(json: &str, config: &BertConfig) -> Result<Self> {
        let bad =
            |e: serde_json::Error| Error::Tokenizer(format!("cannot parse tokenizer.json: {e}"));
        // JSON first, then the tokenizer from the parsed value: tokenizers' own
        // deserialisers panic on some syntax errors inside a component (a decoder
        // with a broken string, found by fuzzing) instead of returning them.
        let value: serde_json::Value = serde_json::from_str(json).map_err(bad)?;
        let mut inner: Tokenizer = serde_json::from_value(value).map_err(bad)?;
        let vocab = inner.get_vocab_size(true);
        if vocab > config.vocab_size {
            return Err(Error::Tokenizer(format!(
                "tokenizer has {vocab} tokens but the model's embedding table has {} rows",
                config.vocab_size
            )));
        }
        let max_len = MAX_TOKENS.min(config.max_position_embeddings);
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        inner.with_padding(None);
        let tokenizer = Self { inner, max_len };
        // A tokenizer that cannot encode the empty text cannot serve the encoder.
        if tokenizer.encode("")?.is_empty() {
            return Err(Error::Tokenizer(
                "tokenizer produces no tokens for the empty text (no [CLS]/[SEP] post-processor?)"
                    .into(),
            ));
        }
        Ok(tokenizer)
    }

    /// The most ids [`encode`](Self::encode) returns for one text.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Word-piece ids of `text`, with `[CLS]`/`[SEP]`, truncated to
    /// [`max_len`](Self::max_len).
    ///
    /// A very long text is first tokenised from a prefix that ends just before
    /// whitespace or punctuation (where BERT's pre-tokeniser splits anyway); if
    /// that prefix already fills the window, the ids are the same as for the
    /// whole text, found without tokenising megabytes. Otherwise the prefix
    /// doubles until it does, or the whole text is used.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut limit = PREFIX_BYTES;
        while text.len() > limit {
            if let Some(cut) = split_point(text, limit) {
                let ids = self.encode_all(&text[..cut])?;
                if ids.len() >= self.max_len {
                    return Ok(ids);
                }
            }
            limit = limit.saturating_mul(4);
        }
        self.encode_all(text)
    }

    /// For each id below `rows`, whether some text can produce it.
    ///
    /// A word piece is a substring of one normalised pre-tokenised word: a
    /// leading piece is reachable when its text is such a word on its own, a
    /// continuation piece (`##…`) when `a` followed by its text is. Pieces
    /// with a character the normaliser changes or the pre-tokeniser splits on
    /// (BERT's `[unused…]` entries, `##` + punctuation or a CJK character) can
    /// never be produced. Added and special tokens always can (they are
    /// matched in the raw text). The probes assume BERT's word boundaries: with
    /// a model other than word-piece, or a normaliser or pre-tokeniser other
    /// than BERT's (one that composes characters, or adds a prefix), every id
    /// below the vocabulary size counts as reachable.
    pub fn reachable_ids(&self, rows: usize) -> Result<Vec<bool>> {
        let bert_words = matches!(
            self.inner.get_normalizer(),
            None | Some(NormalizerWrapper::BertNormalizer(_))
        ) && matches!(
            self.inner.get_pre_tokenizer(),
            Some(PreTokenizerWrapper::BertPreTokenizer(_))
        );
        let ModelWrapper::WordPiece(model) = self.inner.get_model() else {
            return Ok(self.every_id(rows));
        };
        if !bert_words {
            return Ok(self.every_id(rows));
        }
        let mut reachable = vec![false; rows];
        let added = self.inner.get_added_tokens_decoder();
        for (piece, id) in self.inner.get_vocab(true) {
            let Some(slot) = reachable.get_mut(id as usize) else {
                continue;
            };
            *slot = added.contains_key(&id)
                || match piece.strip_prefix(model.continuing_subword_prefix.as_str()) {
                    Some(rest) if !rest.is_empty() => self.is_one_word(&format!("a{rest}"))?,
                    _ => self.is_one_word(&piece)?,
                };
        }
        Ok(reachable)
    }

    /// Every id of the vocabulary (added tokens included) below `rows`.
    fn every_id(&self, rows: usize) -> Vec<bool> {
        let size = self.inner.get_vocab_size(true);
        (0..rows).map(|id| id < size).collect()
    }

    /// Whether normalising and pre-tokenising `text` leaves one word, `text`
    /// itself (the normaliser may only add spaces around it).
    fn is_one_word(&self, text: &str) -> Result<bool> {
        let fail = |e: tokenizers::Error| Error::Tokenizer(e.to_string());
        let mut normalized = NormalizedString::from(text);
        if let Some(normalizer) = self.inner.get_normalizer() {
            normalizer.normalize(&mut normalized).map_err(fail)?;
        }
        let mut words = PreTokenizedString::from(normalized);
        if let Some(pre_tokenizer) = self.inner.get_pre_tokenizer() {
            pre_tokenizer.pre_tokenize(&mut words).map_err(fail)?;
        }
        let splits = words.get_splits(OffsetReferential::Normalized, OffsetType::Byte);
        Ok(matches!(splits.as_slice(), [(word, _, _)] if *word == text))
    }

    fn encode_all(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }
}

/// A byte offset at or after `at` (within a small window) that starts a char
/// where BERT pre-tokenisation splits: whitespace or ASCII punctuation.
fn split_point(text: &str, at: usize) -> Option<usize> {
    const WINDOW: usize = 1024;
    let mut start = at.min(text.len());
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..]
        .char_indices()
        .take_while(|(i, _)| *i < WINDOW)
        .find(|(_, c)| c.is_whitespace() || c.is_ascii_punctuation())
        .map(|(i, _)| start + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{tiny_config, tiny_tokenizer_json};

    fn tok() -> TextTokenizer {
        TextTokenizer::from_json(&tiny_tokenizer_json(), &tiny_config()).unwrap()
    }

    #[test]
    fn wraps_in_cls_sep_and_lowercases() {
        let t = tok();
        let ids = t.encode("The FILM").unwrap();
        assert_eq!(ids, t.encode("the film").unwrap());
        assert_eq!(ids.first(), Some(&2));
        assert_eq!(ids.last(), Some(&3));
        assert_eq!(t.encode("").unwrap(), vec![2, 3]);
    }

    #[test]
    fn truncates_to_the_window() {
        let t = tok();
        let long = "good film ".repeat(500);
        let ids = t.encode(&long).unwrap();
        assert_eq!(ids.len(), t.max_len());
        assert_eq!(ids.last(), Some(&3), "truncation keeps [SEP]");
    }

    #[test]
    fn prefix_shortcut_matches_full_tokenisation() {
        let t = tok();
        // Over a megabyte, with the cut landing mid-word.
        let huge = "abcdefghij klm, nopq ".repeat(60_000);
        assert!(huge.len() > 1_000_000);
        assert_eq!(t.encode(&huge).unwrap(), t.encode_all(&huge).unwrap());
        // A huge text whose start is mostly whitespace: the prefix is not enough.
        let sparse = format!("{}the end", " ".repeat(40_000));
        assert_eq!(t.encode(&sparse).unwrap(), t.encode_all(&sparse).unwrap());
        // No split point at all (one giant word): falls back to the whole text.
        let word = "x".repeat(20_000);
        assert_eq!(t.encode(&word).unwrap(), t.encode_all(&word).unwrap());
    }

    #[test]
    fn unreachable_pieces_are_found() {
        // The tiny vocabulary plus pieces no text can produce and two it can.
        let mut json: serde_json::Value = serde_json::from_str(&tiny_tokenizer_json()).unwrap();
        let vocab = json["model"]["vocab"].as_object_mut().unwrap();
        let first = vocab.len();
        let extra = [
            ("[unused0]", false), // the pre-tokeniser splits off the brackets
            ("##.", false),       // punctuation is always a word of its own
            ("##中", false),      // so is a CJK character
            ("Film", false),      // the normaliser lowercases
            ("é", false),         // and strips accents
            ("中", true),
            ("##ing", true),
        ];
        for (i, (piece, _)) in extra.iter().enumerate() {
            vocab.insert(piece.to_string(), serde_json::json!(first + i));
        }
        let mut config = tiny_config();
        config.vocab_size = first + extra.len() + 2;
        let t = TextTokenizer::from_json(&json.to_string(), &config).unwrap();
        let reachable = t.reachable_ids(config.vocab_size).unwrap();
        assert!(
            reachable[..first].iter().all(|&r| r),
            "the tiny vocabulary is all reachable"
        );
        for (i, (piece, want)) in extra.iter().enumerate() {
            assert_eq!(reachable[first + i], *want, "{piece}");
        }
        assert_eq!(
            &reachable[first + extra.len()..],
            [false, false],
            "rows past the vocabulary"
        );
        // Fewer rows than ids: the rest are left out, not an error.
        assert_eq!(t.reachable_ids(3).unwrap(), vec![true; 3]);
        // Another normaliser (NFC composes `a` + U+0301, so probes would lie): nothing pruned.
        json["normalizer"] = serde_json::json!({"type": "NFC"});
        let t = TextTokenizer::from_json(&json.to_string(), &config).unwrap();
        let reachable = t.reachable_ids(config.vocab_size).unwrap();
        assert!(reachable[..first + extra.len()].iter().all(|&r| r));
        assert_eq!(
            &reachable[first + extra.len()..],
            [false, false],
            "still no such ids"
        );
    }

    /// Found by fuzzing (the `bundle` target): a syntax error inside the
    /// decoder made tokenizers panic ("Helper") instead of failing.
    #[test]
    fn a_syntax_error_inside_a_component_is_an_error_not_a_panic() {
        let mut json: serde_json::Value = serde_json::from_str(&tiny_tokenizer_json()).unwrap();
        json["decoder"] = serde_json::json!({"type": "WordPiece", "prefix": "##", "cleanup": true});
        let text = json.to_string();
        let broken = text.replacen(r#""type":"WordPiece""#, r#""type":"WordPie"ce"#, 1);
        assert_ne!(broken, text);
        let err = TextTokenizer::from_json(&broken, &tiny_config()).unwrap_err();
        assert!(
            matches!(err, Error::Tokenizer(ref m) if m.contains("cannot parse")),
            "{err}"
        );
    }

    #[test]
    fn rejects_bad_tokenizer_json_and_too_large_vocab() {
        assert!(matches!(
            TextTokenizer::from_json("{not json", &tiny_config()),
            Err(Error::Tokenizer(_))
        ));
        let mut small = tiny_config();
        small.vocab_size = 5;
        assert!(matches!(
            TextTokenizer::from_json(&tiny_tokenizer_json(), &small),
            Err(Error::Tokenizer(m)) if m.contains("rows")
        ));
    }
}
