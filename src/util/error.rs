//! The crate's one error type: every failure a caller can meet, named and typed.
//!
//! Variants are grouped by the stage of the data path they belong to
//! (bundle bytes → model → tokenizer → encoder). Each carries enough context to
//! print a one-line reason, which is what the CLI and the wasm bindings show.

/// Which of the crate's binary files an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A model bundle (`.lrm`).
    ModelBundle,
    /// A catalogue index (`.lri`).
    CatalogueIndex,
    /// A serialised intent profile.
    Profile,
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileKind::ModelBundle => "model bundle",
            FileKind::CatalogueIndex => "catalogue index",
            FileKind::Profile => "profile",
        })
    }
}

/// Everything that can go wrong in `localrec`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // === File bytes (bundles, indexes, profiles) ===
    /// The bytes end before the structure they declare.
    #[error("{kind} is truncated: needs {needed} bytes, has {available}")]
    Truncated {
        /// Which kind of file.
        kind: FileKind,
        /// Bytes the header says are needed.
        needed: u64,
        /// Bytes actually present.
        available: u64,
    },
    /// The bytes do not start with the expected magic: not this kind of file.
    #[error("not a localrec {kind} (magic {found:02x?}, expected {expected:02x?})")]
    BadMagic {
        /// Which kind of file was expected.
        kind: FileKind,
        /// The first bytes found.
        found: [u8; 8],
        /// The magic a bundle starts with.
        expected: [u8; 8],
    },
    /// The file was written by a newer (or unknown) format version.
    #[error(
        "{kind} format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedVersion {
        /// Which kind of file.
        kind: FileKind,
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// The payload does not match the checksum stored in the header: corrupt bytes.
    #[error("{kind} checksum mismatch: header says {expected:08x}, payload hashes to {found:08x} (corrupt download?)")]
    ChecksumMismatch {
        /// Which kind of file.
        kind: FileKind,
        /// Checksum stored in the header.
        expected: u32,
        /// Checksum of the payload as read.
        found: u32,
    },
    /// The structure inside a file (after its checksum passed) is malformed.
    #[error("{kind} is malformed: {reason}")]
    Malformed {
        /// Which kind of file.
        kind: FileKind,
        /// What is wrong.
        reason: String,
    },
    /// The tensor container inside the bundle could not be parsed.
    #[error("model bundle container is malformed: {0}")]
    Container(String),
    /// An index or profile made with another model (or dimension) than the one in use.
    #[error("{kind} was made with model {found} ({found_dims} dims), but the model in use is {expected} ({expected_dims} dims)")]
    ModelMismatch {
        /// Which kind of file.
        kind: FileKind,
        /// Model id in use.
        expected: String,
        /// Dimensions in use.
        expected_dims: usize,
        /// Model id recorded in the file.
        found: String,
        /// Dimensions recorded in the file.
        found_dims: usize,
    },
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

    // === Catalogue, events, feedback ===
    /// A catalogue line is invalid (bad JSON, no text, negative or non-finite numbers, …).
    #[error("catalogue line {line}: {reason}")]
    CatalogueLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Two catalogue items share an id.
    #[error("catalogue line {line}: duplicate item id `{id}` (first on line {first_line})")]
    DuplicateItem {
        /// The id.
        id: String,
        /// Line of the repeat.
        line: usize,
        /// Line where the id first appeared.
        first_line: usize,
    },
    /// An events line is invalid.
    #[error("events line {line}: {reason}")]
    EventLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// An item id that the catalogue does not have.
    #[error("unknown item id `{0}`")]
    UnknownItem(String),
    /// Something that needs the encoder (feedback text) came before the model
    /// was loaded: a recommender made from the catalogue index alone ranks and
    /// learns from items, and reads text once a model is attached.
    #[error("{what} needs the model, which is not loaded yet")]
    ModelNotLoaded {
        /// What needed it ("feedback text").
        what: &'static str,
    },
    /// A caller-supplied value is out of range or not a number.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// Which parameter.
        what: &'static str,
        /// Why it is rejected.
        reason: String,
    },

    // === Compute ===
    /// The tensor engine failed while running the model.
    #[error("model compute failed: {0}")]
    Compute(String),
    /// The GPU path failed where the caller asked for it explicitly (the
    /// automatic backend never returns this: it falls back to the CPU).
    #[cfg(feature = "gpu")]
    #[error(transparent)]
    Gpu(#[from] GpuError),
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

impl Error {
    /// A stable name for the kind of failure, for callers that branch on it
    /// rather than on the message: the JS bindings throw an `Error` with this
    /// `name`. `Corrupt`: bytes that are not a valid bundle, index or profile;
    /// `UnsupportedVersion`: a file from a newer writer; `ModelMismatch`: files
    /// made with different models; `UnknownItem`: an id the catalogue lacks;
    /// `ModelNotLoaded`: text before the model arrived (wait for it, or ask
    /// again later); `InvalidInput`: any other input out of range or malformed; `Compute`,
    /// `Gpu`, `Io`: the model, the GPU or the file system failed.
    pub fn name(&self) -> &'static str {
        match self {
            Error::Truncated { .. }
            | Error::BadMagic { .. }
            | Error::ChecksumMismatch { .. }
            | Error::Malformed { .. }
            | Error::Container(_)
            | Error::Metadata { .. }
            | Error::Config(_)
            | Error::MissingTensor(_)
            | Error::TensorShape { .. }
            | Error::TensorType { .. }
            | Error::Tokenizer(_)
            | Error::UnknownQuant(_) => "Corrupt",
            Error::UnsupportedVersion { .. } => "UnsupportedVersion",
            Error::ModelMismatch { .. } => "ModelMismatch",
            Error::UnknownItem(_) => "UnknownItem",
            Error::ModelNotLoaded { .. } => "ModelNotLoaded",
            Error::CatalogueLine { .. }
            | Error::DuplicateItem { .. }
            | Error::EventLine { .. }
            | Error::InvalidInput { .. } => "InvalidInput",
            Error::Compute(_) => "Compute",
            #[cfg(feature = "gpu")]
            Error::Gpu(_) => "Gpu",
            Error::Io { .. } => "Io",
        }
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Compute(e.to_string())
    }
}

#[cfg(feature = "gpu")]
/// What went wrong on the GPU. None of these reach callers of the automatic
/// backend: they switch it to the CPU.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GpuError {
    /// No adapter (no WebGPU in this browser, no Vulkan driver).
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),
    /// The device could not be opened, or reported an error.
    #[error("GPU device error: {0}")]
    Device(String),
    /// The device was lost or destroyed.
    #[error("the GPU device was lost")]
    DeviceLost,
    /// Reading results back failed.
    #[error("GPU readback failed: {0}")]
    Readback(String),
    /// A buffer would exceed the adapter's limits.
    #[error("{what} needs {bytes} bytes, over the GPU limit of {limit}")]
    TooLarge {
        /// Which buffer.
        what: String,
        /// Bytes it needs.
        bytes: u64,
        /// The adapter's limit.
        limit: u64,
    },
    /// Inputs of the wrong shape.
    #[error("wrong shape for the GPU: {0}")]
    Shape(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_group_failures_by_what_a_caller_does_about_them() {
        let corrupt = Error::Truncated {
            kind: FileKind::Profile,
            needed: 40,
            available: 3,
        };
        assert_eq!(corrupt.name(), "Corrupt");
        assert_eq!(Error::UnknownItem("x".into()).name(), "UnknownItem");
        let bad = Error::InvalidInput {
            what: "k",
            reason: "0".into(),
        };
        assert_eq!(bad.name(), "InvalidInput");
        assert_eq!(Error::Compute("nan".into()).name(), "Compute");
        let early = Error::ModelNotLoaded {
            what: "feedback text",
        };
        assert_eq!(early.name(), "ModelNotLoaded");
        assert_eq!(
            early.to_string(),
            "feedback text needs the model, which is not loaded yet"
        );
    }
}
