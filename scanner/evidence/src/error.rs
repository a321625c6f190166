//! The crate's one error type. What leaves: [`EvidenceError::Invalid`]
//! for a scan record or a package (a previous one, or one verified) that
//! does not read as expected, [`EvidenceError::Io`] for a package file that
//! could not be written or read. Nothing enters; no other module is used.

/// Why a record or package could not be read, or a package not written.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// A scan record, package file or generated exception that does not
    /// read as expected; displays as `what: message`.
    #[error("{what}: {message}")]
    Invalid {
        /// What was read: the record's source, or the file's name or path.
        what: String,
        /// What is wrong with it.
        message: String,
    },
    /// A package file or directory that could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
