//! The WebSocket function: `$connect`, `$disconnect`, and the subscribe / unsubscribe /
//! ping actions of DESIGN.md §3, generic over the connection and project stores.
