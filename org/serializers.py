from __future__ import annotations

from rest_framework import serializers

from core.api import OrgSerializer

from .models import Department, Member, Notification, Role


class OrganizationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MeSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    organization = OrganizationRefSerializer()

    class Meta:
        model = Member
        fields = ["id", "username", "role", "department", "organization"]


class MemberSerializer(OrgSerializer):
    username = serializers.CharField(source="user.username", max_length=150)
    email = serializers.EmailField(source="user.email", required=False, allow_blank=True)
    password = serializers.CharField(
        write_only=True,
        required=False,
        min_length=8,
        max_length=128,
        style={"input_type": "password"},
    )
    role = serializers.ChoiceField(choices=Role.choices, required=False, default=Role.MEMBER)

    class Meta:
        model = Member
        fields = [
            "id",
            "username",
            "email",
            "password",
            "role",
            "department",
            "manager",
            "is_active",
        ]
        read_only_fields = ["is_active"]

    scoped_fields = ("department", "manager")


class MemberUpdateSerializer(OrgSerializer):
    class Meta:
        model = Member
        fields = ["role", "department", "manager", "is_active"]

    scoped_fields = ("department", "manager")


class DepartmentSerializer(OrgSerializer):
    class Meta:
        model = Department
        fields = ["id", "name", "parent", "head"]

    scoped_fields = ("parent", "head")

    def get_validators(self):
        return []  # uniqueness is the service's to check, after permissions


class NotificationSerializer(OrgSerializer):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "link", "created_at", "read_at", "read"]
        read_only_fields = fields

    def get_read(self, notification) -> bool:
        return notification.read_at is not None
