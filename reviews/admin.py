from __future__ import annotations

from django.contrib import admin

from core.admin import OwedEmailAdmin

from .models import ReviewReminder


@admin.register(ReviewReminder)
class ReviewReminderAdmin(OwedEmailAdmin):
    list_select_related = ("member__user", "review")
    search_fields = ("member__user__username", "review__title")
