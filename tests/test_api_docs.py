"""The OpenAPI docs page works offline: Swagger UI's files come from a package, not a CDN."""

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from rag.errors import IndexMissingError
from rag.settings import Settings
from rag.wiring import Rag


def _no_index(settings: Settings) -> Rag:
    raise IndexMissingError("not needed for the docs")


def test_docs__served_without_external_resources(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), build=_no_index)
    with TestClient(app) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assert "http://" not in page.text.replace("http://www.w3.org", "")
        assert "https://" not in page.text
        assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
        assert client.get("/openapi.json").json()["info"]["title"] == "rag"
