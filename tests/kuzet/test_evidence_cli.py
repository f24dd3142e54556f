"""``kuzet evidence verify`` on the demo's real package, tampered copies and bad usage; the street clip's pass."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kuzet.cli import main
from kuzet.demo.violations import rendered_demo
from tests.support.demos import clip_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    work = tmp_path_factory.mktemp("demo")
    return work, rendered_demo(work)


@pytest.fixture
def chain(demo: tuple[Path, list[str]], tmp_path: Path) -> tuple[Path, Path]:
    work, _ = demo
    shutil.copytree(work, tmp_path / "work")
    return tmp_path / "work" / "evidence" / "demo-junction", tmp_path / "work" / "keys" / "demo-junction.ed25519.pub"


def verify(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["evidence", "verify", *args])
    return result.exit_code, result.stdout, result.stderr


def test_demo_builds_a_verified_red_light_package(demo: tuple[Path, list[str]]) -> None:
    work, lines = demo
    text = "\n".join(lines)
    assert "violation red_light" in text and "signal red" in text
    assert text.endswith("OK")
    (package,) = sorted((work / "evidence" / "demo-junction").glob("0*"))
    manifest = json.loads((package / "manifest.json").read_text())
    assert manifest["signal"] == {"state": "red", "source": "classifier"}
    assert manifest["plate"]["normalised"] == "123ABC02"  # read by the real recogniser from the rendered plate
    assert set(manifest["models"]) == {"light_classifier", "plate_recogniser"}


def test_verify_chain_package_and_trusted_key(chain: tuple[Path, Path]) -> None:
    chain_dir, pub = chain
    package = next(chain_dir.glob("0*"))
    for args in ([str(chain_dir)], [str(package)]):  # intact but nobody vouched for the key: exit 3, never 0
        code, out, err = verify(*args, "--json")
        assert code == 3, out + err
        result = json.loads(out.strip().splitlines()[-1])
        assert result["ok"] is True and result["trusted"] is False and "UNTRUSTED" in out
    for args in (["--trusted-key", str(pub)], ["--registry", str(pub.parent)]):
        code, out, err = verify(str(chain_dir), *args, "--json")
        assert code == 0, out + err
        assert json.loads(out.strip().splitlines()[-1])["trusted"] is True
    code, out, _ = verify(str(chain_dir), "--trusted-key", "ab" * 32)
    assert code == 1
    assert "not the camera's trusted key" in out


def _resign_with_another_key(chain_dir: Path) -> None:
    """An attacker re-signs every manifest and HEAD with their own key (the chain stays self-consistent)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from edge.traffic.evidence import HEAD, head_body, manifest_sha256, public_hex

    key = Ed25519PrivateKey.generate()
    for package in sorted(chain_dir.glob("0*")):
        manifest = json.loads((package / "manifest.json").read_text())
        manifest["public_key"] = public_hex(key)
        body = json.dumps(manifest, indent=2, sort_keys=True).encode()
        (package / "manifest.json").write_bytes(body)
        (package / "manifest.sig").write_text(key.sign(body).hex())
    head = head_body(manifest["seq"], manifest_sha256(package), manifest["camera_id"], public_hex(key))
    (chain_dir / HEAD).write_text(json.dumps({**json.loads(head), "signature": key.sign(head).hex()}))


def test_a_chain_re_signed_with_another_key_is_never_reported_trusted(chain: tuple[Path, Path]) -> None:
    chain_dir, pub = chain
    _resign_with_another_key(chain_dir)
    code, out, _ = verify(str(chain_dir))
    assert code == 3 and "UNTRUSTED" in out
    code, out, _ = verify(str(chain_dir), "--registry", str(pub.parent))
    assert code == 1 and "not the camera's trusted key" in out


def test_recompute_and_the_backend_anchor(chain: tuple[Path, Path]) -> None:
    chain_dir, pub = chain
    code, out, err = verify(str(chain_dir), "--trusted-key", str(pub), "--recompute", "--json")
    assert code == 0, out + err
    (figures,) = json.loads(out.strip().splitlines()[-1])["recomputed"]
    assert figures["problems"] == [] and figures["speed_kmh"] == figures["stated_kmh"] and "RECOMPUTED" in out
    code, out, _ = verify(str(chain_dir), "--trusted-key", str(pub), "--anchor", "2")
    assert code == 1 and "the backend anchored sequence 2" in out
    code, _, err = verify(str(chain_dir), "--anchor", "two")
    assert code == 2 and "--anchor must be SEQ" in err


def test_tampered_package_exits_1_with_the_reason(chain: tuple[Path, Path]) -> None:
    chain_dir, _ = chain
    package = next(chain_dir.glob("0*"))
    (package / "plate_crop.jpg").write_bytes(b"swapped")
    code, out, _ = verify(str(chain_dir))
    assert code == 1
    assert "FAIL 00000001_red_light: file plate_crop.jpg was modified" in out


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("missing", [], "is not a folder"),
        ("empty", [], "holds no evidence packages"),
        ("chain", ["--trusted-key", "xyz"], "--trusted-key must be 64 hex"),
    ],
)
def test_bad_usage_exits_2(chain: tuple[Path, Path], tmp_path: Path, setup: str, args: list[str], message: str) -> None:
    target = {"missing": tmp_path / "nope", "empty": tmp_path, "chain": chain[0]}[setup]
    if setup == "empty":
        target = tmp_path / "empty"
        target.mkdir()
    code, _, err = verify(str(target), *args)
    assert code == 2
    assert message in err


@pytest.mark.slow
def test_clip_demo_real_tracks_fire_on_red_not_on_amber(tmp_path: Path, samples: Path) -> None:
    if not (samples / "traffic" / "ozlu.yaml").is_file():
        pytest.skip("samples/traffic/ozlu.yaml is absent")
    lines = clip_demo(samples, tmp_path)
    red = [line for line in lines if "clip violation red_light" in line]
    assert red, lines
    # the phase plan has amber from 3.5 s and red from 6.0 s: every red-light crossing is after 6.5 s (grace)
    times = [float(line.split(" t+")[1].split(" s")[0]) for line in red]
    assert min(times) >= 6.5
    assert lines[-1].endswith(": OK"), lines[-1]
    chain = tmp_path / "evidence" / "demo-ozlu-street"
    pub = tmp_path / "keys" / "demo-ozlu-street.ed25519.pub"
    code, out, _ = verify(str(chain), "--trusted-key", str(pub))
    assert code == 0, out


def test_the_backend_vouches_for_the_key_and_anchors_the_head(chain: tuple[Path, Path], tmp_path: Path) -> None:
    """``--backend``: the key registered with the camera and its anchored head come from a real backend, after the
    package went through the real uplink."""
    from backend.settings import Settings
    from edge.traffic.evidence_verify import violation_event
    from kuzet.demo.support import BackendThread, DemoBackend, drain, free_port
    from tests.backend.conftest import ADMIN, TEMPLATE_KEY

    chain_dir, pub = chain
    settings = Settings(database=tmp_path / "k.sqlite", media_dir=tmp_path / "media", admin_token=ADMIN,
                        template_key=TEMPLATE_KEY, port=free_port())  # fmt: skip
    backend = BackendThread(settings).start()
    try:
        api = DemoBackend(backend, ADMIN, tmp_path)
        spool, uplink = api.device("demo-junction", "traffic", "d1", pub.read_text().strip())
        spool.put(*violation_event(next(chain_dir.glob("0*"))))
        assert drain(spool, uplink) == 1
        code, out, err = verify(str(chain_dir), "--backend", backend.url, "--admin-token", ADMIN, "--json")
        assert code == 0, out + err
        result = json.loads(out.strip().splitlines()[-1])
        assert result["trusted"] is True and result["anchored"] is True
        code, _, err = verify(str(chain_dir), "--backend", backend.url, "--admin-token", "wrong-token-0123456789")
        assert code == 2 and "the backend refused (401)" in err
        _resign_with_another_key(chain_dir)
        code, out, _ = verify(str(chain_dir), "--backend", backend.url, "--admin-token", ADMIN)
        assert code == 1 and "not the camera's trusted key" in out
    finally:
        backend.stop()
