//! The end-to-end suite: every scenario runs against SQLite and PostgreSQL.
//! All of it compiles into one test binary.

mod agency_queue;
mod checks;
mod family_summary;
mod feed_ports;
mod feed_replicas;
mod frontdoor;
mod golden;
mod holds;
mod input;
mod ledger;
mod log_search;
mod matching;
mod metrics;
mod reflection;
mod refusals;
