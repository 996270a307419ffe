//! What may be shown of data that came from outside: the one place that masks sensitive
//! values, escapes text before it reaches a terminal, and shortens long values.
//!
//! Text from sources (ids, values, column and rule names, keys) can hold escape sequences
//! that retitle a terminal, clear it or hide lines, and bidirectional controls that make a
//! line read differently from what it holds. Every printed place passes such text through
//! [`term`] (or [`term_lines`] for messages of several lines), which shows each of those
//! characters as an escape (`\u{1b}`) instead. Values of `sensitive: true` fields are shown as
//! [`MASK`] wherever a value would appear, through [`value`].

use std::borrow::Cow;

use crate::value::Value;

pub use crate::value::MASK;

/// Printed values longer than this many characters are shortened (see [`value`]).
pub const VALUE_CHARS: usize = 200;

/// Characters that must never reach a terminal as they are: C0 and C1 controls, DEL, and the
/// bidirectional controls (embeddings, overrides, isolates and marks).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
}

fn escape(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_here = |c: char| is_unsafe(c) && !(keep_newlines && c == '\n');
    if !s.chars().any(unsafe_here) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !unsafe_here(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

/// One line of text as it may be printed: every control and bidi character escaped, line
/// breaks included.
pub fn term(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// Text of several lines as it may be printed: as [`term`], but line breaks are kept.
pub fn term_lines(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

/// Whether text looks like bytes rather than words: it holds a NUL or a control character
/// other than a tab or a line break. Such text is never printed beyond [`VALUE_CHARS`].
pub fn binaryish(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// A value as printed on one line: [`MASK`] when its field is sensitive, otherwise as written
/// in a plan (text quoted and escaped). Text over [`VALUE_CHARS`] characters is cut there and
/// says how much was cut, unless `full` is set and the text is not [`binaryish`].
pub fn value(v: &Value, sensitive: bool, full: bool) -> String {
    if sensitive && !v.is_null() {
        return MASK.into();
    }
    match v {
        Value::Text(s) if s.chars().count() > VALUE_CHARS && (!full || binaryish(s)) => {
            let kept: String = s.chars().take(VALUE_CHARS).collect();
            let cut = s.chars().count() - VALUE_CHARS;
            format!(
                "{}… ({} more characters{})",
                Value::Text(kept),
                super::words::count(cut),
                if full {
                    "; not text, so `--full` keeps it cut"
                } else {
                    "; `--full` shows them"
                }
            )
        }
        other => other.to_string(),
    }
}

/// A database's message with the sensitive values it may quote (`secrets`) masked. Servers
/// quote the value of a row they refuse (MariaDB: `Duplicate entry 'x' for key 'ssn'`;
/// PostgreSQL: `invalid input syntax for type integer: "x"`): every quoted part that is a
/// secret, or holds one of at least four characters, is masked. A secret of eight characters
/// or more is masked wherever it appears; shorter ones are not searched for outside quotes, so
/// that a one-letter value never masks letters of other words.
pub fn scrub_values(message: &str, secrets: &[&str]) -> String {
    if secrets.is_empty() {
        return message.to_string();
    }
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find(['\'', '"', '`']) {
        let quote = rest[open..].chars().next().unwrap_or('\'');
        let body_start = open + quote.len_utf8();
        let Some(len) = rest[body_start..].find(quote) else {
            break;
        };
        let body = &rest[body_start..body_start + len];
        out.push_str(&rest[..body_start]);
        let secret = secrets
            .iter()
            .any(|s| !s.is_empty() && (body == *s || (s.chars().count() >= 4 && body.contains(s))));
        out.push_str(if secret { MASK } else { body });
        out.push(quote);
        rest = &rest[body_start + len + quote.len_utf8()..];
    }
    out.push_str(rest);
    for s in secrets {
        if s.chars().count() >= 8 {
            out = out.replace(s, MASK);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_escaped() {
        assert_eq!(term("s:7\u{1b}]0;pwned\u{7}"), "s:7\\u{1b}]0;pwned\\u{7}");
        assert_eq!(term("a\rb\nc"), "a\\rb\\nc");
        assert_eq!(term_lines("a\rb\nc"), "a\\rb\nc");
        assert_eq!(
            term("x\u{202E}y\u{2066}z\u{85}"),
            "x\\u{202e}y\\u{2066}z\\u{85}"
        );
        assert!(matches!(term("Café Zoë"), Cow::Borrowed(_)));
    }

    #[test]
    fn values_are_masked_and_shortened() {
        let long = Value::Text("x".repeat(1000));
        assert_eq!(value(&Value::Text("s".into()), true, false), MASK);
        assert_eq!(value(&Value::Null, true, false), "null");
        let shown = value(&long, false, false);
        assert!(
            shown.starts_with(&format!("\"{}\"", "x".repeat(200))),
            "{shown}"
        );
        assert!(shown.contains("(800 more characters"), "{shown}");
        assert_eq!(value(&long, false, true), long.to_string());
        let bytes = Value::Text("\u{0}".repeat(300));
        assert!(value(&bytes, false, true).contains("100 more characters"));
        assert_eq!(
            value(&Value::Text("a\u{1b}".into()), false, false),
            "\"a\\u{1b}\""
        );
    }

    #[test]
    fn quoted_secrets_are_masked_in_driver_messages() {
        assert_eq!(
            scrub_values("Duplicate entry 'SSN-1' for key 'ssn'", &["SSN-1"]),
            "Duplicate entry '(sensitive value)' for key 'ssn'"
        );
        assert_eq!(
            scrub_values("Duplicate entry 'SSN-1-x@y.z' for key 'u'", &["SSN-1"]),
            "Duplicate entry '(sensitive value)' for key 'u'"
        );
        // A short secret masks only a quoted part that is exactly it.
        assert_eq!(
            scrub_values("error in 'e' near \"email\"", &["e"]),
            "error in '(sensitive value)' near \"email\""
        );
        assert_eq!(
            scrub_values("value CANARY-LONG-1 refused", &["CANARY-LONG-1"]),
            "value (sensitive value) refused"
        );
        assert_eq!(scrub_values("it's fine", &["x"]), "it's fine");
    }
}
