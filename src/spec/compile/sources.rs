//! The `sources` section and `priority`: sources in priority order, each with its input (a
//! file, inline records or a query), its id and its mapping onto the target's fields.

use std::path::Path;

use super::FieldNames;
use super::mapping::Mapped;
use crate::source::mapping::Computed;
use crate::spec::compiled::{
    Field, FieldPath, Glob, Input, Layout, SheetRef, Source, TextEncoding,
};
use crate::spec::report::Reporter;
use crate::spec::yaml::escape_segment;
use crate::spec::{SheetSpec, SourceFormat, SourceSpec, Spec};
use crate::suggest::did_you_mean;

/// The sources in priority order, and the order itself (indexes into `spec.sources`).
pub(super) fn sources(
    spec: &Spec,
    base: &Path,
    fields: &[Field],
    names: &FieldNames<'_>,
    r: &mut Reporter<'_>,
) -> (Vec<Source>, Vec<usize>) {
    if spec.sources.is_empty() {
        r.at("/sources", "declare at least one source", None);
    }
    let declared: Vec<&str> = spec.sources.keys().map(String::as_str).collect();
    let mut order: Vec<usize> = Vec::new();
    for (i, name) in spec.priority.iter().enumerate() {
        match spec.sources.get_index_of(name) {
            Some(idx) if order.contains(&idx) => r.at_value(
                &format!("/priority/{i}"),
                format!("`{name}` is listed twice"),
                None,
            ),
            Some(idx) => order.push(idx),
            None => {
                let help = did_you_mean(name, declared.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| Some(format!("declared sources: {}", declared.join(", "))));
                r.at_value(
                    &format!("/priority/{i}"),
                    format!("`{name}` is not a declared source"),
                    help,
                );
            }
        }
    }
    for idx in 0..spec.sources.len() {
        if !order.contains(&idx) {
            order.push(idx);
        }
    }
    let mut sources = Vec::new();
    for &idx in &order {
        let (name, s) = spec.sources.get_index(idx).expect("index from the map");
        if let Some(source) = source(name, s, base, names, r) {
            sources.push(source);
        }
    }
    for (i, f) in fields.iter().enumerate() {
        if f.required
            && !sources.iter().any(|s| {
                s.mapping.iter().any(|(fi, _)| *fi == i)
                    || s.computed.iter().any(|(fi, _)| *fi == i)
            })
        {
            r.at(
                &format!("/target/fields/{}", escape_segment(&f.name)),
                format!("field `{}` is required but no source maps it", f.name),
                Some(format!(
                    "add `{}: <path>` under a source's `fields`",
                    f.name
                )),
            );
        }
    }
    (sources, order)
}

/// One source, checked; `None` when a problem was reported.
fn source(
    name: &str,
    s: &SourceSpec,
    base: &Path,
    names: &FieldNames<'_>,
    r: &mut Reporter<'_>,
) -> Option<Source> {
    let p = format!("/sources/{}", escape_segment(name));
    if s.database.is_some() && s.sql.is_none() {
        r.at(
            &format!("{p}/database"),
            "`database` only applies to `sql` sources",
            None,
        );
    }
    let given = [s.file.is_some(), s.inline.is_some(), s.sql.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        r.at(
            &p,
            "give one of `file`, `inline` or `sql`, not several",
            None,
        );
        return None;
    }
    if let Some(query) = &s.sql {
        return sql_source(name, s, query, &p, names, r);
    }
    let input = match (&s.file, &s.inline) {
        (Some(_), Some(_)) => {
            r.at(&p, "give either `file` or `inline`, not both", None);
            return None;
        }
        (None, None) => {
            r.at(
                &p,
                "a source needs `file` (a path), `inline` (a list of records) or `sql` \
                 (a query)",
                None,
            );
            return None;
        }
        (None, Some(rows)) => Input::Inline(rows.clone()),
        (Some(f), None) => {
            let path = base.join(f);
            let glob = crate::files::is_pattern(f).then(|| Glob {
                base: base.to_path_buf(),
                pattern: f.clone(),
            });
            if let Some(Err(e)) = glob.as_ref().map(|g| ::glob::Pattern::new(&g.pattern)) {
                r.at_value(
                    &format!("{p}/file"),
                    format!("`{f}` is not a file pattern: {}", e.msg),
                    Some(
                        "`*` matches any part of a name, `?` one character, `[abc]` one of                          those characters, `**` any folders"
                            .into(),
                    ),
                );
                return None;
            }
            let format = s.format.or_else(|| format_from_extension(&path));
            match format {
                Some(format) => Input::File { path, format, glob },
                None => {
                    r.at_value(
                        &format!("{p}/file"),
                        format!("cannot tell the format of `{f}` from its extension"),
                        Some(
                            "add `format: json`, `ndjson`, `csv`, `yaml`, `xlsx`, `xls`, \
                             `xlsb` or `ods`"
                                .into(),
                        ),
                    );
                    return None;
                }
            }
        }
    };
    if let (Input::File { format, .. }, Some(_)) = (&input, &s.records)
        && (matches!(format, SourceFormat::Csv | SourceFormat::Ndjson) || format.is_spreadsheet())
    {
        r.at(
            &format!("{p}/records"),
            "`records` only applies to JSON and YAML files",
            None,
        );
    }
    let layout = layout(s, &input, &p, r);
    let records = s.records.clone().unwrap_or_default();
    let records = if records == "/" {
        String::new()
    } else {
        records
    };
    if !records.is_empty() && !records.starts_with('/') {
        r.at_value(
            &format!("{p}/records"),
            format!("`{records}` is not a JSON pointer"),
            Some(format!("write it with a leading slash: `/{records}`")),
        );
    }
    let (mapping, computed) = mappings(s, &p, names, FieldPath::parse, r);
    if s.fields.is_empty() {
        r.at(
            &format!("{p}/fields"),
            "map at least one target field",
            None,
        );
    }
    Some(Source {
        name: name.to_string(),
        input,
        records,
        id: s.id.as_deref().map(FieldPath::parse),
        layout,
        mapping,
        computed,
        truth: s.truth.as_deref().map(FieldPath::parse),
    })
}

/// A source that runs a query (`sql`) against its own `database`.
fn sql_source(
    name: &str,
    s: &SourceSpec,
    query: &str,
    p: &str,
    names: &FieldNames<'_>,
    r: &mut Reporter<'_>,
) -> Option<Source> {
    let Some(database) = &s.database else {
        r.at(
            p,
            "an `sql` source needs `database`, the URL to run the query against",
            Some("e.g. `database: ${LEGACY_DATABASE_URL}`".into()),
        );
        return None;
    };
    let layout = layout(s, &Input::Inline(Vec::new()), p, r);
    if query.trim().is_empty() {
        r.at_value(&format!("{p}/sql"), "the query is empty", None);
        return None;
    }
    if s.records.is_some() {
        r.at(
            &format!("{p}/records"),
            "`records` only applies to JSON and YAML files",
            None,
        );
    }
    let input = Input::Sql {
        query: query.to_string(),
        database: database.clone(),
    };
    // Column names are used whole, even when they hold dots.
    let (mapping, computed) = mappings(s, p, names, FieldPath::column, r);
    Some(Source {
        name: name.to_string(),
        input,
        records: String::new(),
        id: s.id.as_deref().map(FieldPath::column),
        layout,
        mapping,
        computed,
        truth: s.truth.as_deref().map(FieldPath::column),
    })
}

/// A source's fields read as they are from a path, and its fields built (constants,
/// templates, transforms), each with its field index.
type Mappings = (Vec<(usize, FieldPath)>, Vec<(usize, Computed)>);

/// A source's `fields`, compiled; `path` makes a path of text.
fn mappings(
    s: &SourceSpec,
    p: &str,
    names: &FieldNames<'_>,
    path: fn(&str) -> FieldPath,
    r: &mut Reporter<'_>,
) -> Mappings {
    let mut mapping = Vec::new();
    let mut computed = Vec::new();
    for (field, m) in &s.fields {
        let pointer = format!("{p}/fields/{}", escape_segment(field));
        let Some(fi) = names.resolve(r, &pointer, field, false) else {
            continue;
        };
        match super::mapping::mapping(m, &names.fields[fi], &pointer, path, r) {
            Some(Mapped::Path(path)) => mapping.push((fi, path)),
            Some(Mapped::Computed(c)) => computed.push((fi, c)),
            None => {}
        }
    }
    (mapping, computed)
}

/// A source's layout settings, each checked against the kind of file it applies to: the
/// delimiter, quote and encoding of a CSV file, the header line of a CSV file or the header
/// row of a spreadsheet, the sheet of a spreadsheet.
fn layout(s: &SourceSpec, input: &Input, p: &str, r: &mut Reporter<'_>) -> Layout {
    let format = match input {
        Input::File { format, .. } => Some(*format),
        _ => None,
    };
    let csv = format == Some(SourceFormat::Csv);
    let spreadsheet = format.is_some_and(SourceFormat::is_spreadsheet);
    let mut layout = Layout::default();
    let mut applies = |key: &str, given: bool, fits: bool, what: &str| {
        if given && !fits {
            r.at(
                &format!("{p}/{key}"),
                format!("`{key}` only applies to {what}"),
                None,
            );
        }
        given && fits
    };
    let delimiter = applies("delimiter", s.delimiter.is_some(), csv, "CSV files");
    let quote = applies("quote", s.quote.is_some(), csv, "CSV files");
    let encoding = applies("encoding", s.encoding.is_some(), csv, "CSV files");
    let what = "CSV files and spreadsheets";
    let header = applies("header", s.header.is_some(), csv || spreadsheet, what);
    let skip = applies("skip", s.skip.is_some(), csv || spreadsheet, what);
    let sheet = applies("sheet", s.sheet.is_some(), spreadsheet, "spreadsheets");
    if let Some(text) = s.delimiter.as_deref().filter(|_| delimiter) {
        layout.delimiter = compile_delimiter(text, &format!("{p}/delimiter"), r);
    }
    if let Some(text) = s.quote.as_deref().filter(|_| quote) {
        layout.quote = compile_quote(text, layout.delimiter, &format!("{p}/quote"), r);
    }
    if let Some(text) = s.encoding.as_deref().filter(|_| encoding) {
        layout.encoding = compile_encoding(text, &format!("{p}/encoding"), r);
    }
    let lines = if csv { "lines" } else { "rows" };
    match (s.header.filter(|_| header), s.skip.filter(|_| skip)) {
        (Some(0), _) => r.at_value(
            &format!("{p}/header"),
            format!("{} are numbered from 1", lines),
            None,
        ),
        (Some(h), Some(k)) if h <= k => r.at_value(
            &format!("{p}/header"),
            format!("`header: {h}` is among the {k} {lines} `skip` passes over"),
            Some(format!(
                "give one of them: `skip: {k}` means `header: {}`",
                k.saturating_add(1)
            )),
        ),
        (Some(h), _) => layout.header = h,
        (None, Some(k)) => layout.header = k.saturating_add(1),
        (None, None) => {}
    }
    if let Some(spec) = s.sheet.as_ref().filter(|_| sheet) {
        layout.sheet = match spec {
            SheetSpec::Index(0) => {
                r.at_value(&format!("{p}/sheet"), "sheets are numbered from 1", None);
                None
            }
            SheetSpec::Index(i) => Some(SheetRef::Index(*i)),
            SheetSpec::Name(n) if n.trim().is_empty() => {
                r.at_value(
                    &format!("{p}/sheet"),
                    "give the sheet's name or its position",
                    None,
                );
                None
            }
            SheetSpec::Name(n) => Some(SheetRef::Name(n.clone())),
        };
    }
    layout
}

/// A CSV source's `delimiter`: one ASCII character other than a quote or a line break;
/// `"\t"` may also be written as `tab`.
fn compile_delimiter(text: &str, pointer: &str, r: &mut Reporter<'_>) -> u8 {
    let byte = match text {
        "tab" | "\\t" => Some(b'\t'),
        t if t.len() == 1 => t.bytes().next().filter(|b| {
            b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') && !b.is_ascii_alphanumeric()
        }),
        _ => None,
    };
    byte.unwrap_or_else(|| {
        r.at_value(
            pointer,
            format!("`{text}` cannot separate columns"),
            Some(
                "give one character such as `\",\"`, `\";\"`, `\"|\"`, or `\"\\t\"` for a tab"
                    .into(),
            ),
        );
        b','
    })
}

/// A CSV source's `quote`: one ASCII character that is not a letter, a digit, a line break
/// or the delimiter; `none` when the file has no quoting.
fn compile_quote(text: &str, delimiter: u8, pointer: &str, r: &mut Reporter<'_>) -> Option<u8> {
    if text.eq_ignore_ascii_case("none") {
        return None;
    }
    let byte = Some(text)
        .filter(|t| t.len() == 1)
        .and_then(|t| t.bytes().next())
        .filter(|b| b.is_ascii_punctuation() && *b != delimiter);
    if byte.is_none() {
        r.at_value(
            pointer,
            if text.len() == 1 && text.as_bytes()[0] == delimiter {
                format!("`{text}` is also the delimiter")
            } else {
                format!("`{text}` cannot quote cells")
            },
            Some(
                "give one character such as `'\"'` or `\"'\"`, or `none` when the file has no \
                 quoting"
                    .into(),
            ),
        );
        return Some(b'"');
    }
    byte
}

/// The encodings named in messages, for a did-you-mean.
const ENCODINGS: &[&str] = &[
    "utf-8",
    "utf-16",
    "utf-16le",
    "utf-16be",
    "windows-1252",
    "latin-1",
    "iso-8859-1",
    "iso-8859-15",
    "windows-1250",
    "windows-1251",
    "macintosh",
    "shift_jis",
    "gbk",
    "big5",
];

/// A CSV source's `encoding`: a WHATWG label (`windows-1252`, `latin-1`, `shift_jis`...);
/// `utf-16` means UTF-16 with a byte order mark, either way round.
fn compile_encoding(text: &str, pointer: &str, r: &mut Reporter<'_>) -> TextEncoding {
    let label = text.trim().to_ascii_lowercase();
    match label.as_str() {
        "utf-8" | "utf8" => return TextEncoding::Utf8,
        "utf-16" | "utf16" => return TextEncoding::Utf16,
        "latin-1" => return TextEncoding::Other(encoding_rs::WINDOWS_1252),
        _ => {}
    }
    match encoding_rs::Encoding::for_label(label.as_bytes()) {
        Some(e) if e == encoding_rs::UTF_8 => TextEncoding::Utf8,
        Some(e) if e != encoding_rs::REPLACEMENT && e != encoding_rs::X_USER_DEFINED => {
            TextEncoding::Other(e)
        }
        _ => {
            let help = did_you_mean(&label, ENCODINGS.iter().copied())
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            r.at_value(
                pointer,
                format!("`{text}` is not an encoding reconcile knows"),
                Some(format!(
                    "{help}write `utf-8`, `windows-1252` (also `latin-1`), `utf-16` or another \
                     WHATWG encoding label"
                )),
            );
            TextEncoding::Utf8
        }
    }
}

fn format_from_extension(path: &Path) -> Option<SourceFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "json" => SourceFormat::Json,
        "ndjson" | "jsonl" => SourceFormat::Ndjson,
        "csv" => SourceFormat::Csv,
        "yaml" | "yml" => SourceFormat::Yaml,
        "xlsx" | "xlsm" => SourceFormat::Xlsx,
        "xlsb" => SourceFormat::Xlsb,
        "xls" => SourceFormat::Xls,
        "ods" => SourceFormat::Ods,
        _ => return None,
    })
}
