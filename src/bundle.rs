//! The model bundle: one versioned, checksummed file holding tokenizer, config and weights.
//!
//! Layout (all integers little-endian):
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0  | 8 | magic `LRMODEL\0` |
//! | 8  | 4 | format version ([`FORMAT_VERSION`]) |
//! | 12 | 4 | reserved, zero |
//! | 16 | 8 | payload length in bytes |
//! | 24 | 4 | CRC-32 (IEEE) of the payload |
//! | 28 | 4 | reserved, zero |
//! | 32 | … | payload: a GGUF container |
//!
//! The GGUF payload carries metadata strings `localrec.config` (the BERT
//! `config.json`), `localrec.tokenizer` (`tokenizer.json`), `localrec.quant`
//! (`int8` or `f32`) and `localrec.model_id` (a fingerprint of the source
//! weights), and the tensors under their Hugging Face `BertModel` names. Linear
//! weights are `Q8_0` (int8, one f16 scale per 32 values) and the word-embedding
//! table `Q5_1` (5-bit, an f16 scale and minimum per 32 values; `Q8_0` is also
//! read) in an `int8` bundle; LayerNorm parameters, biases, and the position
//! and token-type tables are always f32.
//!
//! [`ModelBundle::from_bytes`] checks everything — header, checksum, metadata,
//! every tensor's presence, type and shape — so a [`ModelBundle`] in hand is
//! always runnable.

use std::collections::HashMap;
use std::fmt;
use std::io::Cursor;
use std::str::FromStr;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use crate::config::BertConfig;
use crate::envelope::Envelope;
use crate::error::{Error, FileKind, Result};
use crate::tokenize::TextTokenizer;

/// The first eight bytes of every model bundle.
pub const MAGIC: [u8; 8] = *b"LRMODEL\0";
/// The bundle format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Size of the fixed header before the payload.
pub const HEADER_LEN: usize = crate::envelope::HEADER_LEN;

const ENVELOPE: Envelope = Envelope {
    kind: FileKind::ModelBundle,
    magic: MAGIC,
    version: FORMAT_VERSION,
};

const KEY_CONFIG: &str = "localrec.config";
const KEY_TOKENIZER: &str = "localrec.tokenizer";
const KEY_QUANT: &str = "localrec.quant";
const KEY_MODEL_ID: &str = "localrec.model_id";

/// How the large weight matrices are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quant {
    /// Linear weights in int8 blocks of 32 values with one f16 scale each (GGML
    /// `Q8_0`); the word table in 5-bit blocks of 32 with an f16 scale and
    /// minimum (GGML `Q5_1`).
    #[default]
    Int8,
    /// Plain f32: the reference, four times larger.
    F32,
}

impl Quant {
    fn ggml_dtype(self) -> GgmlDType {
        match self {
            Quant::Int8 => GgmlDType::Q8_0,
            Quant::F32 => GgmlDType::F32,
        }
    }

    fn table_dtype(self) -> GgmlDType {
        match self {
            Quant::Int8 => GgmlDType::Q5_1,
            Quant::F32 => GgmlDType::F32,
        }
    }
}

impl fmt::Display for Quant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Quant::Int8 => "int8",
            Quant::F32 => "f32",
        })
    }
}

impl FromStr for Quant {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "int8" => Ok(Quant::Int8),
            "f32" => Ok(Quant::F32),
            other => Err(Error::UnknownQuant(other.to_string())),
        }
    }
}

/// What a tensor is, which decides how it may be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A linear layer's weight matrix: int8 (`Q8_0`) in int8 bundles.
    Matrix,
    /// The word-embedding table: 5-bit (`Q5_1`) in int8 bundles. It is read one
    /// row per token, never multiplied, and is the largest tensor (30,522 rows).
    Table,
    /// Biases, LayerNorm parameters, small tables: always f32.
    Dense,
}

/// The tensors a BERT model with `config` needs: name, shape (rows first), role.
fn expected_tensors(config: &BertConfig) -> Vec<(String, Vec<usize>, Role)> {
    let h = config.hidden_size;
    let i = config.intermediate_size;
    let mut out = vec![
        (
            "embeddings.word_embeddings.weight".to_string(),
            vec![config.vocab_size, h],
            Role::Table,
        ),
        (
            "embeddings.position_embeddings.weight".to_string(),
            vec![config.max_position_embeddings, h],
            Role::Dense,
        ),
        (
            "embeddings.token_type_embeddings.weight".to_string(),
            vec![config.type_vocab_size, h],
            Role::Dense,
        ),
        (
            "embeddings.LayerNorm.weight".to_string(),
            vec![h],
            Role::Dense,
        ),
        (
            "embeddings.LayerNorm.bias".to_string(),
            vec![h],
            Role::Dense,
        ),
    ];
    for layer in 0..config.num_hidden_layers {
        let p = format!("encoder.layer.{layer}");
        let linears = [
            (format!("{p}.attention.self.query"), h, h),
            (format!("{p}.attention.self.key"), h, h),
            (format!("{p}.attention.self.value"), h, h),
            (format!("{p}.attention.output.dense"), h, h),
            (format!("{p}.intermediate.dense"), i, h),
            (format!("{p}.output.dense"), h, i),
        ];
        for (name, rows, cols) in linears {
            out.push((format!("{name}.weight"), vec![rows, cols], Role::Matrix));
            out.push((format!("{name}.bias"), vec![rows], Role::Dense));
        }
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"] {
            out.push((format!("{p}.{ln}.weight"), vec![h], Role::Dense));
            out.push((format!("{p}.{ln}.bias"), vec![h], Role::Dense));
        }
    }
    out
}

/// A validated model bundle: config, tokenizer definition and all weights.
#[derive(Debug)]
pub struct ModelBundle {
    config: BertConfig,
    tokenizer_json: String,
    tokenizer: TextTokenizer,
    quant: Quant,
    model_id: String,
    tensors: HashMap<String, QTensor>,
}

impl ModelBundle {
    /// Builds a bundle from f32 weights (as read from a `model.safetensors`).
    ///
    /// `weights` must hold every tensor [`BertConfig`] implies, under Hugging
    /// Face `BertModel` names (a leading `bert.` is accepted); extra tensors
    /// such as `embeddings.position_ids` are ignored. `model_id` names the
    /// source weights (the CLI uses their SHA-256).
    pub fn from_weights(
        config: BertConfig,
        tokenizer_json: String,
        weights: &HashMap<String, Tensor>,
        quant: Quant,
        model_id: String,
    ) -> Result<Self> {
        config.validate()?;
        let mut tensors = HashMap::new();
        for (name, shape, role) in expected_tensors(&config) {
            let tensor = weights
                .get(&name)
                .or_else(|| weights.get(&format!("bert.{name}")))
                .ok_or_else(|| Error::MissingTensor(name.clone()))?;
            if tensor.dims() != shape.as_slice() {
                return Err(Error::TensorShape {
                    name,
                    expected: shape,
                    found: tensor.dims().to_vec(),
                });
            }
            let tensor = tensor.to_dtype(candle_core::DType::F32)?;
            let dtype = match role {
                Role::Matrix => quant.ggml_dtype(),
                Role::Table => quant.table_dtype(),
                Role::Dense => GgmlDType::F32,
            };
            if !shape[shape.len() - 1].is_multiple_of(dtype.block_size()) {
                return Err(Error::Config(format!(
                    "`{name}` has rows of {} values, not a multiple of the {}-value int8 block",
                    shape[shape.len() - 1],
                    dtype.block_size()
                )));
            }
            tensors.insert(name, QTensor::quantize(&tensor, dtype)?);
        }
        // Fail now, not at load time, on a tokenizer we cannot use.
        let tokenizer = TextTokenizer::from_json(&tokenizer_json, &config)?;
        Ok(Self {
            config,
            tokenizer_json,
            tokenizer,
            quant,
            model_id,
            tensors,
        })
    }

    /// Parses and validates bundle bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let payload = ENVELOPE.open(bytes)?;
        let mut reader = Cursor::new(payload);
        let content =
            gguf_file::Content::read(&mut reader).map_err(|e| Error::Container(e.to_string()))?;

        let config_json = metadata_string(&content, KEY_CONFIG)?;
        let config = BertConfig::from_json(&config_json)?;
        let tokenizer_json = metadata_string(&content, KEY_TOKENIZER)?;
        let quant = metadata_string(&content, KEY_QUANT)?
            .parse::<Quant>()
            .map_err(|e| Error::Metadata {
                key: KEY_QUANT,
                reason: e.to_string(),
            })?;
        let model_id = metadata_string(&content, KEY_MODEL_ID)?;

        let mut tensors = HashMap::new();
        for (name, shape, role) in expected_tensors(&config) {
            let info = content
                .tensor_infos
                .get(&name)
                .ok_or_else(|| Error::MissingTensor(name.clone()))?;
            if info.shape.dims() != shape.as_slice() {
                return Err(Error::TensorShape {
                    name,
                    expected: shape,
                    found: info.shape.dims().to_vec(),
                });
            }
            let allowed = match role {
                Role::Matrix => matches!(info.ggml_dtype, GgmlDType::F32 | GgmlDType::Q8_0),
                Role::Table => matches!(
                    info.ggml_dtype,
                    GgmlDType::F32 | GgmlDType::Q8_0 | GgmlDType::Q5_1
                ),
                Role::Dense => info.ggml_dtype == GgmlDType::F32,
            };
            if !allowed {
                return Err(Error::TensorType {
                    name,
                    dtype: format!("{:?}", info.ggml_dtype),
                });
            }
            let tensor = content
                .tensor(&mut reader, &name, &Device::Cpu)
                .map_err(|e| Error::Container(format!("tensor `{name}`: {e}")))?;
            tensors.insert(name, tensor);
        }
        // The tokenizer must load and fit the vocabulary before we call this valid.
        let tokenizer = TextTokenizer::from_json(&tokenizer_json, &config)?;
        Ok(Self {
            config,
            tokenizer_json,
            tokenizer,
            quant,
            model_id,
            tensors,
        })
    }

    /// Serialises the bundle: header, then the GGUF payload.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let config = gguf_file::Value::String(self.config.to_json());
        let tokenizer = gguf_file::Value::String(self.tokenizer_json.clone());
        let quant = gguf_file::Value::String(self.quant.to_string());
        let model_id = gguf_file::Value::String(self.model_id.clone());
        let metadata = [
            (KEY_CONFIG, &config),
            (KEY_TOKENIZER, &tokenizer),
            (KEY_QUANT, &quant),
            (KEY_MODEL_ID, &model_id),
        ];
        // Write tensors in the canonical order so equal bundles are equal bytes.
        let names: Vec<String> = expected_tensors(&self.config)
            .into_iter()
            .map(|(name, _, _)| name)
            .collect();
        let mut tensors = Vec::with_capacity(names.len());
        for name in &names {
            let t = self
                .tensors
                .get(name)
                .ok_or_else(|| Error::MissingTensor(name.clone()))?;
            tensors.push((name.as_str(), t));
        }
        let mut payload = Cursor::new(Vec::new());
        gguf_file::write(&mut payload, &metadata, &tensors)
            .map_err(|e| Error::Container(e.to_string()))?;
        Ok(ENVELOPE.seal(&payload.into_inner()))
    }

    /// The model configuration.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }
    /// The tokenizer, parsed and checked against the config.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }
    /// The `tokenizer.json` text stored in the bundle.
    pub fn tokenizer_json(&self) -> &str {
        &self.tokenizer_json
    }
    /// How the weight matrices are stored.
    pub fn quant(&self) -> Quant {
        self.quant
    }
    /// The fingerprint of the source weights this bundle was made from.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }
    /// Moves a tensor out of the bundle (the model keeps it; the bundle is spent).
    pub(crate) fn take_tensor(&mut self, name: &str) -> Result<QTensor> {
        self.tensors
            .remove(name)
            .ok_or_else(|| Error::MissingTensor(name.to_string()))
    }
    /// A tensor by name; bundles are validated, so the names of
    /// [`expected_tensors`] are always present.
    pub(crate) fn tensor(&self, name: &str) -> Result<&QTensor> {
        self.tensors
            .get(name)
            .ok_or_else(|| Error::MissingTensor(name.to_string()))
    }
}

fn metadata_string(content: &gguf_file::Content, key: &'static str) -> Result<String> {
    match content.metadata.get(key) {
        Some(gguf_file::Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(Error::Metadata {
            key,
            reason: format!("expected a string, found {:?}", other.value_type()),
        }),
        None => Err(Error::Metadata {
            key,
            reason: "missing".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{tiny_bundle_bytes, tiny_config, tiny_weights};

    #[test]
    fn round_trips_int8_and_f32() {
        for quant in [Quant::Int8, Quant::F32] {
            let bytes = tiny_bundle_bytes(quant, 7);
            let bundle = ModelBundle::from_bytes(&bytes).unwrap();
            assert_eq!(bundle.quant(), quant);
            assert_eq!(bundle.config(), &tiny_config());
            assert_eq!(
                bundle.to_bytes().unwrap(),
                bytes,
                "re-serialising is byte-identical"
            );
        }
        let int8 = tiny_bundle_bytes(Quant::Int8, 7).len();
        let f32 = tiny_bundle_bytes(Quant::F32, 7).len();
        assert!(
            int8 * 2 < f32,
            "int8 bundle ({int8} B) should be far smaller than f32 ({f32} B)"
        );
    }

    #[test]
    fn every_truncation_is_a_typed_error() {
        let bytes = tiny_bundle_bytes(Quant::Int8, 1);
        for len in [0, 4, 8, 31, 32, 100, bytes.len() / 2, bytes.len() - 1] {
            let err = ModelBundle::from_bytes(&bytes[..len]).unwrap_err();
            assert!(matches!(err, Error::Truncated { .. }), "len {len}: {err}");
        }
    }

    #[test]
    fn wrong_magic_future_version_and_corruption_are_rejected() {
        let bytes = tiny_bundle_bytes(Quant::Int8, 1);

        let mut b = bytes.clone();
        b[0] = b'X';
        assert!(matches!(
            ModelBundle::from_bytes(&b),
            Err(Error::BadMagic { .. })
        ));
        assert!(matches!(
            ModelBundle::from_bytes(b"GGUF\x03\0\0\0garbage-garbage-garbage-garbage"),
            Err(Error::BadMagic { .. })
        ));

        let mut b = bytes.clone();
        b[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        assert!(matches!(
            ModelBundle::from_bytes(&b),
            Err(Error::UnsupportedVersion { found, supported: FORMAT_VERSION, .. }) if found == FORMAT_VERSION + 1
        ));

        let mut b = bytes.clone();
        let mid = HEADER_LEN + (b.len() - HEADER_LEN) / 2;
        b[mid] ^= 0x40;
        assert!(matches!(
            ModelBundle::from_bytes(&b),
            Err(Error::ChecksumMismatch { .. })
        ));
    }

    #[test]
    fn wrong_hidden_size_is_a_shape_error() {
        // Weights made for hidden 32, config claiming 64: caught at build time …
        let config = tiny_config();
        let weights = tiny_weights(&config, 3);
        let mut wrong = config.clone();
        wrong.hidden_size = 64;
        let err = ModelBundle::from_weights(
            wrong.clone(),
            crate::testing::tiny_tokenizer_json(),
            &weights,
            Quant::Int8,
            "t".into(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::TensorShape { .. }), "{err}");

        // … and in a bundle whose stored config disagrees with its tensors.
        let bundle = ModelBundle::from_bytes(&tiny_bundle_bytes(Quant::F32, 3)).unwrap();
        let forged = ModelBundle {
            config: wrong,
            ..bundle
        };
        let forged_bytes = forge_config(&forged);
        let err = ModelBundle::from_bytes(&forged_bytes).unwrap_err();
        assert!(matches!(err, Error::TensorShape { .. }), "{err}");
    }

    /// Writes a bundle whose config no longer matches its tensors (bypassing `to_bytes`' lookups).
    fn forge_config(b: &ModelBundle) -> Vec<u8> {
        let config = gguf_file::Value::String(b.config.to_json());
        let tok = gguf_file::Value::String(b.tokenizer_json.clone());
        let quant = gguf_file::Value::String(b.quant.to_string());
        let id = gguf_file::Value::String(b.model_id.clone());
        let meta = [
            (KEY_CONFIG, &config),
            (KEY_TOKENIZER, &tok),
            (KEY_QUANT, &quant),
            (KEY_MODEL_ID, &id),
        ];
        let tensors: Vec<(&str, &QTensor)> =
            b.tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut payload = Cursor::new(Vec::new());
        gguf_file::write(&mut payload, &meta, &tensors).unwrap();
        ENVELOPE.seal(&payload.into_inner())
    }

    #[test]
    fn missing_metadata_and_bad_quant_name() {
        let mut payload = Cursor::new(Vec::new());
        gguf_file::write(&mut payload, &[], &[]).unwrap();
        let err = ModelBundle::from_bytes(&ENVELOPE.seal(&payload.into_inner())).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Metadata {
                    key: KEY_CONFIG,
                    ..
                }
            ),
            "{err}"
        );
        assert!(matches!(
            "int4".parse::<Quant>(),
            Err(Error::UnknownQuant(_))
        ));
    }
}
