//! reconcile keeps a database table in line with a declarative YAML spec.
//!
//! The stages, each a module with plain data in and out:
//! [`spec`] (YAML → compiled spec) → [`source`] (files → raw records) → [`normalize`] →
//! [`exclude`] → [`matching`] (clusters) → [`merge`] (golden records) → [`plan`] (against the
//! rows [`db`] reads) → [`render`] (text or JSON) → [`db::apply()`] (one transaction).
//! The data they share lives in [`state`] (what the database holds), [`fingerprint`] (every
//! hash) and [`time`] (calendar arithmetic).
//! [`pipeline`] composes the pure stages on one screen; [`cli`] holds the commands.

pub mod cli;
pub mod collections;
pub mod db;
pub mod error;
pub mod evaluate;
pub mod exclude;
pub mod fingerprint;
pub mod matching;
pub mod merge;
pub mod normalize;
pub mod phone;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod render;
pub mod source;
pub mod spec;
pub mod state;
pub mod time;
pub mod types;
pub mod value;
