"""docs/lecture.md cannot rot: every ```python block in it runs, in order, in one namespace."""
import pathlib
import re

import pytest

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "lecture.md"
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def _blocks():
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_the_tutorial_has_code_blocks():
    blocks = _blocks()
    assert len(blocks) >= 10
    text = DOC.read_text(encoding="utf-8")
    # every opened python fence was found by the pattern (none silently skipped)
    fences = [line for line in text.splitlines() if line.strip().startswith("```python")]
    assert len(fences) == len(blocks)


def test_every_code_block_runs_in_order(tmp_path, monkeypatch, capsys):
    pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    namespace = {"__name__": "__lecture__"}
    for i, source in enumerate(_blocks()):
        code = compile(source, f"{DOC.name}[block {i + 1}]", "exec")
        try:
            exec(code, namespace)
        except Exception as exc:  # name the block in the failure
            raise AssertionError(f"block {i + 1} of {DOC.name} failed: {exc!r}\n{source}") from exc
