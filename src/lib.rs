//! # localrec
//!
//! An on-device recommender. This crate holds the pieces that run the same
//! natively and in the browser (wasm32):
//!
//! - [`bundle`]: the model bundle file (tokenizer, config, int8 weights), validated on load;
//! - [`tokenize`]: text → word pieces, as sentence-transformers does for MiniLM;
//! - [`encoder`]: the quantised BERT sentence encoder (text → 384-float unit vector).
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

#[cfg(feature = "gpu")]
pub mod backend;
mod bert;
mod binfmt;
pub mod bundle;
pub mod calibrated;
pub mod catalogue;
mod coded_tensors;
pub mod collab;
pub mod concept;
pub mod config;
pub mod encoder;
mod entropy;
mod envelope;
pub mod error;
pub mod eval;
pub mod feedback;
pub mod gemm;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod index;
mod int8_bert;
pub mod intent;
mod isa;
mod ops;
pub mod polarity;
pub mod profile;
pub mod ranker;
pub mod recommender;
pub mod scoring;
mod stored_tokenizer;
/// A tiny random BERT for tests: only in this crate's tests and with the
/// `testing` feature (downstream tests), never in the published library.
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod tokenize;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use bundle::{ModelBundle, Quant};
pub use catalogue::{read_catalogue, AttributeValue, CatalogueItem};
pub use collab::{Blend, CollabModel, UserFactors};
pub use config::BertConfig;
pub use encoder::{BatchOptions, Embeddings, Encoder};
pub use error::{Error, FileKind, Result};
pub use feedback::{read_events, Event, Feedback, FeedbackKind};
pub use index::CatalogueIndex;
pub use isa::MAX_ISA_VAR;
pub use profile::{IntentProfile, ProfileSettings, Rejection};
pub use ranker::{AttributeFilter, Boost, BoostTarget, Effect, NumericRange, Reason, ReasonKind};
pub use ranker::{Filters, RankOptions, Ranker, Recommendation, Scene};
pub use recommender::Recommender;
