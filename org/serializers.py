from __future__ import annotations

from rest_framework import serializers

from .models import Department, Member, Notification, Role


def scope_related(serializer: serializers.Serializer, organization, **querysets) -> None:
    """Limit related-id fields to the organization: another organization's id is a
    400 on that field ("does not exist"), never a leak."""
    for name, queryset in querysets.items():
        field = serializer.fields.get(name)
        if field is not None and not field.read_only:
            field.queryset = queryset.filter(organization=organization)


class OrganizationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MeSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    organization = OrganizationRefSerializer()

    class Meta:
        model = Member
        fields = ["id", "username", "role", "department", "organization"]


class MemberSerializer(serializers.ModelSerializer):
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

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organization is not None:
            scope_related(
                self,
                organization,
                department=Department.objects.all(),
                manager=Member.objects.all(),
            )


class MemberUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Member
        fields = ["role", "department", "manager", "is_active"]

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        scope_related(
            self, organization, department=Department.objects.all(), manager=Member.objects.all()
        )


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name", "parent", "head"]

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organization is not None:
            scope_related(
                self, organization, parent=Department.objects.all(), head=Member.objects.all()
            )

    def get_validators(self):
        return []  # uniqueness is the service's to check, after permissions


class NotificationSerializer(serializers.ModelSerializer):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "link", "created_at", "read_at", "read"]
        read_only_fields = fields

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)

    def get_read(self, notification) -> bool:
        return notification.read_at is not None
