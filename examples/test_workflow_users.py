"""Your own users: a test marked `capillary_users` gets a mock of its own serving that users file."""
import pytest

TYPE = "ISSUE-BADGE"


@pytest.mark.capillary_users("users.yaml")  # next to this file
def test_the_teams_own_maker_and_checker(capillary):
    request = capillary.create(TYPE, user="ann")
    assert capillary.approve(request, user="bob")["state"] == "approved"
    capillary.assert_error(capillary.decide(request, "rejected", user="bob"), 2002)  # decided already


@pytest.mark.capillary_users("users.yaml")
def test_the_default_users_are_gone_there(capillary):
    answer = capillary.session("ann").get("/api_gateway/v2/request-workflow/requests")
    assert answer.status_code == 200
    with pytest.raises(KeyError, match="no login for 'maker'"):
        capillary.session("maker")
