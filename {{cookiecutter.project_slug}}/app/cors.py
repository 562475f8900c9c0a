"""CORS for the browser front ends on other origins that CORS_ORIGINS lists.

Starlette's CORSMiddleware answers the listed origins; every other request, from an
unlisted origin or from no browser at all, goes straight to the app and gets no CORS
header, so a browser on an unlisted origin is refused before its request is sent.
"""

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

# What a front end's requests carry, and the response headers its code may read: the next
# page's address, the request id to quote in a report, when to retry after a 503.
REQUEST_HEADERS = ["Authorization", "Content-Type", "X-Request-ID"]
EXPOSED_HEADERS = ["Link", "X-Request-ID", "Retry-After"]


class ListedOriginsCORS:
    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.origins = set(origins)
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=REQUEST_HEADERS,
            expose_headers=EXPOSED_HEADERS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        listed = (
            bool(self.origins)  # none listed (the default): nothing to look up
            and scope["type"] == "http"
            and Headers(scope=scope).get("origin") in self.origins
        )
        await (self.cors if listed else self.app)(scope, receive, send)
