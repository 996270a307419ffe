//! Every failure the tool reports, worded for people, in one place. Each error says where
//! (file:line:column, source row, database), what was expected, and what to do about it.

use std::path::PathBuf;
use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A problem in a spec file, with its position and, where there is one, a suggested fix.
#[derive(Debug, Error, Diagnostic, Clone)]
#[error("{file}:{line}:{column}: {path}{message}")]
pub struct SpecProblem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The field path, e.g. `target.fields.email.type: `, or empty at the top level.
    pub path: String,
    pub message: String,
    #[help]
    pub help: Option<String>,
    #[source_code]
    pub src: Option<Arc<NamedSource<String>>>,
    #[label("here")]
    pub span: Option<SourceSpan>,
}

/// One or more spec problems, gathered so the user sees them all at once.
#[derive(Debug, Error, Diagnostic)]
#[error("{} in {file}", plural(.problems.len(), "problem"))]
#[diagnostic(code(reconcile::spec))]
pub struct SpecErrors {
    pub file: String,
    #[related]
    pub problems: Vec<SpecProblem>,
}

/// A problem in a source file or one of its records.
#[derive(Debug, Error, Diagnostic, Clone)]
#[error("source `{source_name}` ({file}){}: {message}", .row.as_ref().map(|r| format!(", {r}")).unwrap_or_default())]
pub struct SourceProblem {
    pub source_name: String,
    pub file: String,
    /// "row 4", "line 12", "record 3 (id 17)".
    pub row: Option<String>,
    pub message: String,
}

/// One or more source problems.
#[derive(Debug, Error, Diagnostic)]
#[error("{} in the sources", plural(.problems.len(), "problem"))]
#[diagnostic(
    code(reconcile::source),
    help("fix the rows named above in the source files; nothing was written")
)]
pub struct SourceErrors {
    #[related]
    pub problems: Vec<SourceProblem>,
}

#[derive(Debug, Error, Diagnostic)]
pub enum Error {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Spec(#[from] SpecErrors),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Sources(#[from] SourceErrors),

    #[error("cannot read spec {}: {reason}", .path.display())]
    #[diagnostic(
        code(reconcile::spec_missing),
        help("pass the spec with `-f PATH`, or create one with `reconcile init`")
    )]
    SpecNotFound { path: PathBuf, reason: String },

    #[error("database {url}: {message}")]
    #[diagnostic(code(reconcile::database))]
    Database {
        /// The URL with any password removed.
        url: String,
        message: String,
        #[help]
        help: Option<String>,
    },

    #[error("the plan cannot be applied: {message}")]
    #[diagnostic(code(reconcile::plan))]
    Plan {
        message: String,
        #[help]
        help: Option<String>,
    },

    #[error("{} already exists; `reconcile init` never overwrites a file", .path.display())]
    #[diagnostic(
        code(reconcile::init),
        help("name another file (`reconcile init PATH`), or move the existing one away first")
    )]
    Init { path: PathBuf },

    #[error("apply cancelled: {0}")]
    #[diagnostic(code(reconcile::cancelled))]
    Cancelled(String),

    #[error("{0}")]
    #[diagnostic(code(reconcile::io))]
    Io(String),

    #[error("evaluate: {message}")]
    #[diagnostic(code(reconcile::evaluate))]
    Evaluate {
        message: String,
        #[help]
        help: Option<String>,
    },
}

impl Error {
    pub fn database(url: &str, err: impl std::fmt::Display) -> Self {
        Error::Database {
            url: redact_url(url),
            message: err.to_string(),
            help: None,
        }
    }
}

/// Removes the password from a database URL so it can be shown.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                format!("{scheme}://{user}@{host}{tail}")
            }
        }
        None => url.to_string(),
    }
}

pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("postgres://bob:s3cret@db:5432/app"),
            "postgres://bob:***@db:5432/app"
        );
        assert_eq!(redact_url("sqlite://reconcile.db"), "sqlite://reconcile.db");
        assert_eq!(redact_url("mysql://root@h/x"), "mysql://root@h/x");
    }
}
