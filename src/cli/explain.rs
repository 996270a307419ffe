//! `reconcile explain [ADDRESS]`: why records were matched the way they were.
//!
//! Without an address: the matching summary (records, blocking statistics per rule, the
//! model's levels, time per stage); with `--json` also every cluster of several records and
//! every link and pair to review with each comparison's evidence, for tools that measure
//! matching quality. Neither opens a database. With an address: that
//! golden record's members, each link's score as a waterfall, the pairs rejected near the
//! threshold and where each value came from; addresses come from the plan, so the database
//! is read (never written).
//!
//! With a folder of specs, the summary is given for each resource, and an address's
//! resource picks the spec: it is planned with the resources it depends on, as `plan` plans
//! it (references resolved), and explained.

use std::process::ExitCode;

use super::{ExplainArgs, database_url, print};
use crate::error::{Error, Result};
use crate::operation::{explain as op, plan as planning};
use crate::pipeline;
use crate::plan::multi;
use crate::render::explain;
use crate::spec::compiled::Compiled;

pub fn run(args: ExplainArgs) -> Result<ExitCode> {
    let paths = super::find_specs(&args.spec.file)?;
    let mut specs = planning::load(&paths, args.spec.overrides())?;
    if planning::needs_group(&specs, &[]) {
        return run_many(&args, specs);
    }
    let spec = specs.remove(0);
    let resolved = pipeline::resolve(&spec)?;
    let text = match &args.address {
        None if args.json => json_text(&explain::summary_json(&spec, &resolved))?,
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

fn json_text(value: &serde_json::Value) -> Result<String> {
    let mut s = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Io(format!("cannot write JSON: {e}")))?;
    s.push('\n');
    Ok(s)
}

/// `explain` of a folder: a summary per resource (parents first), or one record found by its
/// address among the resources' plans.
fn run_many(args: &ExplainArgs, specs: Vec<Compiled>) -> Result<ExitCode> {
    let Some(address) = &args.address else {
        let order = multi::order(&specs)?;
        let mut text = String::new();
        let mut all = Vec::new();
        for i in order {
            let spec = &specs[i];
            let resolved = pipeline::resolve(spec)?;
            if args.json {
                // Each resource's summary as `explain --json` gives it for one spec, named.
                let mut one = serde_json::Map::new();
                one.insert("resource".into(), spec.resource.clone().into());
                if let serde_json::Value::Object(map) = explain::summary_json(spec, &resolved) {
                    one.extend(map.into_iter().filter(|(k, _)| k != "format_version"));
                }
                all.push(serde_json::Value::Object(one));
            } else {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&format!(
                    "# {}\n",
                    crate::render::safe::term(&spec.resource)
                ));
                text.push_str(&explain::summary(spec, &resolved));
            }
        }
        if args.json {
            text = json_text(&serde_json::json!({ "format_version": "1", "resources": all }))?;
        }
        print(&text, "the explanation")?;
        return Ok(ExitCode::SUCCESS);
    };
    // An address that names its resource plans only that resource and what it depends on.
    let targets: Vec<String> = match multi::parse_address(address) {
        Some((resource, _)) => {
            if !specs.iter().any(|s| s.resource == resource) {
                let names: Vec<&str> = specs.iter().map(|s| s.resource.as_str()).collect();
                return Err(Error::Usage {
                    message: format!(
                        "{address}: no spec of the folder declares the resource `{resource}`"
                    ),
                    help: Some(
                        crate::suggest::did_you_mean(&resource, names.iter().copied())
                            .map(|s| format!("did you mean {s}?"))
                            .unwrap_or_else(|| format!("the resources are {}", names.join(", "))),
                    ),
                });
            }
            vec![resource]
        }
        None => Vec::new(),
    };
    let url = super::group_database_url(&args.db, &specs)?;
    let planned = planning::group(
        specs,
        &url,
        planning::GroupRequest {
            targets: &targets,
            evidence: true,
            ..planning::GroupRequest::default()
        },
    )?;
    let (k, i) = op::find_in(&planned.plans, address)?;
    let text = explain::record(
        &planned.specs[k],
        &planned.resolved[k],
        &planned.plans[k],
        i,
    );
    print(&text, "the explanation")?;
    Ok(ExitCode::SUCCESS)
}
