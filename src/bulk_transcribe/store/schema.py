"""The SQLite schema; bump SCHEMA_VERSION and add a step to MIGRATIONS to change it."""

from __future__ import annotations

SCHEMA_VERSION = 13

MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE sessions (
        id            TEXT PRIMARY KEY,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        status        TEXT NOT NULL,
        out_dir       TEXT NOT NULL,
        settings_json TEXT NOT NULL,
        command       TEXT,
        requested_concurrency INTEGER,
        metrics_json  TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE items (
        id            INTEGER PRIMARY KEY,
        session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        position      INTEGER NOT NULL,
        key           TEXT NOT NULL,
        source        TEXT NOT NULL,
        source_type   TEXT NOT NULL,
        title         TEXT,
        metadata_json TEXT NOT NULL DEFAULT '{}',
        origin        TEXT,
        status        TEXT NOT NULL,
        stage         TEXT NOT NULL,
        progress      REAL NOT NULL DEFAULT 0,
        duration      REAL,
        method        TEXT,
        language      TEXT,
        attempts      INTEGER NOT NULL DEFAULT 0,
        error_kind    TEXT,
        error_message TEXT,
        outputs_json  TEXT NOT NULL DEFAULT '[]',
        started_at    TEXT,
        finished_at   TEXT,
        updated_at    TEXT,
        UNIQUE (session_id, key)
    );
    CREATE INDEX items_by_session_status ON items (session_id, status, position);
    CREATE TABLE attempts (
        id                  INTEGER PRIMARY KEY,
        item_id             INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        number              INTEGER NOT NULL,
        started_at          TEXT NOT NULL,
        finished_at         TEXT,
        status              TEXT NOT NULL,
        error_kind          TEXT,
        error_message       TEXT,
        provider_request_id TEXT
    );
    CREATE INDEX attempts_by_item ON attempts (item_id);
    CREATE TABLE events (
        id         INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        item_id    INTEGER,
        at         TEXT NOT NULL,
        kind       TEXT NOT NULL,
        message    TEXT NOT NULL
    );
    CREATE INDEX events_by_session ON events (session_id, id);
    """,
    # One live owner per session (claimed by compare-and-set, kept by a heartbeat), and each
    # finished item's transcript, so outputs can always be written again from the store.
    2: """
    ALTER TABLE sessions ADD COLUMN owner_id TEXT;
    ALTER TABLE sessions ADD COLUMN owner_host TEXT;
    ALTER TABLE sessions ADD COLUMN owner_pid INTEGER;
    ALTER TABLE sessions ADD COLUMN heartbeat_at REAL;
    CREATE TABLE transcripts (
        item_id          INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
        segments_json    TEXT NOT NULL,
        language         TEXT,
        duration         REAL,
        engine           TEXT NOT NULL,
        model            TEXT NOT NULL,
        method           TEXT NOT NULL,
        timing_estimated INTEGER NOT NULL DEFAULT 0,
        decoding_json    TEXT NOT NULL DEFAULT '{}',
        transcribed_at   TEXT NOT NULL
    );
    """,
    # Local files are known by content too (size, modification time, first and last MiB),
    # so a different file at the same path is not taken for one transcribed before.
    3: """
    ALTER TABLE items ADD COLUMN fingerprint TEXT
    """,
    # Full-text search over timed segments (store/search_index.py). Rows of one item get
    # consecutive rowids, so an item leaves the index with one range delete.
    4: """
    CREATE VIRTUAL TABLE segments_fts USING fts5(
        text, item_id UNINDEXED, start UNINDEXED, end UNINDEXED,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TABLE indexed_items (
        item_id     INTEGER PRIMARY KEY,
        finished_at TEXT,
        first_rowid INTEGER,
        last_rowid  INTEGER,
        segments    INTEGER NOT NULL,
        problem     TEXT
    );
    """,
    # Every change of an item raises its revision: views re-read exactly what changed.
    5: """
    ALTER TABLE items ADD COLUMN revision INTEGER NOT NULL DEFAULT 0
    """,
    # Followed feeds, channels, playlists and searches (store/follows.py), and the sources
    # each one has already handed to an update, so the next update takes only what is new;
    # the one update allowed at a time claims a single row (kept by a heartbeat).
    6: """
    CREATE TABLE follows (
        id              INTEGER PRIMARY KEY,
        url             TEXT NOT NULL UNIQUE,
        kind            TEXT NOT NULL,
        title           TEXT,
        filters_json    TEXT NOT NULL DEFAULT '{}',
        added_at        TEXT NOT NULL,
        checked_at      TEXT,
        last_session_id TEXT,
        last_found      INTEGER,
        last_new        INTEGER,
        last_problem    TEXT
    );
    CREATE TABLE follow_seen (
        follow_id INTEGER NOT NULL REFERENCES follows(id) ON DELETE CASCADE,
        source    TEXT NOT NULL,
        seen_at   TEXT NOT NULL,
        PRIMARY KEY (follow_id, source)
    );
    CREATE TABLE update_claim (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        owner_id     TEXT NOT NULL,
        owner_host   TEXT NOT NULL,
        owner_pid    INTEGER NOT NULL,
        heartbeat_at REAL NOT NULL,
        started_at   TEXT NOT NULL
    );
    """,
    # Each transcript's summary, key points and chapters (summary.py), when asked for: kept
    # apart from the transcript, so a failed or retried summary never touches it.
    7: """
    CREATE TABLE summaries (
        item_id      INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
        summary_json TEXT NOT NULL,
        model        TEXT NOT NULL,
        made_at      TEXT NOT NULL
    )
    """,
    # Progress without reading every item: counts and known seconds per session and status,
    # the sum of revisions and the last id, kept by triggers on every change of an item, and
    # an index for "finished since". A live view asks these several times a second. Items
    # read page by page in order, and earlier sessions' items found by source (the archive)
    # without a scan per page.
    8: """
    CREATE INDEX items_by_session_finished ON items (session_id, finished_at);
    CREATE INDEX items_by_session_position ON items (session_id, position);
    CREATE INDEX items_by_source ON items (source, session_id);
    CREATE TABLE item_counts (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        status     TEXT NOT NULL,
        items      INTEGER NOT NULL,
        seconds    REAL NOT NULL,
        unknown    INTEGER NOT NULL,
        PRIMARY KEY (session_id, status)
    ) WITHOUT ROWID;
    CREATE TABLE item_totals (
        session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
        revisions  INTEGER NOT NULL,
        last_id    INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO item_counts
        SELECT session_id, status, COUNT(*), TOTAL(duration), SUM(duration IS NULL)
        FROM items GROUP BY session_id, status;
    INSERT INTO item_totals
        SELECT session_id, TOTAL(revision), MAX(id) FROM items GROUP BY session_id;
    CREATE TRIGGER items_counted_on_insert AFTER INSERT ON items BEGIN
        INSERT INTO item_counts VALUES (NEW.session_id, NEW.status, 1,
            COALESCE(NEW.duration, 0), NEW.duration IS NULL)
        ON CONFLICT DO UPDATE SET items = items + 1, seconds = seconds + excluded.seconds,
            unknown = unknown + excluded.unknown;
        INSERT INTO item_totals VALUES (NEW.session_id, NEW.revision, NEW.id)
        ON CONFLICT DO UPDATE SET revisions = revisions + excluded.revisions,
            last_id = MAX(last_id, excluded.last_id);
    END;
    CREATE TRIGGER items_counted_on_delete AFTER DELETE ON items BEGIN
        UPDATE item_counts SET items = items - 1, seconds = seconds - COALESCE(OLD.duration, 0),
            unknown = unknown - (OLD.duration IS NULL)
        WHERE session_id = OLD.session_id AND status = OLD.status;
        UPDATE item_totals SET revisions = revisions - OLD.revision
        WHERE session_id = OLD.session_id;
    END;
    CREATE TRIGGER items_counted_on_update AFTER UPDATE OF status, duration ON items BEGIN
        UPDATE item_counts SET items = items - 1, seconds = seconds - COALESCE(OLD.duration, 0),
            unknown = unknown - (OLD.duration IS NULL)
        WHERE session_id = OLD.session_id AND status = OLD.status;
        INSERT INTO item_counts VALUES (NEW.session_id, NEW.status, 1,
            COALESCE(NEW.duration, 0), NEW.duration IS NULL)
        ON CONFLICT DO UPDATE SET items = items + 1, seconds = seconds + excluded.seconds,
            unknown = unknown + excluded.unknown;
    END;
    CREATE TRIGGER items_revised AFTER UPDATE OF revision ON items BEGIN
        UPDATE item_totals SET revisions = revisions + NEW.revision - OLD.revision
        WHERE session_id = NEW.session_id;
    END;
    """,
    # A secret of this database for the keys of links that carry credentials: distinct links
    # are distinct items, and the key reveals nothing of the credential (store/items.py).
    9: """
    CREATE TABLE link_key_secret (
        id     INTEGER PRIMARY KEY CHECK (id = 1),
        secret BLOB NOT NULL
    )
    """,
    # Fencing: each claim raises the session's owner generation, and every write of a runner
    # checks it, so a runner taken over (frozen, stalled) can write nothing more. The owner's
    # machine (boot id and pid namespace) and process start time tell a dead owner from a
    # live one, and a reused pid from its first holder.
    10: """
    ALTER TABLE sessions ADD COLUMN owner_generation INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN owner_machine TEXT;
    ALTER TABLE sessions ADD COLUMN owner_started REAL
    """,
    # Pieces of a long item a provider already transcribed (paid for): a retry or a resume
    # uploads only the pieces still missing.
    11: """
    CREATE TABLE chunk_results (
        item_id     INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        chunk_key   TEXT NOT NULL,
        result_json TEXT NOT NULL,
        saved_at    TEXT NOT NULL,
        PRIMARY KEY (item_id, chunk_key)
    )
    """,
    # Which items changed since a view last looked, from an index instead of every item's
    # revision: each change stamps the item with the session's running sum of revisions
    # (one more on every change, in commit order, as writes are serialised).
    12: """
    ALTER TABLE items ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX items_by_session_changed ON items (session_id, changed);
    DROP TRIGGER items_revised;
    CREATE TRIGGER items_revised AFTER UPDATE OF revision ON items BEGIN
        UPDATE item_totals SET revisions = revisions + NEW.revision - OLD.revision
        WHERE session_id = NEW.session_id;
        UPDATE items SET changed = (
            SELECT revisions FROM item_totals WHERE session_id = NEW.session_id
        ) WHERE id = NEW.id;
    END;
    """,
    # The search index keeps Chinese and Japanese one character a token (store/cjk.py): the
    # index is emptied, and the next search indexes every done item again.
    13: """
    DELETE FROM segments_fts;
    DELETE FROM indexed_items;
    """,
}
