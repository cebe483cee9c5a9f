-- waken's schema: the single source of truth. `flask --app waken init-db` applies it
-- idempotently and adds missing tables, columns and indexes to an older database.
-- Every timestamp is INTEGER Unix milliseconds, UTC. JSON columns hold TEXT.

CREATE TABLE IF NOT EXISTS api_token (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,           -- SHA-256 hex; the secret is never stored
    prefix       TEXT    NOT NULL,                  -- first characters, for display only
    enabled      INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    -- Space-separated: report, agents:write, agents:read. Tokens from before scopes keep all three.
    scopes       TEXT    NOT NULL DEFAULT 'report agents:write agents:read'
);

CREATE TABLE IF NOT EXISTS device (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    hash_key     TEXT    NOT NULL UNIQUE,           -- generatedHashKey, case-sensitive
    status       TEXT    NOT NULL DEFAULT 'active'
                         CHECK (status IN ('active', 'pending', 'revoked')),
    token_id     INTEGER REFERENCES api_token (id) ON DELETE SET NULL,
    device_type  TEXT    CHECK (device_type IN ('desktop', 'tablet', 'mobile')),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER,
    orphaned     INTEGER NOT NULL DEFAULT 0         -- 1: its token was deleted; 403 until bound or unbound
);
-- Deleting a token must not free its devices for any other token (the foreign key sets
-- token_id to NULL, which means "any token"), so they are marked first, whoever deletes.
CREATE TRIGGER IF NOT EXISTS api_token_delete_orphans BEFORE DELETE ON api_token BEGIN
    UPDATE device SET orphaned = 1 WHERE token_id = OLD.id;
END;

CREATE TABLE IF NOT EXISTS device_activity (
    id            INTEGER PRIMARY KEY,
    device_id     INTEGER NOT NULL REFERENCES device (id) ON DELETE CASCADE,
    process_name  TEXT    NOT NULL,
    process_title TEXT,
    push_mode     TEXT    NOT NULL DEFAULT 'realtime' CHECK (push_mode IN ('realtime', 'active')),
    metadata      TEXT    NOT NULL DEFAULT '{}',
    started_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,                 -- the last report
    ended_at      INTEGER,                          -- NULL while open
    expires_at    INTEGER,                          -- active mode with persist_minutes
    report_count  INTEGER NOT NULL DEFAULT 1
);
-- At most one open activity per device, whatever the code above it does.
CREATE UNIQUE INDEX IF NOT EXISTS device_activity_open ON device_activity (device_id) WHERE ended_at IS NULL;
CREATE INDEX IF NOT EXISTS device_activity_updated ON device_activity (updated_at);
CREATE INDEX IF NOT EXISTS device_activity_device ON device_activity (device_id, updated_at);

-- Your day: device time per local day (the `timezone` setting's midnight) and app, and per
-- local hour (day_hour below), kept by the report path in Python (waken/devices/day_rollup.py: a run is cut at
-- local midnights and hours, which SQL cannot do across DST), so no read scans history.
-- ms is the time from a run's start to its end (its last report while open); runs count on
-- the day a run starts.
CREATE TABLE IF NOT EXISTS device_day (
    day          TEXT    NOT NULL,                  -- local date, YYYY-MM-DD
    device_id    INTEGER NOT NULL REFERENCES device (id) ON DELETE CASCADE,
    process_name TEXT    NOT NULL,
    ms           INTEGER NOT NULL DEFAULT 0,
    runs         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, device_id, process_name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS device_day_device ON device_day (device_id);


-- What the statistics read: device_day summed over devices or apps, kept exact by the triggers
-- below (device deletion cascades through them), so 30 days of 20 devices are a few hundred
-- rows rather than thousands; and the time per local hour of all devices (day_hour, written
-- with device_day: a device's deletion leaves its hours there until retention forgets the day).
CREATE TABLE IF NOT EXISTS day_app (
    day          TEXT    NOT NULL,
    process_name TEXT    NOT NULL,
    ms           INTEGER NOT NULL DEFAULT 0,
    runs         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, process_name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS day_device (
    day       TEXT    NOT NULL,
    device_id INTEGER NOT NULL,
    ms        INTEGER NOT NULL DEFAULT 0,
    runs      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, device_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS day_hour (
    day  TEXT    NOT NULL,                          -- local date, YYYY-MM-DD
    hour INTEGER NOT NULL,                          -- local hour, 0-23 (a DST fall-back hour counts twice)
    ms   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, hour)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS device_day_insert AFTER INSERT ON device_day BEGIN
    INSERT INTO day_app VALUES (NEW.day, NEW.process_name, NEW.ms, NEW.runs)
    ON CONFLICT DO UPDATE SET ms = ms + excluded.ms, runs = runs + excluded.runs;
    INSERT INTO day_device VALUES (NEW.day, NEW.device_id, NEW.ms, NEW.runs)
    ON CONFLICT DO UPDATE SET ms = ms + excluded.ms, runs = runs + excluded.runs;
END;
CREATE TRIGGER IF NOT EXISTS device_day_update AFTER UPDATE ON device_day BEGIN
    UPDATE day_app SET ms = ms + NEW.ms - OLD.ms, runs = runs + NEW.runs - OLD.runs
    WHERE day = NEW.day AND process_name = NEW.process_name;
    UPDATE day_device SET ms = ms + NEW.ms - OLD.ms, runs = runs + NEW.runs - OLD.runs
    WHERE day = NEW.day AND device_id = NEW.device_id;
END;
CREATE TRIGGER IF NOT EXISTS device_day_delete AFTER DELETE ON device_day BEGIN
    UPDATE day_app SET ms = ms - OLD.ms, runs = runs - OLD.runs WHERE day = OLD.day AND process_name = OLD.process_name;
    DELETE FROM day_app WHERE day = OLD.day AND process_name = OLD.process_name AND ms <= 0 AND runs <= 0;
    UPDATE day_device SET ms = ms - OLD.ms, runs = runs - OLD.runs WHERE day = OLD.day AND device_id = OLD.device_id;
    DELETE FROM day_device WHERE day = OLD.day AND device_id = OLD.device_id AND ms <= 0 AND runs <= 0;
END;

CREATE TABLE IF NOT EXISTS agent_activity (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- monotonic, never reused: the stream's cursor
    type            TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('success', 'error', 'pending', 'running')),
    timestamp       INTEGER NOT NULL,
    duration_ms     INTEGER,
    tokens_used     INTEGER,
    agent           TEXT,
    metadata        TEXT,
    idempotency_key TEXT,
    -- Whose key it is: the token's id, 0 for anonymous callers (agent_ingest_open), NULL
    -- for keys stored before keys were scoped (no caller matches those). A key is unique
    -- per caller only, so no caller can match or block another's.
    idempotency_caller INTEGER,
    created_at      INTEGER NOT NULL,
    session         TEXT,                               -- which agent session (conversation) it belongs to
    cost_usd        INTEGER                             -- micro-dollars (USD × 1e6), so sums are exact
);
CREATE UNIQUE INDEX IF NOT EXISTS agent_activity_idempotency
    ON agent_activity (idempotency_caller, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Filtered lists and their counts read these indexes only, never the table.
CREATE INDEX IF NOT EXISTS agent_activity_timestamp ON agent_activity (timestamp);
CREATE INDEX IF NOT EXISTS agent_activity_type_status ON agent_activity (type, status, timestamp);
CREATE INDEX IF NOT EXISTS agent_activity_status ON agent_activity (status, timestamp);
CREATE INDEX IF NOT EXISTS agent_activity_agent ON agent_activity (agent, timestamp);
-- A session's records in order; rows without a session stay out of it (cheaper ingest).
CREATE INDEX IF NOT EXISTS agent_activity_session ON agent_activity (session, timestamp)
    WHERE session IS NOT NULL;

-- The agent log's change counter for the public feed's agent cards (public_agents = summary):
-- bumped by every record written or finished, apart from feed_version so that device reports
-- and agent records invalidate only what shows them. The feed cache renders agent changes at
-- most once a second however many records a burst writes (waken/feed/cache.py).
CREATE TABLE IF NOT EXISTS agent_pulse (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS agent_pulse_insert AFTER INSERT ON agent_activity BEGIN
    INSERT INTO agent_pulse VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS agent_pulse_update AFTER UPDATE OF status, type, timestamp, agent ON agent_activity BEGIN
    INSERT INTO agent_pulse VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;

-- Statistics read this rollup instead of scanning a million rows: one row per
-- 15-minute bucket (every real time zone's offset is a multiple of 15 minutes, so
-- local days and hours are unions of buckets) and type/status/agent. The triggers
-- below keep it exact for every insert, update and delete, whoever writes.
CREATE TABLE IF NOT EXISTS agent_activity_rollup (
    bucket      INTEGER NOT NULL,                   -- timestamp floored to 15 minutes
    type        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    agent       TEXT    NOT NULL DEFAULT '',        -- '' for no agent
    count       INTEGER NOT NULL DEFAULT 0,
    tokens_used INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    durations   INTEGER NOT NULL DEFAULT 0,         -- rows that have a duration
    PRIMARY KEY (bucket, type, status, agent)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS agent_activity_rollup_insert AFTER INSERT ON agent_activity BEGIN
    INSERT INTO agent_activity_rollup VALUES (
        NEW.timestamp - NEW.timestamp % 900000, NEW.type, NEW.status, coalesce(NEW.agent, ''), 1,
        coalesce(NEW.tokens_used, 0), coalesce(NEW.duration_ms, 0), NEW.duration_ms IS NOT NULL)
    ON CONFLICT DO UPDATE SET count = count + 1, tokens_used = tokens_used + excluded.tokens_used,
        duration_ms = duration_ms + excluded.duration_ms, durations = durations + excluded.durations;
END;

CREATE TRIGGER IF NOT EXISTS agent_activity_rollup_delete AFTER DELETE ON agent_activity BEGIN
    UPDATE agent_activity_rollup SET count = count - 1,
        tokens_used = tokens_used - coalesce(OLD.tokens_used, 0),
        duration_ms = duration_ms - coalesce(OLD.duration_ms, 0),
        durations = durations - (OLD.duration_ms IS NOT NULL)
    WHERE bucket = OLD.timestamp - OLD.timestamp % 900000 AND type = OLD.type
      AND status = OLD.status AND agent = coalesce(OLD.agent, '');
    DELETE FROM agent_activity_rollup
    WHERE bucket = OLD.timestamp - OLD.timestamp % 900000 AND type = OLD.type
      AND status = OLD.status AND agent = coalesce(OLD.agent, '') AND count <= 0;
END;

CREATE TRIGGER IF NOT EXISTS agent_activity_rollup_update
AFTER UPDATE OF type, status, timestamp, agent, tokens_used, duration_ms ON agent_activity BEGIN
    UPDATE agent_activity_rollup SET count = count - 1,
        tokens_used = tokens_used - coalesce(OLD.tokens_used, 0),
        duration_ms = duration_ms - coalesce(OLD.duration_ms, 0),
        durations = durations - (OLD.duration_ms IS NOT NULL)
    WHERE bucket = OLD.timestamp - OLD.timestamp % 900000 AND type = OLD.type
      AND status = OLD.status AND agent = coalesce(OLD.agent, '');
    DELETE FROM agent_activity_rollup
    WHERE bucket = OLD.timestamp - OLD.timestamp % 900000 AND type = OLD.type
      AND status = OLD.status AND agent = coalesce(OLD.agent, '') AND count <= 0;
    INSERT INTO agent_activity_rollup VALUES (
        NEW.timestamp - NEW.timestamp % 900000, NEW.type, NEW.status, coalesce(NEW.agent, ''), 1,
        coalesce(NEW.tokens_used, 0), coalesce(NEW.duration_ms, 0), NEW.duration_ms IS NOT NULL)
    ON CONFLICT DO UPDATE SET count = count + 1, tokens_used = tokens_used + excluded.tokens_used,
        duration_ms = duration_ms + excluded.duration_ms, durations = durations + excluded.durations;
END;

-- List totals read this one: agent_activity_rollup per UTC day, counts only (30 days
-- of every type/status/agent mix is a few thousand rows, where the 15-minute rollup
-- has hundreds of thousands). Kept exact by triggers like the rollup's.
CREATE TABLE IF NOT EXISTS agent_activity_daily (
    day    INTEGER NOT NULL,                        -- timestamp floored to a UTC day
    type   TEXT    NOT NULL,
    status TEXT    NOT NULL,
    agent  TEXT    NOT NULL DEFAULT '',             -- '' for no agent
    count  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, type, status, agent)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS agent_activity_daily_insert AFTER INSERT ON agent_activity BEGIN
    INSERT INTO agent_activity_daily VALUES (
        NEW.timestamp - NEW.timestamp % 86400000, NEW.type, NEW.status, coalesce(NEW.agent, ''), 1)
    ON CONFLICT DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER IF NOT EXISTS agent_activity_daily_delete AFTER DELETE ON agent_activity BEGIN
    UPDATE agent_activity_daily SET count = count - 1
    WHERE day = OLD.timestamp - OLD.timestamp % 86400000 AND type = OLD.type
      AND status = OLD.status AND agent = coalesce(OLD.agent, '');
    DELETE FROM agent_activity_daily
    WHERE day = OLD.timestamp - OLD.timestamp % 86400000 AND type = OLD.type
      AND status = OLD.status AND agent = coalesce(OLD.agent, '') AND count <= 0;
END;

CREATE TRIGGER IF NOT EXISTS agent_activity_daily_update
AFTER UPDATE OF type, status, timestamp, agent ON agent_activity BEGIN
    UPDATE agent_activity_daily SET count = count - 1
    WHERE day = OLD.timestamp - OLD.timestamp % 86400000 AND type = OLD.type
      AND status = OLD.status AND agent = coalesce(OLD.agent, '');
    DELETE FROM agent_activity_daily
    WHERE day = OLD.timestamp - OLD.timestamp % 86400000 AND type = OLD.type
      AND status = OLD.status AND agent = coalesce(OLD.agent, '') AND count <= 0;
    INSERT INTO agent_activity_daily VALUES (
        NEW.timestamp - NEW.timestamp % 86400000, NEW.type, NEW.status, coalesce(NEW.agent, ''), 1)
    ON CONFLICT DO UPDATE SET count = count + 1;
END;

-- One row per agent session, kept exact by the triggers below (whoever writes): the session
-- list pages through it newest first instead of grouping a million records. Deleting a
-- session's first or last record looks the new one up in agent_activity_session.
CREATE TABLE IF NOT EXISTS agent_session (
    session  TEXT    PRIMARY KEY,
    first_at INTEGER NOT NULL,                      -- earliest record's timestamp
    last_at  INTEGER NOT NULL,                      -- latest record's timestamp
    records  INTEGER NOT NULL DEFAULT 0,
    tokens_used INTEGER NOT NULL DEFAULT 0,
    cost_usd INTEGER NOT NULL DEFAULT 0,            -- micro-dollars
    success  INTEGER NOT NULL DEFAULT 0,
    error    INTEGER NOT NULL DEFAULT 0,
    pending  INTEGER NOT NULL DEFAULT 0,
    running  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS agent_session_last ON agent_session (last_at, session);

-- Which agents and models a session's records name ('' for none), with their counts.
CREATE TABLE IF NOT EXISTS agent_session_part (
    session TEXT    NOT NULL,
    agent   TEXT    NOT NULL,
    model   TEXT    NOT NULL,
    records INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session, agent, model)
) WITHOUT ROWID;

-- Which status, type and agent mixes a session's records have: a filtered session list tests
-- each session with one seek here instead of reading its records. Kept by the triggers below.
CREATE TABLE IF NOT EXISTS agent_session_mix (
    session TEXT    NOT NULL,
    status  TEXT    NOT NULL,
    type    TEXT    NOT NULL,
    agent   TEXT    NOT NULL,                       -- '' for no agent
    records INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session, status, type, agent)
) WITHOUT ROWID;
-- One type's sessions in key order: the filtered list counts them in one pass (agent and
-- status, when asked for, are tested on the way), with no seek per session.
CREATE INDEX IF NOT EXISTS agent_session_mix_type ON agent_session_mix (type, session, agent, status);

CREATE TRIGGER IF NOT EXISTS agent_session_mix_insert AFTER INSERT ON agent_activity WHEN NEW.session IS NOT NULL BEGIN
    INSERT INTO agent_session_mix VALUES (NEW.session, NEW.status, NEW.type, coalesce(NEW.agent, ''), 1) ON CONFLICT DO UPDATE SET records = records + 1;
END;

CREATE TRIGGER IF NOT EXISTS agent_session_mix_delete AFTER DELETE ON agent_activity WHEN OLD.session IS NOT NULL BEGIN
    UPDATE agent_session_mix SET records = records - 1 WHERE session = OLD.session AND status = OLD.status AND type = OLD.type AND agent = coalesce(OLD.agent, '');
    DELETE FROM agent_session_mix WHERE session = OLD.session AND status = OLD.status AND type = OLD.type AND agent = coalesce(OLD.agent, '') AND records <= 0;
END;

CREATE TRIGGER IF NOT EXISTS agent_session_mix_update
AFTER UPDATE OF session, status, type, agent ON agent_activity BEGIN
    UPDATE agent_session_mix SET records = records - 1 WHERE session = OLD.session AND status = OLD.status AND type = OLD.type AND agent = coalesce(OLD.agent, '');
    DELETE FROM agent_session_mix WHERE session = OLD.session AND status = OLD.status AND type = OLD.type AND agent = coalesce(OLD.agent, '') AND records <= 0;
    INSERT INTO agent_session_mix SELECT NEW.session, NEW.status, NEW.type, coalesce(NEW.agent, ''), 1 WHERE NEW.session IS NOT NULL
    ON CONFLICT DO UPDATE SET records = records + 1;
END;

-- Statistics by model and agent: like agent_activity_rollup (15-minute buckets, so local
-- days are unions of buckets), with the model of the metadata and the summed cost.
CREATE TABLE IF NOT EXISTS agent_activity_usage (
    bucket      INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    agent       TEXT    NOT NULL DEFAULT '',
    model       TEXT    NOT NULL DEFAULT '',
    count       INTEGER NOT NULL DEFAULT 0,
    tokens_used INTEGER NOT NULL DEFAULT 0,
    cost_usd    INTEGER NOT NULL DEFAULT 0,         -- micro-dollars
    PRIMARY KEY (bucket, type, status, agent, model)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS agent_session_insert AFTER INSERT ON agent_activity WHEN NEW.session IS NOT NULL BEGIN
    INSERT INTO agent_session VALUES (NEW.session, NEW.timestamp, NEW.timestamp, 1, coalesce(NEW.tokens_used, 0),
        coalesce(NEW.cost_usd, 0), NEW.status = 'success', NEW.status = 'error', NEW.status = 'pending',
        NEW.status = 'running')
    ON CONFLICT DO UPDATE SET first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at),
        records = records + 1, tokens_used = tokens_used + excluded.tokens_used,
        cost_usd = cost_usd + excluded.cost_usd, success = success + excluded.success,
        error = error + excluded.error, pending = pending + excluded.pending, running = running + excluded.running;
    INSERT INTO agent_session_part VALUES (NEW.session, coalesce(NEW.agent, ''),
        coalesce(CASE WHEN json_valid(NEW.metadata) THEN substr(json_extract(NEW.metadata, '$.model'), 1, 200) END, ''), 1)
    ON CONFLICT DO UPDATE SET records = records + 1;
END;

CREATE TRIGGER IF NOT EXISTS agent_session_delete AFTER DELETE ON agent_activity WHEN OLD.session IS NOT NULL BEGIN
    UPDATE agent_session SET records = records - 1, tokens_used = tokens_used - coalesce(OLD.tokens_used, 0),
        cost_usd = cost_usd - coalesce(OLD.cost_usd, 0), success = success - (OLD.status = 'success'),
        error = error - (OLD.status = 'error'), pending = pending - (OLD.status = 'pending'),
        running = running - (OLD.status = 'running'),
        first_at = coalesce((SELECT min(timestamp) FROM agent_activity WHERE session = OLD.session), first_at),
        last_at = coalesce((SELECT max(timestamp) FROM agent_activity WHERE session = OLD.session), last_at)
    WHERE session = OLD.session;
    DELETE FROM agent_session WHERE session = OLD.session AND records <= 0;
    UPDATE agent_session_part SET records = records - 1 WHERE session = OLD.session AND agent = coalesce(OLD.agent, '')
        AND model = coalesce(CASE WHEN json_valid(OLD.metadata) THEN substr(json_extract(OLD.metadata, '$.model'), 1, 200) END, '');
    DELETE FROM agent_session_part WHERE session = OLD.session AND records <= 0;
END;

CREATE TRIGGER IF NOT EXISTS agent_session_update
AFTER UPDATE OF session, timestamp, status, tokens_used, cost_usd, agent, metadata ON agent_activity BEGIN
    UPDATE agent_session SET records = records - 1, tokens_used = tokens_used - coalesce(OLD.tokens_used, 0),
        cost_usd = cost_usd - coalesce(OLD.cost_usd, 0), success = success - (OLD.status = 'success'),
        error = error - (OLD.status = 'error'), pending = pending - (OLD.status = 'pending'),
        running = running - (OLD.status = 'running'),
        first_at = coalesce((SELECT min(timestamp) FROM agent_activity WHERE session = OLD.session), first_at),
        last_at = coalesce((SELECT max(timestamp) FROM agent_activity WHERE session = OLD.session), last_at)
    WHERE session = OLD.session;
    DELETE FROM agent_session WHERE session = OLD.session AND records <= 0;
    UPDATE agent_session_part SET records = records - 1 WHERE session = OLD.session AND agent = coalesce(OLD.agent, '')
        AND model = coalesce(CASE WHEN json_valid(OLD.metadata) THEN substr(json_extract(OLD.metadata, '$.model'), 1, 200) END, '');
    DELETE FROM agent_session_part WHERE session = OLD.session AND records <= 0;
    INSERT INTO agent_session SELECT NEW.session, NEW.timestamp, NEW.timestamp, 1, coalesce(NEW.tokens_used, 0),
        coalesce(NEW.cost_usd, 0), NEW.status = 'success', NEW.status = 'error', NEW.status = 'pending',
        NEW.status = 'running' WHERE NEW.session IS NOT NULL
    ON CONFLICT DO UPDATE SET first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at),
        records = records + 1, tokens_used = tokens_used + excluded.tokens_used,
        cost_usd = cost_usd + excluded.cost_usd, success = success + excluded.success,
        error = error + excluded.error, pending = pending + excluded.pending, running = running + excluded.running;
    INSERT INTO agent_session_part SELECT NEW.session, coalesce(NEW.agent, ''),
        coalesce(CASE WHEN json_valid(NEW.metadata) THEN substr(json_extract(NEW.metadata, '$.model'), 1, 200) END, ''), 1
        WHERE NEW.session IS NOT NULL
    ON CONFLICT DO UPDATE SET records = records + 1;
END;

CREATE TRIGGER IF NOT EXISTS agent_activity_usage_insert AFTER INSERT ON agent_activity BEGIN
    INSERT INTO agent_activity_usage VALUES (NEW.timestamp - NEW.timestamp % 900000, NEW.type, NEW.status,
        coalesce(NEW.agent, ''),
        coalesce(CASE WHEN json_valid(NEW.metadata) THEN substr(json_extract(NEW.metadata, '$.model'), 1, 200) END, ''),
        1, coalesce(NEW.tokens_used, 0), coalesce(NEW.cost_usd, 0))
    ON CONFLICT DO UPDATE SET count = count + 1, tokens_used = tokens_used + excluded.tokens_used,
        cost_usd = cost_usd + excluded.cost_usd;
END;

CREATE TRIGGER IF NOT EXISTS agent_activity_usage_delete AFTER DELETE ON agent_activity BEGIN
    UPDATE agent_activity_usage SET count = count - 1, tokens_used = tokens_used - coalesce(OLD.tokens_used, 0),
        cost_usd = cost_usd - coalesce(OLD.cost_usd, 0)
    WHERE bucket = OLD.timestamp - OLD.timestamp % 900000 AND type = OLD.type AND status = OLD.status
      AND agent = coalesce(OLD.agent, '')
      AND model = coalesce(CASE WHEN json_valid(OLD.metadata) THEN substr(json_extract(OLD.metadata, '$.model'), 1, 200) END, '');
    DELETE FROM agent_activity_usage
    WHERE bucket = OLD.timestamp - OLD.timestamp % 900000 AND type = OLD.type AND status = OLD.status
      AND agent = coalesce(OLD.agent, '')
      AND model = coalesce(CASE WHEN json_valid(OLD.metadata) THEN substr(json_extract(OLD.metadata, '$.model'), 1, 200) END, '')
      AND count <= 0;
END;

CREATE TRIGGER IF NOT EXISTS agent_activity_usage_update
AFTER UPDATE OF type, status, timestamp, agent, tokens_used, cost_usd, metadata ON agent_activity BEGIN
    UPDATE agent_activity_usage SET count = count - 1, tokens_used = tokens_used - coalesce(OLD.tokens_used, 0),
        cost_usd = cost_usd - coalesce(OLD.cost_usd, 0)
    WHERE bucket = OLD.timestamp - OLD.timestamp % 900000 AND type = OLD.type AND status = OLD.status
      AND agent = coalesce(OLD.agent, '')
      AND model = coalesce(CASE WHEN json_valid(OLD.metadata) THEN substr(json_extract(OLD.metadata, '$.model'), 1, 200) END, '');
    DELETE FROM agent_activity_usage
    WHERE bucket = OLD.timestamp - OLD.timestamp % 900000 AND type = OLD.type AND status = OLD.status
      AND agent = coalesce(OLD.agent, '')
      AND model = coalesce(CASE WHEN json_valid(OLD.metadata) THEN substr(json_extract(OLD.metadata, '$.model'), 1, 200) END, '')
      AND count <= 0;
    INSERT INTO agent_activity_usage VALUES (NEW.timestamp - NEW.timestamp % 900000, NEW.type, NEW.status,
        coalesce(NEW.agent, ''),
        coalesce(CASE WHEN json_valid(NEW.metadata) THEN substr(json_extract(NEW.metadata, '$.model'), 1, 200) END, ''),
        1, coalesce(NEW.tokens_used, 0), coalesce(NEW.cost_usd, 0))
    ON CONFLICT DO UPDATE SET count = count + 1, tokens_used = tokens_used + excluded.tokens_used,
        cost_usd = cost_usd + excluded.cost_usd;
END;

-- agent_activity_usage per UTC day: statistics read whole days of cost by model and agent here
-- (a few thousand rows for 30 days, where the 15-minute table has hundreds of thousands),
-- and only the day the retention cutoff cuts through from agent_activity_usage.
CREATE TABLE IF NOT EXISTS agent_activity_usage_daily (
    day         INTEGER NOT NULL,                   -- timestamp floored to a UTC day
    type        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    agent       TEXT    NOT NULL DEFAULT '',
    model       TEXT    NOT NULL DEFAULT '',
    count       INTEGER NOT NULL DEFAULT 0,
    tokens_used INTEGER NOT NULL DEFAULT 0,
    cost_usd    INTEGER NOT NULL DEFAULT 0,         -- micro-dollars
    PRIMARY KEY (day, type, status, agent, model)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS agent_activity_usage_daily_insert AFTER INSERT ON agent_activity BEGIN
    INSERT INTO agent_activity_usage_daily VALUES (NEW.timestamp - NEW.timestamp % 86400000, NEW.type, NEW.status,
        coalesce(NEW.agent, ''),
        coalesce(CASE WHEN json_valid(NEW.metadata) THEN substr(json_extract(NEW.metadata, '$.model'), 1, 200) END, ''),
        1, coalesce(NEW.tokens_used, 0), coalesce(NEW.cost_usd, 0))
    ON CONFLICT DO UPDATE SET count = count + 1, tokens_used = tokens_used + excluded.tokens_used,
        cost_usd = cost_usd + excluded.cost_usd;
END;

CREATE TRIGGER IF NOT EXISTS agent_activity_usage_daily_delete AFTER DELETE ON agent_activity BEGIN
    UPDATE agent_activity_usage_daily SET count = count - 1, tokens_used = tokens_used - coalesce(OLD.tokens_used, 0),
        cost_usd = cost_usd - coalesce(OLD.cost_usd, 0)
    WHERE day = OLD.timestamp - OLD.timestamp % 86400000 AND type = OLD.type AND status = OLD.status
      AND agent = coalesce(OLD.agent, '')
      AND model = coalesce(CASE WHEN json_valid(OLD.metadata) THEN substr(json_extract(OLD.metadata, '$.model'), 1, 200) END, '');
    DELETE FROM agent_activity_usage_daily
    WHERE day = OLD.timestamp - OLD.timestamp % 86400000 AND type = OLD.type AND status = OLD.status
      AND agent = coalesce(OLD.agent, '')
      AND model = coalesce(CASE WHEN json_valid(OLD.metadata) THEN substr(json_extract(OLD.metadata, '$.model'), 1, 200) END, '')
      AND count <= 0;
END;

CREATE TRIGGER IF NOT EXISTS agent_activity_usage_daily_update
AFTER UPDATE OF type, status, timestamp, agent, tokens_used, cost_usd, metadata ON agent_activity BEGIN
    UPDATE agent_activity_usage_daily SET count = count - 1, tokens_used = tokens_used - coalesce(OLD.tokens_used, 0),
        cost_usd = cost_usd - coalesce(OLD.cost_usd, 0)
    WHERE day = OLD.timestamp - OLD.timestamp % 86400000 AND type = OLD.type AND status = OLD.status
      AND agent = coalesce(OLD.agent, '')
      AND model = coalesce(CASE WHEN json_valid(OLD.metadata) THEN substr(json_extract(OLD.metadata, '$.model'), 1, 200) END, '');
    DELETE FROM agent_activity_usage_daily
    WHERE day = OLD.timestamp - OLD.timestamp % 86400000 AND type = OLD.type AND status = OLD.status
      AND agent = coalesce(OLD.agent, '')
      AND model = coalesce(CASE WHEN json_valid(OLD.metadata) THEN substr(json_extract(OLD.metadata, '$.model'), 1, 200) END, '')
      AND count <= 0;
    INSERT INTO agent_activity_usage_daily VALUES (NEW.timestamp - NEW.timestamp % 86400000, NEW.type, NEW.status,
        coalesce(NEW.agent, ''),
        coalesce(CASE WHEN json_valid(NEW.metadata) THEN substr(json_extract(NEW.metadata, '$.model'), 1, 200) END, ''),
        1, coalesce(NEW.tokens_used, 0), coalesce(NEW.cost_usd, 0))
    ON CONFLICT DO UPDATE SET count = count + 1, tokens_used = tokens_used + excluded.tokens_used,
        cost_usd = cost_usd + excluded.cost_usd;
END;

-- Search (q=): what a record is found by, its description and the metadata keys tool, tool_name,
-- command, path and file_path (each cut at 200 characters). The view is the index's content;
-- the triggers below repeat its expression for NEW and OLD.
CREATE VIEW IF NOT EXISTS agent_activity_search_text AS
SELECT *, agent_activity.description || CASE WHEN json_valid(agent_activity.metadata) THEN
        coalesce(' ' || substr(agent_activity.metadata ->> '$.tool', 1, 200), '') ||
        coalesce(' ' || substr(agent_activity.metadata ->> '$.tool_name', 1, 200), '') ||
        coalesce(' ' || substr(agent_activity.metadata ->> '$.command', 1, 200), '') ||
        coalesce(' ' || substr(agent_activity.metadata ->> '$.path', 1, 200), '') ||
        coalesce(' ' || substr(agent_activity.metadata ->> '$.file_path', 1, 200), '') ELSE '' END AS text
FROM agent_activity;

-- An FTS5 index of trigrams (any 3 characters, so Chinese and Japanese text without spaces is
-- found), external content: the text itself is not stored twice. Positions are kept
-- (detail=full) so a query matches as one phrase, a substring; no column sizes (nothing ranks).
CREATE VIRTUAL TABLE IF NOT EXISTS agent_activity_search USING fts5(
    text, content='agent_activity_search_text', content_rowid='id', tokenize='trigram', columnsize=0);

CREATE TRIGGER IF NOT EXISTS agent_activity_search_insert AFTER INSERT ON agent_activity BEGIN
    INSERT INTO agent_activity_search (rowid, text) VALUES (NEW.id, NEW.description || CASE WHEN json_valid(NEW.metadata) THEN
        coalesce(' ' || substr(NEW.metadata ->> '$.tool', 1, 200), '') ||
        coalesce(' ' || substr(NEW.metadata ->> '$.tool_name', 1, 200), '') ||
        coalesce(' ' || substr(NEW.metadata ->> '$.command', 1, 200), '') ||
        coalesce(' ' || substr(NEW.metadata ->> '$.path', 1, 200), '') ||
        coalesce(' ' || substr(NEW.metadata ->> '$.file_path', 1, 200), '') ELSE '' END);
END;

CREATE TRIGGER IF NOT EXISTS agent_activity_search_delete AFTER DELETE ON agent_activity BEGIN
    INSERT INTO agent_activity_search (agent_activity_search, rowid, text) VALUES ('delete', OLD.id, OLD.description || CASE WHEN json_valid(OLD.metadata) THEN
        coalesce(' ' || substr(OLD.metadata ->> '$.tool', 1, 200), '') ||
        coalesce(' ' || substr(OLD.metadata ->> '$.tool_name', 1, 200), '') ||
        coalesce(' ' || substr(OLD.metadata ->> '$.command', 1, 200), '') ||
        coalesce(' ' || substr(OLD.metadata ->> '$.path', 1, 200), '') ||
        coalesce(' ' || substr(OLD.metadata ->> '$.file_path', 1, 200), '') ELSE '' END);
END;

CREATE TRIGGER IF NOT EXISTS agent_activity_search_update AFTER UPDATE OF description, metadata ON agent_activity BEGIN
    INSERT INTO agent_activity_search (agent_activity_search, rowid, text) VALUES ('delete', OLD.id, OLD.description || CASE WHEN json_valid(OLD.metadata) THEN
        coalesce(' ' || substr(OLD.metadata ->> '$.tool', 1, 200), '') ||
        coalesce(' ' || substr(OLD.metadata ->> '$.tool_name', 1, 200), '') ||
        coalesce(' ' || substr(OLD.metadata ->> '$.command', 1, 200), '') ||
        coalesce(' ' || substr(OLD.metadata ->> '$.path', 1, 200), '') ||
        coalesce(' ' || substr(OLD.metadata ->> '$.file_path', 1, 200), '') ELSE '' END);
    INSERT INTO agent_activity_search (rowid, text) VALUES (NEW.id, NEW.description || CASE WHEN json_valid(NEW.metadata) THEN
        coalesce(' ' || substr(NEW.metadata ->> '$.tool', 1, 200), '') ||
        coalesce(' ' || substr(NEW.metadata ->> '$.tool_name', 1, 200), '') ||
        coalesce(' ' || substr(NEW.metadata ->> '$.command', 1, 200), '') ||
        coalesce(' ' || substr(NEW.metadata ->> '$.path', 1, 200), '') ||
        coalesce(' ' || substr(NEW.metadata ->> '$.file_path', 1, 200), '') ELSE '' END);
END;

-- What the owner pays per million tokens of a model, in micro-dollars; empty by default,
-- so a GenAI span gets a cost only from a price the owner set.
CREATE TABLE IF NOT EXISTS model_price (
    id              INTEGER PRIMARY KEY,
    model           TEXT    NOT NULL UNIQUE,
    input_per_mtok  INTEGER NOT NULL CHECK (input_per_mtok >= 0),
    output_per_mtok INTEGER NOT NULL CHECK (output_per_mtok >= 0)
);

-- Alerts (waken/alerts/): where they go, when they fire, and what is waiting to be sent.
-- A channel's url is an Apprise URL and holds its secret: never shown back, logged or answered;
-- `masked` (scheme and host only) is what the pages show.
CREATE TABLE IF NOT EXISTS alert_channel (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    url        TEXT    NOT NULL,
    masked     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
-- One row per kind of rule the owner has configured (waken/alerts/rules.py lists the kinds).
CREATE TABLE IF NOT EXISTS alert_rule (
    kind             TEXT    PRIMARY KEY,
    enabled          INTEGER NOT NULL DEFAULT 0,
    channels         TEXT    NOT NULL DEFAULT '[]',     -- JSON list of alert_channel ids
    cooldown_seconds INTEGER NOT NULL DEFAULT 0,
    params           TEXT    NOT NULL DEFAULT '{}',     -- JSON: the kind's parameters
    since            INTEGER                            -- turned on at: time rules look no further back
);
-- Per rule and subject (an agent, a session, a device, a day): when it last sent, and the
-- condition it sent for, so one condition sends one alert and the cool-down holds.
CREATE TABLE IF NOT EXISTS alert_state (
    rule     TEXT    NOT NULL,
    subject  TEXT    NOT NULL,
    active   INTEGER NOT NULL DEFAULT 1,                -- 1 while the condition holds
    mark     INTEGER,                                   -- which occurrence: a session's last record, a device's last report
    fired_at INTEGER NOT NULL,
    PRIMARY KEY (rule, subject)
) WITHOUT ROWID;
-- One row per alert and channel, written in the transaction of the change that fired it; the
-- elected scheduler worker claims due rows (status 'sending' until claimed_until) and sends them.
CREATE TABLE IF NOT EXISTS alert_outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id    INTEGER NOT NULL REFERENCES alert_channel (id) ON DELETE CASCADE,
    rule          TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    tries         INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    next_at       INTEGER NOT NULL,                     -- due from then (back-off after a failure)
    claimed_until INTEGER,                              -- a sender's claim; past it, another may retry
    finished_at   INTEGER,                              -- sent or dead at
    answer        TEXT                                  -- the channel's last answer, secrets masked
);
CREATE INDEX IF NOT EXISTS alert_outbox_due ON alert_outbox (status, next_at);
CREATE INDEX IF NOT EXISTS alert_outbox_channel ON alert_outbox (channel_id);

CREATE TABLE IF NOT EXISTS app_record (
    id           INTEGER PRIMARY KEY,
    app_group    TEXT    NOT NULL CHECK (app_group IN ('pc', 'mobile')),
    process_name TEXT    NOT NULL,
    titles       TEXT    NOT NULL DEFAULT '[]',     -- latest 3, newest first
    last_seen_at INTEGER NOT NULL,
    UNIQUE (app_group, process_name)
);

CREATE TABLE IF NOT EXISTS media_asset (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL CHECK (kind IN ('cover', 'icon')),
    sha256       TEXT    NOT NULL,                  -- of the bytes as uploaded
    filename     TEXT    NOT NULL,
    mime         TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    UNIQUE (kind, sha256)
);

CREATE TABLE IF NOT EXISTS media_source_rule (
    id     INTEGER PRIMARY KEY,
    source TEXT NOT NULL UNIQUE COLLATE NOCASE,
    action TEXT NOT NULL CHECK (action IN ('block', 'rename')),
    label  TEXT
);

-- How an app looks in public output (feed, stream, home page); stored rows keep real values.
CREATE TABLE IF NOT EXISTS app_rule (
    id           INTEGER PRIMARY KEY,
    process_name TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    label        TEXT,                                -- shown instead of process_name
    hide_title   INTEGER NOT NULL DEFAULT 0 CHECK (hide_title IN (0, 1)),
    hide         INTEGER NOT NULL DEFAULT 0 CHECK (hide IN (0, 1))
);

CREATE TABLE IF NOT EXISTS setting (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL                              -- JSON
);

CREATE TABLE IF NOT EXISTS admin_user (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

-- One row per signed-in browser; the cookie holds the secret, only its hash is here.
-- Logout deletes the row; a new password deletes every row of that admin.
CREATE TABLE IF NOT EXISTS admin_session (
    id           INTEGER PRIMARY KEY,
    admin_id     INTEGER NOT NULL REFERENCES admin_user (id) ON DELETE CASCADE,
    secret_hash  TEXT    NOT NULL UNIQUE,           -- SHA-256 hex of the cookie's secret
    created_at   INTEGER NOT NULL                   -- expires admin_session_days after this
);
CREATE INDEX IF NOT EXISTS admin_session_admin ON admin_session (admin_id);

-- The public feed's change counter. The feed, the home page and the feed stream are
-- rendered once per value of n (waken/feed_cache.py) and read n on every request, so
-- every table they read bumps it in the same transaction as the change, whoever
-- writes. A table that joins the public feed gets three triggers like those of
-- `setting` below (AFTER INSERT, AFTER UPDATE, AFTER DELETE, each running the same
-- upsert); the upsert also creates the row in a database that has none yet.
CREATE TABLE IF NOT EXISTS feed_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);

CREATE TRIGGER IF NOT EXISTS feed_version_activity_insert AFTER INSERT ON device_activity BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS feed_version_activity_update AFTER UPDATE ON device_activity BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS feed_version_activity_delete AFTER DELETE ON device_activity BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
-- A device's last_seen_at is not shown; its name, type and status are (every report
-- sets name and type again, mostly to the same values).
CREATE TRIGGER IF NOT EXISTS feed_version_device_update
AFTER UPDATE OF name, device_type, status ON device
WHEN OLD.name IS NOT NEW.name OR OLD.device_type IS NOT NEW.device_type OR OLD.status IS NOT NEW.status BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS feed_version_device_delete AFTER DELETE ON device BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS feed_version_setting_insert AFTER INSERT ON setting BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS feed_version_setting_update AFTER UPDATE ON setting BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS feed_version_setting_delete AFTER DELETE ON setting BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS feed_version_source_rule_insert AFTER INSERT ON media_source_rule BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS feed_version_source_rule_update AFTER UPDATE ON media_source_rule BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS feed_version_source_rule_delete AFTER DELETE ON media_source_rule BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS feed_version_app_rule_insert AFTER INSERT ON app_rule BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS feed_version_app_rule_update AFTER UPDATE ON app_rule BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS feed_version_app_rule_delete AFTER DELETE ON app_rule BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;

-- The owner's status ("🛌 asleep until 07:30"): one row at most, shown on every public
-- output; it stops showing at until_at (read against the clock, see waken/feed/status.py).
CREATE TABLE IF NOT EXISTS owner_status (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    emoji    TEXT NOT NULL DEFAULT '',
    text     TEXT NOT NULL DEFAULT '',
    until_at INTEGER,                                -- Unix ms (UTC); NULL: until cleared
    set_at   INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS feed_version_owner_status_insert AFTER INSERT ON owner_status BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS feed_version_owner_status_update AFTER UPDATE ON owner_status BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS feed_version_owner_status_delete AFTER DELETE ON owner_status BEGIN
    INSERT INTO feed_version VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
END;
