"""The staff console (/console/): its pages' routers and what the sub-app needs besides them."""
from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse


def setup(app: FastAPI) -> None:
    """Include the console's page routers and send a reader without a session to the sign-in page."""
    from web.console import admin, cases, cohort_settings, exports, ledger, reports
    from web.console.deps import SignInRequired

    from core.throttle import AuthThrottle

    for module in (ledger, cases, reports, exports, admin, cohort_settings):
        app.include_router(module.router)
    settings = app.state.settings
    # Failed sign-ins, per client address and per staff member (in memory, per process).
    app.state.signin_by_address = AuthThrottle(limit=settings.console_signin_failures_max,
                                               window_seconds=settings.console_signin_window_seconds)
    app.state.signin_by_staff = AuthThrottle(limit=settings.console_signin_staff_failures_max,
                                             window_seconds=settings.console_signin_window_seconds)

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, exc: RequestValidationError):  # noqa: ANN202
        # A malformed id in a path (letters, zero, too large): the reader's own error page.
        return request.app.state.pages.render(request, "error.html", status_code=422, status=422, detail="invalid")

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired):  # noqa: ANN202
        root = request.scope.get("root_path", "")
        return RedirectResponse(f"{root}/signin?{urlencode({'next': exc.next_path})}", status_code=303)
