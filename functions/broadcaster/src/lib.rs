//! The broadcaster: pushes each committed event to every connection subscribed to its
//! project, in seq order per connection.
