//! A file source: one file, or every file its pattern (`exports/*.csv`) matches, read by the
//! reader its format names. The files of a pattern make one source: their rows are labelled
//! with their file (`exports/b.csv, line 3`), ids must be unique across all of them, and a
//! record without an `id:` is named by its content alone, whichever file holds it (two
//! identical records are numbered in file order, as within one file).

use std::path::Path;

use super::{Problem, RawRecord, ReadResult, Row, csv, id, json, map_records, sheet, yaml};
use crate::collections::HashMap;
use crate::files::{max_file_size, read_file, shown, source_paths};
use crate::spec::SourceFormat;
use crate::spec::compiled::{Compiled, Glob, Source};

/// Reads the file, or every file of the pattern, into the source's records.
pub(super) fn read(
    spec: &Compiled,
    index: usize,
    source: &Source,
    path: &Path,
    format: SourceFormat,
    glob: Option<&Glob>,
) -> Result<Vec<RawRecord>, Vec<Problem>> {
    // CSV is mapped straight from its columns, unless a field is built from several (a
    // template, a constant with transforms): then rows are read as objects like any format's.
    let fast_csv = format == SourceFormat::Csv && source.computed.is_empty();
    let Some(glob) = glob else {
        if fast_csv {
            return csv::read_mapped(&bytes(path)?, spec, index, source);
        }
        return map_records(spec, index, source, rows(source, spec, path, format)?);
    };
    let paths = source_paths(path, Some(glob)).map_err(|e| vec![Problem::file(e)])?;
    let names: Vec<String> = paths.iter().map(|p| shown(p, glob)).collect();
    let mut problems = Vec::new();
    // CSV files are mapped file by file on the fast path, then joined; other formats give
    // rows, mapped all together as one source's.
    let mut parts: Vec<Vec<RawRecord>> = Vec::new();
    let mut all_rows: Vec<(usize, Row)> = Vec::new();
    for (i, (p, name)) in paths.iter().zip(&names).enumerate() {
        let read = if fast_csv {
            bytes(p)
                .and_then(|b| csv::read_mapped(&b, spec, index, source))
                .map(|records| parts.push(records))
        } else {
            rows(source, spec, p, format)
                .map(|rows| all_rows.extend(rows.into_iter().map(|r| (i, r))))
        };
        if let Err(ps) = read {
            problems.extend(ps.into_iter().map(|p| Problem {
                row: Some(match p.row {
                    Some(row) => format!("{name}, {row}"),
                    None => name.clone(),
                }),
                ..p
            }));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if fast_csv {
        return join(source, glob, &names, parts);
    }
    let mut file_of = Vec::with_capacity(all_rows.len());
    let rows: Vec<Row> = all_rows
        .into_iter()
        .map(|(i, mut r)| {
            r.label = format!("{}, {}", names[i], r.label);
            file_of.push(i);
            r
        })
        .collect();
    if let Some(path) = &source.id {
        let ids = rows.iter().zip(&file_of).filter_map(|(r, f)| {
            Some((*f, id::explicit_id(path.get(&r.value))?, r.label.as_str()))
        });
        let repeated = repeated_ids(glob, ids);
        if !repeated.is_empty() {
            return Err(repeated);
        }
    }
    map_records(spec, index, source, rows)
}

/// A file's bytes, within the size limit on sources.
fn bytes(path: &Path) -> Result<Vec<u8>, Vec<Problem>> {
    max_file_size()
        .and_then(|limit| read_file(path, limit).map_err(|e| format!("cannot read the file: {e}")))
        .map_err(|e| vec![Problem::file(e)])
}

/// The rows of one file in a format other than CSV.
fn rows(
    source: &Source,
    spec: &Compiled,
    path: &Path,
    format: SourceFormat,
) -> Result<Vec<Row>, Vec<Problem>> {
    let bytes = bytes(path)?;
    let plain = |r: ReadResult| {
        r.map_err(|(row, message)| {
            vec![Problem {
                row,
                message,
                help: None,
            }]
        })
    };
    match format {
        SourceFormat::Json => plain(json::read_json(&bytes, &source.records)),
        SourceFormat::Ndjson => plain(json::read_ndjson(&bytes)),
        SourceFormat::Yaml => plain(yaml::read(&bytes, &source.records)),
        SourceFormat::Csv => plain(csv::read_laid_out(&bytes, &source.layout)),
        SourceFormat::Xlsx | SourceFormat::Xlsb | SourceFormat::Xls | SourceFormat::Ods => {
            sheet::rows(spec, source, &bytes, format)
        }
    }
}

/// The records of the files of a pattern, file by file, as one source's: their rows
/// labelled with their file, explicit ids checked across files, content ids numbered across
/// files as within one.
fn join(
    source: &Source,
    glob: &Glob,
    names: &[String],
    parts: Vec<Vec<RawRecord>>,
) -> Result<Vec<RawRecord>, Vec<Problem>> {
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    let mut file_of = Vec::with_capacity(out.capacity());
    for (i, records) in parts.into_iter().enumerate() {
        for mut r in records {
            r.row = format!("{}, {}", names[i], r.row);
            out.push(r);
            file_of.push(i);
        }
    }
    if source.id.is_some() {
        let repeated = repeated_ids(
            glob,
            out.iter()
                .zip(&file_of)
                .map(|(r, f)| (*f, r.id.clone(), r.row.as_str())),
        );
        if !repeated.is_empty() {
            return Err(repeated);
        }
    } else if names.len() > 1 {
        // Each file numbered its identical records from 1; number them across the files.
        let mut ids = id::ContentIds::default();
        for r in &mut out {
            r.id = ids.next(id::content_base(&r.id).to_string());
        }
    }
    Ok(out)
}

/// Ids found in more than one file of a pattern, each named with both places; `ids` gives
/// each record's file (by index), id and row label. An id repeated within one file is left
/// to the reader, which names it as for a single file.
fn repeated_ids<'a>(
    glob: &Glob,
    ids: impl Iterator<Item = (usize, String, &'a str)>,
) -> Vec<Problem> {
    let mut first: HashMap<String, (usize, &'a str)> = HashMap::default();
    let mut problems = Vec::new();
    for (file, id, label) in ids {
        match first.get(&id) {
            Some(&(f, earlier)) if f != file => problems.push(Problem {
                row: Some(label.to_string()),
                message: format!(
                    "id `{id}` is also the id of the record at {earlier}: the files `{}` \
                     matches make one source, so each id may appear in one of them only",
                    glob.pattern
                ),
                help: None,
            }),
            Some(_) => {}
            None => {
                first.insert(id, (file, label));
            }
        }
    }
    problems
}
