"""The deployment examples in deploy/ cannot rot: Debian's nginx checks the site, the systemd
units run commands this CLI accepts, the alerts name metrics the app exports."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from signalhub import cli
from signalhub.config import Settings

DEPLOY = Path(__file__).parents[1] / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CERTIFICATE_DIR = "/etc/letsencrypt/live/signals.example.com"
CACHE_DIR = "/var/cache/nginx/signalhub"


def self_signed_certificate(directory: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=signals.example.com",
         "-keyout", directory / "privkey.pem", "-out", directory / "fullchain.pem"],
        check=True, capture_output=True,
    )  # fmt: skip


def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    assert Path(NGINX).is_file(), "Debian's nginx is missing: make install installs it"
    site = (DEPLOY / "nginx" / "signalhub.conf").read_text()
    assert site.count(CERTIFICATE_DIR) == 2
    assert site.count(CACHE_DIR) == 1
    self_signed_certificate(tmp_path)
    (tmp_path / "signalhub.conf").write_text(
        site.replace(CERTIFICATE_DIR, str(tmp_path)).replace(CACHE_DIR, str(tmp_path / "cache"))
    )
    # What Debian's /etc/nginx/nginx.conf gives a site, with every path in the temporary directory.
    (tmp_path / "nginx.conf").write_text(
        f"""
        pid {tmp_path}/nginx.pid;
        error_log {tmp_path}/error.log;
        events {{}}
        http {{
            include /etc/nginx/mime.types;
            access_log off;
            client_body_temp_path {tmp_path}/body;
            proxy_temp_path {tmp_path}/proxy;
            include {tmp_path}/signalhub.conf;
        }}
        """
    )
    result = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
         "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_nginx_body_limit_is_the_apps() -> None:
    site = (DEPLOY / "nginx" / "signalhub.conf").read_text()
    (limit,) = re.findall(r"client_max_body_size (\d+)m;", site)
    assert int(limit) * 1024 * 1024 == Settings.model_fields["max_body_bytes"].default


Unit = dict[str, dict[str, list[str]]]


def read_unit(path: Path) -> Unit:
    """Section -> key -> every value: systemd keys such as Environment= may repeat."""
    unit: Unit = {}
    section: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
        elif line and not line.startswith("#"):
            key, _, value = line.partition("=")
            section.setdefault(key, []).append(value)
    return unit


def units() -> dict[str, Unit]:
    return {path.stem: read_unit(path) for path in (DEPLOY / "systemd").glob("*.service")}


def test_systemd_units_run_commands_the_cli_accepts() -> None:
    parsed = units()
    assert set(parsed) == {"signalhub", "signalhub-worker", "signalhub-migrate"}
    commands = {}
    for name, unit in parsed.items():
        (exec_start,) = unit["Service"]["ExecStart"]
        executable, *args = shlex.split(exec_start)
        assert executable.endswith("/bin/signalhub")
        commands[name] = cli.build_parser().parse_args(args).command
    assert commands == {
        "signalhub": "serve",
        "signalhub-worker": "worker",
        "signalhub-migrate": "migrate",
    }
    assert parsed["signalhub-migrate"]["Service"]["Type"] == ["oneshot"]
    for name in ("signalhub", "signalhub-worker"):
        assert parsed[name]["Unit"]["Requires"] == ["signalhub-migrate.service"]
        # Both write where the API's /metrics reads.
        assert (
            "SIGNALHUB_METRICS_DIR=/run/signalhub/metrics" in parsed[name]["Service"]["Environment"]
        )
    assert "FORWARDED_ALLOW_IPS=127.0.0.1" in parsed["signalhub"]["Service"]["Environment"]


async def test_every_alert_names_metrics_the_app_exports(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    exported = {
        family.name
        for family in text_string_to_metric_families((await client.get("/metrics")).text)
    }
    rules = yaml.safe_load((DEPLOY / "prometheus-alerts.yaml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert {
        "SignalhubOutboxGrowing",
        "SignalhubStripeEventsFailing",
        "SignalhubStripeWebhook5xx",
    } <= {alert["alert"] for alert in alerts}
    for alert in alerts:
        for metric in re.findall(r"\bsignalhub_[a-z_]+", alert["expr"]):
            assert metric.removesuffix("_total") in exported, (alert["alert"], metric)
