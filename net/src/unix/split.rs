//! [`UnixStream`]'s borrowed and owned halves.

use std::os::unix::net::SocketAddr;

use crate::unix::UnixStream;

crate::split::split_halves!(UnixStream, SocketAddr);
