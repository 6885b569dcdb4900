//! The top floor: starting the cores ([`start`]), each core's state and the updates other threads send it
//! ([`core`]), the one place that takes a connection's requests through the phases in order
//! ([`connection`]), reaching every core from other threads ([`broadcast`]), and the watcher thread that
//! reloads rotated certificates and tokens ([`watcher`]).

pub mod broadcast;
pub mod connection;
pub mod core;
pub mod error;
pub mod memory;
pub mod sockets;
pub mod start;
pub mod watcher;

pub use broadcast::{CoreBroadcast, Reloader};
pub use core::CoreUpdate;
pub use error::StartError;
pub use start::Dataplane;
