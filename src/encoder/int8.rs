//! The BERT forward pass for int8 bundles, on the int8 GEMM and vectorised row maths.
//!
//! Same model as [`crate::encoder::reference`] (Hugging Face `BertModel`), computed without
//! padding: the texts of a batch are laid end to end as one `[tokens, hidden]`
//! matrix, so the linear layers (query, key and value fused into one
//! `hidden → 3·hidden` GEMM) see every real token once, and attention runs per
//! text over its own tokens only. Mean pooling and L2 normalisation close it.

use candle_core::quantized::GgmlDType;
use candle_core::{Device, Tensor};

use crate::cpu::gemm::{PackedLinear, QuantizedRows, Scheme};
use crate::cpu::ops::{self, MatRef};
use crate::cpu::score::Kernel;
use crate::model::bundle::ModelBundle;
use crate::model::config::BertConfig;
use crate::util::error::{Error, Result};

/// LayerNorm parameters.
pub(crate) struct Norm {
    pub(crate) gamma: Vec<f32>,
    pub(crate) beta: Vec<f32>,
}

impl Norm {
    fn load(bundle: &ModelBundle, prefix: &str) -> Result<Self> {
        Ok(Self {
            gamma: dense(bundle, &format!("{prefix}.weight"))?,
            beta: dense(bundle, &format!("{prefix}.bias"))?,
        })
    }
}

fn dense(bundle: &ModelBundle, name: &str) -> Result<Vec<f32>> {
    Ok(crate::encoder::reference::dense(bundle, name)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}

/// `Q8_0` bytes of one or more weight matrices, stacked by output.
fn q8_0_rows(bundle: &ModelBundle, names: &[String]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for name in names {
        let t = bundle.tensor(&format!("{name}.weight"))?;
        if t.dtype() != GgmlDType::Q8_0 {
            return Err(Error::TensorType {
                name: format!("{name}.weight"),
                dtype: format!("{:?} (the int8 forward needs Q8_0)", t.dtype()),
            });
        }
        out.extend_from_slice(&t.data()?);
    }
    Ok(out)
}

/// Packs the named linear layers, stacked by output, into one GEMM.
fn linear(
    bundle: &ModelBundle,
    names: &[String],
    outputs: usize,
    inputs: usize,
    scheme: Scheme,
) -> Result<PackedLinear> {
    let mut bias = Vec::with_capacity(outputs);
    for name in names {
        bias.extend(dense(bundle, &format!("{name}.bias"))?);
    }
    PackedLinear::pack(&q8_0_rows(bundle, names)?, outputs, inputs, bias, scheme)
}

/// The four linear products of a transformer layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LayerLinear {
    /// Query, key and value (one fused product).
    Qkv,
    /// `attention.output.dense`.
    AttentionOutput,
    /// `intermediate.dense`.
    Up,
    /// `output.dense`.
    Down,
}

/// The linear products the [`Scheme::Narrow`] model runs on the wide product
/// instead, in every layer: query/key/value. Their input is the LayerNorm
/// output, whose few large channels (LayerNorm gains) flatten the 8-bit
/// activations of their blocks; on the other products the narrow activations
/// cost little. Measured on 1,368 held-out texts against the f32 model
/// (benches/README.md, "Narrow product plan", 2026-12-02): all narrow, min
/// cosine 0.99414 (3 texts under 0.995); query/key/value wide, 0.99536 (none);
/// attention output wide 0.99389; feed-forward input wide 0.99472; any one
/// product of one layer wide, at most 0.99469. It costs a quarter of the
/// multiply-adds at the wide product's rate.
pub const NARROW_KEEPS_WIDE: &[LayerLinear] = &[LayerLinear::Qkv];

/// Which product `linear` (of any layer) runs under `scheme`.
pub(crate) fn planned_scheme(scheme: Scheme, linear: LayerLinear) -> Scheme {
    match scheme {
        Scheme::Narrow if NARROW_KEEPS_WIDE.contains(&linear) => Scheme::Wide,
        other => other,
    }
}

/// One transformer layer.
pub(crate) struct Layer {
    pub(crate) qkv: PackedLinear,
    pub(crate) attn_out: PackedLinear,
    pub(crate) attn_norm: Norm,
    pub(crate) up: PackedLinear,
    pub(crate) down: PackedLinear,
    pub(crate) out_norm: Norm,
}

impl Layer {
    fn load(
        bundle: &ModelBundle,
        config: &BertConfig,
        index: usize,
        scheme: &dyn Fn(usize, LayerLinear) -> Scheme,
    ) -> Result<Self> {
        let p = format!("encoder.layer.{index}");
        let (h, i) = (config.hidden_size, config.intermediate_size);
        let qkv = ["query", "key", "value"].map(|n| format!("{p}.attention.self.{n}"));
        let s = |linear| scheme(index, linear);
        Ok(Self {
            qkv: linear(bundle, &qkv, 3 * h, h, s(LayerLinear::Qkv))?,
            attn_out: linear(
                bundle,
                &[format!("{p}.attention.output.dense")],
                h,
                h,
                s(LayerLinear::AttentionOutput),
            )?,
            attn_norm: Norm::load(bundle, &format!("{p}.attention.output.LayerNorm"))?,
            up: linear(
                bundle,
                &[format!("{p}.intermediate.dense")],
                i,
                h,
                s(LayerLinear::Up),
            )?,
            down: linear(
                bundle,
                &[format!("{p}.output.dense")],
                h,
                i,
                s(LayerLinear::Down),
            )?,
            out_norm: Norm::load(bundle, &format!("{p}.output.LayerNorm"))?,
        })
    }
}

/// Working buffers for one forward pass.
#[derive(Default)]
struct Scratch {
    quantized: QuantizedRows,
    qkv: Vec<f32>,
    context: Vec<f32>,
    projected: Vec<f32>,
    inner: Vec<f32>,
    attention: AttentionScratch,
}

/// The int8 BERT encoder: token ids in, pooled unit vectors out.
pub(crate) struct Int8Bert {
    words: candle_core::quantized::QTensor,
    positions: Vec<f32>,
    token_type0: Vec<f32>,
    embed_norm: Norm,
    pub(crate) layers: Vec<Layer>,
    pub(crate) hidden: usize,
    pub(crate) heads: usize,
    pub(crate) head_dim: usize,
    max_positions: usize,
    pub(crate) eps: f32,
    kernel: Kernel,
    scheme: Scheme,
}

impl Int8Bert {
    /// Builds the model from a validated int8 bundle (linear weights `Q8_0`)
    /// for this build's GEMM [`Scheme`].
    #[cfg(test)]
    pub fn load(bundle: ModelBundle) -> Result<Self> {
        Self::load_for(bundle, Scheme::for_build())
    }

    /// Builds the model for a given GEMM scheme (tests run both natively);
    /// under [`Scheme::Narrow`] the products of [`NARROW_KEEPS_WIDE`] stay wide.
    #[cfg(test)]
    pub fn load_for(bundle: ModelBundle, scheme: Scheme) -> Result<Self> {
        Self::load_planned(bundle, scheme, &|_layer, linear| {
            planned_scheme(scheme, linear)
        })
    }

    /// Builds the model with each linear product on the scheme `plan` gives
    /// (measuring a plan; `scheme` is what the model reports).
    pub fn load_planned(
        mut bundle: ModelBundle,
        scheme: Scheme,
        plan: &dyn Fn(usize, LayerLinear) -> Scheme,
    ) -> Result<Self> {
        let config = bundle.config().clone();
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::load(&bundle, &config, i, plan))
            .collect::<Result<Vec<_>>>()?;
        let types = dense(&bundle, "embeddings.token_type_embeddings.weight")?;
        Ok(Self {
            positions: dense(&bundle, "embeddings.position_embeddings.weight")?,
            token_type0: types[..config.hidden_size].to_vec(),
            embed_norm: Norm::load(&bundle, "embeddings.LayerNorm")?,
            words: bundle.take_tensor("embeddings.word_embeddings.weight")?,
            layers,
            hidden: config.hidden_size,
            heads: config.num_attention_heads,
            head_dim: config.head_dim(),
            // The tokenizer's window: an int8 bundle zeroes the positions past it.
            max_positions: bundle.tokenizer().max_len(),
            eps: config.layer_norm_eps as f32,
            kernel: Kernel::detect(),
            scheme,
        })
    }

    /// The GEMM scheme this model runs.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Uses this kernel instead of the detected one (tests compare them).
    #[cfg(test)]
    pub fn with_kernel(mut self, kernel: Kernel) -> Self {
        self.kernel = kernel;
        self
    }

    /// Embeddings (mean-pooled, L2-normalised) of token rows: `rows.len() × hidden`.
    /// Every row must be non-empty and no longer than the position table.
    pub fn embed(&self, rows: &[&[u32]]) -> Result<Vec<f32>> {
        let h = self.hidden;
        let mut x = self.embeddings(rows)?;
        let mut scratch = Scratch::default();
        for layer in &self.layers {
            self.layer(layer, rows, &mut x, &mut scratch)?;
        }
        let mut out = vec![0f32; rows.len() * h];
        let mut start = 0;
        for (row, pooled) in rows.iter().zip(out.chunks_exact_mut(h)) {
            for token in x[start * h..(start + row.len()) * h].chunks_exact(h) {
                ops::add_in_place(pooled, token);
            }
            start += row.len();
            let norm = ops::dot(pooled, pooled).sqrt().max(1e-12);
            pooled.iter_mut().for_each(|v| *v /= norm);
        }
        Ok(out)
    }

    /// Word + position + token-type embeddings, LayerNorm: `[tokens, hidden]`.
    /// Every row must be non-empty and no longer than the position table.
    pub(crate) fn embeddings(&self, rows: &[&[u32]]) -> Result<Vec<f32>> {
        let h = self.hidden;
        if let Some(bad) = rows
            .iter()
            .find(|r| r.is_empty() || r.len() > self.max_positions)
        {
            return Err(Error::InvalidInput {
                what: "token row",
                reason: format!("{} tokens (allowed 1..={})", bad.len(), self.max_positions),
            });
        }
        let ids: Vec<u32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        let ids = Tensor::from_vec(
            ids,
            rows.iter().map(|r| r.len()).sum::<usize>(),
            &Device::Cpu,
        )?;
        let mut x = self
            .words
            .embedding(&ids)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let mut start = 0;
        for row in rows {
            for (pos, token) in x[start * h..(start + row.len()) * h]
                .chunks_exact_mut(h)
                .enumerate()
            {
                ops::add_in_place(token, &self.positions[pos * h..(pos + 1) * h]);
                ops::add_in_place(token, &self.token_type0);
            }
            start += row.len();
        }
        ops::layer_norm_rows(
            &mut x,
            &self.embed_norm.gamma,
            &self.embed_norm.beta,
            self.eps,
        );
        Ok(x)
    }

    fn layer(&self, layer: &Layer, rows: &[&[u32]], x: &mut [f32], s: &mut Scratch) -> Result<()> {
        let h = self.hidden;
        s.quantized.quantize_for(layer.qkv.scheme(), x, h);
        layer.qkv.forward(self.kernel, &s.quantized, &mut s.qkv)?;
        self.attention(rows, s);
        s.quantized
            .quantize_for(layer.attn_out.scheme(), &s.context, h);
        layer
            .attn_out
            .forward(self.kernel, &s.quantized, &mut s.projected)?;
        ops::add_in_place(x, &s.projected);
        ops::layer_norm_rows(x, &layer.attn_norm.gamma, &layer.attn_norm.beta, self.eps);

        s.quantized.quantize_for(layer.up.scheme(), x, h);
        layer.up.forward(self.kernel, &s.quantized, &mut s.inner)?;
        ops::gelu_in_place(&mut s.inner);
        s.quantized
            .quantize_for(layer.down.scheme(), &s.inner, layer.up.outputs());
        layer
            .down
            .forward(self.kernel, &s.quantized, &mut s.projected)?;
        ops::add_in_place(x, &s.projected);
        ops::layer_norm_rows(x, &layer.out_norm.gamma, &layer.out_norm.beta, self.eps);
        Ok(())
    }

    /// Scaled dot-product attention per text and head, from `s.qkv` into `s.context`.
    fn attention(&self, rows: &[&[u32]], s: &mut Scratch) {
        attention(
            &s.qkv,
            rows.iter().map(|r| r.len()),
            self.heads,
            self.head_dim,
            &mut s.context,
            &mut s.attention,
        );
    }
}

/// Buffers reused by [`attention`] between calls.
#[derive(Default)]
pub(crate) struct AttentionScratch {
    scores: Vec<f32>,
    keys_t: Vec<f32>,
}

/// Scaled dot-product attention per text and head: `qkv` is `[tokens, 3·hidden]`
/// (queries, keys, values of texts laid end to end, of lengths `lens`), the
/// result `[tokens, hidden]` goes to `context`. Fixed-order f32 maths on
/// [`ops`]: the same bits on every CPU of an architecture.
pub(crate) fn attention(
    qkv: &[f32],
    lens: impl Iterator<Item = usize>,
    heads: usize,
    d: usize,
    context: &mut Vec<f32>,
    s: &mut AttentionScratch,
) {
    let h = heads * d;
    let stride = 3 * h;
    let scale = 1.0 / (d as f32).sqrt();
    context.clear();
    context.resize(qkv.len() / 3, 0.0);
    let mut start = 0;
    for len in lens {
        // Score rows are padded to a whole number of matmul tiles: the spare
        // columns see zero keys, are never read, and keep QKᵀ on the vector path.
        let padded = len.next_multiple_of(ops::TILE_N);
        let qkv = &qkv[start * stride..(start + len) * stride];
        // Every score QKᵀ writes is overwritten: no need to clear.
        s.scores.resize(len * padded, 0.0);
        s.keys_t.clear();
        s.keys_t.resize(d * padded, 0.0);
        for head in 0..heads {
            let (qo, ko, vo) = (head * d, h + head * d, 2 * h + head * d);
            // Keys of this head transposed to [d][padded]: scores = Q·Kᵀ is
            // then a plain row-major product.
            for (j, token) in qkv.chunks_exact(stride).enumerate() {
                for (e, &k) in token[ko..ko + d].iter().enumerate() {
                    s.keys_t[e * padded + j] = k * scale;
                }
            }
            let queries = MatRef {
                data: &qkv[qo..],
                stride,
            };
            let keys_t = MatRef {
                data: &s.keys_t,
                stride: padded,
            };
            ops::matmul(queries, keys_t, &mut s.scores, padded, len, padded, d);
            for row in s.scores.chunks_exact_mut(padded) {
                ops::softmax_in_place(&mut row[..len]);
            }
            let probs = MatRef {
                data: &s.scores,
                stride: padded,
            };
            let values = MatRef {
                data: &qkv[vo..],
                stride,
            };
            let out = &mut context[start * h + qo..];
            ops::matmul(probs, values, out, h, len, d, len);
        }
        start += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::reference::{mean_pool_normalised, BertModel, TokenBatch};
    use crate::model::bundle::Quant;
    use crate::testing::tiny_bundle;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn matches_the_candle_forward_on_the_same_int8_weights() {
        let int8 = Int8Bert::load(tiny_bundle(Quant::Int8, 3)).unwrap();
        let reference = BertModel::load(tiny_bundle(Quant::Int8, 3)).unwrap();
        let rows: Vec<Vec<u32>> = vec![
            vec![2, 7, 9, 3],
            vec![2, 3],
            vec![2, 5, 6, 7, 8, 9, 10, 11, 12, 3],
        ];
        let refs: Vec<&[u32]> = rows.iter().map(|r| r.as_slice()).collect();
        let batch = TokenBatch::new(&refs).unwrap();
        let expected = mean_pool_normalised(&reference.forward(&batch).unwrap(), &batch.mask)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let kernels = Kernel::available();
        // The narrow product trades precision for speed: 7-bit weights, 8-bit activations.
        for (scheme, bound) in [(Scheme::Wide, 0.9999), (Scheme::Narrow, 0.999)] {
            for &kernel in &kernels {
                let model = Int8Bert::load_for(tiny_bundle(Quant::Int8, 3), scheme)
                    .unwrap()
                    .with_kernel(kernel);
                assert_eq!(model.scheme(), scheme);
                let got = model.embed(&refs).unwrap();
                for (i, e) in expected.iter().enumerate() {
                    let c = cosine(&got[i * e.len()..(i + 1) * e.len()], e);
                    assert!(c > bound, "{scheme:?} {kernel:?} row {i}: cosine {c}");
                }
            }
        }
        // A text alone equals the same text in a batch (no padding, no cross-talk).
        let solo = int8.embed(&refs[2..]).unwrap();
        let batch = int8.embed(&refs).unwrap();
        assert!(cosine(&solo, &batch[2 * solo.len()..]) > 0.99999);
    }

    #[test]
    fn rejects_empty_and_overlong_rows() {
        let model = Int8Bert::load(tiny_bundle(Quant::Int8, 3)).unwrap();
        assert!(model.embed(&[&[]]).is_err());
        let long = vec![5u32; 10_000];
        assert!(model.embed(&[&long]).is_err());
        assert!(model.embed(&[]).unwrap().is_empty());
    }

    #[test]
    fn f32_bundles_are_refused() {
        assert!(matches!(
            Int8Bert::load(tiny_bundle(Quant::F32, 3)),
            Err(Error::TensorType { .. })
        ));
    }
}
