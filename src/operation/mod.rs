//! Operations: what a command does, from loaded specs to a result, with the database at the
//! edge. `cli/` parses arguments, calls one operation, picks a view and prints; nothing
//! here prints (beyond progress on stderr) or knows about arguments.
//!
//! - [`plan`]: specs → plans (one spec, or a folder planned parents first), writing nothing.
//! - [`apply`]: plans → one transaction under the tables' locks; saved plans checked first.
//! - [`explain`]: one golden record's plan, found by its address.
//! - [`state`]: the state's entries listed and shown, and repaired (`state rm`, `state mv`,
//!   `--refresh-only`); [`import`]: an existing row bound to a golden record.
//! - [`show`]: a saved plan read back whole, touching nothing else.
//!
//! Each operation runs on one async runtime (see [`runtime`]); the pure stages run outside
//! it, on every core.

pub mod apply;
pub mod explain;
pub mod import;
pub mod plan;
pub mod show;
pub mod state;

use crate::error::{Error, Result};

/// A current-thread runtime for the database edge.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("cannot start the async runtime: {e}")))
}
