//! Checkout under faults and load: the charge outside any transaction, a
//! gateway that times out, the sweeper that resolves what was left awaiting
//! payment (in-process and with a killed backend), lock order between
//! checkout and restock, and cart limits with every field error at once.

mod deadlocks;
mod killed;
mod limits;
mod payments;
mod refunds;
mod statements;
pub mod support;
mod sweeper;
