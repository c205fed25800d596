//! Core scenarios with a fake clock (see core.rs).
