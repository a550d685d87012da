//! Small dense linear algebra for the k×k systems of ALS and fold-in:
//! symmetric positive-definite solves by Cholesky factorisation, in f64.

/// A Cholesky factor `L` (lower triangle, row-major `k × k`) of a symmetric
/// positive-definite matrix `A = L·Lᵀ`.
#[derive(Debug, Clone)]
pub(crate) struct Cholesky {
    l: Vec<f64>,
    k: usize,
}

impl Cholesky {
    /// Factors `a` (row-major `k × k`, only the lower triangle is read).
    /// `None` when `a` is not (numerically) positive definite.
    pub fn factor(a: &[f64], k: usize) -> Option<Self> {
        if a.len() != k * k {
            return None;
        }
        let mut l = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..=i {
                let dot: f64 = (0..j).map(|p| l[i * k + p] * l[j * k + p]).sum();
                let v = a[i * k + j] - dot;
                if i == j {
                    if !(v > 0.0 && v.is_finite()) {
                        return None;
                    }
                    l[i * k + i] = v.sqrt();
                } else {
                    l[i * k + j] = v / l[j * k + j];
                }
            }
        }
        Some(Self { l, k })
    }

    /// Solves `A·x = b` in place (`b` becomes `x`).
    pub fn solve_in_place(&self, b: &mut [f64]) {
        let (l, k) = (&self.l, self.k);
        // L·y = b
        for i in 0..k {
            let s: f64 = (0..i).map(|p| l[i * k + p] * b[p]).sum();
            b[i] = (b[i] - s) / l[i * k + i];
        }
        // Lᵀ·x = y
        for i in (0..k).rev() {
            let s: f64 = (i + 1..k).map(|p| l[p * k + i] * b[p]).sum();
            b[i] = (b[i] - s) / l[i * k + i];
        }
    }
}

/// Adds `w · v·vᵀ` to the lower triangle of `a` (row-major `k × k`).
pub(crate) fn add_outer_lower(a: &mut [f64], v: &[f32], w: f64) {
    let k = v.len();
    for i in 0..k {
        let wi = w * f64::from(v[i]);
        let row = &mut a[i * k..i * k + i + 1];
        for (x, &vj) in row.iter_mut().zip(v) {
            *x += wi * f64::from(vj);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_known_system_and_rejects_indefinite_ones() {
        // A = [[4, 2], [2, 3]], b = [2, 1] → x = [0.5, 0]
        let c = Cholesky::factor(&[4.0, 2.0, 2.0, 3.0], 2).unwrap();
        let mut b = [2.0, 1.0];
        c.solve_in_place(&mut b);
        assert!((b[0] - 0.5).abs() < 1e-12 && b[1].abs() < 1e-12, "{b:?}");
        assert!(Cholesky::factor(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
        assert!(Cholesky::factor(&[1.0], 2).is_none());
        let mut a = vec![0.0; 4];
        add_outer_lower(&mut a, &[1.0, 2.0], 2.0);
        assert_eq!(a, [2.0, 0.0, 4.0, 8.0]);
    }
}
