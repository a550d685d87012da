//! Calibrated rounding for int8 bundles: integers that gzip small and still
//! give embeddings close to f32.
//!
//! Plain `Q8_0` gives every block of 32 values its own scale, the block's
//! largest magnitude over 127, so the integers fill −127..=127 and the bundle
//! hardly compresses (≈ 7.7 bits of entropy per byte). Here every block of a
//! row starts from one step, a fixed fraction of the row's RMS
//! ([`Steps`]), so the integers are small and a gzip transfer codes them close
//! to their entropy:
//!
//! - linear weights are rounded by GPTQ (Frantar et al., "GPTQ: Accurate
//!   Post-Training Quantization for Generative Pre-trained Transformers",
//!   2022): column by column, each rounding error is spread over the columns
//!   not yet rounded through the inverse of the Hessian `Σ x xᵀ` of the
//!   layer's inputs, collected from calibration texts ([`ActivationMoments`]), so the
//!   layer's outputs rather than its single weights stay close;
//! - the word table is rounded to the nearest step (calibration did not beat
//!   that for rows read one token at a time);
//! - a block whose integers would pass [`LINEAR_LIMIT`] (linears) or
//!   [`TABLE_LIMIT`] (word table) grows its step by [`GROWTH`] until they fit. The linear
//!   limit is 63 so that the narrow 7-bit product of the relaxed-SIMD build
//!   reads every linear block exactly, as the wide product does.
//!
//! The result is ordinary `Q8_0`: readers need no new format.

use std::collections::HashMap;

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use half::f16;

use std::num::NonZeroUsize;

use crate::cpu::gemm::{BLOCK, Q8_0_BLOCK_BYTES as BLOCK_BYTES};
use crate::cpu::ops::{self, MatRef};
use crate::model::config::BertConfig;
use crate::model::tokenize::TextTokenizer;
use crate::rec::catalogue::CatalogueItem;
use crate::util::error::{Error, Result};

mod probe;

pub(crate) use probe::LinearInput;
use probe::ProbeModel;

/// Largest integer magnitude in a linear layer's blocks: 7 bits, which the
/// narrow product reads without re-rounding.
pub const LINEAR_LIMIT: i32 = 63;
/// Largest integer magnitude in the word table's blocks.
pub const TABLE_LIMIT: i32 = 127;
/// A block whose values would pass the limit grows its step by this factor
/// (an eighth of an octave, each step rounded to f16) until they fit: a block
/// with one value just past the limit then costs a little precision, not the
/// half that doubling its step cost (benches/README.md, "Size, bundle format 3").
pub const GROWTH: f32 = 1.090_507_7;
/// GPTQ's damping: this fraction of the Hessian's mean diagonal is added to
/// its diagonal, so inputs the calibration texts never moved stay invertible.
const DAMPING: f64 = 0.01;

/// The rounding steps, each a fraction of the RMS of the row it applies to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Steps {
    /// Step of an output row of the value, attention-output and feed-forward layers.
    pub linear: f32,
    /// Step of an output row of the query and key layers, whose errors reach
    /// the embedding only through softmax weights (measured 3–10× less
    /// sensitive per weight than the other linears: benches/README.md).
    pub query_key: f32,
    /// Step of a word-table row.
    pub table: f32,
}

impl Default for Steps {
    /// The steps the shipped bundle is built with (benches/README.md, "Size, bundle format 3").
    fn default() -> Self {
        Self {
            linear: 0.06,
            query_key: 0.09,
            table: 0.17,
        }
    }
}

impl Steps {
    /// The step of the linear layer whose weight is `name`.
    pub fn for_linear(&self, name: &str) -> f32 {
        if name.ends_with(".attention.self.query.weight")
            || name.ends_with(".attention.self.key.weight")
        {
            self.query_key
        } else {
            self.linear
        }
    }

    /// Each step must be a finite fraction in (0, 1].
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("linear", self.linear),
            ("query/key", self.query_key),
            ("table", self.table),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= 1.0) {
                return Err(Error::Config(format!(
                    "the {name} rounding step must be in (0, 1] of a row's RMS, not {v}"
                )));
            }
        }
        Ok(())
    }
}

/// The second moments of every linear layer's inputs over calibration texts:
/// what GPTQ needs to know which rounding errors matter.
pub struct ActivationMoments {
    /// `(layer, input)` → width `n` and GPTQ's factor `U` (`n × n`, row-major)
    /// of the sum over texts of `XᵀX / tokens`.
    factors: HashMap<(usize, LinearInput), (usize, Vec<f32>)>,
    texts: usize,
}

/// Texts run side by side before their moments are added (in text order).
const TEXTS_PER_ROUND: usize = 16;

impl ActivationMoments {
    /// Runs the f32 model built from `weights` over `texts`, one text at a
    /// time, and sums each linear input's `XᵀX`, divided by the text's token
    /// count so that long and short texts weigh the same.
    ///
    /// The result is the same to the bit for any `threads` and any CPU: the
    /// forward is fixed-order f32 (module `probe`), each text's moments are
    /// added in text order, and threads split texts (forward) or rows of the
    /// moment (sums), never the terms of one sum.
    pub fn collect(
        config: &BertConfig,
        tokenizer_json: &str,
        weights: &HashMap<String, Tensor>,
        texts: &[String],
        threads: NonZeroUsize,
    ) -> Result<Self> {
        if texts.is_empty() {
            return Err(Error::Config("calibration needs at least one text".into()));
        }
        let tokenizer = TextTokenizer::from_json(tokenizer_json, config)?;
        let model = ProbeModel::load(config, weights)?;
        let widths = |input: LinearInput| match input {
            LinearInput::Output => config.intermediate_size,
            _ => config.hidden_size,
        };
        let keys: Vec<(usize, LinearInput)> = (0..config.num_hidden_layers)
            .flat_map(|l| LinearInput::ALL.map(|i| (l, i)))
            .collect();
        let mut sums: Vec<Vec<f64>> = keys
            .iter()
            .map(|&(_, i)| vec![0f64; widths(i) * widths(i)])
            .collect();
        let threads = threads.get();
        for round in texts.chunks(TEXTS_PER_ROUND) {
            let ids = round
                .iter()
                .map(|t| tokenizer.encode(t))
                .collect::<Result<Vec<_>>>()?;
            let observed = parallel_map(&ids, threads, |ids| model.observe(ids))?;
            // Every (key, row range) job adds the round's texts in order.
            let mut jobs: Vec<(usize, usize, &mut [f64])> = Vec::new();
            for (k, sum) in sums.iter_mut().enumerate() {
                let n = widths(keys[k].1);
                let rows_per_job = n.div_ceil(threads).max(1);
                for (j, rows) in sum.chunks_mut(rows_per_job * n).enumerate() {
                    jobs.push((k, j * rows_per_job, rows));
                }
            }
            let (observed, keys) = (&observed, &keys);
            parallel_for_each(jobs, threads, |(k, first_row, rows)| {
                let (layer, input) = keys[k];
                let n = widths(input);
                for text in observed {
                    add_moment(
                        &text.inputs[layer][input as usize],
                        n,
                        text.tokens,
                        first_row,
                        rows,
                    );
                }
            });
        }
        let mut factors = HashMap::new();
        for (key, hessian) in keys.into_iter().zip(sums) {
            let n = widths(key.1);
            factors.insert(key, (n, inverse_hessian_factor(&hessian, n)?));
        }
        Ok(Self {
            factors,
            texts: texts.len(),
        })
    }

    /// How many texts were run.
    pub fn texts(&self) -> usize {
        self.texts
    }

    /// GPTQ's factor for the input of the linear layer whose weight is `name`
    /// (`encoder.layer.{i}.{suffix}.weight`): its width and `U`.
    fn factor(&self, name: &str) -> Result<(usize, &[f32])> {
        let missing = || Error::Config(format!("calibration has no inputs for `{name}`"));
        let rest = name
            .strip_prefix("encoder.layer.")
            .and_then(|r| r.strip_suffix(".weight"))
            .ok_or_else(missing)?;
        let (layer, suffix) = rest.split_once('.').ok_or_else(missing)?;
        let layer: usize = layer.parse().map_err(|_| missing())?;
        let input = LinearInput::of(suffix).ok_or_else(missing)?;
        let (n, u) = self.factors.get(&(layer, input)).ok_or_else(missing)?;
        Ok((*n, u.as_slice()))
    }

    /// `weight` (`[outputs, inputs]`, f32) rounded by GPTQ as `Q8_0`.
    pub(crate) fn round_linear(&self, name: &str, weight: &Tensor, step: f32) -> Result<QTensor> {
        let (rows, cols) = weight.dims2()?;
        let (n, factor) = self.factor(name)?;
        if n != cols {
            return Err(Error::Config(format!(
                "calibration inputs of `{name}` have {n} values, the weight {cols}"
            )));
        }
        let values = weight.flatten_all()?.to_vec1::<f32>()?;
        let bytes = round_rows(&values, rows, cols, Some(factor), step, LINEAR_LIMIT)?;
        q8_0_tensor(&bytes, rows, cols)
    }
}

/// Three calibration texts for each of `count` items spread evenly over
/// `items`: the title, the first sentence of the description and the text the
/// index embeds (title and description), so short and long inputs are seen.
pub fn calibration_texts(items: &[CatalogueItem], count: usize) -> Vec<String> {
    let chosen = count.min(items.len());
    let mut texts = Vec::with_capacity(chosen * 3);
    for k in 0..chosen {
        let item = &items[k * items.len() / chosen];
        let whole = item.embedding_text();
        let description = item.text.as_deref().unwrap_or("").trim();
        let first_sentence = description
            .split_inclusive(". ")
            .next()
            .unwrap_or(description)
            .trim();
        for text in [item.title.trim(), first_sentence, whole.as_str()] {
            texts.push(if text.is_empty() {
                whole.clone()
            } else {
                text.to_string()
            });
        }
    }
    texts
}

/// `table` (`[rows, width]`, f32) rounded to the nearest of each row's step, as `Q8_0`.
pub(crate) fn round_table(table: &Tensor, step: f32) -> Result<QTensor> {
    let (rows, cols) = table.dims2()?;
    let values = table.flatten_all()?.to_vec1::<f32>()?;
    let bytes = round_rows(&values, rows, cols, None, step, TABLE_LIMIT)?;
    q8_0_tensor(&bytes, rows, cols)
}

/// `rows × cols` values as `Q8_0` bytes → a tensor.
fn q8_0_tensor(bytes: &[u8], rows: usize, cols: usize) -> Result<QTensor> {
    Ok(qtensor_from_ggml(
        GgmlDType::Q8_0,
        bytes,
        vec![rows, cols],
        &Device::Cpu,
    )?)
}

/// The upper-triangular `U` (row-major, f32) with `UᵀU = (H + λI)⁻¹`.
///
/// `H = R Rᵀ` with `R` upper triangular (a Cholesky factorisation taken from
/// the last row up); then `H⁻¹ = R⁻ᵀ R⁻¹`, so `U = R⁻¹`.
fn inverse_hessian_factor(hessian: &[f64], n: usize) -> Result<Vec<f32>> {
    if hessian.len() != n * n || n == 0 {
        return Err(Error::Config(format!(
            "a Hessian of {} values is not {n} × {n}",
            hessian.len()
        )));
    }
    let mut h = hessian.to_vec();
    // Inputs no text moved: decouple them (their weights round to nearest).
    for i in 0..n {
        if h[i * n + i] <= 0.0 || !h[i * n + i].is_finite() {
            for j in 0..n {
                h[i * n + j] = 0.0;
                h[j * n + i] = 0.0;
            }
            h[i * n + i] = 1.0;
        }
    }
    let mean_diagonal = (0..n).map(|i| h[i * n + i]).sum::<f64>() / n as f64;
    for i in 0..n {
        h[i * n + i] += DAMPING * mean_diagonal;
    }
    // R upper with H = R Rᵀ: columns from the last.
    let mut r = vec![0f64; n * n];
    for j in (0..n).rev() {
        let tail = |a: usize, r: &[f64]| -> f64 {
            (j + 1..n).map(|k| r[a * n + k] * r[j * n + k]).sum::<f64>()
        };
        let d = h[j * n + j] - tail(j, &r);
        if d <= 0.0 || !d.is_finite() {
            return Err(Error::Config(
                "the calibration Hessian is not positive definite".into(),
            ));
        }
        let d = d.sqrt();
        r[j * n + j] = d;
        for i in 0..j {
            r[i * n + j] = (h[i * n + j] - tail(i, &r)) / d;
        }
    }
    // U = R⁻¹ (upper): solve R U = I column by column, from the bottom row up.
    let mut u = vec![0f64; n * n];
    for c in 0..n {
        for i in (0..=c).rev() {
            let rhs = if i == c { 1.0 } else { 0.0 };
            let known = (i + 1..=c)
                .map(|k| r[i * n + k] * u[k * n + c])
                .sum::<f64>();
            u[i * n + c] = (rhs - known) / r[i * n + i];
        }
    }
    Ok(u.into_iter().map(|v| v as f32).collect())
}

/// The next step after `step` (a positive f16 value): × [`GROWTH`] rounded
/// to f16, or the next f16 up where that rounds back to `step` (tiny steps).
fn grow(step: f32) -> f32 {
    let grown = f16::from_f32(step * GROWTH);
    let current = f16::from_f32(step);
    if grown > current {
        grown.to_f32()
    } else {
        f16::from_bits(current.to_bits() + 1).to_f32()
    }
}

/// Rounds `rows × cols` row-major `weights` to `Q8_0` blocks.
///
/// Each row's step is `step_fraction` × its RMS (as f16); a block takes the
/// smallest step grown from it by [`GROWTH`] that keeps the block's values,
/// as they stand when the block starts, within `limit` steps. With a `factor` (GPTQ's
/// `U`, `cols × cols`), each value's rounding error, divided by `U[i][i]`, is
/// subtracted from the row's later values in proportion to `U[i][j]`; without
/// one, values round to nearest.
fn round_rows(
    weights: &[f32],
    rows: usize,
    cols: usize,
    factor: Option<&[f32]>,
    step_fraction: f32,
    limit: i32,
) -> Result<Vec<u8>> {
    if !cols.is_multiple_of(BLOCK)
        || weights.len() != rows * cols
        || factor.is_some_and(|f| f.len() != cols * cols)
    {
        return Err(Error::Config(format!(
            "cannot round {} values as {rows} rows of {cols} in blocks of {BLOCK}",
            weights.len()
        )));
    }
    if let Some(bad) = weights.iter().find(|v| !v.is_finite()) {
        return Err(Error::Config(format!("a weight to round is {bad}")));
    }
    let blocks = cols / BLOCK;
    let mut out = vec![0u8; rows * blocks * BLOCK_BYTES];
    let mut row = vec![0f32; cols];
    for r in 0..rows {
        row.copy_from_slice(&weights[r * cols..(r + 1) * cols]);
        let rms = (row.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / cols as f64).sqrt();
        let base = f16::from_f32(step_fraction * rms as f32).to_f32();
        let out_row = &mut out[r * blocks * BLOCK_BYTES..(r + 1) * blocks * BLOCK_BYTES];
        if !base.is_finite() {
            return Err(Error::Config(format!(
                "row {r}'s rounding step ({step_fraction} × RMS {rms}) is too large for f16"
            )));
        }
        if base <= 0.0 {
            continue; // a zero row (or one too small for f16): zero blocks
        }
        for b in 0..blocks {
            let span = b * BLOCK..(b + 1) * BLOCK;
            let largest = row[span.clone()].iter().fold(0f32, |m, v| m.max(v.abs()));
            let mut step = base;
            while largest / step > limit as f32 + 0.5 && step < f32::from(f16::MAX) / GROWTH {
                step = grow(step);
            }
            let block = &mut out_row[b * BLOCK_BYTES..(b + 1) * BLOCK_BYTES];
            block[..2].copy_from_slice(&f16::from_f32(step).to_bits().to_le_bytes());
            for i in span {
                let q = (row[i] / step).round().clamp(-(limit as f32), limit as f32);
                block[2 + i - b * BLOCK] = (q as i32) as i8 as u8;
                if let Some(factor) = factor {
                    let error = (row[i] - q * step) / factor[i * cols + i];
                    let later = &factor[i * cols + i + 1..(i + 1) * cols];
                    for (v, u) in row[i + 1..].iter_mut().zip(later) {
                        *v -= error * u;
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Adds rows `first_row..` of `XᵀX / tokens` to `out` (whole rows of `n`), for
/// `x` = `[tokens, n]`: each entry is one fixed-order f32 sum over the tokens.
fn add_moment(x: &[f32], n: usize, tokens: usize, first_row: usize, out: &mut [f64]) {
    let rows = out.len() / n;
    // Xᵀ's rows first_row.. as a row-major [rows][tokens] matrix.
    let mut xt = vec![0f32; rows * tokens];
    for (t, token) in x.chunks_exact(n).enumerate() {
        for (r, &v) in token[first_row..first_row + rows].iter().enumerate() {
            xt[r * tokens + t] = v;
        }
    }
    let mut moment = vec![0f32; rows * n];
    let a = MatRef {
        data: &xt,
        stride: tokens,
    };
    let b = MatRef { data: x, stride: n };
    ops::matmul(a, b, &mut moment, n, rows, n, tokens);
    let inv = 1.0 / tokens as f64;
    for (o, &m) in out.iter_mut().zip(&moment) {
        *o += f64::from(m) * inv;
    }
}

/// `f` over `items` on up to `threads` threads, results in item order.
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let per_thread = items.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per_thread)
            .map(|chunk| scope.spawn(|| chunk.iter().map(&f).collect::<Result<Vec<R>>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for handle in handles {
            out.extend(
                handle
                    .join()
                    .map_err(|_| Error::Config("a calibration thread panicked".into()))??,
            );
        }
        Ok(out)
    })
}

/// `f` on every job, the jobs dealt round-robin to up to `threads` threads.
fn parallel_for_each<J: Send>(jobs: Vec<J>, threads: usize, f: impl Fn(J) + Sync) {
    let threads = threads.max(1);
    let mut hands: Vec<Vec<J>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, job) in jobs.into_iter().enumerate() {
        hands[i % threads].push(job);
    }
    std::thread::scope(|scope| {
        for hand in hands {
            let f = &f;
            scope.spawn(move || hand.into_iter().for_each(f));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `Q8_0` bytes to f32.
    fn decode(bytes: &[u8]) -> Vec<f32> {
        bytes
            .chunks_exact(BLOCK_BYTES)
            .flat_map(|b| {
                let d = f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32();
                b[2..].iter().map(move |&q| f32::from(q as i8) * d)
            })
            .collect()
    }

    /// A deterministic pseudo-random sequence in [-1, 1).
    fn noise(seed: u64, n: usize) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn nearest_rounding_keeps_steps_limits_and_error_bounds() {
        let (rows, cols) = (5, 64);
        let mut w = noise(1, rows * cols);
        w[3] = 40.0; // an outlier: its block must grow its step
        let bytes = round_rows(&w, rows, cols, None, 0.05, LINEAR_LIMIT).unwrap();
        let back = decode(&bytes);
        for r in 0..rows {
            let row = &w[r * cols..(r + 1) * cols];
            let rms = (row.iter().map(|v| v * v).sum::<f32>() / cols as f32).sqrt();
            let base = f16::from_f32(0.05 * rms).to_f32();
            for b in 0..cols / BLOCK {
                let block = &bytes[(r * 2 + b) * BLOCK_BYTES..][..BLOCK_BYTES];
                let d = f16::from_bits(u16::from_le_bytes([block[0], block[1]])).to_f32();
                // The step is the base grown k times, the fewest that fit the block.
                let mut grown = vec![base];
                while grown.len() < 64 {
                    grown.push(grow(grown[grown.len() - 1]));
                }
                let k = grown.iter().position(|&g| g == d).expect("a grown step");
                let largest = w[r * cols + b * BLOCK..][..BLOCK]
                    .iter()
                    .fold(0f32, |m, v| m.max(v.abs()));
                assert!(largest / d <= LINEAR_LIMIT as f32 + 0.5);
                assert!(k == 0 || largest / grown[k - 1] > LINEAR_LIMIT as f32 + 0.5);
                for (k, &q) in block[2..].iter().enumerate() {
                    assert!(i32::from(q as i8).abs() <= LINEAR_LIMIT);
                    let i = r * cols + b * BLOCK + k;
                    assert!((back[i] - w[i]).abs() <= d / 2.0 + 1e-6, "{i}");
                }
                if r == 0 && b == 0 {
                    assert!(d > base, "the outlier's block keeps its step");
                } else {
                    assert_eq!(d, base);
                }
            }
        }
    }

    #[test]
    fn gptq_lowers_the_output_error_on_correlated_inputs() {
        let (rows, cols, samples) = (8, 64, 512);
        // Inputs with strongly correlated neighbours.
        let base = noise(2, samples * cols);
        let mut x = vec![0f32; samples * cols];
        for s in 0..samples {
            for c in 0..cols {
                let prev = if c > 0 { x[s * cols + c - 1] } else { 0.0 };
                x[s * cols + c] = 0.9 * prev + base[s * cols + c];
            }
        }
        let mut h = vec![0f64; cols * cols];
        for s in 0..samples {
            for i in 0..cols {
                for j in 0..cols {
                    h[i * cols + j] += f64::from(x[s * cols + i] * x[s * cols + j]);
                }
            }
        }
        let w = noise(3, rows * cols);
        let output_error = |q: &[f32]| -> f64 {
            let mut e = 0f64;
            for s in 0..samples {
                for r in 0..rows {
                    let d: f32 = (0..cols)
                        .map(|c| (w[r * cols + c] - q[r * cols + c]) * x[s * cols + c])
                        .sum();
                    e += f64::from(d * d);
                }
            }
            e
        };
        let step = 0.3;
        let nearest = decode(&round_rows(&w, rows, cols, None, step, 127).unwrap());
        let factor = inverse_hessian_factor(&h, cols).unwrap();
        let calibrated = decode(&round_rows(&w, rows, cols, Some(&factor), step, 127).unwrap());
        let (e_nearest, e_gptq) = (output_error(&nearest), output_error(&calibrated));
        assert!(
            e_gptq < 0.5 * e_nearest,
            "GPTQ {e_gptq} vs nearest {e_nearest}"
        );
    }

    #[test]
    fn the_factor_inverts_the_damped_hessian() {
        let n = 6;
        let a = noise(4, n * n);
        let mut h = vec![0f64; n * n];
        for i in 0..n {
            for j in 0..n {
                h[i * n + j] = (0..n)
                    .map(|k| f64::from(a[i * n + k] * a[j * n + k]))
                    .sum::<f64>();
            }
        }
        let u = inverse_hessian_factor(&h, n).unwrap();
        let mean = (0..n).map(|i| h[i * n + i]).sum::<f64>() / n as f64;
        // (H + λI) · UᵀU = I
        for i in 0..n {
            for j in 0..n {
                let prod: f64 = (0..n)
                    .map(|k| {
                        let hk = h[i * n + k] + if i == k { DAMPING * mean } else { 0.0 };
                        let hinv_kj: f64 = (0..n)
                            .map(|m| f64::from(u[m * n + k]) * f64::from(u[m * n + j]))
                            .sum();
                        hk * hinv_kj
                    })
                    .sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((prod - want).abs() < 1e-4, "({i},{j}) = {prod}");
            }
            for j in 0..i {
                assert_eq!(u[i * n + j], 0.0, "U is upper triangular");
            }
        }
    }

    #[test]
    fn the_probe_forward_is_the_reference_model() {
        use crate::encoder::reference::{mean_pool_normalised, BertModel, TokenBatch};
        use crate::model::bundle::{ModelBundle, Quant};
        let config = crate::testing::tiny_config();
        let weights = crate::testing::tiny_weights(&config, 9);
        let json = crate::testing::tiny_tokenizer_json();
        let probe = ProbeModel::load(&config, &weights).unwrap();
        let bundle = ModelBundle::from_weights(
            config.clone(),
            json.clone(),
            &weights,
            Quant::F32,
            "t".into(),
        )
        .unwrap();
        let tokenizer = bundle.tokenizer().clone();
        let reference = BertModel::load(bundle).unwrap();
        for text in [
            "the quick brown fox",
            "hello",
            "a b c d e f g h i j k l m n o p",
        ] {
            let ids = tokenizer.encode(text).unwrap();
            let batch = TokenBatch::new(&[ids.as_slice()]).unwrap();
            let want = mean_pool_normalised(&reference.forward(&batch).unwrap(), &batch.mask)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let got = probe.embed(&ids).unwrap();
            let cosine = crate::cpu::ops::dot(&want, &got);
            assert!(cosine > 0.99999, "{text:?}: {cosine}");
            // Every linear input is observed, at its width.
            let seen = probe.observe(&ids).unwrap();
            assert_eq!(seen.inputs.len(), config.num_hidden_layers);
            for layer in &seen.inputs {
                for (input, x) in LinearInput::ALL.iter().zip(layer) {
                    let width = match input {
                        LinearInput::Output => config.intermediate_size,
                        _ => config.hidden_size,
                    };
                    assert_eq!(x.len(), ids.len() * width, "{input:?}");
                }
            }
        }
        assert!(probe.observe(&[]).is_err(), "no tokens");
        assert!(probe.observe(&[u32::MAX]).is_err(), "an id past the table");
    }

    #[test]
    fn moments_are_the_same_for_any_thread_count() {
        let config = crate::testing::tiny_config();
        let weights = crate::testing::tiny_weights(&config, 4);
        let json = crate::testing::tiny_tokenizer_json();
        let texts: Vec<String> = (0..40)
            .map(|i| format!("the film {i} was good and long"))
            .collect();
        let one = ActivationMoments::collect(&config, &json, &weights, &texts, NonZeroUsize::MIN)
            .unwrap();
        for threads in [2, 3, 7] {
            let n = ActivationMoments::collect(
                &config,
                &json,
                &weights,
                &texts,
                NonZeroUsize::new(threads).unwrap(),
            )
            .unwrap();
            assert_eq!(n.factors, one.factors, "{threads} threads");
        }
    }

    #[test]
    fn calibration_texts_are_three_per_item_spread_over_the_catalogue() {
        let items: Vec<CatalogueItem> = (0..10)
            .map(|i| {
                serde_json::from_value(serde_json::json!({
                    "id": format!("i{i}"),
                    "title": format!("Title {i}"),
                    "text": if i == 3 { String::new() } else { format!("First {i}. Second {i}.") },
                }))
                .unwrap()
            })
            .collect();
        let texts = calibration_texts(&items, 5);
        assert_eq!(texts.len(), 15);
        assert_eq!(
            texts[0..3],
            ["Title 0", "First 0.", "Title 0. First 0. Second 0."]
        );
        assert_eq!(texts[3], "Title 2", "every second item");
        assert!(texts.iter().all(|t| !t.is_empty()));
        assert_eq!(
            calibration_texts(&items, 50).len(),
            30,
            "at most every item"
        );
        assert!(calibration_texts(&[], 5).is_empty());
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(round_rows(&[f32::NAN; 32], 1, 32, None, 0.1, 63).is_err());
        assert!(round_rows(&[0.0; 30], 1, 30, None, 0.1, 63).is_err());
        assert!(round_rows(&[0.0; 32], 1, 32, Some(&[1.0; 4]), 0.1, 63).is_err());
        assert!(
            round_rows(&[1e30; 32], 1, 32, None, 0.5, 63).is_err(),
            "step past f16"
        );
        assert!(inverse_hessian_factor(&[1.0, 2.0, 3.0], 2).is_err());
        let ok = Steps::default();
        for bad in [
            Steps { linear: 0.0, ..ok },
            Steps {
                query_key: 1.5,
                ..ok
            },
            Steps {
                table: f32::NAN,
                ..ok
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert_eq!(
            ok.for_linear("encoder.layer.3.attention.self.key.weight"),
            ok.query_key
        );
        assert_eq!(
            ok.for_linear("encoder.layer.3.attention.self.query.weight"),
            ok.query_key
        );
        assert_eq!(
            ok.for_linear("encoder.layer.3.attention.self.value.weight"),
            ok.linear
        );
        assert_eq!(
            ok.for_linear("encoder.layer.3.output.dense.weight"),
            ok.linear
        );
        assert!(Steps::default().validate().is_ok());
        // A row so small that × GROWTH rounds back to the same f16 step still
        // grows its outlier block until it fits (it once looped forever).
        // (Base step 0.06 × RMS 3.75e-6: four f16 subnormal units.)
        let mut tiny = vec![1e-8f32; 64];
        tiny[40] = 3e-5;
        let bytes = round_rows(&tiny, 1, 64, None, 0.06, 63).unwrap();
        let back = decode(&bytes);
        assert!((back[40] - 3e-5).abs() <= 3e-5 / 63.0, "{}", back[40]);
        // A zero row stays zero.
        let zero = decode(&round_rows(&[0.0; 32], 1, 32, None, 0.1, 63).unwrap());
        assert!(zero.iter().all(|v| *v == 0.0));
    }
}
