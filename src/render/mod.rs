//! Views of a plan: [`human`] text for people and [`json`] for machines. Renderers only read
//! the plan; neither changes it.

pub mod human;
pub mod json;
