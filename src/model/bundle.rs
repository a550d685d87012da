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
//! | 32 | … | payload |
//!
//! The payload (versions 2 and 3) is the GGUF container's length (8 bytes),
//! the GGUF container, then the coded section (`model::coded_tensors`);
//! version 3 may leave all-zero rows out of it. Versions 1 (the GGUF
//! container alone) and 2 are still read.
//!
//! The GGUF container carries metadata strings `localrec.config` (the BERT
//! `config.json`), `localrec.tokenizer` (`tokenizer.json`), `localrec.quant`
//! (`int8` or `f32`), `localrec.model_id` (a fingerprint of the source
//! weights) and `localrec.coded` (the coded section's directory), from
//! version 3 `localrec.vocab` (the word-piece vocabulary, one token per line,
//! taken out of `tokenizer.json`: `model::stored_tokenizer`), and the
//! tensors under their Hugging Face `BertModel` names. Linear weights and the
//! position table are `Q8_0` (int8, one f16 scale per 32 values) and the
//! word-embedding table `Q5_1` (5-bit, an f16 scale and minimum per 32 values)
//! or `Q8_0` in an `int8` bundle; LayerNorm parameters, biases and the
//! token-type table are f16 in `int8` bundles from version 3 (f32 before, and
//! in `f32` bundles). Every `Q8_0` tensor is written to the coded section
//! (scales apart, integers entropy-coded, all-zero rows left out: an `int8`
//! bundle zeroes the positions past the tokenizer's window and, where the
//! word table is `Q8_0` (calibrated), the word pieces the tokenizer never
//! produces), the rest to the container. A calibrated `int8` bundle
//! ([`ModelBundle::from_weights_calibrated`] in [`crate::offline::convert`], the one `scripts/setup.sh`
//! builds) keeps the same types but chooses small integers
//! (see [`crate::offline::calibrated`]).
//!
//! [`ModelBundle::from_bytes`] checks everything — header, checksum, metadata,
//! every tensor's presence, type and shape — so a [`ModelBundle`] in hand is
//! always runnable.

use std::collections::HashMap;
use std::fmt;
use std::io::Cursor;
use std::str::FromStr;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::Device;

use crate::model::coded_tensors::{self, Directory};
use crate::model::config::BertConfig;
use crate::model::stored_tokenizer;
use crate::model::tokenize::TextTokenizer;
use crate::util::envelope::Envelope;
use crate::util::error::{Error, FileKind, Result};

/// The first eight bytes of every model bundle.
pub const MAGIC: [u8; 8] = *b"LRMODEL\0";
/// The bundle format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 3;
/// Size of the fixed header before the payload.
pub const HEADER_LEN: usize = crate::util::envelope::HEADER_LEN;

const ENVELOPE: Envelope = Envelope {
    kind: FileKind::ModelBundle,
    magic: MAGIC,
    version: FORMAT_VERSION,
};

const KEY_CONFIG: &str = "localrec.config";
const KEY_TOKENIZER: &str = "localrec.tokenizer";
const KEY_QUANT: &str = "localrec.quant";
const KEY_MODEL_ID: &str = "localrec.model_id";
const KEY_CODED: &str = "localrec.coded";
const KEY_VOCAB: &str = "localrec.vocab";
/// The first version that may store the vocabulary apart ([`KEY_VOCAB`]).
const VOCAB_SINCE: u32 = 3;

/// How the large weight matrices are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quant {
    /// Linear weights and the position table in int8 blocks of 32 values with
    /// one f16 scale each (GGML `Q8_0`); the word table in 5-bit blocks of 32
    /// with an f16 scale and minimum (GGML `Q5_1`), or `Q8_0` when calibrated.
    #[default]
    Int8,
    /// Plain f32: the reference, four times larger.
    F32,
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
pub(crate) enum Role {
    /// A linear layer's weight matrix: int8 (`Q8_0`) in int8 bundles.
    Matrix,
    /// The word-embedding table: 5-bit (`Q5_1`) in int8 bundles, `Q8_0` in
    /// calibrated ones. It is read one row per token, never multiplied, and is
    /// the largest tensor (30,522 rows).
    Table,
    /// The position table: added to every token's row, `Q8_0` in int8 bundles.
    Positions,
    /// Biases, LayerNorm parameters, the token-type table: always f32.
    Dense,
}

/// The tensors a BERT model with `config` needs: name, shape (rows first), role.
pub(crate) fn expected_tensors(config: &BertConfig) -> Vec<(String, Vec<usize>, Role)> {
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
            Role::Positions,
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
    /// The format version read ([`FORMAT_VERSION`] for a bundle built here).
    format_version: u32,
}

impl ModelBundle {
    /// A bundle from parts already checked against `config`: what the
    /// offline conversion ([`crate::offline::convert`]) assembles.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn from_parts(
        config: BertConfig,
        tokenizer_json: String,
        tokenizer: TextTokenizer,
        quant: Quant,
        model_id: String,
        tensors: HashMap<String, QTensor>,
    ) -> Self {
        Self {
            config,
            tokenizer_json,
            tokenizer,
            quant,
            model_id,
            tensors,
            format_version: FORMAT_VERSION,
        }
    }

    /// Parses and validates bundle bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (version, payload) = ENVELOPE.open_since(bytes, 1)?;
        // Version 1: the GGUF container alone. Versions 2 and 3: its length,
        // the container, then the coded section.
        let (container, section) = if version == 1 {
            (payload, &payload[..0])
        } else {
            let len = payload
                .get(..8)
                .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .and_then(|len| usize::try_from(len).ok())
                .filter(|&len| len <= payload.len() - 8)
                .ok_or_else(|| Error::Malformed {
                    kind: FileKind::ModelBundle,
                    reason: "the container length runs past the payload".into(),
                })?;
            payload[8..].split_at(len)
        };
        let mut reader = Cursor::new(container);
        let content =
            gguf_file::Content::read(&mut reader).map_err(|e| Error::Container(e.to_string()))?;
        // Without a directory there must be no coded section.
        let directory_json = match content.metadata.get(KEY_CODED) {
            None => "[]".to_string(),
            Some(_) => metadata_string(&content, KEY_CODED)?,
        };
        let directory = Directory::parse(&directory_json, section.len(), version)?;
        let config = BertConfig::from_json(&metadata_string(&content, KEY_CONFIG)?)?;
        let expected = expected_tensors(&config);
        if let Some(stray) = directory
            .names()
            .find(|n| !expected.iter().any(|(name, _, _)| name == n))
        {
            return Err(Error::Malformed {
                kind: FileKind::ModelBundle,
                reason: format!("coded tensor `{stray}` is not part of the model"),
            });
        }

        let tokenizer_json = match content.metadata.get(KEY_VOCAB) {
            None => metadata_string(&content, KEY_TOKENIZER)?,
            Some(_) if version < VOCAB_SINCE => {
                return Err(Error::Malformed {
                    kind: FileKind::ModelBundle,
                    reason: format!("format version {version} cannot store the vocabulary apart"),
                })
            }
            Some(_) => stored_tokenizer::join(
                &metadata_string(&content, KEY_TOKENIZER)?,
                &metadata_string(&content, KEY_VOCAB)?,
            )?,
        };
        let quant = metadata_string(&content, KEY_QUANT)?
            .parse::<Quant>()
            .map_err(|e| Error::Metadata {
                key: KEY_QUANT,
                reason: e.to_string(),
            })?;
        let model_id = metadata_string(&content, KEY_MODEL_ID)?;

        let mut tensors = HashMap::new();
        for (name, shape, role) in expected {
            let coded = directory.get(&name);
            let (dims, dtype) = match (content.tensor_infos.get(&name), coded) {
                (Some(_), Some(_)) => {
                    return Err(Error::Malformed {
                        kind: FileKind::ModelBundle,
                        reason: format!("tensor `{name}` is stored twice"),
                    })
                }
                (Some(info), None) => (info.shape.dims().to_vec(), info.ggml_dtype),
                (None, Some(record)) => (record.dims.clone(), GgmlDType::Q8_0),
                (None, None) => return Err(Error::MissingTensor(name)),
            };
            if dims != shape {
                return Err(Error::TensorShape {
                    name,
                    expected: shape,
                    found: dims,
                });
            }
            let allowed = match role {
                Role::Matrix | Role::Positions => {
                    matches!(dtype, GgmlDType::F32 | GgmlDType::Q8_0)
                }
                Role::Table => matches!(dtype, GgmlDType::F32 | GgmlDType::Q8_0 | GgmlDType::Q5_1),
                Role::Dense => matches!(dtype, GgmlDType::F32 | GgmlDType::F16),
            };
            if !allowed {
                return Err(Error::TensorType {
                    name,
                    dtype: format!("{dtype:?}"),
                });
            }
            let tensor = match coded {
                Some(record) => coded_tensors::read(&name, record, &section[record.range.clone()])?,
                None => content
                    .tensor(&mut reader, &name, &Device::Cpu)
                    .map_err(|e| Error::Container(format!("tensor `{name}`: {e}")))?,
            };
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
            format_version: version,
        })
    }

    /// Serialises the bundle: header, then the payload (format [`FORMAT_VERSION`]).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.to_bytes_as(FORMAT_VERSION)
    }

    /// Serialises the bundle in format `version` (2 or later; tests write 2).
    fn to_bytes_as(&self, version: u32) -> Result<Vec<u8>> {
        let config = gguf_file::Value::String(self.config.to_json());
        let (tokenizer, vocab) = if version >= VOCAB_SINCE {
            stored_tokenizer::split(&self.tokenizer_json)?
        } else {
            (self.tokenizer_json.clone(), None)
        };
        let tokenizer = gguf_file::Value::String(tokenizer);
        let vocab = vocab.map(gguf_file::Value::String);
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
        // `Q8_0` tensors go to the coded section, the rest into the container.
        let (mut coded, mut plain) = (Vec::new(), Vec::new());
        for name in &names {
            let t = self
                .tensors
                .get(name)
                .ok_or_else(|| Error::MissingTensor(name.clone()))?;
            if t.dtype() == GgmlDType::Q8_0 {
                coded.push((name.as_str(), t));
            } else {
                plain.push((name.as_str(), t));
            }
        }
        let (directory, section) = coded_tensors::write(&coded, version)?;
        let directory = gguf_file::Value::String(directory);
        let mut metadata = metadata.to_vec();
        metadata.push((KEY_CODED, &directory));
        if let Some(vocab) = &vocab {
            metadata.push((KEY_VOCAB, vocab));
        }
        let mut container = Cursor::new(Vec::new());
        gguf_file::write(&mut container, &metadata, &plain)
            .map_err(|e| Error::Container(e.to_string()))?;
        let container = container.into_inner();
        let mut payload = Vec::with_capacity(8 + container.len() + section.len());
        payload.extend_from_slice(&(container.len() as u64).to_le_bytes());
        payload.extend(container);
        payload.extend(section);
        Ok(Envelope {
            version,
            ..ENVELOPE
        }
        .seal(&payload))
    }

    /// The format version the bundle was read in ([`FORMAT_VERSION`] if built
    /// here); [`to_bytes`](Self::to_bytes) always writes [`FORMAT_VERSION`].
    pub fn format_version(&self) -> u32 {
        self.format_version
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
    use crate::offline::calibrated::{ActivationMoments, Steps};
    use crate::testing::{tiny_bundle_bytes, tiny_config, tiny_weights};
    use std::num::NonZeroUsize;

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
        VERSION_1.seal(&payload.into_inner())
    }

    /// Version 1 bundles: the GGUF container alone as the payload.
    const VERSION_1: Envelope = Envelope {
        version: 1,
        ..ENVELOPE
    };

    #[test]
    fn missing_metadata_and_bad_quant_name() {
        let mut payload = Cursor::new(Vec::new());
        gguf_file::write(&mut payload, &[], &[]).unwrap();
        let err = ModelBundle::from_bytes(&VERSION_1.seal(&payload.into_inner())).unwrap_err();
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

    #[test]
    fn version_1_bundles_are_still_read() {
        let bundle = ModelBundle::from_bytes(&tiny_bundle_bytes(Quant::Int8, 5)).unwrap();
        let v1 = forge_config(&bundle);
        let read = ModelBundle::from_bytes(&v1).unwrap();
        assert_eq!(
            (read.format_version(), bundle.format_version()),
            (1, FORMAT_VERSION)
        );
        assert_eq!(read.to_bytes().unwrap(), bundle.to_bytes().unwrap());
    }

    #[test]
    fn version_2_bundles_are_still_read_and_may_not_leave_rows_out() {
        let v2 = Envelope {
            version: 2,
            ..ENVELOPE
        };
        for bundle in [
            pruned_bundle(Quant::Int8, true),
            pruned_bundle(Quant::F32, false),
        ] {
            let old = bundle.to_bytes_as(2).unwrap();
            let read = ModelBundle::from_bytes(&old).unwrap();
            assert_eq!(read.format_version(), 2);
            assert_eq!(read.to_bytes().unwrap(), bundle.to_bytes().unwrap());
            // What only version 3 may do, a version 2 file may not.
            let new = bundle.to_bytes().unwrap();
            let err = ModelBundle::from_bytes(&v2.seal(ENVELOPE.open(&new).unwrap())).unwrap_err();
            assert!(matches!(err, Error::Malformed { .. }), "{err}");
        }
    }

    /// A tiny bundle with a window past the tokenizer's and two word rows no
    /// text reaches: `[unused0]` and an id past the tokenizer's vocabulary.
    fn pruned_bundle(quant: Quant, calibrated: bool) -> ModelBundle {
        let mut json: serde_json::Value =
            serde_json::from_str(&crate::testing::tiny_tokenizer_json()).unwrap();
        let vocab = json["model"]["vocab"].as_object_mut().unwrap();
        let unused = vocab.len();
        vocab.insert("[unused0]".into(), serde_json::json!(unused));
        let mut config = tiny_config();
        config.vocab_size = unused + 2;
        config.max_position_embeddings = crate::model::tokenize::MAX_TOKENS + 20;
        let weights = tiny_weights(&config, 8);
        if !calibrated {
            return ModelBundle::from_weights(
                config,
                json.to_string(),
                &weights,
                quant,
                "t".into(),
            )
            .unwrap();
        }
        let texts = vec!["the quick brown fox".to_string(), "hello world".to_string()];
        let calibration = ActivationMoments::collect(
            &config,
            &json.to_string(),
            &weights,
            &texts,
            NonZeroUsize::MIN,
        )
        .unwrap();
        let steps = Steps::default();
        ModelBundle::from_weights_calibrated(
            config,
            json.to_string(),
            &weights,
            "t".into(),
            &calibration,
            steps,
        )
        .unwrap()
    }

    #[test]
    fn int8_bundles_leave_out_the_rows_no_text_reaches() {
        // Calibrated: word table and positions are Q8_0 (a plain int8 bundle's
        // word table is Q5_1, kept whole; its positions are left out as here).
        let int8 = pruned_bundle(Quant::Int8, true);
        let f32 = pruned_bundle(Quant::F32, false);
        let bytes = int8.to_bytes().unwrap();
        let back = ModelBundle::from_bytes(&bytes).unwrap();
        assert_eq!(back.to_bytes().unwrap(), bytes);
        let rows = |b: &ModelBundle, name: &str| -> Vec<bool> {
            let t = b.tensor(name).unwrap().dequantize(&Device::Cpu).unwrap();
            t.to_vec2::<f32>()
                .unwrap()
                .iter()
                .map(|row| row.iter().any(|&v| v != 0.0))
                .collect()
        };
        let words = rows(&back, "embeddings.word_embeddings.weight");
        let unused = words.len() - 2;
        assert!(
            words[..unused].iter().all(|&r| r),
            "reachable rows are kept"
        );
        assert_eq!(&words[unused..], [false, false]);
        let positions = rows(&back, "embeddings.position_embeddings.weight");
        let window = crate::model::tokenize::MAX_TOKENS;
        assert!(positions[..window].iter().all(|&r| r));
        assert!(
            positions[window..].iter().all(|&r| !r),
            "positions past the window"
        );
        // f32 bundles stay whole (the reference).
        assert!(rows(&f32, "embeddings.word_embeddings.weight")
            .iter()
            .all(|&r| r));
        assert!(rows(&f32, "embeddings.position_embeddings.weight")
            .iter()
            .all(|&r| r));
        // The int8 encoder still runs, a full window included.
        let encoder = crate::encoder::Encoder::from_bytes(&bytes).unwrap();
        let long = "good film ".repeat(400);
        for text in ["the film", long.as_str()] {
            let e = encoder.embed(text).unwrap();
            assert!(e.iter().all(|v| v.is_finite()), "{text}");
        }
    }

    /// Reseals `payload` (a version 3 payload) after `edit`.
    fn reseal(bytes: &[u8], edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let mut payload = ENVELOPE.open(bytes).unwrap().to_vec();
        edit(&mut payload);
        ENVELOPE.seal(&payload)
    }

    #[test]
    fn damaged_layout_behind_a_good_checksum_is_a_typed_error() {
        let bytes = tiny_bundle_bytes(Quant::Int8, 2);
        let container_len = {
            let p = ENVELOPE.open(&bytes).unwrap();
            u64::from_le_bytes(p[..8].try_into().unwrap()) as usize
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty payload", reseal(&bytes, |p| p.clear())),
            ("short length", reseal(&bytes, |p| p.truncate(5))),
            (
                "length past the end",
                reseal(&bytes, |p| p[..8].copy_from_slice(&u64::MAX.to_le_bytes())),
            ),
            (
                "coded section cut",
                reseal(&bytes, |p| p.truncate(p.len() - 3)),
            ),
            ("coded section grown", reseal(&bytes, |p| p.push(0))),
            (
                "coded integers flipped",
                reseal(&bytes, |p| {
                    let last = p.len() - 1;
                    p[last] ^= 0x55;
                }),
            ),
            (
                "coded frequency table flipped",
                reseal(&bytes, |p| {
                    // The first coded record is the position table's (the first
                    // Q8_0 tensor in canonical order): its scales, then the
                    // frequency table.
                    let c = tiny_config();
                    let at = 8 + container_len + 2 * c.max_position_embeddings * c.hidden_size / 32;
                    p[at] ^= 0x10;
                }),
            ),
        ];
        for (what, forged) in cases {
            match ModelBundle::from_bytes(&forged) {
                Err(
                    Error::Malformed { .. }
                    | Error::Container(_)
                    | Error::Truncated { .. }
                    | Error::MissingTensor(_),
                ) => {}
                other => panic!("{what}: {other:?}"),
            }
        }
    }
}
