//! Saved plans: `reconcile plan --out plan.json` writes one, `reconcile apply plan.json`
//! applies exactly it, without asking again (the saved plan is the approval), and
//! `reconcile show plan.json` prints it as `plan` did.
//!
//! The file is two lines of JSON. The first is what apply needs: one entry per resource (one
//! for a spec, each resource of a folder parents first) with the counts per action, the
//! changes that write something, and fingerprints of everything the plan depended on: the spec file, each source file, the database it was made against, the
//! whole of what was read, and a short hash of each field of each row and of each state entry
//! read. The second line holds the records already up to date, which only `show` reads:
//! apply never reads that far, so a plan of a few changes in a large table applies as fast
//! as if they were not there. Apply refuses a plan when anything it depended on changed,
//! naming what changed and, in a folder, the resource. The file holds the values to be written, sensitive ones included, so it is
//! written readable by its owner only ([`write_private`]), also over an existing file, and
//! never through a symbolic link. It never holds the database's password.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Action, Change, Missing, Options, Plan, Prints, row_prints};
use crate::error::{Error, Result, plural};
use crate::spec::compiled::{Compiled, Input};
use crate::state::{CurrentState, key_text};

/// Bumped on any breaking change to the saved plan file. Version 2 left out the JSON view
/// and the changes that write nothing, and shortened the fingerprints of the rows read.
/// Version 3 names the record each value came from by its place among the change's members.
/// Version 4 fingerprints what was read with XXH3 rather than SHA-256. Version 5 gives each
/// pair to review its reason as data (which setting or record decided) rather than as text.
/// Version 6 holds a list of resources (a folder is saved whole), the records up to date on
/// a second line, each change's conflicts, and the database's URL without its password.
/// It also holds what the plan does to the table's structure (columns to add, the
/// constraints of a table to create), and fingerprints a table lacking columns apart.
pub const FILE_VERSION: &str = "6";
const KIND: &str = "reconcile saved plan";

/// A file and the SHA-256 of its bytes when the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePrint {
    pub path: PathBuf,
    pub sha256: String,
}

/// What `plan --out` writes on the first line of the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: String,
    pub kind: String,
    pub created_at: String,
    /// Which database the plan was made against (no user, no password): see
    /// [`database_identity`].
    pub database: String,
    /// The URL the plan was made with, its password removed (an SQLite file's path made
    /// absolute): what `apply FILE` connects to when no other database is named.
    pub database_url: String,
    /// The URL held a password, which a saved plan never stores: apply needs it from
    /// elsewhere (see [`SavedPlan::url_for`]).
    #[serde(default)]
    pub password: bool,
    pub options: Options,
    /// Planned as a group (a folder of several specs, a spec with references, or
    /// `--target`): shown and applied as one, as `plan` showed it.
    #[serde(default)]
    pub group: bool,
    /// The `--target`s the plan was made with.
    #[serde(default)]
    pub targets: Vec<String>,
    /// One entry per resource, in the order they are written (parents first).
    pub resources: Vec<SavedResource>,
}

/// One resource of a saved plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedResource {
    pub spec: FilePrint,
    pub sources: Vec<FilePrint>,
    /// The counts per action, as `plan --json` shows them.
    pub summary: Summary,
    /// The plan apply executes: only the changes that write something.
    pub plan: Plan,
}

/// The second line of the file: per resource, the records already up to date, each with its
/// place among the plan's changes.
#[derive(Deserialize)]
struct UpToDate {
    kind: String,
    resources: Vec<Vec<(usize, Change)>>,
}

/// The second line as `plan --out` writes it.
#[derive(Serialize)]
struct UpToDateOut<'a> {
    kind: &'a str,
    resources: Vec<Unchanged<'a>>,
}

/// The changes of a plan that write nothing, each with its place among all the changes.
struct Unchanged<'a>(&'a [Change]);

impl Serialize for Unchanged<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().enumerate().filter(|(_, c)| !writes(c)))
    }
}

const UP_TO_DATE: &str = "reconcile saved plan: records up to date";

/// The counts per action of the whole plan, records already up to date included, as
/// `plan --json` shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub no_op: usize,
    pub excluded: usize,
    pub review: usize,
    #[serde(default)]
    pub invalid: usize,
}

/// The first fields of a saved plan, read before the rest to tell what the file is.
#[derive(Deserialize)]
struct Header {
    kind: Option<serde_json::Value>,
    format_version: Option<serde_json::Value>,
}

/// What `plan --out` writes: a [`SavedPlan`] whose plans are borrowed and filtered as they
/// are written, so a large plan is neither copied nor filtered in memory.
#[derive(Serialize)]
struct SavedPlanOut<'a> {
    format_version: &'a str,
    kind: &'a str,
    created_at: String,
    database: String,
    database_url: String,
    password: bool,
    options: Options,
    group: bool,
    targets: &'a [String],
    resources: Vec<ResourceOut<'a>>,
}

/// One resource as `plan --out` writes it.
#[derive(Serialize)]
struct ResourceOut<'a> {
    spec: FilePrint,
    sources: Vec<FilePrint>,
    summary: Summary,
    plan: PlanOut<'a>,
}

/// A [`Plan`] as a saved plan holds it: the same fields, the changes that write nothing left
/// out (they are kept apart, on the file's second line).
#[derive(Serialize)]
struct PlanOut<'a> {
    resource: &'a str,
    table: &'a str,
    fields: &'a [(String, String)],
    create_table: bool,
    schema: &'a super::schema::Schema,
    #[serde(serialize_with = "writes_only")]
    changes: &'a [Change],
    missing: &'a [Missing],
    excluded: &'a [super::ExcludedItem],
    invalid: &'a [super::InvalidItem],
    review: &'a [super::ReviewItem],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    overrides: &'a [super::OverrideNote],
    fingerprint: &'a str,
    rows_read: usize,
    sensitive: &'a [bool],
    soft_delete: &'a Option<crate::spec::compiled::SoftDelete>,
    read: &'a Prints,
    #[serde(skip_serializing_if = "Option::is_none")]
    decided: &'a Option<super::decided::Decided>,
    #[serde(skip_serializing_if = "Option::is_none")]
    row_sums: &'a Option<super::decided::RowSums>,
    inputs: &'a Option<String>,
    matching: &'a super::MatchingModel,
}

/// A long list read in chunks of fixed size, then moved into one vector of the exact length.
/// JSON does not say how long a list is, and a vector grown by doubling copies its items
/// again at each step and touches twice the memory it ends with: for the million changes of
/// a large saved plan, more time than parsing them.
pub(crate) fn in_chunks<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Chunks<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Chunks<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Vec<T>, A::Error> {
            const CHUNK: usize = 1 << 16;
            let mut chunks: Vec<Vec<T>> = Vec::new();
            let mut chunk = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(CHUNK));
            while let Some(item) = seq.next_element()? {
                if chunk.len() == CHUNK {
                    chunks.push(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)));
                }
                chunk.push(item);
            }
            if chunks.is_empty() {
                return Ok(chunk);
            }
            let mut all = Vec::with_capacity(chunks.len() * CHUNK + chunk.len());
            for c in chunks {
                all.extend(c);
            }
            all.extend(chunk);
            Ok(all)
        }
    }
    d.deserialize_seq(Chunks(std::marker::PhantomData))
}

/// Whether apply does anything with a change.
fn writes(c: &Change) -> bool {
    c.action != Action::NoOp || c.write_state
}

fn writes_only<S: serde::Serializer>(changes: &&[Change], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(changes.iter().filter(|c| writes(c)))
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    crate::fingerprint::file_sha256(path).map(hex::encode)
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        // A file not there yet (a database made by the apply): `./reconcile.db` and
        // `reconcile.db` are one file.
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
            .components()
            .filter(|c| *c != std::path::Component::CurDir)
            .collect()
    })
}

/// Every file the spec's sources read, by source name: a pattern's files as it matches them
/// now (none when it matches nothing).
fn source_files(spec: &Compiled) -> Vec<(String, PathBuf)> {
    spec.sources
        .iter()
        .flat_map(|s| match &s.input {
            Input::File { path, glob, .. } => crate::files::source_paths(path, glob.as_ref())
                .unwrap_or_default()
                .into_iter()
                .map(|p| (s.name.clone(), p))
                .collect(),
            _ => Vec::new(),
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
    match scheme.as_str() {
        "sqlite" => {
            let rest = rest.split(['?', '#']).next().unwrap_or("");
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
            // Whatever the password holds, only what follows the user information counts.
            let rest = crate::error::after_userinfo(rest);
            let rest = rest.split(['?', '#']).next().unwrap_or("");
            let (host, db) = rest.split_once('/').unwrap_or((rest, ""));
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

/// The URL a saved plan records: without its password (nor a `password=` option), an SQLite
/// file's path made absolute so that the plan applies from any folder; and whether a
/// password was taken out.
pub fn recorded_url(url: &str) -> (String, bool) {
    let (scheme, rest) = url.split_once(':').unwrap_or(("", url));
    let split_query = |u: &str| match u.split_once('?') {
        Some((base, query)) => (base.to_string(), Some(query.to_string())),
        None => (u.to_string(), None),
    };
    if scheme.eq_ignore_ascii_case("sqlite") {
        let (path, query) = split_query(rest.trim_start_matches("//"));
        if path.is_empty() || path.contains(":memory:") {
            return (url.to_string(), false);
        }
        let query = query.map(|q| format!("?{q}")).unwrap_or_default();
        return (
            format!("sqlite://{}{query}", absolute(Path::new(&path)).display()),
            false,
        );
    }
    let (stripped, mut had) = crate::error::strip_password(url);
    let (base, query) = split_query(&stripped);
    let Some(query) = query else {
        return (base, had);
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or("");
            let secret =
                key.eq_ignore_ascii_case("password") || key.eq_ignore_ascii_case("sslpassword");
            had |= secret;
            !secret
        })
        .collect();
    if kept.is_empty() {
        (base, had)
    } else {
        (format!("{base}?{}", kept.join("&")), had)
    }
}

/// What `plan --out` saves: the plans of one spec, or of a folder, in the order they are
/// written (parents first), with the specs they were made from.
pub struct ToSave<'a> {
    pub specs: &'a [Compiled],
    pub plans: &'a [Plan],
    /// The database the plans were made against.
    pub url: &'a str,
    pub options: Options,
    /// Planned as a group: see [`SavedPlan::group`].
    pub group: bool,
    pub targets: &'a [String],
}

/// Writes a saved plan, readable by its owner only.
pub fn save(path: &Path, what: &ToSave<'_>) -> Result<()> {
    let io = |what: &Path, e: std::io::Error| {
        Error::Io(format!("cannot save the plan ({}): {e}", what.display()))
    };
    let mut resources = Vec::with_capacity(what.plans.len());
    for (spec, plan) in what.specs.iter().zip(what.plans) {
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
        resources.push(ResourceOut {
            spec: spec_print,
            sources,
            summary: summary_of(plan),
            plan: plan_out(plan),
        });
    }
    let (database_url, password) = recorded_url(what.url);
    let saved = SavedPlanOut {
        format_version: FILE_VERSION,
        kind: KIND,
        created_at: crate::time::now_rfc3339(),
        database: database_identity(what.url),
        database_url,
        password,
        options: what.options,
        group: what.group,
        targets: what.targets,
        resources,
    };
    let up_to_date = UpToDateOut {
        kind: UP_TO_DATE,
        resources: what.plans.iter().map(|p| Unchanged(&p.changes)).collect(),
    };
    write_private(path, |w| {
        // JSON written compact holds no line break: each document is one line.
        serde_json::to_writer(&mut *w, &saved)?;
        w.write_all(b"\n")?;
        serde_json::to_writer(&mut *w, &up_to_date)?;
        w.write_all(b"\n")
    })
    .map_err(|e| io(path, e))
}

/// The counts per action of a plan, as the file keeps them.
fn summary_of(plan: &Plan) -> Summary {
    let s = plan.summary();
    Summary {
        create: s.create,
        update: s.update,
        delete: s.delete,
        no_op: s.no_op,
        excluded: plan.excluded.len(),
        review: plan.review.len(),
        invalid: plan.invalid.len(),
    }
}

fn plan_out(plan: &Plan) -> PlanOut<'_> {
    PlanOut {
        resource: &plan.resource,
        table: &plan.table,
        fields: &plan.fields,
        create_table: plan.create_table,
        schema: &plan.schema,
        changes: &plan.changes,
        missing: &plan.missing,
        excluded: &plan.excluded,
        invalid: &plan.invalid,
        review: &plan.review,
        overrides: &plan.overrides,
        fingerprint: &plan.fingerprint,
        rows_read: plan.rows_read,
        sensitive: &plan.sensitive,
        soft_delete: &plan.soft_delete,
        read: &plan.read,
        decided: &plan.decided,
        row_sums: &plan.row_sums,
        inputs: &plan.inputs,
        matching: &plan.matching,
    }
}

/// Writes a file that may hold values, sensitive ones included, readable by its owner only
/// (0600), whether or not it existed: the content goes to a new file created 0600 in the same
/// folder, which then replaces `path` by a rename. A symbolic link at `path` is replaced by
/// the file, never written through; a reader sees the old file or the whole new one.
pub fn write_private(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
    })?;
    let temp = dir.join(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut open = std::fs::OpenOptions::new();
    // `create_new` refuses anything already at the temporary name, a link included.
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        open.mode(0o600);
    }
    let file = open.open(&temp)?;
    let written = (|| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written?;
    // The rename is durable once the folder is.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The error of a file that is not a saved plan this version can use.
fn unusable(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Plan {
        message: format!("{} is not a usable saved plan: {why}", path.display()),
        help: Some("make one with `reconcile plan --out FILE`".into()),
    }
}

/// Reads a saved plan file: its first line, all apply needs (the records up to date, on the
/// second, are read by [`SavedPlan::plans_to_show`]).
pub fn load(path: &Path) -> Result<SavedPlan> {
    let bad = |why: String| unusable(path, why);
    let read = || -> std::io::Result<Vec<u8>> {
        use std::io::BufRead as _;
        let file = std::fs::File::open(path)?;
        // Reserved, not touched: the first line is most of the file, or a small part of it.
        let mut bytes = Vec::with_capacity(file.metadata()?.len() as usize);
        std::io::BufReader::with_capacity(1 << 20, file).read_until(b'\n', &mut bytes)?;
        Ok(bytes)
    };
    let bytes = read().map_err(|e| bad(e.to_string()))?;
    // The line is parsed once; only when that fails, or names another kind or version, is
    // its header read to say why.
    let parsed = serde_json::from_slice::<SavedPlan>(&bytes);
    let (kind, version) = match &parsed {
        Ok(saved) => (Some(saved.kind.clone()), Some(saved.format_version.clone())),
        Err(_) => {
            let head: Header =
                serde_json::from_slice(&bytes).map_err(|e| bad(format!("invalid JSON: {e}")))?;
            let text = |v: Option<serde_json::Value>| v.and_then(|v| v.as_str().map(String::from));
            (text(head.kind), text(head.format_version))
        }
    };
    if kind.as_deref() != Some(KIND) {
        return Err(bad(
            "it is not a file written by `reconcile plan --out`".into()
        ));
    }
    if version.as_deref() != Some(FILE_VERSION) {
        return Err(Error::Plan {
            message: format!(
                "{} is a saved plan of format version {}; this reconcile reads version \
                 {FILE_VERSION}",
                path.display(),
                version.as_deref().unwrap_or("(missing)")
            ),
            help: Some(
                "make the plan again with this reconcile: `reconcile plan --out FILE`".into(),
            ),
        });
    }
    parsed.map_err(|e| bad(e.to_string()))
}

impl SavedPlan {
    /// The database to apply the plan to. One named on the command line or in
    /// `DATABASE_URL` (`named`: the URL and where it came from) must be the database the plan
    /// was made against, and is used as given. Otherwise the URL the plan recorded is used.
    /// A saved plan never keeps a password: when the recorded URL had one, it comes from a
    /// spec's `database:` naming the same database (`${DATABASE_URL}`, or a URL built from
    /// `${DB_PASSWORD}`), or on PostgreSQL from `PGPASSWORD`; without any, the error says how
    /// to give it. `spec_urls` are the specs' `database:` values, expanded.
    pub fn url_for(&self, named: Option<(&str, &str)>, spec_urls: &[String]) -> Result<String> {
        if let Some((url, from)) = named {
            self.check_database(url, from)?;
            return Ok(url.to_string());
        }
        if !self.password {
            return Ok(self.database_url.clone());
        }
        if let Some(url) = spec_urls
            .iter()
            .find(|u| database_identity(u) == self.database)
        {
            return Ok(url.clone());
        }
        let postgres = self.database.starts_with("postgres:");
        if postgres && std::env::var_os("PGPASSWORD").is_some_and(|p| !p.is_empty()) {
            return Ok(self.database_url.clone());
        }
        Err(Error::Plan {
            message: format!(
                "this plan was made against {}, with a password that a saved plan never keeps",
                crate::error::redact_url(&self.database_url)
            ),
            help: Some(format!(
                "give the password as the plan was given it: set DATABASE_URL or pass --database                  with the full URL (it must name the same database){}",
                if postgres { ", or set PGPASSWORD" } else { "" }
            )),
        })
    }

    /// Refuses to apply the plan to another database than it was made against (`from` says
    /// where `url` was named). Users, passwords and options do not count.
    pub fn check_database(&self, url: &str, from: &str) -> Result<()> {
        let here = database_identity(url);
        if here == self.database {
            return Ok(());
        }
        Err(Error::Plan {
            message: format!(
                "this plan was made against {}, not {here} ({from})",
                self.database
            ),
            help: Some(
                "without --database and DATABASE_URL, `reconcile apply PLANFILE` uses the \
                 database the plan was made against; or make a new plan for this one"
                    .into(),
            ),
        })
    }

    /// The resources' plans as apply needs them: the records up to date counted, not read.
    pub fn plans_to_apply(self) -> Vec<Plan> {
        self.resources
            .into_iter()
            .map(|r| {
                let mut plan = r.plan;
                let listed = plan
                    .changes
                    .iter()
                    .filter(|c| c.action == Action::NoOp)
                    .count();
                plan.unlisted = r.summary.no_op.saturating_sub(listed);
                plan
            })
            .collect()
    }

    /// The resources' plans whole, as `plan` made them: the records up to date back in their
    /// places among the changes. `path` names the file in errors.
    pub fn plans_to_show(self, path: &Path) -> Result<Vec<Plan>> {
        let read = || -> std::io::Result<Vec<u8>> {
            use std::io::{BufRead as _, Read as _};
            let mut file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
            file.skip_until(b'\n')?;
            let mut rest = Vec::new();
            file.read_to_end(&mut rest)?;
            Ok(rest)
        };
        let rest = read().map_err(|e| unusable(path, e))?;
        let up_to_date: UpToDate = serde_json::from_slice(&rest)
            .map_err(|e| unusable(path, format!("its records up to date: {e}")))?;
        if up_to_date.kind != UP_TO_DATE || up_to_date.resources.len() != self.resources.len() {
            return Err(unusable(
                path,
                "its records up to date do not fit its resources",
            ));
        }
        self.resources
            .into_iter()
            .zip(up_to_date.resources)
            .map(|(r, unchanged)| {
                whole(r.plan, unchanged)
                    .ok_or_else(|| unusable(path, "its records up to date do not fit its changes"))
            })
            .collect()
    }
}

/// A plan with the records up to date back in their places; `None` when they do not fit.
fn whole(mut plan: Plan, unchanged: Vec<(usize, Change)>) -> Option<Plan> {
    let mut all = Vec::with_capacity(plan.changes.len() + unchanged.len());
    let mut writes = std::mem::take(&mut plan.changes).into_iter();
    for (at, change) in unchanged {
        while all.len() < at {
            all.push(writes.next()?);
        }
        if all.len() != at {
            return None;
        }
        all.push(change);
    }
    all.extend(writes);
    plan.changes = all;
    Some(plan)
}

impl SavedResource {
    /// Refuses the resource's plan when its spec or a source changed since it was made;
    /// `label` names the resource in a folder (empty for one spec).
    pub fn check_inputs(&self, spec: &Compiled, label: &str) -> Result<()> {
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
        let files = source_files(spec);
        for (name, p) in &files {
            let now = sha256_file(p).unwrap_or_default();
            if saved.get(absolute(p).as_path()) != Some(&now.as_str()) {
                changed.push(format!("source `{name}` ({})", p.display()));
            }
        }
        // A file a pattern matched when the plan was made, and no longer does.
        let now: std::collections::HashSet<PathBuf> =
            files.iter().map(|(_, p)| absolute(p)).collect();
        for gone in self.sources.iter().filter(|f| !now.contains(&f.path)) {
            changed.push(format!("{} (no longer read)", gone.path.display()));
        }
        if changed.is_empty() {
            return Ok(());
        }
        Err(Error::Plan {
            message: format!(
                "the saved plan is stale: {label}{} changed since it was made: {}",
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
    let read = plan.read.list();
    let then: HashMap<&str, &str> = read
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
    let rows_now: HashMap<String, &crate::state::CurrentRow> =
        current.rows.iter().map(|r| (key_text(&r.key), r)).collect();

    let mut items: Vec<String> = Vec::new();
    // A plan that kept the prints of only what its writes rest on names changes to those.
    let mut ids: Vec<&str> = if plan.decided.is_some() {
        then.keys().copied().collect()
    } else {
        then.keys().chain(now.keys()).copied().collect()
    };
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
            // The short hashes of the fields tell which changed, as the database holds them
            // (a plan's values may differ: a folder's references read back as addresses).
            (Some(a), Some(b)) if a.len() == b.len() && a.len() == 8 * plan.fields.len() => {
                let fields: Vec<&str> = plan
                    .fields
                    .iter()
                    .enumerate()
                    .filter(|(f, _)| a.get(f * 8..f * 8 + 8) != b.get(f * 8..f * 8 + 8))
                    .map(|(_, (n, _))| n.as_str())
                    .collect();
                fields.join(", ")
            }
            (Some(_), Some(_)) => match (before_of.get(key), rows_now.get(key)) {
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
    if current.table_exists {
        parts.extend(super::schema::columns_changed(plan, current));
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

    #[test]
    fn the_recorded_url_keeps_no_password_and_finds_an_sqlite_file_from_anywhere() {
        assert_eq!(
            recorded_url("postgres://app:s3cret@db:5432/app?sslmode=require&password=x"),
            (
                "postgres://app@db:5432/app?sslmode=require".to_string(),
                true
            )
        );
        assert_eq!(
            recorded_url("mysql://root@127.0.0.1:3306/test"),
            ("mysql://root@127.0.0.1:3306/test".to_string(), false)
        );
        let (url, password) = recorded_url("sqlite://specs/reconcile.db?mode=rwc");
        assert!(!password);
        assert!(url.starts_with("sqlite:///"), "{url}");
        assert!(url.ends_with("/specs/reconcile.db?mode=rwc"), "{url}");
        assert_eq!(
            database_identity(&url),
            database_identity("sqlite://specs/reconcile.db")
        );
    }

    #[test]
    fn fingerprints_read_stay_text_until_needed_and_must_be_a_list() {
        let list = vec![
            super::super::RowPrint {
                id: "row:1".into(),
                hash: "00ff00ff".into(),
            },
            super::super::RowPrint {
                id: "state:a\"b".into(),
                hash: "0123456789abcdef".into(),
            },
        ];
        let text = serde_json::to_string(&Prints::from(list.clone())).unwrap();
        let read: Prints = serde_json::from_str(&text).unwrap();
        assert!(matches!(read, Prints::Json(_)), "kept as text");
        assert_eq!(read.list().as_ref(), list.as_slice());
        // Written back as it was read.
        assert_eq!(serde_json::to_string(&read).unwrap(), text);
        let err = serde_json::from_str::<Prints>(r#""row:1""#).unwrap_err();
        assert!(err.to_string().contains("list of fingerprints"), "{err}");
    }
}
