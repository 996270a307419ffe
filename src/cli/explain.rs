//! `reconcile explain [ADDRESS]`: why records were matched the way they were.
//!
//! Without an address: the matching summary (records, blocking statistics per rule, the
//! model's levels, time per stage); with `--json` also every cluster of several records and
//! every link and pair to review with each comparison's evidence, for tools that measure
//! matching quality. Neither opens a database. With an address: that
//! golden record's members, each link's score as a waterfall, the pairs rejected near the
//! threshold and where each value came from; addresses come from the plan, so the database
//! is read (never written).

use std::process::ExitCode;

use super::{ExplainArgs, database_url, load_spec, print};
use crate::error::{Error, Result};
use crate::operation::explain as op;
use crate::pipeline;
use crate::render::explain;

pub fn run(args: ExplainArgs) -> Result<ExitCode> {
    let spec = load_spec(&args.spec)?;
    let resolved = pipeline::resolve(&spec)?;
    let text = match &args.address {
        None if args.json => {
            let mut s = serde_json::to_string_pretty(&explain::summary_json(&spec, &resolved))
                .map_err(|e| Error::Io(format!("cannot write JSON: {e}")))?;
            s.push('\n');
            s
        }
        None => explain::summary(&spec, &resolved),
        Some(address) => {
            let url = database_url(&args.db, &spec)?;
            let plan = op::plan_for(&spec, &url, &resolved)?;
            let i = op::find(&plan, address)?;
            explain::record(&spec, &resolved, &plan, i)
        }
    };
    print(&text, "the explanation")?;
    Ok(ExitCode::SUCCESS)
}
