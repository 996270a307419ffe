//! The command line: arguments (clap), finding the spec and the database, and one file per
//! command. Diagnostics go to stderr; plans and JSON to stdout.

mod apply;
pub mod evaluate;
pub mod explain;
mod generate;
mod init;
mod manual;
pub mod output;
mod plan;
pub mod review;
mod show;
pub mod state;
mod validate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Result};
use crate::spec::compiled::Compiled;

/// Exit codes. They are part of the interface: scripts and CI depend on them.
pub mod exit {
    /// The command did what was asked; for `plan --detailed-exitcode`, there are no changes.
    pub const SUCCESS: u8 = 0;
    /// Something went wrong (a spec or source problem, a database error, a refused or
    /// cancelled apply, a usage error). Nothing was written.
    pub const ERROR: u8 = 1;
    /// Only with `plan --detailed-exitcode`: the plan succeeded and has changes.
    pub const CHANGES: u8 = 2;
    /// An apply was interrupted (SIGINT or SIGTERM) and rolled back: nothing was written.
    pub const INTERRUPTED: u8 = 130;
}

const AFTER_HELP: &str = "\
Exit codes:
  0  success (with --detailed-exitcode: no changes)
  1  error: spec, sources, database, usage, or a cancelled apply; nothing was written
  2  with `plan --detailed-exitcode`: success, and the plan has changes
  130  an apply was interrupted (Ctrl-C or SIGTERM) and rolled back; nothing was written

Start with `reconcile init`, then `reconcile plan`.";

#[derive(Debug, Parser)]
#[command(
    name = "reconcile",
    version,
    about = "Keep a database table in line with a declarative YAML spec.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Draw no progress on stderr (it is only drawn when stderr is a terminal anyway).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Print no colour, even on a terminal or with CLICOLOR_FORCE set (as NO_COLOR does).
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what would change in the database, and why. Writes nothing.
    Plan(PlanArgs),
    /// Make the database match the spec, in one transaction.
    Apply(ApplyArgs),
    /// Print a plan saved with `plan --out` as `plan` printed it. Applies nothing and opens no
    /// database.
    Show(ShowArgs),
    /// Check a spec and its sources without touching a database.
    Validate(SpecArgs),
    /// Explain matching: without ADDRESS, a summary (blocking, model, time per stage); with
    /// ADDRESS, why that golden record looks the way it does. In a folder, a summary per
    /// resource, and the address's resource picks the spec.
    Explain(ExplainArgs),
    /// Measure matching against labelled pairs or true ids: precision, recall and F1 of the
    /// links, a threshold sweep, and the false and missed links with their evidence. Never
    /// opens the database.
    Evaluate(evaluate::EvaluateArgs),
    /// Settle uncertain pairs: walk the pairs scored in the review band (on a terminal; `s`
    /// same, `d` distinct, `u` unsure, `b` back, `q` quit) and append each decision to the
    /// labels file the spec reads with `match.labels`. Without a terminal, `--json` prints
    /// the pairs to decide and `--apply FILE` records decisions.
    Review(review::ReviewArgs),
    /// The state: which rows reconcile manages, under which address. `list` and `show` read
    /// it; `rm` and `mv` repair it (the table itself is never written).
    #[command(subcommand)]
    State(state::StateCommand),
    /// Manage an existing row: bind the row found by KEY (its `target.key` value or primary
    /// key) to the golden record at ADDRESS, so the next plan updates it instead of creating
    /// a second one. Writes only the state.
    Import(state::ImportArgs),
    /// Print the JSON Schema of the spec format (or, with `--plan`, of `plan --json`).
    Schema(SchemaArgs),
    /// Write a commented starter spec (and the schema editors use to check it).
    Init(InitArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    ///
    /// For bash: `reconcile completions bash > ~/.local/share/bash-completion/completions/reconcile`.
    Completions(CompletionsArgs),
    /// Print a manual page (roff): `reconcile man` for the tool, `reconcile man plan` for a
    /// command, `reconcile man --dir DIR` to write every page (`reconcile-plan.1`, …).
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the spec.
    #[arg(value_name = "PATH", default_value = "specs/customers.yaml")]
    pub path: PathBuf,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print (`plan`, `apply`, `state-rm`, …); without it, the
    /// page of `reconcile` itself.
    #[arg(value_name = "COMMAND", conflicts_with = "dir")]
    pub command: Option<String>,
    /// Write every page to this folder instead, as `reconcile.1`, `reconcile-plan.1`, ….
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct SpecArgs {
    /// The spec file, or a folder of specs (one resource each, planned together).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "PATH",
        default_value = "specs"
    )]
    pub file: PathBuf,
    /// Make every source value that fails its field type an error, as `invalid: error` in
    /// the spec does (for CI). Without it, such values are listed in the plan and left out.
    #[arg(long)]
    pub strict: bool,
    /// The most memory matching may hold, as `512MiB` or `4GiB`, as `match.memory` in the
    /// spec does. Past it, matching runs in partitions spilled to disk, with the same result.
    #[arg(long, value_name = "SIZE", value_parser = parse_memory)]
    pub match_memory: Option<u64>,
}

impl SpecArgs {
    /// What these flags set over every spec loaded.
    pub fn overrides(&self) -> crate::operation::plan::Overrides {
        crate::operation::plan::Overrides {
            strict: self.strict,
            match_memory: self.match_memory,
        }
    }
}

fn parse_memory(text: &str) -> std::result::Result<u64, String> {
    crate::matching::memory::parse_size(text)
        .map_err(|why| format!("{why}: write a size such as `512MiB` or `4GiB`"))
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
    /// Apply updates that change every field a row is known by (every compared field and the
    /// key): the plan shows them as replacements, and apply refuses them without this flag.
    #[arg(long)]
    pub allow_replace: bool,
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
            allow_replace: self.allow_replace,
        }
    }
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of the JSON plan (`plan --json`), a stable contract, instead of the spec's.
    #[arg(long)]
    pub plan: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub safety: SafetyArgs,
    /// Plan only this resource (`branches`) or record (`branches["valley"]`), with the
    /// resources it depends on. May be repeated. For exceptional cases, not routine use.
    #[arg(long = "target", value_name = "RESOURCE|ADDRESS")]
    pub target: Vec<String>,
    /// Save the plan to FILE; `reconcile apply FILE` then applies exactly it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Hold the table's lock while reading, so the plan waits for a running apply.
    #[arg(long)]
    pub lock: bool,
    #[command(flatten)]
    pub output: output::OutputArgs,
    /// Also write the plan as a self-contained HTML report (changes, clusters with their
    /// scores, pairs to review, excluded records), searchable and sortable.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Exit with 2 when the plan has changes, 0 when it has none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// After the plan, explain matching: blocking statistics, the model, and every golden
    /// record of several source records.
    #[arg(long, conflicts_with = "json")]
    pub explain: bool,
    /// Read and match the sources even when the spec and every source are unchanged since the
    /// last apply and the table still holds what it wrote (then the plan is "No changes"
    /// without reading them).
    #[arg(long)]
    pub refresh: bool,
    /// Only take what was done outside reconcile into the state: entries of rows deleted
    /// outside it are dropped, rows changed outside it are accepted as they are. Reads no
    /// source, and the plan changes the state alone, never the table.
    #[arg(long, conflicts_with_all = ["out", "html", "explain", "target", "refresh", "lock", "full", "prune", "allow_mass_delete", "allow_replace"])]
    pub refresh_only: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A golden record's address, e.g. `customers["maltos-sun-city"]` (or just the key).
    pub address: Option<String>,
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub db: DbArgs,
    /// Print the summary as JSON, with every cluster of several records, and every link and
    /// pair to review with each comparison's evidence.
    #[arg(long, conflicts_with = "address")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `reconcile plan --out FILE`: applied as it is, without asking, to
    /// the database it was made against (a database named by --database or DATABASE_URL must
    /// be that one; a password, which the file never holds, comes from them, from the spec's
    /// `database:`, or on PostgreSQL from PGPASSWORD).
    #[arg(value_name = "PLANFILE")]
    pub plan_file: Option<PathBuf>,
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub safety: SafetyArgs,
    /// Plan only this resource (`branches`) or record (`branches["valley"]`), with the
    /// resources it depends on. May be repeated. For exceptional cases, not routine use.
    #[arg(long = "target", value_name = "RESOURCE|ADDRESS")]
    pub target: Vec<String>,
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Show every change of the plan; by default a long plan shows the first few of each
    /// kind.
    #[arg(long)]
    pub full: bool,
    /// Also write the plan as a self-contained HTML report before applying it (not with a
    /// saved plan, which keeps no clusters or scores: `plan --out FILE --html REPORT` writes
    /// both).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print one JSON document: the plan (as `plan --json`) and what was applied. Needs a
    /// saved plan or --auto-approve, since there is no prompt.
    #[arg(long, conflicts_with = "full")]
    pub json: bool,
    /// Read and match the sources even when the spec and every source are unchanged since the
    /// last apply and the table still holds what it wrote (then the plan is "No changes"
    /// without reading them).
    #[arg(long)]
    pub refresh: bool,
    /// Only take what was done outside reconcile into the state (see `plan --refresh-only`):
    /// shows that plan, asks for `yes`, and writes the state table alone.
    #[arg(long, conflicts_with_all = ["plan_file", "target", "refresh", "prune", "allow_mass_delete", "allow_replace"])]
    pub refresh_only: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `reconcile plan --out FILE`. Without it, what the state table
    /// holds: every entry of the spec's resources with its row as the table holds it now.
    #[arg(value_name = "PLANFILE")]
    pub plan_file: Option<PathBuf>,
    #[command(flatten)]
    pub output: output::OutputArgs,
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Runs a command; returns the exit code.
pub fn run(cli: Cli) -> Result<ExitCode> {
    crate::progress::set_quiet(cli.quiet);
    if cli.no_color {
        // Every coloured stream of the program is an `anstream` stream, which reads this.
        anstream::ColorChoice::Never.write_global();
    }
    match cli.command {
        Command::Plan(args) if args.refresh_only => state::plan_refresh_only(&args),
        Command::Apply(args) if args.refresh_only => state::apply_refresh_only(&args),
        Command::Plan(args) => plan::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Show(args) => show::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Review(args) => review::run(args),
        Command::State(command) => state::run(command),
        Command::Import(args) => state::import(args),
        Command::Schema(args) => {
            if args.plan {
                let mut text = serde_json::to_string_pretty(&crate::render::json::schema())
                    .expect("a schema serialises");
                text.push('\n');
                print!("{text}");
            } else {
                print!("{}", crate::spec::schema::schema_text());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Init(args) => init::run(args),
        Command::Completions(args) => generate::completions(args),
        Command::Man(args) => generate::man(args),
    }
}

/// Prints an error, with every problem it carries and what to do, to stderr. Colour only
/// when stderr is a terminal and neither `NO_COLOR` nor `--no-color` is set.
pub fn report(err: &Error) {
    use std::io::Write as _;
    let mut stderr = anstream::stderr();
    let _ = stderr.write_all(crate::render::diagnostics::render(err).as_bytes());
}

/// Finds the spec files: the path itself, or every spec of a folder (sorted by name).
pub fn find_specs(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
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
    if specs.is_empty() {
        return Err(Error::SpecNotFound {
            path: path.to_path_buf(),
            reason: "the folder holds no .yaml spec".into(),
        });
    }
    Ok(specs)
}

/// Finds the spec file: the path itself, or the one spec in a folder (for commands that work
/// on one resource).
pub fn find_spec(path: &Path) -> Result<PathBuf> {
    let mut specs = find_specs(path)?;
    if specs.len() == 1 {
        return Ok(specs.remove(0));
    }
    Err(Error::SpecNotFound {
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
    })
}

/// Loads and compiles the spec named on the command line; `--strict` turns its invalid
/// values into errors.
pub fn load_spec(args: &SpecArgs) -> Result<Compiled> {
    let path = find_spec(&args.file)?;
    let mut spec = crate::spec::load::load(&path)?;
    args.overrides().apply(&mut spec);
    Ok(spec)
}

/// The database URL: `--database`, else `DATABASE_URL`, else the spec, else the default.
pub fn database_url(args: &DbArgs, spec: &Compiled) -> Result<String> {
    if let Some((url, _)) = named_database(args) {
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

/// A database named for this run, `--database` first, then `DATABASE_URL`, with where it
/// came from (for messages).
pub fn named_database(args: &DbArgs) -> Option<(String, &'static str)> {
    if let Some(url) = &args.database {
        return Some((url.clone(), "--database"));
    }
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .map(|url| (url, "DATABASE_URL"))
}

/// The database URL of a folder: as for one spec, the first spec of the folder deciding.
/// Specs naming different databases cannot be applied in one transaction.
pub fn group_database_url(args: &DbArgs, specs: &[Compiled]) -> Result<String> {
    if let Some(other) = specs.iter().find(|s| s.database != specs[0].database) {
        return Err(Error::Usage {
            message: format!(
                "{} and {} name different databases; the resources of a folder are written \
                 in one transaction, to one database",
                specs[0].file.display(),
                other.file.display()
            ),
            help: Some("give them the same `database:` (or none), or pass --database".into()),
        });
    }
    database_url(args, &specs[0])
}

/// Prints Terraform's warning when only part of the specs is planned.
pub fn warn_targets(targets: &[String]) {
    if !targets.is_empty() {
        eprintln!(
            "Warning: resource targeting is in effect ({}).\n\n  The plan may be incomplete: \
             only the targeted resources and records, and the resources they depend on, are \
             planned. Use --target for exceptional cases such as recovering from errors, not \
             routinely.\n",
            targets.join(", ")
        );
    }
}

/// Writes a command's output to stdout; `what` names it in the error.
pub fn print(text: &str, what: &str) -> Result<()> {
    use std::io::Write as _;
    let mut out = anstream::stdout();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::Io(format!("cannot write {what}: {e}")))
}
