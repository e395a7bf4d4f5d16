"""Roles and what each may do. Where (which units) is the Actor's jurisdiction, not the role's."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    NATIONAL_ADMIN = "national_admin"
    PROVINCE_OFFICER = "province_officer"
    DISTRICT_OFFICER = "district_officer"
    COMMUNE_OFFICER = "commune_officer"
    CHECKPOINT_OFFICER = "checkpoint_officer"
    SAMPLING_STAFF = "sampling_staff"
    LAB_TECHNICIAN = "lab_technician"
    VACCINATION_STAFF = "vaccination_staff"
    VENUE_MANAGER = "venue_manager"
    CITIZEN = "citizen"


class Permission(StrEnum):
    PERSONS_READ = "persons.read"
    PERSONS_WRITE = "persons.write"
    PERSONS_IMPORT = "persons.import"
    PERSONS_MERGE = "persons.merge"
    AUDIT_READ = "audit.read"
    USERS_MANAGE = "users.manage"
    ADMINUNITS_MANAGE = "adminunits.manage"
    EVENTS_ADMIN = "events.admin"
    VENUES_REGISTER = "venues.register"
    VENUES_MANAGE = "venues.manage"  # approve, import, see every venue of the unit
    CHECKINS_RECORD = "checkins.record"
    CHECKINS_READ = "checkins.read"  # who was at a venue: personal data, for tracing
    TESTING_MANAGE = "testing.manage"  # campaigns, sites, teams, labs
    TESTING_SAMPLE = "testing.sample"  # pair tubes with people, ship tubes
    TESTING_LAB = "testing.lab"  # receive shipments, enter and correct results
    TESTING_READ = "testing.read"  # people's results and the unit's positives: health data
    CHECKPOINTS_RECORD = "checkpoints.record"  # log passages through a checkpoint
    # Checkpoints, their stations and officers, entry rules, transfer manifests and decisions.
    CHECKPOINTS_MANAGE = "checkpoints.manage"
    CASES_MANAGE = "cases.manage"  # open cases, add contacts, quarantine, lockdowns, zone levels
    CASES_READ = "cases.read"  # cases, contacts and their exposures: health data


_OFFICER = frozenset(
    {
        Permission.PERSONS_READ,
        Permission.PERSONS_WRITE,
        Permission.PERSONS_IMPORT,
        Permission.PERSONS_MERGE,
        Permission.VENUES_REGISTER,
        Permission.VENUES_MANAGE,
        Permission.CHECKINS_RECORD,
        Permission.CHECKINS_READ,
        Permission.TESTING_MANAGE,
        Permission.TESTING_SAMPLE,
        Permission.TESTING_READ,
        Permission.CHECKPOINTS_RECORD,
        Permission.CHECKPOINTS_MANAGE,
        Permission.CASES_MANAGE,
        Permission.CASES_READ,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.NATIONAL_ADMIN: frozenset(Permission),
    Role.PROVINCE_OFFICER: _OFFICER | {Permission.AUDIT_READ, Permission.USERS_MANAGE},
    Role.DISTRICT_OFFICER: _OFFICER,
    Role.COMMUNE_OFFICER: _OFFICER,
    Role.CHECKPOINT_OFFICER: frozenset({Permission.PERSONS_READ, Permission.CHECKPOINTS_RECORD}),
    Role.SAMPLING_STAFF: frozenset(
        {Permission.PERSONS_READ, Permission.PERSONS_WRITE, Permission.TESTING_SAMPLE}
    ),
    # A lab sees tubes and barcodes, never who is in them.
    Role.LAB_TECHNICIAN: frozenset({Permission.TESTING_LAB}),
    Role.VACCINATION_STAFF: frozenset({Permission.PERSONS_READ, Permission.PERSONS_WRITE}),
    # A manager registers and runs their own venues; visitors' identities stay hidden from them.
    Role.VENUE_MANAGER: frozenset({Permission.VENUES_REGISTER, Permission.CHECKINS_RECORD}),
    # A citizen reads their own record only; that rule lives in the persons service.
    Role.CITIZEN: frozenset(),
}

# Roles whose users see personal data only inside their admin unit, so they must have one.
UNIT_BOUND_ROLES = frozenset(Role) - {Role.NATIONAL_ADMIN, Role.CITIZEN}
