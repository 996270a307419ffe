//! Errors for people, in the shape cargo and rustc users know: a headline, the place as
//! `file:line:column`, the offending line with a caret under the token, and what to do.
//! Every spec problem is shown, not only the first. Styles are ANSI; the caller's stream
//! strips them when stderr is not a terminal or `NO_COLOR` is set. Every message is escaped
//! here (line breaks aside) before its style is added: messages quote ids, values and names
//! from sources, and none of their control characters may reach the terminal.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use miette::Diagnostic as _;

use super::safe::term_lines as clean;
use crate::error::{Error, SpecProblem, plural};

const ERROR: Style = AnsiColor::Red.on_default().bold();
const GUTTER: Style = AnsiColor::Blue.on_default().bold();
const CARET: Style = AnsiColor::Red.on_default().bold();
const HELP: Style = AnsiColor::Cyan.on_default().bold();
const BOLD: Style = Style::new().bold();

fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}

/// Renders an error, with every problem it carries, ending in a newline.
pub fn render(err: &Error) -> String {
    let mut out = String::new();
    match err {
        Error::Spec(spec) => {
            for p in &spec.problems {
                problem(&mut out, p);
            }
            let _ = writeln!(
                out,
                "{}: {} in {}; nothing was written",
                paint(ERROR, "error"),
                paint(BOLD, plural(spec.problems.len(), "problem")),
                clean(&spec.file)
            );
        }
        // Not an error of the user's: said plainly, as asked.
        Error::Interrupted => {
            let _ = writeln!(out, "{}", paint(BOLD, err));
        }
        other => {
            let _ = writeln!(
                out,
                "{}: {}",
                paint(ERROR, "error"),
                paint(BOLD, clean(&other.to_string()))
            );
            if let Some(related) = other.related() {
                for r in related {
                    let _ = writeln!(out, "  - {}", clean(&r.to_string()));
                }
            }
            if let Some(help) = other.help() {
                let _ = writeln!(
                    out,
                    "  {} {}",
                    paint(HELP, "= help:"),
                    clean(&help.to_string())
                );
            }
        }
    }
    out
}

/// One spec problem: headline, location, the line with a caret, help.
fn problem(out: &mut String, p: &SpecProblem) {
    let _ = writeln!(
        out,
        "{}: {}",
        paint(ERROR, "error"),
        paint(BOLD, clean(&format!("{}{}", p.path, p.message)))
    );
    let snippet = p
        .src
        .as_ref()
        .zip(p.span)
        .filter(|_| p.line > 0)
        .map(|(src, span)| (src.inner().as_str(), span.offset()));
    let Some((text, offset)) = snippet else {
        let _ = writeln!(out, "  {} {}", paint(GUTTER, "-->"), clean(&p.file));
        if let Some(help) = &p.help {
            let _ = writeln!(out, "  {} {}", paint(HELP, "= help:"), clean(help));
        }
        out.push('\n');
        return;
    };
    let number = p.line.to_string();
    let pad = " ".repeat(number.len());
    let _ = writeln!(
        out,
        "{pad}{} {}:{}:{}",
        paint(GUTTER, "-->"),
        clean(&p.file),
        p.line,
        p.column
    );
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = super::safe::term(text[start..end].trim_end_matches('\r'));
    let indent: String = text[start..offset.min(end)]
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let width = token_len(&text[offset.min(end)..end]).max(1);
    let _ = writeln!(out, "{pad} {}", paint(GUTTER, "|"));
    let _ = writeln!(
        out,
        "{} {} {line}",
        paint(GUTTER, &number),
        paint(GUTTER, "|")
    );
    let _ = writeln!(
        out,
        "{pad} {} {indent}{}",
        paint(GUTTER, "|"),
        paint(CARET, "^".repeat(width))
    );
    if let Some(help) = &p.help {
        let _ = writeln!(out, "{pad} {} {}", paint(HELP, "= help:"), clean(help));
    }
    out.push('\n');
}

/// Characters of the YAML token starting `rest`: a quoted scalar with its quotes, a flow
/// collection up to its closing bracket on the same line, or a plain scalar up to the next
/// separator. Measured in characters, since the caret line is drawn in characters.
fn token_len(rest: &str) -> usize {
    let mut chars = rest.char_indices();
    let Some((_, first)) = chars.next() else {
        return 0;
    };
    let end = match first {
        '"' | '\'' => {
            let mut escaped = false;
            let mut end = rest.len();
            for (i, c) in rest.char_indices().skip(1) {
                if first == '"' && c == '\\' && !escaped {
                    escaped = true;
                    continue;
                }
                if c == first && !escaped {
                    end = i + c.len_utf8();
                    break;
                }
                escaped = false;
            }
            end
        }
        '[' | '{' => {
            let close = if first == '[' { ']' } else { '}' };
            let mut depth = 0usize;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                if c == first {
                    depth += 1;
                } else if c == close {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
            }
            end
        }
        _ => {
            let mut end = rest.len();
            let bytes = rest.as_bytes();
            for (i, c) in rest.char_indices() {
                let next_is_space = bytes.get(i + 1).is_none_or(|b| *b == b' ');
                if matches!(c, ',' | ']' | '}')
                    || (c == ':' && next_is_space)
                    || (c == '#' && i > 0 && bytes[i - 1] == b' ')
                {
                    end = i;
                    break;
                }
            }
            end
        }
    };
    rest[..end].trim_end().chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_measured_as_yaml_reads_them() {
        assert_eq!(token_len("threshhold: 0.9"), "threshhold".len());
        assert_eq!(token_len("emial }"), 5);
        assert_eq!(token_len("\"a, b\" # x"), 6);
        assert_eq!(token_len("[prodution, import]"), 19);
        assert_eq!(token_len("prodution, import]"), 9);
        assert_eq!(token_len("0.9   # comment"), 3);
        assert_eq!(token_len("http://x:80/y"), 13);
        assert_eq!(token_len(""), 0);
    }
}
