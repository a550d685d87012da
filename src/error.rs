//! The crate's one error type: every failure a caller can meet, named and typed.
//!
//! Variants are grouped by the stage of the data path they belong to
//! (bundle bytes → model → tokenizer → encoder). Each carries enough context to
//! print a one-line reason, which is what the CLI and the wasm bindings show.

/// Everything that can go wrong in `localrec`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // === Bundle bytes ===
    /// The bytes end before the structure they declare.
    #[error("model bundle is truncated: needs {needed} bytes, has {available}")]
    Truncated {
        /// Bytes the header says are needed.
        needed: u64,
        /// Bytes actually present.
        available: u64,
    },
    /// The bytes do not start with the bundle magic: not a localrec model bundle.
    #[error("not a localrec model bundle (magic {found:02x?}, expected {expected:02x?})")]
    BadMagic {
        /// The first bytes found.
        found: [u8; 8],
        /// The magic a bundle starts with.
        expected: [u8; 8],
    },
    /// The bundle was written by a newer (or unknown) format version.
    #[error("model bundle format version {found} is not supported (this build reads version {supported})")]
    UnsupportedVersion {
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// The payload does not match the checksum stored in the header: corrupt bytes.
    #[error("model bundle checksum mismatch: header says {expected:08x}, payload hashes to {found:08x} (corrupt download?)")]
    ChecksumMismatch {
        /// Checksum stored in the header.
        expected: u32,
        /// Checksum of the payload as read.
        found: u32,
    },
    /// The tensor container inside the bundle could not be parsed.
    #[error("model bundle container is malformed: {0}")]
    Container(String),
    /// A metadata entry the bundle must have is missing or has the wrong type.
    #[error("model bundle metadata `{key}` is missing or malformed: {reason}")]
    Metadata {
        /// The metadata key.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    // === Model ===
    /// The model configuration is inconsistent or unsupported.
    #[error("invalid model config: {0}")]
    Config(String),
    /// A tensor the model needs is not in the bundle.
    #[error("model bundle has no tensor `{0}`")]
    MissingTensor(String),
    /// A tensor's shape does not match what the config implies.
    #[error("tensor `{name}` has shape {found:?}, the config implies {expected:?}")]
    TensorShape {
        /// Tensor name.
        name: String,
        /// Shape implied by the config.
        expected: Vec<usize>,
        /// Shape in the bundle.
        found: Vec<usize>,
    },
    /// A tensor is stored in a type this build cannot use for it.
    #[error("tensor `{name}` is stored as {dtype}, which is not supported here")]
    TensorType {
        /// Tensor name.
        name: String,
        /// The stored type.
        dtype: String,
    },

    // === Tokenizer ===
    /// The tokenizer definition could not be loaded or used.
    #[error("tokenizer: {0}")]
    Tokenizer(String),

    // === Building bundles ===
    /// The quantisation name is not one of `int8`, `f32`.
    #[error("unknown quantisation `{0}` (expected int8 or f32)")]
    UnknownQuant(String),

    // === Compute ===
    /// The tensor engine failed while running the model.
    #[error("model compute failed: {0}")]
    Compute(String),
    /// An I/O error while reading or writing a file (CLI only).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Compute(e.to_string())
    }
}
