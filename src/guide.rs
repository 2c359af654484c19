//! The strand guide (being written).
