//! YAML to JSON with locations. Spec files and YAML sources are read into `serde_json::Value`
//! through the event parser, recording where every node (and every mapping key) sits, so that
//! schema errors, semantic errors and bad source rows can all point at a line and column.
//!
//! Scalars resolve by the YAML 1.2 core schema: plain `yes`, `no`, `on`, `off` stay strings,
//! quoted scalars are always strings. Duplicate keys are an error, not a silent overwrite.
//! Aliases are expanded under a node budget so a "billion laughs" document cannot exhaust memory.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

/// A 1-based line and column in a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    pub line: usize,
    pub column: usize,
    /// Byte offset, for source snippets.
    pub offset: usize,
}

/// A parsed document: its value, and where each node is, keyed by JSON pointer.
#[derive(Debug, Default)]
pub struct Located {
    pub value: Value,
    /// Pointer → location of the node's value.
    pub values: HashMap<String, Location>,
    /// Pointer → location of the mapping key that holds the node.
    pub keys: HashMap<String, Location>,
    /// Keys written twice in one mapping, when parsed with [`parse_collecting_duplicates`]:
    /// the pointer, where the repeat is, and where the first one is. The first value is kept.
    pub duplicates: Vec<Duplicate>,
}

/// A mapping key written a second time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub pointer: String,
    pub key: String,
    pub at: Location,
    pub first: Location,
}

impl Located {
    /// Where to point for a problem with the node at `pointer`: the key that holds it if it is
    /// a mapping entry, else the value, else the nearest ancestor that has a location.
    pub fn locate(&self, pointer: &str) -> Location {
        let mut p = pointer.to_string();
        loop {
            if let Some(l) = self.keys.get(&p).or_else(|| self.values.get(&p)) {
                return *l;
            }
            match p.rfind('/') {
                Some(i) => p.truncate(i),
                None => return Location::default(),
            }
        }
    }

    /// Location of a node's value (not its key).
    pub fn locate_value(&self, pointer: &str) -> Location {
        self.values
            .get(pointer)
            .copied()
            .unwrap_or_else(|| self.locate(pointer))
    }
}

/// A YAML syntax or structure problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    pub location: Location,
}

/// Escapes one JSON-pointer segment.
pub fn escape_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Parses one YAML document. `budget` bounds the number of nodes, aliases expanded included.
/// A duplicate key is an error.
pub fn parse(text: &str, budget: usize) -> Result<Located, YamlError> {
    parse_with(text, budget, false)
}

/// Like [`parse`], but a duplicate key is recorded in [`Located::duplicates`] (the first value
/// is kept) so that it can be reported together with every other problem of a spec.
pub fn parse_collecting_duplicates(text: &str, budget: usize) -> Result<Located, YamlError> {
    parse_with(text, budget, true)
}

fn parse_with(text: &str, budget: usize, collect_duplicates: bool) -> Result<Located, YamlError> {
    // Written nodes take a byte or more each; only aliases multiply them. Bounding the whole
    // by the document's size stops an alias bomb of a few hundred bytes after a few
    // thousand nodes, before it costs time or memory.
    let budget = budget.min(EXPANSION_FLOOR.max(text.len().saturating_mul(EXPANSION_PER_BYTE)));
    let mut builder = Builder {
        text,
        out: Located::default(),
        anchors: HashMap::new(),
        nodes: 0,
        budget,
        char_to_byte: None,
        collect_duplicates,
    };
    let mut parser = Parser::new_from_str(text);
    let mut documents = 0;
    let mut root: Option<Value> = None;
    loop {
        let (event, span) = next(&mut parser, &mut builder)?;
        match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(YamlError {
                        message: "expected one YAML document, found a second one (`---`)".into(),
                        location: builder.loc(span),
                    });
                }
                let (ev, sp) = next(&mut parser, &mut builder)?;
                root = Some(builder.node(&mut parser, ev, sp, String::new())?);
            }
            other => {
                return Err(YamlError {
                    message: format!("unexpected YAML event {other:?}"),
                    location: builder.loc(span),
                });
            }
        }
    }
    builder.out.value = root.unwrap_or(Value::Null);
    Ok(builder.out)
}

fn next<'a>(
    parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
    b: &mut Builder<'_>,
) -> Result<(Event<'a>, Span), YamlError> {
    match parser.next_event() {
        Some(Ok(pair)) => Ok(pair),
        Some(Err(e)) => {
            let m = e.marker();
            Err(YamlError {
                message: e.info().to_string(),
                location: b.loc_marker(m.index(), m.line(), m.col()),
            })
        }
        None => Err(YamlError {
            message: "unexpected end of YAML".into(),
            location: Location::default(),
        }),
    }
}

struct Builder<'t> {
    text: &'t str,
    out: Located,
    /// Each anchor's value and its size in nodes, so an alias is measured before it is copied.
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
    budget: usize,
    /// Char index → byte offset, built lazily for non-ASCII text.
    char_to_byte: Option<Vec<usize>>,
    collect_duplicates: bool,
}

impl Builder<'_> {
    fn loc(&mut self, span: Span) -> Location {
        self.loc_marker(span.start.index(), span.start.line(), span.start.col())
    }

    fn loc_marker(&mut self, char_index: usize, line: usize, col: usize) -> Location {
        let offset = if self.text.is_ascii() {
            char_index.min(self.text.len())
        } else {
            let table = self.char_to_byte.get_or_insert_with(|| {
                let mut t: Vec<usize> = self.text.char_indices().map(|(b, _)| b).collect();
                t.push(self.text.len());
                t
            });
            table.get(char_index).copied().unwrap_or(self.text.len())
        };
        Location {
            line: line.max(1),
            column: col + 1,
            offset,
        }
    }

    fn count(&mut self, span: Span) -> Result<(), YamlError> {
        self.nodes += 1;
        if self.nodes > self.budget {
            return Err(YamlError {
                message: format!(
                    "document too large: more than {} nodes (aliases expanded)",
                    self.budget
                ),
                location: self.loc(span),
            });
        }
        Ok(())
    }

    fn node<'a>(
        &mut self,
        parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
        event: Event<'a>,
        span: Span,
        pointer: String,
    ) -> Result<Value, YamlError> {
        self.count(span)?;
        let location = self.loc(span);
        self.out.values.insert(pointer.clone(), location);
        let (value, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let v = if style != ScalarStyle::Plain || is_str_tag {
                    Value::String(text.into_owned())
                } else {
                    resolve_plain(&text)
                };
                (v, anchor)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (ev, sp) = next(parser, self)?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    let p = format!("{pointer}/{}", items.len());
                    items.push(self.node(parser, ev, sp, p)?);
                }
                (Value::Array(items), anchor)
            }
            Event::MappingStart(anchor, _) => {
                let mut map = Map::new();
                loop {
                    let (ev, sp) = next(parser, self)?;
                    if matches!(ev, Event::MappingEnd) {
                        break;
                    }
                    let key_loc = self.loc(sp);
                    let key = match ev {
                        Event::Scalar(text, ..) => text.into_owned(),
                        _ => {
                            return Err(YamlError {
                                message: "mapping keys must be plain text".into(),
                                location: key_loc,
                            });
                        }
                    };
                    let child = format!("{pointer}/{}", escape_segment(&key));
                    if map.contains_key(&key) {
                        if !self.collect_duplicates {
                            return Err(YamlError {
                                message: format!("duplicate key `{key}`"),
                                location: key_loc,
                            });
                        }
                        let first = self.out.keys.get(&child).copied().unwrap_or_default();
                        self.out.duplicates.push(Duplicate {
                            pointer: child.clone(),
                            key,
                            at: key_loc,
                            first,
                        });
                        // Parse the repeated value under a pointer nothing refers to, so the
                        // first value and its locations stay as they were.
                        let (ev, sp) = next(parser, self)?;
                        let shadow = format!("{pointer}/\u{0}duplicate{}", self.nodes);
                        self.node(parser, ev, sp, shadow)?;
                        continue;
                    }
                    self.out.keys.insert(child.clone(), key_loc);
                    let (ev, sp) = next(parser, self)?;
                    let v = self.node(parser, ev, sp, child)?;
                    map.insert(key, v);
                }
                (Value::Object(map), anchor)
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((v, size)) => {
                    self.nodes += size;
                    if self.nodes > self.budget {
                        return Err(YamlError {
                            message: format!(
                                "document too large: more than {} nodes once its aliases are \
                                 expanded ({} per byte of the document at most); aliases \
                                 repeated within aliases are refused as an alias bomb",
                                self.budget, EXPANSION_PER_BYTE
                            ),
                            location,
                        });
                    }
                    (v.clone(), 0)
                }
                None => {
                    return Err(YamlError {
                        message: "alias to an unknown anchor".into(),
                        location,
                    });
                }
            },
            other => {
                return Err(YamlError {
                    message: format!("unexpected YAML event {other:?}"),
                    location,
                });
            }
        };
        if anchor != 0 {
            let size = approx_nodes(&value);
            self.anchors.insert(anchor, (value.clone(), size));
        }
        Ok(value)
    }
}

/// A document may hold at most this many nodes per byte of its text, aliases expanded...
const EXPANSION_PER_BYTE: usize = 16;
/// ...or this many, for small documents.
const EXPANSION_FLOOR: usize = 100_000;

fn approx_nodes(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(approx_nodes).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(approx_nodes).sum::<usize>(),
        _ => 1,
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "-.inf" | ".nan" | ".NaN" | ".NAN" => {
            return Value::String(s.to_string());
        }
        _ => {}
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let integer = if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        s.parse::<i64>().ok()
    } else if let Some(hex) = s.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(oct) = s.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()
    } else {
        None
    };
    if let Some(i) = integer {
        return Value::Number(i.into());
    }
    let looks_float = unsigned
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_float
        && let Ok(f) = s.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_keeps_yes_and_no_as_text() {
        let d = parse(
            "a: yes\nb: no\nc: true\nd: '12'\ne: 12\nf: 0.5\ng: ~\n",
            100,
        )
        .unwrap();
        assert_eq!(
            d.value,
            serde_json::json!({"a": "yes", "b": "no", "c": true, "d": "12", "e": 12, "f": 0.5, "g": null})
        );
    }

    #[test]
    fn records_locations_of_keys_and_values() {
        let d = parse("top:\n  inner: 5\nlist:\n  - x\n  - y\n", 100).unwrap();
        assert_eq!(d.keys["/top/inner"].line, 2);
        assert_eq!(d.keys["/top/inner"].column, 3);
        assert_eq!(d.values["/list/1"].line, 5);
        assert_eq!(d.locate("/top/inner/missing").line, 2);
    }

    #[test]
    fn duplicate_keys_are_an_error_with_a_line() {
        let e = parse("a: 1\nb: 2\na: 3\n", 100).unwrap_err();
        assert!(e.message.contains("duplicate key `a`"), "{}", e.message);
        assert_eq!(e.location.line, 3);
    }

    #[test]
    fn duplicate_keys_can_be_collected_keeping_the_first() {
        let d = parse_collecting_duplicates("a: 1\nb: 2\na:\n  x: 3\n", 100).unwrap();
        assert_eq!(d.value, serde_json::json!({"a": 1, "b": 2}));
        assert_eq!(d.duplicates.len(), 1);
        assert_eq!(d.duplicates[0].pointer, "/a");
        assert_eq!(
            (d.duplicates[0].at.line, d.duplicates[0].first.line),
            (3, 1)
        );
        assert_eq!(d.values["/a"].line, 1);
    }

    #[test]
    fn alias_bombs_hit_the_budget() {
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
        let e = parse(bomb, 5_000).unwrap_err();
        assert!(e.message.contains("too large"), "{}", e.message);
    }

    #[test]
    fn a_small_alias_bomb_is_refused_at_once_whatever_the_budget() {
        // Under 500 bytes, nine levels of nine: 387 million nodes if expanded.
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(bomb.len() < 500, "{}", bomb.len());
        let start = std::time::Instant::now();
        let e = parse(&bomb, 50_000_000).unwrap_err();
        assert!(e.message.contains("alias bomb"), "{}", e.message);
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        // A document that uses aliases modestly still reads.
        let fine = "base: &b { kind: business, region: ZA }\nrows:\n  - { name: A, <<: *b }\n  - *b\n  - *b\n";
        assert!(parse(fine, 50_000_000).is_ok());
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let e = parse("a: [1, 2\nb: 3\n", 100).unwrap_err();
        assert!(e.location.line >= 1);
    }

    #[test]
    fn offsets_are_bytes_for_non_ascii() {
        let d = parse("név: é\nb: x\n", 100).unwrap();
        let l = d.values["/b"];
        assert_eq!(&"név: é\nb: x\n"[l.offset..l.offset + 1], "x");
    }
}
