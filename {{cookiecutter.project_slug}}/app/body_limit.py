"""A cap on the size of request bodies, enforced before a body is read into memory."""

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOO_LARGE = "Request body too large"
# A number, not Starlette's constant: its name changed between versions.
CONTENT_TOO_LARGE = 413


class BodySizeLimit:
    """Answer 413 to a request whose body is larger than `max_bytes`.

    A declared `Content-Length` over the limit is refused before any of the body is read;
    a body sent without one (chunked) is counted as it arrives and refused once over.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = JSONResponse({"detail": TOO_LARGE}, status_code=CONTENT_TOO_LARGE)
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # FastAPI lets an HTTPException from reading the body through as is.
                raise HTTPException(CONTENT_TOO_LARGE, TOO_LARGE)
            return message

        await self.app(scope, counting_receive, send)
