import base64
import hashlib
import re
from pathlib import Path

from starlette.testclient import TestClient

from paddler.balancer.panel.web_admin_panel_service import (
    WebAdminPanelService,
    content_security_policy,
    panel_origins,
)

CONFIG = {"management_addr": "127.0.0.1:8060", "inference_addr": "127.0.0.1:8061"}


def client(files: Path) -> TestClient:
    return TestClient(WebAdminPanelService("127.0.0.1:0", CONFIG, files).app)


def built_panel(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<html>panel</html>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("not for browsers")
    return tmp_path


def test_without_built_files_every_page_explains_how_to_build_them(tmp_path: Path) -> None:
    response = client(tmp_path / "missing").get("/")

    assert response.status_code == 503
    assert "The web admin panel is not built" in response.text
    assert "npm run build" in response.text
    assert "127.0.0.1:8060" in response.text


def test_config_json_says_where_the_apis_are(tmp_path: Path) -> None:
    response = client(tmp_path).get("/config.json")

    assert response.status_code == 200
    assert response.json() == {**CONFIG, "tls": False}
    assert response.headers["cache-control"] == "no-store"


def test_any_page_is_the_single_page_app_and_assets_are_cached_forever(tmp_path: Path) -> None:
    http = client(built_panel(tmp_path))

    assert http.get("/").text == "<html>panel</html>"
    assert http.get("/some/page").text == "<html>panel</html>"
    asset = http.get("/assets/index-abc.js")
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]


def test_a_missing_or_escaping_asset_is_404(tmp_path: Path) -> None:
    http = client(built_panel(tmp_path))

    assert http.get("/assets/missing.js").status_code == 404
    assert http.get("/assets/..%2F..%2Fsecret.txt").status_code == 404


def test_panel_origins_cover_loopback_names_and_every_interface() -> None:
    assert panel_origins("127.0.0.1:8062") == [
        "http://127.0.0.1:8062",
        "http://localhost:8062",
        "http://[::1]:8062",
    ]
    assert panel_origins("panel.internal:80") == ["http://panel.internal"]
    everywhere = panel_origins("0.0.0.0:8062")
    assert "http://localhost:8062" in everywhere
    assert len(everywhere) > 3


def test_every_answer_carries_the_content_security_policy_and_refuses_framing(tmp_path: Path) -> None:
    http = client(built_panel(tmp_path))

    for path in ("/", "/config.json", "/assets/index-abc.js", "/health"):
        headers = http.get(path).headers
        assert headers["content-security-policy"] == content_security_policy(
            CONFIG["management_addr"], CONFIG["inference_addr"]
        )
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"


def directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in policy.split("; "))}


def test_the_panel_may_connect_only_to_itself_and_the_two_apis() -> None:
    policy = directives(content_security_policy("127.0.0.1:8060", "10.0.0.5:8061"))

    assert policy["connect-src"] == [
        "'self'",
        "http://127.0.0.1:8060",
        "ws://127.0.0.1:8060",
        "http://10.0.0.5:8061",
        "ws://10.0.0.5:8061",
    ]
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]


def test_an_api_on_every_interface_is_allowed_on_its_port_under_any_host_name() -> None:
    # The panel reaches it through the host name the browser used for the panel.
    policy = directives(content_security_policy("0.0.0.0:8060", "[::]:8061"))

    assert policy["connect-src"] == ["'self'", "http://*:8060", "ws://*:8060", "http://*:8061", "ws://*:8061"]


def test_the_not_built_pages_inline_style_is_the_one_the_policy_allows(tmp_path: Path) -> None:
    response = client(tmp_path / "missing").get("/")
    style = re.search(r"<style>(.*?)</style>", response.text, re.DOTALL)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()

    assert f"'sha256-{digest}'" in directives(response.headers["content-security-policy"])["style-src"]


def test_over_tls_the_panel_is_on_https_and_calls_the_apis_over_https_and_wss() -> None:
    assert panel_origins("127.0.0.1:8062", tls=True)[0] == "https://127.0.0.1:8062"
    assert panel_origins("panel.internal:443", tls=True) == ["https://panel.internal"]
    policy = directives(content_security_policy("127.0.0.1:8060", "127.0.0.1:8061", tls=True))
    assert policy["connect-src"] == [
        "'self'",
        "https://127.0.0.1:8060",
        "wss://127.0.0.1:8060",
        "https://127.0.0.1:8061",
        "wss://127.0.0.1:8061",
    ]
