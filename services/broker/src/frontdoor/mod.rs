//! The front door around the checks (issue 6): contacts, triage, the enquiry
//! workflow and the performance report. The rules are `mash-frontdoor`'s (a
//! pure library); this module stores what they decide and serves it.
//!
//! - `contact`: a contact as parsed at the edge and as stored.
//! - `store`: contacts, transitions and decisions in the broker's database;
//!   subjects, the referrer and every reason sealed at rest.
//! - `workflow`: an enquiry's moves, for the front door's handlers
//!   (`api::frontdoor`) and for a check.
//! - `wire`: wire enums to front-door codes and back.
//!
//! An enquiry's state lives only in the database (`enquiries.state`), never in
//! the `EnquiryStore` cache: the cached `Enquiry` stays immutable, so the
//! cache never goes stale, and every move reads and compares the stored state.

pub(crate) mod contact;
mod store;
pub(crate) mod wire;
mod workflow;

pub(crate) use store::{FrontDoorStore, Workflow};
pub(crate) use workflow::{advance, record_checks_requested, refused};
