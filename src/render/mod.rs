//! Views of a plan: [`human`] text for people and [`json`] for machines; [`explain`] shows
//! why records matched. Renderers only read the plan; none changes it.

pub mod explain;
pub mod human;
pub mod json;
