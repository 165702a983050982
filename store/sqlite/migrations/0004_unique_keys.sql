-- 0004_unique_keys: issue 11.1 and 11.2. A resource's unique key is a
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
-- migration's. SQLite has no RAISE outside triggers, so the refusal is an
-- invalid JSON path whose text is the message:
--   JSON path error near 'connectd migration 0004 refused: ...'

ALTER TABLE resources ADD COLUMN unique_key TEXT;

UPDATE resources SET unique_key = json_extract(data, '$.iccid') WHERE kind = 'sim';
UPDATE resources SET unique_key = json_extract(data, '$.sim')
    WHERE kind = 'subscription' AND status IS NOT 'ended';

SELECT json_extract('{}', 'connectd migration 0004 refused: duplicates must be resolved first (end a subscription or change a SIM''s ICCID): '
        || group_concat(what, '; '))
    FROM (SELECT project_id || ': ' || CASE kind WHEN 'sim' THEN 'ICCID ' || unique_key || ' is on SIMs '
                                                ELSE 'SIM ' || unique_key || ' is on subscriptions ' END
                 || group_concat(id, ', ') AS what
            FROM resources WHERE unique_key IS NOT NULL
            GROUP BY project_id, kind, unique_key HAVING count(*) > 1)
    HAVING count(*) > 0;

CREATE UNIQUE INDEX resources_unique_key ON resources (project_id, kind, unique_key) WHERE unique_key IS NOT NULL;

-- A SIM on a live subscription is assigned, whatever the old writes left
-- (they never updated it), so that a checkout never picks it. A SIM marked
-- assigned with no live subscription is left as it is: it may have been in
-- use, and handing it out again is an operator's decision.
UPDATE resources SET status = 'assigned', data = json_set(data, '$.status', 'assigned'), version = version + 1
    WHERE kind = 'sim' AND status IS NOT 'assigned'
      AND EXISTS (SELECT 1 FROM resources h
                   WHERE h.project_id = resources.project_id AND h.kind = 'subscription' AND h.unique_key = resources.id);
