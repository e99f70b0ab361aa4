"""Organisation directory: list with filters, detail pages, create and edit."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coordination.auth.models import Role
from coordination.auth.permissions import role_required
from coordination.extensions import db
from coordination.organizations import services
from coordination.organizations.forms import OrganizationForm, kind_labels
from coordination.organizations.models import Organization, OrganizationKind
from coordination.pagination import paginate

bp = Blueprint("organizations", __name__, url_prefix="/organizations")

PER_PAGE = 30


def _get_organization(slug: str) -> Organization:
    organization = db.session.scalar(db.select(Organization).where(Organization.slug == slug))
    if organization is None:
        abort(404)
    return organization


def _form_fields(form: OrganizationForm) -> dict[str, object]:
    return {
        "kind": OrganizationKind(form.kind.data),
        "district": form.district.data or "",
        "website": form.website.data or "",
        "contact_email": form.contact_email.data or "",
        "contact_phone": form.contact_phone.data or "",
        "description": form.description.data or "",
    }


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    """All organisations of the network, filterable by kind and district."""
    kind_value = request.args.get("kind", "")
    kind = OrganizationKind(kind_value) if kind_value in set(OrganizationKind) else None
    districts = services.known_districts()
    district = request.args.get("district", "")
    if district not in districts:
        district = ""
    page = paginate(services.directory_query(kind=kind, district=district or None), PER_PAGE)
    counts = services.member_counts(org.id for org in page.items)
    return render_template(
        "organizations/index.html",
        page=page,
        counts=counts,
        kinds=kind_labels(),
        kind=kind,
        districts=districts,
        district=district,
    )


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.ADMIN, Role.MODERATOR)
def create() -> ResponseReturnValue:
    """Add an organisation to the directory."""
    form = OrganizationForm()
    if form.validate_on_submit():
        try:
            organization = services.create_organization(
                name=form.name.data, actor=current_user, **_form_fields(form)
            )
        except services.NameTaken:
            form.name.errors = [_("An organisation with this name exists already.")]
        else:
            db.session.commit()
            flash(_("Organisation %(name)s added.", name=organization.name), "success")
            return redirect(url_for("organizations.detail", slug=organization.slug), 303)
    return render_template(
        "organizations/form.html",
        form=form,
        organization=None,
        districts=services.known_districts(),
    )


@bp.route("/<slug>")
@login_required
def detail(slug: str) -> ResponseReturnValue:
    """An organisation's details and the network members who belong to it."""
    organization = _get_organization(slug)
    return render_template(
        "organizations/detail.html", organization=organization, kinds=kind_labels()
    )


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@role_required(Role.ADMIN, Role.MODERATOR)
def edit(slug: str) -> ResponseReturnValue:
    """Change an organisation's details."""
    organization = _get_organization(slug)
    form = OrganizationForm(obj=organization if request.method == "GET" else None)
    if request.method == "GET":
        form.kind.data = organization.kind.value
    if form.validate_on_submit():
        try:
            services.update_organization(
                organization, name=form.name.data, actor=current_user, **_form_fields(form)
            )
        except services.NameTaken:
            form.name.errors = [_("An organisation with this name exists already.")]
        else:
            db.session.commit()
            flash(_("Organisation %(name)s saved.", name=organization.name), "success")
            return redirect(url_for("organizations.detail", slug=organization.slug), 303)
    return render_template(
        "organizations/form.html",
        form=form,
        organization=organization,
        districts=services.known_districts(),
    )


@bp.route("/<slug>/confirm", methods=["POST"])
@role_required(Role.ADMIN, Role.MODERATOR)
def confirm(slug: str) -> ResponseReturnValue:
    """Record that the organisation's entry is still correct."""
    organization = _get_organization(slug)
    services.confirm_organization(organization, actor=current_user)
    db.session.commit()
    flash(_("Marked as up to date."), "success")
    return redirect(url_for("organizations.detail", slug=organization.slug), 303)
