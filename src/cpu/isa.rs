//! Which SIMD instruction set the int8 kernels run on, chosen by detecting
//! what this CPU has.
//!
//! A [`Kernel`] is a proof: the only ways to get one are [`Kernel::detect`]
//! (the best instruction set this CPU has, optionally capped by
//! `LOCALREC_MAX_ISA`) and [`Kernel::portable`] (plain Rust, always safe).
//! Its instruction set is private, so safe code cannot ask for AVX2 on a CPU
//! without it; the kernels' `unsafe` calls rely on exactly that.

/// The instruction sets the kernels are written for. Only the variants this
/// target can ever run exist: `Simd128` only in a simd128 wasm build,
/// `Avx2` only on x86-64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Isa {
    /// Plain Rust.
    Portable,
    /// x86-64 AVX2, seen by run-time detection.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// wasm32 simd128, compiled in (a wasm module cannot detect it at run time;
    /// the loader picks the build after `WebAssembly.validate`).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    Simd128,
}

/// The environment variable that caps detection: `portable` (no SIMD) or
/// `avx2` (no instruction set past AVX2). It can only lower the choice: the
/// test command uses it to run the kernels a CPU without AVX2 would run.
pub const MAX_ISA_VAR: &str = "LOCALREC_MAX_ISA";

/// The kernel implementation chosen for this CPU (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kernel(Isa);

impl Kernel {
    /// The fastest kernel this CPU runs, no faster than `LOCALREC_MAX_ISA`
    /// allows (an unknown value is ignored).
    pub fn detect() -> Self {
        let cap = std::env::var(MAX_ISA_VAR).ok();
        if cap.as_deref().map(str::trim) == Some("portable") {
            return Self::portable();
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        return Kernel(Isa::Simd128);
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            return Kernel(Isa::Avx2);
        }
        #[allow(unreachable_code)]
        Self::portable()
    }

    /// Plain Rust loops: runs everywhere.
    pub fn portable() -> Self {
        Kernel(Isa::Portable)
    }

    /// Every kernel this CPU can run: the portable one, then the detected one
    /// when it differs (tests and benches compare them).
    pub fn available() -> Vec<Self> {
        let mut all = vec![Self::portable()];
        if Self::detect() != Self::portable() {
            all.push(Self::detect());
        }
        all
    }

    /// `"portable"`, `"avx2"` or `"simd128"`.
    pub fn name(self) -> &'static str {
        match self.0 {
            Isa::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => "avx2",
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Isa::Simd128 => "simd128",
        }
    }

    /// Whether this is the portable kernel.
    pub fn is_portable(self) -> bool {
        self.0 == Isa::Portable
    }

    /// The instruction set, for the kernels' dispatch. Matching on it cannot
    /// make a `Kernel`, so holding one still proves the CPU has it.
    pub(crate) fn isa(self) -> Isa {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_is_consistent_and_portable_is_always_there() {
        let all = Kernel::available();
        assert_eq!(all[0], Kernel::portable());
        assert!(all.len() <= 2);
        assert_eq!(*all.last().unwrap(), Kernel::detect());
        #[cfg(target_arch = "x86_64")]
        if std::env::var(MAX_ISA_VAR).is_err() {
            assert_eq!(
                Kernel::detect().name() == "avx2",
                std::is_x86_feature_detected!("avx2")
            );
        }
        assert!(Kernel::portable().is_portable());
    }
}
