//! What a project costs on AWS (issue #35): AWS's billing units (`units`), and the table
//! `zts cost` prints from a run's counts and a price table (`report`).

pub mod report;
pub mod units;

pub use report::{Counts, Fixed, PRICES, fixed_of, render};
