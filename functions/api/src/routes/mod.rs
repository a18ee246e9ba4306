pub mod health;
pub mod lifecycle;
pub mod projects;
pub mod tickets;
pub mod workflows;
