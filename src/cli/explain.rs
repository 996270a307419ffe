//! `reconcile explain [ADDRESS]`: why records were matched the way they were.
//!
//! Without an address: the matching summary (records, blocking statistics per rule, the
//! model's levels, time per stage); with `--json` also every cluster of several records and
//! every link and pair to review with each comparison's evidence, for tools that measure
//! matching quality. Neither opens a database. With an address: that
//! golden record's members, each link's score as a waterfall, the pairs rejected near the
//! threshold and where each value came from; addresses come from the plan, so the database
//! is read (never written).

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use super::{ExplainArgs, database_url, load_spec};
use crate::error::{Error, Result};
use crate::pipeline::Resolved;
use crate::render::explain::{self, Timings};
use crate::spec::compiled::Compiled;
use crate::{exclude, matching, merge, normalize, plan, source};

/// Runs the pure stages like [`crate::pipeline::resolve`], timing each one.
pub fn resolve_timed(spec: &Compiled) -> Result<(Resolved, Timings)> {
    let mut timings: Timings = Vec::new();
    let start = Instant::now();
    let mut clock = Instant::now();
    let mut lap = |name: &str, timings: &mut Timings| {
        timings.push((name.to_string(), clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    };
    let raw = source::load_all(spec)?;
    lap("load", &mut timings);
    let normalised = normalize::normalize_all(spec, raw);
    lap("normalise", &mut timings);
    let (mut kept, excluded) = exclude::exclude(spec, normalised.records);
    let invalid = normalize::set_aside(&mut kept, &excluded, normalised.invalid);
    normalize::strict(spec, &invalid)?;
    lap("exclude", &mut timings);
    let view = normalize::matching_view(spec, &kept, &invalid);
    let matches = matching::cluster(&spec.matching, view.as_deref().unwrap_or(&kept));
    drop(view);
    lap("match", &mut timings);
    let desired = merge::merge(spec, &kept, &matches, &invalid)?;
    lap("merge", &mut timings);
    let total = start.elapsed().as_secs_f64();
    let mut all: Timings = Vec::new();
    for (name, secs) in timings {
        let is_match = name == "match";
        all.push((name, secs));
        if is_match {
            all.extend(
                matches
                    .timings
                    .iter()
                    .map(|(n, s)| (format!("  match: {n}"), *s)),
            );
        }
    }
    all.push(("total".into(), total));
    Ok((
        Resolved {
            kept,
            excluded,
            invalid,
            matches,
            desired,
        },
        all,
    ))
}

/// Plans against the database, keeping the resolved stages for explanations.
pub fn plan_with(spec: &Compiled, url: &str, resolved: &Resolved) -> Result<plan::Plan> {
    super::plan::plan_resolved(spec, url, resolved, plan::Options::default(), None)
}

/// Finds a change by its address (`customers["x"]`) or its key (`x`).
pub fn find(plan: &plan::Plan, wanted: &str) -> Option<usize> {
    plan.changes
        .iter()
        .position(|c| c.address == wanted || plan.address(&c.address) == wanted)
}

pub fn run(args: ExplainArgs) -> Result<ExitCode> {
    let spec = load_spec(&args.spec)?;
    let (resolved, timings) = resolve_timed(&spec)?;
    let text = match &args.address {
        None if args.json => {
            let mut s =
                serde_json::to_string_pretty(&explain::summary_json(&spec, &resolved, &timings))
                    .map_err(|e| Error::Io(format!("cannot write JSON: {e}")))?;
            s.push('\n');
            s
        }
        None => explain::summary(&spec, &resolved, &timings),
        Some(address) => {
            let url = database_url(&args.db, &spec)?;
            let plan = plan_with(&spec, &url, &resolved)?;
            let Some(i) = find(&plan, address) else {
                let known: Vec<String> = plan
                    .changes
                    .iter()
                    .map(|c| plan.address(&c.address))
                    .collect();
                let hint =
                    crate::spec::load::did_you_mean(address, known.iter().map(String::as_str))
                        .map(|s| format!("did you mean {s}?"))
                        .unwrap_or_else(|| "`reconcile plan` lists the addresses".into());
                return Err(Error::Io(format!(
                    "no golden record has the address {address}; {hint}"
                )));
            };
            explain::record(&spec, &resolved, &plan, i)
        }
    };
    let mut out = anstream::stdout();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::Io(format!("cannot write the explanation: {e}")))?;
    Ok(ExitCode::SUCCESS)
}
