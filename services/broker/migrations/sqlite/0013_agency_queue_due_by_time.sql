-- The agency queue's index of unacknowledged messages leads with the time a
-- message is due instead of the agency. A check notifies several agencies at
-- once, and with the agency first each of them had its own index leaf to
-- write on every log commit (about four pages of a commit's thirty-five);
-- with the time first, a commit's messages, all due now, land together at
-- the end of the index. A poll for one agency now reads past other agencies'
-- unacknowledged messages that are due, which stays small while agencies
-- acknowledge what they receive.
DROP INDEX agency_messages_due;
CREATE INDEX agency_messages_due ON agency_messages(deliver_after, message_id, agency) WHERE acked_at IS NULL;
