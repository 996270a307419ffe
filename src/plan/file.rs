//! Saved plans: `reconcile plan --out plan.json` writes one, `reconcile apply plan.json`
//! applies exactly it, without asking again (the saved plan is the approval).
//!
//! The file holds the plan as shown (the JSON view, with sensitive values masked), the plan
//! model apply executes, and fingerprints of everything the plan depended on: the spec file,
//! each source file, the database it was made against and every row and state entry read.
//! Apply refuses a plan when any of them changed, naming what changed. The file holds the
//! values to be written, sensitive ones included, so it is created readable by its owner only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Options, Plan, row_prints};
use crate::db::read::{CurrentState, key_text};
use crate::error::{Error, Result, plural};
use crate::spec::compiled::{Compiled, Input};

/// Bumped on any breaking change to the saved plan file.
pub const FILE_VERSION: &str = "1";
const KIND: &str = "reconcile saved plan";

/// A file and the SHA-256 of its bytes when the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePrint {
    pub path: PathBuf,
    pub sha256: String,
}

/// What `plan --out` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: String,
    pub kind: String,
    pub created_at: String,
    pub spec: FilePrint,
    pub sources: Vec<FilePrint>,
    /// Which database the plan was made against (no password): see [`database_identity`].
    pub database: String,
    pub options: Options,
    /// The plan as `plan --json` shows it.
    pub view: serde_json::Value,
    /// The plan apply executes.
    pub plan: Plan,
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    Ok(hex::encode(Sha256::digest(std::fs::read(path)?)))
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    })
}

fn source_files(spec: &Compiled) -> Vec<(String, PathBuf)> {
    spec.sources
        .iter()
        .filter_map(|s| match &s.input {
            Input::File { path, .. } => Some((s.name.clone(), path.clone())),
            _ => None,
        })
        .collect()
}

/// Identifies a database by its URL without secrets: the SQLite file's absolute path, or the
/// server's host, port and database name. Two URLs for one database with different users or
/// options compare equal.
pub fn database_identity(url: &str) -> String {
    let (scheme, rest) = url.split_once(':').unwrap_or(("", url));
    let scheme = scheme.to_ascii_lowercase();
    let rest = rest.trim_start_matches("//");
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    match scheme.as_str() {
        "sqlite" => {
            if rest.is_empty() || rest.contains(":memory:") {
                return format!("sqlite:{rest}");
            }
            format!("sqlite:{}", absolute(Path::new(rest)).display())
        }
        _ => {
            let (scheme, default_port) = match scheme.as_str() {
                "postgres" | "postgresql" => ("postgres", "5432"),
                "mysql" | "mariadb" => ("mysql", "3306"),
                other => (other, ""),
            };
            let (authority, db) = rest.split_once('/').unwrap_or((rest, ""));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let host = host.to_ascii_lowercase();
            let host = if host.contains(':') || default_port.is_empty() {
                host
            } else {
                format!("{host}:{default_port}")
            };
            format!("{scheme}://{host}/{db}")
        }
    }
}

/// Writes a saved plan, readable by its owner only.
pub fn save(path: &Path, spec: &Compiled, plan: &Plan, url: &str, options: Options) -> Result<()> {
    let io = |what: &Path, e: std::io::Error| {
        Error::Io(format!("cannot save the plan ({}): {e}", what.display()))
    };
    let spec_print = FilePrint {
        path: absolute(&spec.file),
        sha256: sha256_file(&spec.file).map_err(|e| io(&spec.file, e))?,
    };
    let mut sources = Vec::new();
    for (_, p) in source_files(spec) {
        sources.push(FilePrint {
            sha256: sha256_file(&p).map_err(|e| io(&p, e))?,
            path: absolute(&p),
        });
    }
    let saved = SavedPlan {
        format_version: FILE_VERSION.into(),
        kind: KIND.into(),
        created_at: crate::db::write::now_rfc3339(),
        spec: spec_print,
        sources,
        database: database_identity(url),
        options,
        view: serde_json::to_value(crate::render::json::to_json(plan))
            .expect("the plan view serialises"),
        plan: plan.clone(),
    };
    let text = serde_json::to_string_pretty(&saved).expect("a saved plan serialises");
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        open.mode(0o600);
    }
    use std::io::Write as _;
    open.open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|_| f.sync_all()))
        .map_err(|e| io(path, e))
}

/// Reads a saved plan file.
pub fn load(path: &Path) -> Result<SavedPlan> {
    let bad = |why: String| Error::Plan {
        message: format!("{} is not a usable saved plan: {why}", path.display()),
        help: Some("make one with `reconcile plan --out FILE`".into()),
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let head: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    if head.get("kind").and_then(|k| k.as_str()) != Some(KIND) {
        return Err(bad(
            "it is not a file written by `reconcile plan --out`".into()
        ));
    }
    match head.get("format_version").and_then(|v| v.as_str()) {
        Some(FILE_VERSION) => {}
        other => {
            return Err(bad(format!(
                "its format version is {}, this reconcile reads version {FILE_VERSION}",
                other.unwrap_or("missing")
            )));
        }
    }
    serde_json::from_value(head).map_err(|e| bad(e.to_string()))
}

impl SavedPlan {
    /// Refuses the plan when the spec or a source changed since it was made, or when it is
    /// about to be applied to another database than it was made against.
    pub fn check_inputs(&self, spec: &Compiled, url: &str) -> Result<()> {
        let here = database_identity(url);
        if here != self.database {
            return Err(Error::Plan {
                message: format!("this plan was made against {}, not {}", self.database, here),
                help: Some(
                    "apply it with the database it was made against (--database URL), or make a \
                     new plan for this one"
                        .into(),
                ),
            });
        }
        let mut changed = Vec::new();
        let now = sha256_file(&spec.file).unwrap_or_default();
        if now != self.spec.sha256 {
            changed.push(format!("the spec {}", spec.file.display()));
        }
        let saved: HashMap<&Path, &str> = self
            .sources
            .iter()
            .map(|f| (f.path.as_path(), f.sha256.as_str()))
            .collect();
        for (name, p) in source_files(spec) {
            let now = sha256_file(&p).unwrap_or_default();
            if saved.get(absolute(&p).as_path()) != Some(&now.as_str()) {
                changed.push(format!("source `{name}` ({})", p.display()));
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        Err(Error::Plan {
            message: format!(
                "the saved plan is stale: {} changed since it was made: {}",
                if changed.len() == 1 {
                    "a file"
                } else {
                    "files"
                },
                changed.join(", ")
            ),
            help: Some("run `reconcile plan --out FILE` again and review the new plan".into()),
        })
    }
}

/// The error for a plan whose database rows changed since it was made, naming the rows (by
/// address where the row is managed or planned) and, where the plan holds the old values, the
/// fields.
pub fn stale_error(plan: &Plan, current: &CurrentState) -> Error {
    let then: HashMap<&str, &str> = plan
        .read
        .iter()
        .map(|p| (p.id.as_str(), p.hash.as_str()))
        .collect();
    let now_prints = row_prints(current);
    let now: HashMap<&str, &str> = now_prints
        .iter()
        .map(|p| (p.id.as_str(), p.hash.as_str()))
        .collect();
    // Names for row keys: planned changes first, then the state table.
    let mut name_of: HashMap<String, String> = HashMap::new();
    for s in &current.state {
        name_of.insert(s.row_key.clone(), plan.address(&s.address));
    }
    for c in &plan.changes {
        if let Some(k) = &c.row_key {
            name_of.insert(key_text(k), plan.address(&c.address));
        }
    }
    let before_of: HashMap<String, &Vec<crate::value::Value>> = plan
        .changes
        .iter()
        .filter_map(|c| Some((key_text(c.row_key.as_ref()?), c.before.as_ref()?)))
        .collect();
    let rows_now: HashMap<String, &crate::db::read::CurrentRow> =
        current.rows.iter().map(|r| (key_text(&r.key), r)).collect();

    let mut items: Vec<String> = Vec::new();
    let mut ids: Vec<&str> = then.keys().chain(now.keys()).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut state_changes = 0;
    for id in ids {
        let (a, b) = (then.get(id), now.get(id));
        if a == b {
            continue;
        }
        let Some(key) = id.strip_prefix("row:") else {
            state_changes += 1;
            continue;
        };
        let name = name_of
            .get(key)
            .cloned()
            .unwrap_or_else(|| format!("row {key}"));
        let what = match (a, b) {
            (None, _) => "added".to_string(),
            (_, None) => "deleted".to_string(),
            _ => match (before_of.get(key), rows_now.get(key)) {
                (Some(before), Some(row)) => {
                    let fields: Vec<&str> = plan
                        .fields
                        .iter()
                        .enumerate()
                        .filter(|(f, _)| before.get(*f) != row.values.get(*f))
                        .map(|(_, (n, _))| n.as_str())
                        .collect();
                    fields.join(", ")
                }
                _ => "changed".to_string(),
            },
        };
        items.push(format!("{name} {what}"));
    }
    let table_note = if plan.create_table && current.table_exists {
        Some(format!("table {} was created", plan.table))
    } else if !plan.create_table && !current.table_exists {
        Some(format!("table {} was dropped", plan.table))
    } else {
        None
    };
    let mut parts = Vec::new();
    if let Some(t) = table_note {
        parts.push(t);
    }
    if !items.is_empty() {
        let shown: Vec<String> = items.iter().take(10).cloned().collect();
        let more = items.len().saturating_sub(10);
        parts.push(format!(
            "{} changed since the plan: {}{}",
            plural(items.len(), "row"),
            shown.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        ));
    }
    if state_changes > 0 {
        parts.push(format!(
            "{state_changes} state table {} changed (another apply ran)",
            if state_changes == 1 {
                "entry"
            } else {
                "entries"
            }
        ));
    }
    if parts.is_empty() {
        parts.push("the rows read changed since the plan".into());
    }
    Error::Plan {
        message: format!("the plan is stale: {}", parts.join("; ")),
        help: Some("run `reconcile plan` again and review the new plan".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_ignore_users_passwords_and_options() {
        assert_eq!(
            database_identity("postgres://bob:secret@DB.example:5432/app?sslmode=require"),
            database_identity("postgresql://alice@db.example/app")
        );
        assert_ne!(
            database_identity("postgres://db/app"),
            database_identity("postgres://db/other")
        );
        assert_eq!(
            database_identity("mysql://root@127.0.0.1/test"),
            "mysql://127.0.0.1:3306/test"
        );
        assert!(!database_identity("postgres://u:pw@h/d").contains("pw"));
    }
}
