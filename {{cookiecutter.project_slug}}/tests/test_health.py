"""GET /health says whether the database answers; GET /health/live does not ask it."""

from httpx import AsyncClient


async def test_health_is_ok_when_the_database_answers(client: AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_health_is_unavailable_when_the_database_is_down(
    client_without_database: AsyncClient,
) -> None:
    response = await client_without_database.get("/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}


async def test_liveness_answers_while_the_database_is_down(
    client_without_database: AsyncClient,
) -> None:
    response = await client_without_database.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
