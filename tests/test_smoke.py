from tests.factories import login, make_organisation, make_user


def test_learner_sees_my_learning(client):
    organisation = make_organisation()
    learner = make_user(organisation)
    response = login(client, learner).get("/learning")
    assert response.status_code == 200
    assert b"Partner Onboarding Essentials" in response.data
