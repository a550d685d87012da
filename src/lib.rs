//! # localrec
//!
//! An on-device recommender. The same code runs natively and in the browser
//! (wasm32). The tree follows the data, each folder depending only on those
//! before it:
//!
//! - [`util`]: errors, binary reading, the file envelope, a seeded rng;
//! - [`cpu`]: SIMD detection, row maths, the int8 matrix product, item scoring;
//! - [`gpu`]: the wgpu device layer and the catalogue scoring kernel;
//! - [`model`]: config, tokenizer and the model bundle file;
//! - [`encoder`]: text → unit vector (int8, f32 reference, GPU; backend choice);
//! - [`rec`]: catalogue, feedback, intent profile, ranker, [`Recommender`];
//! - [`offline`] (native only): bundle conversion, GPTQ, index build, ALS, evaluation.
//!
//! ```no_run
//! # fn main() -> localrec::Result<()> {
//! let bytes = std::fs::read("models/build/minilm-l6-v2-int8.lrm").expect("bundle");
//! let encoder = localrec::Encoder::from_bytes(&bytes)?;
//! let v = encoder.embed("short, light reads for the train")?;
//! assert_eq!(v.len(), encoder.dims());
//! # Ok(()) }
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod cpu;
pub mod encoder;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod model;
#[cfg(not(target_arch = "wasm32"))]
pub mod offline;
pub mod rec;
/// A tiny random BERT for tests: only in this crate's tests and with the
/// `testing` feature (downstream tests), never in the published library.
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod util;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use cpu::isa::{Kernel, MAX_ISA_VAR};
pub use encoder::{BatchOptions, Embeddings, Encoder};
pub use model::bundle::{ModelBundle, Quant};
pub use model::config::BertConfig;
pub use rec::catalogue::{read_catalogue, AttributeValue, CatalogueItem};
pub use rec::collab::{Blend, CollabModel, UserFactors};
pub use rec::feedback::{read_events, read_events_on, Event, Feedback, FeedbackKind};
pub use rec::index::CatalogueIndex;
pub use rec::profile::{IntentProfile, ProfileSettings, Rejection};
pub use rec::ranker::{
    AttributeFilter, Boost, BoostTarget, Effect, Filters, NumericRange, RankOptions, Ranker,
    Reason, ReasonKind, Recommendation, Scene,
};
pub use rec::rating_scale::RatingScale;
pub use rec::recommender::{IndexRecommender, Recommender};
pub use util::error::{Error, FileKind, Result};
