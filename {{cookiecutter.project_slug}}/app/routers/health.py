"""Health checks: `/health` asks the database (readiness), `/health/live` does not."""

from fastapi import APIRouter, Response, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.database import SessionDep

router = APIRouter(tags=["health"])


@router.get("/health", responses={503: {"model": dict[str, str]}})
async def health(session: SessionDep, response: Response) -> dict[str, str]:
    """Whether the service can do its work: 503 while the database does not answer."""
    try:
        await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "unavailable", "database": "unreachable"}
    return {"status": "ok", "database": "ok"}


@router.get("/health/live")
async def liveness() -> dict[str, str]:
    """Whether the process answers at all, for liveness probes; the database is not asked."""
    return {"status": "ok"}
