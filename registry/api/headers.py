"""The security headers of every response (pages, API answers, problem+json and the 500 answer): the
Content-Security-Policy that keeps every page to this origin and the others below. A leaf: the error handlers
(``problems``) and the pages' middleware (``web``) both use it."""

from __future__ import annotations

# Everything from this origin only. The pages need no inline script or style; Swagger UI and ReDoc set inline
# styles and ReDoc runs a worker from a blob: URL, so /docs and /redoc allow exactly that (still no other origin).
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
CSP_DOCS = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
DOCS_PATHS = ("/docs", "/redoc")
# On every response (also problem+json and the 500 answer, see problems.py): no framing, no sniffing, no referrer
# to other origins, nothing shared with other browsing contexts, no powerful browser features.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
HSTS = "max-age=31536000"  # only on https (a browser ignores it over http anyway)
NO_STORE_PREFIXES = ("/v1/", "/metrics")  # keyed answers: never kept by a shared cache unless the endpoint says so


def security_headers(path: str, https: bool) -> dict[str, str]:
    """The headers every response to ``path`` carries (the endpoint's own values win)."""
    headers = {"Content-Security-Policy": CSP_DOCS if path in DOCS_PATHS else CSP, **SECURITY_HEADERS}
    if https:
        headers["Strict-Transport-Security"] = HSTS
    if path.startswith(NO_STORE_PREFIXES):
        headers["Cache-Control"] = "no-store"
    return headers
