//! The model as bytes: BERT's configuration, the tokenizer, and the bundle
//! file that carries both with the weights (its container, the coded tensor
//! section and its entropy coder). Nothing here runs the model.

pub mod bundle;
pub(crate) mod coded_tensors;
pub mod config;
pub(crate) mod entropy;
pub(crate) mod stored_tokenizer;
pub mod tokenize;
