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

    /// Options that do not go together, or do not apply to what was named.
    #[error("{message}")]
    #[diagnostic(code(reconcile::usage))]
    Usage {
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

    #[error("Interrupted: nothing was written (the transaction was rolled back)")]
    #[diagnostic(code(reconcile::interrupted))]
    Interrupted,

    #[error("{0}")]
    #[diagnostic(code(reconcile::io))]
    Io(String),

    /// A state command (`state`, `import`) refused: an unknown address, an address already
    /// taken, a row that is not there or already managed.
    #[error("{message}")]
    #[diagnostic(code(reconcile::state))]
    State {
        message: String,
        #[help]
        help: Option<String>,
    },

    #[error("review: {message}")]
    #[diagnostic(code(reconcile::review))]
    Review {
        message: String,
        #[help]
        help: Option<String>,
    },

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

/// Where the password of a database URL sits: the byte range of the URL's password
/// component, between the first `:` of the user information and its end. The user
/// information ends at the URL's last `@`, so a password holding a raw `/`, `?`, `#` or `@`
/// (which the URL should percent-encode, but people paste) is still found whole; an `@` in
/// the query string can only make more of the URL count as secret, never less.
fn password_range(url: &str) -> Option<std::ops::Range<usize>> {
    let start = url.find("://")? + 3;
    let at = start + url[start..].rfind('@')?;
    let colon = start + url[start..at].find(':')?;
    Some(colon + 1..at)
}

/// Removes the password from a database URL so it can be shown: `postgres://app:***@db/app`.
pub fn redact_url(url: &str) -> String {
    match password_range(url) {
        Some(r) => format!("{}***{}", &url[..r.start], &url[r.end..]),
        None => url.to_string(),
    }
}

/// The URL without its password (`postgres://app@db/app`), and whether it held one: what a
/// saved plan may record of the database it was made against.
pub fn strip_password(url: &str) -> (String, bool) {
    match password_range(url) {
        Some(r) if !r.is_empty() => (format!("{}{}", &url[..r.start - 1], &url[r.end..]), true),
        Some(r) => (format!("{}{}", &url[..r.start - 1], &url[r.end..]), false),
        None => (url.to_string(), false),
    }
}

/// The host, port, database and options of a URL: everything after its user information.
pub fn after_userinfo(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.rfind('@').map_or(rest, |at| &rest[at + 1..])
}

/// `%2F` → `/`: a URL component as the driver reads it.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A message about a database with its URL's password removed, should it quote the URL or
/// its user information (as given, or percent-decoded as the driver reads it). The password
/// is removed as the URL's component (`user:password@`), never by searching for its text
/// alone: a one-letter password must not mask the letters of other words.
pub fn scrub_url(url: &str, message: &str) -> String {
    let Some(range) = password_range(url) else {
        return message.to_string();
    };
    let mut out = message.replace(url, &redact_url(url));
    let user_start = url.find("://").map_or(0, |i| i + 3);
    let user = &url[user_start..range.start - 1];
    let password = &url[range.clone()];
    for (u, p) in [
        (user.to_string(), password.to_string()),
        (percent_decode(user), percent_decode(password)),
    ] {
        if !p.is_empty() {
            out = out.replace(&format!("{u}:{p}@"), &format!("{u}:***@"));
        }
    }
    out
}

/// Advice for a URL whose password holds characters a URL must percent-encode: the driver
/// reads such a URL as another host or port.
pub fn url_password_help(url: &str) -> Option<String> {
    let password = &url[password_range(url)?];
    let bad: Vec<String> = ['/', '?', '#', '@', ':']
        .into_iter()
        .filter(|c| password.contains(*c))
        .map(|c| format!("`{c}` as `%{:02X}`", c as u32))
        .collect();
    (!bad.is_empty()).then(|| {
        format!(
            "the password holds characters a URL must percent-encode: write {}",
            bad.join(", ")
        )
    })
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
    fn passwords_are_stripped_whole() {
        assert_eq!(
            strip_password("postgres://bob:s3c/r@t@db:5432/app?sslmode=require"),
            (
                "postgres://bob@db:5432/app?sslmode=require".to_string(),
                true
            )
        );
        assert_eq!(
            strip_password("mysql://root@127.0.0.1/test"),
            ("mysql://root@127.0.0.1/test".to_string(), false)
        );
        assert_eq!(
            strip_password("postgres://bob:@db/app"),
            ("postgres://bob@db/app".to_string(), false)
        );
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("postgres://bob:s3cret@db:5432/app"),
            "postgres://bob:***@db:5432/app"
        );
        assert_eq!(redact_url("sqlite://reconcile.db"), "sqlite://reconcile.db");
        assert_eq!(redact_url("mysql://root@h/x"), "mysql://root@h/x");
        assert_eq!(
            redact_url("postgres://u:pa/ss@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            redact_url("postgres://u:p@ss@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            redact_url("postgres://u:p%2Fw@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            redact_url("postgres://u:e@h:1/db?x=1"),
            "postgres://u:***@h:1/db?x=1"
        );
        assert_eq!(after_userinfo("postgres://u:pa/ss@h/db"), "h/db");
    }

    #[test]
    fn messages_lose_the_password_component_only() {
        let url = "postgres://u:e@h/db";
        // A one-letter password masks nothing but itself.
        assert_eq!(
            scrub_url(url, "cannot connect: error (postgres://u:e@h/db)"),
            "cannot connect: error (postgres://u:***@h/db)"
        );
        let url = "mysql://root:error@h/db";
        assert_eq!(
            scrub_url(url, "error returned from database for root:error@h"),
            "error returned from database for root:***@h"
        );
        let url = "postgres://u:p%2Fw@h/db";
        assert_eq!(scrub_url(url, "u:p/w@h refused"), "u:***@h refused");
        assert_eq!(
            url_password_help("postgres://u:pa/ss@h/db").as_deref(),
            Some("the password holds characters a URL must percent-encode: write `/` as `%2F`")
        );
        assert_eq!(url_password_help("postgres://u:p%2Fw@h/db"), None);
    }
}
