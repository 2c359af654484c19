//! Task-local synchronization primitives (in progress).
