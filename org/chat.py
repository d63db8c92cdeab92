"""Chat (SPEC §9.6): news posted to Slack- and Microsoft Teams-compatible incoming
webhooks — check-ins due (one message per department), health changes of strategic
and department goals, completed review summaries.

A *target* is one incoming-webhook address of one platform, hearing the events it
names, of the whole organization or of one department and the departments below it.
Admins manage every target; a manager those of their own departments
(org/permissions.py: MANAGE_CHAT). Whoever has the address may post to the channel, so
it is a secret: stored encrypted, never shown whole (`url_hint`), never in the audit
log. It must be an https:// address that core/egress.py allows, checked when saved and
at every attempt.

The apps that have news (kpis/reminders.py, goals/rollup.py, reviews/services.py) hand
`tell()` neutral `News` items; each becomes one `ChatMessage` per target that hears it,
its body rendered now in the target's own format (`slack_message`: Block Kit;
`teams_message`: an Adaptive Card in the incoming-webhook envelope), written in the
write's own transaction (the outbox) and sent after it commits by the loop webhooks
share (org/deliveries.py), swept every minute.

Text people typed (titles, names, notes) is escaped for each platform's markup: in
Slack's mrkdwn `&`, `<` and `>` (so no `<!channel>` or `<http://…|link>` gets through),
in Teams' markdown the characters that would format or link.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.urls import reverse

from audit.record import created, deleted, diff, record, snapshot
from core import egress
from core.errors import NOT_FOUND, Errors, check_text, fit, one_of
from core.tasks import enqueue_on_commit

from .deliveries import Request, attempt, resend_due
from .models import ChatEvent, ChatMessage, ChatPlatform, ChatTarget, Department, Member
from .permissions import MANAGE_CHAT, chat_departments
from .webhooks import listeners, read_once

# What the audit log keeps of a target; of its address only that it changed.
AUDITED = ("platform", "name", "department", "events", "is_active")
TEST = "test"  # a target's test message (chat_target_test), whatever it hears
MAX_NAME = 100
HTTPS_ONLY = "Give the https:// address the chat service made for the channel."
MAX_ITEMS = 25  # of one list in a message; more are "…and N more"
RECENT = 5  # messages shown with each target
# As the Chat card names them.
PLATFORM_NAMES = {ChatPlatform.SLACK: "Slack", ChatPlatform.TEAMS: "Microsoft Teams"}
EVENT_NAMES = {
    ChatEvent.CHECKIN_DUE: "check-ins due",
    ChatEvent.HEALTH_CHANGED: "health changes",
    ChatEvent.REVIEW_COMPLETED: "review summaries",
    TEST: "test",
}


# -- news ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Listing:
    """A titled list (people due, wins, action items); `more`: how many were left out."""

    heading: str
    items: tuple[str, ...]
    more: int = 0


@dataclass(frozen=True)
class News:
    """One piece of news, whatever the platform: a title, lines of text, facts (label:
    value), lists, and a link to where it is in Cascade. `department_id` says whose news
    it is: the targets of that department and of the departments above it hear it, and
    those of the whole organization (None: only those)."""

    title: str
    department_id: int | None = None
    lines: tuple[str, ...] = ()
    facts: tuple[Fact, ...] = ()
    lists: tuple[Listing, ...] = ()
    link: str = ""
    link_label: str = "Open in Cascade"
    footer: str = "Cascade"


def listing(heading: str, items: Iterable[str], limit: int = MAX_ITEMS) -> Listing:
    """A list of at most `limit` items, counting those left out."""
    items = list(items)
    return Listing(heading, tuple(items[:limit]), max(len(items) - limit, 0))


# -- Slack: Block Kit (api.slack.com/reference/block-kit) ----------------------------------

SLACK_SECTION = 3000  # characters of a section's text
SLACK_HEADER = 150
SLACK_FIELDS = 10
SLACK_FIELD = 2000
SLACK_BUTTON = 75


def slack_escape(text: str) -> str:
    """Text as Slack's mrkdwn shows it literally: its three control characters as the
    entities Slack documents, so no `<!channel>`, `<@U123>` or `<url|label>` is made."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _within(lines: Iterable[str], limit: int) -> str:
    """Lines joined, as many as fit in `limit` characters (each line cut to fit), the
    rest counted in a last "…and N more" line."""
    lines = list(lines)
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        rest = len(lines) - index
        tail = 0 if rest == 1 else len(f"…and {rest} more") + 1
        line = line if len(line) <= limit - tail else line[: max(limit - tail - 1, 0)] + "…"
        if size + len(line) + 1 > limit - tail:
            kept.append(f"…and {rest} more")
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": fit(text, limit) or " ", "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: no channel names or addresses in our text turned into links either
    return {"type": "mrkdwn", "text": text or " ", "verbatim": True}


def slack_message(news: News) -> dict[str, Any]:
    """The body of a Slack incoming webhook: `text` (the notification's and the
    fallback's) and Block Kit `blocks` — a header, the lines, the facts as fields, each
    list, our small print, and a button to Cascade."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(news.title, SLACK_HEADER)}]
    if news.lines:
        text = _within((slack_escape(fit(line, 500)) for line in news.lines), SLACK_SECTION)
        blocks.append({"type": "section", "text": _mrkdwn(text)})
    if news.facts:
        fields = [
            _mrkdwn(
                f"*{slack_escape(fit(fact.label, 100))}*\n"
                f"{slack_escape(fit(fact.value, SLACK_FIELD // 6))}"
            )
            for fact in news.facts[:SLACK_FIELDS]
        ]
        blocks.append({"type": "section", "fields": fields})
    for each in news.lists:
        items = [f"• {slack_escape(fit(item, 300))}" for item in each.items]
        if each.more:
            items.append(f"…and {each.more} more")
        heading = f"*{slack_escape(fit(each.heading, 100))}*"
        text = _within([heading, *items], SLACK_SECTION)
        blocks.append({"type": "section", "text": _mrkdwn(text)})
    blocks.append({"type": "context", "elements": [_mrkdwn(slack_escape(fit(news.footer, 300)))]})
    if news.link:
        button = {
            "type": "button",
            "action_id": "open-in-cascade",
            "text": _plain(news.link_label, SLACK_BUTTON),
            "url": news.link,
        }
        blocks.append({"type": "actions", "elements": [button]})
    summary = fit(news.title, 300)
    if news.lines:
        summary += f" · {fit(news.lines[0], 300)}"
    return {"text": slack_escape(summary), "blocks": blocks}


# -- Microsoft Teams: an Adaptive Card 1.4 in the incoming-webhook envelope ----------------

TEAMS_MARKUP = re.compile(r"([\\`*_~\[\]<>])")
TEAMS_LINE_START = re.compile(r"^(\s*)([-+#>]|\d+\.)", re.MULTILINE)


def teams_escape(text: str) -> str:
    """Text as Teams' card markdown shows it literally: the characters that make bold,
    italics, code, links or HTML-like tags, and a line start that would make a list or
    a heading, each escaped with a backslash."""
    escaped = TEAMS_MARKUP.sub(r"\\\1", text)
    return TEAMS_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped)


def _text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text or " ", "wrap": True, **style}


def teams_message(news: News) -> dict[str, Any]:
    """The body of a Teams incoming webhook (or a Workflows "when a webhook request is
    received" flow): a message whose one attachment is an Adaptive Card 1.4 — the
    title, the lines, the facts as a FactSet, each list, our small print, and an
    Action.OpenUrl to Cascade."""
    body: list[dict[str, Any]] = [
        _text_block(teams_escape(fit(news.title, 300)), size="Large", weight="Bolder")
    ]
    body += [_text_block(teams_escape(fit(line, 500))) for line in news.lines]
    if news.facts:
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {
                        "title": teams_escape(fit(fact.label, 100)),
                        "value": teams_escape(fit(fact.value, 500)),
                    }
                    for fact in news.facts
                ],
            }
        )
    for each in news.lists:
        items = [f"- {teams_escape(fit(item, 300))}" for item in each.items]
        if each.more:
            items.append(f"- …and {each.more} more")
        body.append(
            _text_block(teams_escape(fit(each.heading, 100)), weight="Bolder", spacing="Medium")
        )
        body.append(_text_block("\n".join(items), spacing="Small"))
    body.append(_text_block(teams_escape(fit(news.footer, 300)), isSubtle=True, size="Small"))
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if news.link:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": fit(news.link_label, 100), "url": news.link}
        ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


RENDER = {ChatPlatform.SLACK: slack_message, ChatPlatform.TEAMS: teams_message}


def render(platform: str, news: News) -> dict[str, Any]:
    return RENDER[ChatPlatform(platform)](news)


# -- telling the targets -------------------------------------------------------------------


def _targets(organization_id: int, event: str) -> list[ChatTarget]:
    """The active targets that hear `event`: read with the webhooks, once per write
    (org/webhooks.py `listeners`)."""
    return [target for target in listeners(organization_id).chat_targets if event in target.events]


def hears(organization_id: int, event: str) -> bool:
    """Whether any active target of the organization hears `event` (a caller checks
    before it reads what the news needs)."""
    return bool(_targets(organization_id, event))


def _parents(organization_id: int) -> dict[int, int | None]:
    """The department tree (id → parent id), read once per write, and only for news of
    a department when some target belongs to one."""
    return read_once(
        "departments",
        organization_id,
        lambda: dict(
            Department.objects.filter(organization_id=organization_id).values_list(
                "id", "parent_id"
            )
        ),
    )


def _above(organization_id: int, department_id: int | None) -> set[int | None]:
    """The department and every one above it, and None (the whole organization)."""
    found: set[int | None] = {None}
    if department_id is None:
        return found
    parents = _parents(organization_id)
    while department_id is not None and department_id not in found:
        found.add(department_id)
        department_id = parents.get(department_id)
    return found


def tell(organization_id: int, event: str, *news: News) -> list[ChatMessage]:
    """Owe each target that hears `event` a message of each of `news` of its scope (a
    target of the whole organization hears all; one of a department, the news of that
    department and of those below it): one `ChatMessage` each, rendered now, written
    in the current transaction and sent once it commits. Nothing is read when there
    is no news; the targets are read with the webhooks, once per write, and the
    department tree only for news of a department when a target belongs to one."""
    if not news:
        return []
    targets = _targets(organization_id, event)
    if not targets:
        return []
    departmental = any(target.department_id is not None for target in targets)
    messages = []
    for one in news:
        scope = _above(organization_id, one.department_id) if departmental else {None}
        for target in targets:
            if target.department_id in scope:
                payload = render(target.platform, one)
                messages.append(ChatMessage(target=target, event=event, payload=payload))
    return _send(*messages)


def _send(*messages: ChatMessage) -> list[ChatMessage]:
    made = ChatMessage.objects.bulk_create(messages)
    for message in made:
        enqueue_on_commit(deliver_chat_message, message.pk, owed=True)
    return made


@shared_task(ignore_result=True)
def deliver_chat_message(message_id: int) -> str:
    """One attempt at a chat message (org/deliveries.py): POST its body to its target
    through core.egress; a 2xx delivers it, an error answer (with what the service
    said) is tried again for 24 hours. Returns its state."""
    return attempt(
        ChatMessage,
        message_id,
        to="target",
        request=_request,
        task=deliver_chat_message,
        answer_said=True,
    )


def _request(message: ChatMessage) -> Request:
    body = json.dumps(message.payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Cascade-Chat/1"}
    return Request(message.target.url, headers, body)


@shared_task(ignore_result=True)
def resend_due_chat_messages() -> int:
    """Every minute: chat messages due for an attempt that no task has made (the broker
    was down, a worker died) are tried now. Returns how many."""
    return resend_due(ChatMessage, deliver_chat_message)


# -- managing targets ------------------------------------------------------------------------


def url_hint(url: str) -> str:
    """An address as it is shown: its host and its last four characters
    (hooks.slack.com…x7Qa), enough to tell two apart, too little to post with."""
    host = urlsplit(url).hostname or "?"
    return f"{host}…{url[-4:]}" if len(url) > len(host) + 12 else f"{host}…"


def _check(errors: Errors, target: ChatTarget, *, url: bool = True) -> None:
    """A target as it would be saved; its address (`url`) only when it is new or
    changes: one that stopped resolving must not keep a target from being paused."""
    if target.platform not in ChatPlatform.values:
        errors.add("platform", one_of(ChatPlatform.values))
    check_text(
        errors, "name", target.name, required="Name the channel it posts to.", max_length=MAX_NAME
    )
    address = str(target.url or "")
    if url and not address.lower().startswith("https://"):
        errors.add("url", HTTPS_ONLY)
    elif url and (reason := egress.refusal(address)):
        errors.add("url", reason)
    events = target.events
    if not isinstance(events, list) or not events or not set(events) <= set(ChatEvent.values):
        errors.add("events", f"Pick one or more of: {', '.join(ChatEvent.values)}.")
    if (
        target.department is not None
        and target.department.organization_id != target.organization_id
    ):
        errors.add("department", NOT_FOUND)


def _scope_id(department: Department | None) -> int | None:
    return department.pk if department is not None else None


@transaction.atomic
def chat_target_create(
    *,
    actor: Member,
    platform: str,
    name: str,
    url: str,
    events: list[str],
    department: Department | None = None,
    is_active: bool = True,
) -> ChatTarget:
    """A new target of `department` (None: the whole organization)."""
    MANAGE_CHAT.require(actor, _scope_id(department))
    target = ChatTarget(
        organization_id=actor.organization_id,
        department=department,
        platform=platform,
        name=(name or "").strip(),
        url=url,
        events=sorted(set(events)) if isinstance(events, list) else events,
        is_active=is_active,
        created_by=actor,
    )
    errors = Errors()
    _check(errors, target)
    errors.raise_if_any()
    target.save()
    record(actor, "chat_target.created", target, changes=created(target, AUDITED))
    return target


EDITABLE = ("platform", "name", "url", "department", "events", "is_active")


@transaction.atomic
def chat_target_update(*, actor: Member, target: ChatTarget, **changes: Any) -> ChatTarget:
    """Change a target (of a scope `actor` manages, to one they manage)."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"chat_target_update() got unknown fields: {', '.join(sorted(unknown))}")
    MANAGE_CHAT.require(actor, target.department_id, target.organization_id)
    if "department" in changes:
        MANAGE_CHAT.require(actor, _scope_id(changes["department"]), target.organization_id)
    before = snapshot(target, AUDITED)
    for name, value in changes.items():
        if name == "events" and isinstance(value, list):
            value = sorted(set(value))
        if name == "name":
            value = (value or "").strip()
        setattr(target, name, value)
    errors = Errors()
    _check(errors, target, url="url" in changes)
    errors.raise_if_any()
    target.save()
    changed = diff(before, snapshot(target, AUDITED))
    if "url" in changes:  # never the address itself
        changed["url"] = ["(hidden)", "(changed)"]
    if changed:
        record(actor, "chat_target.updated", target, changes=changed)
    return target


def chat_target_delete(*, actor: Member, target: ChatTarget) -> None:
    MANAGE_CHAT.require(actor, target.department_id, target.organization_id)
    record(actor, "chat_target.deleted", target, changes=deleted(target, AUDITED))
    target.delete()


@transaction.atomic
def chat_target_test(*, actor: Member, target: ChatTarget) -> ChatMessage:
    """A test message to `target` (paused or not, whatever it hears), sent by the worker
    as every message is: its state shows with the target."""
    MANAGE_CHAT.require(actor, target.department_id, target.organization_id)
    scope = target.department.name if target.department_id else "the whole organization"
    heard = [ChatEvent(event).label for event in target.events if event in ChatEvent.values]
    news = News(
        title=f"Cascade is connected to {target.name}",
        lines=(f"{actor.display_name} sent this test from Cascade.",),
        facts=(Fact("Scope", scope),),
        lists=(listing("What this channel will hear of", heard),),
        link=settings.SITE_URL
        + reverse("chat")
        + (f"?department={target.department_id}" if target.department_id else ""),
        link_label="Open its settings",
        footer=f"Cascade · {actor.organization.name}",
    )
    (message,) = _send(
        ChatMessage(target=target, event=TEST, payload=render(target.platform, news))
    )
    return message


def chat_targets_visible(member: Member) -> QuerySet[ChatTarget]:
    """The targets `member` manages (their organization's; a manager's departments')."""
    targets = ChatTarget.objects.filter(organization_id=member.organization_id)
    departments = chat_departments(member)
    if departments is not None:
        targets = targets.filter(department_id__in=departments)
    return targets.select_related("department").order_by("id")


def with_recent(targets: Iterable[ChatTarget]) -> list[ChatTarget]:
    """Each target with its last RECENT messages (`recent`), its address's hint
    (`hint`) and what the card says of it: one query for the messages, whatever the
    number of targets."""
    targets = list(targets)
    recent: dict[int, list[ChatMessage]] = {target.pk: [] for target in targets}
    latest = (
        ChatMessage.objects.filter(target__in=[target.pk for target in targets])
        .annotate(nth=Window(RowNumber(), partition_by=F("target_id"), order_by=F("id").desc()))
        .filter(nth__lte=RECENT)
        .order_by("-id")
        .only(
            "id",
            "target_id",
            "event",
            "state",
            "attempts",
            "last_status",
            "last_error",
            "created_at",
        )
    )
    for message in latest if targets else ():
        message.what = EVENT_NAMES.get(message.event, message.event)
        recent[message.target_id].append(message)
    for target in targets:
        target.recent = recent[target.pk]
        target.hint = url_hint(target.url)
        target.platform_name = PLATFORM_NAMES.get(target.platform, target.platform)
        target.heard = ", ".join(EVENT_NAMES.get(event, event) for event in target.events)
    return targets
