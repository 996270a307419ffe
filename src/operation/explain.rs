//! Explaining one golden record: the spec resolved with its evidence, planned against the
//! database (read, never written), and the record found by its address; in a folder, the
//! address's resource picks the plan.

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

/// Finds a change among the plans of a folder by its address (`branches["x"]`, which names
/// the resource) or its key (`x`, which must then be the key of one record only): the plan's
/// place and the change's. An unknown address suggests the closest one.
pub fn find_in(plans: &[Plan], wanted: &str) -> Result<(usize, usize)> {
    let resource = plan::multi::parse_address(wanted).map(|(r, _)| r);
    let mut found: Vec<(usize, usize)> = Vec::new();
    for (k, p) in plans.iter().enumerate() {
        if resource.as_deref().is_some_and(|r| r != p.resource) {
            continue;
        }
        if let Ok(i) = find(p, wanted) {
            found.push((k, i));
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => {
            let known: Vec<String> = plans
                .iter()
                .flat_map(|p| p.changes.iter().map(|c| p.address(&c.address)))
                .collect();
            let hint = crate::suggest::did_you_mean(wanted, known.iter().map(String::as_str))
                .map(|s| format!("did you mean {s}?"))
                .unwrap_or_else(|| "`reconcile plan` lists the addresses".into());
            Err(Error::Io(format!(
                "no golden record has the address {wanted}; {hint}"
            )))
        }
        several => Err(Error::Usage {
            message: format!(
                "{wanted} is the key of records of several resources: {}",
                several
                    .iter()
                    .map(|&(k, i)| plans[k].address(&plans[k].changes[i].address))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            help: Some("name the resource too, e.g. customers[\"key\"]".into()),
        }),
    }
}
