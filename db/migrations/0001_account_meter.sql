-- Account meters (issue 5): one row per account and unlocked code page in a period.
-- Applied in file-name order; each file once (the local runner records them in
-- codepages_schema_migrations). Written for PostgreSQL 15+ (Netlify Database is PostgreSQL).

CREATE TABLE IF NOT EXISTS codepages_accounts (
  subject      text        PRIMARY KEY CHECK (length(subject) BETWEEN 1 AND 255),
  period_start timestamptz NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS codepages_account_views (
  subject       text        NOT NULL REFERENCES codepages_accounts (subject) ON DELETE CASCADE,
  period_start  timestamptz NOT NULL,
  -- the canonical page path (/cpt/62323/), or, for a page carried over from the visitor's
  -- guest meter cookie, that cookie's 16-hex-digit page key (salted with guest_visitor)
  page_key      text        NOT NULL CHECK (length(page_key) BETWEEN 1 AND 128),
  guest_visitor text        CHECK (guest_visitor IS NULL OR guest_visitor ~ '^[A-Za-z0-9_-]{22}$'),
  unlocked_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subject, period_start, page_key)
);

-- The meter, in one statement: SELECT * FROM codepages_meter_view(...).
--
-- 1. Takes a per-account transaction-scoped advisory lock: parallel requests of one account
--    run this function one after the other (different accounts do not wait for each other).
--    Every statement below runs after the lock is held, with a fresh snapshot (READ
--    COMMITTED, a VOLATILE function), so it sees what the previous holder committed.
-- 2. Starts the account's period, or a new one when the old one is over.
-- 3. Carries the guest meter's pages into the account, while the quota allows.
-- 4. Answers whether p_page is unlocked: already unlocked in this period (as a path, or as a
--    carried guest key: sha256('codepages/meter/v1|' || visitor || '|' || path), first 8
--    bytes, the guest cookie's page key); else, when p_charge and fewer than p_quota pages
--    are unlocked, records it.
CREATE OR REPLACE FUNCTION codepages_meter_view(
  p_subject      text,
  p_page         text,
  p_quota        integer,
  p_period_days  integer,
  p_guest_visitor text,
  p_guest_keys   text[],
  p_charge       boolean
) RETURNS TABLE (unlocked boolean, used integer)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  v_start timestamptz;
  v_used  integer;
  v_key   text;
  v_found boolean;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('codepages_account_meter'), hashtext(p_subject));

  INSERT INTO codepages_accounts AS a (subject, period_start)
  VALUES (p_subject, now())
  ON CONFLICT (subject) DO UPDATE
    SET period_start = CASE
      WHEN a.period_start + make_interval(days => p_period_days) <= now() THEN now()
      ELSE a.period_start
    END
  RETURNING a.period_start INTO v_start;

  SELECT count(*) INTO v_used
  FROM codepages_account_views v
  WHERE v.subject = p_subject AND v.period_start = v_start;

  IF p_guest_visitor IS NOT NULL AND p_guest_keys IS NOT NULL THEN
    FOREACH v_key IN ARRAY p_guest_keys[1:100] LOOP
      EXIT WHEN v_used >= p_quota;
      INSERT INTO codepages_account_views (subject, period_start, page_key, guest_visitor)
      VALUES (p_subject, v_start, v_key, p_guest_visitor)
      ON CONFLICT DO NOTHING;
      IF FOUND THEN
        v_used := v_used + 1;
      END IF;
    END LOOP;
  END IF;

  SELECT EXISTS (
    SELECT 1 FROM codepages_account_views v
    WHERE v.subject = p_subject AND v.period_start = v_start
      AND (v.page_key = p_page
           OR (v.guest_visitor IS NOT NULL
               AND v.page_key = substr(encode(sha256(convert_to(
                     'codepages/meter/v1|' || v.guest_visitor || '|' || p_page, 'UTF8')), 'hex'), 1, 16)))
  ) INTO v_found;

  IF v_found THEN
    RETURN QUERY SELECT true, v_used;
  ELSIF p_charge AND v_used < p_quota THEN
    INSERT INTO codepages_account_views (subject, period_start, page_key)
    VALUES (p_subject, v_start, p_page);
    RETURN QUERY SELECT true, v_used + 1;
  ELSE
    RETURN QUERY SELECT false, v_used;
  END IF;
END;
$$;
