//! The ground floor: what every other stage uses and that knows none of them —
//! the crate's error types, bounds-checked binary reading and writing, the
//! header every binary file starts with, a seeded random stream and a clock
//! that works in the browser.

pub(crate) mod binary;
pub(crate) mod envelope;
pub mod error;
pub mod rng;
pub mod stopwatch;
