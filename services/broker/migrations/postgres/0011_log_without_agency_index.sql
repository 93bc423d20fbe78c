-- A check's entries fell in an index leaf per agency, each written on every
-- append, while a search by agency, which pages in `seq` order, finds a page
-- of matches by reading a few times as many entries by the primary key.
DROP INDEX disclosure_log_by_agency;
