"""Writes to organizations, departments and memberships."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone as django_timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from audit.record import created, diff, record, snapshot
from core.errors import (
    CONTROL,
    NAME_REQUIRED,
    ONE_LINE,
    Conflict,
    Errors,
    check_same_organization,
    check_text,
    check_unique_name,
    one_of,
    too_long,
)

from .changes import ChangeAction, ChangeKind, note_change
from .models import Department, Member, Notification, Organization, Role, validate_timezone
from .permissions import MANAGE_DEPARTMENTS, MANAGE_ORGANIZATION, MANAGE_PEOPLE, is_admin
from .sessions import sessions_end_others
from .tokens import tokens_revoke_personal


@transaction.atomic
def organization_create(
    *,
    name: str,
    admin_username: str,
    admin_email: str = "",
    admin_password: str,
    timezone: str = "UTC",
) -> Member:
    """A new organization with its first admin (used by `createorg`)."""
    errors = Errors()
    check_text(errors, "name", name, required=NAME_REQUIRED, max_length=200)
    if "name" not in errors.messages and Organization.objects.filter(name=name).exists():
        errors.add("name", f"An organization named “{name}” exists already.")
    try:
        validate_timezone(timezone)
    except ValidationError as exc:
        errors.add("timezone", exc.messages[0])
    User = get_user_model()
    if User.objects.filter(username=admin_username).exists():
        errors.add("admin", f"The username “{admin_username}” is taken.")
    if not admin_password:
        errors.add("password", "A password is required.")
    else:
        _check_password(errors, admin_password, User(username=admin_username, email=admin_email))
    errors.raise_if_any()
    organization = Organization.objects.create(name=name, timezone=timezone)
    user = User.objects.create_user(admin_username, email=admin_email, password=admin_password)
    admin = Member.objects.create(organization=organization, user=user, role=Role.ADMIN)
    _feed(ChangeKind.MEMBER, ChangeAction.CREATED, admin)
    return admin


NOT_YOURS = "Not your organization."


@transaction.atomic
def department_create(
    *,
    actor: Member,
    name: str,
    parent: Department | None = None,
    head: Member | None = None,
    external_id: str = "",
) -> Department:
    MANAGE_DEPARTMENTS.require(actor)
    department = Department(
        organization_id=actor.organization_id,
        name=name,
        parent=parent,
        head=head,
        external_id=external_id,
    )
    _validate_department(department)
    department.save()
    record(actor, "department.created", department, changes=created(department, DEPARTMENT_FIELDS))
    _feed(ChangeKind.DEPARTMENT, ChangeAction.CREATED, department)
    return department


DEPARTMENT_FIELDS = ("name", "parent", "head", "external_id")


@transaction.atomic
def department_update(*, actor: Member, department: Department, **changes) -> Department:
    if department.organization_id != actor.organization_id:
        raise PermissionDenied(NOT_YOURS)
    MANAGE_DEPARTMENTS.require(actor)
    original = snapshot(department, DEPARTMENT_FIELDS)
    for field, value in changes.items():
        if field not in DEPARTMENT_FIELDS:
            raise TypeError(f"department_update() got an unknown field: {field}")
        setattr(department, field, value)
    _validate_department(department)
    department.save()
    _feed(ChangeKind.DEPARTMENT, ChangeAction.UPDATED, department)
    if changed := diff(original, snapshot(department, DEPARTMENT_FIELDS)):
        record(actor, "department.updated", department, changes=changed)
    return department


def _feed(kind: str, action: str, obj: Member | Department) -> None:
    """Tell the changes feed (org/changes.py) of a member or department written."""
    note_change(obj.organization_id, kind, action, (obj.pk, obj.external_id))


def _validate_department(department: Department) -> None:
    errors = Errors()
    check_same_organization(
        errors, department.organization_id, parent=department.parent, head=department.head
    )
    errors.raise_if_any()
    check_unique_name(errors, department, "department")
    _check_external_id(errors, department, "department")
    ancestor, seen = department.parent, set()
    while ancestor is not None and ancestor.pk not in seen:
        if department.pk and ancestor.pk == department.pk:
            errors.add("parent", "A department can't be placed below itself.")
            break
        seen.add(ancestor.pk)
        ancestor = ancestor.parent
    errors.raise_if_any()


EXTERNAL_ID_TAKEN = "Another {noun} of the organization already has this external id."


def _check_external_id(errors: Errors, obj: Member | Department, noun: str) -> None:
    """An identity provider's id: one line, at most 200 characters, and no other
    member (or department) of the organization holds it."""
    external_id = obj.external_id or ""
    _check_line(errors, "external_id", external_id, 200)
    if (
        external_id
        and "external_id" not in errors.messages
        and type(obj)
        .objects.filter(organization_id=obj.organization_id, external_id=external_id)
        .exclude(pk=obj.pk)
        .exists()
    ):
        errors.add("external_id", EXTERNAL_ID_TAKEN.format(noun=noun))


@transaction.atomic
def department_delete(*, actor: Member, department: Department) -> None:
    """Remove a department that holds no history: refused (Conflict) while
    departments sit below it or goals or reviews belong to it. Its people are left
    without a department, as when it is cleared on each of them."""
    if department.organization_id != actor.organization_id:
        raise PermissionDenied(NOT_YOURS)
    MANAGE_DEPARTMENTS.require(actor)
    held = [
        noun
        for noun, related in (
            ("departments below it", "children"),
            ("goals", "goals"),
            ("reviews", "reviews"),
        )
        if getattr(department, related).exists()
    ]
    if held:
        raise Conflict(
            f"“{department.name}” has {' and '.join(held)}: move them first, or keep it."
        )
    people = department.members.count()
    record(
        actor,
        "department.deleted",
        department,
        changes={"name": [department.name, None], "members": [people, 0]},
    )
    _feed(ChangeKind.DEPARTMENT, ChangeAction.DELETED, department)
    department.delete()


@transaction.atomic
def member_create(
    *,
    actor: Member,
    username: str,
    email: str = "",
    password: str | None = None,
    role: str = Role.MEMBER,
    department: Department | None = None,
    manager: Member | None = None,
    first_name: str = "",
    last_name: str = "",
    external_id: str = "",
) -> Member:
    """Add a person: a new user account with its membership of the actor's organization."""
    MANAGE_PEOPLE.require(actor)
    User = get_user_model()
    errors = Errors()
    # The form Django stores it in ("ﬁ" becomes "fi"): check that one, not the raw text.
    username = User.normalize_username((username or "").strip())
    if not username:
        errors.add("username", "A username is required.")
    else:
        try:
            UnicodeUsernameValidator()(username)
        except ValidationError as exc:
            errors.add("username", exc.messages[0])
        if User.objects.filter(username__iexact=username).exists():
            errors.add("username", "This username is taken.")
    _check_member_fields(
        errors, actor.organization_id, role=role, department=department, manager=manager
    )
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.add("email", "Enter a valid email address.")
    _check_names(errors, first_name=first_name, last_name=last_name)
    _check_external_id(
        errors, Member(organization_id=actor.organization_id, external_id=external_id), "member"
    )
    _check_password(errors, password, User(username=username, email=email or ""))
    errors.raise_if_any()
    user = User.objects.create_user(
        username,
        email=email or "",
        password=password,
        first_name=first_name or "",
        last_name=last_name or "",
    )
    if password is None:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    member = Member.objects.create(
        organization_id=actor.organization_id,
        user=user,
        role=role,
        department=department,
        manager=manager,
        external_id=external_id or "",
    )
    account = {"username": [None, username], "email": [None, user.email or None]}
    record(actor, "member.created", member, changes=account | created(member, MEMBER_FIELDS))
    _feed(ChangeKind.MEMBER, ChangeAction.CREATED, member)
    return member


@transaction.atomic
def member_update(*, actor: Member, member: Member, **changes) -> Member:
    """Change a person's role, department, manager, or deactivate them (history stays)."""
    if member.organization_id != actor.organization_id:
        raise PermissionDenied(NOT_YOURS)
    MANAGE_PEOPLE.require(actor)
    unknown = set(changes) - set(MEMBER_FIELDS)
    if unknown:
        raise TypeError(f"member_update() got unknown fields: {', '.join(sorted(unknown))}")
    original = {field: getattr(member, field) for field in MEMBER_FIELDS}
    was_admin = is_admin(member)
    for field, value in changes.items():
        setattr(member, field, value)
    errors = Errors()
    _check_member_fields(
        errors,
        member.organization_id,
        role=member.role,
        department=member.department,
        manager=member.manager,
    )
    if member.manager_id is not None and member.manager_id == member.pk:
        errors.add("manager", "A person can't be their own manager.")
    _check_external_id(errors, member, "member")
    if was_admin and not is_admin(member) and not _other_admins(member):
        field = "is_active" if member.is_active != original["is_active"] else "role"
        errors.add(
            field,
            "The organization needs an admin: make someone else admin first, then change this.",
        )
    if errors.messages:
        for field, value in original.items():
            setattr(member, field, value)
        errors.raise_if_any()
    member.save()
    _feed(ChangeKind.MEMBER, ChangeAction.UPDATED, member)
    if changed := diff(original, snapshot(member, MEMBER_FIELDS)):
        record(actor, "member.updated", member, changes=changed)
    if original["is_active"] and not member.is_active:
        tokens_revoke_personal(member.user)
    if changes.get("role", original["role"]) != original["role"]:
        # They sign in again under the new role.
        member.sessions_ended_at = sessions_end_others(member.user)
    return member


MEMBER_FIELDS = ("role", "department", "manager", "is_active", "external_id")
ACCOUNT_FIELDS = ("username", "email", "first_name", "last_name")


def _check_line(errors: Errors, field: str, text: str, max_length: int) -> None:
    """An optional one-line text that fits its column."""
    if len(text) > max_length:
        errors.add(field, too_long(max_length))
    elif CONTROL.search(text):
        errors.add(field, ONE_LINE)


def _check_names(errors: Errors, **names: str) -> None:
    for field, value in names.items():
        _check_line(errors, field, value or "", 150)


@transaction.atomic
def member_account_update(*, actor: Member, member: Member, **changes: str) -> Member:
    """Change a person's username, email or name (an identity provider renames them).
    Their account is theirs alone: one that is also a member of another organization
    is refused, so no organization ever renames another's person."""
    if member.organization_id != actor.organization_id:
        raise PermissionDenied(NOT_YOURS)
    MANAGE_PEOPLE.require(actor)
    unknown = set(changes) - set(ACCOUNT_FIELDS)
    if unknown:
        raise TypeError(f"member_account_update() got unknown fields: {', '.join(sorted(unknown))}")
    user = member.user
    original = {field: getattr(user, field) for field in ACCOUNT_FIELDS}
    changes = {f: (v or "").strip() for f, v in changes.items() if (v or "").strip() != original[f]}
    if not changes:
        return member
    User = get_user_model()
    errors = Errors()
    if Member.objects.filter(user=user).exclude(organization_id=member.organization_id).exists():
        raise Conflict(
            "This person's account belongs to another organization too: change it there "
            "together, or give them an account of their own."
        )
    if "username" in changes:
        username = changes["username"] = User.normalize_username(changes["username"])
        if not username:
            errors.add("username", "A username is required.")
        else:
            try:
                UnicodeUsernameValidator()(username)
            except ValidationError as exc:
                errors.add("username", exc.messages[0])
            if len(username) > 150:
                errors.add("username", too_long(150))
            if User.objects.filter(username__iexact=username).exclude(pk=user.pk).exists():
                errors.add("username", "This username is taken.")
    if changes.get("email"):
        try:
            validate_email(changes["email"])
        except ValidationError:
            errors.add("email", "Enter a valid email address.")
    _check_names(errors, **{f: v for f, v in changes.items() if f in ("first_name", "last_name")})
    errors.raise_if_any()
    for field, value in changes.items():
        setattr(user, field, value)
    user.save(update_fields=list(changes))
    # The member's payload shows the account: it changed (`?updated_since=`, the feed).
    member.updated_at = django_timezone.now()
    Member.objects.filter(pk=member.pk).update(updated_at=member.updated_at)
    _feed(ChangeKind.MEMBER, ChangeAction.UPDATED, member)
    record(
        actor,
        "member.updated",
        member,
        changes={field: [original[field], value] for field, value in changes.items()},
    )
    return member


def _check_password(errors: Errors, password: str | None, user) -> None:
    """The rules of the password forms (AUTH_PASSWORD_VALIDATORS), for every door."""
    if password is None:
        return
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        for message in exc.messages:
            errors.add("password", message)


def _other_admins(member: Member) -> bool:
    """Whether another active admin remains; their rows stay locked until the change
    commits, so two admins demoting each other at once can't both succeed."""
    admins = Member.objects.select_for_update().filter(
        organization_id=member.organization_id, role=Role.ADMIN, is_active=True
    )
    return any(pk != member.pk for pk in admins.values_list("pk", flat=True))


def _check_member_fields(
    errors: Errors, organization_id: int, *, role, department, manager
) -> None:
    if role not in Role.values:
        errors.add("role", one_of(Role.values))
    check_same_organization(errors, organization_id, department=department, manager=manager)


@transaction.atomic
def member_invite(
    *,
    actor: Member,
    email: str,
    role: str = Role.MEMBER,
    department: Department | None = None,
    manager: Member | None = None,
    username: str = "",
) -> Member:
    """Add a person by email: an account without a password and an email with a link
    to set one (sent once the transaction commits)."""
    MANAGE_PEOPLE.require(actor)
    errors = Errors()
    try:
        validate_email(email)
    except ValidationError:
        errors.add("email", "Enter a valid email address.")
    User = get_user_model()
    if (
        email
        and User.objects.filter(
            email__iexact=email, memberships__organization_id=actor.organization_id
        ).exists()
    ):
        errors.add("email", "Someone in your organization already has this email.")
    errors.raise_if_any()
    username = (username or email.split("@")[0]).strip()
    base, n = username, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}{n}"
    member = member_create(
        actor=actor,
        username=username,
        email=email,
        password=None,
        role=role,
        department=department,
        manager=manager,
    )
    transaction.on_commit(lambda: send_password_link(member.user, invited_by=actor), robust=True)
    return member


def send_password_link(user, *, invited_by: Member | None = None) -> None:
    """Email a one-time link to set a password (an invitation, or a reset)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = settings.SITE_URL + reverse("password_reset_confirm", args=[uid, token])
    context = {"user": user, "link": link, "invited_by": invited_by}
    send_mail(
        subject="You're invited to Cascade" if invited_by else "Set your Cascade password",
        message=render_to_string("org/email/password_link.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )


def notification_mark_read(*, actor: Member, notification) -> None:
    """Mark one of the actor's own notifications read (someone else's is not found)."""
    if notification.member_id != actor.pk:
        raise Http404("No such notification.")
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
        read_at=django_timezone.now()
    )
    notification.refresh_from_db(fields=["read_at"])


def notifications_mark_all_read(*, actor: Member) -> int:
    return Notification.objects.filter(member=actor, read_at__isnull=True).update(
        read_at=django_timezone.now()
    )


def member_set_reminder_emails(*, actor: Member, enabled: bool) -> Member:
    """Each person decides for themselves whether reminders also come by email."""
    actor.reminder_emails = bool(enabled)
    actor.save(update_fields=["reminder_emails"])
    return actor


def _zone_or_error(timezone: str) -> str:
    """A time zone as given, stripped ("" stays ""), or a ValidationError on `timezone`."""
    zone = (timezone or "").strip()
    if zone:
        try:
            validate_timezone(zone)
        except ValidationError as exc:
            raise ValidationError({"timezone": exc.messages}) from None
    return zone


def member_set_email_preferences(
    *, actor: Member, reminder_emails: bool, digest_emails: bool, timezone: str
) -> Member:
    """Each person decides which emails they get — reminders, the weekly digest — and
    the time zone their digest, calendar and email times are in ("": the
    organization's). A time zone that is none is refused and nothing changes."""
    zone = _zone_or_error(timezone)
    actor.reminder_emails = bool(reminder_emails)
    actor.digest_emails = bool(digest_emails)
    actor.timezone = zone
    actor.save(update_fields=["reminder_emails", "digest_emails", "timezone"])
    return actor


@transaction.atomic
def organization_update(*, actor: Member, timezone: str) -> Organization:
    """Set the organization's time zone (admins: MANAGE_ORGANIZATION): its today for
    health and periods, and the times of everyone who has no zone of their own (the
    weekly digest's Monday morning among them). Audited."""
    MANAGE_ORGANIZATION.require(actor)
    organization = Organization.objects.select_for_update().get(pk=actor.organization_id)
    zone = _zone_or_error(timezone)
    if not zone:
        raise ValidationError({"timezone": ["Choose a time zone, e.g. Europe/Berlin or UTC."]})
    old = organization.timezone
    if zone != old:
        organization.timezone = zone
        organization.save(update_fields=["timezone"])
        record(actor, "organization.updated", organization, changes={"timezone": [old, zone]})
    actor.organization = organization
    return organization
