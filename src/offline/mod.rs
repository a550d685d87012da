//! What a store runs before shipping, never in the browser: converting
//! weights into a model bundle (and calibrating its int8 weights with GPTQ),
//! building the catalogue index, training item factors with ALS, searching
//! the blend weights, and evaluating rankings on held-out users.

pub mod als;
pub mod blend;
pub mod calibrated;
pub mod convert;
pub mod eval;
pub mod index_build;
pub mod item_factors;
pub mod pca;
pub mod vectors;
