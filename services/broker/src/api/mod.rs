//! The broker's gRPC edge: one service per audience, each a handler struct
//! that holds only what its calls use. Wire types become domain types here,
//! and every call is authorised here, through [`crate::authz`].
//!
//! - `enquiries`: `EnquiryService` (researchers and managers), with
//!   `confirmation` and `summary`.
//! - `frontdoor`: `FrontDoorService` (the front door's staff).
//! - `holds`: `HoldService` (gatekeepers, managers' break-glass).
//! - `log`: `DisclosureLogService` (information governance).
//! - `queue`: `AgencyQueueService` (agency systems).
//!
//! The transport's call layer has already verified the caller, opened the
//! call's span and started its metric; a handler takes the caller from the
//! request and maps its error to a status with `?`, through the one
//! `From<BrokerError> for Status`.

mod confirmation;
pub(crate) mod enquiries;
pub(crate) mod frontdoor;
pub(crate) mod holds;
pub(crate) mod log;
pub(crate) mod queue;
mod summary;
