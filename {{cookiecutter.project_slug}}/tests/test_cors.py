"""CORS: the origins CORS_ORIGINS lists get working preflights; any other gets no CORS header."""

from collections.abc import AsyncIterator

import pytest
from httpx import ASGITransport, AsyncClient, Response

from app.config import Settings
from app.cors import ListedOriginsCORS
from app.main import app

FRONT_END = "http://localhost:5173"
ELSEWHERE = "https://elsewhere.example"


def cors_headers(response: Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


@pytest.fixture
async def front_end_client() -> AsyncIterator[AsyncClient]:
    """The app as it runs with CORS_ORIGINS naming the front end."""
    served = ListedOriginsCORS(app, [FRONT_END])
    async with AsyncClient(transport=ASGITransport(app=served), base_url="http://test") as client:
        yield client


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }


async def test_a_listed_origin_gets_a_preflight_for_a_signed_in_request(
    front_end_client: AsyncClient,
) -> None:
    response = await front_end_client.options("/posts/", headers=preflight(FRONT_END))
    assert response.status_code == 200
    headers = cors_headers(response)
    assert headers["access-control-allow-origin"] == FRONT_END
    assert headers["access-control-allow-credentials"] == "true"
    assert "authorization" in headers["access-control-allow-headers"].lower()
    assert "POST" in headers["access-control-allow-methods"]


async def test_a_listed_origin_may_read_the_next_page_link(front_end_client: AsyncClient) -> None:
    response = await front_end_client.get("/health/live", headers={"Origin": FRONT_END})
    headers = cors_headers(response)
    assert headers["access-control-allow-origin"] == FRONT_END
    assert "link" in headers["access-control-expose-headers"].lower()


async def test_an_unlisted_origin_gets_no_cors_header(front_end_client: AsyncClient) -> None:
    response = await front_end_client.options("/posts/", headers=preflight(ELSEWHERE))
    assert response.status_code != 200
    assert cors_headers(response) == {}
    response = await front_end_client.get("/health/live", headers={"Origin": ELSEWHERE})
    assert response.status_code == 200
    assert cors_headers(response) == {}


async def test_by_default_no_origin_gets_a_cors_header() -> None:
    assert Settings(_env_file=None, secret_key="k" * 32).cors_origins == []
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        response = await client.options("/posts/", headers=preflight(FRONT_END))
    assert cors_headers(response) == {}


def test_cors_origins_are_read_comma_separated() -> None:
    settings = Settings(
        _env_file=None, secret_key="k" * 32, cors_origins=f" {FRONT_END}/, {ELSEWHERE} "
    )
    assert settings.cors_origins == [FRONT_END, ELSEWHERE]
