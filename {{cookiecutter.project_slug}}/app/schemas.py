"""Request and response bodies.

Response models declare plain types (`str`, not `EmailStr`) for what the database already
guarantees, so answers are not re-validated on the way out. Request models take what
their JSON Schema says and nothing else: `"published": 0` or `"dir": "1"` is refused, not
quietly converted.
"""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back its UTC timestamps without a zone; answers always carry one.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]


def _whole_number(value: object) -> object:
    # JSON Schema counts 1.0 as an integer, which strict validation alone would refuse.
    return int(value) if isinstance(value, float) and value.is_integer() else value


JsonInt = Annotated[int, BeforeValidator(_whole_number)]

# PostgreSQL's bigint, the type of every id, holds -2**63 to 2**63 - 1. As bounds, a number
# outside is invalid input in the OpenAPI schema too, not one the database refuses. `lt`,
# as FastAPI writes a body's bounds as floats (2**63 is exact); bounds before the
# validator, or pydantic leaves them out of the schema.
BIGINT_END = 2**63
DatabaseId = Annotated[int, Field(ge=-BIGINT_END, lt=BIGINT_END), BeforeValidator(_whole_number)]


class StrictInput(BaseModel):
    """A request body: no strings for numbers, no numbers for booleans."""

    model_config = ConfigDict(strict=True)


class UserCreate(StrictInput):
    email: EmailStr
    password: str = Field(min_length=8, max_length=128)


class UserProfile(BaseModel):
    """What anyone signed in may see of a user: never their email (OWASP API3)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: UtcDateTime


class UserAccount(BaseModel):
    """A user's own account, with its email: answered only to that user."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    created_at: UtcDateTime


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name, not a secret


class PostIn(StrictInput):
    title: str = Field(min_length=1, max_length=300)
    content: str = Field(min_length=1, max_length=100_000)
    published: bool = True


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    content: str
    published: bool
    created_at: UtcDateTime
    owner_id: int
    owner: UserProfile
    votes: int


class VoteIn(StrictInput):
    post_id: DatabaseId
    dir: JsonInt = Field(ge=0, le=1, description="1 to vote for the post, 0 to take the vote back")


class Message(BaseModel):
    message: str


class ErrorOut(BaseModel):
    """The body of an error answer, as FastAPI writes an `HTTPException`."""

    detail: str


# The errors' names as RFC 9110 gives them. FastAPI would take Python's, which changed in
# 3.13 (413 was "Request Entity Too Large"), and openapi.json must not depend on the Python.
ERROR_NAMES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    503: "Service Unavailable",
}


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give, each an `ErrorOut`."""
    return {code: {"model": ErrorOut, "description": ERROR_NAMES[code]} for code in status_codes}
