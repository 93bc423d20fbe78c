-- The purge of disclosed content finds what is past retention through the
-- log's index by time: a content row is written with its entry, under the
-- entry's own `recorded_at`. Its own index by time cost every append about two
-- pages more (one per content row's leaf and its splits) for a query run once
-- in a while.
DROP INDEX disclosed_content_by_time;
