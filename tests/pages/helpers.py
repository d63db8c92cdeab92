"""Reading the pages' HTML and what the database holds, for the page tests: the
form controls, the messages beside them, and every row a page could write."""

from __future__ import annotations

from html.parser import HTMLParser

from django.contrib.auth import get_user_model

from goals.models import Goal
from kpis.models import Kpi, KpiUpdate
from org.models import Member

HTMX = {"HX-Request": "true"}


# -- reading the HTML ------------------------------------------------------------------


class Element:
    def __init__(self, tag: str, attrs: dict, parent: Element | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element | str] = []

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def iter(self):
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find(self, **attrs) -> Element | None:
        return next(
            (e for e in self.iter() if all(e.attrs.get(k) == v for k, v in attrs.items())), None
        )

    def controls(self) -> list[Element]:
        return [
            e
            for e in self.iter()
            if e.tag in ("input", "select", "textarea") and e.attrs.get("type") != "hidden"
        ]


class _Parser(HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
            "track", "wbr"}  # fmt: skip

    def __init__(self):
        super().__init__()
        self.root = self.current = Element("#root", {}, None)

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs), self.current)
        self.current.children.append(element)
        if tag not in self.VOID:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Element(tag, dict(attrs), self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(response) -> Element:
    parser = _Parser()
    parser.feed(response.content.decode())
    return parser.root


def field_errors(page: Element, control_id: str) -> str:
    """The error text shown next to one form control: inside the largest element
    around it that holds no other form control (its label-input-error group)."""
    control = page.find(id=control_id)
    assert control is not None, f"no form control #{control_id}"
    group = control
    while group.parent is not None and group.parent.controls() == [control]:
        group = group.parent
    return " ".join(e.text.strip() for e in group.iter() if any("error" in c for c in e.classes))


def typed_value(page: Element, control_id: str) -> str:
    control = page.find(id=control_id)
    assert control is not None, f"no form control #{control_id}"
    if control.tag == "textarea":
        return control.text.strip()
    if control.tag == "select":
        selected = [o for o in control.iter() if o.tag == "option" and "selected" in o.attrs]
        return selected[0].attrs.get("value", "") if selected else ""
    return control.attrs.get("value", "")


# -- what the database holds ---------------------------------------------------------


def snapshot() -> dict:
    """Every row a page could write, field by field."""
    return {
        "goals": list(
            Goal.objects.order_by("id").values_list(
                "id", "title", "rationale", "level", "parent_id", "department_id", "owner_id",
                "weight", "state", "start", "due", "progress", "health",
            )
        ),
        "kpis": list(
            Kpi.objects.order_by("id").values_list(
                "id", "goal_id", "name", "unit", "direction", "baseline", "target", "weight",
                "owner_id", "current", "progress", "health",
            )
        ),
        "updates": list(KpiUpdate.objects.order_by("id").values_list("id", "kpi_id", "value")),
        "members": list(
            Member.objects.order_by("id").values_list(
                "id", "role", "department_id", "manager_id", "is_active"
            )
        ),
        "users": get_user_model().objects.count(),
    }  # fmt: skip


# -- the requests --------------------------------------------------------------------


def goal_data(**fields) -> dict:
    return {"title": "Shorter queues", "rationale": "", "level": "strategic", "weight": "1",
            "department": "", "owner": "", "start": "", "due": ""} | fields  # fmt: skip


def kpi_data(**fields) -> dict:
    return {"name": "Escalations per week", "description": "", "unit": "tickets",
            "direction": "increase", "aggregation": "latest", "baseline": "10", "target": "20",
            "weight": "1", "owner": "", "start": "", "due": ""} | fields  # fmt: skip


def record_data(kpi: Kpi, value="5") -> dict:
    return {f"kpi{kpi.pk}-value": value, f"kpi{kpi.pk}-note": "", f"kpi{kpi.pk}-date": ""}


def person_data(member: Member, **fields) -> dict:
    data = {"role": member.role, "department": member.department_id or "",
            "manager": member.manager_id or "", "is_active": "on"} | fields  # fmt: skip
    return {f"m{member.pk}-{name}": value for name, value in data.items()}


def edit_data(goal: Goal, **fields) -> dict:
    return (
        goal_data(
            title=goal.title,
            level=goal.level,
            department=goal.department_id or "",
            owner=goal.owner_id or "",
            parent=goal.parent_id or "",
            state=goal.state,
        )
        | fields
    )
