"""The People page (admins) and each person's notifications."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.forms import save_form

from .calendar_feeds import (
    calendar_feed_create,
    calendar_feed_of,
    calendar_feed_reset,
    calendar_feed_turn_off,
    feed_address,
)
from .chat_views import chat_card
from .decorators import member_required
from .forms import (
    EmailPreferencesForm,
    InviteForm,
    MemberEditForm,
    OrganizationForm,
    ServiceTokenForm,
    WebhookForm,
    time_zone_names,
)
from .models import ApiToken, Member, Notification, Webhook, WebhookDelivery
from .people_import_views import import_offer
from .permissions import MANAGE_ORGANIZATION, MANAGE_PEOPLE, MANAGE_TOKENS, MANAGE_WEBHOOKS
from .services import (
    member_invite,
    member_set_email_preferences,
    member_update,
    notification_mark_read,
    notifications_mark_all_read,
    organization_update,
)
from .tokens import service_token_create, service_token_revoke, service_tokens, stopped_because
from .webhooks import (
    webhook_create,
    webhook_delete,
    webhook_ping,
    webhook_redeliver,
    webhooks_of,
)


def _edit_form(person: Member, organization) -> MemberEditForm:
    """The in-place form of one row of the People page, showing what is stored."""
    return MemberEditForm(
        organization=organization,
        prefix=f"m{person.pk}",
        initial={
            "role": person.role,
            "department": person.department_id,
            "manager": person.manager_id,
            "is_active": person.is_active,
        },
    )


@member_required
def people(request):
    member = request.member
    MANAGE_PEOPLE.require(member)
    form = InviteForm(request.POST or None, organization=member.organization)
    invited = save_form(form, lambda data: member_invite(actor=member, **data))
    if invited is not None:
        form = InviteForm(organization=member.organization)
    return _people_page(request, form=form, invited=invited)


@require_POST
@member_required
def service_token_new(request):
    """Make a service token; the page shows its key this once."""
    member = request.member
    MANAGE_TOKENS.require(member)
    token_form = ServiceTokenForm(request.POST, prefix="token", organization=member.organization)
    made = save_form(token_form, lambda data: service_token_create(actor=member, **data))
    if made is None:
        return _people_page(request, token_form=token_form)
    token, key = made
    return _people_page(request, new_token=token, new_key=key)


@require_POST
@member_required
def service_token_revoke_view(request, token_id: int):
    member = request.member
    MANAGE_TOKENS.require(member)
    token = get_object_or_404(ApiToken, pk=token_id, organization=member.organization)
    service_token_revoke(actor=member, token=token)
    messages.success(request, f"The token “{token.name}” is revoked: it no longer works.")
    return redirect(reverse("people") + "#tokens-h")


@require_POST
@member_required
def webhook_new(request):
    """Add a webhook; the page shows its secret this once."""
    member = request.member
    MANAGE_WEBHOOKS.require(member)
    hook_form = WebhookForm(request.POST, prefix="hook")
    hook = save_form(hook_form, lambda data: webhook_create(actor=member, **data))
    if hook is None:
        return _people_page(request, hook_form=hook_form)
    return _people_page(request, new_hook=hook)


@require_POST
@member_required
def webhook_delete_view(request, webhook_id: int):
    member = request.member
    MANAGE_WEBHOOKS.require(member)
    hook = get_object_or_404(Webhook, pk=webhook_id, organization=member.organization)
    webhook_delete(actor=member, webhook=hook)
    messages.success(request, f"The webhook to {hook.url} is removed: nothing more is sent.")
    return redirect(reverse("people") + "#webhooks-h")


@require_POST
@member_required
def webhook_ping_view(request, webhook_id: int):
    """Send the webhook a test delivery (`ping`); the log below it shows how it went."""
    member = request.member
    MANAGE_WEBHOOKS.require(member)
    hook = get_object_or_404(Webhook, pk=webhook_id, organization=member.organization)
    webhook_ping(actor=member, webhook=hook)
    messages.success(request, f"A test delivery is on its way to {hook.url}.")
    return redirect(reverse("people") + "#webhooks-h")


@require_POST
@member_required
def webhook_redeliver_view(request, webhook_id: int, delivery_id: int):
    """Send a delivery's payload again, as a new delivery."""
    member = request.member
    MANAGE_WEBHOOKS.require(member)
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("webhook"),
        pk=delivery_id,
        webhook_id=webhook_id,
        webhook__organization=member.organization,
    )
    again = webhook_redeliver(actor=member, delivery=delivery)
    url = delivery.webhook.url
    messages.success(
        request, f"The {delivery.event} event is sent again to {url}: delivery {again.pk}."
    )
    return redirect(reverse("people") + "#webhooks-h")


@require_POST
@member_required
def organization_settings(request):
    """The People page's Organization card (admins): the organization's time zone. In
    place with htmx; a refused one shows its message, nothing changed."""
    member = request.member
    MANAGE_ORGANIZATION.require(member)
    form = OrganizationForm(request.POST)
    saved = save_form(form, lambda data: organization_update(actor=member, **data))
    if request.htmx:
        context = {
            **_organization_card(member, form),
            "organization_saved": saved is not None,
            "request": request,
        }
        return render(
            request,
            "org/people.html#organization-card",
            context,
            status=200 if saved else 400,
        )
    if saved is None:
        return _people_page(request, organization_form=form)
    messages.success(request, f"The organization's time zone is now {saved.timezone}.")
    return redirect(reverse("people") + "#organization-h")


def _organization_card(member: Member, form: OrganizationForm | None = None) -> dict:
    """What the Organization card shows: what is stored, or what was sent when refused."""
    shown = member.organization.timezone
    if form is not None and form.errors:
        shown = form.data.get("timezone", "")
    return {
        "organization_form": form,
        "organization_zone_shown": shown,
        "time_zones": time_zone_names(),
    }


def _people_page(request, *, form=None, token_form=None, hook_form=None, invited=None, **extra):
    """The People page: invite someone, everyone's role, and the service tokens."""
    organization = request.member.organization
    form = form or InviteForm(organization=organization)
    token_form = token_form or ServiceTokenForm(prefix="token", organization=organization)
    hook_form = hook_form or WebhookForm(prefix="hook")
    members = list(
        Member.objects.filter(organization=organization)
        .select_related("user", "department", "manager__user")
        .order_by("user__username")
    )
    shared_choices: dict[str, list] = {}  # one query per select, not one per person
    for each in members:
        each.form = _edit_form(each, organization)
        for name in ("department", "manager"):
            select = each.form.fields[name]
            if name not in shared_choices:
                shared_choices[name] = list(select.choices)
            select.choices = shared_choices[name]
    tokens = list(service_tokens(organization.pk))
    for token in tokens:
        token.stopped = stopped_because(token)
    context = {
        "nav": "people",
        "form": form,
        "token_form": token_form,
        "members": members,
        "invited": invited,
        "tokens": tokens,
        "hook_form": hook_form,
        "hooks": webhooks_of(organization.pk),
        "chat": chat_card(request.member),
        **_organization_card(request.member, extra.pop("organization_form", None)),
        **import_offer(),
        **extra,
    }
    status = 400 if form.errors or token_form.errors or hook_form.errors else 200
    if context["organization_form"] is not None and context["organization_form"].errors:
        status = 400
    return render(request, "org/people.html", context, status=status)


@require_POST
@member_required
def person_edit(request, member_id: int):
    actor = request.member
    MANAGE_PEOPLE.require(actor)
    person = get_object_or_404(Member, pk=member_id, organization=actor.organization)
    form = MemberEditForm(request.POST, organization=actor.organization, prefix=f"m{person.pk}")
    save_form(form, lambda data: member_update(actor=actor, member=person, **data))
    if form.errors:
        person.form = form
        return render(
            request,
            "org/people.html#person-row",
            {"person": person, "request": request},
            status=400,
        )
    if request.htmx:
        person.refresh_from_db()
        person.form = _edit_form(person, actor.organization)
        return render(
            request,
            "org/people.html#person-row",
            {"person": person, "saved": True, "request": request},
        )
    return redirect("people")


@member_required
def notifications(request):
    member = request.member
    items = list(member.notifications.all()[:100])
    return render(
        request,
        "org/notifications.html",
        {"nav": "notifications", "items": items, **_calendar(member), **_email_card(member)},
    )


@require_POST
@member_required
def notification_read(request, notification_id: int):
    notification = get_object_or_404(Notification, pk=notification_id, member=request.member)
    notification_mark_read(actor=request.member, notification=notification)
    if request.htmx:
        return render(
            request, "org/notifications.html#item", {"item": notification, "request": request}
        )
    return redirect(notification.link or "notifications")


@require_POST
@member_required
def notifications_read_all(request):
    notifications_mark_all_read(actor=request.member)
    return redirect("notifications")


# -- The Notifications page's Email card: reminders, the weekly digest, the time zone


def _email_card(member: Member, form: EmailPreferencesForm | None = None) -> dict:
    """What the Email card shows: what is stored, or what was sent when it was refused."""
    shown = {
        "reminder_emails": member.reminder_emails,
        "digest_emails": member.digest_emails,
        "timezone": member.timezone,
    }
    if form is not None and form.errors:
        shown = {
            "reminder_emails": form.data.get("reminder_emails") == "on",
            "digest_emails": form.data.get("digest_emails") == "on",
            "timezone": form.data.get("timezone", ""),
        }
    return {
        "email_form": form,
        "email_shown": shown,
        "time_zones": time_zone_names(),
        "organization_zone": member.organization.timezone,
    }


@require_POST
@member_required
def reminder_preferences(request):
    """Save the Email card: in place with htmx, else back to the page (a refused time
    zone: the page again, with its message, nothing changed)."""
    member = request.member
    form = EmailPreferencesForm(request.POST)
    saved = save_form(form, lambda data: member_set_email_preferences(actor=member, **data))
    status = 200 if saved else 400
    if request.htmx:
        context = {**_email_card(member, form), "email_saved": bool(saved), "request": request}
        return render(request, "org/notifications.html#email-card", context, status=status)
    if saved is None:
        items = list(member.notifications.all()[:100])
        context = {
            "nav": "notifications",
            "items": items,
            **_calendar(member),
            **_email_card(member, form),
        }
        return render(request, "org/notifications.html", context, status=400)
    messages.success(request, "Your email settings are saved.")
    return redirect(reverse("notifications") + "#prefs-h")


# -- The Notifications page's Calendar card: a private address of the person's calendar


def _calendar(member: Member) -> dict:
    feed = calendar_feed_of(member)
    return {"calendar": feed, "calendar_address": feed_address(feed) if feed else None}


def _calendar_answer(request, said: str):
    """The card again, in place (htmx), or the page with `said` on top."""
    if request.htmx:
        context = {**_calendar(request.member), "calendar_said": said, "request": request}
        return render(request, "org/notifications.html#calendar-card", context)
    messages.success(request, said)
    return redirect(reverse("notifications") + "#calendar-h")


@require_POST
@member_required
def calendar_feed_new(request):
    calendar_feed_create(actor=request.member)
    return _calendar_answer(
        request, "Your calendar address is ready: subscribe to it in your calendar app."
    )


@require_POST
@member_required
def calendar_feed_reset_view(request):
    calendar_feed_reset(actor=request.member)
    return _calendar_answer(
        request,
        "Your calendar has a new address; the old one no longer works. "
        "Subscribe to the new one in your calendar app.",
    )


@require_POST
@member_required
def calendar_feed_off(request):
    calendar_feed_turn_off(actor=request.member)
    return _calendar_answer(request, "Your calendar address is turned off: it no longer works.")
