//! The `reconcile` binary: parse the arguments, run the command, report any error with its
//! context, and exit with the command's code.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = reconcile::cli::Cli::parse();
    match reconcile::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            reconcile::cli::report(err);
            ExitCode::from(1)
        }
    }
}
