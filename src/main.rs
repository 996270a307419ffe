//! The `reconcile` binary: parse the arguments, run the command, report any error with its
//! context, and exit with the command's code.

use std::process::ExitCode;

use clap::Parser as _;
use reconcile::cli::exit;

/// The pipeline allocates many small strings from several threads at once; mimalloc's
/// per-thread heaps do that faster than the system allocator and return memory sooner.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match reconcile::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            // `--help` and `--version` succeed. A usage error is an error like any other:
            // clap's usual 2 would read as "the plan has changes" under --detailed-exitcode.
            return if err.use_stderr() {
                ExitCode::from(exit::ERROR)
            } else {
                ExitCode::from(exit::SUCCESS)
            };
        }
    };
    match reconcile::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            reconcile::cli::report(&err);
            if matches!(err, reconcile::error::Error::Interrupted) {
                ExitCode::from(exit::INTERRUPTED)
            } else {
                ExitCode::from(exit::ERROR)
            }
        }
    }
}
