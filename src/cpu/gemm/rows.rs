//! Activations quantised per row at run time for one [`Scheme`]: i16 with one
//! scale per row (wide) or i8 per block (narrow), padded to whole tiles.

use super::narrow::NarrowRows;
use super::{Scheme, TILE_ROWS};

/// Rows of activations quantised for one [`Scheme`]: i16 with one scale per
/// row ([`Scheme::Wide`]) or i8 with one scale per row and block
/// ([`Scheme::Narrow`]), padded with zero rows to whole kernel tiles. Reused
/// between calls to keep its buffers.
#[derive(Debug, Clone)]
pub struct QuantizedRows {
    pub(super) rows: usize,
    pub(super) width: usize,
    pub(super) form: Form,
}

/// The quantised values in the form their scheme's kernels read.
#[derive(Debug, Clone)]
pub(super) enum Form {
    Wide { values: Vec<i16>, scales: Vec<f32> },
    Narrow(NarrowRows),
}

impl Default for QuantizedRows {
    fn default() -> Self {
        Self {
            rows: 0,
            width: 0,
            form: Form::Wide {
                values: Vec::new(),
                scales: Vec::new(),
            },
        }
    }
}

impl QuantizedRows {
    /// Quantises `x` (`rows × width`, row-major) for the [`Scheme::Wide`] product.
    /// Non-finite values count as 0 (they never occur in a healthy forward pass).
    pub fn quantize(&mut self, x: &[f32], width: usize) {
        self.quantize_for(Scheme::Wide, x, width);
    }

    /// Quantises `x` (`rows × width`, row-major) for `scheme`; `width` must be
    /// a whole number of blocks under [`Scheme::Narrow`] (every layer's is).
    pub fn quantize_for(&mut self, scheme: Scheme, x: &[f32], width: usize) {
        let rows = x.len().checked_div(width).unwrap_or(0);
        self.rows = rows;
        self.width = width;
        match (scheme, &mut self.form) {
            (Scheme::Wide, Form::Wide { values, scales }) => {
                quantize_wide(values, scales, x, rows, width)
            }
            (Scheme::Narrow, Form::Narrow(narrow)) => narrow.quantize(x, rows, width),
            (Scheme::Wide, form) => {
                let (mut values, mut scales) = (Vec::new(), Vec::new());
                quantize_wide(&mut values, &mut scales, x, rows, width);
                *form = Form::Wide { values, scales };
            }
            (Scheme::Narrow, form) => {
                let mut narrow = NarrowRows::default();
                narrow.quantize(x, rows, width);
                *form = Form::Narrow(narrow);
            }
        }
    }

    /// Number of (unpadded) rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The scheme these rows are quantised for.
    pub fn scheme(&self) -> Scheme {
        match self.form {
            Form::Wide { .. } => Scheme::Wide,
            Form::Narrow(_) => Scheme::Narrow,
        }
    }
}

/// One i16 scale per row: 15 bits keep the activations exact to 3e-5 of the
/// row's largest value.
fn quantize_wide(
    values: &mut Vec<i16>,
    scales: &mut Vec<f32>,
    x: &[f32],
    rows: usize,
    width: usize,
) {
    let padded = rows.div_ceil(TILE_ROWS) * TILE_ROWS;
    values.clear();
    values.resize(padded * width, 0);
    scales.clear();
    scales.resize(rows, 0.0);
    for ((row, q), scale) in x
        .chunks_exact(width.max(1))
        .zip(values.chunks_exact_mut(width.max(1)))
        .zip(scales.iter_mut())
    {
        let max = crate::cpu::ops::max_abs(row);
        if !(max > 0.0 && max.is_finite()) {
            continue; // all zero (or broken): quantises to zeros, scale 0
        }
        let inv = 32767.0 / max;
        for (q, &v) in q.iter_mut().zip(row) {
            // `as` saturates and maps NaN to 0.
            *q = crate::cpu::ops::round_small(v * inv) as i16;
        }
        *scale = max / 32767.0;
    }
}

/// IEEE half → single precision (GGML stores `Q8_0` scales as little-endian f16).
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    half::f16::from_bits(h).to_f32()
}
