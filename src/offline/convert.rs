//! Converting f32 weights (as read from a `model.safetensors`) into a model
//! bundle: each tensor checked against the config, quantised by its role, and
//! for a calibrated bundle rounded by GPTQ ([`crate::offline::calibrated`]).
//! The container itself is [`crate::model::bundle`].

use std::collections::HashMap;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use crate::model::bundle::{expected_tensors, ModelBundle, Quant, Role};
use crate::model::config::BertConfig;
use crate::model::tokenize::TextTokenizer;
use crate::offline::calibrated::{round_table, ActivationMoments, Steps};
use crate::util::error::{Error, Result};

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
        Self::build(config, tokenizer_json, weights, quant, model_id, None)
    }

    /// Builds an `int8` bundle whose linear weights are rounded by GPTQ against
    /// `calibration` and whose word table is rounded per row, both at `steps`
    /// (see [`crate::offline::calibrated`]): all `Q8_0`, readable by every reader of
    /// `int8` bundles, and about a fifth smaller once gzipped.
    pub fn from_weights_calibrated(
        config: BertConfig,
        tokenizer_json: String,
        weights: &HashMap<String, Tensor>,
        model_id: String,
        calibration: &ActivationMoments,
        steps: Steps,
    ) -> Result<Self> {
        steps.validate()?;
        Self::build(
            config,
            tokenizer_json,
            weights,
            Quant::Int8,
            model_id,
            Some((calibration, steps)),
        )
    }

    fn build(
        config: BertConfig,
        tokenizer_json: String,
        weights: &HashMap<String, Tensor>,
        quant: Quant,
        model_id: String,
        calibrated: Option<(&ActivationMoments, Steps)>,
    ) -> Result<Self> {
        config.validate()?;
        // Fail now, not at load time, on a tokenizer we cannot use.
        let tokenizer = TextTokenizer::from_json(&tokenizer_json, &config)?;
        // An int8 bundle zeroes the table rows no text reaches, which the
        // coded section then leaves out; f32 bundles stay whole.
        let reachable_words = match quant {
            Quant::Int8 => Some(tokenizer.reachable_ids(config.vocab_size)?),
            Quant::F32 => None,
        };
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
            let dtype = match (role, calibrated) {
                (Role::Matrix | Role::Positions, _) => quant.ggml_dtype(),
                (Role::Table, None) => quant.table_dtype(),
                (Role::Table, Some(_)) => GgmlDType::Q8_0,
                (Role::Dense, _) => quant.dense_dtype(),
            };
            if !shape[shape.len() - 1].is_multiple_of(dtype.block_size()) {
                return Err(Error::Config(format!(
                    "`{name}` has rows of {} values, not a multiple of the {}-value int8 block",
                    shape[shape.len() - 1],
                    dtype.block_size()
                )));
            }
            let stored = match (role, calibrated) {
                (Role::Matrix, Some((calibration, steps))) => {
                    calibration.round_linear(&name, &tensor, steps.for_linear(&name))?
                }
                (Role::Table, Some((_, steps))) => round_table(&tensor, steps.table)?,
                // Every token reads a position row: the linears' finer step.
                (Role::Positions, Some((_, steps))) => round_table(&tensor, steps.linear)?,
                _ => QTensor::quantize(&tensor, dtype)?,
            };
            let stored = match (role, &reachable_words) {
                (Role::Table, Some(reachable)) => zero_rows(stored, |row| !reachable[row])?,
                (Role::Positions, Some(_)) => zero_rows(stored, |row| row >= tokenizer.max_len())?,
                _ => stored,
            };
            tensors.insert(name, stored);
        }
        Ok(Self::from_parts(
            config,
            tokenizer_json,
            tokenizer,
            quant,
            model_id,
            tensors,
        ))
    }
}

/// The GGML type each role of tensor is stored as, per bundle kind.
impl Quant {
    /// Linear weights and the position table.
    fn ggml_dtype(self) -> GgmlDType {
        match self {
            Quant::Int8 => GgmlDType::Q8_0,
            Quant::F32 => GgmlDType::F32,
        }
    }

    /// LayerNorm parameters, biases and the token-type table: f16 in int8
    /// bundles (half the bytes; ≈ 5e-4 relative error, far below the
    /// integers'), f32 in the reference.
    fn dense_dtype(self) -> GgmlDType {
        match self {
            Quant::Int8 => GgmlDType::F16,
            Quant::F32 => GgmlDType::F32,
        }
    }

    /// The word-embedding table (uncalibrated bundles).
    fn table_dtype(self) -> GgmlDType {
        match self {
            Quant::Int8 => GgmlDType::Q5_1,
            Quant::F32 => GgmlDType::F32,
        }
    }
}

/// `tensor` with the rows `unreachable` picks set to zero, if it is `Q8_0`
/// (scales and integers zero, so the coded section leaves them out).
fn zero_rows(tensor: QTensor, unreachable: impl Fn(usize) -> bool) -> Result<QTensor> {
    if tensor.dtype() != GgmlDType::Q8_0 {
        return Ok(tensor);
    }
    let dims = tensor.shape().dims().to_vec();
    let cols = dims.last().copied().unwrap_or(0);
    let row_bytes = cols / crate::cpu::gemm::BLOCK * crate::cpu::gemm::Q8_0_BLOCK_BYTES;
    if row_bytes == 0 {
        return Ok(tensor);
    }
    let mut data = tensor.data()?.into_owned();
    for (row, bytes) in data.chunks_exact_mut(row_bytes).enumerate() {
        if unreachable(row) {
            bytes.fill(0);
        }
    }
    Ok(candle_core::quantized::ggml_file::qtensor_from_ggml(
        GgmlDType::Q8_0,
        &data,
        dims,
        &Device::Cpu,
    )?)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;

    use super::*;
    use crate::testing::{tiny_config, tiny_weights};

    #[test]
    fn a_calibrated_bundle_is_q8_0_within_seven_bits_and_close_to_f32() {
        use crate::encoder::reference::{mean_pool_normalised, BertModel, TokenBatch};
        let config = tiny_config();
        let weights = tiny_weights(&config, 9);
        let tokenizer = crate::testing::tiny_tokenizer_json();
        let texts: Vec<String> = ["hello world", "a b c d e f", "the quick brown fox", "zz"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let calibration =
            ActivationMoments::collect(&config, &tokenizer, &weights, &texts, NonZeroUsize::MIN)
                .unwrap();
        assert_eq!(calibration.texts(), 4);
        let built = ModelBundle::from_weights_calibrated(
            config.clone(),
            tokenizer.clone(),
            &weights,
            "t".into(),
            &calibration,
            Steps {
                linear: 0.02,
                query_key: 0.02,
                table: 0.02,
            },
        )
        .unwrap();
        let bytes = built.to_bytes().unwrap();
        let bundle = ModelBundle::from_bytes(&bytes).unwrap();
        assert_eq!(bundle.to_bytes().unwrap(), bytes, "byte-identical again");
        for (name, _, role) in expected_tensors(&config) {
            let t = bundle.tensor(&name).unwrap();
            match role {
                Role::Matrix => {
                    assert_eq!(t.dtype(), GgmlDType::Q8_0, "{name}");
                    let data = t.data().unwrap();
                    for block in data.chunks_exact(34) {
                        assert!(block[2..].iter().all(|&q| (q as i8).unsigned_abs() <= 63));
                    }
                }
                Role::Table | Role::Positions => assert_eq!(t.dtype(), GgmlDType::Q8_0),
                Role::Dense => assert_eq!(t.dtype(), GgmlDType::F16),
            }
        }
        let embed = |b: ModelBundle| {
            let ids = b.tokenizer().encode("the quick brown fox").unwrap();
            let batch = TokenBatch::new(&[ids.as_slice()]).unwrap();
            let model = BertModel::load(b).unwrap();
            let h = model.forward(&batch).unwrap();
            mean_pool_normalised(&h, &batch.mask)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        let f32 = ModelBundle::from_weights(config, tokenizer, &weights, Quant::F32, "t".into());
        let (a, b) = (embed(bundle), embed(f32.unwrap()));
        let cosine: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!(cosine > 0.999, "calibrated vs f32: {cosine}");

        let bad = Steps {
            linear: -1.0,
            ..Steps::default()
        };
        let err = ModelBundle::from_weights_calibrated(
            tiny_config(),
            crate::testing::tiny_tokenizer_json(),
            &weights,
            "t".into(),
            &calibration,
            bad,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
    }
}
