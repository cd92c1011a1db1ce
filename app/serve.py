"""Serve the app with uvicorn on CLAUDE_INTERNAL_PORT (`make run`)."""

import uvicorn

from app.core.config import get_settings


def main() -> None:
    settings = get_settings()
    uvicorn.run(
        "app.main:app",
        host=settings.host,
        port=settings.claude_internal_port,
        proxy_headers=True,
        reload=settings.environment == "development",
    )


if __name__ == "__main__":
    main()
