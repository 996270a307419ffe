//! Reading the files users name (specs, sources, labels) safely: only regular files, never
//! more than a size limit, so that a device, a FIFO or a runaway file cannot hang or exhaust
//! the machine. Also the files a source's pattern (`exports/*.csv`) stands for.

use std::path::{Path, PathBuf};

use crate::spec::compiled::Glob;

/// The largest file read as a source (1 GiB), unless `RECONCILE_MAX_FILE_SIZE` sets another
/// limit (bytes, or with a `K`, `M` or `G` suffix, e.g. `4G`).
pub const MAX_FILE_SIZE: u64 = 1 << 30;

/// The environment variable that raises (or lowers) [`MAX_FILE_SIZE`].
pub const MAX_FILE_SIZE_VAR: &str = "RECONCILE_MAX_FILE_SIZE";

/// The limit on source files in effect, or why the variable setting it cannot be read.
pub fn max_file_size() -> Result<u64, String> {
    let Ok(text) = std::env::var(MAX_FILE_SIZE_VAR) else {
        return Ok(MAX_FILE_SIZE);
    };
    let t = text.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_uppercase()),
        _ => (t, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        'T' => 40,
        _ => 64,
    };
    digits
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|_| shift < 64)
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| {
            format!("{MAX_FILE_SIZE_VAR}={text:?} is not a size; write bytes, or e.g. 4G or 500M")
        })
}

/// Reads a whole file that the user named as input, refusing what is not a regular file (a
/// device such as `/dev/zero` would be read until memory runs out, a FIFO with no writer
/// would wait for ever) and files over `limit` bytes.
/// Errors read well after "cannot read the file: ".
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a folder"
        } else {
            file_kind(&meta)
        };
        return Err(format!(
            "{} is {kind}, not a regular file; name a file (copy the data to one first)",
            path.display()
        ));
    }
    let too_big = |size: String| {
        format!(
            "{} is {size}, over the limit of {} bytes on files read; set {MAX_FILE_SIZE_VAR} \
             (e.g. {MAX_FILE_SIZE_VAR}=4G) to read it",
            path.display(),
            limit
        )
    };
    if meta.len() > limit {
        return Err(too_big(format!("{} bytes", meta.len())));
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(too_big("growing while it is read, and".into()));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let t = meta.file_type();
    if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn file_kind(_: &std::fs::Metadata) -> &'static str {
    "not a file"
}

/// Whether a `file:` setting is a pattern rather than one file's name: it holds `*` or `?`.
/// (`[` alone does not make one, so a file named `prices[2024].csv` is still read as is.)
pub fn is_pattern(file: &str) -> bool {
    file.contains(['*', '?'])
}

/// The files a source reads: `path` itself, or every regular file `glob` matches, in name
/// order (folders it matches are passed over). A pattern matching no file is an error, so
/// an export that did not arrive is never read as an empty source.
pub fn source_paths(path: &Path, glob: Option<&Glob>) -> Result<Vec<PathBuf>, String> {
    let Some(g) = glob else {
        return Ok(vec![path.to_path_buf()]);
    };
    let options = glob::MatchOptions {
        case_sensitive: true,
        // `*` stays within one folder; hidden files (`.~lock.prices.csv#`) need a leading dot.
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let mut found = Vec::new();
    let matches = glob::glob_with(&full_pattern(g), options)
        .map_err(|e| format!("`{}` is not a pattern: {}", g.pattern, e.msg))?;
    for m in matches {
        let p = m.map_err(|e| format!("cannot list {}: {}", e.path().display(), e.error()))?;
        if std::fs::metadata(&p).map(|m| !m.is_dir()).unwrap_or(true) {
            found.push(p);
        }
    }
    if found.is_empty() {
        return Err(format!("no file matches `{}`", g.pattern));
    }
    found.sort();
    Ok(found)
}

/// The pattern joined to the spec's folder, the folder's own name taken literally (a folder
/// named `[drafts]` matches itself, not `d`, `r`...).
fn full_pattern(g: &Glob) -> String {
    if Path::new(&g.pattern).is_absolute() || g.base.as_os_str().is_empty() {
        return g.pattern.clone();
    }
    let base = glob::Pattern::escape(&g.base.to_string_lossy());
    format!("{}/{}", base.trim_end_matches('/'), g.pattern)
}

/// How a file matched by a pattern is named in messages: its path from the spec's folder
/// (`exports/b.csv`), as the pattern was written.
pub fn shown(path: &Path, glob: &Glob) -> String {
    path.strip_prefix(&glob.base)
        .unwrap_or(path)
        .display()
        .to_string()
}
