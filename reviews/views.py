"""Review pages: the list, the meeting (item by item), the summary."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseNotFound
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from core.forms import save_form
from core.http import go_to
from core.periods import period_containing
from cycles.selectors import cycle_for_request
from kpis.selectors import kpis_with_history
from org.calendar_feeds import calendar_feed_for_key, calendar_feed_read
from org.decorators import member_required
from org.permissions import (
    RUN_REVIEW,
    SCHEDULE_REVIEWS,
    can_run_review,
    can_schedule_reviews,
    default_review_department_id,
)

from . import calendar, selectors
from .forms import ActionForm, ItemForm, ReviewForm
from .models import ActionItem, Review, ReviewItem, ReviewState
from .services import (
    action_create,
    action_update,
    review_cancel,
    review_complete,
    review_create,
    review_item_update,
    review_start,
)

UPCOMING = (ReviewState.SCHEDULED, ReviewState.IN_PROGRESS)


def _review(request, review_id: int) -> Review:
    return get_object_or_404(selectors.reviews_of(request.member.organization), pk=review_id)


@member_required
def review_list(request):
    member = request.member
    cycle, cycles = cycle_for_request(request)
    form = None
    closed = cycle is not None and cycle.is_closed and request.method != "POST"
    if cycle is not None and can_schedule_reviews(member) and not closed:
        initial = {
            "period": period_containing(cycle.cadence, member.organization.today()).key,
            "facilitator": member.pk,
            "department": default_review_department_id(member),
        }
        form = ReviewForm(
            request.POST or None, organization=member.organization, cycle=cycle, initial=initial
        )
        form.fit_to(member)  # the scopes they may review
        review = save_form(form, lambda data: review_create(actor=member, cycle=cycle, **data))
        if review is not None:
            return redirect("review-detail", review_id=review.pk)
    elif request.method == "POST":
        SCHEDULE_REVIEWS.require(member)
    reviews = list(selectors.reviews_of(member.organization).filter(cycle=cycle)) if cycle else []
    return render(
        request,
        "reviews/list.html",
        {
            "nav": "reviews",
            "cycle": cycle,
            "cycles": cycles,
            "form": form,
            "may_schedule": can_schedule_reviews(member),
            "upcoming": [r for r in reviews if r.state in UPCOMING][::-1],
            "past": [r for r in reviews if r.state == ReviewState.COMPLETED],
            "cancelled": [r for r in reviews if r.state == ReviewState.CANCELLED],
        },
        status=400 if form is not None and form.errors else 200,
    )


def _item_context(request, review: Review, item: ReviewItem | None) -> dict:
    """The walked item: its goal's KPIs with trends and the owner's latest word."""
    if item is None:
        return {"item": None}
    return {
        "item": item,
        "kpis": kpis_with_history(item.goal, request.member.organization.today()),
        "item_form": ItemForm(
            initial={f: getattr(item, f) for f in ("assessment", "win", "notes", "decision")},
            prefix=f"item{item.pk}",
        ),
        "action_form": _new_action_form(request, item),
        "item_actions": [a for a in item.review.actions.all() if a.item_id == item.pk],
    }


def _new_action_form(request, item: ReviewItem) -> ActionForm:
    """An empty action form for an item, its goal's owner proposed as the owner."""
    return ActionForm(
        organization=request.member.organization,
        prefix=f"act{item.pk}",
        initial={"owner": item.goal.owner_id},
    )


@member_required
def review_detail(request, review_id: int):
    review = _review(request, review_id)
    items = selectors.agenda(review) if review.state != ReviewState.SCHEDULED else []
    for item in items:
        item.review = review
    current = None
    wanted = request.GET.get("item")
    if items:
        current = next((i for i in items if str(i.pk) == wanted), None) or items[0]
    index = items.index(current) if current else -1
    actions = list(review.actions.select_related("owner__user", "item__goal").order_by("due", "id"))
    review._prefetched_objects_cache = {"actions": actions}
    context = {
        "nav": "reviews",
        "review": review,
        "cycle": review.cycle,
        "items": items,
        "wins": [i for i in items if i.win],
        "corrections": [i for i in items if i.decision],
        "may_run": can_run_review(request.member, review),
        "actions": actions,
        "previous": items[index - 1] if index > 0 else None,
        "next": items[index + 1] if 0 <= index < len(items) - 1 else None,
        "participants": selectors.participants(review)
        if review.state == ReviewState.SCHEDULED
        else [],
        **_item_context(request, review, current),
    }
    if request.htmx and wanted:
        return render(request, "reviews/detail.html#item-panel", context)
    return render(request, "reviews/detail.html", context)


def _move(request, review_id: int, service) -> HttpResponse:
    """Start or complete a review (`service`), then show it; a refusal says why (on a
    page of its own, or, asked in place, where the button was)."""
    review = _review(request, review_id)
    try:
        service(actor=request.member, review=review)
    except ValidationError as exc:
        if not request.htmx:
            return _refused(request, review, exc)
        reason = format_html('<p class="error" role="alert">{}</p>', " ".join(exc.messages))
        return HttpResponse(reason, status=400)  # in place of the button that asked
    # Asked in place, the page asked first (hx-confirm): now load the review again.
    return go_to(request, reverse("review-detail", args=[review.pk]))


@require_POST
@member_required
def review_start_view(request, review_id: int):
    return _move(request, review_id, review_start)


@require_POST
@member_required
def review_complete_view(request, review_id: int):
    return _move(request, review_id, review_complete)


@require_POST
@member_required
def review_cancel_view(request, review_id: int):
    """Call a scheduled review off; everyone invited is sent a cancellation."""
    return _move(request, review_id, review_cancel)


@require_safe
def calendar_feed_view(request, key: str):
    """A person's calendar (reviews/calendar.py feed), for their calendar app: no
    sign-in, the address's key is the secret. Unknown, reset or turned off: a plain 404."""
    feed = calendar_feed_for_key(key)
    if feed is None:
        return HttpResponseNotFound(
            "No calendar at this address.", content_type="text/plain; charset=utf-8"
        )
    calendar_feed_read(feed)
    response = HttpResponse(calendar.feed(feed.member), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="cascade.ics"'
    response["Cache-Control"] = "private, no-store, max-age=0"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _form_refusal(form) -> ValidationError:
    """A form's messages, as words (not their codes), for the refusal page."""
    return ValidationError([str(m) for messages in form.errors.values() for m in messages])


def _refused(request, review, exc: ValidationError) -> HttpResponse:
    return render(
        request,
        "reviews/refused.html",
        {"nav": "reviews", "review": review, "errors": exc.messages},
        status=400,
    )


@require_POST
@member_required
def item_update_view(request, review_id: int, item_id: int):
    review = _review(request, review_id)
    item = get_object_or_404(
        ReviewItem.objects.select_related("goal__owner__user"), review=review, pk=item_id
    )
    item.review = review
    RUN_REVIEW.require(request.member, review)
    form = ItemForm(request.POST, prefix=f"item{item.pk}")
    saved = save_form(
        form, lambda data: review_item_update(actor=request.member, item=item, **data)
    )
    if not request.htmx:
        if saved:
            return redirect(reverse("review-detail", args=[review.pk]) + f"?item={item.pk}")
        return _refused(request, review, _form_refusal(form))
    return render(
        request,
        "reviews/detail.html#item-form",
        {
            "review": review,
            "item": item,
            "item_form": form,
            "saved": saved,
            "may_run": True,
        },
        status=200 if saved else 400,
    )


@require_POST
@member_required
def action_create_view(request, review_id: int, item_id: int):
    review = _review(request, review_id)
    item = get_object_or_404(ReviewItem.objects.select_related("goal"), review=review, pk=item_id)
    RUN_REVIEW.require(request.member, review)
    form = ActionForm(
        request.POST, organization=request.member.organization, prefix=f"act{item.pk}"
    )
    created = save_form(
        form, lambda data: action_create(actor=request.member, review=review, item=item, **data)
    )
    if created is not None:
        form = _new_action_form(request, item)
    if not request.htmx:
        if form.errors:
            return _refused(request, review, _form_refusal(form))
        return redirect(reverse("review-detail", args=[review.pk]) + f"?item={item.pk}")
    actions = list(
        ActionItem.objects.filter(review=review, item=item).select_related("owner__user")
    )
    return render(
        request,
        "reviews/detail.html#item-actions",
        {
            "review": review,
            "item": item,
            "item_actions": actions,
            "action_form": form,
            "may_run": True,
        },
        status=400 if form.errors else 200,
    )


@require_POST
@member_required
def action_done_view(request, action_id: int):
    """Mark an action done (or not): its owner from My work, or whoever runs the review."""
    action = get_object_or_404(
        ActionItem.objects.select_related(
            "review__goal__owner", "review__department", "owner__user", "item__goal"
        ),
        review__organization=request.member.organization,
        pk=action_id,
    )
    try:
        action_update(actor=request.member, action=action, done=request.POST.get("done") == "on")
    except ValidationError as exc:
        return _refused(request, action.review, exc)
    if request.htmx:
        return render(
            request, "reviews/partials/action.html", {"action": action, "request": request}
        )
    next_url = request.POST.get("next")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("review-detail", args=[action.review_id])
    return redirect(next_url)
