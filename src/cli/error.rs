//! Failure reporting: which errors are the user's input (exit code 2) and which are runtime
//! failures (exit code 1), and how both are printed.

use std::process::ExitCode;

use persona_engine::DbError;
use persona_engine::registry::RegistryError;

/// Exit code for invalid input: bad files, validation problems, unknown names, bad URLs.
pub const EXIT_INVALID: u8 = 2;
/// Exit code for runtime failures: unreachable databases, failed statements, I/O.
pub const EXIT_FAILURE: u8 = 1;

/// The user's input is wrong; `problems` each name the file (or argument) and the field.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct InvalidInput {
    pub message: String,
    pub problems: Vec<String>,
}

impl InvalidInput {
    /// An input error with no itemized problems.
    pub fn new(message: impl Into<String>) -> Self {
        InvalidInput {
            message: message.into(),
            problems: Vec::new(),
        }
    }

    /// An input error listing `problems`.
    pub fn with_problems(message: impl Into<String>, problems: Vec<String>) -> Self {
        InvalidInput {
            message: message.into(),
            problems,
        }
    }
}

/// Whether `err` (anywhere in its chain) is the user's input being wrong.
fn is_invalid_input(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<InvalidInput>()
            || cause.downcast_ref::<RegistryError>().is_some_and(|e| {
                matches!(
                    e,
                    RegistryError::NotFound(_)
                        | RegistryError::VersionNotFound { .. }
                        | RegistryError::DuplicateName(_)
                        | RegistryError::InvalidName { .. }
                        | RegistryError::UnsupportedUrl(_)
                        | RegistryError::InvalidUrl { .. }
                )
            })
            || cause.downcast_ref::<DbError>().is_some_and(|e| {
                matches!(e, DbError::UnsupportedUrl(_) | DbError::InvalidUrl { .. })
            })
    })
}

/// The error and its causes joined by `: `, skipping a cause whose text an earlier message
/// already quotes (library errors often show their source inline).
fn message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Print `err` (and its problems) on stderr and return the exit code it deserves.
pub fn report(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {}", message(err));
    if let Some(invalid) = err.chain().find_map(|c| c.downcast_ref::<InvalidInput>()) {
        for problem in &invalid.problems {
            // Continuation lines (a source excerpt under a parse error) stay under their item.
            eprintln!("  {}", problem.replace('\n', "\n  "));
        }
    }
    ExitCode::from(if is_invalid_input(err) {
        EXIT_INVALID
    } else {
        EXIT_FAILURE
    })
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;

    #[test]
    fn causes_already_quoted_are_not_repeated() {
        let root = std::io::Error::other("connection refused");
        let quoted = anyhow::Error::new(root).context("cannot connect: connection refused");
        assert_eq!(message(&quoted), "cannot connect: connection refused");
        let plain = anyhow::Error::new(std::io::Error::other("disk full")).context("writing x");
        assert_eq!(message(&plain), "writing x: disk full");
    }

    #[test]
    fn input_errors_are_recognized_through_context() {
        let not_found: anyhow::Error = RegistryError::NotFound("x".into()).into();
        assert!(is_invalid_input(&not_found.context("loading x")));
        let bad_url: anyhow::Error = DbError::UnsupportedUrl("http://x".into()).into();
        assert!(is_invalid_input(&bad_url));
        let wrapped = Err::<(), _>(InvalidInput::new("bad")).context("while importing");
        assert!(is_invalid_input(&wrapped.unwrap_err()));
        let runtime = anyhow::anyhow!("connection refused");
        assert!(!is_invalid_input(&runtime));
    }
}
