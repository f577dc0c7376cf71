"""The webhook a subscriber really receives: a real receiver on 127.0.0.1, subscribed to the mock."""
import pytest

from capillary_contract.receiver import Receiver


@pytest.fixture
def receiver(capillary):
    with Receiver() as hook:
        capillary.subscribe(hook.url)
        yield hook


def test_the_subscriber_receives_every_state_change(capillary, receiver):
    request = capillary.create("EARN-BADGE")
    capillary.approve(request)
    sent = capillary.events(request["requestId"])          # waits until delivered: no sleeps
    received = receiver.accepted()
    assert received == sent
    assert [e["data"]["currentRequestState"] for e in received] == ["AdminTask", "approved"]
    assert {e["data"]["requestType"] for e in received} == {"EARN_BADGE"}
