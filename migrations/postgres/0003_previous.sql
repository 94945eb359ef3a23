-- The object each `latest` row replaced, so that figures that need two objects (CPU busy, network
-- rates) are read without the history.
ALTER TABLE latest ADD COLUMN previous TEXT;
