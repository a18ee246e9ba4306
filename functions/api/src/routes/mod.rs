pub mod health;
pub mod projects;
