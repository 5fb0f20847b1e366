"""Who may do what. Enforced in the core (spoa.desk and spoa.store), not only in the UI."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PRACTITIONER = "practitioner"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Permission(StrEnum):
    VIEW_RECORDS = "view records"
    EDIT_CONTACTS = "create and edit contacts"
    RUN_TRIAGE = "run triage sessions"
    DRAFT_REFERRALS = "draft referrals"
    APPROVE_REFERRALS = "approve or return referrals"
    EXPORT_LETTERS = "export letters"
    MANAGE_USERS = "manage users"
    MANAGE_DIRECTORY = "manage the service directory"
    MANAGE_MODULES = "manage rule modules"
    BACKUP_RESTORE = "back up and restore"
    REKEY = "change the database key"
    VERIFY_AUDIT = "read and verify the audit trail"
    PURGE_RECORDS = "purge records past retention"


_PRACTITIONER = {
    Permission.VIEW_RECORDS, Permission.EDIT_CONTACTS, Permission.RUN_TRIAGE,
    Permission.DRAFT_REFERRALS,
}
_SUPERVISOR = _PRACTITIONER | {Permission.APPROVE_REFERRALS, Permission.EXPORT_LETTERS}
_ADMIN = {
    Permission.MANAGE_USERS, Permission.MANAGE_DIRECTORY, Permission.MANAGE_MODULES,
    Permission.BACKUP_RESTORE, Permission.REKEY, Permission.VERIFY_AUDIT, Permission.PURGE_RECORDS,
}

MATRIX: dict[Role, frozenset[Permission]] = {
    Role.PRACTITIONER: frozenset(_PRACTITIONER),
    Role.SUPERVISOR: frozenset(_SUPERVISOR),
    Role.ADMIN: frozenset(_ADMIN),
}


class NotAllowed(PermissionError):
    """A role refused. ``doing`` says what was attempted in the person's words, where the
    permission that guards it is named for something else (a supervisor's permission to
    approve referrals also guards where letters go)."""

    def __init__(self, role: Role, permission: Permission, doing: str | None = None):
        self.role = role
        self.permission = permission
        article = "An" if role.value[:1] in "aeiou" else "A"
        super().__init__(f"{article} {role.value} cannot {doing or permission.value}. Ask a colleague whose "
                         "role allows it.")


def allowed(role: Role, permission: Permission) -> bool:
    return permission in MATRIX[role]


def require(role: Role, permission: Permission, doing: str | None = None) -> None:
    if not allowed(role, permission):
        raise NotAllowed(role, permission, doing)
