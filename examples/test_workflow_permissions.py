"""Who may do what: each refusal has its documented status, code and exact message."""

TYPE = "POINTS-REDEMPTION"


def test_a_maker_cannot_approve_their_own_request(capillary):
    request = capillary.create(TYPE)
    capillary.assert_error(capillary.decide(request, "approved", user="maker"), 2001)   # 403


def test_a_supervisor_may_not_approve_their_own_request_either(capillary):
    request = capillary.create(TYPE, user="supervisor")
    capillary.assert_error(capillary.decide(request, "approved", user="supervisor"), 2001)


def test_another_org_cannot_see_or_decide_a_request(capillary):
    request = capillary.create(TYPE)
    capillary.assert_error(capillary.read(request["requestId"], user="outsider"), 2007, 404)
    capillary.assert_error(capillary.decide(request, "rejected", user="outsider"), 2007, 404)


def test_a_viewer_can_neither_raise_nor_decide(capillary):
    answer = capillary.viewer.post("/api_gateway/v2/request-workflow/" + TYPE, json=capillary.body(TYPE))
    capillary.assert_error(answer, 2001)
    request = capillary.create(TYPE)
    capillary.assert_error(capillary.decide(request, "approved", user="viewer"), 2001)


def test_a_decided_request_stays_decided(capillary):
    request = capillary.create(TYPE)
    capillary.reject(request)
    capillary.assert_error(capillary.decide(request, "approved"), 2002)                   # 409
