-- DPA 2018 s.62 asks who saw what on whose behalf, and who received it:
-- the requester's organisation, the person they acted for, and the recipient.
ALTER TABLE disclosure_log ADD COLUMN requester_agency TEXT NOT NULL DEFAULT '';
ALTER TABLE disclosure_log ADD COLUMN on_behalf_of TEXT NOT NULL DEFAULT '';
ALTER TABLE disclosure_log ADD COLUMN recipient TEXT NOT NULL DEFAULT '';
