//! The `sources` section and `priority`: sources in priority order, each with its input (a
//! file, inline records or a query), its id and its mapping onto the target's fields.

use std::path::Path;

use super::FieldNames;
use super::mapping::Mapped;
use crate::source::mapping::Computed;
use crate::spec::compiled::{Field, FieldPath, Input, Source};
use crate::spec::report::Reporter;
use crate::spec::yaml::escape_segment;
use crate::spec::{SourceFormat, SourceSpec, Spec};
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
            let format = s.format.or_else(|| format_from_extension(&path));
            match format {
                Some(format) => Input::File { path, format },
                None => {
                    r.at_value(
                        &format!("{p}/file"),
                        format!("cannot tell the format of `{f}` from its extension"),
                        Some("add `format: json`, `ndjson`, `csv` or `yaml`".into()),
                    );
                    return None;
                }
            }
        }
    };
    if let (Input::File { format, .. }, Some(_)) = (&input, &s.records)
        && matches!(format, SourceFormat::Csv | SourceFormat::Ndjson)
    {
        r.at(
            &format!("{p}/records"),
            "`records` only applies to JSON and YAML files",
            None,
        );
    }
    let delimiter = compile_delimiter(s, &input, &p, r);
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
        delimiter,
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
    if s.delimiter.is_some() {
        r.at(
            &format!("{p}/delimiter"),
            "`delimiter` only applies to CSV files",
            None,
        );
    }
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
        delimiter: b',',
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

/// A CSV source's `delimiter`: one ASCII character other than a quote or a line break;
/// `"\t"` may also be written as `tab`. Only CSV files take one.
fn compile_delimiter(s: &SourceSpec, input: &Input, p: &str, r: &mut Reporter<'_>) -> u8 {
    let Some(text) = &s.delimiter else {
        return b',';
    };
    let pointer = format!("{p}/delimiter");
    if !matches!(
        input,
        Input::File {
            format: SourceFormat::Csv,
            ..
        }
    ) {
        r.at(&pointer, "`delimiter` only applies to CSV files", None);
        return b',';
    }
    let byte = match text.as_str() {
        "tab" | "\\t" => Some(b'\t'),
        t if t.len() == 1 => t.bytes().next().filter(|b| {
            b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') && !b.is_ascii_alphanumeric()
        }),
        _ => None,
    };
    byte.unwrap_or_else(|| {
        r.at_value(
            &pointer,
            format!("`{text}` cannot separate columns"),
            Some(
                "give one character such as `\",\"`, `\";\"`, `\"|\"`, or `\"\\t\"` for a tab"
                    .into(),
            ),
        );
        b','
    })
}

fn format_from_extension(path: &Path) -> Option<SourceFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "json" => SourceFormat::Json,
        "ndjson" | "jsonl" => SourceFormat::Ndjson,
        "csv" => SourceFormat::Csv,
        "yaml" | "yml" => SourceFormat::Yaml,
        _ => return None,
    })
}
