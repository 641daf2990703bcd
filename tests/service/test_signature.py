"""Webhook signature verification, checked against the example in GitHub's documentation."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.service.signature import signature, verify
from tests.support import signing

# https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
DOC_SECRET = b"It's a Secret to Everybody"
DOC_BODY = b"Hello, World!"
DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_githubs_documented_example_verifies() -> None:
    assert signature(DOC_SECRET, DOC_BODY) == DOC_SIGNATURE
    assert verify(DOC_SECRET, DOC_BODY, DOC_SIGNATURE)


def test_missing_prefixless_or_sha1_signatures_fail() -> None:
    assert not verify(DOC_SECRET, DOC_BODY, None)
    assert not verify(DOC_SECRET, DOC_BODY, "")
    assert not verify(DOC_SECRET, DOC_BODY, DOC_SIGNATURE.removeprefix("sha256="))
    assert not verify(DOC_SECRET, DOC_BODY, "sha1=" + DOC_SIGNATURE.removeprefix("sha256="))


@given(body=st.binary(max_size=512), flip=st.integers(min_value=0, max_value=511))
def test_any_changed_byte_fails_verification(body: bytes, flip: int) -> None:
    header = signing.signature(body)
    assert verify(signing.TEST_SECRET.encode(), body, header)
    if body:
        i = flip % len(body)
        tampered = body[:i] + bytes([body[i] ^ 1]) + body[i + 1 :]
        assert not verify(signing.TEST_SECRET.encode(), tampered, header)
