"""Odd numbers in URLs and query strings are "not found" or ignored, never a server error."""
import lxml.html
import pytest

HUGE = "99999999999999999999"  # past SQLite's 64-bit integers


@pytest.mark.parametrize("path", [
    f"/units/{HUGE}/ledger", f"/ledger/rows/{HUGE}", f"/activities/{HUGE}", f"/files/{HUGE}",
    f"/admin/users/{HUGE}/edit", f"/plans/{HUGE}",
])
def test_huge_ids_in_the_path_are_not_found(client, login_as, path):
    login_as("admin")
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", [
    f"/activities/?unit={HUGE}", f"/activities/?page={HUGE}", "/activities/?kind=%C2%B2",
    f"/ledger/changes?user={HUGE}", "/ledger/changes?page=%C2%B2", f"/admin/users?unit={HUGE}",
    "/admin/users?unit=%C2%B2", f"/units/1/ledger?plan={HUGE}", f"/reports/activities.xlsx?kind={HUGE}",
])
def test_odd_numbers_in_the_query_string_are_ignored(client, login_as, org, path):
    login_as("admin")
    path = path.replace("/units/1/", f"/units/{org.units['general']}/")
    assert client.get(path).status_code == 200


def test_activity_month_filter_in_year_9999_is_ignored(client, login_as, org):
    login_as("admin")
    response = client.get("/activities/?month=9999-12")
    assert response.status_code == 200
    assert lxml.html.fromstring(response.get_data(as_text=True)).xpath("//main")

