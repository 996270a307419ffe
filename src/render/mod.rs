//! Views of a plan: [`human`] text for people, [`json`] for machines and [`html`] as a report
//! to open in a browser; [`explain`] shows why records matched; and [`diagnostics`], the
//! wording of errors; [`evaluate`] reports how good matching is against known truth. Renderers only read what they are given; none changes it.

pub mod diagnostics;
pub mod evaluate;
pub mod explain;
pub mod html;
pub mod human;
pub mod json;
