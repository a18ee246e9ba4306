pub mod health;
pub mod projects;
pub mod tickets;
