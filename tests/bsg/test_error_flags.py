"""The error model's table (bsg/errors.py) as the engine reads it: three flags a class."""

import pytest

from bsg import errors

TABLE = {
    # class: (permanent, may_have_been_accepted, refuses_the_request)
    errors.BsgRejected: (True, False, True),
    errors.BsgNotFound: (True, False, True),
    errors.BsgNotAuthorised: (True, False, False),
    errors.BsgNoApiKey: (True, False, False),
    errors.BsgRateLimited: (False, True, False),
    errors.BsgUnavailable: (False, False, False),
    errors.BsgOutcomeUnknown: (False, True, False),
    errors.BsgBadResponse: (False, False, False),
}


@pytest.mark.parametrize(("kind", "flags"), TABLE.items(), ids=lambda value: str(value))
def test_each_error_carries_the_flags_its_docstring_promises(kind, flags):
    assert (kind.permanent, kind.may_have_been_accepted, kind.refuses_the_request) == flags


def test_every_error_class_is_in_the_table():
    classes = {
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.BsgError)
    }
    assert classes - {errors.BsgError} == set(TABLE)


def test_only_a_refusal_names_fields():
    assert errors.BsgUnavailable("down").errors == {}
    refused = errors.BsgRejected("no", status=422, errors={"reference_id": ["taken"]})
    assert refused.errors == {"reference_id": ["taken"]}
