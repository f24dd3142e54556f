"""Violations area: ``kuzet eval lights`` (thin over ``kuzet.eval.lights``) and ``kuzet evidence verify``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kuzet.commands import eval_group
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
        f" red_as_green={result['red_as_green']} ms/crop={result['ms_per_crop']:.3f}"
    )


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


@evidence_group.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--trusted-key", default=None, help="Camera public key (hex or .pub file) the packages must be signed with"
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout")
def evidence_verify(path: Path, trusted_key: str | None, as_json: bool) -> None:
    """Check one package or a whole chain folder; exit 0 when intact, 1 listing every problem."""
    from edge.traffic.evidence_verify import is_package, list_packages, verify_chain, verify_package

    if not path.is_dir():
        fail(f"{path} is not a folder (give an evidence package or a camera's chain folder)")
    key = read_trusted_key(trusted_key)
    single = is_package(path)
    if not single and not list_packages(path):
        fail(f"{path} holds no evidence packages (no manifest.json, no package folders)")
    problems = verify_package(path, key) if single else verify_chain(path, key)
    count = 1 if single else len(list_packages(path))
    for problem in problems:
        click.echo(f"FAIL {problem}")
    if not problems:
        click.echo(f"OK {count} package(s) in {path} verified" + (" against the trusted key" if key else ""))
    if as_json:
        emit_json({"path": str(path), "packages": count, "ok": not problems, "problems": problems})
    if problems:
        sys.exit(1)


COMMANDS: list[click.Command] = [evidence_group]
