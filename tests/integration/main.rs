//! End-to-end tests: each spawns the real binary on real files and a real SQLite database.

mod common;
mod errors;
mod lifecycle;
mod matching;
mod property;
mod seed;
