"""我的待办 (my work) on the web: ``/todo`` (the landing page after sign-in) and
``/api/v1/todo``. Thin routes over ``shuhai.serve.todo``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shuhai.config import Config
from shuhai.serve import todo
from shuhai.web.access import signed_in, viewer
from shuhai.web.auth import current_user

api = APIRouter(prefix="/api/v1")
pages = APIRouter(include_in_schema=False)


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


@api.get("/todo", summary="我的待办 / what waits for the signed-in user")
def get_todo(request: Request) -> dict[str, Any]:
    return todo.for_viewer(_config(request), signed_in(request))


@pages.get("/todo", response_class=HTMLResponse)
def todo_page(request: Request) -> Response:
    if current_user(request) is None:
        return RedirectResponse("/login?next=/todo", status_code=303)
    work = todo.for_viewer(_config(request), viewer(request))
    return request.app.state.templates.TemplateResponse(request, "todo.html", {"work": work})  # type: ignore[no-any-return]


def nav_count(request: Request) -> int:
    """The count beside 我的待办 in the navigation (0 when it cannot be told)."""
    try:
        if current_user(request) is None:
            return 0
        return todo.count(_config(request), viewer(request))
    except Exception:  # noqa: BLE001 - a count in a menu never breaks a page
        return 0


__all__ = ["api", "nav_count", "pages"]
