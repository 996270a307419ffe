//! End-to-end tests: each spawns the real binary on real files and a real SQLite database.

mod common;
mod corpus;
mod crash;
mod errors;
mod lifecycle;
mod property;
mod safety;
mod seed;
