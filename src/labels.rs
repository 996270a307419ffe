//! The labels file: pairs of records people have decided on, one decision a line, as
//! `left,right,label,time` (`crm:108,sheet:15,same,2026-03-02T09:14:00Z`). `reconcile review`
//! appends to it; a spec that names it (`match.labels`) reads its `same` and `distinct` rows as
//! if they were written under `match.same` and `match.distinct`; `reconcile evaluate --labels`
//! measures matching against it.
//!
//! The file only grows: a decision is changed by appending another row for the same pair, and
//! the last row of a pair wins, so a later `unsure` withdraws an earlier `same` or `distinct`.
//! Other columns are allowed and ignored, and the columns may come in any order; `time` may be
//! left out by hand-written files.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

use crate::collections::HashMap;
use crate::error::{Error, Result, SpecErrors, SpecProblem};
use crate::spec::compiled::{Compiled, Origin, Override, RecordRef};

/// The file `reconcile review` writes beside the spec when the spec names none.
pub const DEFAULT_FILE: &str = "reconcile.labels.csv";

/// The header line of a labels file.
pub const HEADER: &str = "left,right,label,time";

/// The largest labels file read: decisions are made by people, a line at a time.
const MAX_SIZE: u64 = 256 << 20;

/// What a person decided about a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Label {
    /// One entity: always linked.
    Same,
    /// Two entities: never linked.
    Distinct,
    /// Looked at, not decided: withdraws an earlier decision and leaves the pair to the scores.
    Unsure,
}

impl Label {
    /// `same`, `distinct` or `unsure`, in any case.
    pub fn parse(text: &str) -> Option<Label> {
        match text.trim().to_ascii_lowercase().as_str() {
            "same" => Some(Label::Same),
            "distinct" => Some(Label::Distinct),
            "unsure" => Some(Label::Unsure),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Label::Same => "same",
            Label::Distinct => "distinct",
            Label::Unsure => "unsure",
        }
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One decision: a row of a labels file, or one about to be appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `source:id`.
    pub left: String,
    pub right: String,
    pub label: Label,
    /// RFC 3339, UTC; `None` when the file has no `time` column or the cell is empty.
    pub time: Option<String>,
    /// 1-based line in the file; 0 for a decision not read from a file.
    pub line: usize,
}

impl Row {
    /// The pair, in an order that does not depend on which side each record was written.
    pub fn pair(&self) -> (&str, &str) {
        if self.left <= self.right {
            (&self.left, &self.right)
        } else {
            (&self.right, &self.left)
        }
    }
}

/// A line of a labels file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based.
    pub line: usize,
    /// The column (0-based) of the cell at fault, when one is.
    pub cell: Option<usize>,
    pub message: String,
    pub help: Option<String>,
}

fn problem(line: usize, message: impl Into<String>, help: Option<String>) -> Problem {
    Problem {
        line,
        cell: None,
        message: message.into(),
        help,
    }
}

/// Checks a record written `source:id` against a spec: the problem and its help, if any.
pub type CheckRecord<'a> = &'a dyn Fn(&str) -> Option<(String, String)>;

/// Reads the rows of a labels file's text. Every bad line is reported, not only the first.
pub fn parse(text: &str) -> std::result::Result<Vec<Row>, Vec<Problem>> {
    parse_checked(text, &|_| None)
}

/// As [`parse`], with every record also checked by `check` (that its source exists).
pub fn parse_checked(
    text: &str,
    check: CheckRecord<'_>,
) -> std::result::Result<Vec<Row>, Vec<Problem>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header_help = || Some(format!("the first line must be the header `{HEADER}`"));
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.trim().to_ascii_lowercase()).collect(),
        Err(e) => return Err(vec![problem(1, e.to_string(), header_help())]),
    };
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(left), Some(right), Some(label)) = (col("left"), col("right"), col("label")) else {
        let missing: Vec<&str> = ["left", "right", "label"]
            .into_iter()
            .filter(|c| col(c).is_none())
            .collect();
        return Err(vec![problem(
            1,
            format!(
                "the header has no {} column",
                missing
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            header_help(),
        )]);
    };
    let time = col("time");
    // Lines counted from the bytes: the reader does not count the blank lines it skips, and
    // places a record after them at the first of them.
    let line_at = |byte: u64| {
        let bytes = text.as_bytes();
        let mut end = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
        while end < bytes.len() && matches!(bytes[end], b'\n' | b'\r') {
            end += 1;
        }
        bytes[..end].iter().filter(|&&b| b == b'\n').count() + 1
    };
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(p.byte()));
                problems.push(problem(line, e.to_string(), None));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let mut bad = |at: usize, message: String, help: Option<String>| {
            problems.push(Problem {
                cell: Some(at),
                ..problem(line, message, help)
            });
        };
        let record_help = || Some("write records as `source:id`, e.g. `crm:108`".to_string());
        for (column, at) in [("left", left), ("right", right)] {
            let text = cell(at);
            if text.is_empty() {
                bad(at, format!("`{column}` is empty"), record_help());
            } else if !text.contains(':') {
                bad(
                    at,
                    format!("`{column}` is `{text}`, which does not name a record"),
                    record_help(),
                );
            } else if let Some((message, help)) = check(text) {
                bad(at, message, Some(help));
            }
        }
        let parsed = Label::parse(cell(label));
        if parsed.is_none() {
            bad(
                label,
                format!("the label `{}` is not one of the labels", cell(label)),
                Some("write `same`, `distinct` or `unsure`".into()),
            );
        }
        if !cell(left).is_empty() && cell(left) == cell(right) {
            bad(
                right,
                format!("`{}` is paired with itself", cell(left)),
                Some("a pair names two different records".into()),
            );
        }
        let when = time.map(cell).filter(|t| !t.is_empty());
        if let (Some(t), Some(at)) = (when, time)
            && !is_utc_time(t)
        {
            bad(
                at,
                format!("the time `{t}` is not an RFC 3339 time in UTC"),
                Some("write it as `2026-03-02T09:14:00Z`, or leave the cell empty".into()),
            );
        }
        if let Some(label) = parsed {
            rows.push(Row {
                left: cell(left).to_string(),
                right: cell(right).to_string(),
                label,
                time: when.map(String::from),
                line,
            });
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]` followed by `Z` or `+00:00`.
pub fn is_utc_time(text: &str) -> bool {
    let Some(rest) = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix('z'))
        .or_else(|| text.strip_suffix("+00:00"))
    else {
        return false;
    };
    let (main, fraction) = match rest.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (rest, None),
    };
    if fraction.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let b = main.as_bytes();
    if b.len() != 19 || !matches!(b[10], b'T' | b't') {
        return false;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        let s = main.get(from..to)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let seps = b[4] == b'-' && b[7] == b'-' && b[13] == b':' && b[16] == b':';
    match (
        num(0, 4),
        num(5, 7),
        num(8, 10),
        num(11, 13),
        num(14, 16),
        num(17, 19),
    ) {
        (Some(_), Some(mo), Some(d), Some(h), Some(mi), Some(s)) => {
            seps && (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && s <= 60
        }
        _ => false,
    }
}

/// The decision in force for each pair: its last row. In the order of those rows.
pub fn in_force(rows: &[Row]) -> Vec<&Row> {
    let mut last: HashMap<(&str, &str), usize> = HashMap::default();
    for (i, row) in rows.iter().enumerate() {
        last.insert(row.pair(), i);
    }
    let mut winners: Vec<usize> = last.into_values().collect();
    winners.sort_unstable();
    winners.into_iter().map(|i| &rows[i]).collect()
}

/// Reads a labels file whole; `Ok(None)` when it does not exist.
pub fn read(path: &Path) -> std::result::Result<Option<String>, String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => {}
    }
    let bytes = crate::files::read_file(path, MAX_SIZE)?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))
}

/// Byte offset of cell `n` (0-based) in a CSV line, quotes respected.
fn cell_offset(line: &str, n: usize) -> usize {
    let mut quoted = false;
    let mut seen = 0;
    for (i, c) in line.char_indices() {
        if seen == n {
            return i;
        }
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => seen += 1,
            _ => {}
        }
    }
    if seen == n { line.len() } else { 0 }
}

/// Problems of a labels file as the error the spec loader reports: each placed at its line
/// and cell, with the line shown.
pub fn problems_error(file: &str, text: &str, problems: Vec<Problem>) -> Error {
    let src = Arc::new(NamedSource::new(file, text.to_string()));
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let at = |p: &Problem| -> Option<(usize, usize)> {
        let start = *starts.get(p.line.checked_sub(1)?)?;
        if start >= text.len() {
            return None;
        }
        let line = text[start..].lines().next().unwrap_or("");
        let offset = p.cell.map_or(0, |n| cell_offset(line, n));
        Some((start + offset, line[..offset].chars().count() + 1))
    };
    Error::Spec(SpecErrors {
        file: file.to_string(),
        problems: problems
            .into_iter()
            .map(|p| {
                let place = at(&p);
                SpecProblem {
                    file: file.to_string(),
                    line: p.line,
                    column: place.map_or(1, |(_, column)| column),
                    path: String::new(),
                    message: p.message,
                    help: p.help,
                    src: Some(src.clone()),
                    span: place.map(|(offset, _)| SourceSpan::from((offset, 1))),
                }
            })
            .collect(),
    })
}

/// `source:id` as a record of the spec: the source must be one of the spec's.
pub fn record_ref(spec: &Compiled, text: &str) -> std::result::Result<RecordRef, (String, String)> {
    let (source, id) = text.split_once(':').unwrap_or((text, ""));
    let names = || spec.sources.iter().map(|s| s.name.as_str());
    match names().position(|n| n == source) {
        Some(source) => Ok(RecordRef {
            source,
            id: id.to_string(),
        }),
        None => Err((
            format!("`{source}` in `{text}` is not a source of the spec"),
            crate::suggest::did_you_mean(source, names())
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| {
                    format!("the sources are {}", names().collect::<Vec<_>>().join(", "))
                }),
        )),
    }
}

/// Adds the decisions in force of a labels file to the spec's `same` and `distinct` pairs,
/// each remembering its line. Every row must name sources of the spec.
pub fn apply(spec: &mut Compiled, file: &Path, text: &str) -> Result<()> {
    let shown = file.display().to_string();
    let check = |side: &str| record_ref(spec, side).err();
    let rows = parse_checked(text, &check).map_err(|p| problems_error(&shown, text, p))?;
    for row in in_force(&rows) {
        let (Ok(a), Ok(b)) = (record_ref(spec, &row.left), record_ref(spec, &row.right)) else {
            continue;
        };
        let kind = match row.label {
            Label::Same => "same",
            Label::Distinct => "distinct",
            Label::Unsure => continue,
        };
        let o = Override {
            a,
            b,
            origin: Origin {
                file: shown.clone(),
                line: row.line,
                kind,
                label: true,
            },
        };
        if row.label == Label::Same {
            spec.matching.same.push(o);
        } else {
            spec.matching.distinct.push(o);
        }
    }
    Ok(())
}

/// Appends decisions to a labels file, creating it with its header when it does not exist.
/// An existing file keeps its own column order. Written and flushed to disk before returning,
/// so a decision made is not lost if the session ends.
pub fn append(path: &Path, rows: &[Row]) -> std::result::Result<(), String> {
    let existing = read(path)?;
    let mut out = Vec::new();
    let order: Vec<Option<usize>> = match existing.as_deref().map(str::trim) {
        None | Some("") => {
            out.extend_from_slice(HEADER.as_bytes());
            out.push(b'\n');
            (0..4).map(Some).collect()
        }
        Some(text) => {
            if !existing.as_deref().unwrap_or("").ends_with('\n') {
                out.push(b'\n');
            }
            let header = text.lines().next().unwrap_or("");
            let header = header.strip_prefix('\u{feff}').unwrap_or(header);
            let cols: Vec<String> = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(header.as_bytes())
                .records()
                .next()
                .and_then(|r| r.ok())
                .map(|r| r.iter().map(|c| c.trim().to_ascii_lowercase()).collect())
                .unwrap_or_default();
            for needed in ["left", "right", "label"] {
                if !cols.iter().any(|c| c == needed) {
                    return Err(format!(
                        "its first line has no `{needed}` column, so it is not a labels file \
                         (the header is `{HEADER}`)"
                    ));
                }
            }
            cols.iter()
                .map(|c| {
                    ["left", "right", "label", "time"]
                        .iter()
                        .position(|k| k == c)
                })
                .collect()
        }
    };
    {
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(&mut out);
        for row in rows {
            let cells = [
                row.left.as_str(),
                row.right.as_str(),
                row.label.as_str(),
                row.time.as_deref().unwrap_or(""),
            ];
            writer
                .write_record(order.iter().map(|o| o.map_or("", |i| cells[i])))
                .map_err(|e| e.to_string())?;
        }
        writer.flush().map_err(|e| e.to_string())?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| e.to_string())?;
    file.write_all(&out).map_err(|e| e.to_string())?;
    file.sync_data().map_err(|e| e.to_string())
}

/// The line a spec needs to read the labels file `name` (relative to the spec).
pub fn spec_snippet(name: &str) -> String {
    format!("match:\n  labels: {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_with_their_lines_and_the_last_row_of_a_pair_wins() {
        let text = "left,right,label,time\n\
                    crm:1,sheet:1,same,2026-03-02T09:14:00Z\n\
                    crm:2,sheet:2,distinct,\n\
                    \n\
                    sheet:1,crm:1,unsure,2026-03-02T09:15:00Z\n\
                    crm:3,sheet:3,SAME,2026-03-02T09:16:00.5Z\n";
        let rows = parse(text).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[2].line, 5);
        let force: Vec<(&str, Label, usize)> = in_force(&rows)
            .iter()
            .map(|r| (r.left.as_str(), r.label, r.line))
            .collect();
        assert_eq!(
            force,
            vec![
                ("crm:2", Label::Distinct, 3),
                ("sheet:1", Label::Unsure, 5),
                ("crm:3", Label::Same, 6)
            ]
        );
    }

    #[test]
    fn bad_rows_are_all_reported_with_their_lines() {
        let text = "left,right,label,time\n\
                    crm:1,sheet:1,maybe,\n\
                    crm1,sheet:1,same,\n\
                    crm:1,sheet:1,same,yesterday\n\
                    crm:1,crm:1,same,\n";
        let problems = parse(text).unwrap_err();
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5], "{problems:?}");
        assert!(problems[0].message.contains("`maybe`"));
        assert!(
            problems[2]
                .help
                .as_deref()
                .unwrap()
                .contains("2026-03-02T09:14:00Z")
        );
        let problems = parse("a,b\n").unwrap_err();
        assert!(problems[0].message.contains("`left` or `right` or `label`"));
    }

    #[test]
    fn times_are_rfc3339_in_utc() {
        assert!(is_utc_time("2026-03-02T09:14:00Z"));
        assert!(is_utc_time("2026-03-02T09:14:00.123+00:00"));
        assert!(!is_utc_time("2026-03-02T09:14:00+02:00"));
        assert!(!is_utc_time("2026-13-02T09:14:00Z"));
        assert!(!is_utc_time("2026-03-02 09:14"));
    }

    #[test]
    fn appending_creates_the_file_and_keeps_an_existing_column_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.csv");
        let row = |l: &str, label| Row {
            left: l.into(),
            right: "sheet:1".into(),
            label,
            time: Some("2026-03-02T09:14:00Z".into()),
            line: 0,
        };
        append(&path, &[row("crm:1", Label::Same)]).unwrap();
        append(&path, &[row("crm:2", Label::Distinct)]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "left,right,label,time\ncrm:1,sheet:1,same,2026-03-02T09:14:00Z\n\
             crm:2,sheet:1,distinct,2026-03-02T09:14:00Z\n"
        );
        std::fs::write(&path, "label,left,right\nsame,a:1,b:1").unwrap();
        append(&path, &[row("crm:\"x,y\"", Label::Unsure)]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "label,left,right\nsame,a:1,b:1\nunsure,\"crm:\"\"x,y\"\"\",sheet:1\n"
        );
        let rows = parse(&text).unwrap();
        assert_eq!(rows[1].left, "crm:\"x,y\"");
        std::fs::write(&path, "name,score\n").unwrap();
        assert!(append(&path, &[row("crm:1", Label::Same)]).is_err());
    }
}
