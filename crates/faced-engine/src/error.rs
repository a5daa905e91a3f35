use std::path::PathBuf;

/// Everything that can go wrong inside the engine that is not a property of the input image.
///
/// Image problems are [`crate::decode::DecodeError`]; these are model and set-up faults,
/// which the service reports as internal errors rather than as bad input.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A model file is missing: the operator has not fetched the pack yet.
    #[error("model file {path} is missing; run `faced models fetch`")]
    MissingModel { path: PathBuf },
    /// A model file is present but differs from the pinned digest (corrupt or tampered).
    #[error("model file {path} has sha256 {actual}, expected {expected}")]
    DigestMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    /// Reading a model file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The inference backend refused to load or run a network.
    #[error("inference failed in {model}: {message}")]
    Inference {
        model: &'static str,
        message: String,
    },
}
