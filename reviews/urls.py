from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("reviews/", views.review_list, name="reviews"),
    path("reviews/<int:review_id>/", views.review_detail, name="review-detail"),
    path("reviews/<int:review_id>/start/", views.review_start_view, name="review-start"),
    path("reviews/<int:review_id>/complete/", views.review_complete_view, name="review-complete"),
    path("reviews/<int:review_id>/cancel/", views.review_cancel_view, name="review-cancel"),
    path(
        "reviews/<int:review_id>/items/<int:item_id>/", views.item_update_view, name="review-item"
    ),
    path(
        "reviews/<int:review_id>/items/<int:item_id>/actions/",
        views.action_create_view,
        name="review-action-new",
    ),
    path("reviews/actions/<int:action_id>/done/", views.action_done_view, name="action-done"),
    # A person's calendar, read by their calendar app (the key is the secret: no sign-in).
    path("calendar/<str:key>.ics", views.calendar_feed_view, name="calendar-feed"),
]
