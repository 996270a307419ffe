//! `reconcile state list | show | rm | mv`, `reconcile import ADDRESS KEY`, and
//! `plan --refresh-only` / `apply --refresh-only`: the state, as Terraform users look for it.
//! Parses, calls one operation ([`crate::operation::state`], [`crate::operation::import`]),
//! prints a view ([`crate::render::state`]).

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{ApplyArgs, DbArgs, PlanArgs, SpecArgs, print};
use crate::error::Result;
use crate::operation::state::{self as op, Scope};
use crate::render::state as view;
use crate::spec::compiled::Compiled;

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the addresses in the state, each with its row's key and its member records.
    List(ListArgs),
    /// Show one entry: its address, row key and members, and the row as the table holds it
    /// now (sensitive values masked).
    Show(ShowArgs),
    /// Forget entries: their rows stay in the table, no longer managed. Prints what was
    /// removed, and what the next plan does with each row.
    Rm(RmArgs),
    /// Give an entry another address of the same resource, one no entry holds.
    Mv(MvArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this resource (for a folder of specs); every resource by default.
    #[arg(value_name = "RESOURCE")]
    pub resource: Option<String>,
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub db: DbArgs,
    /// Print the entries as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The entry's address, e.g. `customers["maltos-sun-city"]` (or just the key, for one
    /// spec).
    pub address: String,
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub db: DbArgs,
    /// Print the entry as JSON.
    #[arg(long)]
    pub json: bool,
}

/// How long to wait for the table's lock.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// How long to wait for another reconcile holding the table's lock (`0s` fails at once;
    /// e.g. `30s`, `5m`).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = crate::db::lock::parse_duration)]
    pub lock_timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// The addresses of the entries to forget.
    #[arg(value_name = "ADDRESS", required = true)]
    pub addresses: Vec<String>,
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Debug, Args)]
pub struct MvArgs {
    /// The entry's address now.
    #[arg(value_name = "FROM")]
    pub from: String,
    /// Its new address, of the same resource, that no entry holds.
    #[arg(value_name = "TO")]
    pub to: String,
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A golden record of the spec that the state does not hold yet: an address `reconcile
    /// plan` shows as a record to create, e.g. `customers["maltos-sun-city"]`.
    #[arg(value_name = "ADDRESS")]
    pub address: String,
    /// The existing row: its `target.key` value (e.g. its email) or its primary key.
    #[arg(value_name = "KEY")]
    pub key: String,
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub lock: LockArgs,
}

/// The specs (one, or a folder's) and the database they live in.
fn load(spec: &SpecArgs, db: &DbArgs) -> Result<(Vec<Compiled>, String)> {
    let paths = super::find_specs(&spec.file)?;
    let specs = crate::operation::plan::load(&paths, spec.overrides())?;
    let url = if specs.len() == 1 {
        super::database_url(db, &specs[0])?
    } else {
        super::group_database_url(db, &specs)?
    };
    Ok((specs, url))
}

pub(super) fn run(command: StateCommand) -> Result<ExitCode> {
    match command {
        StateCommand::List(args) => {
            let (specs, url) = load(&args.spec, &args.db)?;
            let scope = Scope {
                specs: &specs,
                url: &url,
            };
            let states = op::list(scope, args.resource.as_deref(), false)?;
            if args.json {
                print(&view::json(&states), "the state")?;
            } else if states.iter().all(|s| s.entries.is_empty()) {
                eprintln!("The state holds no entry: `reconcile apply` writes them.");
            } else {
                print(&view::list(&states), "the state")?;
            }
        }
        StateCommand::Show(args) => {
            let (specs, url) = load(&args.spec, &args.db)?;
            let scope = Scope {
                specs: &specs,
                url: &url,
            };
            let state = op::show(scope, &args.address)?;
            let states = std::slice::from_ref(&state);
            let text = if args.json {
                view::json(states)
            } else {
                view::entries(states)
            };
            print(&text, "the entry")?;
        }
        StateCommand::Rm(args) => {
            let (specs, url) = load(&args.spec, &args.db)?;
            let scope = Scope {
                specs: &specs,
                url: &url,
            };
            let removed = op::rm(scope, &args.addresses, args.lock.lock_timeout)?;
            print(&view::removed(&removed), "what was removed")?;
        }
        StateCommand::Mv(args) => {
            let (specs, url) = load(&args.spec, &args.db)?;
            let scope = Scope {
                specs: &specs,
                url: &url,
            };
            let moved = op::mv(scope, &args.from, &args.to, args.lock.lock_timeout)?;
            print(&view::moved(&moved), "what was moved")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn import(args: ImportArgs) -> Result<ExitCode> {
    let (specs, url) = load(&args.spec, &args.db)?;
    let scope = Scope {
        specs: &specs,
        url: &url,
    };
    let imported =
        crate::operation::import::import(scope, &args.address, &args.key, args.lock.lock_timeout)?;
    print(&view::imported(&imported), "what was imported")?;
    Ok(ExitCode::SUCCESS)
}

/// `show` without a plan file: every entry of the state with its row as the table holds it.
pub(super) fn show_everything(
    spec: &SpecArgs,
    db: &DbArgs,
    format: super::output::Format,
) -> Result<ExitCode> {
    let (specs, url) = load(spec, db)?;
    let states = op::show_all(Scope {
        specs: &specs,
        url: &url,
    })?;
    let text = match format {
        super::output::Format::Json => view::json(&states),
        super::output::Format::Text => view::entries(&states),
        super::output::Format::Markdown => {
            return Err(crate::error::Error::Usage {
                message: "the state prints as text or JSON".into(),
                help: Some("leave out --format markdown, or pass --json".into()),
            });
        }
    };
    print(&text, "the state")?;
    Ok(ExitCode::SUCCESS)
}

/// `plan --refresh-only`: the state changes that would take in what was done outside
/// reconcile; writes nothing.
pub(super) fn plan_refresh_only(args: &PlanArgs) -> Result<ExitCode> {
    let (specs, url) = load(&args.spec, &args.db)?;
    let refreshes = op::refresh(Scope {
        specs: &specs,
        url: &url,
    })?;
    let text = match args.output.format()? {
        super::output::Format::Json => view::refresh_json(&refreshes),
        super::output::Format::Text => view::refresh(&refreshes),
        super::output::Format::Markdown => {
            return Err(crate::error::Error::Usage {
                message: "a refresh-only plan prints as text or JSON".into(),
                help: Some("leave out --format markdown, or pass --json".into()),
            });
        }
    };
    print(&text, "the plan")?;
    let (drop, update, _) = view::totals(&refreshes);
    Ok(if args.detailed_exitcode && drop + update > 0 {
        ExitCode::from(super::exit::CHANGES)
    } else {
        ExitCode::SUCCESS
    })
}

/// `apply --refresh-only`: shows the refresh-only plan, asks for `yes` (unless
/// `--auto-approve`), and writes the state table alone.
pub(super) fn apply_refresh_only(args: &ApplyArgs) -> Result<ExitCode> {
    let (specs, url) = load(&args.spec, &args.db)?;
    let scope = Scope {
        specs: &specs,
        url: &url,
    };
    let refreshes = op::refresh(scope)?;
    print(&view::refresh(&refreshes), "the plan")?;
    let (drop, update, _) = view::totals(&refreshes);
    if drop + update == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.auto_approve {
        super::apply::confirm()?;
    }
    op::write_refresh(scope, &refreshes, args.safety.lock_timeout)?;
    print(&view::refresh_applied(&refreshes), "the result")?;
    Ok(ExitCode::SUCCESS)
}
