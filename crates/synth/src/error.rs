//! Why generation can fail: the configuration, or writing a named file.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// A failure to generate; file failures name the file.
#[derive(Debug, Error)]
pub enum SynthError {
    /// The configuration asks for something impossible.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A folder could not be created.
    #[error("cannot create directory `{}`: {source}", path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    /// A file could not be created or written.
    #[error("cannot write `{}`: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    /// A CSV row could not be written.
    #[error("cannot write CSV to `{}`: {source}", path.display())]
    Csv { path: PathBuf, source: csv::Error },
}
