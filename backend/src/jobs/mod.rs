//! Periodic work the backend process runs beside serving requests, one
//! module per job. Jobs are safe with several backends running: each
//! claims its work in Postgres. This file only declares.

pub mod periodic;
pub mod sweeper;
