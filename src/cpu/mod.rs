//! The CPU's arithmetic: which SIMD instruction set runs ([`isa::Kernel`],
//! chosen only by detection), row and element-wise maths, the int8 matrix
//! product by instruction set, and int8 item scoring with top-k.

pub mod gemm;
pub(crate) mod isa;
pub(crate) mod ops;
pub mod score;
