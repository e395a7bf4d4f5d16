"""The entry rules editor: preview beside the published rules, publish with a note, history."""

from __future__ import annotations

import copy
import html
import json
import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.checkpoints import entry_rules, rulesets
from tests.checkpoints.helpers import Gate, gate, officer
from tests.factories import BA_DINH, HOAN_KIEM
from tests.web.pages import sign_in

__all__ = ["gate", "officer"]

SCOPE = f"unit:{BA_DINH}"
EVERYONE_TESTED = [
    {
        "verdict": "conditional",
        "reason": "Rapid test at the lane",
        "condition": "Rapid test at the lane",
    }
]


def error(page: str) -> str:
    match = re.search(r'<p class="error" id="e-rules"[^>]*>(.*?)</p>', page, re.S)
    return match.group(1).strip() if match else ""


def textarea(page: str) -> str:
    shown = re.search(r'<textarea id="f-rules"[^>]*>(.*?)</textarea>', page, re.S)
    assert shown
    return html.unescape(shown.group(1))


def preview_cells(page: str) -> list[str]:
    table = re.search(r'<table class="rules-preview".*?</table>', page, re.S)
    assert table
    return re.findall(r'class="entry-verdict entry-([a-z_]+)"', table.group(0))


def test_the_editor_shows_the_rules_and_their_verdicts(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    page = client.get("/checkpoints/rules")
    assert page.status_code == 200
    assert f'<code id="scope">{SCOPE}</code>' in page.text
    assert json.loads(textarea(page.text)) == entry_rules.DEFAULT_RULES
    cells = preview_cells(page.text)
    assert len(cells) == 15
    assert {"pass", "conditional", "turn_back"} <= set(cells)
    table = re.search(r'<table class="rules-table".*?</table>', page.text, re.S)
    assert table
    assert table.group(0).count("<tr>") == len(entry_rules.DEFAULT_RULES) + 1
    assert "cấp độ vùng nơi đi ít nhất: <code>3</code>" in table.group(0)
    assert "Được qua" in page.text  # verdicts in Vietnamese
    assert "Quay lại" in page.text


def test_preview_shows_the_edited_verdicts_next_to_the_published(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    page = client.post(
        "/checkpoints/rules",
        data={"scope": SCOPE, "rules": json.dumps(EVERYONE_TESTED), "action": "preview"},
    )
    assert page.status_code == 200, error(page.text)
    cells = preview_cells(page.text)
    assert len(cells) == 30
    assert cells[1::2] == ["conditional"] * 15
    assert rulesets.latest(session, SCOPE) is None  # a preview publishes nothing


def test_bad_json_and_bad_rules_are_shown_not_500(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    for action in ("preview", "publish"):
        broken = client.post(
            "/checkpoints/rules", data={"scope": SCOPE, "rules": '[{"verdict": ', "action": action}
        )
        assert broken.status_code == 422
        assert "JSON" in error(broken.text)
        assert textarea(broken.text) == '[{"verdict":'  # what was typed is kept
    rules = copy.deepcopy(entry_rules.DEFAULT_RULES)
    rules[3]["if"] = {"origin_zone_level_at_least": "ba"}
    bad = client.post(
        "/checkpoints/rules", data={"scope": SCOPE, "rules": json.dumps(rules), "action": "publish"}
    )
    assert bad.status_code == 422
    assert "rules.3.if.origin_zone_level_at_least" in error(bad.text)
    assert rulesets.latest(session, SCOPE) is None


def test_publish_with_a_note_then_history_and_loading_an_old_version(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    form = {"scope": SCOPE, "rules": json.dumps(EVERYONE_TESTED), "action": "publish"}
    done = client.post("/checkpoints/rules", data={**form, "note": "Siết chặt"})
    assert done.status_code == 200
    assert "notice=published" in str(done.url)
    again = client.post("/checkpoints/rules", data={**form, "note": "Siết chặt"})
    assert again.status_code == 200
    assert [v.version for v in rulesets.versions(session, SCOPE)] == [1]
    client.post(
        "/checkpoints/rules",
        data={**form, "rules": json.dumps(entry_rules.DEFAULT_RULES), "note": "Nới lỏng"},
    )
    page = client.get(f"/checkpoints/rules?scope={SCOPE}")
    history = re.search(r'<table id="rule-versions">(.*?)</table>', page.text, re.S)
    assert history
    for shown in ("v2", "v1", "Siết chặt", "Nới lỏng"):
        assert shown in history.group(1)
    old = client.get(f"/checkpoints/rules?scope={SCOPE}&version=1")
    assert "Rapid test at the lane" in old.text
    assert preview_cells(old.text)[0] == "pass"  # published (v2) is the default again


def test_scopes_follow_the_jurisdiction_and_the_role(
    client: TestClient, session: Session, gate: Gate
) -> None:
    sign_in(client, session, Role.DISTRICT_OFFICER, HOAN_KIEM)
    assert (
        client.get(f"/checkpoints/rules?scope=checkpoint:{gate.checkpoint.code}").status_code == 404
    )
    assert client.get("/checkpoints/rules?scope=nonsense").status_code == 422
    default = client.get("/checkpoints/rules?scope=default")
    assert default.status_code == 200
    assert 'value="publish"' not in default.text  # only a national administrator
    refused = client.post(
        "/checkpoints/rules",
        data={"scope": "default", "rules": json.dumps(EVERYONE_TESTED), "action": "publish"},
    )
    assert refused.status_code == 403
    sign_in(client, session, Role.CHECKPOINT_OFFICER, BA_DINH)
    page = client.get(f"/checkpoints/rules?scope=checkpoint:{gate.checkpoint.code}")
    assert page.status_code == 200
    assert 'value="publish"' not in page.text
    refused = client.post(
        "/checkpoints/rules",
        data={
            "scope": f"checkpoint:{gate.checkpoint.code}",
            "rules": json.dumps(EVERYONE_TESTED),
            "action": "publish",
        },
    )
    assert refused.status_code == 403
