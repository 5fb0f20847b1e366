"""Schema changes, each a small function applied in order inside a transaction at open.

The ``_sqlite_migrations`` table (sqlite-utils) is the truth about what has been
applied. Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("spoa")


@migrations()
def m001_users_and_audit(db: Database) -> None:
    db.execute("""
        CREATE TABLE users (
            username TEXT PRIMARY KEY,
            display_name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('practitioner', 'supervisor', 'admin')),
            active INTEGER NOT NULL DEFAULT 1,
            must_change_password INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    # Facts about this store: the audit key (derived from the first data key, kept
    # here so the chain survives a rekey), the schema's creation time.
    db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)")
    # The audit trail: an HMAC hash chain; rows can be added, never changed or removed.
    db.execute("""
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            username TEXT NOT NULL,
            role TEXT NOT NULL,
            action TEXT NOT NULL,
            record_type TEXT NOT NULL DEFAULT '',
            record_id TEXT NOT NULL DEFAULT '',
            outcome TEXT NOT NULL DEFAULT 'ok',
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail cannot be changed'); END""")
    db.execute("""
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail cannot be changed'); END""")


@migrations()
def m002_records(db: Database) -> None:
    db.execute("""
        CREATE TABLE children (
            id TEXT PRIMARY KEY,
            given_name TEXT NOT NULL,
            family_name TEXT NOT NULL,
            date_of_birth TEXT,
            nhs_number TEXT,
            address TEXT NOT NULL DEFAULT '',
            postcode TEXT NOT NULL DEFAULT '',
            school TEXT NOT NULL DEFAULT '',
            gp_practice TEXT NOT NULL DEFAULT '',
            carers TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX children_nhs_number ON children (nhs_number)")
    db.execute("""
        CREATE TABLE contacts (
            id TEXT PRIMARY KEY,
            child_id TEXT NOT NULL REFERENCES children (id),
            kind TEXT NOT NULL DEFAULT 'triage' CHECK (kind IN ('triage', 'advice')),
            referrer_type TEXT NOT NULL,
            referrer_name TEXT NOT NULL DEFAULT '',
            referrer_organisation TEXT NOT NULL DEFAULT '',
            referrer_contact TEXT NOT NULL DEFAULT '',
            source_of_referral TEXT NOT NULL DEFAULT '',
            received_at TEXT NOT NULL,
            consent TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'open',
            contact_by TEXT,
            seen_by TEXT,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX contacts_child ON contacts (child_id)")
    db.execute("CREATE INDEX contacts_status_deadline ON contacts (status, contact_by)")
    db.execute("""
        CREATE TABLE triage_sessions (
            id TEXT PRIMARY KEY,
            contact_id TEXT NOT NULL REFERENCES contacts (id),
            module_id TEXT NOT NULL,
            module_version TEXT NOT NULL,
            module_hash TEXT NOT NULL,
            answers TEXT NOT NULL DEFAULT '{}',
            outcome TEXT,
            complete INTEGER NOT NULL DEFAULT 0,
            decision TEXT CHECK (decision IN ('confirmed', 'overridden')),
            final_route TEXT,
            final_urgency TEXT,
            override_reason TEXT,
            decided_by TEXT,
            decided_at TEXT,
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX sessions_contact ON triage_sessions (contact_id)")
    db.execute("""
        CREATE TABLE referrals (
            id TEXT PRIMARY KEY,
            contact_id TEXT NOT NULL REFERENCES contacts (id),
            session_id TEXT NOT NULL REFERENCES triage_sessions (id),
            service_id TEXT,
            state TEXT NOT NULL DEFAULT 'draft' CHECK (state IN
                ('draft', 'awaiting_approval', 'approved', 'sent', 'closed', 'returned')),
            return_reason TEXT,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE referral_steps (
            id INTEGER PRIMARY KEY,
            referral_id TEXT NOT NULL REFERENCES referrals (id),
            state TEXT NOT NULL,
            at TEXT NOT NULL,
            username TEXT NOT NULL,
            reason TEXT
        )""")
    db.execute("""
        CREATE TABLE advice_requests (
            id TEXT PRIMARY KEY,
            contact_id TEXT NOT NULL REFERENCES contacts (id),
            question TEXT NOT NULL,
            context TEXT NOT NULL DEFAULT '',
            conversion_authorised INTEGER NOT NULL DEFAULT 0,
            response TEXT,
            responded_by TEXT,
            responded_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE letters (
            id TEXT PRIMARY KEY,
            referral_id TEXT REFERENCES referrals (id),
            advice_request_id TEXT REFERENCES advice_requests (id),
            kind TEXT NOT NULL,
            pdf BLOB NOT NULL,
            sha256 TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        )""")
    # Edits keep history: old -> new, who, when, why.
    db.execute("""
        CREATE TABLE record_history (
            id INTEGER PRIMARY KEY,
            record_type TEXT NOT NULL,
            record_id TEXT NOT NULL,
            field TEXT NOT NULL,
            old_value TEXT,
            new_value TEXT,
            changed_by TEXT NOT NULL,
            changed_at TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT ''
        )""")
    db.execute("CREATE INDEX history_record ON record_history (record_type, record_id)")
    # Search: one row per contact with folded text (see spoa.store.search).
    db.execute("""
        CREATE VIRTUAL TABLE contact_search USING fts5(
            contact_id UNINDEXED, folded, tokenize = 'unicode61 remove_diacritics 2'
        )""")


@migrations()
def m003_children_date_of_birth_index(db: Database) -> None:
    # Possible duplicates (same name and date of birth) are looked for on every new
    # contact; without this index that is a scan of every child.
    db.execute("CREATE INDEX children_date_of_birth ON children (date_of_birth)")


@migrations()
def m004_retention(db: Database) -> None:
    # When a contact was closed: a child's review date depends on their age at the
    # closure of their last contact (see spoa.store.retention).
    db.execute("ALTER TABLE contacts ADD COLUMN closed_at TEXT")
    # A local policy may keep records longer than the national minimum, never shorter.
    db.execute("""
        CREATE TABLE retention_policy (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            review_age INTEGER NOT NULL,
            review_age_if_17_at_closure INTEGER NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL
        )""")
    # The record of destruction: which child id, when, by whom, why. No name.
    db.execute("""
        CREATE TABLE retention_purges (
            id INTEGER PRIMARY KEY,
            child_id TEXT NOT NULL,
            due_on TEXT NOT NULL,
            purged_at TEXT NOT NULL,
            purged_by TEXT NOT NULL,
            reason TEXT NOT NULL
        )""")


@migrations()
def m005_directory_and_outbox(db: Database) -> None:
    # The service directory: where referrals go (see spoa.letters.directory).
    db.execute("""
        CREATE TABLE services (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('camhs', 'school_nursing', 'voluntary_sector')),
            name TEXT NOT NULL,
            team TEXT NOT NULL DEFAULT '',
            address TEXT NOT NULL DEFAULT '',
            secure_email TEXT NOT NULL DEFAULT '',
            phone TEXT NOT NULL DEFAULT '',
            age_min INTEGER NOT NULL DEFAULT 0,
            age_max INTEGER NOT NULL DEFAULT 25,
            postcode_districts TEXT NOT NULL DEFAULT '[]',
            schools TEXT NOT NULL DEFAULT '[]',
            urgencies TEXT NOT NULL DEFAULT '[]',
            opening_notes TEXT NOT NULL DEFAULT '',
            active INTEGER NOT NULL DEFAULT 1,
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL
        )""")
    # Letters waiting to leave, and what happened when they tried.
    db.execute("""
        CREATE TABLE outbox (
            id TEXT PRIMARY KEY,
            letter_id TEXT NOT NULL REFERENCES letters (id),
            transport TEXT NOT NULL,
            destination TEXT NOT NULL,
            message_id TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            queued_at TEXT NOT NULL,
            queued_by TEXT NOT NULL,
            sent_at TEXT
        )""")
    db.execute("ALTER TABLE referrals ADD COLUMN sent_before_review INTEGER NOT NULL DEFAULT 0")


@migrations()
def m006_referral_letter_choices_and_outbox_claims(db: Database) -> None:
    # What the practitioner wrote as the reason for a referral and which optional letter
    # sections they left out: chosen when drafting, used when the letter is made later.
    db.execute("ALTER TABLE referrals ADD COLUMN reason TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE referrals ADD COLUMN omitted TEXT NOT NULL DEFAULT '[]'")
    # A letter about a contact with no referral (not accepted) still belongs to someone.
    db.execute("ALTER TABLE letters ADD COLUMN contact_id TEXT REFERENCES contacts (id)")
    # An outbox item being sent is claimed until then, so two desks never send it at once;
    # a claim left by a crash simply runs out.
    db.execute("ALTER TABLE outbox ADD COLUMN claimed_until TEXT")
    db.execute("CREATE INDEX referral_steps_referral ON referral_steps (referral_id)")
    db.execute("CREATE INDEX referrals_state ON referrals (state)")
    db.execute("CREATE INDEX letters_referral ON letters (referral_id)")
    db.execute("CREATE INDEX outbox_state ON outbox (state)")


@migrations()
def m007_advice_request_details(db: Database) -> None:
    # An advice request as the requester put it (what has been tried, how soon the advice
    # is needed), who recorded it, and the referral it became when the requester had
    # authorised conversion (see spoa.advice).
    db.execute("ALTER TABLE advice_requests ADD COLUMN tried TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE advice_requests ADD COLUMN how_soon TEXT NOT NULL DEFAULT 'routine'")
    db.execute("ALTER TABLE advice_requests ADD COLUMN created_by TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE advice_requests ADD COLUMN referral_id TEXT REFERENCES referrals (id)")
    db.execute("ALTER TABLE advice_requests ADD COLUMN converted_by TEXT")
    db.execute("ALTER TABLE advice_requests ADD COLUMN converted_at TEXT")
    db.execute("CREATE INDEX advice_requests_contact ON advice_requests (contact_id)")
    db.execute("CREATE INDEX letters_advice_request ON letters (advice_request_id)")


@migrations()
def m008_contact_list_and_worklist_indexes(db: Database) -> None:
    # The contact list pages newest first by (received_at, id) without OFFSET
    # (records.contact_keys_newest_first): with this index each page is a seek, not a scan
    # of every contact. Today's list asks, per open contact, for its open referrals.
    db.execute("CREATE INDEX contacts_received ON contacts (received_at DESC, id)")
    db.execute("CREATE INDEX referrals_contact ON referrals (contact_id, state)")



@migrations()
def m009_form_drafts(db: Database) -> None:
    # What someone had typed into a form (a new advice request, a call's details before the
    # call starts) when the desk locked: one per user and form, given back only to them and
    # dropped after 7 days (see spoa.drafts). Not a record of a child: nothing refers to it.
    db.execute("""
        CREATE TABLE form_drafts (
            username TEXT NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            saved_at TEXT NOT NULL,
            PRIMARY KEY (username, kind)
        )""")
    db.execute("CREATE INDEX form_drafts_saved_at ON form_drafts (saved_at)")

def apply(db: Database) -> list[str]:
    """Apply pending migrations; return the names applied."""
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending
