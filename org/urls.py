from __future__ import annotations

from django.urls import path

from . import audit_views, chat_views, people_import_views, views

urlpatterns = [
    path("people/", views.people, name="people"),
    path("people/<int:member_id>/", views.person_edit, name="person-edit"),
    path("people/organization/", views.organization_settings, name="organization-settings"),
    path("people/import/", people_import_views.people_import_page, name="people-import"),
    path(
        "people/import/confirm/",
        people_import_views.people_import_confirm,
        name="people-import-confirm",
    ),
    path(
        "people/import/template/",
        people_import_views.people_import_template,
        name="people-import-template",
    ),
    path("people/tokens/", views.service_token_new, name="service-token-new"),
    path("people/webhooks/", views.webhook_new, name="webhook-new"),
    path(
        "people/webhooks/<int:webhook_id>/delete/",
        views.webhook_delete_view,
        name="webhook-delete",
    ),
    path("people/webhooks/<int:webhook_id>/ping/", views.webhook_ping_view, name="webhook-ping"),
    path(
        "people/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver/",
        views.webhook_redeliver_view,
        name="webhook-redeliver",
    ),
    path(
        "people/tokens/<int:token_id>/revoke/",
        views.service_token_revoke_view,
        name="service-token-revoke",
    ),
    path("chat/", chat_views.chat_page, name="chat"),
    path("chat/new/", chat_views.chat_target_new, name="chat-target-new"),
    path("chat/<int:target_id>/test/", chat_views.chat_target_test_view, name="chat-target-test"),
    path("chat/<int:target_id>/pause/", chat_views.chat_target_pause, name="chat-target-pause"),
    path(
        "chat/<int:target_id>/delete/",
        chat_views.chat_target_delete_view,
        name="chat-target-delete",
    ),
    path("audit/", audit_views.audit_log, name="audit"),
    path("notifications/", views.notifications, name="notifications"),
    path(
        "notifications/<int:notification_id>/read/",
        views.notification_read,
        name="notification-read",
    ),
    path("notifications/read-all/", views.notifications_read_all, name="notifications-read-all"),
    path("notifications/preferences/", views.reminder_preferences, name="reminder-preferences"),
    path("notifications/calendar/", views.calendar_feed_new, name="calendar-feed-new"),
    path(
        "notifications/calendar/reset/",
        views.calendar_feed_reset_view,
        name="calendar-feed-reset",
    ),
    path("notifications/calendar/off/", views.calendar_feed_off, name="calendar-feed-off"),
]
