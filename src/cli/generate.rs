//! `reconcile completions SHELL` and `reconcile man`: shell completion scripts and the manual
//! pages (one per command), generated from the same clap definitions the binary parses with, so they never drift.

use std::io::Write as _;
use std::process::ExitCode;

use clap::CommandFactory as _;

use super::{Cli, CompletionsArgs, ManArgs, manual};
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

/// `reconcile man [COMMAND] [--dir DIR]`: one page, or every page written to a folder.
pub(super) fn man(args: ManArgs) -> Result<ExitCode> {
    let cmd = Cli::command();
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Io(format!("cannot create {}: {e}", dir.display())))?;
        let mut written = Vec::new();
        for (name, page) in pages(&cmd)? {
            let path = dir.join(format!("{name}.1"));
            std::fs::write(&path, page)
                .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))?;
            written.push(path.display().to_string());
        }
        eprintln!(
            "Wrote {} manual pages: {}",
            written.len(),
            written.join(", ")
        );
        return Ok(ExitCode::SUCCESS);
    }
    let wanted = match &args.command {
        None => "reconcile".to_string(),
        Some(command) => format!("reconcile-{}", command.trim_start_matches("reconcile-")),
    };
    let pages = pages(&cmd)?;
    let Some((_, page)) = pages.iter().find(|(name, _)| *name == wanted) else {
        let names: Vec<&str> = pages
            .iter()
            .filter_map(|(n, _)| n.strip_prefix("reconcile-"))
            .collect();
        let asked = wanted.trim_start_matches("reconcile-");
        return Err(Error::Usage {
            message: format!("there is no command `{asked}`"),
            help: Some(
                match crate::suggest::did_you_mean(asked, names.iter().copied()) {
                    Some(near) => {
                        format!("did you mean `{near}`? (commands: {})", names.join(", "))
                    }
                    None => format!("the commands are {}", names.join(", ")),
                },
            ),
        });
    };
    std::io::stdout().write_all(page).map_err(io)?;
    Ok(ExitCode::SUCCESS)
}

/// Every manual page, `reconcile` first, then `reconcile-COMMAND` (and `reconcile-state-rm`
/// for nested commands), each with ENVIRONMENT and EXAMPLES.
fn pages(cmd: &clap::Command) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    page(cmd, "reconcile", &mut out)?;
    Ok(out)
}

fn page(cmd: &clap::Command, name: &str, out: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
    // clap names are `&'static str`; these few short strings live as long as the process.
    let static_name: &'static str = name.to_string().leak();
    let shown = cmd
        .clone()
        .name(static_name)
        .bin_name(name.replace('-', " "))
        .version(env!("CARGO_PKG_VERSION"));
    let man = clap_mangen::Man::new(shown.clone());
    let mut text = Vec::new();
    man.render_title(&mut text).map_err(io)?;
    man.render_name_section(&mut text).map_err(io)?;
    man.render_synopsis_section(&mut text).map_err(io)?;
    man.render_description_section(&mut text).map_err(io)?;
    if shown.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut text).map_err(io)?;
    }
    let subs: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .collect();
    if !subs.is_empty() {
        man.render_subcommands_section(&mut text).map_err(io)?;
    }
    if shown.get_after_help().is_some() {
        man.render_extra_section(&mut text).map_err(io)?;
    }
    text.extend_from_slice(manual::environment().as_bytes());
    text.extend_from_slice(manual::examples(name).as_bytes());
    text.extend_from_slice(manual::see_also(name, &subs).as_bytes());
    man.render_version_section(&mut text).map_err(io)?;
    out.push((name.to_string(), text));
    for sub in subs {
        page(sub, &format!("{name}-{}", sub.get_name()), out)?;
    }
    Ok(())
}
