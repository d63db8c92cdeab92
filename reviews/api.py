"""API for check-in reviews: /api/v1/reviews/ with start/, complete/, items/, actions/."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import OrgViewSet, lookup, raw_data
from goals.models import Goal
from org.models import Department
from org.permissions import (
    CHANGE_ACTION,
    CHANGE_REVIEW,
    RUN_REVIEW,
    SCHEDULE_REVIEW_OF,
)

from .models import ActionItem, Review, ReviewItem
from .serializers import ActionItemSerializer, ReviewItemSerializer, ReviewSerializer
from .services import (
    action_create,
    action_update,
    review_cancel,
    review_complete,
    review_create,
    review_item_update,
    review_start,
    review_update,
)


class ReviewViewSet(OrgViewSet):
    """Check-in meetings. Scope: `goal` (its subtree), `department`, or neither (everything)."""

    queryset = Review.objects.select_related("goal__owner", "department").order_by(
        "-scheduled_for", "-id"
    )
    serializer_class = ReviewSerializer
    ordering_fields = ["id", "title", "scheduled_for"]

    @extend_schema(
        examples=[
            OpenApiExample(
                "A quarterly department review",
                request_only=True,
                value={
                    "cycle": 1,
                    "title": "Customer Support Q1 check-in",
                    "department": 2,
                    "period": "2027-Q1",
                    "scheduled_for": "2027-03-29T10:00:00+02:00",
                    "facilitator": 9,
                },
            )
        ]
    )
    def create(self, request):
        data = raw_data(request)
        organization = request.member.organization
        goal = (
            lookup(Goal.objects.filter(organization=organization), data.get("goal"))
            if data.get("goal")
            else None
        )
        department = (
            lookup(Department.objects.filter(organization=organization), data.get("department"))
            if data.get("department")
            else None
        )
        SCHEDULE_REVIEW_OF.require(request.member, goal, department)
        review = review_create(actor=request.member, **self.parsed(ReviewSerializer))
        return self.created(review)

    def partial_update(self, request, pk=None):
        review = self.get_object()
        CHANGE_REVIEW.require(request.member, review)
        review = review_update(
            actor=request.member, review=review, **self.parsed(ReviewSerializer, review)
        )
        return Response(self.get_serializer(review).data)

    @extend_schema(
        request=None, responses=ReviewSerializer, summary="Start: snapshot the goals in scope"
    )
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        review = review_start(actor=request.member, review=self.get_object())
        return Response(self.get_serializer(review).data)

    @extend_schema(request=None, responses=ReviewSerializer, summary="Complete: freeze the review")
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        review = review_complete(actor=request.member, review=self.get_object())
        return Response(self.get_serializer(review).data)

    @extend_schema(
        request=None,
        responses=ReviewSerializer,
        summary="Cancel: call a scheduled review off",
        description="Only a scheduled review can be cancelled (409 otherwise). Everyone "
        "invited is sent a calendar cancellation (METHOD:CANCEL, SEQUENCE raised).",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        review = review_cancel(actor=request.member, review=self.get_object())
        return Response(self.get_serializer(review).data)

    @extend_schema(responses=ReviewItemSerializer(many=True), summary="The agenda, in order")
    @action(detail=True, methods=["get"], serializer_class=ReviewItemSerializer, filter_backends=[])
    def items(self, request, pk=None):
        review = self.get_object()
        items = ReviewItem.objects.filter(review=review).select_related("goal").order_by("position")
        page = self.paginate_queryset(items)
        return self.get_paginated_response(ReviewItemSerializer(page, many=True).data)

    @extend_schema(
        request=ReviewItemSerializer,
        responses=ReviewItemSerializer,
        summary="Record assessment, win, notes, decision",
    )
    @action(
        detail=True,
        methods=["patch"],
        url_path=r"items/(?P<item_id>[0-9]+)",
        serializer_class=ReviewItemSerializer,
    )
    def item(self, request, pk=None, item_id=None):
        review = self.get_object()
        item = get_object_or_404(
            ReviewItem.objects.select_related("goal", "review"), review=review, pk=item_id
        )
        RUN_REVIEW.require(request.member, review)
        serializer = ReviewItemSerializer(item, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        item = review_item_update(actor=request.member, item=item, **serializer.validated_data)
        return Response(ReviewItemSerializer(item).data)

    @extend_schema(
        methods=["GET"], responses=ActionItemSerializer(many=True), summary="Action items"
    )
    @extend_schema(
        methods=["POST"],
        request=ActionItemSerializer,
        responses={201: ActionItemSerializer},
        summary="Add an action item",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=ActionItemSerializer,
        filter_backends=[],
    )
    def actions(self, request, pk=None):
        review = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(review.actions.order_by("due", "id"))
            return self.get_paginated_response(ActionItemSerializer(page, many=True).data)
        RUN_REVIEW.require(request.member, review)
        serializer = ActionItemSerializer(
            data=request.data, organization=request.member.organization, review=review
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        data.pop("done", None)
        created = action_create(actor=request.member, review=review, **data)
        return Response(ActionItemSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses=ActionItemSerializer, summary="One action item")
    @extend_schema(
        methods=["PATCH"],
        request=ActionItemSerializer,
        responses=ActionItemSerializer,
        summary="Change an action item, or mark it done",
    )
    @action(
        detail=True,
        methods=["get", "patch"],
        url_path=r"actions/(?P<action_id>[0-9]+)",
        serializer_class=ActionItemSerializer,
    )
    def action_item(self, request, pk=None, action_id=None):
        review = self.get_object()
        item = get_object_or_404(
            ActionItem.objects.select_related("review"), review=review, pk=action_id
        )
        if request.method == "GET":
            return Response(ActionItemSerializer(item).data)
        item.review = review  # with its scope loaded, for the permission check
        CHANGE_ACTION.require(request.member, item, set(raw_data(request)))
        serializer = ActionItemSerializer(
            item,
            data=request.data,
            partial=True,
            organization=request.member.organization,
            review=review,
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("item", None)
        item = action_update(actor=request.member, action=item, **data)
        return Response(ActionItemSerializer(item).data)
