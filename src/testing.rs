//! A tiny random BERT (and its tokenizer) for fast tests, here and downstream.
//!
//! Everything is deterministic from a seed, so a test can build the same model
//! twice. The weights are meaningless; the shapes, tokenizer and bundle format
//! are the real ones, so every code path of the encoder runs.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use serde_json::json;

use crate::model::bundle::{ModelBundle, Quant};
use crate::model::config::BertConfig;

const SPECIALS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
const WORDS: [&str; 16] = [
    "the", "film", "good", "bad", "short", "long", "read", "love", "hate", "funny", "quick",
    "story", "war", "comedy", "not", "very",
];

/// The tiny tokenizer's vocabulary, in id order.
fn tiny_vocab() -> Vec<String> {
    let mut vocab: Vec<String> = SPECIALS.iter().map(|s| s.to_string()).collect();
    vocab.extend(WORDS.iter().map(|s| s.to_string()));
    for c in ('a'..='z').chain('0'..='9') {
        vocab.push(c.to_string());
        vocab.push(format!("##{c}"));
    }
    vocab.extend(".,!?'-".chars().map(|c| c.to_string()));
    vocab
}

/// A BERT `tokenizer.json` (normaliser, pre-tokeniser, word-piece, `[CLS]`/`[SEP]`)
/// over a vocabulary of letters, digits and a few words.
pub fn tiny_tokenizer_json() -> String {
    let vocab: serde_json::Map<String, serde_json::Value> = tiny_vocab()
        .into_iter()
        .enumerate()
        .map(|(i, t)| (t, json!(i)))
        .collect();
    let added: Vec<_> = SPECIALS
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({"id": i, "content": s, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    json!({
        "version": "1.0",
        // Deliberately the shipped MiniLM file's settings: the loader must override them.
        "truncation": {"direction": "Right", "max_length": 16, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": 16}, "direction": "Right", "pad_to_multiple_of": null,
                    "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab}
    })
    .to_string()
}

/// A 2-layer, 32-wide BERT with 4 heads and a 64-token window.
pub fn tiny_config() -> BertConfig {
    BertConfig {
        vocab_size: tiny_vocab().len(),
        hidden_size: 32,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        intermediate_size: 64,
        max_position_embeddings: 64,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        hidden_act: "gelu".into(),
    }
}

/// Deterministic pseudo-random numbers in [-1, 1) (xorshift64*).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((x >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }
    fn tensor(&mut self, shape: &[usize], scale: f32, offset: f32) -> Tensor {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n).map(|_| offset + scale * self.next()).collect();
        // Shape and length agree by construction.
        Tensor::from_vec(data, shape, &Device::Cpu).expect("tensor of matching size")
    }
}

/// Random f32 weights for `config`, under Hugging Face `BertModel` names.
pub fn tiny_weights(config: &BertConfig, seed: u64) -> HashMap<String, Tensor> {
    let mut noise = Noise(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let (h, i) = (config.hidden_size, config.intermediate_size);
    let mut w = HashMap::new();
    let mut put = |name: String, shape: &[usize], scale: f32, offset: f32| {
        w.insert(name, noise.tensor(shape, scale, offset));
    };
    put(
        "embeddings.word_embeddings.weight".into(),
        &[config.vocab_size, h],
        0.5,
        0.0,
    );
    put(
        "embeddings.position_embeddings.weight".into(),
        &[config.max_position_embeddings, h],
        0.2,
        0.0,
    );
    put(
        "embeddings.token_type_embeddings.weight".into(),
        &[config.type_vocab_size, h],
        0.2,
        0.0,
    );
    put("embeddings.LayerNorm.weight".into(), &[h], 0.1, 1.0);
    put("embeddings.LayerNorm.bias".into(), &[h], 0.1, 0.0);
    for l in 0..config.num_hidden_layers {
        let p = format!("encoder.layer.{l}");
        for (name, rows, cols) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", i, h),
            ("output.dense", h, i),
        ] {
            put(format!("{p}.{name}.weight"), &[rows, cols], 0.3, 0.0);
            put(format!("{p}.{name}.bias"), &[rows], 0.1, 0.0);
        }
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"] {
            put(format!("{p}.{ln}.weight"), &[h], 0.1, 1.0);
            put(format!("{p}.{ln}.bias"), &[h], 0.1, 0.0);
        }
    }
    w
}

/// A tiny model as a validated bundle.
pub fn tiny_bundle(quant: Quant, seed: u64) -> ModelBundle {
    let config = tiny_config();
    let weights = tiny_weights(&config, seed);
    ModelBundle::from_weights(
        config,
        tiny_tokenizer_json(),
        &weights,
        quant,
        format!("tiny-{seed}"),
    )
    .expect("the tiny model is valid")
}

/// A tiny model as bundle bytes.
pub fn tiny_bundle_bytes(quant: Quant, seed: u64) -> Vec<u8> {
    tiny_bundle(quant, seed)
        .to_bytes()
        .expect("the tiny bundle serialises")
}

/// A seeded unit vector of `dims` values for scoring and index tests: xorshift
/// noise in [−0.5, 0.5] with `lift` added to the first `shared` coordinates
/// (a direction every vector shares, as sentence embeddings do), normalised.
pub fn unit_vector(seed: u32, dims: usize, shared: usize, lift: f32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(7);
    let v: Vec<f32> = (0..dims)
        .map(|k| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as f32 / u32::MAX as f32) - 0.5 + if k < shared { lift } else { 0.0 }
        })
        .collect();
    let norm = v
        .iter()
        .map(|a| a * a)
        .sum::<f32>()
        .sqrt()
        .max(f32::MIN_POSITIVE);
    v.into_iter().map(|a| a / norm).collect()
}
