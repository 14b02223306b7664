-- A database written by Hoister before its schema moved to Alembic (schema 4).
BEGIN TRANSACTION;
CREATE TABLE facts (
        digest TEXT NOT NULL,
        kind TEXT NOT NULL,        -- config, platforms, labels, sbom, vulnerabilities, ...
        value TEXT NOT NULL,       -- JSON
        source TEXT NOT NULL DEFAULT '',
        fetched_at TEXT NOT NULL,
        PRIMARY KEY (digest, kind)
    );
CREATE TABLE history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        policy_id INTEGER NULL REFERENCES policies (id) ON DELETE SET NULL,
        policy_name TEXT NOT NULL DEFAULT '',  -- kept for display once the policy is gone
        source_profile TEXT NOT NULL,
        source_repository TEXT NOT NULL,
        source_tag TEXT NULL,
        source_digest TEXT NULL,               -- NULL when it failed before resolving
        target_profile TEXT NOT NULL,          -- the effective one, never NULL
        target_repository TEXT NOT NULL,
        target_tag TEXT NULL,                  -- NULL when the template did not render
        outcome TEXT NOT NULL
            CHECK (outcome IN ('matched', 'promoted', 'skipped', 'failed')),
        reason TEXT NOT NULL DEFAULT '',
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        duration_ms INTEGER NOT NULL DEFAULT 0,
        bytes_moved INTEGER NOT NULL DEFAULT 0,
        blobs_mounted INTEGER NOT NULL DEFAULT 0,
        blobs_uploaded INTEGER NOT NULL DEFAULT 0,
        hop INTEGER NOT NULL DEFAULT 0,        -- 0: direct, 1: first link of a chain, ...
        actor TEXT NOT NULL DEFAULT ''         -- who or what started it: engine, cli, a user
    , entry_id INTEGER NULL);
INSERT INTO "history" VALUES(1,1,'stable to qa','local','dev/website','1.4-stable','sha256:0000000000000000000000000000000000000000000000000000000000000000','local','qa/website','1.4-stable','promoted','','2026-11-30T09:01:00.000000+00:00','2026-11-30T09:01:01.000000+00:00',0,0,0,0,0,'engine',NULL);
CREATE TABLE policies (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        source_profile TEXT NOT NULL,
        source_repository TEXT NOT NULL,
        target_profile TEXT NULL,          -- NULL: the source's registry
        target_repository TEXT NOT NULL,
        tag_template TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
        rules TEXT NOT NULL DEFAULT '[]',  -- JSON list of {field, operator, values}
        overwrite TEXT NOT NULL DEFAULT 'skip',
        time_zone TEXT NOT NULL DEFAULT 'utc',
        apply_existing INTEGER NOT NULL DEFAULT 0 CHECK (apply_existing IN (0, 1)),
        copy_referrers INTEGER NOT NULL DEFAULT 1 CHECK (copy_referrers IN (0, 1)),
        record_provenance INTEGER NOT NULL DEFAULT 1 CHECK (record_provenance IN (0, 1)),
        webhook_url TEXT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_promoted_at TEXT NULL
    );
INSERT INTO "policies" VALUES(1,'stable to qa','','local','dev/website',NULL,'qa/website','%n',1,'[{"field": "tag", "operator": "ew", "values": ["stable"]}]','skip','utc',0,1,1,NULL,'2026-11-30T09:00:00.000000+00:00','2026-11-30T09:00:00.000000+00:00',NULL);
CREATE TABLE policy_baselines (
        policy_id INTEGER PRIMARY KEY REFERENCES policies (id) ON DELETE CASCADE,
        applied_at TEXT NOT NULL
    );
CREATE TABLE queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        policy_id INTEGER NULL REFERENCES policies (id) ON DELETE CASCADE,
        source_profile TEXT NOT NULL,
        source_repository TEXT NOT NULL,
        source_tag TEXT NOT NULL,
        source_digest TEXT NOT NULL,
        target_profile TEXT NOT NULL,
        target_repository TEXT NOT NULL,
        target_tag TEXT NULL,      -- rendered at the moment of promotion, NULL until then
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT NULL,
        hop INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL, owner TEXT NULL, lease_until TEXT NULL, claim INTEGER NOT NULL DEFAULT 0, manual_options TEXT NULL,
        UNIQUE (policy_id, source_digest, source_tag)
    );
CREATE TABLE undecided (
        policy_id INTEGER NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
        profile TEXT NOT NULL,
        repository TEXT NOT NULL,
        tag TEXT NOT NULL,
        digest TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        first_seen TEXT NOT NULL,
        last_checked TEXT NOT NULL,
        PRIMARY KEY (policy_id, digest, tag)
    );
CREATE TABLE watch_repositories (
        profile TEXT NOT NULL,
        repository TEXT NOT NULL,
        baseline_at TEXT NULL,     -- NULL until the existing tags have been recorded
        last_polled_at TEXT NULL,
        PRIMARY KEY (profile, repository)
    );
CREATE TABLE watch_tags (
        profile TEXT NOT NULL,
        repository TEXT NOT NULL,
        tag TEXT NOT NULL,
        digest TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        PRIMARY KEY (profile, repository, tag),
        FOREIGN KEY (profile, repository)
            REFERENCES watch_repositories (profile, repository) ON DELETE CASCADE
    );
CREATE INDEX policies_source ON policies (source_profile, source_repository);
CREATE INDEX policies_target ON policies (target_profile, target_repository);
CREATE INDEX history_finished ON history (finished_at);
CREATE INDEX history_source ON history (source_repository);
CREATE INDEX history_target ON history (target_repository);
CREATE INDEX history_policy ON history (policy_id);
CREATE INDEX queue_due ON queue (state, next_attempt_at);
CREATE INDEX queue_lease ON queue (state, lease_until);
CREATE INDEX queue_target ON queue (target_profile, target_repository, target_tag);
CREATE INDEX history_entry ON history (entry_id);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('policies',1);
INSERT INTO "sqlite_sequence" VALUES('history',1);
COMMIT;
