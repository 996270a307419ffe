//! `reconcile completions SHELL` and `reconcile man`: shell completion scripts and the manual
//! page, generated from the same clap definitions the binary parses with, so they never drift.

use std::io::Write as _;
use std::process::ExitCode;

use clap::CommandFactory as _;

use super::{Cli, CompletionsArgs};
use crate::error::{Error, Result};

fn io(e: std::io::Error) -> Error {
    Error::Io(format!("cannot write to stdout: {e}"))
}

pub(super) fn completions(args: CompletionsArgs) -> Result<ExitCode> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "reconcile", &mut out);
    std::io::stdout().write_all(&out).map_err(io)?;
    Ok(ExitCode::SUCCESS)
}

/// The manual page: the top-level command, then a section per subcommand.
pub(super) fn man() -> Result<ExitCode> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut out)
        .map_err(io)?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        // clap names are `&'static str`; these few short strings live as long as the process.
        let name: &'static str = format!("reconcile-{}", sub.get_name()).leak();
        let sub = sub.clone().name(name).bin_name(name);
        out.extend_from_slice(b".bp\n");
        clap_mangen::Man::new(sub).render(&mut out).map_err(io)?;
    }
    std::io::stdout().write_all(&out).map_err(io)?;
    Ok(ExitCode::SUCCESS)
}
