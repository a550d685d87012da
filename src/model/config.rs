//! The BERT model configuration carried in a bundle, and its validation.
//!
//! Mirrors the fields of Hugging Face's `config.json` for `BertModel` that the
//! forward pass uses; anything the encoder cannot run is rejected up front.

use serde::{Deserialize, Serialize};

use crate::util::error::{Error, Result};

/// Hyper-parameters of a BERT encoder (the subset of `config.json` we use).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    /// Rows in the word-embedding table.
    pub vocab_size: usize,
    /// Width of every hidden state; the embedding dimension.
    pub hidden_size: usize,
    /// Number of transformer layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer; must divide `hidden_size`.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Rows in the position-embedding table: the longest input the model takes.
    pub max_position_embeddings: usize,
    /// Rows in the token-type table.
    #[serde(default = "default_type_vocab_size")]
    pub type_vocab_size: usize,
    /// Epsilon of every LayerNorm.
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f64,
    /// Activation of the feed-forward layer; only `gelu` (erf) is supported.
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
}

fn default_type_vocab_size() -> usize {
    2
}
fn default_layer_norm_eps() -> f64 {
    1e-12
}
fn default_hidden_act() -> String {
    "gelu".to_string()
}

impl BertConfig {
    /// Parses a `config.json` and validates it.
    pub fn from_json(json: &str) -> Result<Self> {
        let config: BertConfig =
            serde_json::from_str(json).map_err(|e| Error::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Serialises the config to JSON (the form stored in bundles).
    pub fn to_json(&self) -> String {
        // Serialising plain numbers and strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks that the forward pass can run with these numbers.
    pub fn validate(&self) -> Result<()> {
        let nonzero = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ];
        for (name, value) in nonzero {
            if value == 0 {
                return Err(Error::Config(format!("{name} must be positive")));
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(Error::Config(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            )));
        }
        if self.max_position_embeddings < 2 {
            return Err(Error::Config(
                "max_position_embeddings must leave room for [CLS] and [SEP]".into(),
            ));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return Err(Error::Config(
                "layer_norm_eps must be a positive number".into(),
            ));
        }
        if self.hidden_act != "gelu" {
            return Err(Error::Config(format!(
                "hidden_act `{}` is not supported (only gelu)",
                self.hidden_act
            )));
        }
        // Guard against absurd sizes from a hostile file before anything allocates
        // (a tensor list per layer, tables per position and type).
        let limits = [
            ("num_hidden_layers", self.num_hidden_layers, 1024),
            (
                "max_position_embeddings",
                self.max_position_embeddings,
                1 << 20,
            ),
            ("type_vocab_size", self.type_vocab_size, 1 << 16),
        ];
        for (name, value, most) in limits {
            if value > most {
                return Err(Error::Config(format!("{name} {value} is over {most}")));
            }
        }
        // Every table counts: words, positions and token types, then the layers.
        let params = self
            .vocab_size
            .saturating_add(self.max_position_embeddings)
            .saturating_add(self.type_vocab_size)
            .saturating_mul(self.hidden_size)
            .saturating_add(
                self.num_hidden_layers
                    .saturating_mul(self.intermediate_size)
                    .saturating_mul(self.hidden_size),
            );
        if params > 2_000_000_000 {
            return Err(Error::Config(format!(
                "model is too large ({params} parameters)"
            )));
        }
        Ok(())
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINILM: &str = r#"{"architectures":["BertModel"],"hidden_act":"gelu","hidden_size":384,
        "intermediate_size":1536,"layer_norm_eps":1e-12,"max_position_embeddings":512,
        "num_attention_heads":12,"num_hidden_layers":6,"type_vocab_size":2,"vocab_size":30522}"#;

    #[test]
    fn parses_minilm_config() {
        let c = BertConfig::from_json(MINILM).unwrap();
        assert_eq!(c.hidden_size, 384);
        assert_eq!(c.head_dim(), 32);
        assert_eq!(BertConfig::from_json(&c.to_json()).unwrap(), c);
    }

    #[test]
    fn rejects_heads_not_dividing_hidden() {
        let bad = MINILM.replace("\"num_attention_heads\":12", "\"num_attention_heads\":7");
        assert!(
            matches!(BertConfig::from_json(&bad), Err(Error::Config(m)) if m.contains("divisible"))
        );
    }

    #[test]
    fn rejects_unknown_activation_and_zero_sizes() {
        let bad = MINILM.replace("\"gelu\"", "\"relu\"");
        assert!(matches!(BertConfig::from_json(&bad), Err(Error::Config(_))));
        let bad = MINILM.replace("\"hidden_size\":384", "\"hidden_size\":0");
        assert!(matches!(BertConfig::from_json(&bad), Err(Error::Config(_))));
        assert!(matches!(BertConfig::from_json("{"), Err(Error::Config(_))));
    }

    #[test]
    fn rejects_absurd_sizes_before_anything_allocates() {
        let tiny_layers = MINILM
            .replace("\"hidden_size\":384", "\"hidden_size\":12")
            .replace("\"intermediate_size\":1536", "\"intermediate_size\":1");
        for (field, value) in [
            (
                "\"num_hidden_layers\":6",
                "\"num_hidden_layers\":2000000000",
            ),
            (
                "\"max_position_embeddings\":512",
                "\"max_position_embeddings\":2000000000",
            ),
            ("\"type_vocab_size\":2", "\"type_vocab_size\":2000000000"),
        ] {
            let bad = tiny_layers.replace(field, value);
            assert!(
                matches!(BertConfig::from_json(&bad), Err(Error::Config(m)) if m.contains("is over")),
                "{value}"
            );
        }
        let huge = MINILM.replace("\"vocab_size\":30522", "\"vocab_size\":2000000000");
        assert!(
            matches!(BertConfig::from_json(&huge), Err(Error::Config(m)) if m.contains("too large"))
        );
    }
}
