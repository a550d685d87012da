//! The f32 BERT forward that calibration observes: every linear layer's input,
//! computed the same way on every CPU.
//!
//! GPTQ's rounding depends on the second moments of these inputs, and a bundle
//! must come out byte-identical wherever it is built. So this forward runs
//! only fixed-order f32 maths of our own ([`crate::cpu::ops`]: 4 × 8 register
//! tiles, eight-lane reductions, `exp` and `erf` without libm) — no
//! run-time ISA dispatch, no cache-size-dependent blocking and no
//! thread-dependent split, all of which a general GEMM library (candle's
//! `gemm`) uses and which change the last bits of a sum.

use std::collections::HashMap;

use candle_core::Tensor;

use crate::cpu::ops::{self, MatRef};
use crate::encoder::int8::{attention, AttentionScratch};
use crate::model::config::BertConfig;
use crate::util::error::{Error, Result};

/// Which linear layers of a transformer layer one input feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum LinearInput {
    /// The layer's input: query, key and value.
    Attention,
    /// The attention context: `attention.output.dense`.
    AttentionOutput,
    /// The normalised attention output: `intermediate.dense`.
    Intermediate,
    /// The GELU output: `output.dense`.
    Output,
}

impl LinearInput {
    /// All four, in the order a layer computes them.
    pub const ALL: [Self; 4] = [
        Self::Attention,
        Self::AttentionOutput,
        Self::Intermediate,
        Self::Output,
    ];

    /// The input of the linear layer named `suffix` within a layer
    /// (`attention.self.query`, …, `output.dense`), if it is one.
    pub fn of(suffix: &str) -> Option<Self> {
        match suffix {
            "attention.self.query" | "attention.self.key" | "attention.self.value" => {
                Some(Self::Attention)
            }
            "attention.output.dense" => Some(Self::AttentionOutput),
            "intermediate.dense" => Some(Self::Intermediate),
            "output.dense" => Some(Self::Output),
            _ => None,
        }
    }
}

/// `y = x·Wᵀ + b` with `Wᵀ` stored row-major as `[inputs][outputs]`.
struct Linear {
    weight_t: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

impl Linear {
    /// Stacks the named layers' weights by output (query, key, value → one).
    fn load(weights: &Weights, names: &[String]) -> Result<Self> {
        let mut rows = Vec::new();
        let mut bias = Vec::new();
        let mut inputs = 0;
        for name in names {
            let (w, dims) = weights.get(&format!("{name}.weight"))?;
            let [_, inp] = dims[..] else {
                return Err(Error::Config(format!("`{name}.weight` is not a matrix")));
            };
            inputs = inp;
            rows.extend(w.chunks_exact(inp).map(<[f32]>::to_vec));
            bias.extend(weights.get(&format!("{name}.bias"))?.0);
        }
        let outputs = rows.len();
        if bias.len() != outputs {
            return Err(Error::Config(format!(
                "{} has {outputs} outputs and {} biases",
                names.join(" + "),
                bias.len()
            )));
        }
        let mut weight_t = vec![0f32; inputs * outputs];
        for (o, row) in rows.iter().enumerate() {
            for (i, &v) in row.iter().enumerate() {
                weight_t[i * outputs + o] = v;
            }
        }
        Ok(Self {
            weight_t,
            bias,
            inputs,
            outputs,
        })
    }

    /// `y` (resized to `tokens × outputs`) = `x·Wᵀ + b`.
    fn forward(&self, x: &[f32], y: &mut Vec<f32>) {
        let tokens = x.len() / self.inputs;
        y.clear();
        y.resize(tokens * self.outputs, 0.0);
        let a = MatRef {
            data: x,
            stride: self.inputs,
        };
        let b = MatRef {
            data: &self.weight_t,
            stride: self.outputs,
        };
        ops::matmul(a, b, y, self.outputs, tokens, self.outputs, self.inputs);
        for row in y.chunks_exact_mut(self.outputs) {
            ops::add_in_place(row, &self.bias);
        }
    }
}

/// The f32 weights by Hugging Face name (a leading `bert.` accepted).
struct Weights<'a>(&'a HashMap<String, Tensor>);

impl Weights<'_> {
    fn get(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
        let t = self
            .0
            .get(name)
            .or_else(|| self.0.get(&format!("bert.{name}")))
            .ok_or_else(|| Error::MissingTensor(name.to_string()))?;
        let dims = t.dims().to_vec();
        let values = t
            .to_dtype(candle_core::DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        Ok((values, dims))
    }
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

impl Norm {
    fn load(weights: &Weights, prefix: &str) -> Result<Self> {
        Ok(Self {
            gamma: weights.get(&format!("{prefix}.weight"))?.0,
            beta: weights.get(&format!("{prefix}.bias"))?.0,
        })
    }
}

struct Layer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

/// The observed inputs of every linear layer for one text:
/// `inputs[layer][LinearInput as usize]` is `[tokens, width]`, row-major.
pub(crate) struct Observed {
    pub tokens: usize,
    pub inputs: Vec<[Vec<f32>; 4]>,
}

/// The f32 model, from the checkpoint's weights.
pub(crate) struct ProbeModel {
    words: Vec<f32>,
    positions: Vec<f32>,
    token_type0: Vec<f32>,
    embed_norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
    eps: f32,
}

impl ProbeModel {
    /// Builds the model from f32 weights under Hugging Face `BertModel` names.
    pub fn load(config: &BertConfig, weights: &HashMap<String, Tensor>) -> Result<Self> {
        let w = Weights(weights);
        let h = config.hidden_size;
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                let qkv = ["query", "key", "value"].map(|n| format!("{p}.attention.self.{n}"));
                Ok(Layer {
                    qkv: Linear::load(&w, &qkv)?,
                    attn_out: Linear::load(&w, &[format!("{p}.attention.output.dense")])?,
                    attn_norm: Norm::load(&w, &format!("{p}.attention.output.LayerNorm"))?,
                    up: Linear::load(&w, &[format!("{p}.intermediate.dense")])?,
                    down: Linear::load(&w, &[format!("{p}.output.dense")])?,
                    out_norm: Norm::load(&w, &format!("{p}.output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let types = w.get("embeddings.token_type_embeddings.weight")?.0;
        if types.len() < h {
            return Err(Error::Config("no token type 0 embedding".into()));
        }
        Ok(Self {
            words: w.get("embeddings.word_embeddings.weight")?.0,
            positions: w.get("embeddings.position_embeddings.weight")?.0,
            token_type0: types[..h].to_vec(),
            embed_norm: Norm::load(&w, "embeddings.LayerNorm")?,
            layers,
            hidden: h,
            heads: config.num_attention_heads,
            eps: config.layer_norm_eps as f32,
        })
    }

    /// Runs one text's token ids and returns every linear layer's input.
    pub fn observe(&self, ids: &[u32]) -> Result<Observed> {
        let h = self.hidden;
        let len = ids.len();
        if len == 0 || len * h > self.positions.len() {
            return Err(Error::InvalidInput {
                what: "token row",
                reason: format!("{len} tokens (allowed 1..={})", self.positions.len() / h),
            });
        }
        let mut x = Vec::with_capacity(len * h);
        for (pos, &id) in ids.iter().enumerate() {
            let row = self
                .words
                .get(id as usize * h..(id as usize + 1) * h)
                .ok_or_else(|| Error::InvalidInput {
                    what: "token id",
                    reason: format!("{id} is past the word table"),
                })?;
            let start = x.len();
            x.extend_from_slice(row);
            let token = &mut x[start..];
            ops::add_in_place(token, &self.positions[pos * h..(pos + 1) * h]);
            ops::add_in_place(token, &self.token_type0);
        }
        let g = &self.embed_norm;
        ops::layer_norm_rows(&mut x, &g.gamma, &g.beta, self.eps);

        let (mut qkv, mut context, mut projected, mut inner) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut scratch = AttentionScratch::default();
        let mut inputs = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let attention_input = x.clone();
            layer.qkv.forward(&x, &mut qkv);
            attention(
                &qkv,
                std::iter::once(len),
                self.heads,
                h / self.heads,
                &mut context,
                &mut scratch,
            );
            layer.attn_out.forward(&context, &mut projected);
            ops::add_in_place(&mut x, &projected);
            let n = &layer.attn_norm;
            ops::layer_norm_rows(&mut x, &n.gamma, &n.beta, self.eps);
            let intermediate_input = x.clone();
            layer.up.forward(&x, &mut inner);
            ops::gelu_in_place(&mut inner);
            layer.down.forward(&inner, &mut projected);
            ops::add_in_place(&mut x, &projected);
            let n = &layer.out_norm;
            ops::layer_norm_rows(&mut x, &n.gamma, &n.beta, self.eps);
            inputs.push([
                attention_input,
                context.clone(),
                intermediate_input,
                inner.clone(),
            ]);
        }
        Ok(Observed {
            tokens: len,
            inputs,
        })
    }

    /// The last hidden states' mean, L2-normalised (tests compare it with the
    /// reference forward).
    #[cfg(test)]
    pub fn embed(&self, ids: &[u32]) -> Result<Vec<f32>> {
        let observed = self.observe(ids)?;
        // The last layer's output is not observed: rerun its tail.
        let last = self.layers.len() - 1;
        let layer = &self.layers[last];
        let mut x = observed.inputs[last][2].clone();
        let mut projected = Vec::new();
        layer
            .down
            .forward(&observed.inputs[last][3], &mut projected);
        ops::add_in_place(&mut x, &projected);
        ops::layer_norm_rows(
            &mut x,
            &layer.out_norm.gamma,
            &layer.out_norm.beta,
            self.eps,
        );
        let h = self.hidden;
        let mut pooled = vec![0f32; h];
        for token in x.chunks_exact(h) {
            ops::add_in_place(&mut pooled, token);
        }
        let norm = ops::dot(&pooled, &pooled).sqrt().max(1e-12);
        Ok(pooled.into_iter().map(|v| v / norm).collect())
    }
}
