//! Randomized tenant isolation through the proxy: a cluster drawn from a seed ([`model`], [`kinds`],
//! [`generate`]; loaded into kube-sim by [`fixture`]), what each caller may see computed from that model alone
//! ([`visible`]), request variants written with tricks ([`variants`], [`family`], [`tricks`], [`spelling`]) and
//! sent by workers over raw connections ([`runner`]), the check of every answer ([`verdict`]) and the counts of
//! a run ([`tally`]).

pub mod family;
pub mod fixture;
pub mod generate;
pub mod kinds;
pub mod model;
pub mod rng;
pub mod runner;
pub mod spelling;
pub mod tally;
pub mod tricks;
pub mod variants;
pub mod verdict;
pub mod visible;
