//! reconcile keeps a database table in line with a declarative YAML spec.
//!
//! The stages, each a module with plain data in and out:
//! [`spec`] (YAML → compiled spec) → [`source`] (files → raw records) → [`normalize`] →
//! [`exclude`] → [`matching`] (clusters) → [`merge`] (golden records) → [`plan`] (against the
//! rows [`db`] reads) → [`render`] (text or JSON) → [`db::apply()`] (one transaction).
//! The data they share lives in [`state`] (what the database holds), [`fingerprint`] (every
//! hash) and [`time`] (calendar arithmetic).
//! [`pipeline`] composes the pure stages on one screen; [`operation`] runs a command's work
//! from loaded specs to a result, with the database at the edge; [`cli`] parses arguments,
//! calls one operation and prints a view of its result.
//! Pairs the matcher is unsure of are put to people (`reconcile review`), whose decisions are
//! kept in a [`labels`] file the spec reads like its own `same` / `distinct` pairs.

pub mod cli;
pub mod collections;
pub mod db;
pub mod error;
pub mod evaluate;
pub mod exclude;
pub mod files;
pub mod fingerprint;
pub mod labels;
pub mod matching;
pub mod merge;
pub mod normalize;
pub mod operation;
pub mod phone;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod render;
pub mod review;
pub mod source;
pub mod spec;
pub mod state;
pub mod suggest;
pub mod time;
pub mod types;
pub mod value;
