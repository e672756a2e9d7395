"""The public API as a type checker sees it (mypy run over a small file of assert_type calls)."""

from __future__ import annotations

from pathlib import Path

import mypy.api

ROOT = Path(__file__).resolve().parents[2]


def test_result_fields_have_their_types_for_mypy(tmp_path: Path) -> None:
    """mypy sees Result.status as Status, value as Any, enqueued_at as datetime | None, ..."""
    checked = Path(__file__).with_name("typed_result.py")
    out, err, code = mypy.api.run([
        "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path),
        "--no-error-summary", str(checked),
    ])
    assert code == 0, out + err
