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
#[error(
    "source `{source_name}` ({file}){}: {message}{}",
    .row.as_ref().map(|r| format!(", {r}")).unwrap_or_default(),
    // Shown in the message: a list of related problems shows each one's text only.
    .help.as_ref().map(|h| format!("\n      help: {h}")).unwrap_or_default()
)]
pub struct SourceProblem {
    pub source_name: String,
    pub file: String,
    /// "row 4", "line 12", "record 3 (id 17)"; `None` for the source as a whole.
    pub row: Option<String>,
    pub message: String,
    /// What to do about it, when there is more to say than the message (a did-you-mean).
    pub help: Option<String>,
}

/// One or more source problems.
#[derive(Debug, Error)]
#[error("{} in the sources", plural(.problems.len(), "problem"))]
pub struct SourceErrors {
    pub problems: Vec<SourceProblem>,
}

/// Values that fail their field type, in strict mode (`invalid: error` or `--strict`).
#[derive(Debug, Error, Diagnostic)]
#[error("{} in the sources (strict mode)", plural(.problems.len(), "invalid value"))]
#[diagnostic(
    code(reconcile::invalid),
    help(
        "fix the values named above in the source files; nothing was written. Without \
         `--strict` and `invalid: error` they are listed in the plan and left out"
    )
)]
pub struct InvalidValues {
    #[related]
    pub problems: Vec<SourceProblem>,
}

impl Diagnostic for SourceErrors {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new("reconcile::source"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        // A mapping that names what the data lacks is fixed in the spec (or the file); a bad
        // row, in the file.
        Some(Box::new(
            if self.problems.iter().any(|p| p.help.is_some()) {
                "fix the mappings or files named above; nothing was written"
            } else {
                "fix the rows named above in the source files; nothing was written"
            },
        ))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.problems.iter().map(|p| p as &dyn Diagnostic)))
    }
}

#[derive(Debug, Error, Diagnostic)]
pub enum Error {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Spec(#[from] SpecErrors),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Sources(#[from] SourceErrors),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(#[from] InvalidValues),

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
