-- Issue 14: a bounded guest meter per network, server-side sessions, and meter statements
-- that never outlive the edge's wait. Applied after 0001 (file-name order, each file once).

-- A metering statement that runs past its budget (milliseconds since the statement arrived,
-- measured by the database's own clock) raises, so the whole statement rolls back: the edge
-- stops waiting DATABASE_MARGIN_MS after the budget, serves the gated page, and nothing it
-- did not show is recorded. SQLSTATE 57014 is query_canceled.
CREATE OR REPLACE FUNCTION codepages_deadline(p_budget_ms integer) RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
  IF clock_timestamp() - statement_timestamp() > make_interval(secs => greatest(p_budget_ms, 1) / 1000.0) THEN
    RAISE EXCEPTION 'codepages: the edge has stopped waiting; nothing was recorded' USING ERRCODE = '57014';
  END IF;
END;
$$;

-- The account meter of 0001, within a budget, and saying whether this request was charged:
-- lock waits end at the budget (lock_timeout, for this statement's transaction only) and a
-- result past it is rolled back. Same steps as codepages_meter_view (see 0001).
CREATE OR REPLACE FUNCTION codepages_meter_view_within(
  p_subject       text,
  p_page          text,
  p_quota         integer,
  p_period_days   integer,
  p_guest_visitor text,
  p_guest_keys    text[],
  p_charge        boolean,
  p_budget_ms     integer
) RETURNS TABLE (unlocked boolean, used integer, charged boolean)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  v_start timestamptz;
  v_used  integer;
  v_key   text;
  v_found boolean;
BEGIN
  PERFORM set_config('lock_timeout', greatest(p_budget_ms, 1) || 'ms', true);
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
    PERFORM codepages_deadline(p_budget_ms);
    RETURN QUERY SELECT true, v_used, false;
  ELSIF p_charge AND v_used < p_quota THEN
    INSERT INTO codepages_account_views (subject, period_start, page_key)
    VALUES (p_subject, v_start, p_page);
    PERFORM codepages_deadline(p_budget_ms);
    RETURN QUERY SELECT true, v_used + 1, true;
  ELSE
    PERFORM codepages_deadline(p_budget_ms);
    RETURN QUERY SELECT false, v_used, false;
  END IF;
END;
$$;

-- Fresh guest views per network and UTC day. `network` is an HMAC of the network (IPv4
-- address or IPv6 /64) and the day under the meter key: no address is stored, and rows of
-- different days cannot be linked. Rows older than yesterday are deleted as views come in.
CREATE TABLE IF NOT EXISTS codepages_guest_networks (
  network text    NOT NULL CHECK (network ~ '^[A-Za-z0-9_-]{22}$'),
  day     date    NOT NULL,
  views   integer NOT NULL CHECK (views >= 0),
  PRIMARY KEY (network, day)
);
CREATE INDEX IF NOT EXISTS codepages_guest_networks_day ON codepages_guest_networks (day);

-- One fresh guest view for `p_network` on `p_day`, if fewer than `p_allowance` were given:
-- (allowed, views given today after this request). One statement; the row lock of the upsert
-- makes parallel requests exact.
CREATE OR REPLACE FUNCTION codepages_guest_network_view(
  p_network   text,
  p_day       date,
  p_allowance integer,
  p_budget_ms integer
) RETURNS TABLE (allowed boolean, views integer)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  v_views integer;
BEGIN
  PERFORM set_config('lock_timeout', greatest(p_budget_ms, 1) || 'ms', true);
  IF random() < 0.02 THEN
    DELETE FROM codepages_guest_networks g WHERE g.day < p_day - 1;
  END IF;
  IF p_allowance <= 0 THEN
    RETURN QUERY SELECT false, 0;
    RETURN;
  END IF;
  INSERT INTO codepages_guest_networks AS g (network, day, views)
  VALUES (p_network, p_day, 1)
  ON CONFLICT (network, day) DO UPDATE SET views = g.views + 1 WHERE g.views < p_allowance
  RETURNING g.views INTO v_views;
  PERFORM codepages_deadline(p_budget_ms);
  IF v_views IS NULL THEN
    RETURN QUERY SELECT false, p_allowance;
  ELSE
    RETURN QUERY SELECT true, v_views;
  END IF;
END;
$$;

-- Sessions: the cookie holds a random session id (signed); the row holds what it stands for.
-- Logging out revokes the row, so every copy of the cookie stops working at once.
CREATE TABLE IF NOT EXISTS codepages_sessions (
  -- base64url SHA-256 of the session id: the database never holds a usable cookie
  id_hash       text        PRIMARY KEY CHECK (id_hash ~ '^[A-Za-z0-9_-]{43}$'),
  subject       text        NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
  issuer        text        NOT NULL CHECK (length(issuer) BETWEEN 1 AND 500),
  name          text        NOT NULL CHECK (length(name) <= 200),
  subscriber    boolean     NOT NULL,
  -- when subscriber/name were last read from the provider's verified claims
  claims_at     timestamptz NOT NULL,
  -- the provider's refresh token, AES-256-GCM sealed with a key derived from
  -- CODEPAGES_SESSION_KEYS (`<kid>.<nonce>.<ciphertext>`), or NULL when the provider gave none
  refresh_token text        CHECK (refresh_token IS NULL OR length(refresh_token) <= 8192),
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz
);
CREATE INDEX IF NOT EXISTS codepages_sessions_subject ON codepages_sessions (subject, issuer);
CREATE INDEX IF NOT EXISTS codepages_sessions_expires ON codepages_sessions (expires_at);
