"""Slack messages are checked by Slack's own types, not by our guesses (issue 33): every
message the three events and a test post — with hostile text wherever people type, and
text beyond Block Kit's limits — is written into a TypeScript file as
`{ text: string; blocks: KnownBlock[] }[]` (`@slack/types`) and compiled with
`tsc --strict --noEmit`; any output of the compiler fails the test. Text people typed
is escaped in mrkdwn, so no `<!channel>`, mention or link of theirs gets through, and
Block Kit's lengths hold."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .node import TSC, installed
from .payloads import HOSTILE, hostile_payloads

pytestmark = pytest.mark.django_db(transaction=True)
RESULTS = Path("test-results/chat")


def texts(node, kind: str | None = None) -> list[str]:
    """Every text object's text in a Block Kit tree (of `kind`: mrkdwn or plain_text)."""
    found = []
    if isinstance(node, dict):
        typed = node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str)
        if typed and (kind is None or node["type"] == kind):
            found.append(node["text"])
        for value in node.values():
            found += texts(value, kind)
    elif isinstance(node, list):
        for each in node:
            found += texts(each, kind)
    return found


def test_every_slack_message_type_checks_against_slack_types(acme, services, tmp_path):
    modules = installed()
    payloads = hostile_payloads(acme, services, "slack")
    source = tmp_path / "messages.ts"
    source.write_text(
        'import type { KnownBlock } from "@slack/types";\n\n'
        f"export const messages: {{ text: string; blocks: KnownBlock[] }}[] = "
        f"{json.dumps(payloads, indent=2, ensure_ascii=False)};\n"
    )
    (tmp_path / "tsconfig.json").write_text(
        json.dumps(
            {
                "compilerOptions": {
                    "strict": True,
                    "noEmit": True,
                    "target": "ES2022",
                    "module": "commonjs",
                    "moduleResolution": "node10",
                    "baseUrl": str(modules),  # "@slack/types" is found there
                    "types": [],
                    "skipLibCheck": False,
                },
                "files": ["messages.ts"],
            }
        )
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, RESULTS / "slack-messages.ts")  # to read what was checked
    done = subprocess.run(
        ["node", str(TSC), "--project", str(tmp_path / "tsconfig.json")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
    # The organization's target: a test, check-ins of two departments (the hostile one,
    # and the people in none), two health changes, a review; the department's: a test
    # and its own check-ins, health change and review.
    assert len(payloads) == 6 + 4


def test_people_typed_text_cannot_mention_link_or_overflow_in_slack(acme, services):
    installed()
    payloads = hostile_payloads(acme, services, "slack")
    for body in payloads:
        for text in [body["text"], *texts(body["blocks"], "mrkdwn")]:
            assert "<!channel>" not in text and "<http" not in text
            assert "<" not in text and ">" not in text  # ours never uses them either
        assert len(body["blocks"]) <= 50
        for block in body["blocks"]:
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= 150
            if block["type"] == "section":
                assert len(block.get("text", {}).get("text", "")) <= 3000
                assert len(block.get("fields", [])) <= 10
    shown = "\n".join(text for body in payloads for text in texts(body["blocks"], "mrkdwn"))
    assert "&lt;!channel&gt; *x* &lt;http://evil|y&gt; &amp; “quotes”" in shown
    assert "…and 5 more" in shown  # 30 people due, 25 listed
    plain = texts([body["blocks"] for body in payloads], "plain_text")
    assert any(HOSTILE[:20] in text for text in plain)  # plain text is shown as typed
