//! Spec problems gathered while a spec is checked, each placed at its file, line and column
//! by a JSON pointer into the document, so that every message sends the user to the spot.

use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

use super::yaml::{Located, Location};
use crate::error::{Error, Result, SpecErrors, SpecProblem};

/// Gathers problems in one spec file, each placed at a JSON pointer into the document.
pub struct Reporter<'a> {
    pub file: String,
    src: Arc<NamedSource<String>>,
    located: &'a Located,
    pub problems: Vec<SpecProblem>,
}

impl<'a> Reporter<'a> {
    pub fn new(file: String, text: &str, located: &'a Located) -> Self {
        Reporter {
            src: Arc::new(NamedSource::new(file.clone(), text.to_string())),
            file,
            located,
            problems: Vec::new(),
        }
    }

    /// The 1-based line of the node at `pointer` (0 when it is not in the file).
    pub fn line_of(&self, pointer: &str) -> usize {
        self.located.locate_value(pointer).line
    }

    /// A problem with the node at `pointer`, shown at its key.
    pub fn at(&mut self, pointer: &str, message: impl Into<String>, help: Option<String>) {
        let loc = self.located.locate(pointer);
        self.push(loc, pointer, message.into(), help);
    }

    /// A problem with the value at `pointer`, shown at the value.
    pub fn at_value(&mut self, pointer: &str, message: impl Into<String>, help: Option<String>) {
        let loc = self.located.locate_value(pointer);
        self.push(loc, pointer, message.into(), help);
    }

    pub(crate) fn push(
        &mut self,
        loc: Location,
        pointer: &str,
        message: String,
        help: Option<String>,
    ) {
        let path = display_path(pointer);
        self.problems.push(SpecProblem {
            file: self.file.clone(),
            line: loc.line,
            column: loc.column,
            path: if path.is_empty() {
                String::new()
            } else {
                format!("{path}: ")
            },
            message,
            help,
            src: Some(self.src.clone()),
            span: (loc.line > 0).then(|| SourceSpan::from((loc.offset, 1))),
        });
    }

    pub fn finish(mut self) -> Result<()> {
        if self.problems.is_empty() {
            return Ok(());
        }
        self.problems
            .sort_by_key(|p| (p.line, p.column, p.message.clone()));
        self.problems
            .dedup_by(|a, b| a.line == b.line && a.column == b.column && a.message == b.message);
        Err(Error::Spec(SpecErrors {
            file: self.file,
            problems: self.problems,
        }))
    }
}

/// `/target/fields/email/type` → `target.fields.email.type`; list items as `[2]`.
pub fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.parse::<usize>().is_ok() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}
