"""Violations area: ``kuzet eval lights`` (thin over ``kuzet.eval.lights``) and ``kuzet evidence verify``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from kuzet.commands import eval_group
from kuzet.commands.camera import devset_group
from kuzet.commands.common import emit_json, evaluate_or_exit, fail, progress


@eval_group.command("lights")
@click.option("--data", "data", type=click.Path(path_type=Path), required=True, help="Folder with labels.csv")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout")
def eval_lights(data: Path, as_json: bool) -> None:
    """Traffic-light state accuracy (labels.csv: image,colour[,split]; the test split when present)."""
    from kuzet.eval import lights

    result = evaluate_or_exit(lambda: lights.run(data, progress))
    if as_json:
        emit_json(result)
        return
    click.echo(
        f"n={result['n']} accuracy={result['accuracy']:.4f} recall red={result['recall_red']}"
        f" yellow={result['recall_yellow']} green={result['recall_green']}"
        f"{' off=' + str(result['recall_off']) if 'recall_off' in result else ''}"
        f" red_as_green={result['red_as_green']} ms/crop={result['ms_per_crop']:.3f}"
    )


@devset_group.command("lights-off")
@click.option("--traffic", type=click.Path(path_type=Path), default=None, help="The shared traffic data folder")
@click.option("--out", type=click.Path(path_type=Path), default=Path("var/devsets/lights-off"), help="Output folder")
@click.option("--split", type=click.Choice(["test", "train"]), default="test", help="Which sources (test: held out)")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the crops")
def devset_lights_off(traffic: Path | None, out: Path, split: str, seed: int) -> None:
    """Real negatives (no lamp lit, or no signal head) for ``kuzet eval lights``: labels.csv with colour=off.

    The test split's crops come only from files the light classifier never trained on (see
    ``models/training/lights_negatives.py``); ``--traffic`` defaults to $KUZET_DATA/traffic or ../shared/data/traffic.
    """
    from models.training.lights_negatives import build_negatives, write_folder

    default = Path(__file__).resolve().parents[3] / "shared" / "data"
    root = traffic or Path(os.environ.get("KUZET_DATA", default)) / "traffic"
    if not (root / "lights" / "labels.csv").is_file():
        fail(f"{root} is not the traffic data folder (no lights/labels.csv)")
    negatives = build_negatives(root, split, seed)
    write_folder(negatives, out, split="test")
    click.echo(f"devset {out}: {len(negatives)} off crops from the {split} sources (labels.csv)")


@click.group("evidence")
def evidence_group() -> None:
    """Violation evidence packages (signed, hash-chained per camera)."""


def read_trusted_key(value: str | None) -> str | None:
    """A trusted public key given as 64 hex characters or as a file holding them; exits 2 when malformed."""
    if value is None:
        return None
    text = Path(value).read_text().strip() if Path(value).is_file() else value.strip()
    if len(text) != 64 or any(c not in "0123456789abcdefABCDEF" for c in text):
        fail(f"--trusted-key must be 64 hex characters or a file holding them, got {value!r}")
    return text.lower()


def read_anchor(value: str | None) -> tuple[int, str | None] | None:
    """``SEQ`` or ``SEQ:SHA256`` (the backend's anchored head of the camera); exits 2 when malformed."""
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or (digest and (len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest))):
        fail(f"--anchor must be SEQ or SEQ:SHA256 (64 lower-case hex), got {value!r}")
    return int(seq), digest or None


def from_backend(url: str, admin_token: str | None, camera_id: str) -> tuple[str | None, tuple[int, str | None] | None]:
    """The camera's registered evidence key and anchored head from the backend (``GET /api/v1/devices/{id}/
    evidence``); exits 2 when the backend cannot be asked."""
    import httpx

    if not admin_token:
        fail("--backend needs --admin-token (or KUZET_ADMIN_TOKEN)")
    try:
        reply = httpx.get(
            f"{url.rstrip('/')}/api/v1/devices/{camera_id}/evidence",
            headers={"Authorization": f"Bearer {admin_token}"},
            timeout=10.0,
        )
    except httpx.HTTPError as exc:
        fail(f"cannot reach {url}: {exc}")
    if reply.status_code != 200:
        fail(f"the backend refused ({reply.status_code}): {reply.text[:200]}")
    state = reply.json()
    head = state.get("head")
    return state.get("evidence_public_key"), None if head is None else (int(head["seq"]), head["manifest_sha256"])


def _trust(
    camera: str | None,
    given: tuple[str | None, str | None],
    registry: Path | None,
    backend: tuple[str | None, str | None],
) -> tuple[str | None, tuple[int, str | None] | None]:
    """The trusted key and anchored head: given (``--trusted-key``, ``--anchor``), else from the registry folder,
    else from the backend."""
    from edge.traffic.evidence_keys import registered_key

    key, head = read_trusted_key(given[0]), read_anchor(given[1])
    if key is None and registry is not None and camera is not None:
        key = registered_key(registry, camera)
    if backend[0] is not None and camera is not None:
        registered, anchored = from_backend(backend[0], backend[1], camera)
        key, head = key or registered, head or anchored
    return key, head


def _camera_of(path: Path, single: bool) -> str | None:
    """The camera id of a package or of the first package of a chain, or None when unreadable."""
    from edge.traffic.evidence_verify import list_packages, read_manifest

    packages = [path] if single else list_packages(path)
    manifest = read_manifest(packages[0])[0] if packages else None
    return None if manifest is None else str(manifest["camera_id"])


def _recompute(path: Path, single: bool) -> tuple[list[str], list[dict[str, object]]]:
    from edge.traffic.evidence_recompute import recompute
    from edge.traffic.evidence_verify import list_packages

    problems: list[str] = []
    figures: list[dict[str, object]] = []
    for package in [path] if single else list_packages(path):
        result = recompute(package)
        problems.extend(result.problems)
        figures.append({"package": package.name, **result.record()})
        if not result.problems:
            click.echo(
                f"RECOMPUTED {package.name}: {result.speed_kmh:.2f} +- {result.sigma_kmh:.2f} km/h"
                if result.speed_kmh is not None and result.sigma_kmh is not None
                else f"RECOMPUTED {package.name}: no speed ({result.status}), as stated"
            )
    return problems, figures


@evidence_group.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--trusted-key", default=None, help="Camera public key (hex or .pub file) the packages must be signed with"
)
@click.option(
    "--registry",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder of registered camera keys ({camera_id}.ed25519.pub) to take the trusted key from",
)
@click.option("--anchor", default=None, help="The backend's anchored head of the camera: SEQ or SEQ:SHA256")
@click.option(
    "--backend", "backend_url", default=None, help="Backend URL: take the registered key and anchored head from it"
)
@click.option("--admin-token", envvar="KUZET_ADMIN_TOKEN", default=None, help="Admin token for --backend.")
@click.option("--recompute", is_flag=True, help="Recompute each package's speed from the package alone")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout")
def evidence_verify(
    path: Path,
    trusted_key: str | None,
    registry: Path | None,
    anchor: str | None,
    backend_url: str | None,
    admin_token: str | None,
    recompute: bool,
    as_json: bool,
) -> None:
    """Check one package or a whole chain folder.

    Exit 0 when intact AND signed by a trusted key (given or registered), 1 listing every problem, 3 when intact
    but the signer is not trusted (no --trusted-key, --registry or --backend key: anyone could have re-signed it).
    """
    from edge.traffic.evidence_verify import is_package, list_packages, verify_chain, verify_package

    if not path.is_dir():
        fail(f"{path} is not a folder (give an evidence package or a camera's chain folder)")
    single = is_package(path)
    if not single and not list_packages(path):
        fail(f"{path} holds no evidence packages (no manifest.json, no package folders)")
    camera = _camera_of(path, single)
    key, head = _trust(camera, (trusted_key, anchor), registry, (backend_url, admin_token))
    problems = verify_package(path, key) if single else verify_chain(path, key, head)
    figures: list[dict[str, object]] = []
    if recompute and not problems:
        extra, figures = _recompute(path, single)
        problems += extra
    count = 1 if single else len(list_packages(path))
    for problem in problems:
        click.echo(f"FAIL {problem}")
    trusted = key is not None
    if not problems:
        click.echo(
            f"OK {count} package(s) in {path} verified"
            + (" against the trusted key" if trusted else "; UNTRUSTED: self-consistent only, the signer key is not")
            + ("" if trusted else " anchored (give --trusted-key, --registry or --backend)")
        )
    if as_json:
        result = {"path": str(path), "camera_id": camera, "packages": count, "ok": not problems, "trusted": trusted,
                  "anchored": head is not None, "problems": problems, "recomputed": figures}  # fmt: skip
        emit_json(result)
    if problems:
        sys.exit(1)
    if not trusted:
        sys.exit(3)


COMMANDS: list[click.Command] = [evidence_group]
