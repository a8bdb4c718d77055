"""/docs works offline: swagger-ui's script and stylesheet come from this server, never a CDN;
every operation has a summary and a description in plain words; the main request bodies carry
examples."""
from __future__ import annotations

import re


async def test_docs_load_only_local_assets(client) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert assets and all(a.startswith("/docs-assets/") for a in assets), assets
    assert "cdn" not in page.text.lower()
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200 and len(response.content) > 100, asset
    script = await client.get("/docs-assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in script.text


async def test_every_operation_is_described_and_main_bodies_have_examples(client) -> None:
    spec = (await client.get("/openapi.json")).json()
    missing = [f"{m} {p}" for p, ops in spec["paths"].items() for m, op in ops.items()
               if not op.get("summary") or not op.get("description")]
    assert missing == []
    body = spec["paths"]["/api/v1/staff"]["post"]["requestBody"]["content"]["application/json"]
    assert body["examples"]["director"]["value"]["role"] == "director"
    resolve = spec["paths"]["/api/v1/alerts/{alert_id}/resolve"]["post"]["requestBody"]["content"]["application/json"]
    assert resolve["examples"]["safe"]["value"]["outcome"] == "safe_now"
    assert "Authorization: Bearer" in spec["info"]["description"]
    assert "/api/v1/reports/funnel" in spec["paths"]
