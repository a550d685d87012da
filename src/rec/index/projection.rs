//! Compact item vectors: an orthonormal basis that maps the model's vectors
//! (384 values) onto fewer coordinates, stored as a catalogue index section.
//!
//! An index built with `--vector-bytes N` (N below the model's width) stores
//! each item as N int8 coordinates `c = Bv` on the N leading eigenvectors `B`
//! of the catalogue's (uncentred) second-moment matrix: the rank-N subspace
//! that keeps the most of the items' dot products. A query `q` is scored as
//! `(Bq)·c`, the same int8 kernel on N values instead of 384 (so the CPU and
//! GPU scorers read the compressed form as it is), and an item's model-space
//! vector is recovered as `Bᵀc`.
//!
//! Section layout (tag `PROJ`, section version 1): `model_dims u32, dims u32`,
//! then `dims × model_dims` f32, row-major (row = one basis vector).

use crate::util::binary::ByteReader;
#[cfg(not(target_arch = "wasm32"))]
use crate::util::binary::ByteWriter;
use crate::util::error::{Error, FileKind, Result};

/// The index section tag of a projection.
pub const SECTION_TAG: [u8; 4] = *b"PROJ";
/// The projection section's own format version.
pub const SECTION_VERSION: u32 = 1;
/// Basis rows must be unit length and orthogonal to within this.
const ORTHONORMAL_TOLERANCE: f32 = 1e-3;

/// An orthonormal basis of `dims` rows in the model's `model_dims`-wide space.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    model_dims: usize,
    dims: usize,
    basis: Vec<f32>,
}

impl Projection {
    /// A projection from basis rows; fails unless they are `dims` orthonormal
    /// rows of `model_dims` finite values with `0 < dims < model_dims`.
    pub fn new(model_dims: usize, dims: usize, basis: Vec<f32>) -> Result<Self> {
        let bad = |reason: String| Error::Malformed {
            kind: FileKind::CatalogueIndex,
            reason: format!("projection: {reason}"),
        };
        if dims == 0 || dims >= model_dims || model_dims > 65_536 {
            return Err(bad(format!(
                "{dims} coordinates of {model_dims}-value vectors is out of range"
            )));
        }
        if basis.len() != dims * model_dims {
            return Err(bad(format!(
                "{} basis values for {dims} × {model_dims}",
                basis.len()
            )));
        }
        if basis.iter().any(|x| !x.is_finite()) {
            return Err(bad("a basis value is not finite".into()));
        }
        let p = Self {
            model_dims,
            dims,
            basis,
        };
        for a in 0..dims {
            // Checking every pair costs dims²·model_dims; the norms and each
            // row against its neighbour catch damaged or foreign bases.
            let norm = dot(p.row(a), p.row(a));
            if (norm - 1.0).abs() > ORTHONORMAL_TOLERANCE {
                return Err(bad(format!("basis row {a} has squared norm {norm}")));
            }
            if a + 1 < dims && dot(p.row(a), p.row(a + 1)).abs() > ORTHONORMAL_TOLERANCE {
                return Err(bad(format!(
                    "basis rows {a} and {} are not orthogonal",
                    a + 1
                )));
            }
        }
        Ok(p)
    }

    /// Width of the model's vectors.
    pub fn model_dims(&self) -> usize {
        self.model_dims
    }
    /// Stored coordinates per item.
    pub fn dims(&self) -> usize {
        self.dims
    }
    /// The basis, `dims` rows of `model_dims` values, row-major.
    pub fn basis(&self) -> &[f32] {
        &self.basis
    }
    fn row(&self, a: usize) -> &[f32] {
        &self.basis[a * self.model_dims..(a + 1) * self.model_dims]
    }

    /// `Bv`: a model-space vector's coordinates (zeros for a vector of another width).
    pub fn project(&self, v: &[f32]) -> Vec<f32> {
        if v.len() != self.model_dims {
            return vec![0.0; self.dims];
        }
        (0..self.dims).map(|a| dot(self.row(a), v)).collect()
    }

    /// `Bᵀc`: the model-space vector with coordinates `c`.
    pub fn reconstruct(&self, c: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; self.model_dims];
        for (a, &x) in c.iter().enumerate().take(self.dims) {
            for (o, &b) in out.iter_mut().zip(self.row(a)) {
                *o += x * b;
            }
        }
        out
    }

    /// Heap bytes.
    pub fn memory_bytes(&self) -> usize {
        4 * self.basis.capacity()
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn write(&self, w: &mut ByteWriter) {
        w.u32(self.model_dims as u32);
        w.u32(self.dims as u32);
        self.basis.iter().for_each(|&x| w.f32(x));
    }

    /// Reads a section body; `dims` is the index's stored vector width.
    pub(crate) fn read(body: &[u8], dims: usize) -> Result<Self> {
        let bad = |reason: String| Error::Malformed {
            kind: FileKind::CatalogueIndex,
            reason: format!("projection: {reason}"),
        };
        let mut r = ByteReader::new(body);
        let short = |e: crate::util::binary::ReadError| bad(e.to_string());
        let model_dims = r.u32().map_err(short)? as usize;
        let stored = r.u32().map_err(short)? as usize;
        if stored != dims {
            return Err(bad(format!(
                "{stored} coordinates, the index stores {dims} a vector"
            )));
        }
        if model_dims > 65_536
            || stored.saturating_mul(model_dims).saturating_mul(4) != r.remaining()
        {
            return Err(bad(format!(
                "{} bytes for {stored} × {model_dims} values",
                r.remaining()
            )));
        }
        let basis = (0..stored * model_dims)
            .map(|_| r.f32().map_err(short))
            .collect::<Result<Vec<f32>>>()?;
        Self::new(model_dims, stored, basis)
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axes(model_dims: usize, dims: usize) -> Projection {
        let mut basis = vec![0.0; dims * model_dims];
        for a in 0..dims {
            basis[a * model_dims + a] = 1.0;
        }
        Projection::new(model_dims, dims, basis).unwrap()
    }

    #[test]
    fn projects_reconstructs_and_round_trips() {
        let p = axes(4, 2);
        assert_eq!(p.project(&[1.0, 2.0, 3.0, 4.0]), vec![1.0, 2.0]);
        assert_eq!(p.reconstruct(&[1.0, 2.0]), vec![1.0, 2.0, 0.0, 0.0]);
        assert_eq!(p.project(&[1.0]), vec![0.0, 0.0]);
        let mut w = ByteWriter::new();
        p.write(&mut w);
        let bytes = w.into_inner();
        assert_eq!(Projection::read(&bytes, 2).unwrap(), p);
        assert!(Projection::read(&bytes, 3).is_err());
        assert!(Projection::read(&bytes[..bytes.len() - 1], 2).is_err());
    }

    #[test]
    fn rejects_bases_that_are_not_orthonormal() {
        assert!(Projection::new(4, 4, vec![0.0; 16]).is_err());
        assert!(Projection::new(4, 0, vec![]).is_err());
        assert!(Projection::new(4, 1, vec![2.0, 0.0, 0.0, 0.0]).is_err());
        assert!(Projection::new(4, 1, vec![f32::NAN, 0.0, 0.0, 0.0]).is_err());
        let s = std::f32::consts::FRAC_1_SQRT_2;
        assert!(Projection::new(2 + 1, 2, vec![1.0, 0.0, 0.0, s, s, 0.0]).is_err());
        assert!(Projection::new(3, 2, vec![1.0, 0.0, 0.0, 0.0, s, s]).is_ok());
    }
}
