//! Views of a plan: [`human`] text for people, [`json`] for machines and [`html`] as a report
//! to open in a browser; [`explain`] shows why records matched; and [`diagnostics`], the
//! wording of errors; [`safe`] masks sensitive values and escapes text for terminals;
//! [`evaluate`] reports how good matching is against known truth; [`review`] shows the pairs
//! put to a person. Renderers only read what
//! they are given; none changes it.

pub mod diagnostics;
pub mod evaluate;
pub mod explain;
pub mod html;
pub mod human;
pub mod json;
pub mod review;
pub mod safe;
pub mod words;

use crate::plan::MatchingModel;
use crate::spec::compiled::ModelOrigin;

/// One line for people saying how records were matched, when the spec did not spell it out:
/// comparisons derived from the field types, or matching off. `None` for written comparisons.
pub fn model_note(model: &MatchingModel) -> Option<String> {
    let list = || {
        model
            .comparisons
            .iter()
            .map(|(field, method)| format!("{field} ({method})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match model.origin {
        ModelOrigin::Written => None,
        ModelOrigin::Derived => Some(format!(
            "Matching compares {}, chosen from the field types and names because the spec \
             has no `match.compare`.",
            list()
        )),
        ModelOrigin::Off => Some(
            "Matching is off (`match.compare: {}`): records of different sources are never \
             linked, and existing rows are adopted only by `target.key`."
                .to_string(),
        ),
        ModelOrigin::NothingToCompare => Some(
            "Matching is off: the spec has no `match.compare`, and no field can be compared by \
             default (the address field as a name when it is text, text fields named as \
             a street address or a postcode, `email` and `phone` fields); write \
             `match.compare`."
                .to_string(),
        ),
    }
}
