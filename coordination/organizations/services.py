"""Organisation directory: queries and changes. Functions flush; callers commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import sqlalchemy as sa

from coordination.audit import services as audit
from coordination.auth.models import User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.organizations.models import Organization, OrganizationKind
from coordination.text import slugify

log = logging.getLogger(__name__)

#: Leipzig's ten city districts (Stadtbezirke), offered as suggestions in the form.
LEIPZIG_DISTRICTS = (
    "Mitte", "Nordost", "Ost", "Südost", "Süd", "Südwest", "West", "Alt-West", "Nordwest", "Nord",
)  # fmt: skip


class NameTaken(Exception):
    pass


def directory_query(kind: OrganizationKind | None = None, district: str | None = None) -> sa.Select:
    """Organisations ordered by name, optionally filtered by kind and district."""
    query = sa.select(Organization).order_by(Organization.name)
    if kind is not None:
        query = query.where(Organization.kind == kind)
    if district:
        query = query.where(Organization.district == district)
    return query


def member_counts(organization_ids: Iterable[int]) -> dict[int, int]:
    """Number of accounts per organisation, for the listed organisations only (one query)."""
    from coordination.organizations.models import organization_member

    ids = list(organization_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(organization_member.c.organization_id, sa.func.count())
        .where(organization_member.c.organization_id.in_(ids))
        .group_by(organization_member.c.organization_id)
    )
    return {org_id: count for org_id, count in rows}


def known_districts() -> list[str]:
    """Districts in use plus Leipzig's, for the filter and the form's suggestions."""
    used = db.session.scalars(
        sa.select(Organization.district).where(Organization.district != "").distinct()
    )
    return sorted(set(used) | set(LEIPZIG_DISTRICTS))


def organization_choices() -> list[tuple[int, str]]:
    return [
        (org_id, name)
        for org_id, name in db.session.execute(
            sa.select(Organization.id, Organization.name).order_by(Organization.name)
        )
    ]


def organizations_by_ids(ids: Iterable[int]) -> list[Organization]:
    wanted = [int(i) for i in ids]
    if not wanted:
        return []
    return list(db.session.scalars(sa.select(Organization).where(Organization.id.in_(wanted))))


def _unique_slug(name: str) -> str:
    base = slugify(name)
    taken = set(
        db.session.scalars(
            sa.select(Organization.slug).where(
                sa.or_(Organization.slug == base, Organization.slug.like(f"{base}-%"))
            )
        )
    )
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _check_name(name: str, exclude_id: int | None = None) -> None:
    query = sa.select(Organization.id).where(sa.func.lower(Organization.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Organization.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise NameTaken(name)


def create_organization(*, name: str, actor: User | None, **fields: object) -> Organization:
    """Create an organisation with a slug derived from its name."""
    name = name.strip()
    _check_name(name)
    organization = Organization(name=name, slug=_unique_slug(name), **fields)
    organization.last_confirmed_at = utcnow()
    db.session.add(organization)
    db.session.flush()
    audit.record(
        "organization.created", actor=actor, object_type="organization", object_id=organization.id
    )
    return organization


def update_organization(
    organization: Organization, *, name: str, actor: User, **fields: object
) -> None:
    """Change an organisation's details; the slug (its address) stays the same."""
    name = name.strip()
    _check_name(name, exclude_id=organization.id)
    organization.name = name
    for key, value in fields.items():
        setattr(organization, key, value)
    organization.last_confirmed_at = utcnow()
    db.session.flush()
    audit.record(
        "organization.updated", actor=actor, object_type="organization", object_id=organization.id
    )


def confirm_organization(organization: Organization, *, actor: User) -> None:
    """Record that the entry was checked and is still correct."""
    organization.last_confirmed_at = utcnow()
    db.session.flush()
    audit.record(
        "organization.confirmed", actor=actor, object_type="organization", object_id=organization.id
    )
