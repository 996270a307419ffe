//! End-to-end tests: each spawns the real binary on real files and a real SQLite database.

// Test helpers are shared between test modules, not an interface.
#![allow(unreachable_pub)]

mod architecture;
mod browser;
mod cli;
mod common;
mod contract;
mod corpus;
mod crash;
mod databases;
mod diagnostics;
mod errors;
mod evaluate;
mod folders;
mod golden;
mod identity;
mod invalid;
mod lifecycle;
mod mapping;
mod matching;
mod multi;
mod output;
mod plan_output;
mod property;
mod review;
mod safety;
mod scale;
mod schema;
mod secrets;
mod seed;
mod shortcut;
mod show;
mod sources;
mod state;
mod table_guards;
mod tls;
mod trust;
