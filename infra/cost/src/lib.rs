//! What a project costs on AWS (issue #35): AWS's billing units (`units`), and the table
//! `zts cost` prints from a run's counts and a price table (`report`).

pub mod report;
pub mod units;

pub use report::{CostError, Counts, Fixed, PRICES, fixed_of, render};

/// `template.yaml`, the deployment this repository ships: `zts cost` prices its idle
/// month, and `zts emulate` runs it.
pub const TEMPLATE: &str = include_str!("../../../template.yaml");
