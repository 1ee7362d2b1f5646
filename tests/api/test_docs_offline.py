"""/docs and /redoc work without a network: every script and stylesheet they load comes from the app itself."""

import re
from urllib.parse import urljoin, urlparse

import pytest
from fastapi.testclient import TestClient

from ledger_service.api.app import create_app
from ledger_service.store.engine import make_engine

ASSET = re.compile(r"""<(?:script[^>]*\bsrc|link[^>]*\bhref)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_documentation_loads_its_assets_from_the_app(page):
    client = TestClient(create_app(make_engine("sqlite://")), base_url="http://ledger.test")
    html = client.get(page)
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    urls = ASSET.findall(html.text)
    assert any(u.endswith(".js") for u in urls), f"{page} loads no script: {urls}"
    for url in urls:
        absolute = urlparse(urljoin("http://ledger.test" + page, url))
        assert absolute.netloc == "ledger.test", f"{page} loads {url} from another host"
        asset = client.get(absolute.path)
        assert asset.status_code == 200 and asset.content, f"{page}: {url} answers {asset.status_code}"
    assert "cdn." not in html.text and "fonts.googleapis" not in html.text


def test_docs_offer_the_authorize_button():
    """Swagger UI shows Authorize when the OpenAPI has a security scheme; the token is kept across reloads, and
    the spec is never sent to Swagger's online validator."""
    client = TestClient(create_app(make_engine("sqlite://")))
    assert client.get("/openapi.json").json()["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    page = client.get("/docs").text
    assert '"persistAuthorization": true' in page and '"validatorUrl": null' in page
