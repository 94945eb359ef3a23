-- The purge drops a past day with `DETACH PARTITION ... CONCURRENTLY`, then a DROP of the table
-- detached: a DROP of the attached partition locked its parent ACCESS EXCLUSIVE, and every write
-- of the streams queued behind it (seconds under 10,000 messages a second). PostgreSQL refuses a
-- concurrent detach while the parent has a default partition, and the DROP of a table holding a
-- foreign key locks the table it references (stream_nodes, which every write and page reads)
-- ACCESS EXCLUSIVE. So:
--
-- The messages and samples no longer reference stream_nodes by constraint. Nodes are never
-- deleted, and the server writes only node ids it had from stream_nodes; the constraint also cost
-- each inserted row a lock on its node's row.
-- (0009 named stream_logs' constraint with a suffix, the old table's name being taken.)
DO $$
DECLARE
    owner REGCLASS;
    name TEXT;
BEGIN
    FOR owner, name IN SELECT conrelid::regclass, conname FROM pg_constraint
        WHERE contype = 'f' AND conparentid = 0
        AND conrelid IN ('stream_logs'::regclass, 'stream_samples'::regclass)
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', owner, name);
    END LOOP;
END $$;

-- The default partitions go. The rows they hold (written while their days' partitions could not
-- be made) move into their days' partitions, made for them. A row whose day has no partition is
-- now refused, and the server makes the days and writes it again.
DO $$
DECLARE
    parent TEXT;
    day_column TEXT;
    day BIGINT;
BEGIN
    FOR parent, day_column IN VALUES ('stream_logs_raw', 'created_ms'), ('stream_samples', 'minute_ms')
    LOOP
        EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, parent || '_default');
        FOR day IN EXECUTE format('SELECT DISTINCT floor(%I / 86400000.0)::BIGINT FROM %I',
            day_column, parent || '_default')
        LOOP
            EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                parent || '_' || to_char(to_timestamp(day * 86400) AT TIME ZONE 'UTC', 'YYYYMMDD'),
                parent, day * 86400000, (day + 1) * 86400000);
        END LOOP;
        EXECUTE format('INSERT INTO %I SELECT * FROM %I', parent, parent || '_default');
        EXECUTE format('DROP TABLE %I', parent || '_default');
    END LOOP;
END $$;
