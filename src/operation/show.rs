//! Showing a saved plan: the file is read and nothing else. No spec, source or database is
//! opened, and nothing is checked against them: `show` prints what was planned, as `plan`
//! printed it; `apply` is what refuses a plan that went stale.

use std::path::Path;

use crate::error::Result;
use crate::plan::{self, Plan};

/// A saved plan as `plan` made it.
pub struct Shown {
    /// One plan per resource, parents first, each whole (the records up to date included).
    pub plans: Vec<Plan>,
    /// Planned as a group (a folder): shown as `plan` shows a folder.
    pub group: bool,
    /// The `--target`s the plan was made with.
    pub targets: Vec<String>,
}

/// Reads a saved plan file whole.
pub fn saved(file: &Path) -> Result<Shown> {
    let saved = plan::file::load(file)?;
    let group = saved.group;
    let targets = saved.targets.clone();
    Ok(Shown {
        plans: saved.plans_to_show(file)?,
        group,
        targets,
    })
}
