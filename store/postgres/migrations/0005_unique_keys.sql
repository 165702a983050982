-- 0005_unique_keys: issue 11.1 and 11.2. A resource's unique key is a
-- value no other resource of its kind in the project may hold at the same
-- time: a SIM's ICCID, and the SIM a subscription that has not ended sits
-- on (so that one SIM is on at most one live subscription). The platform
-- fills unique_key on every write; the partial unique index refuses a
-- second holder.
--
-- An existing database may already hold duplicates (the bug this fixes).
-- The migration then FAILS, naming every duplicate, and changes nothing
-- (it runs in one transaction): which subscription keeps a shared SIM, or
-- which of two SIMs keeps an ICCID, is an operator's decision, never the
-- migration's.

ALTER TABLE resources ADD COLUMN unique_key text COLLATE "C";

UPDATE resources SET unique_key = data->>'iccid' WHERE kind = 'sim';
UPDATE resources SET unique_key = data->>'sim'
    WHERE kind = 'subscription' AND status IS DISTINCT FROM 'ended';

DO $$
DECLARE
    dups text;
BEGIN
    SELECT string_agg(what, '; ') INTO dups
      FROM (SELECT project_id || ': ' || CASE kind WHEN 'sim' THEN 'ICCID ' || unique_key || ' is on SIMs '
                                                   ELSE 'SIM ' || unique_key || ' is on subscriptions ' END
                   || string_agg(id, ', ' ORDER BY created_at, id) AS what
              FROM resources WHERE unique_key IS NOT NULL
             GROUP BY project_id, kind, unique_key HAVING count(*) > 1) d;
    IF dups IS NOT NULL THEN
        RAISE EXCEPTION 'connectd migration 0005 refused: duplicates must be resolved first (end a subscription or change a SIM''s ICCID): %', dups;
    END IF;
END
$$;

CREATE UNIQUE INDEX resources_unique_key ON resources (project_id, kind, unique_key) WHERE unique_key IS NOT NULL;

-- A SIM on a live subscription is assigned, whatever the old writes left
-- (they never updated it), so that a checkout never picks it. A SIM marked
-- assigned with no live subscription is left as it is: it may have been in
-- use, and handing it out again is an operator's decision. (jsonb_set
-- rewrites the JSON text of only these rows.)
UPDATE resources s SET status = 'assigned', data = jsonb_set(s.data::jsonb, '{status}', '"assigned"')::json, version = s.version + 1
 WHERE s.kind = 'sim' AND s.status IS DISTINCT FROM 'assigned'
   AND EXISTS (SELECT 1 FROM resources h
                WHERE h.project_id = s.project_id AND h.kind = 'subscription' AND h.unique_key = s.id);
