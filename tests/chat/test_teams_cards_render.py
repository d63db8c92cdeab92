"""Teams cards are checked by Microsoft's own code, not by our guesses (issue 33): every
card the three events and a test post — with hostile text wherever people type, and
text beyond any limit — is parsed by the `adaptivecards` renderer (npm, pinned in
tests/chat/node) in Chromium with no parse event and no validation event, rendered (its markdown by
markdown-it, as the renderer's README shows) and shown on a page with no console error:
people's text shows as they typed it, never as links, emphasis, code or headings. A
screenshot of them all is kept. Each is sent
in the incoming-webhook envelope Teams expects."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .node import ADAPTIVE_CARDS, MARKDOWN_IT, installed
from .payloads import HOSTILE, hostile_payloads

pytestmark = pytest.mark.django_db(transaction=True)
RESULTS = Path("test-results/chat")
SHOTS = Path("/tmp/h/shots/chat")

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Teams cards</title>
<style>body{font-family:"Segoe UI",system-ui,sans-serif;background:#f5f5f5;margin:0;padding:16px}
section{max-width:560px;margin:0 0 16px;background:#fff;border:1px solid #ddd;border-radius:6px}
</style></head><body><main id="cards"></main></body></html>"""

# Parse each card as Teams' renderer does, gather every parse and validation event
# (each with its name), render it and show it on the page.
CHECK = """(cards) => cards.map((content, index) => {
  AdaptiveCards.AdaptiveCard.onProcessMarkdown = (text, result) => {
    result.outputHtml = markdownit().render(text);  // as Teams, markdown is processed
    result.didProcess = true;
  };
  const card = new AdaptiveCards.AdaptiveCard();
  const context = new AdaptiveCards.SerializationContext();
  card.parse(content, context);
  const events = [];
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    events.push(`parse: ${AdaptiveCards.ValidationEvent[e.event]}: ${e.message}`);
  }
  for (const e of card.validateProperties().validationEvents) {
    events.push(`validate: ${AdaptiveCards.ValidationEvent[e.event]}: ${e.message}`);
  }
  const rendered = card.render();
  if (rendered) {
    const holder = document.createElement("section");
    holder.setAttribute("aria-label", `card ${index}`);
    holder.append(rendered);
    document.getElementById("cards").append(holder);
  }
  const made = (selector) => rendered ? rendered.querySelectorAll(selector).length : 0;
  return {events, rendered: Boolean(rendered), text: rendered ? rendered.innerText : "",
          actions: made("button"),
          // what markdown in people's text would have made of it
          markup: made("a, strong, em, code, del, s, h1, h2, h3, h4, h5, h6, blockquote, ol")};
})"""


def test_every_teams_card_parses_validates_and_renders_with_adaptivecards(acme, services, page):
    installed()
    payloads = hostile_payloads(acme, services, "teams")
    cards = []
    for body in payloads:
        assert body["type"] == "message"
        (attachment,) = body["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert attachment["contentUrl"] is None
        card = attachment["content"]
        assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
        assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
        assert card["actions"][0]["type"] == "Action.OpenUrl"
        cards.append(card)
    problems: list[str] = []
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(m.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.set_viewport_size({"width": 600, "height": 900})
    page.set_content(PAGE)
    page.add_script_tag(path=str(MARKDOWN_IT))
    page.add_script_tag(path=str(ADAPTIVE_CARDS))

    results = page.evaluate(CHECK, cards)

    assert [r["events"] for r in results] == [[] for _ in cards]
    assert all(r["rendered"] and r["actions"] == 1 for r in results)
    assert [r["markup"] for r in results] == [0] * len(cards)  # nobody's text is markup
    assert problems == []
    shown = "\n".join(r["text"] for r in results)
    assert HOSTILE in shown  # shown as typed: every escape undone by the markdown
    assert "Check-ins due: people in no department" in shown
    assert "…and 5 more" in shown  # 30 people due, 25 listed
    assert "Review completed: Review" in shown
    RESULTS.mkdir(parents=True, exist_ok=True)
    shots = {"all": page.screenshot(path=RESULTS / "teams-cards.png", full_page=True)}
    for index, body in enumerate(payloads):  # the first card of each kind, on its own
        kind = kind_of(body)
        if kind not in shots:
            path = RESULTS / f"teams-{kind}.png"
            shots[kind] = page.locator(f"section[aria-label='card {index}']").screenshot(path=path)
    if SHOTS.parent.is_dir():
        SHOTS.mkdir(exist_ok=True)
        for kind in shots:
            name = "teams-cards.png" if kind == "all" else f"teams-{kind}.png"
            shutil.copy(RESULTS / name, SHOTS / name)


def kind_of(body: dict) -> str:
    """Which event a card tells of, by its title."""
    title = body["attachments"][0]["content"]["body"][0]["text"]
    for start, kind in (
        ("Cascade is connected", "test"),
        ("Check-ins due", "checkin-due"),
        ("Review completed", "review-completed"),
    ):
        if title.startswith(start):
            return kind
    return "health-changed"
