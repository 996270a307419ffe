//! The command line: arguments (clap), finding the spec and the database, and one file per
//! command. Diagnostics go to stderr; plans and JSON to stdout.

mod apply;
mod plan;
mod validate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Result};
use crate::spec::compiled::Compiled;

#[derive(Debug, Parser)]
#[command(
    name = "reconcile",
    version,
    about = "Keep a database table in line with a declarative YAML spec."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what would change in the database, and why. Writes nothing.
    Plan(PlanArgs),
    /// Make the database match the spec, in one transaction.
    Apply(ApplyArgs),
    /// Check a spec and its sources without touching a database.
    Validate(SpecArgs),
    /// Print the JSON Schema of the spec format.
    Schema,
}

#[derive(Debug, Args)]
pub struct SpecArgs {
    /// The spec file, or a folder holding one spec.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "PATH",
        default_value = "specs"
    )]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct DbArgs {
    /// Database URL (sqlite://, postgres://, mysql://). Defaults to DATABASE_URL, then the
    /// spec's `database`, then `reconcile.db` beside the spec.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
}

/// Deletes, their guards, and the lock: shared by `plan` and `apply`.
#[derive(Debug, Args)]
pub struct SafetyArgs {
    /// Delete managed rows whose record left every source, for this run (as if
    /// `on_missing: delete`).
    #[arg(long)]
    pub prune: bool,
    /// Go on although the plan deletes more rows than `max_delete` allows, or a source that
    /// fed managed rows came back empty.
    #[arg(long)]
    pub allow_mass_delete: bool,
    /// How long to wait for another reconcile holding the table's lock (`0s` fails at once;
    /// e.g. `30s`, `5m`).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = crate::db::lock::parse_duration)]
    pub lock_timeout: std::time::Duration,
}

impl SafetyArgs {
    pub fn options(&self) -> crate::plan::Options {
        crate::plan::Options {
            prune: self.prune,
            allow_mass_delete: self.allow_mass_delete,
        }
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub safety: SafetyArgs,
    /// Save the plan to FILE; `reconcile apply FILE` then applies exactly it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Hold the table's lock while reading, so the plan waits for a running apply.
    #[arg(long)]
    pub lock: bool,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit with 2 when the plan has changes, 0 when it has none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `reconcile plan --out FILE`: applied as it is, without asking.
    #[arg(value_name = "PLANFILE")]
    pub plan_file: Option<PathBuf>,
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub safety: SafetyArgs,
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
}

/// Runs a command; returns the exit code.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Plan(args) => plan::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Schema => {
            print!("{}", crate::spec::schema::schema_text());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints an error with its context and suggestions to stderr.
pub fn report(err: Error) {
    use std::io::IsTerminal as _;
    // Wrapped lines help on a terminal; in a log or a pipe, one problem per line greps better.
    let wrap = std::io::stderr().is_terminal();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .wrap_lines(wrap)
                .terminal_links(false)
                .build(),
        )
    }));
    eprintln!("{:?}", miette::Report::new(err));
}

/// Finds the spec file: the path itself, or the one spec in a folder.
pub fn find_spec(path: &Path) -> Result<PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let mut specs: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Error::SpecNotFound {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    specs.sort();
    match specs.len() {
        1 => Ok(specs.remove(0)),
        0 => Err(Error::SpecNotFound {
            path: path.to_path_buf(),
            reason: "the folder holds no .yaml spec".into(),
        }),
        _ => Err(Error::SpecNotFound {
            path: path.to_path_buf(),
            reason: format!(
                "the folder holds {} specs ({}); name one with -f",
                specs.len(),
                specs
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// Loads and compiles the spec named on the command line.
pub fn load_spec(args: &SpecArgs) -> Result<Compiled> {
    let path = find_spec(&args.file)?;
    crate::spec::load::load(&path)
}

/// The database URL: `--database`, else `DATABASE_URL`, else the spec, else the default.
pub fn database_url(args: &DbArgs, spec: &Compiled) -> Result<String> {
    if let Some(url) = &args.database {
        return Ok(url.clone());
    }
    if let Ok(url) = std::env::var("DATABASE_URL")
        && !url.is_empty()
    {
        return Ok(url);
    }
    if let Some(raw) = &spec.database {
        return crate::spec::load::expand_str(raw).map_err(|var| Error::Database {
            url: raw.clone(),
            message: format!("environment variable `{var}` is not set"),
            help: Some(format!("set `{var}`, or pass --database URL")),
        });
    }
    Ok(crate::db::default_url(&spec.file))
}

/// A current-thread runtime for the database edge.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("cannot start the async runtime: {e}")))
}
