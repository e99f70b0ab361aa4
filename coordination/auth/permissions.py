"""Who may do what. Views and templates ask the same predicates, so links and checks agree."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required

from coordination.auth.models import Role, User

F = TypeVar("F", bound=Callable[..., Any])


def has_role(user: Any, *roles: Role) -> bool:
    return bool(user and user.is_authenticated and user.role in roles)


def can_manage_users(user: User) -> bool:
    return has_role(user, Role.ADMIN)


def can_invite(user: User) -> bool:
    return has_role(user, Role.ADMIN, Role.MODERATOR)


def invitable_roles(user: User) -> list[Role]:
    """Admins may invite any role; moderators invite members."""
    if has_role(user, Role.ADMIN):
        return [Role.MEMBER, Role.MODERATOR, Role.ADMIN]
    if has_role(user, Role.MODERATOR):
        return [Role.MEMBER]
    return []


def can_edit_organizations(user: User) -> bool:
    return has_role(user, Role.ADMIN, Role.MODERATOR)


def can_view_outbox(user: User) -> bool:
    return has_role(user, Role.ADMIN)


def role_required(*roles: Role) -> Callable[[F], F]:
    """Log in first; then 403 unless the user has one of ``roles``."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not has_role(current_user, *roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


#: Exposed to every template as globals.
TEMPLATE_PREDICATES = {
    "can_manage_users": can_manage_users,
    "can_invite": can_invite,
    "can_edit_organizations": can_edit_organizations,
    "can_view_outbox": can_view_outbox,
}
