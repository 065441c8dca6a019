"""Bad input at every door: a body too large for its door is refused unread
(413), whether it says its length or comes in chunks; a refusal quotes what
a client sent only bounded and with its control characters written out; JSON
that could be read two ways (a key twice, NaN, a byte order mark, UTF-16) is
refused with its own code, never a 500 and never silently taken."""

from __future__ import annotations

import io

import pytest

from core.models import Role
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

MB = 1024 * 1024


def _code(response) -> str:
    body = response.json()
    if body.get("resourceType") == "OperationOutcome":
        return body["issue"][0]["details"]["coding"][0]["code"]
    return body["error"]["code"]


def _padded(size: int) -> bytes:
    return b'{"resourceType": "Condition", "username": "' + b"a" * size + b'", "password": "x"}'


class CountingInput(io.BytesIO):
    """The request's input stream, remembering how much of it was read."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


def _clients(api_client):
    coordinator = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    nurse = f.client_for(f.staff(Role.ACUTE_NURSE, f.acute_function()))
    return {
        "/api/auth/token": api_client,
        "/api/acute/referrals": coordinator,
        "/fhir/Condition": nurse,
        "/fhir/$process-message": api_client,
    }


@pytest.mark.parametrize(
    ("path", "size"),
    [
        ("/api/auth/token", 5 * MB),
        ("/api/acute/referrals", 5 * MB),
        ("/api/auth/token", 50 * MB),
        ("/fhir/Condition", 50 * MB),
        ("/fhir/$process-message", 50 * MB),
    ],
)
def test_a_body_too_large_for_its_door_is_refused_unread(api_client, path, size) -> None:
    raw = _padded(size)
    stream = CountingInput(raw)
    content_type = "application/fhir+json" if path.startswith("/fhir/") else "application/json"
    response = _clients(api_client)[path].generic(
        "POST", path, raw, content_type=content_type, **{"wsgi.input": stream}
    )
    assert response.status_code == 413, response.content[:300]
    assert _code(response) == "request.too_large"
    assert stream.taken == 0
    if path.startswith("/fhir/"):
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["code"] == "too-long"


@pytest.mark.parametrize("path", ["/api/auth/token", "/fhir/Condition"])
def test_a_chunked_body_too_large_is_refused_after_the_limit_not_read_whole(
    api_client, settings, path
) -> None:
    raw = _padded(20 * MB)
    stream = CountingInput(raw)
    response = _clients(api_client)[path].generic(
        "POST",
        path,
        b"",
        content_type="application/json",
        **{
            "CONTENT_LENGTH": "",
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input": stream,
            "wsgi.input_terminated": True,
        },
    )
    assert response.status_code == 413, response.content[:300]
    assert _code(response) == "request.too_large"
    assert stream.taken <= settings.REQUEST_MAX_JSON_BYTES + 1


def test_a_small_chunked_body_is_read_not_taken_for_empty(api_client) -> None:
    raw = b'{"username": "nobody", "password": "x"}'
    response = api_client.generic(
        "POST",
        "/api/auth/token",
        b"",
        content_type="application/json",
        **{
            "CONTENT_LENGTH": "",
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input": io.BytesIO(raw),
            "wsgi.input_terminated": True,
        },
    )
    # Read as the login it is (a wrong one), not as a body missing its fields.
    assert response.status_code == 401, response.content[:300]
    assert _code(response) == "auth.invalid_credentials"


def test_a_page_form_over_djangos_limit_is_413_too(client, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    response = client.post("/login/", {"username": "a" * 10_000, "password": "x"})
    assert response.status_code == 413
    assert response.content.count(b"a" * 200) == 0


LONG = "x" * 100_000
NASTY = "<script>alert(1)</script>\x07\x1b[31m\u202e"


@pytest.mark.parametrize("value", [LONG, NASTY])
def test_an_enum_value_is_quoted_back_bounded_and_without_control_characters(
    api_client, value
) -> None:
    response = api_client.post(
        "/api/auth/token", {"username": "a", "password": "b", "role": value}, format="json"
    )
    assert response.status_code == 400
    assert len(response.content) < 2_000
    text = response.json()["error"]["message"]
    assert "x" * 101 not in text
    for control in ("\x07", "\x1b", "\u202e"):
        assert control not in text


def test_a_platform_refusal_quotes_a_value_without_control_characters() -> None:
    value = "\x1b[31m\u202e<b>"
    nurse = f.client_for(f.staff(Role.ACUTE_NURSE, f.acute_function()))
    response = nurse.get("/fhir/Condition", {f"code:{value}": "x"})
    assert response.status_code == 400, response.content[:300]
    # Refused at the door, before the search reads the parameter's name.
    assert _code(response) == "request.control_character"
    assert len(response.content) < 3_000
    issue = response.json()["issue"][0]
    for text in (issue["details"]["text"], issue.get("diagnostics", "")):
        assert "x" * 101 not in text
        for control in ("\x07", "\x1b", "\u202e"):
            assert control not in text


EDGE_CASES = [
    (b'{"username": "a", "username": "nobody", "password": "x"}', "request.duplicate_key"),
    (b'{"username": NaN, "password": "x"}', "request.number_not_finite"),
    (b'{"username": "a", "password": -Infinity}', "request.number_not_finite"),
    (b'\xef\xbb\xbf{"username": "a", "password": "x"}', "request.byte_order_mark"),
    ('{"username": "a", "password": "x"}'.encode("utf-16"), "request.not_utf8"),
    ('{"username": "a", "password": "x"}'.encode("utf-16-le"), "request.not_utf8"),
    (b'{"username": "\xff", "password": "x"}', "request.not_utf8"),
]


@pytest.mark.parametrize(("raw", "code"), EDGE_CASES)
def test_json_that_reads_two_ways_is_refused_on_api(api_client, raw, code) -> None:
    response = api_client.post("/api/auth/token", raw, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert _code(response) == code


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"resourceType": "Condition", "resourceType": "Patient"}', "request.duplicate_key"),
        (
            b'{"resourceType": "Condition", "note": [{"text": "a", "text": "b"}]}',
            "request.duplicate_key",
        ),
        *[(raw.replace(b'"username"', b'"resourceType"'), code) for raw, code in EDGE_CASES[1:]],
    ],
)
def test_json_that_reads_two_ways_is_refused_on_fhir(raw, code) -> None:
    nurse = f.client_for(f.staff(Role.ACUTE_NURSE, f.acute_function()))
    response = nurse.post("/fhir/Condition", raw, content_type="application/fhir+json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["resourceType"] == "OperationOutcome"
    assert _code(response) == code


def test_a_duplicate_key_is_named_bounded(api_client) -> None:
    key = "k" * 5_000
    raw = f'{{"{key}": 1, "{key}": 2}}'.encode()
    response = api_client.post("/api/auth/token", raw, content_type="application/json")
    assert _code(response) == "request.duplicate_key"
    assert len(response.content) < 1_000


@pytest.mark.parametrize("path", ["/api/acute/referrals", "/fhir/Condition"])
def test_a_url_longer_than_the_platform_reads_is_414_in_the_doors_own_form(
    api_client, path
) -> None:
    """A query string of 5,000 bytes: refused before any view with the door's
    error (the envelope, an OperationOutcome), never the server's plain text;
    one a little shorter is read as usual."""
    client = _clients(api_client)[path]
    response = client.get(path, {"q": "x" * 5000})
    assert response.status_code == 414, response.content[:300]
    assert _code(response) == "request.uri_too_long"
    if path.startswith("/fhir/"):
        assert response.json()["issue"][0]["code"] == "too-long"
    else:
        assert "4096" in response.json()["error"]["message"]
    assert client.get(path, {"q": "x" * 3000}).status_code != 414


def test_a_page_address_too_long_is_told_in_danish(client) -> None:
    response = client.get("/login/", {"next": "/" + "a" * 5000})
    assert response.status_code == 414
    assert "Adressen er for lang." in response.content.decode()


@pytest.mark.parametrize("path", ["/api/auth/token", "/fhir/Condition", "/fhir/$process-message"])
@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "gzip, identity"])
def test_a_compressed_body_is_refused_unread_with_415_on_every_door(
    api_client, path, coding
) -> None:
    """A partner's FHIR client set to compress its requests: its gzip bytes
    were read as JSON and refused as "UTF-16 was sent" (gzip's fourth byte is
    NUL), or, for a coding whose bytes parse, taken as if sent plain. Now one
    precise 415 that says what the platform takes, before the body is read."""
    import gzip

    raw = gzip.compress(b'{"resourceType": "Condition", "username": "a", "password": "x"}')
    stream = CountingInput(raw)
    content_type = "application/fhir+json" if path.startswith("/fhir/") else "application/json"
    response = _clients(api_client)[path].generic(
        "POST",
        path,
        raw,
        content_type=content_type,
        HTTP_CONTENT_ENCODING=coding,
        **{"wsgi.input": stream},
    )
    assert response.status_code == 415, response.content[:300]
    assert _code(response) == "request.content_encoding_unsupported"
    assert response["Accept-Encoding"] == "identity"
    assert stream.taken == 0
    if path.startswith("/fhir/"):
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["code"] == "not-supported"
        assert outcome["issue"][0]["details"]["text"] == (
            f"Indholdet er sendt med Content-Encoding {coding.removesuffix(', identity')};"
            " send det ukomprimeret (identity)."
        )
    plain = _clients(api_client)[path].generic(
        "POST", path, b"{}", content_type=content_type, HTTP_CONTENT_ENCODING="identity"
    )
    assert plain.status_code != 415, plain.content[:300]


def test_a_compressed_page_form_is_refused_in_danish(client) -> None:
    response = client.generic(
        "POST",
        "/login/",
        b"username=a&password=b",
        content_type="application/x-www-form-urlencoded",
        HTTP_CONTENT_ENCODING="gzip",
    )
    assert response.status_code == 415
    assert "Send forespørgslen ukomprimeret (uden Content-Encoding)." in response.content.decode()
