//! How a plan is printed, shared by `plan`, `show` and `apply`: `--format text|json|markdown`
//! (`--json` for short) and `--full`, and the one place that picks the view for one spec's
//! plan or a folder's.

use clap::Args;

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::render;

/// The views a plan can be printed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people, as Terraform prints a plan (the default).
    Text,
    /// The stable JSON contract (`reconcile schema --plan`), as `--json`.
    Json,
    /// A table of counts and the changes, for a pull-request comment or
    /// `$GITHUB_STEP_SUMMARY`.
    Markdown,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print the plan as JSON: the same as `--format json`.
    #[arg(long, conflicts_with_all = ["full", "format"])]
    pub json: bool,
    /// How to print the plan: `text` (the default), `json` (as `--json`), or `markdown` (a
    /// table of counts and the changes, for a pull-request comment or `$GITHUB_STEP_SUMMARY`).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Show every change; by default a long plan shows the first few of each kind.
    #[arg(long)]
    pub full: bool,
}

impl OutputArgs {
    /// The format asked for; `--full` with JSON, which always holds every change, is a usage
    /// error, as it is with `--json`.
    pub fn format(&self) -> Result<Format> {
        let format = if self.json {
            Format::Json
        } else {
            self.format.unwrap_or(Format::Text)
        };
        if format == Format::Json && self.full {
            return Err(Error::Usage {
                message: "--full does not go with --format json".into(),
                help: Some("JSON always holds every change; leave out --full".into()),
            });
        }
        Ok(format)
    }
}

/// The plans as `format` asks: one spec's plan, or (`group`) a folder's, parents first.
pub fn render(plans: &[Plan], group: bool, format: Format, full: bool) -> String {
    match (format, group) {
        (Format::Text, false) => {
            render::human::render_with(&plans[0], render::human::Options { full })
        }
        (Format::Text, true) => render::human::render_many(plans, render::human::Options { full }),
        (Format::Json, false) => render::json::render(&plans[0]),
        (Format::Json, true) => render::json::render_many(plans),
        (Format::Markdown, false) => {
            render::markdown::render(&plans[0], render::markdown::Options { full })
        }
        (Format::Markdown, true) => {
            render::markdown::render_many(plans, render::markdown::Options { full })
        }
    }
}
