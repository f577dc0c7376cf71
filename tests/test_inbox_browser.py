"""The browser inbox at /__admin/ui, driven in a real Chromium (Debian's, through Playwright).

One served mock (a real SQLite file, the repository's lifecycle fixtures preloaded, a real webhook
receiver that answers 503 once per event so every event shows a retry) and one browser for the
module; each test starts from the preloaded data. What the page shows is compared with what the
API answers, never with hard-coded lists. Screenshots go under pytest's temp dir; their paths are
printed at the end of the run.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from mockserver.config import DeliveryPolicy, MockConfig, Subscription
from mockserver.testing import RunningMock, serve_in_thread
from capillary_contract.receiver import Receiver, per_event

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
WORKFLOW = "/api_gateway/v2/request-workflow"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WAIT_MS = 10_000  # every wait is bounded


@pytest.fixture(scope="module")
def hook() -> Iterator[Receiver]:
    with Receiver(script=per_event(503)) as receiver:
        yield receiver


@pytest.fixture(scope="module")
def mock(tmp_path_factory, hook) -> Iterator[RunningMock]:
    db = tmp_path_factory.mktemp("inbox") / "state.db"
    config = MockConfig(db=str(db), strict=True, fixtures_dir=FIXTURES, webhooks=(Subscription(hook.url),),
                        delivery=DeliveryPolicy(base_delay_s=0.05, max_delay_s=0.2))
    with serve_in_thread(config) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install chromium (.ci/run does it)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, mock) -> Iterator[Page]:
    """The inbox on preloaded data, polling fast; fails the test on any script error or off-origin fetch."""
    requests.post(mock.base_url + "/__admin/reset?preload=true").raise_for_status()
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    foreign: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("request", lambda r: None if r.url.startswith(mock.base_url) else foreign.append(r.url))
    tab.goto(mock.base_url + "/__admin/ui?poll=200")
    yield tab
    context.close()
    assert not errors, errors
    assert not foreign, f"the inbox fetched from elsewhere: {foreign}"


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("inbox-screenshots")


@pytest.fixture
def shoot(screenshots, record_property):
    """Save a screenshot under the temp dir and list it in the run's summary (see conftest.py)."""
    folder = screenshots

    def take(tab: Page, name: str) -> Path:
        path = folder / f"{name}.png"
        tab.screenshot(path=str(path))
        record_property("screenshot", str(path))
        print(f"screenshot: {path}")
        return path
    return take


def api(mock: RunningMock, user: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, mock.base_url + WORKFLOW + path, headers=mock.headers(user), timeout=10, **kwargs)


def create(mock: RunningMock, user: str, url_type: str) -> dict[str, Any]:
    """A pending request raised with the first valid fixture body of the type."""
    body = json.loads(sorted((FIXTURES / "requests" / "valid" / url_type).glob("*.json"))[0].read_text())["body"]
    answer = api(mock, user, "POST", f"/{url_type}", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def listed(mock: RunningMock, **params: Any) -> dict[str, Any]:
    query = {"limit": 12, "sortBy": "startDate", "sortOrder": "desc", **params}
    answer = api(mock, "supervisor", "GET", "/requests", params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def shown_ids(tab: Page) -> list[str]:
    return tab.locator("#request-list .row").evaluate_all("rows => rows.map(r => r.dataset.id)")


def expect_rows(tab: Page, ids: list[str]) -> None:
    tab.wait_for_function("ids => JSON.stringify([...document.querySelectorAll('#request-list .row')]"
                          ".map(r => r.dataset.id)) === JSON.stringify(ids)", arg=ids, timeout=WAIT_MS)


def user_id(mock: RunningMock, name: str) -> int:
    users = requests.get(mock.base_url + "/__admin/users", timeout=10).json()["users"]
    return next(u["id"] for u in users if u["username"] == name)


# ---------------------------------------------------------------------------------------- tests
def test_lists_newest_first_filters_by_state_type_and_maker_and_pages(page, mock, shoot):
    fresh = [create(mock, user, t) for t in ("GOODWILL-POINTS", "EARN-BADGE") for user in ("maker", "supervisor")]
    expect_rows(page, [d["requestId"] for d in listed(mock)["data"]])
    assert shown_ids(page)[0] == fresh[-1]["requestId"]  # the newest first
    shoot(page, "01-list")

    page.get_by_role("group", name="State").get_by_role("button", name=re.compile("^Pending")).click()
    expect_rows(page, [d["requestId"] for d in listed(mock, states="AdminTask")["data"]])
    page.select_option("#filter-type", "GOODWILL-POINTS")
    expect_rows(page, [d["requestId"] for d in listed(mock, states="AdminTask", requestType="GOODWILL-POINTS")["data"]])
    supervisor = user_id(mock, "supervisor")
    page.select_option("#filter-maker", str(supervisor))
    expected = listed(mock, states="AdminTask", requestType="GOODWILL-POINTS", userId=supervisor)["data"]
    assert expected and all(d["userId"] == supervisor for d in expected)
    expect_rows(page, [d["requestId"] for d in expected])
    assert "state=AdminTask" in page.url and "type=GOODWILL-POINTS" in page.url  # a filtered view is a link
    shoot(page, "02-list-filtered")

    page.goto(mock.base_url + "/__admin/ui?poll=200#/requests")
    total = listed(mock)["pagination"]["totalElements"]
    assert total > 12, "the preloaded fixtures and the new requests fill more than a page"
    expect(page.locator(".pager-text")).to_have_text(f"1–12 of {total}")
    page.get_by_role("button", name="Older →").click()
    expect_rows(page, [d["requestId"] for d in listed(mock, PageNo=1)["data"]])
    expect(page.locator(".pager-text")).to_have_text(f"13–{min(24, total)} of {total}")


def test_details_show_the_timeline_and_grow_without_a_reload(page, mock, shoot):
    doc = create(mock, "maker", "POINTS-REDEMPTION")
    page.locator(f'.row[data-id="{doc["requestId"]}"]').click()
    detail = page.locator("#request-detail")
    expect(detail.locator("h1")).to_have_text("Points redemption")
    expect(detail.locator('.step[data-step="AdminTask"]')).to_have_class(re.compile("waiting"))
    expect(detail.locator('.step[data-step="ValidatePayload"]')).to_have_class(re.compile("done"))
    for spelling in ("POINTS-REDEMPTION", "points-redemption", "POINTS_REDEMPTION"):
        expect(detail.locator(".spellings")).to_contain_text(spelling)
    shoot(page, "03-detail-pending")

    # Another client (the app under development) approves it: the open page follows.
    decision = {"requestId": doc["requestId"], "actionName": "AdminTask",
                "payload": {"AdminTask-Payload": {"actionDecision": "approved", "actionMessage": "from the app"}}}
    answer = api(mock, "checker", "PUT", "/POINTS-REDEMPTION", json=decision)
    assert answer.status_code == 200, answer.text
    final = answer.json()["data"]
    expect(detail.locator(".pill").first).to_have_text(final["state"].capitalize())
    expect(detail.locator('.step[data-step="AdminTask"]')).to_contain_text("from the app")
    expect(detail.locator('.step[data-step="IntouchAPITask"]')).to_contain_text(
        f'answered {final["details"]["IntouchAPITask_Output"]["status"]}')
    expect(detail.locator(".decide")).to_have_count(0)
    shoot(page, "04-detail-decided-elsewhere")


def test_approves_as_the_chosen_checker_with_a_message(page, mock, shoot):
    doc = create(mock, "maker", "GOODWILL-POINTS")
    page.locator(f'.row[data-id="{doc["requestId"]}"]').click()
    card = page.locator(".decide")
    card.locator("select").select_option("supervisor")
    message = "approved by the supervisor ✅ ünïcode"
    card.locator("textarea").fill(message)
    card.get_by_role("button", name="Approve").click()
    expect(page.locator("#request-detail .pill").first).to_have_text(re.compile("Approved|Failed"))
    shoot(page, "05-approved-as-supervisor")

    stored = api(mock, "checker", "GET", f"/requests/{doc['requestId']}").json()["data"]
    assert stored["details"]["AdminTask-Payload"] == {"actionDecision": "approved", "actionMessage": message}
    events = requests.get(mock.base_url + "/__admin/events", params={"requestId": doc["requestId"]}, timeout=10).json()
    decided = [e["event"]["data"] for e in events["events"] if e["event"]["data"].get("checkerId")]
    assert [e["checkerId"] for e in decided] == [user_id(mock, "supervisor")]
    expect(page.locator('#request-detail .step[data-step="AdminTask"]')).to_contain_text("by supervisor")


def test_the_maker_is_refused_then_a_checker_rejects(page, mock, shoot):
    doc = create(mock, "supervisor", "EARN-BADGE")
    page.locator(f'.row[data-id="{doc["requestId"]}"]').click()
    card = page.locator(".decide")
    card.locator("select").select_option("supervisor")  # the maker of this request
    card.get_by_role("button", name="Approve").click()
    expect(card.locator(".result-error")).to_contain_text("HTTP 403")
    expect(card.locator(".result-error")).to_contain_text("2001")
    shoot(page, "06-maker-refused")

    card.locator("select").select_option("checker")
    card.locator("textarea").fill("badge not earned yet")
    card.get_by_role("button", name="Reject").click()
    expect(page.locator("#request-detail .pill").first).to_have_text("Rejected")
    stored = api(mock, "checker", "GET", f"/requests/{doc['requestId']}").json()["data"]
    assert stored["state"] == "rejected"
    assert stored["details"]["AdminTask-Payload"]["actionMessage"] == "badge not earned yet"
    expect(page.locator('#request-detail .step[data-step="IntouchAPITask"]')).to_contain_text("not called")
    shoot(page, "07-rejected")


def test_a_forced_failure_is_queued_and_used_by_the_next_approval(page, mock, shoot):
    requests.delete(mock.base_url + "/__admin/faults", timeout=10)
    doc = create(mock, "maker", "ISSUE-BADGE")
    page.get_by_role("link", name=re.compile("^Faults")).click()
    expect(page.locator("#fault-list .empty")).to_be_visible()
    form = page.locator("#fault-form")
    form.get_by_text("Failure", exact=True).click()
    form.locator("#fault-type").select_option("ISSUE-BADGE")
    form.get_by_role("button", name="Queue outcome").click()
    expect(page.locator("#fault-list tbody tr")).to_have_count(1)
    faults = requests.get(mock.base_url + "/__admin/faults", timeout=10).json()["faults"]
    assert [(f["outcome"], f["requestType"], f["remaining"]) for f in faults] == [("failure", "ISSUE-BADGE", 1)]
    expect(page.locator('[data-count="faults"]')).to_have_text("1")
    shoot(page, "08-fault-queued")

    page.goto(mock.base_url + f"/__admin/ui?poll=200#/requests?id={doc['requestId']}")
    card = page.locator(".decide")
    expect(card.locator(".fault-hint")).to_contain_text("forced: failure")
    card.get_by_role("button", name="Approve").click()
    expect(page.locator("#request-detail .pill").first).to_have_text("Failed")
    expect(page.locator('#request-detail .step[data-step="IntouchAPITask"]')).to_have_class(re.compile("bad"))
    assert requests.get(mock.base_url + "/__admin/faults", timeout=10).json()["faults"] == []
    shoot(page, "09-forced-failure")


def test_events_show_deliveries_and_retries(page, mock, shoot):
    doc = create(mock, "maker", "CUSTOMER-STATUS-CHANGE")
    settled = requests.get(mock.base_url + "/__admin/events", timeout=15,
                           params={"requestId": doc["requestId"], "waitFor": "all", "timeout": 10}).json()
    assert not settled.get("timedOut")
    [event] = settled["events"]
    [delivery] = event["deliveries"]
    assert delivery["state"] == "delivered" and delivery["attempts"] == 2  # the receiver said 503 once

    page.get_by_role("link", name="Events").click()
    row = page.locator(f'tr[data-event="{event["eventId"]}"]')
    expect(row).to_contain_text("delivered after 2 tries")
    row.locator("td").first.click()
    attempts = page.locator("#event-list .attempts li")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(0)).to_contain_text("HTTP 503")
    expect(attempts.nth(1)).to_contain_text("HTTP 200")
    expect(page.locator("#subscriptions")).to_contain_text(delivery["url"])
    shoot(page, "10-events")


def test_journal_shows_the_apps_calls_not_the_inboxs_own_reads(page, mock, shoot):
    marker = "journal-marker-ref"
    body = json.loads(sorted((FIXTURES / "requests" / "valid" / "RETRO-TRANSACTION").glob("*.json"))[0].read_text())["body"]
    body["payload"]["IntouchAPITask-Payload"]["body"]["notes"] = marker
    assert api(mock, "maker", "POST", "/RETRO-TRANSACTION", json=body).status_code == 200
    page.wait_for_timeout(600)  # let the inbox poll a few times
    page.get_by_role("link", name="Journal").click()
    rows = page.locator("#journal-list tbody tr")
    expect(rows.first).to_contain_text("/RETRO-TRANSACTION")
    entries = requests.get(mock.base_url + "/__admin/journal", timeout=10).json()["entries"]
    assert entries[0]["method"] == "POST" and entries[0]["path"].endswith("/RETRO-TRANSACTION")
    assert all(e["headers"].get("X-Mock-Inbox") is None for e in entries)
    rows.first.click()
    expect(page.locator("#journal-list pre").nth(1)).to_contain_text(marker)
    expect(page.locator("#journal-list pre").nth(2)).to_contain_text('"state": "AdminTask"')  # the answer too
    expect(page.locator("#journal-list pre").first).to_contain_text("***")  # credentials masked
    shoot(page, "11-journal")


def test_reset_empties_the_mock_and_back_to_the_preloaded_data(page, mock, shoot):
    create(mock, "maker", "GOODWILL-POINTS")
    preloaded = listed(mock)["pagination"]["totalElements"] - 1
    page.locator("#reset-button").click()
    shoot(page, "12-reset-menu")
    page.locator('[data-reset="empty"]').click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#request-list .empty h2")).to_have_text("The inbox is empty")
    assert listed(mock)["pagination"]["totalElements"] == 0
    shoot(page, "13-empty")

    page.locator("#reset-button").click()
    page.locator('[data-reset="preload"]').click()
    page.locator("#confirm-ok").click()
    expect(page.locator(".pager-text")).to_have_text(re.compile(f"of {preloaded}$"))
    assert listed(mock)["pagination"]["totalElements"] == preloaded
