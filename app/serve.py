"""Serve the app with uvicorn on CLAUDE_INTERNAL_PORT (`make run`)."""

from typing import Any

import uvicorn

from app.core.config import PROJECT_ROOT, get_settings

# What the development server reloads for: the code, the templates and the policy model,
# never the rest of the checkout (`.venv`, `var/`, test artifacts). uvicorn watches `*.py`
# alone unless told other names.
RELOAD_DIRS = ("app", "templates", "policy")
RELOAD_INCLUDES = ("*.py", "*.html", "*.conf", "*.toml")


def reload_options() -> dict[str, Any]:
    """Return uvicorn's reload settings: the directories and the files in them it watches."""
    return {
        "reload": True,
        "reload_dirs": [str(PROJECT_ROOT / name) for name in RELOAD_DIRS],
        "reload_includes": list(RELOAD_INCLUDES),
    }


def main() -> None:
    settings = get_settings()
    reloading = reload_options() if settings.environment == "development" else {}
    uvicorn.run(
        "app.main:app",
        host=settings.host,
        port=settings.claude_internal_port,
        proxy_headers=False,  # the app believes TRUSTED_PROXIES alone (app/main.py)
        **reloading,
    )


if __name__ == "__main__":
    main()
