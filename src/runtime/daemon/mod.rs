//! The daemon: hot engine threads, the housekeeping thread and their lifecycle.

pub mod router;
pub mod wire;
