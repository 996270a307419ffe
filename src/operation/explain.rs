//! Explaining one golden record: the spec resolved with its evidence, planned against the
//! database (read, never written), and the record found by its address.

use crate::error::{Error, Result};
use crate::pipeline::Resolved;
use crate::plan::{self, Plan};
use crate::spec::compiled::Compiled;

/// The plan of a resolved spec, for finding a record's address and its change.
pub fn plan_for(spec: &Compiled, url: &str, resolved: &Resolved) -> Result<Plan> {
    super::plan::plan_resolved(spec, url, resolved, plan::Options::default(), None)
}

/// Finds a change by its address (`customers["x"]`) or its key (`x`); an unknown address is
/// an error that suggests the closest one.
pub fn find(plan: &Plan, wanted: &str) -> Result<usize> {
    let key = match plan::address::parse(wanted) {
        Some((resource, key)) if resource == plan.resource => Some(key),
        _ => None,
    };
    if let Some(i) = plan
        .changes
        .iter()
        .position(|c| c.address == wanted || key.as_deref() == Some(c.address.as_str()))
    {
        return Ok(i);
    }
    let known: Vec<String> = plan
        .changes
        .iter()
        .map(|c| plan.address(&c.address))
        .collect();
    let hint = crate::suggest::did_you_mean(wanted, known.iter().map(String::as_str))
        .map(|s| format!("did you mean {s}?"))
        .unwrap_or_else(|| "`reconcile plan` lists the addresses".into());
    Err(Error::Io(format!(
        "no golden record has the address {wanted}; {hint}"
    )))
}
