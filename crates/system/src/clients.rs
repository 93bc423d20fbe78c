//! Clients of the broker's services, as one caller holds them.

use mash_proto::v1::{
    agency_queue_service_client::AgencyQueueServiceClient, disclosure_log_service_client::DisclosureLogServiceClient,
    enquiry_service_client::EnquiryServiceClient, front_door_service_client::FrontDoorServiceClient,
    hold_service_client::HoldServiceClient,
};
use tonic::transport::Channel;

/// A client of each of the broker's services, all on one channel (one mutual
/// TLS connection, so one identity): a caller uses those its role allows.
#[derive(Clone, Debug)]
pub struct BrokerClients {
    pub enquiries: EnquiryServiceClient<Channel>,
    pub frontdoor: FrontDoorServiceClient<Channel>,
    pub holds: HoldServiceClient<Channel>,
    pub log: DisclosureLogServiceClient<Channel>,
    pub queue: AgencyQueueServiceClient<Channel>,
}

impl BrokerClients {
    pub fn new(channel: Channel) -> Self {
        Self {
            enquiries: EnquiryServiceClient::new(channel.clone()),
            frontdoor: FrontDoorServiceClient::new(channel.clone()),
            holds: HoldServiceClient::new(channel.clone()),
            log: DisclosureLogServiceClient::new(channel.clone()),
            queue: AgencyQueueServiceClient::new(channel),
        }
    }
}
