//! Fitting the compact-vector basis of an index: the leading eigenvectors of
//! the items' uncentred second-moment matrix `Σ vvᵀ`, accumulated one vector at
//! a time (so a streamed catalogue never holds every vector as floats) and
//! diagonalised with cyclic Jacobi rotations (exact, dependency-free, and
//! about a second for 384 × 384).
//!
//! Uncentred on purpose: the scores are dot products `q·v`, and the subspace
//! of the top eigenvectors of `Σ vvᵀ` is the rank-N one that loses the least
//! of them (the shared mean direction included).

use crate::rec::index::projection::Projection;
use crate::util::error::{Error, Result};

/// Sweeps after which Jacobi stops even if off-diagonal mass remains (it
/// converges quadratically: 384 × 384 takes 8–10).
const MAX_SWEEPS: usize = 50;

/// The running `Σ vvᵀ` of a stream of vectors.
#[derive(Debug, Clone)]
pub struct SecondMoment {
    dims: usize,
    count: usize,
    sum: Vec<f64>,
}

impl SecondMoment {
    /// An empty accumulator for `dims`-wide vectors.
    pub fn new(dims: usize) -> Self {
        Self {
            dims,
            count: 0,
            sum: vec![0.0; dims * dims],
        }
    }

    /// Adds one vector (ignored unless it is `dims` wide and finite).
    pub fn add(&mut self, v: &[f32]) {
        if v.len() != self.dims || v.iter().any(|x| !x.is_finite()) {
            return;
        }
        self.count += 1;
        for (i, &a) in v.iter().enumerate() {
            let a = f64::from(a);
            // Upper triangle only; mirrored when solving.
            let row = &mut self.sum[i * self.dims..(i + 1) * self.dims];
            for (s, &b) in row[i..].iter_mut().zip(&v[i..]) {
                *s += a * f64::from(b);
            }
        }
    }

    /// Vectors added.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The `dims` leading eigenvectors as a [`Projection`], and the share of
    /// the total energy (trace) they keep.
    pub fn basis(&self, dims: usize) -> Result<(Projection, f64)> {
        let n = self.dims;
        if dims == 0 || dims >= n {
            return Err(Error::InvalidInput {
                what: "vector bytes",
                reason: format!("{dims} is not between 1 and {}", n.saturating_sub(1)),
            });
        }
        let mut a = self.sum.clone();
        for i in 0..n {
            for j in 0..i {
                a[i * n + j] = a[j * n + i];
            }
        }
        let (values, vectors) = jacobi_eigen(a, n);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&x, &y| values[y].total_cmp(&values[x]).then(x.cmp(&y)));
        let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
        let kept: f64 = order[..dims].iter().map(|&k| values[k].max(0.0)).sum();
        let mut basis = Vec::with_capacity(dims * n);
        for &k in &order[..dims] {
            // Column k of `vectors`; sign fixed so the largest entry is positive
            // (the same catalogue gives the same bytes).
            let col: Vec<f64> = (0..n).map(|i| vectors[i * n + k]).collect();
            let big = col
                .iter()
                .copied()
                .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
            let sign = if big < 0.0 { -1.0 } else { 1.0 };
            basis.extend(col.iter().map(|&x| (sign * x) as f32));
        }
        let share = if total > 0.0 { kept / total } else { 0.0 };
        Ok((Projection::new(n, dims, basis)?, share))
    }
}

/// Eigenvalues and eigenvectors (columns of a row-major n×n matrix) of a
/// symmetric matrix, by cyclic Jacobi rotations.
fn jacobi_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let scale: f64 = a
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    for _ in 0..MAX_SWEEPS {
        let off: f64 = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-12 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // A ← JᵀAJ on rows/columns p and q.
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_dominant_directions() {
        // Vectors spread mostly along (1, 1, 0, 0)/√2, then along z.
        let mut m = SecondMoment::new(4);
        let s = std::f32::consts::FRAC_1_SQRT_2;
        for k in 0..25 {
            let t = (k as f32 - 12.0) / 5.0;
            for z in [-0.5, 0.5] {
                m.add(&[3.0 * t * s, 3.0 * t * s, z, 0.0]);
            }
        }
        m.add(&[f32::NAN, 0.0, 0.0, 0.0]);
        m.add(&[1.0]);
        assert_eq!(m.count(), 50);
        let (p, share) = m.basis(2).unwrap();
        let c = p.project(&[s, s, 0.0, 0.0]);
        assert!((c[0] - 1.0).abs() < 1e-5, "{c:?}");
        assert!(c[1].abs() < 1e-5);
        assert!((p.project(&[0.0, 0.0, 1.0, 0.0])[1].abs() - 1.0).abs() < 1e-5);
        assert!(share > 0.99 && share <= 1.0 + 1e-9, "{share}");
        assert!(m.basis(4).is_err() && m.basis(0).is_err());
    }

    #[test]
    fn jacobi_diagonalises_a_symmetric_matrix() {
        let n = 6;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = 1.0 / (1.0 + i as f64 + j as f64); // Hilbert-like, symmetric
            }
        }
        let (values, v) = jacobi_eigen(a.clone(), n);
        for k in 0..n {
            for i in 0..n {
                let av: f64 = (0..n).map(|j| a[i * n + j] * v[j * n + k]).sum();
                assert!((av - values[k] * v[i * n + k]).abs() < 1e-9);
            }
        }
    }
}
