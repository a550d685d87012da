//! The BERT forward pass over candle tensors, for bundles in int8 or f32.
//!
//! Follows Hugging Face `BertModel` (transformers `models/bert/modeling_bert.py`):
//! embeddings (word + position + token type 0, LayerNorm), then per layer
//! self-attention with a key-padding mask, residual + LayerNorm, a GELU (erf)
//! feed-forward, residual + LayerNorm. Int8 linear weights are dequantised once
//! at load (a batched f32 GEMM beats per-call int8 dequantisation here); the
//! word table stays int8 and rows are dequantised on lookup.

use candle_core::quantized::QTensor;
use candle_core::{DType, Device, Tensor, D};

use crate::model::bundle::ModelBundle;
use crate::model::config::BertConfig;
use crate::util::error::Result;

/// A token batch ready for the model: ids and a 0/1 mask, both `[batch, len]`.
pub(crate) struct TokenBatch {
    pub ids: Tensor,
    pub mask: Tensor,
}

impl TokenBatch {
    /// Pads `rows` to their longest with id 0 and mask 0.
    pub fn new(rows: &[&[u32]]) -> Result<Self> {
        let len = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        let mut ids = vec![0u32; rows.len() * len];
        let mut mask = vec![0f32; rows.len() * len];
        for (b, row) in rows.iter().enumerate() {
            ids[b * len..b * len + row.len()].copy_from_slice(row);
            mask[b * len..b * len + row.len()].fill(1.0);
        }
        Ok(Self {
            ids: Tensor::from_vec(ids, (rows.len(), len), &Device::Cpu)?,
            mask: Tensor::from_vec(mask, (rows.len(), len), &Device::Cpu)?,
        })
    }
}

/// y = x·Wᵀ + b, with W kept transposed (`[in, out]`) for the GEMM.
struct Linear {
    weight_t: Tensor,
    bias: Tensor,
}

impl Linear {
    fn load(bundle: &ModelBundle, prefix: &str) -> Result<Self> {
        let weight = bundle
            .tensor(&format!("{prefix}.weight"))?
            .dequantize(&Device::Cpu)?;
        Ok(Self {
            weight_t: weight.t()?.contiguous()?,
            bias: dense(bundle, &format!("{prefix}.bias"))?,
        })
    }

    /// `x` is `[tokens, in]`.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(&self.weight_t)?.broadcast_add(&self.bias)?)
    }
}

struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl LayerNorm {
    fn load(bundle: &ModelBundle, prefix: &str, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: dense(bundle, &format!("{prefix}.weight"))?,
            bias: dense(bundle, &format!("{prefix}.bias"))?,
            eps: eps as f32,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::ops::layer_norm(
            x,
            &self.weight,
            &self.bias,
            self.eps,
        )?)
    }
}

/// A dense (f32) tensor of the bundle, dequantised if stored otherwise.
pub(crate) fn dense(bundle: &ModelBundle, name: &str) -> Result<Tensor> {
    Ok(bundle.tensor(name)?.dequantize(&Device::Cpu)?)
}

/// Word + position + token-type embeddings, then LayerNorm.
/// (transformers: `BertEmbeddings`)
struct EmbeddingLayer {
    words: QTensor,
    positions: Tensor,
    token_type0: Tensor,
    norm: LayerNorm,
}

impl EmbeddingLayer {
    fn load(bundle: &mut ModelBundle, config: &BertConfig) -> Result<Self> {
        // The table stays in its stored form (int8 or f32); rows are dequantised on lookup.
        let words = bundle.take_tensor("embeddings.word_embeddings.weight")?;
        let types = dense(bundle, "embeddings.token_type_embeddings.weight")?;
        Ok(Self {
            words,
            positions: dense(bundle, "embeddings.position_embeddings.weight")?,
            token_type0: types.get(0)?,
            norm: LayerNorm::load(bundle, "embeddings.LayerNorm", config.layer_norm_eps)?,
        })
    }

    /// `ids` is `[batch, len]`; returns `[batch * len, hidden]`.
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let (batch, len) = ids.dims2()?;
        let words = self.words.embedding(&ids.flatten_all()?)?; // [b*l, h]
        let hidden = words.dim(1)?;
        let words = words.reshape((batch, len, hidden))?;
        let positions = self.positions.narrow(0, 0, len)?.unsqueeze(0)?;
        let x = words
            .broadcast_add(&positions)?
            .broadcast_add(&self.token_type0)?
            .reshape((batch * len, hidden))?;
        self.norm.forward(&x)
    }
}

/// One transformer layer. (transformers: `BertLayer`)
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    up: Linear,
    down: Linear,
    out_norm: LayerNorm,
    heads: usize,
    head_dim: usize,
}

impl Layer {
    fn load(bundle: &ModelBundle, config: &BertConfig, index: usize) -> Result<Self> {
        let p = format!("encoder.layer.{index}");
        let eps = config.layer_norm_eps;
        Ok(Self {
            query: Linear::load(bundle, &format!("{p}.attention.self.query"))?,
            key: Linear::load(bundle, &format!("{p}.attention.self.key"))?,
            value: Linear::load(bundle, &format!("{p}.attention.self.value"))?,
            attn_out: Linear::load(bundle, &format!("{p}.attention.output.dense"))?,
            attn_norm: LayerNorm::load(bundle, &format!("{p}.attention.output.LayerNorm"), eps)?,
            up: Linear::load(bundle, &format!("{p}.intermediate.dense"))?,
            down: Linear::load(bundle, &format!("{p}.output.dense"))?,
            out_norm: LayerNorm::load(bundle, &format!("{p}.output.LayerNorm"), eps)?,
            heads: config.num_attention_heads,
            head_dim: config.head_dim(),
        })
    }

    /// `x` is `[batch * len, hidden]`; `mask_bias` is `[batch, 1, 1, len]`.
    fn forward(&self, x: &Tensor, batch: usize, len: usize, mask_bias: &Tensor) -> Result<Tensor> {
        let split_heads = |t: Tensor| -> Result<Tensor> {
            Ok(t.reshape((batch, len, self.heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let q = split_heads(self.query.forward(x)?)?;
        let k = split_heads(self.key.forward(x)?)?;
        let v = split_heads(self.value.forward(x)?)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(mask_bias)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((batch * len, self.heads * self.head_dim))?;
        let x = self
            .attn_norm
            .forward(&(self.attn_out.forward(&context)? + x)?)?;
        let inner = self.up.forward(&x)?.gelu_erf()?;
        self.out_norm.forward(&(self.down.forward(&inner)? + x)?)
    }
}

/// The BERT encoder stack: token ids in, one hidden state per token out.
pub(crate) struct BertModel {
    embeddings: EmbeddingLayer,
    layers: Vec<Layer>,
    hidden: usize,
}

impl BertModel {
    /// Builds the model from a validated bundle.
    pub fn load(mut bundle: ModelBundle) -> Result<Self> {
        let config = bundle.config().clone();
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::load(&bundle, &config, i))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embeddings: EmbeddingLayer::load(&mut bundle, &config)?,
            layers,
            hidden: config.hidden_size,
        })
    }

    /// Hidden states `[batch, len, hidden]` for a padded batch.
    pub fn forward(&self, batch: &TokenBatch) -> Result<Tensor> {
        let (b, len) = batch.ids.dims2()?;
        // 0 where a key is a real token, a large negative number where it is padding.
        let mask_bias =
            ((batch.mask.ones_like()? - &batch.mask)? * -1e9)?.reshape((b, 1, 1, len))?;
        let mut x = self.embeddings.forward(&batch.ids)?;
        for layer in &self.layers {
            x = layer.forward(&x, b, len, &mask_bias)?;
        }
        Ok(x.reshape((b, len, self.hidden))?)
    }
}

/// Mean over the real tokens (mask 1), then L2-normalised: `[batch, hidden]`.
pub(crate) fn mean_pool_normalised(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // [b, l, 1]
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // [b, h]
    let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?; // [b, 1]
    let mean = summed.broadcast_div(&counts)?;
    let norms = mean
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12, f64::MAX)?;
    Ok(mean.broadcast_div(&norms)?)
}
