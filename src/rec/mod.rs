//! The recommender: from a user's feedback to a ranked list.
//!
//! Catalogue items and feedback events come in as records ([`catalogue`],
//! [`feedback`], ratings on any [`rating_scale`]); feedback text is read into clauses ([`intent`]) and its
//! polarity judged ([`polarity`]); everything folds into a private
//! [`profile::IntentProfile`]. The [`ranker`] scores the shipped
//! [`index::CatalogueIndex`] against it — with collaborative knowledge folded
//! in ([`collab`]), rejected concepts grounded in the catalogue
//! ([`concept`]), the catalogue scored on the CPU or the GPU ([`scoring`]) —
//! and [`recommender::Recommender`] ties the encoder to all of it.

pub mod catalogue;
pub mod collab;
pub mod concept;
pub mod feedback;
pub mod index;
pub mod intent;
pub mod polarity;
pub mod profile;
pub mod ranker;
pub mod rating_scale;
pub mod recommender;
#[cfg(feature = "gpu")]
pub mod scoring;
