//! The crate's one error type. What leaves: [`EvidenceError::Invalid`]
//! for a scan record or a package (a previous one, or one verified) that
//! does not read as expected, [`EvidenceError::Io`] for a package file that
//! could not be written or read. Nothing enters; no other module is used.

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}
