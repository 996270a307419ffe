//! Views of a plan: [`human`] text for people, [`json`] for machines and [`html`] as a report
//! to open in a browser; [`explain`] shows why records matched; and [`diagnostics`], the
//! wording of errors; [`safe`] masks sensitive values and escapes text for terminals.
//! Renderers only read what they are given; none changes it.

pub mod diagnostics;
pub mod explain;
pub mod html;
pub mod human;
pub mod json;
pub mod safe;
