"""database.url: validated, the old path form still accepted, the password never shown, a wrong URL exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from backend.settings import DatabaseSettings, Settings
from kuzet.cli import main
from tests.backend.conftest import ADMIN, TEMPLATE_KEY
from tests.support.servers import free_port

SECRET = "pw-never-shown-7Q"


def _config(tmp_path: Path, database: object) -> Path:
    path = tmp_path / "backend.yaml"
    path.write_text(yaml.safe_dump({"database": database, "admin_token": ADMIN, "template_key": TEMPLATE_KEY}))
    return path


@pytest.mark.parametrize(
    ("database", "engine", "path"),
    [
        ("db/k.sqlite", "sqlite", "db/k.sqlite"),
        ({"url": "sqlite:///db/k.sqlite"}, "sqlite", "db/k.sqlite"),
        ({"url": "sqlite:////var/k.sqlite"}, "sqlite", "/var/k.sqlite"),
        ({"url": f"postgresql://kuzet:{SECRET}@db.local:5432/kuzet", "pool_max": 50}, "postgresql", None),
    ],
)
def test_forms_of_the_setting(tmp_path: Path, database: object, engine: str, path: str | None) -> None:
    settings = Settings.model_validate(
        {"database": database, "admin_token": ADMIN, "template_key": TEMPLATE_KEY}, context={"base_dir": tmp_path}
    )
    assert settings.database.engine == engine
    if path is not None:
        expected = Path(path) if path.startswith("/") else tmp_path / path
        assert settings.database.path == expected and Path(settings.database) == expected
    else:
        assert SECRET not in str(settings.database) and SECRET not in settings.database.masked_url
        assert str(settings.database) == "postgresql://kuzet:***@db.local:5432/kuzet"


@pytest.mark.parametrize(
    ("database", "says"),
    [
        ({"url": f"mysql://root:{SECRET}@h/db"}, "must start with sqlite:/// or postgresql://"),
        ({"url": f"postgresql://u:{SECRET}@/db"}, "needs a host and a database"),
        ({"url": f"postgresql://u:{SECRET}@h:99999/db"}, "invalid port"),
        ({"url": "sqlite:///k.sqlite", "pool_max": 0}, "greater than or equal to 1"),
        ({"url": "sqlite:///k.sqlite", "user": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_a_wrong_setting_exits_2_with_one_line_naming_it(tmp_path: Path, database: object, says: str) -> None:
    result = CliRunner().invoke(main, ["migrate", "--config", str(_config(tmp_path, database))])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "'database." in lines[0] and says in lines[0], result.output
    assert SECRET not in result.output


def test_an_unreachable_server_exits_2_naming_the_url_masked(tmp_path: Path) -> None:
    url = f"postgresql://kuzet:{SECRET}@127.0.0.1:{free_port()}/kuzet"
    config = _config(tmp_path, {"url": url, "connect_timeout_s": 2})
    result = CliRunner().invoke(main, ["migrate", "--config", str(config)])
    assert result.exit_code == 2
    assert result.output.startswith("kuzet: setting 'database.url' (postgresql://kuzet:***@127.0.0.1")
    assert SECRET not in result.output and len(result.output.strip().splitlines()) == 1


def test_migrate_applies_then_has_nothing_left(database_url: str, tmp_path: Path) -> None:
    config = _config(tmp_path, {"url": database_url})
    first = CliRunner().invoke(main, ["migrate", "--config", str(config)])
    second = CliRunner().invoke(main, ["migrate", "--config", str(config)])
    assert first.exit_code == 0 and second.exit_code == 0, first.output
    assert '"applied": []' in second.output and '"schema_version": ' in second.output


def test_masking_keeps_everything_but_the_password() -> None:
    settings = DatabaseSettings(url=f"postgresql://app:{SECRET}@db.city.local:6432/city?sslmode=require")
    assert settings.masked_url == "postgresql://app:***@db.city.local:6432/city?sslmode=require"
