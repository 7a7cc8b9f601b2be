//! The one error type: only building a filter and loading files can fail.

use std::fmt;
use std::path::{Path, PathBuf};

/// An error from building a [`Filter`](crate::Filter), loading a policy or a
/// model, or parsing input for the example tools.
///
/// The message names the bad value and, where there is one, the file and
/// line. [`std::error::Error::source`] keeps the underlying cause.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
}

#[derive(Debug)]
enum ErrorKind {
    Policy {
        location: Option<String>,
        message: String,
    },
    InvalidInput(String),
    Model {
        path: Option<PathBuf>,
        message: String,
    },
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    /// A bad policy; `location` is "file:line" or "key" when known.
    pub(crate) fn policy(location: Option<String>, message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Policy {
                location,
                message: message.into(),
            },
        }
    }

    /// Input that a parser rejected (a label, a line of a data file).
    pub(crate) fn invalid_input(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::InvalidInput(message.into()),
        }
    }

    /// A model that could not be read: foreign, truncated, corrupt or too new.
    pub(crate) fn model(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Model {
                path: None,
                message: message.into(),
            },
        }
    }

    /// The same model error, naming the file it came from.
    pub(crate) fn in_file(self, file: &Path) -> Error {
        match self.kind {
            ErrorKind::Model { message, .. } => Error {
                kind: ErrorKind::Model {
                    path: Some(file.to_path_buf()),
                    message,
                },
            },
            kind => Error { kind },
        }
    }

    /// A file that could not be read or written.
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
        Error {
            kind: ErrorKind::Io {
                path: path.to_path_buf(),
                source,
            },
        }
    }

    /// True when the error is about a model file or model bytes.
    pub fn is_model(&self) -> bool {
        matches!(self.kind, ErrorKind::Model { .. })
    }

    /// True when the error is about a policy.
    pub fn is_policy(&self) -> bool {
        matches!(self.kind, ErrorKind::Policy { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Policy {
                location: Some(at),
                message,
            } => write!(f, "bad policy at {at}: {message}"),
            ErrorKind::Policy {
                location: None,
                message,
            } => write!(f, "bad policy: {message}"),
            ErrorKind::Model {
                path: Some(path),
                message,
            } => write!(f, "bad model {}: {message}", path.display()),
            ErrorKind::Model {
                path: None,
                message,
            } => write!(f, "bad model: {message}"),
            ErrorKind::InvalidInput(message) => write!(f, "invalid input: {message}"),
            ErrorKind::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
