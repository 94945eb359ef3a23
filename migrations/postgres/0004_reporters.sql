-- The specification's `slasher_active` (beacon nodes), and each object's reporter-specific fields
-- beyond the table (JSON object, bounded by the decoder), so that they are answered as they came.
ALTER TABLE stats ADD COLUMN slasher_active SMALLINT;
ALTER TABLE stats ADD COLUMN extensions TEXT;
