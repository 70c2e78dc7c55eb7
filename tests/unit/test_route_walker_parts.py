"""The route walker's own parts: finding and filling a page's form, and telling the three languages apart."""

from __future__ import annotations

import pytest

from tests.http.walker.forms import error_texts, find_form
from tests.http.walker.runner import speaks

pytestmark = pytest.mark.unit

PAGE = """<!doctype html><html lang="uk"><body>
<form method="get" action=""><input name="q"></form>
<form method="post" action="/s/x/tasks/new" novalidate>
  <input type="hidden" name="_csrf_token" value="tok">
  <input name="title" required>
  <input name="order">
  <input type="number" name="qty_7" min="0">
  <input type="email" name="email" required>
  <select name="priority"><option value="">Choose</option><option value="high">High</option></select>
  <input type="checkbox" name="urgent" checked><input type="checkbox" name="quiet">
  <textarea name="description"></textarea>
  <button type="submit" name="remove" value="1" formaction="/s/x/tasks/preview">x</button>
  <button type="submit" name="action" value="save">Save</button>
</form>
<p class="error" data-testid="error-title">Це поле обов’язкове.</p>
</body></html>"""


def test_the_form_that_posts_to_the_route_is_found_and_filled() -> None:
    form = find_form(PAGE, "/s/x/tasks/new", "/s/x/tasks/new", overrides={"qty_*": "2"})
    assert form is not None and form.method == "post"
    fields = dict(form.fields)
    assert fields["_csrf_token"] == "tok"
    assert fields["title"] == "Walker value" and fields["email"] == "walker@example.com"
    assert fields["order"] == ""  # optional: left as the page shows it
    assert fields["qty_7"] == "2" and fields["priority"] == "high" and fields["urgent"] == "on"
    assert "quiet" not in fields and "remove" not in fields and fields["action"] == "save"
    assert fields["description"] == "Walker note"
    assert "_csrf_token" not in form.editable() and "title" in form.editable()


def test_a_page_without_the_routes_form_gives_none() -> None:
    assert find_form(PAGE, "/s/x/tasks/new", "/s/x/tasks/9/edit") is None
    search = find_form(PAGE, "/s/x/tasks/new", "/s/x/tasks/new", method="get")
    assert search is not None and dict(search.fields) == {"q": ""}


def test_error_texts_are_read_from_the_page() -> None:
    assert error_texts(PAGE) == ["Це поле обов’язкове."]


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("Это поле обязательно.", "ru", True),
        ("Это поле обязательно.", "uk", False),  # ы and э are not Ukrainian letters
        ("Щось пішло не так.", "uk", True),
        ("Щось пішло не так.", "ru", False),  # nor є and і Russian ones
        ("This field is required.", "ru", False),
        ("This field is required.", "en", True),
        ("Это поле обязательно.", "en", False),
        ("404", "uk", True),  # nothing to read
    ],
)
def test_a_message_reads_as_its_language(text: str, locale: str, expected: bool) -> None:
    assert speaks(text, locale) is expected
